"""The interactive page, opened from file:// in a real chromium, read as a test reads it.

Every number the page shows for a step carries data-q (what it is), data-b and data-u (batch row and
unit, from 1) and data-v (its full value): each must be the Python trace's number, for every step of
scenarios of every cell kind, after an edit too (against the Python trace of the edited file). The
page must load nothing but itself, log no error, say the arithmetic of a hovered or focused number
in a role="tooltip" element, and restore its state from its address.
"""

from __future__ import annotations

import copy
import dataclasses
import re
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import lstm_trace
from conftest import FIXTURES, SCENARIOS, TOLERANCE, read_fixture, run_cli
from lstm_trace.page.build import render_page
from lstm_trace.trace import Run, Trace
from lstm_trace.yamlio import parse_yaml

CASES = {
    "seed_three_steps": SCENARIOS / "seed_three_steps.yaml",
    "gru": SCENARIOS / "gru.yaml",
    "simplernn": SCENARIOS / "simplernn.yaml",
    "torch_bilstm": SCENARIOS / "torch_bilstm.yaml",  # bidirectional
    "tf1_peepholes": SCENARIOS / "tf1_peepholes.yaml",  # peepholes, cell clip, sequence_length
    "onnx_clip": FIXTURES / "onnx" / "lstm_input_forget_peepholes_clip.yaml",  # pre clip, f = 1 − i
    "onnx_gru_clip": FIXTURES / "onnx" / "gru_linear_before_reset_bidirectional_clip.yaml",
    "torch_float64_proj": FIXTURES / "torch" / "lstm_two_layer_bidirectional_proj_float64_state.yaml",
}

READ = """() => Array.from(document.querySelectorAll('#main [data-q]'), (el) =>
  [el.dataset.q, +el.dataset.b, +el.dataset.u, el.dataset.v, el.closest('section').id])"""
EXPLAIN_ALL = """() => Array.from(document.querySelectorAll('#main .n'), (el) => {
  el.focus();
  return document.querySelector('[role="tooltip"]').innerText;
})"""
RETURNS = """() => Array.from(document.querySelectorAll('#returns [data-o]'), (el) => [el.dataset.o, +el.dataset.i, el.dataset.v])"""


def mapping(path: Path) -> dict[str, Any]:
    """The scenario as the mapping its file holds (a fixture without its reference outputs)."""
    if path.parent.parent == FIXTURES:
        return read_fixture(path)[0]
    return parse_yaml(path.read_text(encoding="utf-8"), path)


def traced(path: Path, data: dict[str, Any] | None = None) -> Trace:
    return lstm_trace.trace(lstm_trace.Scenario.from_dict(mapping(path) if data is None else data, path))


class Pages:
    """Opens pages from file://, recording every request, console error and page error of each."""

    def __init__(self, browser: Any, folder: Path) -> None:
        self.browser = browser
        self.folder = folder
        self.opened: list[tuple[Any, str, list[str], list[str]]] = []

    def write(self, tr: Trace, name: str) -> str:
        path = self.folder / f"{name}.html"
        path.write_text(render_page(tr), encoding="utf-8")
        return path.as_uri()

    def open(self, url: str, viewport: tuple[int, int] = (1280, 720)) -> Any:
        page = self.browser.new_page(viewport={"width": viewport[0], "height": viewport[1]})
        requests: list[str] = []
        problems: list[str] = []
        page.on("request", lambda r: requests.append(r.url))
        page.on("console", lambda m: m.type in ("error", "warning") and problems.append(f"{m.type}: {m.text}"))
        page.on("pageerror", lambda e: problems.append(f"page error: {e}"))
        page.goto(url)
        assert page.evaluate("window.lstmTrace.ready") is True
        self.opened.append((page, url, requests, problems))
        return page

    def check_clean(self) -> None:
        for page, url, requests, problems in self.opened:
            base = url.split("#")[0]
            assert [r for r in requests if r.split("#")[0] != base] == [], f"{url}: requests"
            assert problems == [], f"{url}: {problems}"
            page.close()
        self.opened.clear()


@pytest.fixture(scope="module")
def pages(browser: Any, tmp_path_factory: pytest.TempPathFactory) -> Any:
    return Pages(browser, tmp_path_factory.mktemp("pages"))


