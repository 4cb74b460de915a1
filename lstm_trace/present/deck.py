"""What the presenter shows at each place in a trace, as rich renderables (no Textual here).

A `Place` says where the audience is: which run (layer and direction), step,
batch row, the unit followed if any, and whether the cell's picture is up. The
`Deck` turns a place into a header and a body. The body reuses what a step
shows everywhere else: the `StepBuilder`'s view, laid out by the terminal
renderer's tables, sized to the width the screen gives it, with the state
update's results set off; one unit's equations come from the `Explainer`.
"""

from __future__ import annotations

from dataclasses import dataclass

from rich.console import Console, ConsoleOptions, Group, RenderableType, RenderResult
from rich.progress_bar import ProgressBar
from rich.table import Table
from rich.text import Text

from ..errors import printable
from ..render.explain import Explainer
from ..render.grid import HUES, Grid
from ..render.numbers import pick_units
from ..render.selection import Selection
from ..render.terminal import TraceView, equation_lines, tables
from ..render.views import StepBuilder, StepView
from ..trace import Run, Trace
from .drawing import CellDrawing

RESULT = "bold reverse"  # c_t and h_t: what the step was for


@dataclass(frozen=True)
class Place:
    """Where the presentation is; 0-based like the record, shown from 1."""

    run: int = 0  # index into Trace.all_runs()
    step: int = 0
    row: int = 0  # index into the batch rows shown
    unit: int | None = None  # the unit followed, or None for the whole step
    diagram: bool = False
    mode: str = "forward"  # the pass shown; a backward pass (gradients) is the mode to come


def fold(equation: str, width: int) -> list[str]:
    """`a = b = c = d` on one line when it fits; else the symbols on the first line and the numbers on the next
    ones, broken at equals signs and aligned under the first."""
    if len(equation) <= width:
        return [equation]
    lhs, *parts = equation.split(" = ")
    pad = " " * len(lhs)
    lines, line = [f"{lhs} = {parts[0]}"], ""
    for part in parts[1:]:
        if line and len(line) + 3 + len(part) > width:
            lines.append(line)
            line = ""
        line += f"{pad if not line else ''} = {part}"
    return [*lines, line] if line else lines


