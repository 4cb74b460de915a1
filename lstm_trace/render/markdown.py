"""The trace as Markdown pipe tables, for handouts and notebooks.

Markdown has no width to fit, so every selected unit gets its own column and
every weight row its own line. It shows what the terminal shows, from the
same views: the weights panel, each step's x·W expansion (and h·U's, with
--explain), its table and its state update. A worksheet passes `Blanks`, which
may blank values in each step's view and in what the layer returns.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from functools import lru_cache
from typing import Protocol

from ..trace import Run, Trace
from .backward import BackStepBuilder, BackStepView, back_runs, intro, named, shown_back_steps
from .merges import merge_lines
from .numbers import array_text
from .selection import Selection
from .views import Column, StepBuilder, StepView


class Blanks(Protocol):
    """What a worksheet leaves for the student to fill in (render/worksheet.py)."""

    @property
    def preface(self) -> tuple[str, ...]:
        """Lines after the header: what to fill in."""
        ...

    def step(self, run: Run, s: int, b: int, view: StepView) -> StepView:
        """`view` with the blanked values replaced."""
        ...

    def output(self, key: str, text: str) -> str:
        """What to print for the returned output `key`, whose values read `text`."""
        ...


def _units(view: StepView, block: int) -> int:
    return next(len(c) for r in view.rows if isinstance(c := r.cells[block], tuple))


@lru_cache(maxsize=16)
def _head(columns: tuple[Column, ...], units: tuple[int | None, ...]) -> tuple[str, str]:
    """A table's header and alignment lines: the same for every step of a run, so made once."""
    heads, align = [""], ["---"]
    for col in columns:
        for u, unit in enumerate(units):
            label = f"{col.canonical}[{unit + 1}]" if unit is not None else "…"
            if u == 0 and col.native != col.canonical:
                label += f" ({col.native})"
            heads.append(label)
            align.append("--:")
    return "| " + " | ".join(heads) + " |", "|" + "|".join(align) + "|"


def _line(cells: list[str]) -> str:
    """A table row, a | inside a cell escaped (numbers hold none: the row is joined once, then looked at)."""
    row = " | ".join(cells)
    if row.count("|") >= len(cells):  # more than the separators: some cell holds one
        row = " | ".join(c.replace("|", "\\|") for c in cells)
    return "| " + row + " |"


def _table(view: StepView) -> Iterator[str]:
    yield from _head(view.columns, view.units)
    spans: dict[int, list[str]] = {}  # per block, the empty cells after a text that spans the whole block
    for row in view.rows:
        cells = [row.label]
        for k, cell in enumerate(row.cells):
            if isinstance(cell, tuple):
                cells.extend(cell)
            else:
                cells.append(cell)
                cells.extend(spans.get(k) or spans.setdefault(k, [""] * (_units(view, k) - 1)))
        yield _line(cells)


def _heading(view: StepView) -> Iterator[str]:
    yield f"### {view.heading}"
    yield ""
    yield " · ".join(f"`{name} = {value}`" for name, value in view.given)
    yield ""


def _body(view: StepView) -> Iterator[str]:
    """The step's table and its notes, or why the step was not taken."""
    if view.skipped:
        yield f"*{view.skipped}*"
        yield ""
        return
    yield from _table(view)
    yield ""
    for note in view.notes:
        yield f"*{note}*"
        yield ""


def _step(view: StepView) -> Iterator[str]:
    yield from _heading(view)
    if view.expansion:  # no width to fit: shown whenever the view has it
        yield "```"
        yield from view.expansion
        yield "```"
        yield ""
    yield from _body(view)
    if view.skipped:
        return
    yield from _equations(view)
    yield ""
    yield from _explained(view)


def _equations(view: StepView) -> Iterator[str]:
    for eq in view.equations:
        terms = f" = [{', '.join(eq.terms)}]" if eq.terms and not eq.clipped else ""
        yield f"- `{eq.lhs} = {eq.formula}{terms} = {eq.result}`"
        if eq.clipped:
            for unit, term, value in zip(view.units, eq.terms, eq.values, strict=True):
                if unit is not None:
                    yield f"  - unit {unit + 1}: `{term} = {value}`"


def _explained(view: StepView) -> Iterator[str]:
    if view.explained:
        yield "Every equation, with its numbers:"
        yield ""
        for line in view.explained:
            yield f"- `{line}`"
        yield ""


def _back_step(step: BackStepView) -> Iterator[str]:
    """One step of the backward pass: what reaches it, its δ equations, the δ table, what it adds."""
    view = step.delta
    yield from _heading(view)
    yield from _equations(view)
    yield ""
    yield from _body(view)
    if view.skipped:
        return
    if step.adds is not None:
        yield from _weights(step.adds, inside=True)
    yield from _explained(view)