@pytest.fixture
def clean(pages: Pages) -> Any:
    """Each test's pages: closed after it, having loaded nothing but themselves and logged no error."""
    yield pages
    pages.check_clean()


def expected(run: Run, q: str, s: int, b: int, u: int) -> float:
    """What the Python trace holds for a number the page names `q` at step s, batch row b, unit u (0-based)."""
    if q in ("x", "h_prev", "c_prev", "c", "h") or q in run.cell.gates or q.startswith("pre_"):
        return float(run.quantity(q, s)[b, u])
    direct = {"act_c": run.c_act, "m": run.m, "c_raw": run.c_unclipped}
    if q in direct:
        values = direct[q]
        assert values is not None, q
        return float(values[s, b, u])
    if q.startswith("clip_"):
        clip = run.blocks[q[5:]].op("clip")
        assert clip is not None, q
        return float(clip.out[s, b, u])
    key, gate = q.rsplit("_", 1)
    term = next(t for t in run.blocks[gate].terms if t.key == key)
    return float(term.at(s, b)[u])


def assert_close(got: list[float], want: list[float], dtype: str, what: str) -> None:
    rtol, atol = TOLERANCE[dtype]
    np.testing.assert_allclose(np.asarray(got), np.asarray(want), rtol=rtol, atol=atol, err_msg=what)


def check_every_step(page: Any, tr: Trace, what: str) -> int:
    """Every number of every step of every run and batch row, against the trace; returns how many."""
    seen = 0
    for layer in tr.runs:
        for d, run in enumerate(layer):
            page.evaluate("([l, d]) => window.lstmTrace.setRun(l, d)", [run.layer, d + 1])
            for b in range(run.h.shape[1]):
                page.evaluate("(b) => window.lstmTrace.setBatch(b)", b + 1)
                for s in range(run.steps):
                    page.evaluate("(t) => window.lstmTrace.goTo(t)", s + 1)
                    cells = page.evaluate(READ)
                    assert cells, f"{what}: no numbers at step {s + 1}"
                    assert {c[1] for c in cells} == {b + 1}, f"{what}: numbers of another batch row shown"
                    got = [float(c[3]) for c in cells]
                    want = [expected(run, q, s, row - 1, unit - 1) for q, row, unit, _, _ in cells]
                    where = f"{what}: layer {run.layer} {run.direction} row {b + 1} step {s + 1}"
                    assert_close(got, want, tr.scenario.dtype, where)
                    seen += len(cells)
    return seen


def check_returns(page: Any, tr: Trace) -> None:
    cells = page.evaluate(RETURNS)
    assert {c[0] for c in cells} == set(tr.outputs)
    assert len(cells) == sum(v.size for v in tr.outputs.values())  # small outputs are shown whole
    want = [float(np.asarray(tr.outputs[key]).ravel()[i]) for key, i, _ in cells]
    assert_close([float(c[2]) for c in cells], want, tr.scenario.dtype, "returns")


@pytest.mark.parametrize("name", list(CASES))
def test_every_number_of_every_step_is_the_python_trace(clean: Pages, name: str) -> None:
    tr = traced(CASES[name])
    page = clean.open(clean.write(tr, name))
    kinds = {q for q, *_ in page.evaluate(READ)}
    assert {"x", "h_prev", "h"} <= kinds and any(q.startswith("pre_") for q in kinds)
    assert check_every_step(page, tr, name) > 0
    check_returns(page, tr)
    explained = page.evaluate(EXPLAIN_ALL)  # every number of the last step shown, the weights and the returns
    assert explained and all(" = " in text for text in explained), [t for t in explained if " = " not in t][:3]


def focus_text(page: Any, selector: str) -> str:
    page.focus(selector)
    tip = page.locator('[role="tooltip"]')
    assert tip.is_visible()
    assert page.get_attribute(selector, "aria-describedby") == tip.get_attribute("id")
    return tip.inner_text()


