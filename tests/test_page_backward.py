"""The page's backward pass, opened from file:// in a real chromium, read as a test reads it.

Every number of the backward view of every step (each δ, act′, what the step adds to each weight's
gradient) must be the Python backward pass's (Trace.gradients, BackRun), the totals its gradients
under the scenario's names, after an edit too (against the Python backward of the edited file); each
δ's tooltip must add up (its numbers, evaluated as written, give its value), the pass must be in the
address, and the page must load nothing but itself and log no error.
"""

from __future__ import annotations

import re
from typing import Any

import numpy as np
import pytest
import test_page
from test_page import Pages, edited, expected, focus_text, traced

from conftest import FIXTURES, SCENARIOS, TOLERANCE
from lstm_trace.backward import BackRun
from lstm_trace.gradients import Gradients
from lstm_trace.trace import Trace

pages, clean = test_page.pages, test_page.clean  # the fixtures that open pages and check them clean
GRADIENTS = FIXTURES / "gradients"
CASES = {
    "seed_backward": SCENARIOS / "seed_backward.yaml",  # integers, linear: the README's example
    "tf1_peepholes_clip_proj": GRADIENTS / "tf1_lstmcell_peepholes_clip_proj.yaml",  # + sequence_length
    "keras_gru_reset_before": GRADIENTS / "keras_gru_reset_before.yaml",
    "onnx_gru_reset_after_bidirectional": GRADIENTS / "onnx_gru_linear_before_reset_bidirectional.yaml",
    "torch_two_layer_bidirectional_proj_float64": GRADIENTS / "torch_lstm_two_layer_bidirectional_proj_float64.yaml",
    "keras_simplernn": GRADIENTS / "keras_simplernn.yaml",
}
BACK = '#main .pass[data-pass="backward"]'
READ = f"""() => Array.from(document.querySelectorAll('{BACK} .n'), (el) =>
  [el.dataset.q, +el.dataset.b || 0, +el.dataset.u || 0, +el.dataset.i || 0, el.dataset.g || '', el.dataset.v,
   el.closest('section').id])"""
TIPS = f"""() => Array.from(document.querySelectorAll('{BACK} .n'), (el) => {{
  el.focus();
  return [el.dataset.q, document.querySelector('[role="tooltip"]').innerText];
}})"""


def tolerance(tr: Trace) -> tuple[float, float]:
    return (1e-10, 1e-12) if tr.scenario.dtype == "float64" else TOLERANCE["float32"]


def gradients_of(tr: Trace) -> Gradients:
    g = tr.gradients
    assert g is not None
    return g


def want_back(g: Gradients, back: BackRun, q: str, s: int, b: int, u: int, i: int) -> float:
    """What the Python backward pass holds for a number the backward view names `q` at step s (0-based)."""
    if q == "loss":
        return float(g.loss)
    if q.startswith("add_"):
        return float(back.adds(s)[q[4:]].ravel()[i])
    if q.startswith("slope_") or q == "c_slope":  # act′ where the pass took it
        return float(back.quantity(q, s)[b, u])
    if not q.startswith("d_"):
        return expected(back.run, q, s, b, u)  # a forward value shown beside the δ's
    name = q[2:]
    if name in ("h_out", "c_out"):
        outside = back.dh_out if name == "h_out" else back.dc_out
        assert outside is not None
        return float(outside[s + 1][b, u])
    if name.startswith("hu_"):
        return float(back.dhu[s][b, back.run.cell.block(name[3:])][u])
    return float(back.quantity(name, s)[b, u])


