"""What one step shows, decided once for every text format.

A `StepView` is the board work for one step and one batch row: the inputs,
the products and sums per gate block in the framework's own block order, the
activations, and the state update written out per unit. It only selects and
formats numbers the engine recorded; terminal and markdown renderers lay it
out, each in its own way.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from itertools import repeat

import numpy as np

from ..model import CANDIDATES, GATE_TITLES, Cell, cell_arrays
from ..trace import TERM_KEYS, Run, Term
from .explain import Explainer, term_row_label
from .numbers import AUTO, num, pick_units, sub, vec
from .numtext import Picks, factors, nums
from .spans import Spans

Units = Sequence[int | None]  # unit indices to show; None marks elided units
BOUNDED = {"sigmoid", "hard_sigmoid", "sparse_sigmoid"}  # gate activations whose 0 shuts and 1 opens
_MARKS = np.array(["", "closed", "open"], dtype=object)  # a gate value neither, ≤ 0.05, ≥ 0.95


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
    key: str = ""  # what a step row holds: a term's key (xW, hU, ...), "pre", "clip", "act" or "gate"


@dataclass(frozen=True)
class Equation:
    lhs: str
    formula: str
    terms: tuple[str, ...]  # one per shown unit, "…" for elided
    result: str
    values: tuple[str, ...] = ()  # the result per shown unit
    quantity: str = ""  # what it computes, as Run.quantity names it (c, h; m before a projection)
    uses: tuple[str, ...] = ()  # the quantities its terms show the numbers of (f, c_prev, i, g, ...)

    @property
    def clipped(self) -> bool:
        """Some unit's sum was clipped, so the per-unit lines must show both numbers."""
        return "→" in "".join(self.values)


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
    explained: tuple[str, ...] = ()  # --explain: every equation of every shown unit, with its numbers


def columns(cell: Cell) -> tuple[Column, ...]:
    return tuple(
        Column(b.native, b.canonical, GATE_TITLES[b.canonical], cell.activation_of(b.canonical).label)
        for b in cell.blocks
    )


