"""What the backward pass shows, decided once for every text format.

Going back, a step is written as a teacher writes it on the board: the δ that
reaches h_t (from outside the recurrence, and from step t+1 through U), then
δc and each gate's δ, each gate's δ before its activation (δz = δgate ⊙ act′(z))
in a table laid out like the forward one, and what the step adds to each
weight's gradient. After the last step come the totals, under the framework's
own names and shapes. Every number is read from the backward record and the
forward one; back_explain.py writes the arithmetic, and these views lay out
its lines for a whole step.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from ..backward import BackRun
from ..gradients import Gradients
from ..trace import Trace
from .back_explain import BackExplainer, Line, derivative, signed
from .numbers import array_text, factor, num, scalar, sub
from .views import Equation, Row, StepBuilder, StepView, Units

STEP_QUANTITIES = ("h", "p_in", "m", "o", "c", "i", "f", "g", "z", "n", "r")  # the equations above the table
STEP_ROWS = 8  # rows per matrix of what one step adds (the totals show every row where the format allows)


@dataclass(frozen=True)
class BackStepView:
    """One step of the backward pass for one batch row: the δ's (`delta`) and what it adds to the gradients."""

    delta: StepView
    adds: StepView | None  # None where the row had ended: the step computed nothing, so it adds nothing