def test_a_focused_number_shows_its_arithmetic_and_marks_its_sources(clean: Pages) -> None:
    tr = traced(SCENARIOS / "seed.yaml")
    page = clean.open(clean.write(tr, "seed"))
    # seed: z_f = x·W_f + h·U_f + b_f; unit 2: x₁ = [1 0], W_f[:,2] = [0 1], h₀ = 0, b_f[2] = 1
    text = focus_text(page, '#step [data-q="pre_f"][data-u="2"]')
    assert text == "z_f₁[2] = x₁·W_f[:,2] + h₀·U_f[:,2] + b_f[2] = 0 + 0 + 1 = 1"
    marked = page.evaluate("() => Array.from(document.querySelectorAll('#step .src'), (el) => el.dataset.q)")
    assert sorted(marked) == ["b_f", "hU_f", "xW_f"]
    # c₁[2] = f₁[2]·c₀[2] + i₁[2]·g₁[2] = 1·0 + 2·2 = 4 (the README's seed trace)
    text = focus_text(page, '#update [data-q="c"][data-u="2"]')
    assert text == "c₁[2] = f₁[2]·c₀[2] + i₁[2]·g₁[2] = 1·0 + 2·2 = 4"
    marked = page.evaluate("() => Array.from(document.querySelectorAll('#update .src'), (el) => el.dataset.q)")
    assert sorted(marked) == ["c_prev", "f", "g", "i"]
    # x₁·W expanded with its numbers: x₁[1]·W_i[1,1] + x₁[2]·W_i[2,1] = 1·2 + 0·1
    text = focus_text(page, '#step [data-q="xW_i"][data-u="1"]')
    assert text == "x₁·W_i[:,1] = x₁[1]·W_i[1,1] + x₁[2]·W_i[2,1] = 1·2 + 0·1 = 2"
    # hovering works as focusing does
    page.hover('#update [data-q="h"][data-u="2"]')
    assert page.locator('[role="tooltip"]').inner_text() == "h₁[2] = o₁[2]·c₁[2] = 1·4 = 4"


def edited(path: Path, name: str, index: tuple[int, ...], value: float) -> dict[str, Any]:
    """The scenario's mapping with one number changed, as the page's edit(name, index, value) changes it."""
    data = copy.deepcopy(mapping(path))
    holder = data["weights"] if name in data.get("weights", {}) else data
    if name in (data.get("initial_state") or {}):
        holder = data["initial_state"]
    array = np.array(holder[name], dtype=np.float64)
    if array.ndim < len(index):  # inputs written (T, F) are one batch row
        array = array[None]
    array[index] = value
    holder[name] = array.tolist()
    return data


EDITS = [
    ("seed_three_steps", "kernel", (0, 3), 0.5),
    ("gru", "bias", (1, 2), -0.75),
    ("torch_bilstm", "inputs", (0, 1, 2), 2.5),
    ("tf1_peepholes", "rnn/lstm_cell/w_f_diag", (1,), 0.125),
]


@pytest.mark.parametrize(("name", "weight", "index", "value"), EDITS, ids=[e[0] for e in EDITS])
def test_an_edit_recomputes_every_number_as_python_does(
    clean: Pages, name: str, weight: str, index: tuple[int, ...], value: float
) -> None:
    path = CASES[name]
    page = clean.open(clean.write(traced(path), name))
    page.evaluate("([n, i, v]) => window.lstmTrace.edit(n, i, v)", [weight, list(index), value])
    want = traced(path, edited(path, weight, index, value))
    check_every_step(page, want, f"{name} with {weight}{list(index)} = {value}")
    check_returns(page, want)
    assert page.evaluate("window.lstmTrace.state().edits") == [{"name": weight, "index": list(index), "value": value}]


def test_a_weight_is_edited_in_place_and_bad_text_is_refused(clean: Pages) -> None:
    page = clean.open(clean.write(traced(CASES["seed_three_steps"]), "inplace"))
    weight = '#weights [data-w="kernel"][data-i="3"]'  # kernel[0, 3]: W_f[1,1]
    page.click(weight)
    box = page.locator("#weights input.edit")
    box.fill("two")
    box.press("Enter")
    assert "not a number" in page.inner_text("#status")
    assert box.get_attribute("aria-invalid") == "true"
    box.press("Escape")
    assert page.evaluate("window.lstmTrace.state().edits") == []
    page.focus(weight)
    page.keyboard.press("Enter")
    box.fill("0.5")
    box.press("Enter")
    assert page.evaluate("window.lstmTrace.state().edits") == [{"name": "kernel", "index": [0, 3], "value": 0.5}]
    assert page.get_attribute(weight, "data-v") == "0.5"
    assert "edited" in (page.get_attribute(weight, "class") or "")
    want = traced(CASES["seed_three_steps"], edited(CASES["seed_three_steps"], "kernel", (0, 3), 0.5))
    check_every_step(page, want, "edited in place")


