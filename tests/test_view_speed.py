"""What makes the views fast leaves them as they were: the measured fit picks what trying every count picked,
many numbers at once read as each read alone, lines laid out here read as rich lays them out, and a view of a
few steps builds only those steps. (How fast: benchmarks/view_speed.py; tests never time anything.)"""

from __future__ import annotations

import io
import re
from collections.abc import Iterator
from fractions import Fraction
from itertools import islice
from pathlib import Path

import numpy as np
import pytest
from rich.console import Console, ConsoleOptions, RenderResult
from rich.rule import Rule
from rich.text import Text

import lstm_trace
from conftest import FIXTURES, ROOT, read_fixture
from lstm_trace.render.fit import fit_units
from lstm_trace.render.grid import Grid
from lstm_trace.render.markdown import render_markdown
from lstm_trace.render.numbers import AUTO, Shortest, num, pick_units
from lstm_trace.render.numtext import nums
from lstm_trace.render.segments import fits, grid_texts, rule_line, styled_segments, wrapped
from lstm_trace.render.selection import Selection
from lstm_trace.render.terminal import BackStepPanel, StepPanel, TraceView, WeightsPanel, render_text
from lstm_trace.render.views import StepBuilder
from lstm_trace.trace import Run


def layer(
    kind: str, units: int, steps: int = 3, features: int = 4, seed: int = 0, batch: int = 1
) -> lstm_trace.Scenario:
    """A Keras layer whose units differ in width: some columns' weights are a hundred times the others'."""
    rng = np.random.default_rng(seed)
    gates = {"LSTM": 4, "GRU": 3, "SimpleRNN": 1}[kind]
    scale = np.where(rng.random(gates * units) < 0.2, 100.0, 0.5)
    data = {
        "framework": "keras",
        "layer": kind,
        "units": units,
        "kernel": (rng.uniform(-1, 1, (features, gates * units)) * scale).round(3).tolist(),
        "recurrent_kernel": rng.uniform(-0.2, 0.2, (units, gates * units)).round(3).tolist(),
        "bias": rng.uniform(-0.5, 0.5, (2, 3 * units) if kind == "GRU" else gates * units).round(2).tolist(),
        "inputs": rng.normal(size=(batch, steps, features)).round(2).tolist(),
    }
    return lstm_trace.Scenario.from_dict(data)


# ---- many numbers at once --------------------------------------------------------------------------------
AWKWARD = [0.0, -0.0, 1.0, -3.0, 1e-5, -1e-5, 5e-5, 1e-4, -1e-4, 9.999e-5, 0.5, 9999999.99, 1e7, -1e7, 1e15, 1e16,
           1e17, 123456789.5, float("nan"), float("inf"), float("-inf"), 2.5, 0.125, 1 / 3, -2 / 3, 0.00015, 0.99995,
           0.49995, 0.03125, 1e-300, 5e-324, 27084252.0]  # fmt: skip


@pytest.mark.parametrize("precision", [0, 1, 2, 4, 6, 9, 17])
@pytest.mark.parametrize("dtype", ["float64", "float32", "float16"])
def test_many_numbers_read_as_each_alone(precision: int, dtype: str) -> None:
    rng = np.random.default_rng(precision)
    spread = rng.normal(size=300) * 10.0 ** rng.integers(-7, 9, 300)
    for values in (np.array(AWKWARD), spread, np.round(spread, 2), spread[:7]):  # long arrays, and a short one
        with np.errstate(over="ignore"):
            data = values.astype(dtype)  # float16 holds no 1e7: inf
        assert nums(data, precision) == [num(v, precision) for v in data]


def test_many_numbers_beyond_floats_go_one_by_one() -> None:
    exact = np.array([Fraction(3, 10), Fraction(-4), Fraction(1, 3)], dtype=object)
    assert nums(exact, 4) == ["3/10", "-4", "1/3"]
    assert nums(np.array([0.1, 1 / 3], dtype=np.float32), Shortest("float32")) == ["0.1", "0.33333334"]
    assert nums(np.array([2, -7]), 4) == ["2", "-7"]
    assert nums(np.array([0.1]), AUTO) == ["0.1"]