class BackStepBuilder(StepBuilder):
    """Builds the backward views of one run, with the units, precision and limits of its forward views.

    `row_limit` is how many input features and state units the totals show (None: all); a step's own
    share shows at most `step_rows` of each, a large layer's every step being otherwise a wall of numbers."""

    def __init__(
        self,
        back: BackRun,
        units: Units,
        precision: int = 4,
        label_layer: bool = False,
        row_limit: int | None = 8,
        explain: bool = False,
        step_rows: int | None = STEP_ROWS,
    ) -> None:
        super().__init__(back.run, units, precision, label_layer, explain=explain)
        self.back = back
        self.row_limit, self.step_rows = row_limit, step_rows

    def _where(self) -> str:
        run = self.run
        return f"layer {run.layer} {run.direction} · " if self.label_layer else ""

    def back_step(self, s: int, b: int, batch_label: bool = False) -> BackStepView:
        run, back, t = self.run, self.back, s + 1
        heading = f"backward · step t={t}"
        if run.direction == "reverse":
            heading += " (reverse direction)"
        if self.label_layer:
            heading = f"layer {run.layer} · " + heading
        if batch_label:
            heading += f" · batch row {b + 1}"
        given = [(f"δh_out{sub(t)}", self._state(back.dh_out[t, b]))]
        if back.dc_out is not None and back.dc_out.any():
            given.append((f"δc_out{sub(t)}", self._vec(back.dc_out[t, b])))
        equations = self._equations_back(s, b)
        units = tuple(self.units)
        if run.active is not None and not run.active[s, b]:
            passed = "δh and δc pass" if run.c is not None else "δh passes"
            reason = f"{self._skip_reason(s, b)} Going back, its {passed} to step {t - 1} unchanged."
            return BackStepView(StepView(heading, tuple(given), (), (), (), (), equations, reason, units), None)
        explained: tuple[str, ...] = ()
        if self.explain:
            explained = tuple(
                line for k in self.units if k is not None for line in BackExplainer(back, s, b, self.p).step(k)
            )
        delta = StepView(heading, tuple(given), (), self.cols, self._delta_rows(s, b), self._delta_notes(),
                         equations, units=units, explained=explained)  # fmt: skip
        return BackStepView(delta, self._adds(s))

    def _equations_back(self, s: int, b: int) -> tuple[Equation, ...]:
        """The step's δ equations, each over the shown units, in the order a teacher writes them."""
        back, cell = self.back, self.cell
        per_unit: dict[int, dict[str, Line]] = {
            k: {line.quantity: line for line in BackExplainer(back, s, b, self.p).lines(k)}
            for k in self.units
            if k is not None
        }
        made = {q for lines in per_unit.values() for q in lines}
        out = []
        for line in BackExplainer(back, s, b, self.p, vector=True).lines(0):
            q = line.quantity
            if q not in STEP_QUANTITIES or q not in made:
                continue
            values = back.quantity(q, s)[b]
            if len(values) != cell.units:  # a projected h: as wide as the projection, shown whole
                out.append(Equation(line.lhs, line.symbols, (), self._state(values), quantity=q))
                continue
            terms = tuple("…" if k is None else (per_unit[k][q].short or per_unit[k][q].numbers) for k in self.units)
            each = self._each(values)
            if terms == each:  # one piece, nothing to add up: δh₃ = δh_out₃ = [1 1 1]
                terms = ()
            out.append(Equation(line.lhs, line.symbols, terms, self._vec(values), each, q))
        return tuple(out)

    def _delta_rows(self, s: int, b: int) -> tuple[Row, ...]:
        """Per gate block: δ after the activation, the activation's derivative, δ of the sum (δz)."""
        run, back, cell = self.run, self.back, self.cell
        rows = [Row("δ gate", self._blocks(back.dact[s, b]), key="dact")]
        clips = [run.blocks[col.canonical].op("clip") for col in self.cols]
        if any(clips):
            cells = []
            for col, op in zip(self.cols, clips, strict=True):
                pre = run.blocks[col.canonical].pre[s, b]
                cells.append("" if op is None else self._each((op.out[s, b] == pre).astype(int)))
            rows.append(Row("× clip′", tuple(cells), key="clip"))
        slopes: list[tuple[str, ...] | str] = []
        names: list[tuple[str, ...] | str] = []
        assert back.slope is not None
        for col in self.cols:
            act = cell.activation_of(col.canonical)
            coupled = run.blocks[col.canonical].op("one_minus") is not None
            names.append("→ δi" if coupled else f"{act.label}′")
            elementwise = act.elementwise and not coupled
            slopes.append(self._each(back.slope[s, b][cell.block(col.canonical)]) if elementwise else "")
        rows.append(Row("act′", tuple(names), "act", key="act"))
        rows.append(Row("× act′(z)", tuple(slopes), key="slope"))
        rows.append(Row(f"= δ{cell.pre_symbol}{sub(s + 1)}", self._blocks(back.dpre[s, b]), "sum", key="dpre"))
        if cell.kind == "gru" and cell.reset_after:
            rows.append(Row("δ(h·U)", self._only("n", back.dhu[s, b][cell.block("n")]), key="dhu"))
        return tuple(rows)

    def _delta_notes(self) -> tuple[str, ...]:
        cell, run = self.cell, self.run
        acts = {col.canonical: cell.activation_of(col.canonical) for col in self.cols}
        if cell.kind == "lstm":
            acts["c"] = cell.cell_activation
        seen: dict[str, str] = {}
        for gate, act in acts.items():
            if run.blocks.get(gate) is not None and run.blocks[gate].op("one_minus") is not None:
                continue
            if act.elementwise:
                seen.setdefault(act.name, derivative(act.name, act.label))
            else:
                seen.setdefault(act.name, f"{act.label} mixes a block's units: δz = y ⊙ (δy − Σ δy ⊙ y)")
        notes = ["; ".join(seen.values()) + "."]
        if cell.coupled_forget:
            notes.append("f = 1 − i: δf goes to i (δi = δc ⊙ g − δf); f's own sum gets no δ.")
        if cell.kind == "gru":
            n = cell.native_name("n")
            if cell.reset_after:
                notes.append(f"δ(h·U) = δpre ⊙ r in the candidate block ({n}): its h·U entered through r, so its dU "
                             "columns and recurrent bias take δpre ⊙ r.")  # fmt: skip
            else:
                notes.append(f"The candidate block ({n}) multiplied r ⊙ h: its dU columns take (r ⊙ h)ᵀ, and its δ "
                             "reaches h through r.")  # fmt: skip
        return tuple(notes)

    # ---- the weights' gradients ------------------------------------------------------------------
    def _adds(self, s: int) -> StepView:
        run, cell, t = self.run, self.cell, s + 1
        z = f"δ{cell.pre_symbol}{sub(t)}"
        read = f"x{sub(int(run.reads[s]) + 1)}"
        heading = f"step t={t} adds: dW += {read}ᵀ·{z}, dU += h{sub(t - 1)}ᵀ·{z}, d{cell.names.bias_label} += {z}"
        if run.h.shape[1] > 1:
            heading += " (summed over the batch rows)"
        return self.gradients_view(self.back.adds(s), f"{self._where()}{heading}", self.step_rows)

    def totals(self) -> StepView:
        """The run's gradients summed over every step, laid out as the weights are."""
        z = f"δ{self.cell.pre_symbol}"
        heading = (
            f"{self._where()}gradients summed over the steps: dW = Σₜ xₜᵀ·{z}ₜ, dU = Σₜ hₜ₋₁ᵀ·{z}ₜ, "
            f"d{self.cell.names.bias_label} = Σₜ {z}ₜ"
        )
        return self.gradients_view(self.back.grads, heading, self.row_limit)

    def gradients_view(self, arrays: Mapping[str, np.ndarray], heading: str, row_limit: int | None) -> StepView:
        notes = []
        if "projection" in arrays:
            notes.append(f"d{self.cell.names.projection} = {array_text(arrays['projection'], self.p)}")
        rows = self.matrix_rows(arrays, row_limit, grad=True)
        return StepView(heading, (), (), self.cols, tuple(rows), tuple(notes), (), units=tuple(self.units))


