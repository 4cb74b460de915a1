"""What one step shows, decided once for every text format.

A `StepView` is the board work for one step and one batch row: the inputs,
the products and sums per gate block in the framework's own block order, the
activations, and the state update written out per unit. It only selects and
formats numbers the engine recorded; terminal and markdown renderers lay it
out, each in its own way.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace

import numpy as np

from ..model import CANDIDATES, GATE_TITLES, Cell
from ..trace import Run
from .numbers import AUTO, factor, num, pick_units, sub, vec

Units = Sequence[int | None]  # unit indices to show; None marks elided units
BOUNDED = {"sigmoid", "hard_sigmoid", "sparse_sigmoid"}  # gate activations whose 0 shuts and 1 opens


@dataclass(frozen=True)
class Column:
    """A gate block as the reader meets it: the framework's name and the canonical one."""

    native: str
    canonical: str
    title: str
    activation: str

    @property
    def heading(self) -> str:
        name = self.canonical if self.native == self.canonical else f"{self.native}→{self.canonical}"
        return f"{name} {self.title}"


@dataclass(frozen=True)
class Row:
    """A table row: per block either one text per shown unit, or one text for the whole block."""

    label: str
    cells: tuple[tuple[str, ...] | str, ...]
    role: str = "term"  # term, sum, act, gate
    marks: tuple[tuple[str, ...], ...] = ()  # per block and unit: "closed", "open" or "" (gate rows only)


@dataclass(frozen=True)
class Equation:
    lhs: str
    formula: str
    terms: tuple[str, ...]  # one per shown unit, "…" for elided
    result: str
    values: tuple[str, ...] = ()  # the result per shown unit

    @property
    def clipped(self) -> bool:
        """Some unit's sum was clipped, so the per-unit lines must show both numbers."""
        return any("→" in value for value in self.values)


@dataclass(frozen=True)
class StepView:
    heading: str
    given: tuple[tuple[str, str], ...]
    expansion: tuple[str, ...]
    columns: tuple[Column, ...]
    rows: tuple[Row, ...]
    notes: tuple[str, ...]
    equations: tuple[Equation, ...]
    skipped: str = ""
    units: tuple[int | None, ...] = ()


def columns(cell: Cell) -> tuple[Column, ...]:
    return tuple(
        Column(b.native, b.canonical, GATE_TITLES[b.canonical], cell.activation_of(b.canonical).label)
        for b in cell.blocks
    )


