"""The page's JavaScript engine, in a real browser, against the Python engine on every fixture.

The Python engine matches the real frameworks (the fixtures); here every array the page's engine
computes (each product, sum, gate, state, what the layer returns) must match the Python trace of
the same fixture within the float tolerance, and an edit made in the page must give what the
Python engine gives for the scenario with that number changed in the file.
"""

from __future__ import annotations

import json
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import lstm_trace
from conftest import FIXTURES, TOLERANCE, read_fixture
from lstm_trace.page.data import page_data
from lstm_trace.provenance import scenario_arrays, with_array

FILES = sorted(FIXTURES.glob("*/*.yaml"))
ARRAYS = ("x", "xw", "hu", "pre", "act", "h", "c", "c_act", "gated", "peep", "m", "c_unclipped", "p_unclipped",
          "pre_clipped")  # fmt: skip

RUN = """([text, edits, names]) => {
  const model = LstmEngine.decode(JSON.parse(text));
  for (const [name, index, value] of edits) LstmEngine.edit(model, name, index, value);
  const result = LstmEngine.run(model);
  return {
    runs: result.runs.map((layer) => layer.map((run) =>
      Object.fromEntries(names.filter((k) => run[k]).map((k) => [k, Array.from(run[k])])))),
    outputs: Object.fromEntries(Object.entries(result.outputs).map(([k, v]) => [k, Array.from(v.values)])),
  };
}"""


@pytest.fixture(scope="module")
def engine_page(browser: Any) -> Any:
    page = browser.new_page()
    page.set_content("<!doctype html><title>engine</title>")
    for name in ("engine.js", "backward.js"):
        page.add_script_tag(content=resources.files("lstm_trace.page").joinpath(name).read_text("utf-8"))
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    yield page
    assert not errors
    page.close()


def _trace(path: Path, data: dict[str, Any]) -> lstm_trace.Trace:
    return lstm_trace.trace(lstm_trace.Scenario.from_dict(data, path))


def _compare(page_result: dict[str, Any], tr: lstm_trace.Trace, what: str) -> None:
    rtol, atol = TOLERANCE[tr.scenario.dtype]
    for layer, runs in zip(tr.runs, page_result["runs"], strict=True):
        for run, got in zip(layer, runs, strict=True):
            expected = {name for name in ARRAYS if getattr(run, name) is not None}
            assert set(got) == expected, f"{what}: layer {run.layer} {run.direction} arrays"
            for name in expected:
                want = np.asarray(getattr(run, name), np.float64).ravel()
                np.testing.assert_allclose(
                    np.asarray(got[name], np.float64), want, rtol=rtol, atol=atol,
                    err_msg=f"{what}: layer {run.layer} {run.direction} {name}",
                )  # fmt: skip
    assert set(page_result["outputs"]) == set(tr.outputs)
    for name, values in page_result["outputs"].items():
        want = np.asarray(tr.outputs[name], np.float64).ravel()
        np.testing.assert_allclose(np.asarray(values), want, rtol=rtol, atol=atol, err_msg=f"{what}: output {name}")


@pytest.mark.parametrize("path", FILES, ids=lambda p: f"{p.parent.name}/{p.stem}")
def test_every_fixture_computes_in_the_page_as_in_python(engine_page: Any, path: Path) -> None:
    data, _ = read_fixture(path)
    tr = _trace(path, data)
    result = engine_page.evaluate(RUN, [json.dumps(page_data(tr)), [], list(ARRAYS)])
    _compare(result, tr, path.name)


EDITED = [
    "keras/lstm_default.yaml",
    "keras/gru_reset_before_backwards_state.yaml",
    "keras2/simplernn_default.yaml",
    "torch/lstm_two_layer_bidirectional_proj_float64_state.yaml",
    "torch/gru_batch_first.yaml",
    "tf1/lstmcell_peepholes_clip_sequence_length.yaml",
    "onnx/lstm_input_forget_peepholes_clip.yaml",
    "onnx/gru_linear_before_reset_bidirectional_clip.yaml",
]


