"""A worksheet: the Markdown trace with chosen quantities left blank, how to check them, and the key.

A blank is one quantity at one step, exactly as `expect` names it (h, c, a
gate, `pre_` a gate's sum, at step t), so the student's answers are an
`expect` block that `lstm-trace check` marks. A blanked value disappears
wherever it is printed for that step: its cells in the table, an equation's
result (and the equation's numbers, which are the working), the next step's
given h or c, the rows that are products of it (h·U, peephole and reset
terms) and the returns that hold it. Blanks apply to layer 1's forward
direction, the run that `expect` checks, so a worksheet covers scenarios with
one run only.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator, Sequence
from dataclasses import replace
from typing import Any

import numpy as np

from ..errors import ScenarioError, Where, unknown_name
from ..expect import DEFAULT_TOLERANCE, step_names
from ..model import Network
from ..trace import Run, Trace
from .markdown import render_markdown
from .numbers import num
from .selection import Selection
from .views import Equation, Row, StepView

BLANK = "____"
_VECTOR = re.compile(r"\[[^\[\]]*\]")


def blank_names(net: Network, given: Sequence[str]) -> tuple[str, ...]:
    """The canonical names of the quantities to blank; an unknown name is refused with the closest valid one.

    Valid are the step quantities `expect` takes (framework block names too), except x, the input: it is given.
    """
    names = {name: canonical for name, canonical in step_names(net).items() if canonical != "x"}
    chosen: list[str] = []
    for name in given:
        if name not in names:
            raise unknown_name("quantity to blank", name, names, Where(path="--blank"))
        chosen.append(names[name])
    if not chosen:
        raise ScenarioError("--blank names no quantity", Where(path="--blank"), expected="e.g. h,c,o")
    return tuple(dict.fromkeys(chosen))


def _blank_vector(text: str) -> str:
    """'[0 4 1]' → '[____ ____ ____]': one blank per number, so the width shows; elided units stay '…'."""
    return "[" + " ".join(part if part == "…" else BLANK for part in text[1:-1].split()) + "]"


def _blank_cell(cell: tuple[str, ...] | str) -> tuple[str, ...] | str:
    return tuple(text if text == "…" else BLANK for text in cell) if isinstance(cell, tuple) else cell


def _holds(array: np.ndarray, vectors: Sequence[np.ndarray]) -> bool:
    """Whether some row of `array` (or a block of it as wide as a vector) equals one of `vectors`."""
    if array.ndim == 0:
        return False
    rows = array.reshape(-1, array.shape[-1])
    for vector in vectors:
        width = len(vector)
        for start in range(0, rows.shape[1] - width + 1, width):
            if any(np.array_equal(row[start : start + width], vector) for row in rows):
                return True
    return False


def _yaml_list(values: np.ndarray, text: Callable[[Any], str]) -> str:
    """Values as a YAML flow list, `text(value)` for each number: [0, 4, 1] or [[0, 4], [1, 2]]."""
    if values.ndim == 1:
        return "[" + ", ".join(text(v) for v in values) + "]"
    return "[" + ", ".join(_yaml_list(row, text) for row in values) + "]"


class Worksheet:
    """The blanks of one trace: which values to hide in each view, and the answer key."""

    def __init__(self, trace: Trace, names: Sequence[str], selection: Selection, source: str) -> None:
        runs = trace.all_runs()
        if len(runs) > 1:
            raise ScenarioError(
                f"a worksheet covers one layer in one direction, the run that `expect` checks; this scenario has "
                f"{len(runs)} (layers × directions)",
                hint="make a scenario of the one layer and direction to work by hand",
            )
        self.trace, self.run, self.sel, self.source = trace, trace.first, selection, source
        self.names = tuple(names)
        self.steps = tuple(selection.step_list(self.run.steps))
        self.batch = self.run.h.shape[1]
        self.answers = [  # (step from 1, name as expect takes it, values (B, ·), or (·) for a batch of one)
            (s + 1, name, values[0] if self.batch == 1 else values)
            for s in self.steps
            for name in self.names
            for values in [self.run.quantity(name, s)]
        ]

    # ---- what is blank where ---------------------------------------------------------
    def blanked(self, s: int) -> set[str]:
        """The quantities hidden in step s's view: its own blanks, and the state it starts from if that was one."""
        out = set(self.names) if s in self.steps else set()
        if s - 1 in self.steps:
            out |= {f"{state}_prev" for state in ("h", "c") if state in self.names}
        return out

    def _reveals(self, key: str, gate: str) -> set[str]:
        """The quantities a term row would give away: h·U is a product of h_prev, a peephole of c, ..."""
        cell = self.run.cell
        if key == "hU":
            reset_first = cell.kind == "gru" and gate == "n" and not cell.reset_after  # (r ⊙ h)·U
            return {"h_prev", "r"} if reset_first else {"h_prev"}
        if key == "reset":
            return {"r", "h_prev"}
        if key == "peephole":
            return {"c"} if gate == "o" else {"c_prev"}
        return set()

    def _row(self, row: Row, view: StepView, hidden: set[str]) -> Row:
        cells = []
        for col, cell in zip(view.columns, row.cells, strict=True):
            gate = col.canonical
            if row.key in ("pre", "clip"):
                blank = f"pre_{gate}" in hidden
            elif row.key == "gate":
                blank = gate in hidden
            else:
                blank = bool(self._reveals(row.key, gate) & hidden)
            cells.append(_blank_cell(cell) if blank else cell)
        return replace(row, cells=tuple(cells))

    def _equation(self, eq: Equation, hidden: set[str]) -> Equation:
        if eq.quantity in hidden or (eq.quantity == "m" and "h" in hidden):  # m is h before its projection
            return replace(eq, terms=(), result=_blank_vector(eq.result), values=())
        if hidden & set(eq.uses):
            return replace(eq, terms=(), values=())  # its numbers would give the blank away
        return eq

    @staticmethod
    def _note(note: str, hidden: set[str]) -> str:
        """The one note with numbers is a GRU's r ⊙ h_prev (reset before the product): blank with either."""
        return _VECTOR.sub(lambda m: _blank_vector(m.group()), note) if hidden & {"r", "h_prev"} else note

    # ---- Blanks (render/markdown.py) ----------------------------------------------------
    @property
    def preface(self) -> tuple[str, ...]:
        what = ", ".join(f"`{name}`" for name in self.names)
        steps = ", ".join(str(s + 1) for s in self.steps)
        return (
            f"**Worksheet.** Fill in every {BLANK}: {what} at step{'s' if len(self.steps) > 1 else ''} t = {steps}. "
            "How to check your answers is at the end, and after it the answer key.",
            "",
        )

    def step(self, run: Run, s: int, b: int, view: StepView) -> StepView:
        hidden = self.blanked(s)
        if not hidden:
            return view
        given = tuple(
            (name, _blank_vector(value) if f"{name[0]}_prev" in hidden else value) for name, value in view.given
        )
        return replace(
            view,
            given=given,
            rows=tuple(self._row(row, view, hidden) for row in view.rows),
            notes=tuple(self._note(note, hidden) for note in view.notes),
            equations=tuple(self._equation(eq, hidden) for eq in view.equations),
        )

    def output(self, key: str, text: str) -> str:
        """A returned array that holds a blanked state is blank whole: its values are in the key."""
        states = [
            vector
            for s in self.steps
            for name in ("h", "c")
            if name in self.names
            for vector in self.run.quantity(name, s)
        ]
        return BLANK if _holds(np.asarray(self.trace.outputs[key]), states) else text

    # ---- the key and the expect block ----------------------------------------------------
    def _text(self, value: Any) -> str:
        return num(value, self.sel.precision)

    def tolerance(self) -> float:
        """The default tolerance, or more where the key's printed digits are further from the values."""
        off = max(
            (abs(float(self._text(v)) - float(v)) for _, _, values in self.answers for v in np.ravel(values)),
            default=0.0,
        )
        return DEFAULT_TOLERANCE if off < DEFAULT_TOLERANCE / 2 else float(f"{2 * off:.1g}")

    def skeleton(self) -> list[str]:
        """The expect block with `...` for each number: the keys exactly as `expect` takes them."""
        lines = ["expect:", "  steps:"]
        for t in dict.fromkeys(t for t, _, _ in self.answers):
            lines.append(f"    {t}:")
            for step, name, values in self.answers:
                if step == t:
                    lines.append(f"      {name}: {_yaml_list(values, lambda _: '...')}")
        lines.append(f"  tolerance: {self.tolerance():g}")
        return lines

    def _narrowed(self) -> str:
        """Where the page shows fewer units or batch rows than `expect` needs, say so."""
        missing = []
        if len(self.sel.units or range(self.run.cell.units)) < self.run.cell.units:
            missing.append("unit")
        if len(self.sel.batch_list(self.batch)) < self.batch:
            missing.append("batch row")
        if not missing:
            return ""
        return f" `expect` takes every {' and every '.join(missing)}, also those this worksheet does not show."

    def lines(self) -> Iterator[str]:
        """The whole worksheet as Markdown lines."""
        yield from render_markdown(self.trace, self.sel, self)
        rows = "a list per batch row, " if self.batch > 1 else ""
        yield "## how to check"
        yield ""
        yield (
            f"`lstm-trace check` marks your answers. Copy `{self.source}`, replace its `expect` block (if it has "
            f"one) with the block below, and write your values in place of the `...`: {rows}one number per unit, "
            "in unit order. Leave out a line you did not work out. Then run `lstm-trace check` on the copy: ✓ marks "
            "a right value, ✗ a wrong one (with the arithmetic that gives the right one), ~ one wrong only because "
            f"an earlier value of yours was; exit status 0 means every value is right.{self._narrowed()}"
        )
        yield ""
        yield "```yaml"
        yield from self.skeleton()
        yield "```"
        yield ""
        yield "---"
        yield ""
        yield "## answer key"
        yield ""
        yield "| t | " + " | ".join(self.names) + " |"
        yield "|--:|" + "|".join("---" for _ in self.names) + "|"
        by_step: dict[int, list[str]] = {}
        for t, _, values in self.answers:
            by_step.setdefault(t, []).append(f"`{_yaml_list(values, self._text)}`")
        for t, cells in by_step.items():
            yield f"| {t} | " + " | ".join(cells) + " |"
        yield ""
