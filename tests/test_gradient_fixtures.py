"""The gradient fixtures (tests/fixtures/gradients) are whole and mean what SCENARIO.md says.

Each is a scenario with a `backward` block and, in its `reference`, the framework's forward outputs and
`gradients` (tools/make_fixtures.py gradients-*, from real framework runs; the generator checks float64
cases against central finite differences). No framework is imported here: these tests check shapes and
names against the scenario, L against the stored outputs, and what about per_step follows from the outputs
alone: the gradient of layer 1 forward's last state is what L says about its own outputs, and for c (the
total, every path) also the path through h_T = o_T ⊙ act(c_T), whose o_T the final h and c give.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest

from conftest import FIXTURES, SCENARIOS, read_fixture
from lstm_trace.yamlio import parse_yaml

GRADIENTS = sorted((FIXTURES / "gradients").glob("*.yaml"))
FRAMEWORKS = {"keras": "keras ", "keras2": "keras ", "torch": "torch ", "tf1": "tensorflow ", "onnx": "onnx "}
LOSSES = {"half_squared_error", "mean_squared_error", "sum"}
WITH_C = {"LSTM", "BasicLSTMCell", "LSTMCell"}
TOLERANCE = {"float32": (1e-5, 1e-6), "float64": (1e-12, 1e-12)}
# act(c) and act'(c) of the cell state, by the name a fixture's config gives the LSTM's activation
ACTIVATIONS = {
    "tanh": (np.tanh, lambda c: 1 - np.tanh(c) ** 2),
    "relu": (lambda c: np.maximum(c, 0), lambda c: (c > 0).astype(np.float64)),
    "linear": (lambda c: c, np.ones_like),
}
# scenarios/seed_backward.yaml's per-step gradients worked by hand: δh_t is 1 from its own output row plus
# what comes back; δc_t = δh_t ⊙ o_t + δc_{t+1} ⊙ f_{t+1} (the layer is linear: h_t = o_t ⊙ c_t)
SEED_PER_STEP = {"h": [[[5, 3, 5], [3, 3, 5], [1, 1, 1]]], "c": [[[10, 0, 0], [6, -1, 0], [0, -1, 0]]]}


def shape(value: Any) -> tuple[int, ...]:
    return np.asarray(value, dtype=np.float64).shape


def output_gradient(backward: dict[str, Any], reference: dict[str, Any], name: str) -> np.ndarray:
    """dL/d(output `name`) as the contract defines L (an output left out: zero)."""
    y = np.asarray(reference[name], dtype=np.float64)
    if "loss" not in backward:
        return np.asarray(backward.get(name, np.zeros_like(y)), dtype=np.float64)
    if backward["of"] != name:
        return np.zeros_like(y)
    if backward["loss"] == "sum":
        return np.ones_like(y)
    d = y - np.asarray(backward["target"], dtype=np.float64)
    return d if backward["loss"] == "half_squared_error" else 2 * d / d.size


def loss_value(backward: dict[str, Any], reference: dict[str, Any]) -> float:
    """L of the contract: ½Σ(y − t)², mean (y − t)², Σ y; or Σ over outputs of Σ(upstream ⊙ output)."""
    if "loss" not in backward:
        return sum(float(np.sum(np.asarray(u) * np.asarray(reference[k]))) for k, u in backward.items())
    y = np.asarray(reference[backward["of"]], dtype=np.float64)
    if backward["loss"] == "sum":
        return float(np.sum(y))
    d = y - np.asarray(backward["target"], dtype=np.float64)
    return float(0.5 * np.sum(d * d) if backward["loss"] == "half_squared_error" else np.mean(d * d))


def _layers(data: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    """(layer, config) of each layer: one, or a Keras stack's (`layers:`)."""
    if "layers" in data:
        return [(entry["layer"], entry["config"]) for entry in data["layers"]]
    return [(data["layer"], data.get("config", {}))]


def _keras_more(data: dict[str, Any]) -> bool:
    """A Keras Bidirectional, a stack or a mask (SCENARIO.md "More layers"): its own output names."""
    return data.get("layer") == "Bidirectional" or any(key in data for key in ("layers", "mask", "masking"))


def _outputs(data: dict[str, Any]) -> set[str]:
    """The outputs the contract names for the fixture's layer (the last layer of a stack)."""
    layer, config = _layers(data)[-1]
    if layer == "Bidirectional":
        sides = [("forward", config["layer"]), ("backward", config.get("backward_layer") or config["layer"])]
        sequences = config["layer"]["config"].get("return_sequences", False)
        merged = config.get("merge_mode", "concat") is not None
        names = {"sequence"} if merged else {"forward_sequence", "backward_sequence"}
        if not sequences:
            names |= {"output"} if merged else {"forward_output", "backward_output"}
        for side, spec in sides:
            names |= {f"{side}_h", f"{side}_c"} if spec["class_name"] == "LSTM" else {f"{side}_h"}
        return names
    names = {"sequence", "h", "c"} if layer in WITH_C else {"sequence", "h"}
    dropped = data["framework"] == "keras" and "masking" in data and "initial_state" in data  # Keras 3 drops it
    masked = ("mask" in data or "masking" in data) and not dropped
    return names | ({"output"} if masked and not config.get("return_sequences", False) else set())