def same(a: np.ndarray, b: np.ndarray) -> bool:
    """Whether two arrays are the very same numbers in memory (one record read two ways), not merely equal."""
    return (
        a.shape == b.shape
        and a.dtype == b.dtype
        and a.strides == b.strides
        and a.__array_interface__["data"][0] == b.__array_interface__["data"][0]
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
        explain: bool = False,
        plan: Sequence[int] | None = None,
    ) -> None:
        """`plan`: the steps the views will be asked for, in order, where known: runs of consecutive ones have
        their numbers formatted together (spans.py)."""
        self.run = run
        self.below = below
        self.explain = explain
        self.x_limit = x_limit
        self.x_units = pick_units(run.cell.features, x_limit)
        self._x_picks = Picks(self.x_units)
        self._whole_picks: dict[int, Picks] = {}  # per state width: the units `given` shows
        self._constant: dict[str, tuple[tuple[str, ...] | str, ...]] = {}  # rows of constant terms, per key
        self.label_layer = label_layer
        self.cell = run.cell
        self.units = list(units)
        self.picks = Picks(self.units)
        self.p = precision
        self.cols = columns(run.cell)
        # what every step's table holds, in row order: the kinds of term summed (TERM_KEYS order), the clips
        self._slices = [self.cell.block(col.canonical) for col in self.cols]
        self._term_rows = [
            (key, terms, all(term is None or term.constant for term in terms))  # constant: the same every step
            for key in TERM_KEYS
            if any(terms := [self._term(col.canonical, key) for col in self.cols])
        ]
        # where the shown units of each column sit in a (G·H,) canonical vector, the columns one after another
        self._gidx = np.concatenate([np.arange(block.start, block.stop)[self.picks.index] for block in self._slices])
        self._clips = [run.blocks[col.canonical].op("clip") for col in self.cols]
        self._bounded = [  # the columns whose gate lives in [0, 1], where shut and open are marked
            n for n, col in enumerate(self.cols)
            if col.canonical not in CANDIDATES and self.cell.activation_of(col.canonical).name in BOUNDED
        ]  # fmt: skip
        # Numbers shown twice are formatted once: a gate in its row and its equation, a state at the step that
        # makes it and the next one. Only where the record holds them in the very same memory.
        self._gate_is_act = {
            col.canonical: same(run.gate(col.canonical), run.act[:, :, block])
            for col, block in zip(self.cols, self._slices, strict=True)
        }
        self._updates = {op.kind: op for op in reversed(run.updates)}  # the first of each kind, as run.update finds
        output = self._updates.get("output")
        self._output_is_h = output is not None and same(output.out, run.h[1:])
        self._spans = Spans(precision, plan)

    # ---- helpers -------------------------------------------------------------------
    # Each formats the shown units of a whole row at once (numtext.nums): a long trace's views hold millions.
    def _texts_of(self, parts: Sequence[np.ndarray]) -> list[list[str]]:
        """The shown units' numbers of each (H,) part, the elided left out, formatted in one call."""
        if not parts:
            return []
        index = self.picks.index
        texts, n = nums(np.concatenate([part[index] for part in parts]), self.p), len(index)
        return [texts[k * n : (k + 1) * n] for k in range(len(parts))]

    def _state_texts(self, name: str, k: int, b: int, picks: Picks | None = None) -> list[str]:
        """The `picks` units (the shown ones by default) of the state `name` (c or h) after k steps, formatted
        once for the two steps that show it (the one that makes it and the next)."""
        index, state = (picks or self.picks).index, getattr(self.run, name)
        return self._spans.texts((name, b, picks is None), k, lambda ks: [state[ks, b][:, index]], state=True)

    def _state_vector(self, name: str, k: int, b: int) -> str:
        """'[…]' of the state `name` after k steps, shown whole or elided as its units are (given lines)."""
        state = getattr(self.run, name)[k, b]
        picks = self._whole_picks.get(len(state))
        if picks is None:
            picks = self._whole_picks[len(state)] = Picks(pick_units(len(state), self.x_limit))
        if picks.units == self.units:
            return self.picks.bracket(self._state_texts(name, k, b))
        return picks.bracket(self._state_texts(name, k, b, picks))

    def _cells(self, parts: Sequence[np.ndarray | None]) -> tuple[tuple[str, ...] | str, ...]:
        """Cells, one per part: the shown units of an (H,) part (`…` where elided), or "" where it is None."""
        texts = iter(self._texts_of([part for part in parts if part is not None]))
        return tuple("" if part is None else self.picks.place(next(texts)) for part in parts)

    def _blocks(self, vector: np.ndarray) -> tuple[tuple[str, ...], ...]:
        """A (G·H,) canonical vector split into native-order blocks of shown units."""
        return self._cells([vector[self.cell.block(col.canonical)] for col in self.cols])  # type: ignore[return-value]

    def _only(self, gate: str, values: np.ndarray) -> tuple[tuple[str, ...] | str, ...]:
        """Cells for a row that concerns one gate block only."""
        return self._cells([values if col.canonical == gate else None for col in self.cols])

    def _marks(self, gates: np.ndarray) -> tuple[tuple[str, ...], ...]:
        """Which gate values are all but shut (≤ 0.05) or wide open (≥ 0.95), where a gate lives in [0, 1]."""
        marks = [tuple("" for _ in self.units)] * len(self.cols)
        if not self._bounded:
            return tuple(marks)
        values, n = gates[self._gidx], len(self.picks.index)
        shown = _MARKS[(values <= 0.05) + 2 * (values >= 0.95)].tolist()  # NaN is neither
        for k in self._bounded:
            marks[k] = self.picks.place(shown[k * n : (k + 1) * n], "")
        return tuple(marks)

    def _touched(self, vector: np.ndarray) -> tuple[tuple[str, ...] | str, ...]:
        """Cells only in the blocks where `vector` is not zero (TF1's forget_bias lives in f alone)."""
        return self._cells([part if (part := vector[self.cell.block(c.canonical)]).any() else None for c in self.cols])

    def _vec(self, values: np.ndarray) -> str:
        return self.picks.vector(values, self.p)

    def _state(self, h: np.ndarray) -> str:
        """h is as wide as the units unless projected; a projected h is shown whole or elided alike."""
        if len(h) == self.cell.units:
            return self._vec(h)
        return vec(h, self.p, pick_units(len(h), len(self.units)))

    def _each(self, values: np.ndarray) -> tuple[str, ...]:
        return self.picks.cells(values, self.p)

    def _terms(self, fn: Callable[[int], str]) -> tuple[str, ...]:
        return tuple("…" if k is None else fn(k) for k in self.units)

    # ---- the views -------------------------------------------------------------------
    def matrix_rows(self, arrays: Mapping[str, np.ndarray], row_limit: int | None, grad: bool = False) -> list[Row]:
        """Canonical arrays (`kernel`, `recurrent`, biases, `peepholes`) laid out as the weights are: a row
        per input feature and per state unit, then the biases. With `grad`, rows are named as gradients (dW x[1])."""
        names = self.cell.names
        d = lambda label: f"d{label}" if grad else label  # noqa: E731
        rows: list[Row] = []
        for key, matrix, label in (("kernel", "W", "x"), ("recurrent", "U", "h")):
            values = arrays[key]
            for k in pick_units(values.shape[0], row_limit):
                if k is None:
                    rows.append(Row("⋮", tuple("" for _ in self.cols)))
                else:
                    row = f"{label}[{k + 1}]"
                    rows.append(Row(f"{d(matrix)} {row}" if grad else row, self._blocks(values[k])))
        for key, label in (("bias", names.bias_label), ("recurrent_bias", names.recurrent_bias_label)):
            if key in arrays:
                rows.append(Row(d(label), self._blocks(arrays[key]), "sum"))
        if "runtime_bias" in arrays:
            rows.append(Row(names.runtime_bias_label, self._touched(arrays["runtime_bias"]), "sum"))
        if "peepholes" in arrays:
            peep = arrays["peepholes"]
            diag = {"i": peep[0], "f": peep[1], "o": peep[2]}
            rows.append(
                Row(d("w_diag"), tuple(self._each(diag[c.canonical]) if c.canonical in diag else "" for c in self.cols))
            )
        return rows

    def weights(self, row_limit: int | None = 8) -> StepView:
        """The weights in table form: a row per input feature (kernel) and per state unit (recurrent)."""
        cell, names = self.cell, self.cell.names
        rows = self.matrix_rows(cell_arrays(cell), row_limit)
        where = f"layer {self.run.layer} {self.run.direction} · " if self.label_layer else ""
        heading = f"{where}weights: x rows from {names.kernel}, h rows from {names.recurrent}"
        notes: tuple[str, ...] = ()
        if cell.projection is not None:
            notes = (f"{names.projection} {cell.projection.shape} projects m = o ⊙ act(c) to h.",)
        return StepView(heading, (), (), self.cols, tuple(rows), notes, (), units=tuple(self.units))

    def table(self, s: int, b: int) -> StepView:
        """Step s's table alone, as `step` shows it (none where the step is skipped): what its width is
        measured on."""
        run, t = self.run, s + 1
        if run.active is not None and not run.active[s, b]:
            return StepView("", (), (), (), (), (), ())
        x_name, h_prev = f"x{sub(int(run.reads[s]) + 1)}", f"h{sub(t - 1)}"
        return StepView("", (), (), self.cols, self._rows(s, b, x_name, h_prev, t)[0], (), (), units=tuple(self.units))

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
        # the whole x and previous state, whatever units are shown: the products use all of them
        x = self._spans.texts(("x", b), s, lambda ks: [run.x[ks, b][:, self._x_picks.index]])
        given = [(x_name, self._x_picks.bracket(x)), (h_prev, self._state_vector("h", s, b))]
        if run.c is not None:
            given.append((f"c{sub(t - 1)}", self._state_vector("c", s, b)))
        if run.active is not None and not run.active[s, b]:
            if run.masked:
                heading += " · masked: the state is carried"
            return StepView(heading, tuple(given), (), (), (), (), (), self._skip_reason(s, b), tuple(self.units))
        rows, gates = self._rows(s, b, x_name, h_prev, t)
        return StepView(
            heading=heading,
            given=tuple(given),
            expansion=self._expansion(run.x[s, b], self.cell.kernel, x_name, "W")
            + (self._expansion(run.h[s, b], self.cell.recurrent, h_prev, "U") if self.explain else ()),
            columns=self.cols,
            rows=rows,
            notes=self._notes(s, b, h_prev),
            equations=self._equations(s, b, t, gates),
            units=tuple(self.units),
            explained=self._explained(s, b),
        )

    def _explained(self, s: int, b: int) -> tuple[str, ...]:
        if not self.explain:
            return ()
        explainer = Explainer(self.run, s, b, self.p)
        return tuple(line for k in self.units if k is not None for line in explainer.step(k))

    @staticmethod
    def _source(below: Run, time: int) -> str:
        """Which output of the layer below holds input time `time`: its h at the step that read it."""
        step = int(np.flatnonzero(below.reads == time)[0]) + 1
        return f"layer {below.layer} {below.direction} h{sub(step)}"

    def _skip_reason(self, s: int, b: int) -> str:
        assert self.run.active is not None
        if self.run.masked:
            read = int(self.run.reads[s]) + 1
            state = "h and c are" if self.run.c is not None else "h is"
            return (f"the mask skips x{sub(read)} for batch row {b + 1}: nothing is computed at this step, and "
                    f"{state} carried through unchanged.")  # fmt: skip
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

    def _expansion(self, vector: np.ndarray, matrix: np.ndarray, name: str, symbol: str) -> tuple[str, ...]:
        """x·W (or h·U) as a sum of the matrix's rows scaled by the vector's entries, when narrow enough to read."""
        if len(vector) > 4:
            return ()
        lines: list[tuple[float, str]] = []
        for f, value in enumerate(vector):
            row = " │ ".join(" ".join(block) for block in self._blocks(matrix[f]))
            lines.append((value, f"{num(abs(value), self.p)} × [{row}]"))
        first = f"{name}·{symbol} = "  # x₁·W = 1 × [row 1] − 0.5 × [row 2]
        pad = " " * (len(first) - 2)
        return tuple(
            (first + ("-" if value < 0 else "") if k == 0 else pad + ("− " if value < 0 else "+ ")) + line
            for k, (value, line) in enumerate(lines)
        )

    def _term(self, gate: str, key: str) -> Term | None:
        return next((term for term in self.run.terms(gate) if term.key == key), None)

    def _rows(self, s: int, b: int, x_name: str, h_prev: str, t: int) -> tuple[tuple[Row, ...], dict[str, list[str]]]:
        """One row per kind of term the record says was summed, then the sum and the operations after it; and
        the shown units of each gate, as its equations take them (where the record's gate is the act row)."""
        run, cell, g, index = self.run, self.cell, len(self.cols), self.picks.index

        # every number of the table formatted in one call (with the next steps' where they are shown too), then
        # cut into cells of n units, one per column
        def shown(ks: slice) -> list[np.ndarray]:
            parts = [term.values[ks, b][:, index] for _, terms, constant in self._term_rows if not constant
                     for term in terms if term is not None]  # fmt: skip
            parts.append(run.pre[ks, b][:, self._gidx])
            parts.extend(op.out[ks, b][:, index] for op in self._clips if op is not None)
            parts.append(run.act[ks, b][:, self._gidx])
            return parts

        texts, n = self._spans.texts(("rows", b), s, shown), len(index)
        pieces = iter([texts[k : k + n] for k in range(0, len(texts), n)]) if n else repeat([])

        def cells(parts: Sequence[object | None]) -> tuple[tuple[str, ...] | str, ...]:
            return tuple("" if part is None else self.picks.place(next(pieces)) for part in parts)

        act = texts[len(texts) - g * n :]  # the gate row comes last
        gates = {
            col.canonical: act[k * n : (k + 1) * n]
            for k, col in enumerate(self.cols)
            if self._gate_is_act[col.canonical]
        }
        rows: list[Row] = []
        for key, terms, constant in self._term_rows:
            if constant:  # the same every step: written once
                if key not in self._constant:
                    self._constant[key] = self._cells([term.at(s, b) if term is not None else None for term in terms])
                values = self._constant[key]
            else:
                values = cells(terms)
            label = term_row_label(key, cell, x_name, h_prev)
            rows.append(Row(label if not rows else f"+ {label}", values, key=key))
        rows.append(Row(f"= {cell.pre_symbol}{sub(t)}", cells(self.cols), "sum", key="pre"))
        if any(self._clips):
            bound = next(op.bound for op in self._clips if op is not None and op.bound is not None)
            rows.append(Row(f"clip ±{num(bound, AUTO)}", cells(self._clips), "sum", key="clip"))
        rows.append(Row("act", tuple(c.activation for c in self.cols), "act", key="act"))
        rows.append(Row("= gate", cells(self.cols), "gate", self._marks(run.act[s, b]), key="gate"))
        return tuple(rows), gates

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

    def _gate_texts(self, names: str, s: int, b: int, gates: Mapping[str, list[str]]) -> list[list[str]]:
        """The shown units of each gate in `names` at step s, from the table's row where it is the same record."""
        run = self.run
        missing = [name for name in names if name not in gates]
        found = dict(zip(missing, self._texts_of([run.gate(name)[s, b] for name in missing]), strict=True))
        return [gates[name] if name in gates else found[name] for name in names]

    def _state_equation(self, lhs: str, formula: str, terms: list[str], name: str, k: int, b: int,
                        uses: tuple[str, ...]) -> Equation:  # fmt: skip
        """An update whose result is the state `name` after k steps (c, or an unprojected h): one term per unit."""
        texts = self.picks.place(self._state_texts(name, k, b))
        return Equation(lhs, formula, self.picks.place(terms), "[" + " ".join(texts) + "]", texts, name, uses)

    def _equations(self, s: int, b: int, t: int, gates: Mapping[str, list[str]]) -> tuple[Equation, ...]:
        run, cell = self.run, self.cell
        act = cell.activation.label
        if cell.kind == "lstm":
            return self._lstm_equations(s, b, t, gates)
        if cell.kind == "gru":
            z, n = self._gate_texts("zn", s, b, gates)
            h_prev = self._state_texts("h", s, b)
            terms = [f"{zk}·{hk} + (1 − {zk})·{nk}" for zk, hk, nk in zip(z, factors(h_prev), factors(n), strict=True)]
            formula = f"z ⊙ h{sub(t - 1)} + (1 − z) ⊙ n"
            return (self._state_equation(f"h{sub(t)}", formula, terms, "h", s + 1, b, ("z", "h_prev", "n")),)
        return (Equation(f"h{sub(t)}", f"{act}(z{sub(t)})", (), self._state(run.h[s + 1, b]), quantity="h"),)

    def _lstm_equations(self, s: int, b: int, t: int, gates: Mapping[str, list[str]]) -> tuple[Equation, ...]:
        run, cell, p = self.run, self.cell, self.p
        assert run.c is not None and run.c_act is not None
        act = cell.cell_activation.label
        h_new, c_new = run.h[s + 1, b], run.c[s + 1, b]
        i, f, g, o = self._gate_texts("ifgo", s, b, gates)
        c_act_values, index = run.c_act, self.picks.index
        c_prev = self._state_texts("c", s, b)
        c_act = self._spans.texts(("c_act", b), s, lambda ks: [c_act_values[ks, b][:, index]])
        terms = [f"{fk}·{ck} + {ik}·{gk}" for fk, ck, ik, gk in zip(f, factors(c_prev), i, factors(g), strict=True)]
        c_eq = self._state_equation(f"c{sub(t)}", f"f ⊙ c{sub(t - 1)} + i ⊙ g", terms, "c", s + 1, b,
                                    ("f", "c_prev", "i", "g"))  # fmt: skip
        clip = self._updates.get("cell_clip")
        if clip is not None:
            raw = self._updates["cell_update"].out[s, b]
            shown = self._terms(
                lambda k: f"{num(raw[k], p)} → {num(c_new[k], p)}" if raw[k] != c_new[k] else num(raw[k], p)
            )
            c_eq = replace(c_eq, formula=f"clip(f ⊙ c{sub(t - 1)} + i ⊙ g, ±{num(clip.bound or 0, p)})", values=shown)
        output, projection = self._updates.get("output"), self._updates.get("projection")
        assert output is not None
        lhs, formula = f"{'h' if projection is None else 'm'}{sub(t)}", f"o ⊙ {act}(c{sub(t)})"
        terms = [f"{ok}·{ck}" for ok, ck in zip(o, factors(c_act), strict=True)]
        if self._output_is_h:  # h itself: formatted once for this step and the next
            out_eq = self._state_equation(lhs, formula, terms, "h", s + 1, b, ("o", "c"))
        else:
            gated = output.out[s, b]  # h, or m before the projection
            out_eq = Equation(lhs, formula, self.picks.place(terms), self._state(gated), self._each(gated),
                              "h" if projection is None else "m", ("o", "c"))  # fmt: skip
        if projection is None:
            return (c_eq, out_eq)
        formula = f"m{sub(t)}·{cell.names.projection}"
        proj_clip = self._updates.get("proj_clip")
        if proj_clip is not None:
            formula = f"clip({formula}, ±{num(proj_clip.bound or 0, p)})"
        return (c_eq, out_eq, Equation(f"h{sub(t)}", formula, (), self._state(h_new), quantity="h"))