# ---- the fit -----------------------------------------------------------------------------------------------
def trial_fit(run: Run, width: int, chosen: list[int] | None, sel: Selection) -> int:
    """How the terminal picked the units before: every count tried from the most down, each with its views built."""
    total = len(chosen) if chosen is not None else run.cell.units

    def views(limit: int) -> list:  # type: ignore[type-arg]
        builder = StepBuilder(run, pick_units(run.cell.units, limit, chosen), sel.precision)
        steps, batch = sel.step_list(run.steps)[:3], sel.batch_list(run.h.shape[1])[:1]
        return [builder.step(s, b) for s in steps for b in batch]

    for limit in range(total, min(3, total) - 1, -1):
        if all(Grid(v).width <= width for v in views(limit)):
            return limit
    blocks = range(len(run.cell.gates))
    for limit in range(total, 1, -1):
        if all(Grid(v, [k]).width <= width for v in views(limit) for k in blocks):
            return limit
    return 2


WIDTHS = range(12, 250, 7)


@pytest.mark.parametrize(
    ("kind", "units"), [("LSTM", 1), ("LSTM", 2), ("GRU", 3), ("SimpleRNN", 4), ("LSTM", 9), ("GRU", 17), ("LSTM", 40)]
)
def test_measured_fit_picks_what_trying_every_count_picked(kind: str, units: int) -> None:
    tr = lstm_trace.trace(layer(kind, units, seed=units))
    run, sel = tr.first, Selection()
    view = TraceView(tr, sel)
    picks = [(width, view._fit(run, width, None), trial_fit(run, width, None, sel)) for width in WIDTHS]
    assert [new for _, new, _ in picks] == [old for _, _, old in picks], picks
    if units >= 9:  # the range of widths covers side by side, stacked, and the fewest
        assert {new for _, new, _ in picks} >= {2, min(units, 3)}


@pytest.mark.parametrize(
    "sel",
    [Selection(units=(0, 2, 3, 5, 6, 7, 8, 9, 10, 11, 12, 20)), Selection(precision=2), Selection(precision=8),
     Selection(precision=AUTO), Selection(steps=(4, 1)), Selection(batch=(1,))],
    ids=["units", "precision-2", "precision-8", "precision-auto", "steps", "batch"],
)  # fmt: skip
def test_measured_fit_follows_the_selection(sel: Selection) -> None:
    tr = lstm_trace.trace(layer("LSTM", 24, steps=6, seed=5, batch=2))
    run, chosen = tr.first, list(sel.units) if sel.units is not None else None
    view = TraceView(tr, sel)
    assert [view._fit(run, w, chosen) for w in WIDTHS] == [trial_fit(run, w, chosen, sel) for w in WIDTHS]


def test_measured_fit_with_masked_steps() -> None:
    data, _ = read_fixture(FIXTURES / "keras" / "lstm_mask.yaml")
    tr = lstm_trace.trace(lstm_trace.Scenario.from_dict(data))
    run = tr.first
    assert run.active is not None and not run.active.all()  # some steps show no table
    for batch in range(run.h.shape[1]):
        sel = Selection(batch=(batch,))
        assert [TraceView(tr, sel)._fit(run, w, None) for w in WIDTHS] == [trial_fit(run, w, None, sel) for w in WIDTHS]