@pytest.mark.parametrize("name", [n for n in EDITED if (FIXTURES / n).exists()])
def test_an_edit_recomputes_as_python_does_for_the_edited_file(engine_page: Any, name: str) -> None:
    """Change one number of every array of the scenario (weights, inputs, initial state) in the page and in
    the mapping the file was read from: the page's numbers are then the Python trace of the edited file."""
    path = FIXTURES / name
    data, _ = read_fixture(path)
    tr = _trace(path, data)
    edits = []
    edited = data
    for k, (source_name, array, where) in enumerate(scenario_arrays(tr.scenario)):
        index = tuple(int(n) // 2 for n in array.shape)
        changed = np.array(array, copy=True)
        changed[index] = 0.25 * (k + 1) - 0.5  # exact in binary, so the page and the file hold the same number
        edits.append([source_name, list(index), float(changed[index])])
        edited = with_array(edited, where, changed)
    result = engine_page.evaluate(RUN, [json.dumps(page_data(tr)), edits, list(ARRAYS)])
    _compare(result, _trace(path, edited), f"{name} edited")


def test_fixture_names_used_for_edits_exist() -> None:
    missing = [n for n in EDITED if not (FIXTURES / n).exists()]
    assert not missing


def _every_activation() -> list[Any]:
    from lstm_trace import activations as A

    families = [A.affine(0.5, -1.0), A.scaled_tanh(1.5, 0.5), A.hard_sigmoid(0.3, 0.4), A.leaky_relu(0.1),
                A.thresholded_relu(0.7), A.elu(0.6), A.HARD_SIGMOID_K2, A.HARD_SIGMOID_K3]  # fmt: skip
    return [*A.COMMON.values(), *A.KERAS3_ONLY.values(), *families]


ACTIVATE = """([spec, xs]) => {
  const out = new Float64Array(xs.length);
  LstmEngine.activation(spec)(Float64Array.from(xs), 0, out, 0, xs.length);
  return Array.from(out);
}"""


def test_every_activation_the_python_engine_knows_is_computed_alike(engine_page: Any) -> None:
    from lstm_trace.page.data import activation_spec

    xs = np.concatenate([np.linspace(-8, 8, 161), [-1, -0.5, 0, 0.5, 1, 6, -30, 30]])
    for act in _every_activation():
        got = np.asarray(engine_page.evaluate(ACTIVATE, [activation_spec(act), xs.tolist()]))
        want = act(xs[None, :])[0] if act.name == "softmax" else act(xs)
        np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-15, err_msg=f"{act.name} {act.params}")


BACK = """([text, names]) => {
  const model = LstmEngine.decode(JSON.parse(text));
  const result = LstmEngine.run(model);
  const g = LstmBackward.backward(model, result);
  const plain = (o) => Object.fromEntries(Object.entries(o).map(([k, v]) => [k, Array.from(v)]));
  return {
    loss: g.loss, weights: plain(g.weights), initial_state: plain(g.initial_state), inputs: Array.from(g.inputs),
    runs: g.runs.map((layer) => layer.map((b) => ({
      ...Object.fromEntries(names.filter((k) => b[k]).map((k) => [k, Array.from(b[k])])), grads: plain(b.grads),
    }))),
  };
}"""
BACK_ARRAYS = ("dh", "dc", "dact", "dpre", "dhu", "dx")
GRADIENTS = sorted((FIXTURES / "gradients").glob("*.yaml"))


@pytest.mark.parametrize("path", GRADIENTS, ids=lambda p: p.stem)
def test_the_pages_backward_pass_is_the_python_one(engine_page: Any, path: Path) -> None:
    """Every δ of every step, every canonical and named gradient, the page's against the Python record."""
    data, _ = read_fixture(path)
    tr = _trace(path, data)
    g = tr.gradients
    assert g is not None
    got = engine_page.evaluate(BACK, [json.dumps(page_data(tr)), list(BACK_ARRAYS)])
    rtol, atol = TOLERANCE[tr.scenario.dtype]
    if tr.scenario.dtype == "float64":
        rtol, atol = 1e-10, 1e-12

    def same(mine: Any, want: Any, what: str) -> None:
        np.testing.assert_allclose(np.asarray(mine, np.float64), np.asarray(want, np.float64).ravel(),
                                   rtol=rtol, atol=atol, err_msg=f"{path.stem}: {what}")  # fmt: skip

    same(got["loss"], g.loss, "loss")
    assert set(got["weights"]) == set(g.weights) and set(got["initial_state"]) == set(g.initial_state)
    for name, value in g.weights.items():
        same(got["weights"][name], value, name)
    for name, value in g.initial_state.items():
        same(got["initial_state"][name], value, name)
    same(got["inputs"], g.inputs, "inputs")
    for layer, runs in zip(g.runs, got["runs"], strict=True):
        for back, page in zip(layer, runs, strict=True):
            where = f"layer {back.run.layer} {back.run.direction}"
            for name in BACK_ARRAYS:
                if getattr(back, name) is not None:
                    same(page[name], getattr(back, name), f"{where} {name}")
            for name, value in back.grads.items():
                same(page["grads"][name], value, f"{where} d{name}")


DERIVE = """([spec, xs, dys]) => {
  const x = Float64Array.from(xs), dy = Float64Array.from(dys), y = new Float64Array(xs.length);
  LstmEngine.activation(spec)(x, 0, y, 0, xs.length);
  const dx = new Float64Array(xs.length);
  LstmBackward.activationBack(spec)(x, y, dy, dx, xs.length);
  return Array.from(dx);
}"""


def test_every_activations_derivative_is_the_pythons_kinks_included(engine_page: Any) -> None:
    from lstm_trace.page.data import activation_spec

    # the grid holds every kink: 0, ±0.5, ±1, ±2.5, ±3, 6, and each family's own
    xs = np.concatenate([np.linspace(-8, 8, 161), [-3, 3, -2.5, 2.5, 0.7, -1 / 0.3 * 0.4, 1.1]])
    dys = np.random.default_rng(3).normal(size=xs.size)
    for act in _every_activation():
        got = np.asarray(engine_page.evaluate(DERIVE, [activation_spec(act), xs.tolist(), dys.tolist()]))
        y = act(xs[None, :])[0] if act.name == "softmax" else act(xs)
        if act.name == "softmax":
            want = act.backward(xs[None, :], y[None, :], dys[None, :])[0]
        else:
            want = act.backward(xs, y, dys)
        np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-14, err_msg=f"{act.name} {act.params}")
