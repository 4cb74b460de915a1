"""The backward pass: the seed's integer gradients from a real Keras run, and agreement with central finite
differences of the forward pass in float64 for every layer kind and option the fixtures hold.

Finite differences need nothing but the forward pass, which the fixtures already prove framework-exact;
the framework's own gradients are compared in test_gradient_fixtures.py.
"""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import lstm_trace
from conftest import FIXTURES, SCENARIOS, read_fixture, run_cli, write_scenario
from lstm_trace.provenance import scenario_arrays, with_array

# Keras 3.15.1, GradientTape on LSTM(3, activation=None, recurrent_activation=None) with the seed weights,
# inputs [[0, -1], [-1, -1], [-1, -1]], L = Σ sequence; per step from keras's LSTMCell unrolled in a loop.
SEED_GRADIENTS = {
    "kernel": [[0, -3, 0, 0, 1, 0, 0, -3, 0, 0, -5, -12], [0, -3, 0, 0, 1, 0, -20, -3, 0, 0, -5, -12]],
    "recurrent_kernel": [[0] * 12, [0, -2, 0, 0, 1, 0, 0, -2, 0, 0, -2, -2], [0] * 12],
    "bias": [0, 3, 0, 0, -1, 0, 20, 3, 0, 0, 5, 12],
}
SEED_INPUTS = [[[0, 0], [5, 2], [6, 3]]]
SEED_DH = [[[5, 3, 5], [3, 3, 5], [1, 1, 1]]]
SEED_DC = [[[10, 0, 0], [6, -1, 0], [0, -1, 0]]]


@pytest.mark.parametrize("exact", [False, True], ids=["float32", "exact"])
def test_the_seed_backward_pass_is_kerass_to_the_integer(exact: bool) -> None:
    tr = lstm_trace.trace(lstm_trace.load(SCENARIOS / "seed_backward.yaml", exact=exact))
    g = tr.gradients
    assert g is not None
    assert g.loss == -3 and (isinstance(g.loss, Fraction) if exact else True)
    assert set(g.weights) == set(SEED_GRADIENTS)
    for name, want in SEED_GRADIENTS.items():
        assert g.weights[name].tolist() == want, name
    assert g.inputs.tolist() == SEED_INPUTS
    assert g.per_step()["h"].tolist() == SEED_DH
    assert g.per_step()["c"].tolist() == SEED_DC


def _float64(path: Path) -> dict[str, Any]:
    """A fixture's scenario in float64 (a float32 one's weights read again in float64)."""
    data, _ = read_fixture(path)
    data = dict(data, dtype="float64")
    config = data.get("config")
    if isinstance(config, dict) and "dtype" in config:
        data["config"] = {k: v for k, v in config.items() if k != "dtype"}
    if "layers" in data:  # a Keras stack: each layer's config names its dtype
        data["layers"] = [
            {**e, "config": {k: v for k, v in e["config"].items() if k != "dtype"}} for e in data["layers"]
        ]
    return data


def _loss(data: dict[str, Any], path: Path, upstream: dict[str, np.ndarray]) -> float:
    tr = lstm_trace.trace(lstm_trace.Scenario.from_dict(data, path))
    return float(sum((upstream[k] * tr.outputs[k]).sum() for k in upstream))


# every framework's fixtures (not the mistakes); not those that sit a pre-activation on an activation's corner on
# purpose, where a central difference averages the two slopes and the framework takes one, nor those with a Keras
# Masking layer, whose mask moves when a masked step's input is nudged off mask_value (the gradient holds it still)
FILES = sorted(p for p in FIXTURES.glob("[!m]*/*.yaml") if "corner" not in p.stem and "masking" not in p.stem)