def intro(trace: Trace, precision: int) -> tuple[str, ...]:
    """The loss, the gradient each output sends back, and how to read a δ."""
    grads = trace.gradients
    assert grads is not None
    lines = [loss_line(trace, precision)]
    if grads.backward.loss is None:
        lines.insert(0, grads.backward.describe())
    quiet = []
    for label, key in trace.returns:
        up = grads.upstream[key]
        if up.any():
            lines.append(f"dL/d {label} = {array_text(up, precision)}")
        else:
            quiet.append(label)
    if quiet:
        lines.append(f"{', '.join(quiet)}: not in L, so δ = 0")
    lines.append(
        "δ means dL/d (δh₂ is dL/dh₂). Going back step by step from the last, each step's δh is what reaches h from "
        "outside the recurrence (δh_out: its output row, the final state, the layer above) plus what step t+1 sends "
        "back through U; δz, each gate's δ before its activation, gives the weights' gradients."
    )
    return tuple(lines)


def named(grads: Gradients, precision: int, edge: int = 6) -> list[tuple[str, str, list[str]]]:
    """Every gradient under the scenario's own names (weights, inputs, initial states): its name with its
    shape, its values on one line, and the same as lines, one per innermost row (for when one line is too long)."""
    arrays = [*grads.weights.items(), ("inputs", grads.inputs), *grads.initial_state.items()]
    return [
        (f"{name} {value.shape}", array_text(value, precision, edge), _lines(value, precision, edge))
        for name, value in arrays
    ]


def _lines(value: np.ndarray, precision: int, edge: int) -> list[str]:
    """array_text's nested brackets a row to a line, as numpy prints them: '[[1 2],' ' [3 4]]'."""
    if value.ndim < 2:
        return [array_text(value, precision, edge)]
    n = value.shape[0]
    picks: list[int | None] = list(range(n)) if n <= 2 * edge + 1 else [*range(edge), None, *range(n - edge, n)]
    out: list[str] = []
    for i, k in enumerate(picks):
        rows = ["…"] if k is None else _lines(value[k], precision, edge)
        if i < len(picks) - 1:
            rows[-1] += ","
        out += [("[" if i == 0 and j == 0 else " ") + row for j, row in enumerate(rows)]
    out[-1] += "]"
    return out


def back_runs(grads: Gradients) -> list[BackRun]:
    """The runs in the order the backward pass undoes them: the top layer first."""
    return [back for layer in reversed(grads.runs) for back in layer]


def shown_back_steps(steps: Sequence[int]) -> list[int]:
    """The selected steps, last first: the order the backward pass takes them."""
    return sorted(steps, reverse=True)


def loss_line(trace: Trace, precision: int, most: int = 12) -> str:
    """L with its numbers, where there are few: L = Σ sequence = 0 + 0 − 1 + ... = -3."""
    grads = trace.gradients
    assert grads is not None
    spec, n = grads.backward, lambda v: num(scalar(v), precision)
    total = n(grads.loss)
    if spec.loss is None:
        pairs = [
            (g, y)
            for name, g in grads.upstream.items()
            for g, y in zip(g.ravel(), trace.outputs[name].ravel(), strict=True)
        ]
        shown = [f"{n(g)}·{factor(scalar(y), precision)}" for g, y in pairs if g and y]
        head = "L = Σ (given gradient ⊙ output)"
        return f"{head} = {signed(shown) if shown else '0'} = {total}" if len(pairs) <= most else f"{head} = {total}"
    out = trace.outputs[spec.of].ravel()  # type: ignore[index]
    if out.size > most:
        return f"{spec.describe()} = {total}"
    if spec.loss == "sum":
        return f"{spec.describe()} = {signed([n(v) for v in out])} = {total}"
    assert spec.target is not None
    squares = " + ".join(
        f"({n(y)} − {factor(scalar(t), precision)})²" for y, t in zip(out, spec.target.ravel(), strict=True)
    )
    mean = f"½·({squares})" if spec.loss == "half_squared_error" else f"({squares})/{out.size}"
    return f"{spec.describe()} = {mean} = {total}"