def check_backward_steps(page: Any, tr: Trace, what: str, tips: list[int] | None = None) -> set[str]:
    """Every number of the backward view, every step (T..1), run and batch row, against the Python record;
    with `tips`, every tooltip too (check_tooltips_add_up), counting those evaluated into tips[0]."""
    g = gradients_of(tr)
    rtol, atol = tolerance(tr)
    page.evaluate("window.lstmTrace.setPass('backward')")
    if tips is not None:
        page.select_option("#digits-select", "auto")  # every number in a tooltip exact
    kinds: set[str] = set()
    for layer in g.runs:
        for d, back in enumerate(layer):
            run = back.run
            page.evaluate("([l, d]) => window.lstmTrace.setRun(l, d)", [run.layer, d + 1])
            for b in range(run.h.shape[1]):
                page.evaluate("(b) => window.lstmTrace.setBatch(b)", b + 1)
                for s in reversed(range(run.steps)):
                    page.evaluate("(t) => window.lstmTrace.goTo(t)", s + 1)
                    cells = page.evaluate(READ)
                    assert cells, f"{what}: nothing shown at step {s + 1}"
                    rows = {row for q, row, *_ in cells if q.startswith(("d_", "slope_"))}
                    assert rows == {b + 1}, f"{what}: δ's of another batch row shown"
                    got = [float(c[5]) for c in cells if c[0] != "grad"]
                    want = [
                        want_back(g, back, q, s, row - 1, unit - 1, i) for q, row, unit, i, *_ in cells if q != "grad"
                    ]
                    where = f"{what}: layer {run.layer} {run.direction} row {b + 1} step {s + 1}"
                    np.testing.assert_allclose(got, want, rtol=rtol, atol=atol, err_msg=where)
                    kinds |= {c[0] for c in cells}
                    if tips is not None:
                        tips[0] += check_tooltips_add_up(page, where)
    return kinds


def check_totals(page: Any, tr: Trace, what: str) -> None:
    """The gradients under the scenario's own names and shapes: weights, initial state, inputs."""
    g = gradients_of(tr)
    cells = [c for c in page.evaluate(READ) if c[0] == "grad"]
    arrays = {**g.weights, **g.initial_state, "inputs": g.inputs}
    assert {c[4] for c in cells} == set(arrays), what
    assert len(cells) == sum(np.asarray(v).size for v in arrays.values())  # small: shown whole
    want = [float(np.asarray(arrays[name]).ravel()[i]) for _, _, _, i, name, *_ in cells]
    rtol, atol = tolerance(tr)
    np.testing.assert_allclose([float(c[5]) for c in cells], want, rtol=rtol, atol=atol, err_msg=f"{what}: totals")


ARITHMETIC = re.compile(r"^[-+*/(). 0-9e]+$")


def check_tooltips_add_up(page: Any, what: str) -> int:
    """Every δ's tooltip at the shown step: `lhs = symbols = numbers = value`, and the numbers, evaluated as
    written (with the shortest digits every number is exact), give the value the page shows."""
    checked = 0
    for q, text in page.evaluate(TIPS):
        first = text.split("\n")[0]
        assert " = " in first and "undefined" not in text and "NaN" not in text, f"{what}: {q}: {text}"
        parts = first.split(" = ")
        if not q.startswith(("d_", "add_")) or len(parts) < 3:
            continue
        numbers = parts[-2].replace("·", "*").replace("−", "-")
        if not ARITHMETIC.match(numbers):
            continue
        value = float(parts[-1])
        got = eval(numbers, {"__builtins__": {}})  # only digits, signs, · and parentheses: checked above
        scale = max(1.0, *(abs(float(n)) for n in re.findall(r"\d+\.?\d*(?:e[-+]?\d+)?", numbers)))
        assert abs(got - value) <= 1e-5 * scale, f"{what}: {first} (evaluates to {got})"
        checked += 1
    return checked


@pytest.mark.parametrize("name", list(CASES))
def test_every_number_of_the_backward_pass_is_the_python_one(clean: Pages, name: str) -> None:
    tr = traced(CASES[name])
    page = clean.open(clean.write(tr, name))
    tips = [0]
    kinds = check_backward_steps(page, tr, name, tips)
    assert tips[0] > 0
    assert {"loss", "d_h", "d_h_out", "d_h_prev", "d_x", "add_kernel", "add_recurrent", "grad"} <= kinds
    assert any(q.startswith("d_pre_") for q in kinds) and any(q.startswith("slope_") for q in kinds)
    if tr.first.cell.kind == "lstm":
        assert {"d_c", "d_c_prev", "d_o", "d_act_c", "c_slope"} <= kinds
    check_totals(page, tr, name)