def test_a_256_unit_layer_prints_as_before() -> None:
    tr = lstm_trace.trace(layer_256())
    text = render_text(tr, width=100)
    # The golden file was written by the trial-build fit (which took seconds) and read by hand: at step 1,
    # unit 1 of i sums x₁·W = 1.96·0.216 + 0.39·0.205 + 0.55·0.472 + (-0.37)·(-0.018) = 0.7696, + b -0.15 = 0.6196,
    # σ(0.6196) = 0.6501; g = tanh(-0.8326 + 0.49) = tanh(-0.3426) = -0.3298, so c₁[1] = 0.6501·(-0.3298) = -0.2144;
    # o = σ(1.0194 - 0.36) = 0.6591 and h₁[1] = 0.6591·tanh(-0.2144) = 0.6591·(-0.2112) = -0.1392.
    assert text == (ROOT / "tests" / "golden" / "wide_256_terminal.txt").read_text(encoding="utf-8")
    run = tr.first
    shown = pick_units(256, 10)  # five units each side of the elision, the blocks stacked, at 100 columns
    assert "units shown: 1, 2, 3, 4, 5, …, 252, 253, 254, 255, 256" in text
    h = " ".join("…" if k is None else num(run.h[3, 0, k]) for k in shown)
    assert f"h₃ = o ⊙ tanh(c₃) = [{h}]" in text


def layer_256() -> lstm_trace.Scenario:
    rng = np.random.default_rng(256)
    data = {
        "framework": "keras",
        "layer": "LSTM",
        "units": 256,
        "kernel": rng.uniform(-0.5, 0.5, (4, 1024)).round(3).tolist(),
        "recurrent_kernel": rng.uniform(-0.2, 0.2, (256, 1024)).round(3).tolist(),
        "bias": rng.uniform(-0.5, 0.5, 1024).round(2).tolist(),
        "inputs": rng.normal(size=(1, 3, 4)).round(2).tolist(),
    }
    return lstm_trace.Scenario.from_dict(data)