def _first(data: dict[str, Any]) -> tuple[str, int]:
    """(kind, units) of layer 1's forward direction, whose states per_step follows."""
    layer, config = _layers(data)[0]
    if layer == "Bidirectional":
        layer, config = config["layer"]["class_name"], config["layer"]["config"]
    return layer, config["units"]


def _weights(data: dict[str, Any]) -> list[tuple[str, Any]]:
    """Each weight by the name its gradient has (a stack's prefixed by its entry, layers[0].kernel)."""
    entries = data.get("layers", [data])
    out = []
    for k, entry in enumerate(entries):
        prefix = f"layers[{k}]." if "layers" in data else ""
        weights = entry["weights"]
        pairs = enumerate(weights) if isinstance(weights, list) else weights.items()
        out += [(f"{prefix}weights[{n}]" if isinstance(weights, list) else f"{prefix}{n}", w) for n, w in pairs]
    return out


def test_every_framework_every_loss() -> None:
    cases = [(p.stem.split("_")[0], read_fixture(p)[0]) for p in GRADIENTS]
    for framework in FRAMEWORKS:
        mine = [data for fw, data in cases if fw == framework]
        assert len(mine) >= 8, framework
        assert any(d["dtype"] == "float64" for d in mine), framework
        kinds = {d["backward"].get("loss", "upstream") for d in mine}
        assert kinds == {*LOSSES, "upstream"}, f"{framework}: {kinds}"


@pytest.mark.parametrize("path", GRADIENTS, ids=lambda p: p.stem)
def test_gradient_fixture(path: Path) -> None:
    data, reference = read_fixture(path)
    framework = path.stem.split("_")[0]
    assert data["framework"] == framework
    assert isinstance(data["description"], str) and "\n" not in data["description"]
    assert reference["framework"].startswith(FRAMEWORKS[framework])
    more = _keras_more(data)
    outputs = _outputs(data) if more else {"sequence", "h", "c"} if data["layer"] in WITH_C else {"sequence", "h"}
    assert outputs <= set(reference)
    if more:  # every output the contract names, and no other
        assert set(reference) - {"framework", "gradients"} == outputs
    backward = data["backward"]
    if "loss" in backward:
        assert backward["loss"] in LOSSES and backward["of"] in outputs
        assert ("target" in backward) == (backward["loss"] != "sum")
        if "target" in backward:
            assert shape(backward["target"]) == shape(reference[backward["of"]])
    else:
        assert backward and set(backward) <= outputs
        for name, upstream in backward.items():
            assert shape(upstream) == shape(reference[name]), name
    grads = reference["gradients"]
    keys = {"loss", "weights", "inputs", "initial_state", "per_step"}
    keys -= {"initial_state"} if "initial_state" not in data else set()
    keys -= {"per_step"} if framework == "onnx" else set()
    assert set(grads) == keys
    assert reference.get("method") == ("central finite differences, h=1e-6" if framework == "onnx" else None)
    assert list(grads["weights"]) == [name for name, _ in _weights(data)]
    for name, weight in _weights(data):
        assert shape(grads["weights"][name]) == shape(weight), name
    assert shape(grads["inputs"]) == shape(data["inputs"])
    for name, state in data.get("initial_state", {}).items():
        assert shape(grads["initial_state"][name]) == shape(state), name
    assert set(grads.get("initial_state", {})) == set(data.get("initial_state", {}))
    batch, steps = shape(data["inputs"])[:2]
    for name, per_step in grads.get("per_step", {}).items():  # (B, T, size): size as the final state's
        size = _first(data)[1] if more else shape(reference[name])[-1]
        assert shape(per_step) == (batch, steps, size), name
    if "per_step" in grads:  # layer 1 forward's states
        first = ({"h", "c"} if _first(data)[0] in WITH_C else {"h"}) if more else outputs - {"sequence"}
        assert set(grads["per_step"]) == first
    rtol, atol = TOLERANCE[data["dtype"]]
    np.testing.assert_allclose(float(grads["loss"]), loss_value(backward, reference), rtol=rtol, atol=atol)
    for array in [grads["inputs"], *grads["weights"].values(), *grads.get("per_step", {}).values()]:
        assert np.all(np.isfinite(np.asarray(array, dtype=np.float64)))


