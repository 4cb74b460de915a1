"""Optional: run the real framework on a few fixtures, when it is installed (skipped otherwise).

The committed fixtures are the ground truth the suite relies on; this test
re-derives some of them live, so a framework upgrade that changes numbers
shows up here first.
"""

from __future__ import annotations

import importlib.util

import numpy as np
import pytest

import lstm_trace
from conftest import FIXTURES, assert_matches, read_fixture

pytestmark = pytest.mark.framework
CASES = ["seed", "lstm_hard_sigmoid", "gru_reset_after_backwards_state", "simplernn_float64"]


@pytest.mark.skipif(importlib.util.find_spec("keras") is None, reason="Keras 3 is not installed")
@pytest.mark.parametrize("name", CASES)
def test_keras3_live(name: str) -> None:
    import keras

    data, _ = read_fixture(FIXTURES / "keras" / f"{name}.yaml")
    layer = getattr(keras.layers, data["layer"]).from_config(dict(data["config"]))
    x = np.asarray(data["inputs"], dtype=data["dtype"])
    layer.build(x.shape)
    w = data["weights"]
    layer.set_weights([np.asarray(w[k], dtype=data["dtype"]) for k in ("kernel", "recurrent_kernel", "bias") if k in w])
    state = data.get("initial_state")
    kwargs = {}
    if state:
        kwargs["initial_state"] = [
            keras.ops.convert_to_tensor(np.asarray(state[k], data["dtype"])) for k in ("h0", "c0") if k in state
        ]
    live = [np.asarray(v) for v in layer(x, **kwargs)]
    ours = lstm_trace.trace(lstm_trace.Scenario.from_dict(data)).outputs
    assert_matches(ours["sequence"], live[0], data["dtype"], "sequence")
    assert_matches(ours["h"], live[1], data["dtype"], "h")


ONNX_CASES = ["lstm_input_forget_peepholes_clip", "gru_linear_before_reset_bidirectional_clip", "rnn_sequence_lens"]


@pytest.mark.skipif(importlib.util.find_spec("onnxruntime") is None, reason="onnxruntime is not installed")
@pytest.mark.parametrize("name", ONNX_CASES)
def test_onnxruntime_live(name: str) -> None:
    spec = importlib.util.spec_from_file_location(
        "make_fixtures", FIXTURES.parent.parent / "tools" / "make_fixtures.py"
    )
    assert spec is not None and spec.loader is not None
    tools = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(tools)  # the generator builds the one-node model exactly as the fixtures were made
    data, _ = read_fixture(FIXTURES / "onnx" / f"{name}.yaml")
    attrs = {key: value for key, value in data["config"].items() if key != "sequence_lens"}
    x = np.asarray(data["inputs"], dtype=data["dtype"])
    feeds = {"X": x.transpose(1, 0, 2).copy()}
    feeds.update({key: np.asarray(value, dtype=data["dtype"]) for key, value in data["weights"].items()})
    feeds.update({key: np.asarray(value, dtype=data["dtype"]) for key, value in data.get("initial_state", {}).items()})
    if "sequence_lens" in data["config"]:
        feeds["sequence_lens"] = np.asarray(data["config"]["sequence_lens"], dtype=np.int32)
    live = tools._onnx_run(data["layer"], attrs, feeds, "onnxruntime")
    ours = lstm_trace.trace(lstm_trace.Scenario.from_dict(data)).outputs
    assert_matches(ours["sequence"], live["Y"], data["dtype"], "Y")
    assert_matches(ours["h"], live["Y_h"], data["dtype"], "Y_h")
