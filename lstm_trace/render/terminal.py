"""The trace as a student reads it on a terminal or a projector (rich renderables).

Renderables only describe; the CLI owns the Console. Tables are sized to the
width rich offers: a wide layer's units are elided in the middle of each gate
block with a visible `…`, and when even that does not fit, the blocks are
stacked one under another, so no table is ever squeezed into garbage.
"""

from __future__ import annotations

import io
from collections.abc import Iterable, Iterator, Sequence
from itertools import islice
from typing import TYPE_CHECKING, Any

from rich.console import Console, ConsoleOptions, Group, RenderResult
from rich.rule import Rule
from rich.text import Text

from ..trace import Run, Trace
from .fit import fit_units
from .grid import Grid
from .merges import merge_lines
from .numbers import array_text, pick_units
from .segments import Line, StyledLines, Unwrapped, grid_texts, laid_out, shows_styles
from .selection import Selection
from .summary import StepsSummary
from .views import Equation, StepBuilder, StepView

if TYPE_CHECKING:
    from .backward import BackStepView


def equation_lines(eq: Equation, width: int, units: Sequence[int | None]) -> list[str]:
    """An update inline when it fits, else one line per unit."""
    head = f"{eq.lhs} = {eq.formula}"
    if not eq.terms:
        return [f"{head} = {eq.result}"]
    inline = f"{head} = [{', '.join(eq.terms)}] = {eq.result}"
    if len(inline) <= width and not eq.clipped:
        return [inline]
    lines = [f"{head} = {eq.result}"]
    for unit, term, value in zip(units, eq.terms, eq.values, strict=True):
        lines.append("   …" if unit is None else f"   unit {unit + 1}: {term} = {value}")
    return lines


def grids(view: StepView, full: bool, width: int) -> Iterator[Grid]:
    """The view's table side by side when it fits or --full asks, else one block under another."""
    whole = Grid(view)
    if whole.width <= width or full:
        yield whole
        return
    for k in range(len(view.columns)):
        yield _one_block(whole, k)


def tables(view: StepView, full: bool, width: int) -> Iterator[Text]:
    """The view's tables, line by line."""
    for grid in grids(view, full, width):
        yield from grid.lines()


def _tables(view: StepView, full: bool, width: int, plain: bool) -> Iterator[Text | Unwrapped | StyledLines]:
    """The view's tables; `plain`: each as lines without styles, where the console shows none."""
    for grid in grids(view, full, width):
        if not plain:
            yield StyledLines(grid)
        elif (texts := grid_texts(grid)) is not None:
            yield texts
        else:
            yield from grid.lines()


def _one_block(whole: Grid, k: int) -> Grid:
    """Grid(view, [k]) from the widths `whole` measured already: each block's widths are its own."""
    grid = Grid.__new__(Grid)
    grid.__dict__.update(whole.__dict__, picks=[k])
    return grid


def explained(view: StepView) -> Iterator[Line]:
    """--explain's lines after a step (every equation with its numbers), and the blank line that ends a step."""
    if view.explained:
        yield ""
        yield Text("every equation, with its numbers:", style="bold")
        yield from view.explained
    yield ""


class WeightsPanel:
    """The weights of one layer and direction, as they enter x·W and h·U."""

    def __init__(self, view: StepView, full: bool) -> None:
        self.view, self.full = view, full

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        yield from laid_out(console, options, self.lines(options.max_width, not shows_styles(console)))

    def lines(self, width: int, plain: bool = False) -> Iterator[Line]:
        """What the panel shows, line by line (a str being a line without style)."""
        yield Rule(Text(self.view.heading, style="bold"), align="left", style="dim")
        yield from _tables(self.view, self.full, width, plain)
        for note in self.view.notes:
            yield Text(note, style="dim")
        yield ""


class StepPanel:
    """One step of one batch row: inputs, the table, the state update."""

    def __init__(self, view: StepView, full: bool = False) -> None:
        self.view = view
        self.unit_labels = view.units
        self.full = full

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        yield from laid_out(console, options, self.lines(options.max_width, not shows_styles(console)))

    def lines(self, width: int, plain: bool = False) -> Iterator[Line]:
        """What the panel shows, line by line (a str being a line without style)."""
        view = self.view
        yield Rule(Text(view.heading, style="bold"), align="left", style="dim")
        given = "      ".join(f"{name} = {value}" for name, value in view.given)
        if len(given) <= width:
            yield given
        else:
            for name, value in view.given:
                yield f"{name} = {value}"
        if view.skipped:
            yield Text(view.skipped, style="italic")
            yield ""
            return
        if view.expansion and max(len(line) for line in view.expansion) <= width:
            yield ""
            yield from view.expansion
        yield ""
        if None in self.unit_labels:
            shown = ", ".join("…" if k is None else str(k + 1) for k in self.unit_labels)
            yield Text(f"units shown: {shown}  (--units to choose, --full for all)", style="dim")
        yield from _tables(view, self.full, width, plain)
        for note in view.notes:
            yield Text(note, style="dim")
        yield ""
        for eq in view.equations:
            yield from equation_lines(eq, width, self.unit_labels)
        yield from explained(view)