@pytest.mark.parametrize("path", FILES[::2], ids=lambda p: f"{p.parent.name}/{p.stem}")
def test_gradients_agree_with_central_finite_differences(path: Path) -> None:
    """dL/d of two numbers of every array (weights, inputs, initial state) against (L(w + ε) − L(w − ε)) / 2ε."""
    data = _float64(path)
    scenario = lstm_trace.Scenario.from_dict(data, path)
    outputs = lstm_trace.trace(scenario).outputs
    rng = np.random.default_rng(7)
    upstream = {name: rng.normal(size=value.shape) for name, value in outputs.items()}
    g = lstm_trace.trace(lstm_trace.Scenario.from_dict(dict(data, backward=upstream), path)).gradients
    assert g is not None
    eps = 1e-6
    for name, array, where in scenario_arrays(scenario):
        values = np.asarray(array, np.float64)
        if name == "inputs":
            mine = g.inputs.reshape(values.shape) if g.inputs.size == values.size else None
            if mine is not None and values.ndim == 3 and g.inputs.shape != values.shape:
                continue  # inputs stored time-major: compared in input time in test_gradient_fixtures
        else:
            mine = g.weights[name] if name in g.weights else g.initial_state[name]
        assert mine is not None and mine.shape == values.shape, name
        for _ in range(2):
            index = tuple(int(rng.integers(0, n)) for n in values.shape)
            up, down = values.copy(), values.copy()
            up[index] += eps
            down[index] -= eps
            numeric = (_loss(with_array(data, where, up), path, upstream)
                       - _loss(with_array(data, where, down), path, upstream)) / (2 * eps)  # fmt: skip
            assert mine[index] == pytest.approx(numeric, rel=1e-6, abs=1e-7), f"{name}{list(index)}"


LOSSES = [
    ({"loss": "sum", "of": "h"}, -2, [[1, 1, 1]]),
    # h₃ = [0 -2 0]: ½ Σ (h − t)² with t = [1, 1, 1] is ½ (1 + 9 + 1) = 5.5, and dL/dh = h − t
    ({"loss": "half_squared_error", "of": "h", "target": [[1, 1, 1]]}, 5.5, [[-1, -3, -1]]),
    # mean over 3 values of (h − t)² = 11/3; dL/dh = 2 (h − t) / 3
    ({"loss": "mean_squared_error", "of": "h", "target": [1, 1, 1]}, Fraction(11, 3), None),
    # upstream gradients: L = Σ upstream ⊙ output = 2·(−2) = −4
    ({"h": [[0, 2, 0]]}, -4, [[0, 2, 0]]),
]


@pytest.mark.parametrize(("block", "loss", "upstream"), LOSSES)
def test_each_loss_and_upstream_gradients(block: dict[str, Any], loss: Any, upstream: Any) -> None:
    data = dict(lstm_trace.load(SCENARIOS / "seed_backward.yaml").data)
    data["backward"] = block
    exact = isinstance(loss, Fraction)
    scenario = lstm_trace.Scenario.from_dict(data, SCENARIOS / "seed_backward.yaml")
    if exact:
        from lstm_trace.yamlio import parse_yaml

        text = (SCENARIOS / "seed_backward.yaml").read_text()
        data = dict(parse_yaml(text, SCENARIOS / "seed_backward.yaml", exact=True), backward=block)
        scenario = lstm_trace.Scenario.from_dict(data, SCENARIOS / "seed_backward.yaml", exact=True)
    g = lstm_trace.trace(scenario).gradients
    assert g is not None and g.loss == loss
    if upstream is not None:
        assert g.upstream["h"].tolist() == upstream
        assert not g.upstream["sequence"].any()
    else:
        assert g.upstream["h"].tolist() == [[Fraction(-2, 3), Fraction(-2), Fraction(-2, 3)]]


BAD = [
    ("backward: {hh: [[1, 1, 1]]}", "unknown output 'hh'", "did you mean 'h'?"),
    ("backward: {h: [[1, 1]]}", "wrong shape", "shape (1, 3)"),
    ("backward: {loss: squared, of: h, target: [0, 0, 0]}", "unknown loss 'squared'", "half_squared_error"),
    ("backward: {loss: half_squared_error, of: h}", "half_squared_error needs a target", "target"),
    ("backward: [1, 2]", "backward must be a mapping", "upstream gradients by output name"),
]