def test_fit_builds_views_as_wide_as_the_terminal_not_the_layer() -> None:
    run = lstm_trace.trace(layer("LSTM", 300, steps=2)).first
    built: list[int] = []
    original = StepBuilder.__init__

    def counting(self: StepBuilder, run: Run, units: list[int | None], *args: object, **kwargs: object) -> None:
        built.append(len(units))
        original(self, run, units, *args, **kwargs)  # type: ignore[arg-type]

    StepBuilder.__init__ = counting  # type: ignore[method-assign]
    try:
        fit_units(run, 80, None, 4, [(0, 0), (1, 0)])
    finally:
        StepBuilder.__init__ = original  # type: ignore[method-assign]
    assert built == [len(pick_units(300, 80 // 3 + 2))]  # one build, of 28 units and the …, not 300


# ---- lines laid out here as rich lays them out -------------------------------------------------------------
class AsRich:
    """A panel's lines handed to rich one by one, as the panels did before they laid lines out themselves."""

    def __init__(self, panel: StepPanel | WeightsPanel | BackStepPanel) -> None:
        self.panel = panel

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        for line in self.panel.lines(options.max_width):  # with styles: Text, Rule, str
            yield Text(line) if isinstance(line, str) else line


class AsciiFile(io.StringIO):
    """A stream that can only write ASCII: rich draws its rules with '-' there."""

    @property
    def encoding(self) -> str:  # type: ignore[override]
        return "ascii"


def printed(renderables: list, width: int, colour: bool, ascii_only: bool = False) -> tuple[str, str]:  # type: ignore[type-arg]
    """What a console writes, and (in colour) what it records as HTML."""
    file = AsciiFile() if ascii_only else io.StringIO()
    console = Console(file=file, width=width, record=colour, highlight=False, soft_wrap=False,
                      color_system="truecolor" if colour else None, force_terminal=colour)  # fmt: skip
    for part in renderables:
        console.print(part, crop=False)
    return file.getvalue(), console.export_html(inline_styles=True) if colour else ""


def panels(tr: lstm_trace.Trace, sel: Selection, width: int) -> Iterator[StepPanel | WeightsPanel | BackStepPanel]:
    for part in TraceView(tr, sel).parts(width):
        if isinstance(part, StepPanel | WeightsPanel | BackStepPanel):
            yield part


CASES = [
    (ROOT / "scenarios" / "seed.yaml", Selection(explain=True)),
    (ROOT / "scenarios" / "seed_backward.yaml", Selection()),
    (ROOT / "scenarios" / "gru.yaml", Selection(full=True)),
    (ROOT / "scenarios" / "tf1_peepholes.yaml", Selection()),
    (ROOT / "scenarios" / "torch_bilstm.yaml", Selection(precision=AUTO)),
    (FIXTURES / "keras" / "lstm_mask.yaml", Selection(batch=(0, 1))),
]


@pytest.mark.parametrize("width", [24, 41, 60, 100, 200])
@pytest.mark.parametrize(("path", "sel"), CASES, ids=[path.stem for path, _ in CASES])
def test_panels_print_as_rich_prints_their_lines(path: Path, sel: Selection, width: int) -> None:
    scenario = lstm_trace.load(path) if path.parent.name == "scenarios" else None
    if scenario is None:
        data, _ = read_fixture(path)
        scenario = lstm_trace.Scenario.from_dict(data)
    tr = lstm_trace.trace(scenario)
    shown = list(panels(tr, sel, width))
    assert any(isinstance(p, StepPanel) for p in shown)
    for colour in (False, True):
        assert printed(shown, width, colour) == printed([AsRich(p) for p in shown], width, colour)


def test_a_wide_layer_prints_as_rich_prints_it_in_colour_and_ascii() -> None:
    tr = lstm_trace.trace(layer("LSTM", 30, steps=3))
    for width, sel in ((60, Selection()), (90, Selection(full=True)), (140, Selection(units=(0, 1, 2)))):
        shown = list(panels(tr, sel, width))
        for colour in (False, True):
            assert printed(shown, width, colour) == printed([AsRich(p) for p in shown], width, colour)
        assert printed(shown, width, False, ascii_only=True) == printed([AsRich(p) for p in shown], width, False,
                                                                         ascii_only=True)  # fmt: skip


def test_word_wrap_as_rich_wraps() -> None:
    console = Console(file=io.StringIO(), width=80)
    rng = np.random.default_rng(1)
    words = ["h₁", "=", "[0.1234", "-0.5", "…", "1]", "x", "", "   ", "unit", "12345678901234", "⊙"]
    for _ in range(400):
        text = "".join(rng.choice(words) + " " * int(rng.integers(0, 3)) for _ in range(int(rng.integers(0, 30))))
        for width in (3, 9, 15, 40):
            ours = wrapped(text, width)
            rich = "\n".join(line.plain for line in Text(text).wrap(console, width))
            if ours is not None:
                assert ours == rich, (text, width)
            else:  # left to rich: only where a word (with the spaces before it) is wider than a line
                assert any(len(word.rstrip()) > width for word in re.findall(r"\s*\S+\s*", text))
    vectors = [f"h₃ = [{' '.join(f'{v:.4f}' for v in rng.normal(size=k))}]" for k in range(1, 30)]
    for text in vectors:  # words one space apart, as the given vectors are
        for width in range(8, 100, 3):
            ours = wrapped(text, width)
            if ours is None:  # left to rich: a word wider than a line
                assert max(len(word) for word in text.split()) > width
            else:
                assert ours == "\n".join(line.plain for line in Text(text).wrap(console, width))
    assert wrapped("wide 字 characters", 40) is None and wrapped("a\tb", 40) is None


def test_a_line_that_fits_is_printed_by_rich_as_it_is() -> None:
    """`fits` says a line needs no layout: rich must print it unchanged. Non-breaking and soft hyphens, controls,
    wide and combining characters are where a shortcut could be wrong."""
    samples = ["h₁ = [0.1 -0.2]", "a\u00a0b", "soft\u00adhyphen", "tab\tin", "bell\x07", "wide 字", "e\u0301",
               "ᵀ‖≤ ⊙ −→", "", " trailing ", "é" * 12]  # fmt: skip
    for text in samples:
        for width in (5, 12, 40):
            console = Console(file=io.StringIO(), width=width, color_system=None)
            console.print(Text(text), crop=False)
            if fits(text, width):
                assert console.file.getvalue() == text + "\n", (text, width)  # type: ignore[attr-defined]
    assert fits("h₁ = [0.1 -0.2]", 40) and not fits("wide 字", 6) and not fits("a\u00a0b", 40)


def test_styled_tables_are_the_segments_rich_makes_of_their_texts() -> None:
    """styled_segments is rich's Text.render on strings and offsets: every segment and style the same, with
    gate marks (some at a row's end, cut there by rstrip) and every row style."""
    tr = lstm_trace.trace(layer("LSTM", 12))
    builder = StepBuilder(tr.first, pick_units(12, 6))
    console = Console(file=io.StringIO(), width=200, color_system="truecolor", force_terminal=True)
    marks = 0
    for view in (builder.step(0, 0), builder.step(2, 0), builder.weights()):
        for picks in (None, [0], [3]):
            grid = Grid(view, picks)
            rich = [seg for line in grid.lines() for seg in Text("\n").join([line]).render(console, end="\n")]
            assert styled_segments(grid.styled(), console) == rich
            marks += sum(style in ("dim", "bold bright_white") for _, _, spans in grid.styled() for *_, style in spans)
    assert marks > 10


def test_rule_line_as_rich_draws_it() -> None:
    for width in (10, 30, 80):
        for title in ("step t=1 · reads x₁", "x" * 8, "x" * 28):
            rule = Rule(Text(title, style="bold"), align="left", style="dim")
            console = Console(file=io.StringIO(), width=width, color_system=None)
            console.print(rule)
            line = rule_line(Rule(Text(title, style="bold"), align="left", style="dim"), console.options)
            if line is not None:
                assert line + "\n" == console.file.getvalue()  # type: ignore[attr-defined]
            else:
                assert len(title) > width - 2  # cut short with an ellipsis: left to rich


def test_table_lines_without_styles_are_the_table() -> None:
    tr = lstm_trace.trace(layer("GRU", 12))
    builder = StepBuilder(tr.first, pick_units(12, 6))
    for view in (builder.step(0, 0), builder.step(2, 0), builder.weights()):
        for picks in (None, [0], [2]):
            grid = Grid(view, picks)
            assert list(grid_texts(grid) or ()) == [line.plain for line in grid.lines()]


# ---- a few steps build a few views -------------------------------------------------------------------------
def counting_steps(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """The steps whose view or table is built from now on."""
    steps: list[int] = []
    step, table = StepBuilder.step, StepBuilder.table

    def counted_step(self: StepBuilder, s: int, b: int, batch_label: bool = False):  # type: ignore[no-untyped-def]
        steps.append(s)
        return step(self, s, b, batch_label)

    def counted_table(self: StepBuilder, s: int, b: int):  # type: ignore[no-untyped-def]
        steps.append(s)
        return table(self, s, b)

    monkeypatch.setattr(StepBuilder, "step", counted_step)
    monkeypatch.setattr(StepBuilder, "table", counted_table)
    return steps


def test_a_few_steps_build_a_few_views(monkeypatch: pytest.MonkeyPatch) -> None:
    tr = lstm_trace.trace(layer("LSTM", 8, steps=500))
    steps = counting_steps(monkeypatch)
    render_text(tr, Selection(steps=(0, 7)), width=100)
    assert sorted(set(steps)) == [0, 7]  # the fit measures the steps shown, and only those are built
    steps.clear()
    parts = TraceView(tr, Selection(steps=tuple(range(500)))).parts(100)
    list(islice((p for p in parts if isinstance(p, StepPanel)), 5))
    assert max(steps) < 5 and len(steps) <= 5 + 3  # five steps shown, three measured by the fit: not 500
    steps.clear()
    lines = render_markdown(tr, Selection())
    list(islice((line for line in lines if line.startswith("### step")), 4))
    assert sorted(set(steps)) == [0, 1, 2, 3]  # Markdown too, step by step as it is read