class BackStepPanel:
    """One step of the backward pass: what reaches it, the δ equations, the δ table, what it adds."""

    def __init__(self, view: BackStepView, full: bool = False) -> None:
        self.view, self.full = view, full

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        yield from laid_out(console, options, self.lines(options.max_width, not shows_styles(console)))

    def lines(self, width: int, plain: bool = False) -> Iterator[Line]:
        """What the panel shows, line by line (a str being a line without style)."""
        view = self.view.delta
        yield Rule(Text(view.heading, style="bold"), align="left", style="dim")
        yield "      ".join(f"{name} = {value}" for name, value in view.given)
        yield ""
        for eq in view.equations:
            yield from equation_lines(eq, width, view.units)
        if view.skipped:
            yield Text(view.skipped, style="italic")
            yield ""
            return
        yield ""
        yield from _tables(view, self.full, width, plain)
        for note in view.notes:
            yield Text(note, style="dim")
        adds = self.view.adds
        if adds is not None:
            yield ""
            yield Text(adds.heading, style="bold")
            yield from _tables(adds, self.full, width, plain)
            for note in adds.notes:
                yield Text(note, style="dim")
        yield from explained(view)


PASSES = ("forward", "backward")


class TraceView:
    """A whole trace: header, the selected steps, what the layer returns, the backward pass, inert options.

    `passes` picks the forward steps, the backward pass or both (the default: both where the trace
    has gradients)."""

    def __init__(self, trace: Trace, selection: Selection | None = None, passes: Sequence[str] | None = None) -> None:
        self.trace = trace
        self.sel = selection or Selection()
        if passes is None:
            passes = PASSES if trace.gradients is not None else ("forward",)
        self.passes = tuple(passes)

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        yield from self.parts(options.max_width)

    def parts(self, width: int) -> Iterator[Any]:
        """The trace piece by piece, so that a long one can be printed as it is produced."""
        header = list(self._header())
        yield from header[: 1 + bool(self.trace.scenario.title)] if self.sel.slide else header  # a slide: the title
        runs = self.trace.all_runs()
        builders = []
        for run in runs:
            below = self.trace.runs[run.layer - 2] if run.layer > 1 else ()
            builders.append(self._builder(run, width, label_layer=len(runs) > 1, below=below))
        if self.sel.weights:
            for builder in builders:
                yield WeightsPanel(builder.weights(None if self.sel.full else 8), self.sel.full)
        if "forward" in self.passes:
            for run, builder in zip(runs, builders, strict=True):
                batch = self.sel.batch_list(run.h.shape[1])
                steps, summarised = self.sel.shown_steps(run.steps)
                for s in steps:
                    for b in batch:
                        yield StepPanel(builder.step(s, b, batch_label=run.h.shape[1] > 1), self.sel.full)
                if summarised:
                    for b in batch:
                        yield StepsSummary(run, b, builder.units, self.sel.precision)
            if not self.sel.slide:
                yield from self._returns(width)
        if "backward" in self.passes:
            yield from self._backward({id(run): b.units for run, b in zip(runs, builders, strict=True)}, width)
        if not self.sel.slide:
            yield from self._inert()

    def _backward(self, units: dict[int, list[int | None]], width: int) -> Iterator[Any]:
        """The backward pass: the loss, each run's steps last first, then the gradients under their own names."""
        from .backward import BackStepBuilder, back_runs, intro, named, shown_back_steps  # a forward trace skips it

        grads, sel = self.trace.gradients, self.sel
        assert grads is not None
        yield Rule(Text("backward pass", style="bold"), align="left", style="dim")
        for line in intro(self.trace, sel.precision):
            yield Text(line)
        yield Text("")
        label = len(self.trace.all_runs()) > 1
        limit = None if sel.full else 8
        builders = [
            BackStepBuilder(back, units[id(back.run)], sel.precision, label, limit, sel.explain, limit)
            for back in back_runs(grads)
        ]
        for builder in builders:
            run = builder.run
            for s in shown_back_steps(sel.shown_steps(run.steps)[0]):
                for b in sel.batch_list(run.h.shape[1]):
                    yield BackStepPanel(builder.back_step(s, b, batch_label=run.h.shape[1] > 1), sel.full)
        for builder in builders:
            yield WeightsPanel(builder.totals(), sel.full)
        yield Rule(Text("gradients under the scenario's own names", style="bold"), align="left", style="dim")
        for name, line, rows in named(grads, sel.precision, 10**6 if sel.full else 6):
            head = f"dL/d {name} = "
            if len(head) + len(line) <= width:
                yield Text(head + line)
            else:
                yield Text(head + rows[0])
                for row in rows[1:]:
                    yield Text(" " * len(head) + row)
        yield Text("")

    # ---- pieces -----------------------------------------------------------------------
    def _header(self) -> Iterator[Text]:
        sc, tr = self.trace.scenario, self.trace
        yield Text(f"lstm-trace · {sc.header}", style="bold")
        if sc.title:
            yield Text(sc.title, style="bold cyan")
        if sc.description:
            yield Text(sc.description.strip(), style="italic")
        b, t, f = sc.network.inputs.shape
        yield Text(
            f"inputs ({b}, {t}, {f}): batch {b} · {t} step{'s' if t != 1 else ''} · {f} feature{'s' if f != 1 else ''}"
            f" · {'exact fractions' if sc.exact else sc.dtype}"
        )
        cell = tr.first.cell
        names = cell.names
        if names.transposed:
            kernel_as = "shown as" if names.kernel == "W" else "as W ="  # ONNX already calls it W
            parts = [
                f"{names.kernel} {cell.kernel.shape[::-1]} {kernel_as} {names.kernel}ᵀ {cell.kernel.shape}",
                f"{names.recurrent} {cell.recurrent.shape[::-1]} as U = {names.recurrent}ᵀ",
            ]
        else:
            parts = [f"{names.kernel} W {cell.kernel.shape}", f"{names.recurrent} U {cell.recurrent.shape}"]
        for name, label, vector in (
            (names.bias, names.bias_label, cell.bias),
            (names.recurrent_bias, names.recurrent_bias_label, cell.recurrent_bias),
        ):
            if vector is not None:
                parts.append(f"{name} {vector.shape}" if name == label else f"{name} {label} {vector.shape}")
        parts.append("blocks " + "|".join(block.native for block in cell.blocks))
        yield Text(" · ".join(parts))
        for note in sc.notes:
            yield Text("· " + note, style="dim")
        for warning in tr.warnings:
            yield Text("⚠ " + warning, style="bold yellow")
        if self.sel.batch is None and b > 1:
            yield Text(f"showing batch row 1 of {b}: --batch 1-{b} shows them all", style="yellow")
        steps, summarised = self.sel.shown_steps(t)
        if summarised:
            shown = ", ".join(str(s + 1) for s in steps)
            yield Text(
                f"{t} steps: showing steps {shown} in full and all steps at a glance; "
                f"--steps 1-{t} (or --steps all) shows every step",
                style="yellow",
            )
        yield Text("")

    def _builder(self, run: Run, width: int, label_layer: bool, below: Sequence[Run]) -> StepBuilder:
        cell = run.cell
        chosen = list(self.sel.units) if self.sel.units is not None else None
        total = len(chosen) if chosen is not None else cell.units
        limit: int | None = None
        if not self.sel.full:
            limit = self._fit(run, width, chosen)
        units = (
            pick_units(cell.units, limit, chosen)
            if limit is not None and limit < total
            else (chosen if chosen is not None else list(range(cell.units)))
        )
        x_limit = None if self.sel.full else 10
        plan = self.sel.shown_steps(run.steps)[0] if "forward" in self.passes else None
        return StepBuilder(run, units, self.sel.precision, label_layer, x_limit, below, self.sel.explain, plan)

    def _fit(self, run: Run, width: int, chosen: list[int] | None) -> int:
        """The most units per gate block that fit `width` in the first steps shown: side by side if three or
        more fit, else stacked."""
        steps, batch = self.sel.step_list(run.steps)[:3], self.sel.batch_list(run.h.shape[1])[:1]
        return fit_units(run, width, chosen, self.sel.precision, [(s, b) for s in steps for b in batch])

    def _returns(self, width: int) -> Iterator[Text | Rule]:
        tr, p = self.trace, self.sel.precision
        yield Rule(Text(f"returns ({tr.returns_note})", style="bold"), align="left", style="dim")
        yield Text("[" + ", ".join(f"{label} {tr.outputs[key].shape}" for label, key in tr.returns) + "]")
        for label, key in tr.returns:
            yield Text(f"{label} = {array_text(tr.outputs[key], p)}")
        for line in merge_lines(tr, p, self.sel.batch_list(tr.first.h.shape[1])[0], self.sel.units):
            yield Text(line)
        yield Text("")

    def _inert(self) -> Iterator[Text]:
        inert = self.trace.scenario.inert
        if not inert:
            return
        yield Text("no effect on this trace:", style="bold")
        by_reason: dict[str, list[str]] = {}
        for key, why in inert:
            by_reason.setdefault(why, []).append(key)
        for why, keys in by_reason.items():
            yield Text(f"  {', '.join(keys)}: {why}", style="dim")


def batched(parts: Iterable[Any], size: int = 32) -> Iterator[Group]:
    """`parts` (as TraceView.parts gives them) in groups of `size`, each to be printed by one call.

    rich's print costs ~35 µs a call however little it prints (it measures the terminal, reads the
    environment, collects and writes), as much as laying out a step; one call per step of a long trace
    was 1.8× trace() by itself. A group renders its parts one after another, as separate calls would."""
    it = iter(parts)
    while group := list(islice(it, size)):
        yield Group(*group)


def render_text(
    trace: Trace, selection: Selection | None = None, width: int = 100, passes: Sequence[str] | None = None
) -> str:
    """The terminal trace as plain text, for tests and for piping."""
    console = Console(width=width, no_color=True, color_system=None, file=io.StringIO(), highlight=False)
    with console.capture() as capture:
        console.print(TraceView(trace, selection, passes), crop=False)
    return capture.get()
