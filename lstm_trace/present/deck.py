"""What the presenter shows at each place in a trace, as rich renderables (no Textual here).

A `Place` says where the audience is: which run (layer and direction), which
pass (forward, or backward where the scenario has a backward block), step,
batch row, the unit followed if any, and whether the cell's picture is up. The
`Deck` turns a place into a header and a body. The body reuses what a step
shows everywhere else: the `StepBuilder`'s view (going back, the
`BackStepBuilder`'s), laid out by the terminal renderer's tables, sized to the
width the screen gives it, with the state update's results set off; one unit's
equations come from the `Explainer` (going back, the `BackExplainer`). The
backward pass's slides are in `backslides`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import TypeVar

from rich.console import Console, ConsoleOptions, Group, RenderableType, RenderResult
from rich.progress_bar import ProgressBar
from rich.table import Table
from rich.text import Text

from ..backward import BackRun
from ..errors import printable
from ..render.backward import BackStepBuilder, BackStepView, loss_line
from ..render.explain import Explainer
from ..render.grid import Grid
from ..render.numbers import pick_units
from ..render.selection import Selection
from ..render.terminal import TraceView, equation_lines, tables
from ..render.views import StepBuilder, StepView
from ..trace import Run, Trace
from .backslides import BackStepSlide, BackUnitSlide, back_state
from .drawing import CellDrawing
from .text import RESULT, fold, given, styled

__all__ = ["Deck", "Place", "fold"]

B = TypeVar("B", StepBuilder, BackStepBuilder)


@dataclass(frozen=True)
class Place:
    """Where the presentation is; 0-based like the record, shown from 1."""

    run: int = 0  # index into Trace.all_runs()
    step: int = 0  # the record's step s (t = s + 1), whichever way the pass goes
    row: int = 0  # index into the batch rows shown
    unit: int | None = None  # the unit followed, or None for the whole step
    diagram: bool = False
    mode: str = "forward"  # the pass shown: forward, or backward (the δ's, last step first)

    @property
    def backward(self) -> bool:
        return self.mode == "backward"


class Deck:
    """A trace's places, and the header and body to show at each."""

    def __init__(self, trace: Trace, selection: Selection | None = None) -> None:
        self.trace = trace
        self.sel = selection or Selection()
        self.runs = trace.all_runs()
        self.rows = self.sel.batch_list(trace.first.h.shape[1])
        grads = trace.gradients
        self.backs: list[BackRun] = [] if grads is None else [back for layer in grads.runs for back in layer]
        assert all(back.run is run for back, run in zip(self.backs, self.runs, strict=False))
        self._builders: dict[tuple[int, int], StepBuilder] = {}
        self._back_builders: dict[tuple[int, int], BackStepBuilder] = {}

    def steps(self, place: Place) -> int:
        return self.runs[place.run].steps

    def units(self, place: Place) -> list[int]:
        """The units `u` steps through: those chosen with --units, else all."""
        run = self.runs[place.run]
        return list(self.sel.units) if self.sel.units is not None else list(range(run.cell.units))

    def shown_unit(self, place: Place) -> int:
        """The unit the picture shows: the one followed, else the first."""
        return place.unit if place.unit is not None else self.units(place)[0]

    def back(self, place: Place) -> BackRun:
        """The backward record of the place's run."""
        return self.backs[place.run]

    def _fit(self, index: int, width: int, make: Callable[[list[int | None]], B],
             widths: Callable[[B], Iterable[int]]) -> B | None:  # fmt: skip
        """The builder with the most units whose tables (`widths`) fit `width`, elided in the middle; None when
        not even one unit fits."""
        run = self.runs[index]
        chosen = list(self.sel.units) if self.sel.units is not None else None
        # a unit takes at least three columns in each block ("0" and two spaces): no more can fit than this
        most = min(len(chosen or range(run.cell.units)), width // (3 * len(run.cell.gates)) + 1)
        for limit in range(most, 0, -1):
            builder = make(pick_units(run.cell.units, limit, chosen))
            if all(w <= width for w in widths(builder)):
                return builder
        return None

    def builder(self, index: int, width: int) -> StepBuilder:
        """The builder for a run at this width: as many units as fit with the gate blocks side by side (one
        screen, no scrolling), elided in the middle; when not even one does, the terminal trace's (stacked)."""
        key = (index, width)
        if key not in self._builders:
            run = self.runs[index]
            below = self.trace.runs[run.layer - 2] if run.layer > 1 else ()
            steps = range(min(run.steps, 3))
            builder = self._fit(
                index, width, lambda units: StepBuilder(run, units, self.sel.precision, below=below),
                lambda b: (Grid(b.step(s, row)).width for s in steps for row in self.rows[:1]),
            )  # fmt: skip
            self._builders[key] = builder or TraceView(self.trace, self.sel)._builder(run, width, False, below)
        return self._builders[key]

    def back_builder(self, index: int, width: int) -> BackStepBuilder:
        """The backward pass's builder at this width, fitted as `builder` is, to the δ table and what a step adds,
        on the steps it opens with (the last); when not even one unit fits, the forward slide's units (stacked)."""
        key = (index, width)
        if key not in self._back_builders:
            back, last = self.backs[index], self.runs[index].steps - 1
            make = lambda units: BackStepBuilder(back, units, self.sel.precision)  # noqa: E731

            def widths(builder: BackStepBuilder) -> Iterable[int]:
                for s in range(last, max(last - 3, -1), -1):
                    view = builder.back_step(s, self.rows[0])
                    yield from (Grid(v).width for v in (view.delta, view.adds) if v is not None)

            fitted = self._fit(index, width, make, widths)
            self._back_builders[key] = fitted or make(list(self.builder(index, width).units))
        return self._back_builders[key]

    def view(self, place: Place, units: list[int | None]) -> StepView:
        run = self.runs[place.run]
        return StepBuilder(run, units, self.sel.precision).step(place.step, self.rows[place.row])

    def back_view(self, place: Place, units: list[int | None]) -> BackStepView:
        return BackStepBuilder(self.back(place), units, self.sel.precision).back_step(place.step, self.rows[place.row])

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
        lines: list[RenderableType] = [title, Text(" · ".join(where), overflow="ellipsis", no_wrap=True)]
        if place.backward:  # the backward pass goes from t = T down to 1: the bar fills as it goes
            heading, done = self.back_view(place, [0]).delta.heading, steps - place.step
            p = self.sel.precision
            lines.append(OneOf((loss_line(self.trace, p), loss_line(self.trace, p, most=0))))
        else:
            heading, done = self.view(place, [0]).heading, t
        heading = heading.replace(f"step t={t}", f"step t={t} of {steps}", 1)
        progress = Table.grid(expand=True)
        progress.add_column(ratio=1)
        progress.add_column(width=22, justify="right")
        bar = ProgressBar(total=steps, completed=done, width=20, complete_style="cyan", finished_style="cyan")
        progress.add_row(Text(heading, style="bold", overflow="ellipsis", no_wrap=True), bar)
        return Group(*lines, progress)

    # ---- the body -----------------------------------------------------------------------------
    def body(self, place: Place) -> RenderableType:
        if place.diagram:
            return DiagramSlide(self, place)
        if place.unit is not None:
            return BackUnitSlide(self, place) if place.backward else UnitSlide(self, place)
        return BackStepSlide(self, place) if place.backward else StepSlide(self, place)


@dataclass(frozen=True)
class OneOf:
    """The first of `texts` that fits the width on one line, else the last, cut: L with its numbers, or L."""

    texts: tuple[str, ...]

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        text = next((text for text in self.texts if len(text) <= options.max_width), self.texts[-1])
        yield Text(text, overflow="ellipsis", no_wrap=True)


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
    """The cell drawn for the unit followed (or the first) with this step's numbers, and its state's equations;
    going back, with the step's δ's and the equations of δh and δc."""

    deck: Deck
    place: Place

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        place, deck, unit, p = self.place, self.deck, self.deck.shown_unit(self.place), self.deck.sel.precision
        run, row = deck.runs[place.run], deck.rows[place.row]
        skipped = deck.back_view(place, [unit]).delta.skipped if place.backward else deck.view(place, [unit]).skipped
        if skipped:
            yield Text(skipped, style="italic")
            return
        back = deck.back(place) if place.backward else None
        yield Text("")
        yield CellDrawing(run, place.step, row, unit, p, back=back)
        yield Text("")
        state = back_state(back, place.step, row, unit, p) if back else explained(run, place, row, unit, p)[1]
        for equation in state:
            yield from styled(equation, options.max_width, state=True)