@pytest.mark.parametrize(("block", "problem", "hint"), BAD)
def test_a_bad_backward_block_is_refused_clearly(tmp_path: Path, block: str, problem: str, hint: str) -> None:
    text = (SCENARIOS / "seed_backward.yaml").read_text()
    text = "\n".join(line for line in text.splitlines() if not line.startswith("backward:")) + "\n" + block + "\n"
    result = run_cli("run", str(write_scenario(tmp_path, text)), "--format", "json")
    assert result.exit_code == 2, result.output
    assert problem in result.stderr and hint in result.stderr
    assert "Traceback" not in result.stderr


GRADIENT_FIXTURES = sorted((FIXTURES / "gradients").glob("*.yaml"))
GRADIENT_TOLERANCE = {"float32": (1e-5, 1e-6), "float64": (1e-10, 1e-12)}


@pytest.mark.parametrize("path", GRADIENT_FIXTURES, ids=lambda p: p.stem)
def test_gradients_are_the_frameworks(path: Path) -> None:
    """L, dL/d every weight, input and initial state, and the per-step dL/dh_t, dL/dc_t, against the framework's
    own autograd (or, for ONNX, central differences of its reference evaluator in float64)."""
    data, reference = read_fixture(path)
    tr = lstm_trace.trace(lstm_trace.Scenario.from_dict(data, path))
    g = tr.gradients
    assert g is not None
    want = reference["gradients"]
    rtol, atol = GRADIENT_TOLERANCE[tr.scenario.dtype]
    if "finite differences" in str(reference.get("method", "")):  # ONNX: no autograd; central differences, h=1e-6
        rtol, atol = 1e-7, 3e-9

    def same(got: Any, expected: Any, what: str) -> None:
        got = np.asarray(got, np.float64)
        expected = np.asarray(expected, np.float64)
        assert got.shape == expected.shape, what
        np.testing.assert_allclose(got, expected, rtol=rtol, atol=atol, err_msg=f"{path.stem}: {what}")

    same(g.loss, want["loss"], "loss")
    assert set(g.weights) == set(want["weights"])
    for name, value in want["weights"].items():
        same(g.weights[name], value, name)
    same(g.inputs, want["inputs"], "inputs")
    assert set(g.initial_state) == set(want.get("initial_state", {}))
    for name, value in want.get("initial_state", {}).items():
        same(g.initial_state[name], value, f"initial_state.{name}")
    steps = g.per_step()
    for name, value in want.get("per_step", {}).items():
        same(steps[name], value, f"per_step.{name}")


@pytest.mark.parametrize("path", [p for p in GRADIENT_FIXTURES if "lstm" in p.stem], ids=lambda p: p.stem)
def test_the_plain_lstm_loop_is_the_operation_by_operation_pass(path: Path) -> None:
    """The inlined loop for a plain LSTM records exactly what the general pass records, slopes included."""
    from lstm_trace.backward import back_run

    data, _ = read_fixture(path)
    tr = lstm_trace.trace(lstm_trace.Scenario.from_dict(data, path))
    assert tr.gradients is not None
    for layer in tr.gradients.runs:
        for back in layer:
            general = back_run(back.run, back.dh_out, back.dc_out, fast=False)
            for name in ("dh", "dc", "dact", "dpre", "dhu", "dx", "slope", "c_slope"):
                np.testing.assert_array_equal(getattr(back, name), getattr(general, name), err_msg=name)
            assert back.grads.keys() == general.grads.keys()
            for name, value in back.grads.items():
                np.testing.assert_array_equal(value, general.grads[name], err_msg=name)


def test_a_nan_target_is_refused(tmp_path: Path) -> None:
    text = (SCENARIOS / "seed_backward.yaml").read_text()
    text = "\n".join(line for line in text.splitlines() if not line.startswith("backward:"))
    text += "\nbackward: {loss: half_squared_error, of: h, target: [0, .nan, 0]}\n"
    result = run_cli("run", str(write_scenario(tmp_path, text)), "--format", "json")
    assert result.exit_code == 2 and "a target or gradient must be finite" in result.stderr
    assert "backward.target" in result.stderr