def _backward(trace: Trace, sel: Selection, units: dict[int, list[int | None]]) -> Iterator[str]:
    """The backward pass: the loss, each run's steps last first, the totals, the gradients by their own names."""
    grads = trace.gradients
    assert grads is not None
    yield "## backward pass"
    yield ""
    for line in intro(trace, sel.precision):
        yield f"{line}  "
    yield ""
    label = len(trace.all_runs()) > 1
    builders = [BackStepBuilder(back, units[id(back.run)], sel.precision, label, None, sel.explain)
                for back in back_runs(grads)]  # fmt: skip
    for builder in builders:
        run = builder.run
        for s in shown_back_steps(sel.step_list(run.steps)):
            for row in sel.batch_list(run.h.shape[1]):
                yield from _back_step(builder.back_step(s, row, batch_label=run.h.shape[1] > 1))
    for builder in builders:
        yield from _weights(builder.totals())
    yield "## gradients under the scenario's own names"
    yield ""
    for name, line, _ in named(grads, sel.precision, 10**6):
        yield f"- `dL/d {name}`: `{line}`"
    yield ""


def _weights(view: StepView, inside: bool = False) -> Iterator[str]:
    """The weights panel (or gradients laid out like it): a row per input feature and per state unit, then the
    biases. Its title is a section, or bold `inside` a step."""
    yield f"**{view.heading}**" if inside else f"### {view.heading}"
    yield ""
    yield from _table(view)
    yield ""
    for note in view.notes:
        yield f"*{note}*"
        yield ""


def render_markdown(
    trace: Trace, selection: Selection | None = None, blanks: Blanks | None = None, passes: Sequence[str] | None = None
) -> Iterator[str]:
    """Lines of Markdown; the caller joins or streams them. `passes`: forward, backward or both (the default:
    both where the trace has gradients, but a worksheet's forward steps alone)."""
    sel = selection or Selection()
    if passes is None:
        passes = ("forward", "backward") if trace.gradients is not None and blanks is None else ("forward",)
    sc = trace.scenario
    yield f"# lstm-trace · {sc.header}"
    yield ""
    if sc.title:
        yield f"**{sc.title}**"
        yield ""
    if sc.description:
        yield sc.description.strip()
        yield ""
    b, t, f = sc.network.inputs.shape
    yield f"inputs ({b}, {t}, {f}) · {'exact fractions' if sc.exact else sc.dtype}"
    yield ""
    if blanks is not None:
        yield from blanks.preface
    for note in sc.notes:
        yield f"> {note}"
    yield ""
    for warning in trace.warnings:
        yield f"> ⚠ **{warning}**"
        yield ""
    runs = trace.all_runs()
    builders = []
    for run in runs:
        units = list(sel.units) if sel.units is not None else list(range(run.cell.units))
        below = trace.runs[run.layer - 2] if run.layer > 1 else ()
        builders.append(
            StepBuilder(
                run,
                units,
                sel.precision,
                label_layer=len(runs) > 1,
                x_limit=None,
                below=below,
                explain=sel.explain,
                plan=sel.step_list(run.steps) if "forward" in passes else None,
            )
        )
    if sel.weights:
        for builder in builders:
            yield from _weights(builder.weights(None))
    if "forward" in passes:
        for run, builder in zip(runs, builders, strict=True):
            for s in sel.step_list(run.steps):
                for row in sel.batch_list(run.h.shape[1]):
                    view = builder.step(s, row, batch_label=run.h.shape[1] > 1)
                    yield from _step(view if blanks is None else blanks.step(run, s, row, view))
        yield f"## returns ({trace.returns_note})"
        yield ""
        for label, key in trace.returns:
            text = array_text(trace.outputs[key], sel.precision)
            if blanks is not None:
                text = blanks.output(key, text)
            yield f"- `{label}` {trace.outputs[key].shape}: `{text}`"
        yield ""
        merged = merge_lines(trace, sel.precision, sel.batch_list(trace.first.h.shape[1])[0], sel.units)
        if merged and blanks is None:  # a worksheet leaves the outputs to the student, and so their merges
            yield from (f"- `{line}`" for line in merged)
            yield ""
    if "backward" in passes:
        yield from _backward(trace, sel, {id(run): b.units for run, b in zip(runs, builders, strict=True)})
    if sc.inert:
        yield "## no effect on this trace"
        yield ""
        for key, why in sc.inert:
            yield f"- `{key}`: {why}"
        yield ""
