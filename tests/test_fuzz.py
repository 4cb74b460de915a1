"""Fuzzing the front door: random mappings, shapes and bytes never escape as a traceback.

Every refusal is exit 2 with an `error:` message; anything accepted traces
(exit 0). The CLI runs in-process so that an unexpected exception fails the
test with its own traceback.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from pathlib import Path
from typing import Any

import yaml
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import lstm_trace
from lstm_trace.cli import main
from lstm_trace.scenario import TOP_KEYS

# FUZZ_EXAMPLES=2000 pytest tests/test_fuzz.py for a longer hunt
FUZZ = settings(
    max_examples=int(os.environ.get("FUZZ_EXAMPLES", "150")),
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-5, 5),
    st.floats(allow_nan=True, allow_infinity=True, width=32),
    st.text(max_size=6),
    st.sampled_from(["keras", "keras2", "torch", "tf1", "onnx", "LSTM", "GRU", "RNN", "LSTMCell", "tanh", "relu"]),
)
numbers = st.floats(-3, 3, width=32) | st.integers(-3, 3)
arrays = st.recursive(st.lists(numbers, max_size=4), lambda inner: st.lists(inner, max_size=3), max_leaves=40)
values = st.recursive(
    scalars | arrays,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3),
    max_leaves=20,
)
keys = st.sampled_from(TOP_KEYS) | st.text(max_size=10)


def run_file(text: str | bytes) -> tuple[int, str, str]:
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "s.yaml"
        if isinstance(text, bytes):
            path.write_bytes(text)
        else:
            path.write_text(text, encoding="utf-8")
        result = CliRunner().invoke(main, ["run", str(path), "--format", "json"], catch_exceptions=False)
    return result.exit_code, result.stdout, result.stderr


def assert_clean(code: int, out: str, err: str) -> None:
    assert code in (0, 2), (code, err)
    assert "Traceback" not in out + err
    if code == 2:
        assert err.startswith("error: ") and out == ""


@FUZZ
@given(st.dictionaries(keys, values, max_size=8))
def test_random_mappings(data: dict[str, Any]) -> None:
    with contextlib.suppress(lstm_trace.ScenarioError):
        lstm_trace.trace(lstm_trace.Scenario.from_dict(data))
    assert_clean(*run_file(yaml.safe_dump(data)))


@FUZZ
@given(
    framework=st.sampled_from(["keras", "keras2"]),
    layer=st.sampled_from(["LSTM", "GRU", "SimpleRNN"]),
    units=st.integers(0, 3),
    shapes=st.lists(st.lists(st.integers(0, 5), min_size=0, max_size=3), min_size=4, max_size=4),
    reset_after=st.booleans(),
)
def test_random_shapes(framework: str, layer: str, units: int, shapes: list[list[int]], reset_after: bool) -> None:
    def filled(shape: list[int]) -> Any:
        return [filled(shape[1:]) for _ in range(shape[0])] if shape else 0.5

    data = {
        "framework": framework,
        "layer": layer,
        "config": {"units": units, **({"reset_after": reset_after} if layer == "GRU" else {})},
        "weights": {"kernel": filled(shapes[0]), "recurrent_kernel": filled(shapes[1]), "bias": filled(shapes[2])},
        "inputs": filled(shapes[3]),
    }
    assert_clean(*run_file(yaml.safe_dump(data)))


@FUZZ
@given(
    layer=st.sampled_from(["LSTM", "GRU", "RNN"]),
    hidden=st.integers(1, 3),
    layers=st.integers(1, 2),
    bidirectional=st.booleans(),
    proj=st.integers(0, 2),
    drop=st.sampled_from([None, "weight_ih_l0", "bias_hh_l0", "weight_hh_l1_reverse", "weight_hr_l0"]),
)
def test_random_torch(layer: str, hidden: int, layers: int, bidirectional: bool, proj: int, drop: str | None) -> None:
    g = {"LSTM": 4, "GRU": 3, "RNN": 1}[layer]
    out = proj if layer == "LSTM" and 0 < proj < hidden else hidden
    weights: dict[str, Any] = {}
    for depth in range(layers):
        for suffix in ("", "_reverse") if bidirectional else ("",):
            width = 2 if depth == 0 else out * (2 if bidirectional else 1)
            weights[f"weight_ih_l{depth}{suffix}"] = [[0.1] * width] * (g * hidden)
            weights[f"weight_hh_l{depth}{suffix}"] = [[0.1] * out] * (g * hidden)
            weights[f"bias_ih_l{depth}{suffix}"] = [0.0] * (g * hidden)
            weights[f"bias_hh_l{depth}{suffix}"] = [0.0] * (g * hidden)
            if out != hidden:
                weights[f"weight_hr_l{depth}{suffix}"] = [[0.1] * hidden] * out
    weights.pop(drop or "", None)
    config = {"hidden_size": hidden, "num_layers": layers, "bidirectional": bidirectional}
    if layer == "LSTM":
        config["proj_size"] = proj
    data = {"framework": "torch", "layer": layer, "config": config, "weights": weights, "inputs": [[1, 2], [3, 4]]}
    code, out_text, err = run_file(yaml.safe_dump(data))
    assert_clean(code, out_text, err)
    valid = layer != "LSTM" or proj < hidden  # torch requires proj_size < hidden_size
    unused = (drop == "weight_hr_l0" and out == hidden) or (
        drop == "weight_hh_l1_reverse" and not (layers == 2 and bidirectional)
    )
    if valid and (drop is None or unused):
        assert code == 0, err
    elif valid and drop is not None:
        assert code == 2 and "missing weight" in err, err
    else:
        assert code == 2, err


@FUZZ
@given(
    layer=st.sampled_from(["LSTM", "GRU", "RNN"]),
    hidden=st.integers(1, 3),
    direction=st.sampled_from(["forward", "reverse", "bidirectional"]),
    attributes=st.dictionaries(
        st.sampled_from(
            [
                "clip",
                "input_forget",
                "linear_before_reset",
                "layout",
                "activations",
                "activation_alpha",
                "sequence_lens",
            ]
        ),
        values,
        max_size=3,
    ),
    peepholes=st.booleans(),
)
def test_random_onnx(layer: str, hidden: int, direction: str, attributes: dict[str, Any], peepholes: bool) -> None:
    g, d = {"LSTM": 4, "GRU": 3, "RNN": 1}[layer], 2 if direction == "bidirectional" else 1
    weights: dict[str, Any] = {
        "W": [[[0.1, -0.2]] * (g * hidden)] * d,
        "R": [[[0.1] * hidden] * (g * hidden)] * d,
        "B": [[0.05] * (2 * g * hidden)] * d,
    }
    if peepholes and layer == "LSTM":
        weights["P"] = [[0.3] * (3 * hidden)] * d
    config = {"hidden_size": hidden, "direction": direction, **attributes}
    data = {"framework": "onnx", "layer": layer, "config": config, "weights": weights, "inputs": [[[1, 2], [3, 4]]]}
    code, out_text, err = run_file(yaml.safe_dump(data))
    assert_clean(code, out_text, err)
    if not attributes:
        assert code == 0, err


@FUZZ
@given(st.binary(max_size=300))
def test_random_bytes(data: bytes) -> None:
    assert_clean(*run_file(data))


@FUZZ
@given(st.text(max_size=200))
def test_random_text(text: str) -> None:
    assert_clean(*run_file(text))