def test_a_seed_tooltip_is_the_hand_worked_arithmetic(clean: Pages) -> None:
    page = clean.open(clean.write(traced(CASES["seed_backward"]), "seed_tip") + "#pass=backward&t=2")
    # seed_backward (linear, L = Σ sequence, so every δh_out is 1), by hand from its trace:
    # h₂ = [0 -1 0], c₂ = [0 1 2], o₂ = [2 -1 0], and at step 3 f₃ = [0 -2 -1].
    # δh₃ = δh_out₃ = [1 1 1] (nothing after step 3); δc₃[2] = δh₃[2]·o₃[2]·1 = 1·(-1) = -1.
    # δz₃ (i f g o, each block's units 1-3) = [0 2 0 | 0 -1 0 | 0 2 0 | 0 2 2] and row 1 of U (recurrent_kernel)
    # is [1 0 0 | 1 2 1 | 0 1 2 | 0 1 0]: the products that are not 0 are -1·2 (f₂), 2·1 (g₂), 2·1 (o₂),
    # so δh₂[1] = 1 + (-2 + 2 + 2) = 3.
    text = focus_text(page, '#back-state [data-q="d_h"][data-u="1"]')
    assert text.split("\n")[0] == "δh₂[1] = δh_out₂[1] + Σⱼ δz₃[j]·U[1,j] = 1 + (-1·2 + 2·1 + 2·1) = 3"
    marked = page.evaluate("() => Array.from(document.querySelectorAll('.src'), (el) => el.dataset.q)")
    assert marked == ["d_h_out"]  # step 3's δz are not on the page at step 2
    # δh₂[2] = 3 (1 + 2, likewise), o₂[2] = -1, linear′ = 1; δc₃[2] = -1 and f₃[2] = -2:
    # δc₂[2] = 3·(-1)·1 + (-1)·(-2) = -3 + 2 = -1
    text = focus_text(page, '#back-state [data-q="d_c"][data-u="2"]')
    assert text.split("\n")[0] == "δc₂[2] = δh₂[2]·o₂[2]·linear′(c₂[2]) + δc₃[2]·f₃[2] = 3·(-1)·1 − 1·(-2) = -1"
    marked = page.evaluate("() => Array.from(document.querySelectorAll('.src'), (el) => el.dataset.q)")
    assert sorted(marked) == ["c_slope", "d_h", "o"]
    # δi₂[2] = δc₂[2]·g₂[2] = -1·(-1) = 1; linear: δz_i₂[2] = δi₂[2]·1 = 1
    page.hover('#back-gates [data-q="d_pre_i"][data-u="2"]')
    tip = page.locator('[role="tooltip"]').inner_text()
    assert tip == "δz_i₂[2] = δi₂[2]·linear′(z_i₂[2]) = 1·1 = 1\nlinear′(z) = 1"
    # L = Σ sequence: the nine outputs [[0 0 0], [0 -1 0], [0 -2 0]] add up to -3
    assert focus_text(page, '#back-head [data-q="loss"]').split("\n")[0] == (
        "L = Σ sequence = 0 + 0 + 0 + 0 − 1 + 0 + 0 − 2 + 0 = -3"
    )


