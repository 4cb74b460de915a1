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