def _last_states(data: dict[str, Any], reference: dict[str, Any]) -> list[tuple[int, int, int, int]]:
    """(batch row, first step past the row's end, index of layer 1 forward in h/c, its width in sequence) for the
    single-layer cases whose final state is layer 1 forward's; empty for the rest."""
    if _keras_more(data):  # a masked step repeats the previous output; directions merged: not this simple sum
        return []
    framework, config = data["framework"], data["config"]
    batch, steps = shape(data["inputs"])[:2]
    width = shape(reference["h"])[-1]
    if framework in ("keras", "keras2"):  # the sequence in processing order, h (B, U)
        return [(b, steps, -1, width) for b in range(batch)]
    if framework == "torch" and data["layer"].endswith("Cell"):  # a cell's loop: its last h (B, H)
        return [(b, steps, -1, width) for b in range(batch)]
    if framework == "torch" and config.get("num_layers", 1) == 1:  # h_n (D, B, H_out): [0] is forward
        packed = config.get("pack_padded_sequence")  # a packed row's state is carried on past its length
        return [(b, packed["lengths"][b] if packed else steps, 0, width) for b in range(batch)]
    if framework == "tf1":  # past a row's length the state is carried on unchanged
        lengths = config["dynamic_rnn"]["sequence_length"]
        return [(b, lengths[b], -1, width) for b in range(batch)]
    return []


def _activation(data: dict[str, Any]) -> str | None:
    """The name of the LSTM's act in h = o ⊙ act(c), where nothing else stands between c and h (no projection,
    no output peephole); None where something does."""
    config = data["config"]
    if data["framework"] in ("keras", "keras2"):
        return config.get("activation", "tanh")
    if data["framework"] == "torch":
        return None if config.get("proj_size") else "tanh"
    return "tanh" if data["layer"] == "BasicLSTMCell" and "activation" not in config else None


def _through_h(data: dict[str, Any], h: np.ndarray, c: np.ndarray, dh: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(δh ⊙ ∂h/∂c, where it is known) of a made state from its own h and c: ∂h/∂c = o ⊙ act'(c) with
    o = h / act(c), unknown where act(c) is 0 and act'(c) is not."""
    name = _activation(data)
    if name is None:
        return np.zeros_like(c), np.zeros(c.shape, dtype=bool)
    act, slope = ACTIVATIONS[name]
    a, d = act(c), slope(c)
    o = np.divide(h, a, out=np.zeros_like(h), where=a != 0)
    return dh * o * d, (a != 0) | (d == 0)


@pytest.mark.parametrize("path", GRADIENTS, ids=lambda p: p.stem)
def test_last_state_gradient_is_its_own_outputs(path: Path) -> None:
    """per_step is total: at the last step (and, for a TF1 row that ended early, every step past its end, whose
    state is the final state carried on) it is dL/d(the final state) plus dL/d(its own sequence row) for h;
    for c, at the last state made, plus the path through that state's h, δh ⊙ o ⊙ act'(c)."""
    data, reference = read_fixture(path)
    rows = _last_states(data, reference)
    if not rows:
        pytest.skip(
            "no final state of layer 1 forward among the outputs (ONNX has no per_step; torch: stacked; "
            "Keras's Bidirectional, masks and stacks)"
        )
    backward, per_step = data["backward"], reference["gradients"]["per_step"]
    rtol, atol = TOLERANCE[data["dtype"]]
    steps = shape(data["inputs"])[1]
    torch = data["framework"] == "torch" and not data["layer"].endswith("Cell")  # h_n, c_n (L·D, B, H)
    g_sequence = output_gradient(backward, reference, "sequence")
    checked = 0
    for name in per_step:
        got = np.asarray(per_step[name], dtype=np.float64)
        g_final = output_gradient(backward, reference, name)
        for row, end, index, width in rows:
            final = g_final[index, row] if torch else g_final[row]
            for t in range(end, steps):  # the carried-on states: no output row of their own, no h made from them
                np.testing.assert_allclose(got[row, t], final, rtol=rtol, atol=atol, err_msg=f"{name} row {row}")
            after = final if end == steps else got[row, end]
            known = np.ones(got.shape[-1], dtype=bool)
            if name == "h":
                want = after + g_sequence[row, end - 1, :width]
            else:  # the final state is the last one made: its h and c are the layer's final h and c
                h, c = (np.asarray(reference[k], dtype=np.float64)[(index, row) if torch else row] for k in "hc")
                through, known = _through_h(data, h, c, np.asarray(per_step["h"], dtype=np.float64)[row, end - 1])
                want = after + through
            np.testing.assert_allclose(
                got[row, end - 1][known], want[known], rtol=rtol, atol=atol, err_msg=f"{name} row {row}"
            )
            checked += int(known.sum())
    assert checked


def test_the_seed_scenarios_per_step_is_worked_by_hand() -> None:
    """keras_seed_backward is scenarios/seed_backward.yaml run by Keras 3: the same weights, inputs and backward
    block, and the per-step gradients a hand calculation gives, c's through h_t included."""
    data, reference = read_fixture(FIXTURES / "gradients" / "keras_seed_backward.yaml")
    path = SCENARIOS / "seed_backward.yaml"
    seed = parse_yaml(path.read_text(), path)
    for key in ("weights", "backward"):
        assert data[key] == seed[key], key
    assert data["inputs"] == [seed["inputs"]]
    assert {k: np.asarray(v).tolist() for k, v in reference["gradients"]["per_step"].items()} == SEED_PER_STEP