def test_the_address_restores_step_unit_batch_run_and_edits(clean: Pages) -> None:
    tr = traced(CASES["torch_bilstm"])
    url = clean.write(tr, "address")
    page = clean.open(url)
    page.evaluate("window.lstmTrace.setRun(1, 2)")
    page.evaluate("window.lstmTrace.goTo(3)")
    page.evaluate("window.lstmTrace.setUnit(2)")
    page.evaluate("window.lstmTrace.edit('rnn.weight_hh_l0_reverse', [4, 1], -1.5)")
    state = page.evaluate("window.lstmTrace.state()")
    hash_ = page.evaluate("location.hash")
    assert re.fullmatch(r"#t=3&b=1&u=2&l=1&d=2&e=rnn\.weight_hh_l0_reverse\[4,1\]=-1\.5", hash_), hash_
    numbers = page.evaluate(READ)
    again = clean.open(url + hash_)
    assert again.evaluate("window.lstmTrace.state()") == state
    assert again.evaluate(READ) == numbers
    assert again.evaluate("location.hash") == hash_
    # a new address in the same page takes the edits back
    page.evaluate(
        """() => new Promise((done) => {
          addEventListener('hashchange', () => setTimeout(done, 0), { once: true });
          location.hash = '#t=3&u=2&l=1&d=2';
        })"""
    )
    assert page.evaluate("window.lstmTrace.state().edits") == []
    assert page.evaluate(READ) == clean.open(url + "#t=3&u=2&l=1&d=2").evaluate(READ) != numbers


def test_keys_change_the_step_and_move_within_a_table(clean: Pages) -> None:
    page = clean.open(clean.write(traced(CASES["seed_three_steps"]), "keys"))
    page.focus("#next")
    page.keyboard.press("ArrowRight")
    assert page.evaluate("window.lstmTrace.state().step") == 2
    page.keyboard.press("End")
    assert page.evaluate("window.lstmTrace.state().step") == 3
    page.keyboard.press("Home")
    assert page.evaluate("window.lstmTrace.state().step") == 1
    page.focus('#step [data-q="xW_i"][data-u="1"]')
    page.keyboard.press("ArrowRight")
    page.keyboard.press("ArrowDown")
    focused = page.evaluate("[document.activeElement.dataset.q, document.activeElement.dataset.u]")
    assert focused == ["hU_i", "2"]
    page.keyboard.press("PageDown")
    assert page.evaluate("window.lstmTrace.state().step") == 2
    assert page.evaluate("[document.activeElement.dataset.q, document.activeElement.dataset.u]") == ["hU_i", "2"]


@pytest.mark.parametrize("viewport", [(1280, 720), (390, 844)], ids=["laptop", "phone"])
def test_no_page_wide_horizontal_scroll(clean: Pages, viewport: tuple[int, int]) -> None:
    page = clean.open(clean.write(traced(SCENARIOS / "tf1_seed000.yaml"), "wide"), viewport)  # 30 features, 20 units
    assert page.evaluate("document.documentElement.scrollWidth") <= viewport[0]


def test_text_of_the_scenario_cannot_break_out_of_the_page(clean: Pages) -> None:
    data = mapping(SCENARIOS / "seed.yaml")
    data["title"] = "</script><script>window.broken = 1</script> & <b>"
    page = clean.open(clean.write(traced(SCENARIOS / "seed.yaml", data), "title"))
    assert page.evaluate("window.broken") is None
    assert page.inner_text("h1") == data["title"]
    assert page.title() == "lstm-trace · " + data["title"]


def test_where_editing_is_off_the_page_says_why_and_edits_nothing(clean: Pages) -> None:
    tr = traced(SCENARIOS / "seed.yaml")
    kept = dataclasses.replace(tr, scenario=dataclasses.replace(tr.scenario, data=None))  # its numbers not kept
    page = clean.open(clean.write(kept, "no_edit"))
    assert "Editing is off" in page.inner_text("#weights")
    assert page.locator("#main .n.ed").count() == 0
    page.click('#weights [data-w="kernel"][data-i="3"]')
    assert page.locator("input.edit").count() == 0 and "Editing is off" in page.inner_text("#status")
    error = page.evaluate(
        "() => { try { window.lstmTrace.edit('kernel', [0, 3], 0.5); } catch (e) { return e.message; } }"
    )
    assert error.startswith("editing is off")
    assert page.evaluate("window.lstmTrace.state().edits") == []