class StepBuilder:
    """Builds the views of one run; `units` picks and elides units, `precision` formats numbers."""

    def __init__(
        self,
        run: Run,
        units: Units,
        precision: int = 4,
        label_layer: bool = False,
        x_limit: int | None = 10,
        below: Sequence[Run] = (),
    ) -> None:
        self.run = run
        self.below = below
        self.x_units = pick_units(run.cell.features, x_limit)
        self.label_layer = label_layer
        self.cell = run.cell
        self.units = list(units)
        self.p = precision
        self.cols = columns(run.cell)

    # ---- helpers -------------------------------------------------------------------
    def _blocks(self, vector: np.ndarray) -> tuple[tuple[str, ...], ...]:
        """A (G·H,) canonical vector split into native-order blocks of shown units."""
        return tuple(self._each(vector[self.cell.block(col.canonical)]) for col in self.cols)

    def _only(self, gate: str, values: np.ndarray) -> tuple[tuple[str, ...] | str, ...]:
        """Cells for a row that concerns one gate block only."""
        return tuple(self._each(values) if col.canonical == gate else "" for col in self.cols)

    def _marks(self, gates: np.ndarray) -> tuple[tuple[str, ...], ...]:
        """Which gate values are all but shut (≤ 0.05) or wide open (≥ 0.95), where a gate lives in [0, 1]."""
        marks = []
        for col in self.cols:
            values = gates[self.cell.block(col.canonical)]
            if col.canonical in CANDIDATES or self.cell.activation_of(col.canonical).name not in BOUNDED:
                marks.append(tuple("" for _ in self.units))
                continue
            marks.append(
                tuple(
                    "" if k is None else "closed" if values[k] <= 0.05 else "open" if values[k] >= 0.95 else ""
                    for k in self.units
                )
            )
        return tuple(marks)

    def _touched(self, vector: np.ndarray) -> tuple[tuple[str, ...] | str, ...]:
        """Cells only in the blocks where `vector` is not zero (TF1's forget_bias lives in f alone)."""
        return tuple(
            self._each(part) if (part := vector[self.cell.block(c.canonical)]).any() else "" for c in self.cols
        )

    def _vec(self, values: np.ndarray) -> str:
        return vec(values, self.p, self.units)

    def _state(self, h: np.ndarray) -> str:
        """h is as wide as the units unless projected; a projected h is shown whole or elided alike."""
        if len(h) == self.cell.units:
            return self._vec(h)
        return vec(h, self.p, pick_units(len(h), len(self.units)))

    def _each(self, values: np.ndarray) -> tuple[str, ...]:
        return tuple("…" if k is None else num(values[k], self.p) for k in self.units)

    def _terms(self, fn: Callable[[int], str]) -> tuple[str, ...]:
        return tuple("…" if k is None else fn(k) for k in self.units)

    # ---- the views -------------------------------------------------------------------
    def weights(self, row_limit: int | None = 8) -> StepView:
        """The weights in table form: a row per input feature (kernel) and per state unit (recurrent)."""
        cell, names = self.cell, self.cell.names
        rows: list[Row] = []
        for label, matrix in (("x", cell.kernel), ("h", cell.recurrent)):
            for k in pick_units(matrix.shape[0], row_limit):
                if k is None:
                    rows.append(Row("⋮", tuple("" for _ in self.cols)))
                else:
                    rows.append(Row(f"{label}{sub(k + 1)}", self._blocks(matrix[k])))
        for label, vector in (
            (names.bias_label, cell.bias),
            (names.recurrent_bias_label, cell.recurrent_bias),
        ):
            if vector is not None:
                rows.append(Row(label, self._blocks(vector), "sum"))
        if cell.runtime_bias is not None:
            rows.append(Row(names.runtime_bias_label, self._touched(cell.runtime_bias), "sum"))
        if cell.peepholes is not None:
            diag = {"i": cell.peepholes[0], "f": cell.peepholes[1], "o": cell.peepholes[2]}
            rows.append(
                Row("w_diag", tuple(self._each(diag[c.canonical]) if c.canonical in diag else "" for c in self.cols))
            )
        where = f"layer {self.run.layer} {self.run.direction} · " if self.label_layer else ""
        heading = f"{where}weights: x rows from {names.kernel}, h rows from {names.recurrent}"
        notes: tuple[str, ...] = ()
        if cell.projection is not None:
            notes = (f"{names.projection} {cell.projection.shape} projects m = o ⊙ act(c) to h.",)
        return StepView(heading, (), (), self.cols, tuple(rows), notes, (), units=tuple(self.units))

    def step(self, s: int, b: int, batch_label: bool = False) -> StepView:
        run = self.run
        t, read = s + 1, int(run.reads[s]) + 1
        heading = f"step t={t} · reads x{sub(read)}"
        if self.below:
            heading += " = " + " ‖ ".join(self._source(r, read - 1) for r in self.below)
        if run.direction == "reverse":
            heading += " (reverse direction)"
        if self.label_layer:
            heading = f"layer {run.layer} · " + heading
        if batch_label:
            heading += f" · batch row {b + 1}"
        x_name, h_prev = f"x{sub(read)}", f"h{sub(t - 1)}"
        given = [(x_name, vec(run.x[s, b], self.p, self.x_units)), (h_prev, self._state(run.h[s, b]))]
        if run.c is not None:
            given.append((f"c{sub(t - 1)}", self._vec(run.c[s, b])))
        if run.active is not None and not run.active[s, b]:
            return StepView(heading, tuple(given), (), (), (), (), (), self._skip_reason(s, b), tuple(self.units))
        return StepView(
            heading=heading,
            given=tuple(given),
            expansion=self._expansion(s, b, x_name),
            columns=self.cols,
            rows=self._rows(s, b, x_name, h_prev, t),
            notes=self._notes(s, b, h_prev),
            equations=self._equations(s, b, t),
            units=tuple(self.units),
        )

    @staticmethod
    def _source(below: Run, time: int) -> str:
        """Which output of the layer below holds input time `time`: its h at the step that read it."""
        step = int(np.flatnonzero(below.reads == time)[0]) + 1
        return f"layer {below.layer} {below.direction} h{sub(step)}"

    def _skip_reason(self, s: int, b: int) -> str:
        assert self.run.active is not None
        length = int(self.run.active[:, b].sum())
        if length == 0:
            return f"batch row {b + 1} has sequence length 0: nothing is computed for it, and its output rows are zero."
        if self.run.direction == "reverse":
            read = int(self.run.reads[s]) + 1
            return (
                f"x{sub(read)} lies past batch row {b + 1}'s sequence length {length}, so nothing is computed at "
                f"this step: the reverse direction starts at x{sub(length)}, from the initial state, and this output "
                "row is zero."
            )
        return (
            f"batch row {b + 1} has ended: its sequence length is {length}, so nothing is computed at this "
            "step; its state is carried through unchanged and its output row is zero."
        )

    def _expansion(self, s: int, b: int, x_name: str) -> tuple[str, ...]:
        """x·W as a sum of W's rows scaled by x's entries, for inputs narrow enough to read."""
        x = self.run.x[s, b]
        if len(x) > 4:
            return ()
        lines = []
        for f, value in enumerate(x):
            row = " │ ".join(" ".join(block) for block in self._blocks(self.cell.kernel[f]))
            lines.append(f"{num(value, self.p)} × [{row}]")
        first = f"{x_name}·W = "
        pad = " " * (len(first) - 2)
        return tuple((first if k == 0 else pad + "+ ") + line for k, line in enumerate(lines))

    def _rows(self, s: int, b: int, x_name: str, h_prev: str, t: int) -> tuple[Row, ...]:
        run, cell = self.run, self.cell
        names = cell.names
        rows = [Row(f"{x_name}·W", self._blocks(run.xw[s, b]))]
        hu_label = f"{h_prev}·U"
        rows.append(Row(f"+ {hu_label}", self._blocks(run.hu[s, b])))
        if cell.bias is not None:
            rows.append(Row(f"+ {names.bias_label}", self._blocks(cell.bias)))
        if cell.recurrent_bias is not None:
            rows.append(Row(f"+ {names.recurrent_bias_label}", self._blocks(cell.recurrent_bias)))
        if cell.runtime_bias is not None:
            rows.append(Row(f"+ {names.runtime_bias_label}", self._touched(cell.runtime_bias)))
        if run.peep is not None:
            peep = run.peep[s, b]
            width = cell.units
            parts = {"i": peep[:width], "f": peep[width : 2 * width], "o": peep[2 * width :]}
            cells = tuple(self._each(parts[c.canonical]) if c.canonical in parts else "" for c in self.cols)
            rows.append(Row("+ w⊙c", cells))
        if cell.kind == "gru" and cell.reset_after and run.gated is not None:
            rows.append(Row(f"r⊙({hu_label}+{names.recurrent_bias_label})", self._only("n", run.gated[s, b])))
        rows.append(Row(f"= {cell.pre_symbol}{sub(t)}", self._blocks(run.pre[s, b]), "sum"))
        if run.pre_clipped is not None and cell.pre_clip is not None:
            rows.append(Row(f"clip ±{num(cell.pre_clip, AUTO)}", self._blocks(run.pre_clipped[s, b]), "sum"))
        rows.append(Row("act", tuple(c.activation for c in self.cols), "act"))
        rows.append(Row("= gate", self._blocks(run.act[s, b]), "gate", self._marks(run.act[s, b])))
        return tuple(rows)

    def _notes(self, s: int, b: int, h_prev: str) -> tuple[str, ...]:
        cell, run = self.cell, self.run
        if run.peep is not None:
            t = s + 1
            after = " after clipping" if cell.cell_clip is not None else ""
            return (
                f"peepholes (w⊙c): i and f add w ⊙ c{sub(t - 1)}, the previous c; o adds w ⊙ c{sub(t)}, "
                f"the new c{after}.",
            )
        if cell.kind != "gru" or run.gated is None:
            return ()
        n = cell.native_name("n")
        if cell.reset_after:
            bias, rbias = cell.names.bias_label, cell.names.recurrent_bias_label
            return (
                f"{n} sums differently: pre = x·W + {bias} + r ⊙ ({h_prev}·U + {rbias}); "
                f"its {h_prev}·U and {rbias} rows enter only through r.",
            )
        return (
            f"r ⊙ {h_prev} = {self._vec(run.gated[s, b])}; the {n} block's {h_prev}·U row is "
            f"(r ⊙ {h_prev})·U: r resets h before the product.",
        )

    def _equations(self, s: int, b: int, t: int) -> tuple[Equation, ...]:
        run, cell, p = self.run, self.cell, self.p
        act = cell.activation.label
        h_new = run.h[s + 1, b]
        if cell.kind == "lstm":
            return self._lstm_equations(s, b, t)
        if cell.kind == "gru":
            z, n = run.gate("z")[s, b], run.gate("n")[s, b]
            h_prev = run.h[s, b]
            return (
                Equation(
                    f"h{sub(t)}",
                    f"z ⊙ h{sub(t - 1)} + (1 − z) ⊙ n",
                    self._terms(
                        lambda k: f"{num(z[k], p)}·{factor(h_prev[k], p)} + (1 − {num(z[k], p)})·{factor(n[k], p)}"
                    ),
                    self._state(h_new),
                    self._each(h_new),
                ),
            )
        return (Equation(f"h{sub(t)}", f"{act}(z{sub(t)})", (), self._state(h_new)),)

    def _lstm_equations(self, s: int, b: int, t: int) -> tuple[Equation, ...]:
        run, cell, p = self.run, self.cell, self.p
        assert run.c is not None and run.c_act is not None
        act = cell.cell_activation.label
        h_new = run.h[s + 1, b]
        i, f, g, o = (run.gate(name)[s, b] for name in "ifgo")
        c_prev, c_new, c_act = run.c[s, b], run.c[s + 1, b], run.c_act[s, b]
        c_eq = Equation(
            f"c{sub(t)}",
            f"f ⊙ c{sub(t - 1)} + i ⊙ g",
            self._terms(lambda k: f"{num(f[k], p)}·{factor(c_prev[k], p)} + {num(i[k], p)}·{factor(g[k], p)}"),
            self._vec(c_new),
            self._each(c_new),
        )
        if run.c_unclipped is not None and cell.cell_clip is not None:
            raw = run.c_unclipped[s, b]
            shown = self._terms(
                lambda k: f"{num(raw[k], p)} → {num(c_new[k], p)}" if raw[k] != c_new[k] else num(raw[k], p)
            )
            c_eq = replace(c_eq, formula=f"clip(f ⊙ c{sub(t - 1)} + i ⊙ g, ±{num(cell.cell_clip, p)})", values=shown)
        gated = run.h[s + 1, b] if run.m is None else run.m[s, b]  # h, or m before the projection
        out_eq = Equation(
            f"{'h' if run.m is None else 'm'}{sub(t)}",
            f"o ⊙ {act}(c{sub(t)})",
            self._terms(lambda k: f"{num(o[k], p)}·{factor(c_act[k], p)}"),
            self._state(gated),
            self._each(gated),
        )
        if run.m is None:
            return (c_eq, out_eq)
        formula = f"m{sub(t)}·{cell.names.projection}"
        if cell.proj_clip is not None:
            formula = f"clip({formula}, ±{num(cell.proj_clip, p)})"
        return (c_eq, out_eq, Equation(f"h{sub(t)}", formula, (), self._state(h_new)))