class Deck:
    """A trace's places, and the header and body to show at each."""

    def __init__(self, trace: Trace, selection: Selection | None = None) -> None:
        self.trace = trace
        self.sel = selection or Selection()
        self.runs = trace.all_runs()
        self.rows = self.sel.batch_list(trace.first.h.shape[1])
        self._builders: dict[tuple[int, int], StepBuilder] = {}

    def steps(self, place: Place) -> int:
        return self.runs[place.run].steps

    def units(self, place: Place) -> list[int]:
        """The units `u` steps through: those chosen with --units, else all."""
        run = self.runs[place.run]
        return list(self.sel.units) if self.sel.units is not None else list(range(run.cell.units))

    def shown_unit(self, place: Place) -> int:
        """The unit the picture shows: the one followed, else the first."""
        return place.unit if place.unit is not None else self.units(place)[0]

    def builder(self, index: int, width: int) -> StepBuilder:
        """The builder for a run at this width: as many units as fit with the gate blocks side by side (one
        screen, no scrolling), elided in the middle; when not even one does, the terminal trace's (stacked)."""
        key = (index, width)
        if key not in self._builders:
            run = self.runs[index]
            below = self.trace.runs[run.layer - 2] if run.layer > 1 else ()
            chosen = list(self.sel.units) if self.sel.units is not None else None
            steps = range(min(run.steps, 3))
            # a unit takes at least three columns in each block ("0" and two spaces): no more can fit than this
            most = min(len(chosen or range(run.cell.units)), width // (3 * len(run.cell.gates)) + 1)
            for limit in range(most, 0, -1):
                units = pick_units(run.cell.units, limit, chosen)
                builder = StepBuilder(run, units, self.sel.precision, below=below)
                if all(Grid(builder.step(s, row)).width <= width for s in steps for row in self.rows[:1]):
                    break
            else:
                builder = TraceView(self.trace, self.sel)._builder(run, width, False, below)
            self._builders[key] = builder
        return self._builders[key]

    def view(self, place: Place, units: list[int | None]) -> StepView:
        run = self.runs[place.run]
        return StepBuilder(run, units, self.sel.precision).step(place.step, self.rows[place.row])

    # ---- the header ---------------------------------------------------------------------------
    def header(self, place: Place) -> RenderableType:
        sc, run = self.trace.scenario, self.runs[place.run]
        t, steps = place.step + 1, run.steps
        title = Text("lstm-trace · ", style="bold")
        title.append(printable(sc.title or sc.header), style="bold cyan")
        where = [f"{sc.framework} {sc.layer}({run.cell.units})", f"layer {run.layer} {run.direction}"]
        where.append(f"{place.mode} pass")
        if (batch := run.h.shape[1]) > 1:
            where.append(f"batch row {self.rows[place.row] + 1} of {batch}")
        if place.unit is not None:
            where.append(f"unit {place.unit + 1} of {run.cell.units}")
        if place.diagram:
            where.append("diagram" if place.unit is not None else f"diagram of unit {self.shown_unit(place) + 1}")
        heading = self.view(place, [0]).heading.replace(f"step t={t}", f"step t={t} of {steps}", 1)
        progress = Table.grid(expand=True)
        progress.add_column(ratio=1)
        progress.add_column(width=22, justify="right")
        bar = ProgressBar(total=steps, completed=t, width=20, complete_style="cyan", finished_style="cyan")
        progress.add_row(Text(heading, style="bold", overflow="ellipsis", no_wrap=True), bar)
        return Group(title, Text(" · ".join(where), overflow="ellipsis", no_wrap=True), progress)

    # ---- the body -----------------------------------------------------------------------------
    def body(self, place: Place) -> RenderableType:
        if place.diagram:
            return DiagramSlide(self, place)
        if place.unit is not None:
            return UnitSlide(self, place)
        return StepSlide(self, place)


def given(view: StepView, width: int) -> list[Text]:
    """The step's inputs on one line when they fit, else one a line."""
    line = "      ".join(f"{name} = {value}" for name, value in view.given)
    return [Text(line)] if len(line) <= width else [Text(f"{name} = {value}") for name, value in view.given]


@dataclass(frozen=True)
class StepSlide:
    """One step whole: its inputs, its table (the units that fit) and the state update, results set off."""

    deck: Deck
    place: Place

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        width = options.max_width
        builder = self.deck.builder(self.place.run, width)
        view = builder.step(self.place.step, self.deck.rows[self.place.row])
        yield from given(view, width)
        if view.skipped:
            yield Text(view.skipped, style="italic")
            return
        if None in view.units:
            shown = ", ".join("…" if k is None else str(k + 1) for k in view.units)
            yield Text(f"units shown: {shown}  (u follows one)", style="dim")
        yield Text("")
        yield from tables(view, False, width)
        for note in view.notes:
            yield Text(note, style="dim")
        yield Text("")
        for eq in view.equations:
            first, *rest = equation_lines(eq, width, view.units)
            line = Text(first)
            line.stylize("bold", 0, len(eq.lhs))
            line.stylize(RESULT, len(first) - len(eq.result))
            yield line
            yield from (Text(more) for more in rest)


def explained(run: Run, place: Place, row: int, unit: int, precision: int) -> tuple[list[str], list[str]]:
    """The `Explainer`'s equations of one unit at one step: the gates', then the state's (c and h, or h)."""
    equations = Explainer(run, place.step, row, precision).step(unit)
    gates = len(run.cell.gates) if run.cell.kind != "rnn" else 0
    return equations[:gates], equations[gates:]


def styled(equation: str, width: int, state: bool) -> list[Text]:
    """An equation folded to the width: its left side in its gate's hue, its value bold, a state's set off."""
    lines = fold(equation, width)
    out = []
    for k, line in enumerate(lines):
        text = Text(line)
        if k == 0:
            lhs = line.split(" = ")[0]
            text.stylize("bold" if state else f"bold {HUES.get(lhs[0], '')}", 0, len(lhs))
        if k == len(lines) - 1:
            value = line.rsplit(" = ", 1)[-1]
            text.stylize(RESULT if state else "bold", len(line) - len(value))
        out.append(text)
    return out


@dataclass(frozen=True)
class UnitSlide:
    """One unit of one step: every equation in symbols, with its numbers, and the result."""

    deck: Deck
    place: Place

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        width, place, deck, unit = options.max_width, self.place, self.deck, self.place.unit
        assert unit is not None
        run = deck.runs[place.run]
        view = deck.view(place, [unit])
        yield from given(view, width)
        yield Text("")
        if view.skipped:
            yield Text(view.skipped, style="italic")
            return
        gates, state = explained(run, place, deck.rows[place.row], unit, deck.sel.precision)
        for equation in gates:
            yield from styled(equation, width, state=False)
        for equation in state:
            yield from styled(equation, width, state=True)
        yield Text("")
        yield Text(f"u: next unit · 1–{min(9, run.cell.units)}: pick one · d: its diagram", style="dim")


@dataclass(frozen=True)
class DiagramSlide:
    """The cell drawn for the unit followed (or the first) with this step's numbers, and its state's equations."""

    deck: Deck
    place: Place

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        place, deck, unit = self.place, self.deck, self.deck.shown_unit(self.place)
        run, row = deck.runs[place.run], deck.rows[place.row]
        view = deck.view(place, [unit])
        if view.skipped:
            yield Text(view.skipped, style="italic")
            return
        yield Text("")
        yield CellDrawing(run, place.step, row, unit, deck.sel.precision)
        yield Text("")
        for equation in explained(run, place, row, unit, deck.sel.precision)[1]:
            yield from styled(equation, options.max_width, state=True)