def test_a_long_run_page_stays_small(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    F, U, B, T = 8, 64, 4, 1000
    data = {
        "framework": "keras",
        "layer": "LSTM",
        "config": {"units": U},
        "weights": {
            "kernel": rng.normal(0, 0.3, (F, 4 * U)).tolist(),
            "recurrent_kernel": rng.normal(0, 0.1, (U, 4 * U)).tolist(),
            "bias": rng.normal(0, 0.1, 4 * U).tolist(),
        },
        "inputs": rng.normal(0, 1, (B, T, F)).tolist(),
    }
    html = render_page(lstm_trace.trace(lstm_trace.Scenario.from_dict(data)))
    assert len(html.encode()) < 2_000_000


def test_run_format_html_writes_the_page_and_terminal_html_the_terminal_look() -> None:
    page = run_cli("run", str(SCENARIOS / "seed.yaml"), "--format", "html")
    assert page.exit_code == 0
    assert 'id="lstm-trace-data"' in page.output and "LstmEngine" in page.output
    opens = run_cli(
        "run", str(SCENARIOS / "seed_three_steps.yaml"), "--format", "html", "--steps", "2-3", "--units", "3"
    )
    assert '"start":{"t":2,"b":1,"u":3}' in opens.output  # where the page opens when its address names no state
    terminal = run_cli("run", str(SCENARIOS / "seed.yaml"), "--format", "terminal-html")
    assert terminal.exit_code == 0
    assert "<!DOCTYPE html>" in terminal.output and "lstm-trace-data" not in terminal.output
    exact = run_cli("run", str(SCENARIOS / "seed_tenths.yaml"), "--format", "html", "--exact")
    assert exact.exit_code == 2 and "--exact" in exact.stderr


def test_a_trace_shows_itself_in_jupyter_as_the_page_in_an_iframe(clean: Pages) -> None:
    tr = traced(SCENARIOS / "seed.yaml")
    html = tr._repr_html_()
    assert html is not None and html.startswith("<iframe srcdoc=")
    assert "&lt;script" in html and "<script" not in html  # the page is inside the attribute, escaped
    assert lstm_trace.trace(lstm_trace.load(SCENARIOS / "seed_tenths.yaml", exact=True))._repr_html_() is None
    notebook = clean.folder / "notebook.html"
    notebook.write_text(f"<!doctype html><title>notebook</title><p>Out[1]:</p>{html}", encoding="utf-8")
    page = clean.browser.new_page()
    page.goto(notebook.as_uri())
    frame = page.frame_locator("iframe")
    frame.locator('#step [data-q="pre_f"][data-u="2"]').focus()  # the page works in its sandboxed frame
    assert (
        frame.locator('[role="tooltip"]').inner_text() == "z_f₁[2] = x₁·W_f[:,2] + h₀·U_f[:,2] + b_f[2] = 0 + 0 + 1 = 1"
    )
    page.close()


def test_light_and_dark_follow_the_system_and_the_button(clean: Pages) -> None:
    page = clean.open(clean.write(traced(SCENARIOS / "seed.yaml"), "scheme"))
    background = "getComputedStyle(document.documentElement).backgroundColor"

    def scheme_becomes(want: str) -> bool:  # the system's change reaches the page as an event
        for _ in range(40):
            if page.evaluate("document.documentElement.dataset.scheme") == want:
                return True
            page.wait_for_timeout(25)
        return False

    page.emulate_media(color_scheme="dark")
    assert scheme_becomes("dark")  # "system", and the system is dark
    dark = page.evaluate(background)
    page.emulate_media(color_scheme="light")
    assert scheme_becomes("light")
    assert page.evaluate(background) != dark
    page.click("#theme")  # system → light → dark
    page.click("#theme")
    assert (
        page.inner_text("#theme") == "☾ dark" and page.evaluate(background) == dark
    )  # the button wins over the system