def test_an_edit_recomputes_the_gradients_as_python_does(clean: Pages) -> None:
    path = CASES["seed_backward"]
    page = clean.open(clean.write(traced(path), "seed_edit") + "#pass=backward")
    before = page.evaluate(READ)
    page.evaluate("([n, i, v]) => window.lstmTrace.edit(n, i, v)", ["kernel", [1, 6], 0.5])  # W_g[2,1]: 0 → 0.5
    want = traced(path, edited(path, "kernel", (1, 6), 0.5))
    check_backward_steps(page, want, "seed_backward with kernel[1, 6] = 0.5")
    check_totals(page, want, "seed_backward edited")
    assert page.evaluate(READ) != before
    # a float fixture, an input edited: the gradients follow it
    path = CASES["keras_gru_reset_before"]
    page = clean.open(clean.write(traced(path), "gru_edit"))
    page.evaluate("([n, i, v]) => window.lstmTrace.edit(n, i, v)", ["inputs", [0, 1, 2], 1.5])
    want = traced(path, edited(path, "inputs", (0, 1, 2), 1.5))
    check_backward_steps(page, want, "keras_gru_reset_before with inputs[0, 1, 2] = 1.5")
    check_totals(page, want, "keras_gru_reset_before edited")


def test_the_address_restores_the_pass(clean: Pages) -> None:
    url = clean.write(traced(CASES["tf1_peepholes_clip_proj"]), "address")
    page = clean.open(url + "#pass=backward&t=2")
    state = page.evaluate("window.lstmTrace.state()")
    assert (state["pass"], state["step"]) == ("backward", 2)
    assert page.evaluate("location.hash") == "#pass=backward&t=2&b=1&u=1&l=1&d=1"
    assert page.is_visible("#back-gates") and not page.is_visible("#step")
    assert page.locator('#main .pass[data-pass="forward"] .n').count() == 0  # only the shown pass is drawn
    other = clean.open(url)
    other.evaluate("window.lstmTrace.setPass('backward')")
    other.evaluate("window.lstmTrace.goTo(2)")
    assert other.evaluate(READ) == page.evaluate(READ)
    other.evaluate("window.lstmTrace.setPass('forward')")
    assert other.evaluate("location.hash") == "#t=2&b=1&u=1&l=1&d=1"
    assert other.locator(f"{BACK} .n").count() == 0


def test_the_pass_switch_is_keyboard_operable_and_going_back_runs_from_t_down(clean: Pages) -> None:
    page = clean.open(clean.write(traced(CASES["seed_backward"]), "keys"))
    page.focus("#pass-backward")
    page.keyboard.press("Enter")
    assert page.evaluate("window.lstmTrace.state().pass") == "backward"
    assert page.get_attribute("#pass-backward", "aria-pressed") == "true"
    page.focus("#next")
    page.keyboard.press("Home")  # the first step undone: T
    assert page.evaluate("window.lstmTrace.state().step") == 3
    page.keyboard.press("ArrowRight")  # the next step going back: t − 1
    assert page.evaluate("window.lstmTrace.state().step") == 2
    page.click("#next")
    assert page.evaluate("window.lstmTrace.state().step") == 1
    assert page.is_disabled("#next") and not page.is_disabled("#prev")
    page.keyboard.press("b")
    assert page.evaluate("window.lstmTrace.state()")["pass"] == "forward"
    assert page.get_attribute("#pass-forward", "aria-pressed") == "true"
    page.keyboard.press("b")
    assert page.evaluate("window.lstmTrace.state()")["pass"] == "backward"


def test_without_a_backward_block_there_is_no_switch(clean: Pages) -> None:
    page = clean.open(clean.write(traced(SCENARIOS / "seed.yaml"), "forward_only") + "#pass=backward")
    assert not page.is_visible("#pass-group")
    assert page.locator(BACK).count() == 0
    assert page.evaluate("window.lstmTrace.state().pass") == "forward"
    assert "no backward block" in page.inner_text("#status")
    page.focus("#next")
    page.keyboard.press("b")
    assert page.evaluate("window.lstmTrace.state().pass") == "forward"
    error = page.evaluate("() => { try { window.lstmTrace.setPass('backward'); } catch (e) { return e.message; } }")
    assert "no backward block" in error


def test_the_backward_view_fits_the_width(clean: Pages) -> None:
    for viewport in ((1280, 720), (390, 844)):
        page = clean.open(clean.write(traced(CASES["tf1_peepholes_clip_proj"]), "wide") + "#pass=backward", viewport)
        assert page.evaluate("document.documentElement.scrollWidth") <= viewport[0]
