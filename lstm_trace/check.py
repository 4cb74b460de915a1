"""`expect` against a trace: which of a student's values are right, and what went wrong with the others.

A wrong answer is read three ways, in order:
1. a misconception carried through every step: the layer is run again under
   each known wrong rule (diagnose.py), through the same engine, and the first
   that reproduces every value the student wrote names the mistake;
2. rounding: values right to fewer decimals than the tolerance asks;
3. a slip, marked with follow-through as an examiner marks error carried
   forward: the layer is run with the student's own values put in place of
   the engine's as soon as each is computed, so a later value that follows
   correctly from an earlier wrong one is `carried`, not wrong.
Every explanation is written from a run's record (render/explain.py).

Expected gradients (expect.gradients) are checked the same way against the
backward pass, with the arithmetic of the first wrong one (render/back_explain.py)
and the rounding check; no known misconception is tried for them.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from fractions import Fraction

import numpy as np

from .activations import HARD_SIGMOID_K3
from .diagnose import Variant, variants
from .engine import run_network
from .errors import ScenarioError, Where, unknown_name
from .exact import computable, within
from .expect import Expected
from .frameworks import Runs
from .render.back_explain import BackExplainer, Line
from .render.back_totals import input_line, total_line
from .render.explain import Explainer, unit
from .render.numbers import num, scalar, sub, vec
from .trace import Run, Trace

# how the right arithmetic is introduced after a mistake's sentence ("With it, h₁[3] = o₁[3] · c₁[3] = 0")
WITH_RIGHT_RULE = {
    "old_cell_state": "With c_t",
    "activation_left_out": "With the activation",
    "activation_where_linear": "Without it",
}


@dataclass(frozen=True)
class Diagnosis:
    mistake: str  # an id of SCENARIO.md's table, or arithmetic_slip / rounded
    text: str


@dataclass(frozen=True)
class Position:
    """Where a value is first wrong, numbered from 1; `step` is the processing step that made it."""

    step: int
    batch: int
    unit: int


@dataclass(frozen=True)
class Index:
    """Where a gradient of a weight, the inputs or a state is first wrong: its index in the array, from 1."""

    index: tuple[int, ...]


@dataclass(frozen=True, eq=False)
class Result:
    item: Expected
    got: np.ndarray  # the right values, in the quantity's shape
    status: str = "right"
    first_wrong: Position | Index | None = None
    where: str = ""  # h₁[3], with the batch row or direction when there are several
    first_value: float | Fraction | None = None  # the student's value there
    explanation: tuple[str, ...] = ()
    diagnosis: Diagnosis | None = None

    @property
    def ok(self) -> bool:
        return self.status == "right"

    @property
    def yours(self) -> np.ndarray:
        return self.item.values.reshape(self.got.shape)


@dataclass(frozen=True)
class Report:
    results: tuple[Result, ...]
    tolerance: float

    @property
    def ok(self) -> bool:
        return all(r.ok for r in self.results)

    @property
    def wrong(self) -> int:
        return sum(not r.ok for r in self.results)


def check(trace: Trace, precision: int = 4) -> Report:
    expect = trace.scenario.expect
    if expect is None or not expect.items:
        raise ScenarioError(
            "the scenario has no expect block to check",
            Where(trace.scenario.source),
            expected="expect: {h: [...], c: [...], steps: {1: {i: [...]}}}",
        )
    _check_gradient_names(trace, expect.items)
    return _Checker(trace, expect.tolerance, precision).report(expect.items)


def _check_gradient_names(trace: Trace, items: tuple[Expected, ...]) -> None:
    """expect.gradients needs the backward block, and names the scenario's own arrays."""
    wanted = [item for item in items if item.gradient]
    if not wanted:
        return
    source = trace.scenario.source
    if trace.gradients is None:
        name = next(iter(trace.outputs))
        raise ScenarioError(
            "the scenario has no backward block: add the loss (or the upstream gradients) these gradients are of",
            Where(source, wanted[0].line, "expect.gradients"),
            expected=f"backward: {{loss: sum, of: {name}}} (L = Σ {name}), or {{{name}: [...]}} (dL/d{name} given)",
        )
    grads = trace.gradients
    valid = ("loss", "inputs", "per_step", *grads.weights, *grads.initial_state)
    for item in wanted:
        if item.step is None and item.name not in valid:
            raise unknown_name("gradient", item.name, valid, Where(source, item.line, f"expect.gradients.{item.name}"))


def gradient_of(item: Expected, trace: Trace) -> np.ndarray:
    """The gradient an expected item names: L, a weight's or state's by its own name, the inputs', or per step."""
    grads = trace.gradients
    assert grads is not None and item.gradient
    if item.step is not None:
        return grads.first.quantity(item.name, item.step - 1)
    if item.name == "loss":
        return np.asarray(grads.loss)
    if item.name == "inputs":
        return grads.inputs
    return grads.weights[item.name] if item.name in grads.weights else grads.initial_state[item.name]


def values_of(item: Expected, runs: Runs, outputs: Mapping[str, np.ndarray]) -> np.ndarray:
    """The value an expected item names, in a set of runs (layer 1, forward, for step quantities)."""
    if item.step is None:
        return np.asarray(outputs[item.name])
    return runs[0][0].quantity(item.name, item.step - 1)


def decimals(values: np.ndarray, most: int = 8) -> int | None:
    """How many decimals the student wrote: the fewest that hold every value exactly."""
    values = np.asarray(values, dtype=np.float64)
    for d in range(most + 1):
        scaled = values * 10**d
        if np.all(np.abs(scaled - np.round(scaled)) <= 1e-9 * np.maximum(1, np.abs(scaled))):
            return d
    return None


class _Substitute:
    """An engine hook: each value the student wrote replaces the engine's as soon as that is computed.

    What the engine computed just before, from the student's own earlier
    values, is kept in `computed`; `order` is the order the step computed them.
    """

    def __init__(self, student: Mapping[tuple[int, str], np.ndarray]) -> None:
        self.student = student
        self.computed: dict[tuple[int, str], np.ndarray] = {}
        self.order: dict[tuple[int, str], int] = {}

    def __call__(self, s: int, name: str, values: np.ndarray) -> None:
        self.order.setdefault((s, name), len(self.order))
        wanted = self.student.get((s, name))
        if wanted is not None:
            self.computed[(s, name)] = values.copy()
            values[...] = wanted


class _Checker:
    def __init__(self, trace: Trace, tolerance: float, precision: int) -> None:
        self.trace, self.tol, self.p = trace, tolerance, precision

    def n(self, value: float | Fraction) -> str:
        return num(value, self.p)

    # ---- comparing ------------------------------------------------------------------------
    def _close(self, want: np.ndarray, got: np.ndarray, tol: float | None = None) -> np.ndarray:
        if got.dtype == object:  # --exact: fractions, compared exactly within the tolerance
            return within(want, got, self.tol if tol is None else tol)
        got = np.asarray(got, dtype=np.float64)
        close = np.abs(want - got) <= (self.tol if tol is None else tol) + 1e-6 * np.abs(got)
        return np.asarray(close | (np.isnan(want) & np.isnan(got)))

    def _loose(self, want: np.ndarray) -> float:
        """The tolerance for telling what a student meant: as loose as the decimals they wrote (exact: as given)."""
        if want.dtype == object:
            return self.tol
        d = decimals(want)
        return max(self.tol, 0.5 * 10.0**-d * (1 + 1e-6)) if d is not None else self.tol

    def _got(self, item: Expected) -> np.ndarray:
        got = gradient_of(item, self.trace) if item.gradient else values_of(item, self.trace.runs, self.trace.outputs)
        if item.values.size != got.size:
            raise ScenarioError(
                "wrong shape",
                Where(self.trace.scenario.source, item.line, f"expect.{item.label}"),
                expected=f"{got.size} values, shape {got.shape} (the batch axis may be left out for a batch of one)",
                found=f"shape {item.values.shape}",
            )
        return got

    # ---- the report -----------------------------------------------------------------------
    def report(self, items: tuple[Expected, ...]) -> Report:
        results = [
            Result(
                item,
                got := self._got(item),
                "right" if self._close(item.values.reshape(got.shape), got).all() else "wrong",
            )
            for item in items
        ]
        if all(r.ok for r in results):
            return Report(tuple(results), self.tol)
        results = self._rounded([self._locate(r) if not r.ok else r for r in results])
        if all(r.ok or r.diagnosis is not None or r.item.gradient for r in results):  # nothing but rounding
            return Report(tuple(results), self.tol)
        found = self._misconception([r for r in results if not r.item.gradient])  # forward values only
        if found is not None:
            results = [
                self._diagnosed(r, found) if not r.ok and r.diagnosis is None and not r.item.gradient else r
                for r in results
            ]
        else:
            results = self._follow_through(results)
        return Report(tuple(results), self.tol)

    def _locate(self, result: Result) -> Result:
        """The first wrong value's position and the arithmetic that makes the right one."""
        item, got = result.item, result.got
        want = result.yours
        index = tuple(int(k) for k in np.argwhere(~self._close(want, got))[0])
        if item.gradient:
            return self._locate_gradient(result, index)
        place = self._place(item, got, index)
        first_value = scalar(want[index])
        if place is None:
            return replace(result, where=f"{item.name} at index {list(index)}", first_value=first_value)
        run, s, b, k, label = place
        position = Position(s + 1, b + 1, k + 1)
        name = item.name.removeprefix("pre_")
        where = unit(item.name, s + 1, k + 1) + label
        explainer = Explainer(run, s, b, self.p)
        if item.name.startswith("pre_"):
            lines = [explainer.gate(name, k, pre=True)]
        elif item.name in ("h", "c", "sequence"):
            state = "c" if item.name == "c" else "h"
            lines = explainer.state(state, k)
            if run.cell.kind == "lstm" and state == "h" and run.update("projection") is None:
                lines.append(explainer.gate("o", k))
        elif item.name == "x":
            lines = []
        else:
            lines = [explainer.gate(name, k)]
        return replace(result, first_wrong=position, where=where, explanation=tuple(lines), first_value=first_value)

    def _locate_gradient(self, result: Result, index: tuple[int, ...]) -> Result:
        """A wrong gradient: where, and the backward arithmetic of the right value there."""
        from .render.backward import loss_line

        item, grads = result.item, self.trace.gradients
        assert grads is not None
        first_value = scalar(result.yours[index])
        if item.step is not None:
            b, k = index
            explainer = BackExplainer(grads.first, item.step - 1, b, self.p)
            line = explainer.h(k) if item.name == "h" else explainer.c(k)
            rows = "" if result.got.shape[0] == 1 else f" (batch row {b + 1})"
            return replace(result, first_wrong=Position(item.step, b + 1, k + 1), first_value=first_value,
                           where=unit(f"δ{item.name}", item.step, k + 1) + rows, explanation=(str(line),))  # fmt: skip
        if item.name == "loss":
            return replace(result, where="L", first_value=first_value, explanation=(loss_line(self.trace, self.p),))
        where = f"dL/d {item.name}[{', '.join(str(i + 1) for i in index)}]"
        lines = [str(line) for line in self._gradient_lines(item.name, index)]
        ones = Index(tuple(i + 1 for i in index))
        return replace(result, first_wrong=ones, where=where, first_value=first_value, explanation=tuple(lines))

    def _gradient_lines(self, name: str, index: tuple[int, ...]) -> list[Line]:
        """The arithmetic of one number's gradient: each place the layer used it, summed over the steps there."""
        from .provenance import canonical_arrays, sources_of

        grads, sc = self.trace.gradients, self.trace.scenario
        assert grads is not None
        if name == "inputs":  # every direction of layer 1 read it, at the step that read that input time
            b, time, f = index
            return [
                input_line(back, int(np.flatnonzero(back.run.reads == time)[0]), b, f, self.p) for back in grads.runs[0]
            ]
        origin = sources_of(sc)
        source = next(s for s in origin.sources if s.name == name)
        code = source.offset + int(np.ravel_multi_index(index, source.shape))
        shapes = {ident: np.shape(array) for ident, array in canonical_arrays(sc.network)}
        lines = []
        for ident, codes in origin.codes.items():
            for flat in np.flatnonzero(codes == code):
                layer, d, canonical = ident.split(".")
                back = grads.runs[int(layer)][int(d)]
                place = tuple(int(i) for i in np.unravel_index(int(flat), shapes[ident]))
                if canonical in ("h0", "c0"):
                    explainer = BackExplainer(back, -1, place[0], self.p)
                    lines.append(explainer.h(place[1]) if canonical == "h0" else explainer.c(place[1]))
                else:
                    lines.append(total_line(back, canonical, place, self.p))
        return lines

    def _place(self, item: Expected, got: np.ndarray, index: tuple[int, ...]) -> tuple[Run, int, int, int, str] | None:
        """(run, step, batch row, unit, label) of one index of an expected quantity, all 0-based."""
        tr = self.trace
        batch = tr.first.h.shape[1]
        rows = "" if batch == 1 else " (batch row {})"
        if item.step is not None:
            return tr.first, item.step - 1, index[0], index[1], rows.format(index[0] + 1)
        runs = tr.all_runs()
        if item.name == "sequence" and got.ndim == 3 and got.shape[:2] == (batch, tr.first.steps):
            last = tr.runs[-1]
            width = last[0].h.shape[-1]
            run = last[min(index[2] // width, len(last) - 1)]
            s = int(np.flatnonzero(run.reads == index[1])[0])
            label = rows.format(index[0] + 1) + (f" ({run.direction})" if len(last) > 1 else "")
            return run, s, index[0], index[2] % width, label
        if item.name not in ("h", "c"):
            return None
        if tr.states_axis is not None and got.ndim == 3:
            axis = tr.states_axis
            run, b = runs[index[axis]], index[1 - axis]
            label = f" (layer {run.layer} {run.direction}" + ("" if batch == 1 else f", batch row {b + 1}") + ")"
        elif got.ndim == 2:  # a final state (B, U): the last layer's, as a stack returns it
            run, b, label = tr.runs[-1][0], index[0], rows.format(index[0] + 1)
        else:
            return None
        s = run.steps - 1
        if run.active is not None:  # a finished row's state was made at its last active step
            taken = np.flatnonzero(run.active[:, b])
            s = int(taken[-1]) if taken.size else 0
        return run, s, b, index[-1], label

    # ---- 1. misconceptions ------------------------------------------------------------------
    def _misconception(self, results: list[Result]) -> Variant | None:
        sc = self.trace.scenario
        for variant in variants(sc.network):
            if sc.exact and not computable(variant.network):  # a wrong rule that needs σ or tanh: not with fractions
                continue
            runs, outputs = self.trace.runs, dict(self.trace.outputs)
            with np.errstate(all="ignore"):
                if variant.reversed_outputs:  # the same arithmetic, the outputs read the other way round
                    outputs["sequence"] = sc.returns(_time_reversed(runs)).outputs["sequence"]
                else:
                    runs = run_network(variant.network)
                    outputs = dict(sc.returns(runs).outputs)
            if all(self._close(r.yours, values_of(r.item, runs, outputs), self._loose(r.yours)).all() for r in results):
                return variant
        return None

    def _diagnosed(self, result: Result, variant: Variant) -> Result:
        return replace(result, diagnosis=Diagnosis(variant.mistake, self._why(result, variant)))

    def _why(self, result: Result, variant: Variant) -> str:
        """The mistake in a sentence a student understands, with the number where they first went wrong."""
        cell = self.trace.first.cell
        yours = f"Your {self.name(result)} = {self.n(0 if result.first_value is None else result.first_value)}"
        act_c = cell.cell_activation.label
        mistake = variant.mistake
        fw = self.trace.scenario.framework
        if mistake == "output_gate_left_out":
            shown = "h = c" if cell.cell_activation.name == "linear" else f"h = {act_c}(c)"
            gate = ""
            pos = result.first_wrong
            if isinstance(pos, Position) and result.item.name != "sequence":
                o = scalar(self.trace.first.blocks["o"].act[pos.step - 1, pos.batch - 1, pos.unit - 1])
                gate = f" (o = {self.n(o)} for unit {pos.unit})"
            text = f"You computed {shown}: the output gate{gate} was left out."
        elif mistake == "cell_activation_left_out":
            text = f"You computed h = o ⊙ c: this layer applies {act_c} to c first, h = o ⊙ {act_c}(c)."
        elif mistake == "old_cell_state":
            text = "You computed h from the previous cell state c_{t−1}; h_t uses the new c_t."
        elif mistake == "activation_left_out":
            what = "the gates" if variant.detail == "gates" else "the gates and the candidate"
            label = cell.recurrent_activation.label
            text = f"You used the sums of {what} as their values: the activation ({label}) was left out."
        elif mistake == "activation_where_linear":
            text = "You applied σ or tanh, but this layer's activation is linear, a(x) = x: the sums are the values."
        elif mistake == "hard_sigmoid_version":
            mine = next(a for a in (cell.recurrent_activation, cell.activation) if a.name == "hard_sigmoid")
            version = "Keras 3" if mine.formula == HARD_SIGMOID_K3.formula else "Keras 2"
            text = f"You used the other Keras version's hard_sigmoid; in {version} it is {mine.formula}."
        elif mistake == "forget_term_left_out":
            text = "You computed c = i ⊙ g: the forget term f ⊙ c_{t−1} was left out."
        elif mistake == "input_gate_left_out":
            text = "You computed c = f ⊙ c_{t−1} + g: the input gate i was left out."
        elif mistake == "bias_left_out":
            text = "You left out the bias."
        elif mistake == "forget_bias_left_out":
            text = (
                "You left out forget_bias: TF1 adds it to the forget gate's sum when the cell runs; "
                "it is not stored in the bias variable."
            )
        elif mistake == "one_bias_left_out":
            names = cell.names
            text = (
                f"You used only {variant.detail}: this layer adds two biases, "
                f"{names.bias_label} and {names.recurrent_bias_label}."
            )
        elif mistake == "gate_order":
            theirs = " | ".join(b.native for b in cell.blocks)
            text = (
                f"You read the gate blocks in {variant.detail}'s order; {fw} stores them as {theirs} "
                f"(canonically {', '.join(b.canonical for b in cell.blocks)}, not the order {variant.detail} uses)."
            )
        elif mistake == "kernel_transposed":
            matrix = cell.names.recurrent if variant.detail == "U" else cell.names.kernel
            text = (
                f"You read each gate block of {matrix} transposed: unit k's column of a block is what multiplies "
                "into unit k, not its row."
            )
        elif mistake == "gru_update_swapped":
            text = (
                "You swapped z and 1 − z: here h = z ⊙ h_{t−1} + (1 − z) ⊙ n, so z keeps the old state "
                "and 1 − z lets the candidate in."
            )
        elif mistake == "gru_reset_placement":
            if cell.reset_after:
                text = "You applied r before the product, (r ⊙ h)·U; this layer applies it after: r ⊙ (h·U + b_rec)."
            else:
                text = "You applied r after the product, r ⊙ (h·U); this layer applies it before: (r ⊙ h)·U."
        else:  # reversed_sequence
            text = (
                "You wrote the reverse direction's outputs in the opposite time order to the one this layer "
                "returns them in (the trace's notes say which)."
            )
        right = ""
        if result.explanation:
            right = f"{WITH_RIGHT_RULE.get(mistake, 'With it')}, {result.explanation[0]}."
        return " ".join(part for part in (yours + ".", text, right) if part)

    @staticmethod
    def name(result: Result) -> str:
        """h₁[3]: where a result is first wrong, without the batch row."""
        return result.where.split(" ")[0]

    # ---- 2. rounding ----------------------------------------------------------------------
    def _rounded(self, results: list[Result]) -> list[Result]:
        out = []
        for r in results:
            d = decimals(r.yours)
            half = 0.5 * 10.0**-d if d is not None else 0.0
            if not r.ok and d is not None and half > self.tol and self._close(r.yours, r.got, half * (1 + 1e-6)).all():
                text = (
                    f"Your values are right to {d} decimal{'s' if d != 1 else ''}, but the tolerance {self.tol:g} "
                    f"asks for more: write more decimals, or set expect.tolerance: {half:g} to accept {d}."
                )
                r = replace(r, diagnosis=Diagnosis("rounded", text))
            out.append(r)
        return out

    # ---- 3. slips, with follow-through ----------------------------------------------------------
    def _follow_through(self, results: list[Result]) -> list[Result]:
        sc = self.trace.scenario
        student = {
            (r.item.step - 1, r.item.name): r.yours
            for r in results
            if r.item.step is not None and r.item.name != "x" and r.diagnosis is None and not r.item.gradient
        }
        if not student:
            return results
        hook = _Substitute(student)
        with np.errstate(all="ignore"):
            runs = run_network(sc.network, hooks={(0, 0): hook})
            outputs = sc.returns(runs).outputs
        steps = self.trace.first.steps

        def order(r: Result) -> tuple[int, int]:
            if r.item.step is None:
                return (steps, 0)
            return (r.item.step - 1, hook.order.get((r.item.step - 1, r.item.name), -1))

        first: Result | None = None
        marked: dict[int, Result] = {}
        for k in sorted(range(len(results)), key=lambda k: order(results[k])):
            r = results[k]
            if r.ok or r.diagnosis is not None or r.item.gradient:
                continue
            key = (r.item.step - 1, r.item.name) if r.item.step is not None else None
            mine = hook.computed.get(key) if key is not None else values_of(r.item, runs, outputs)
            if (
                first is not None
                and mine is not None
                and self._close(r.yours, mine.reshape(r.got.shape), self._loose(r.yours)).all()
            ):
                text = (
                    f"Your {self.name(r)} follows correctly from your earlier {self.name(first)}: "
                    "the error is carried forward, not a new one."
                )
                marked[k] = replace(r, status="carried", diagnosis=Diagnosis("arithmetic_slip", text))
            elif key is not None:
                marked[k] = replace(r, diagnosis=Diagnosis("arithmetic_slip", self._slip(r, mine, first)))
                first = first or r
        return [marked.get(k, r) for k, r in enumerate(results)]

    def _slip(self, r: Result, mine: np.ndarray | None, first: Result | None) -> str:
        pos = r.first_wrong
        assert isinstance(pos, Position)
        name, yours = self.name(r), 0 if r.first_value is None else r.first_value
        if first is None or mine is None:
            return f"Your {name} = {self.n(yours)} is one slip in the arithmetic; the right working is above."
        theirs = scalar(mine.reshape(r.got.shape)[pos.batch - 1, pos.unit - 1])
        return (
            f"Your {name} = {self.n(yours)} does not follow from your own earlier values either: "
            f"they give {self.n(theirs)}."
        )


def _time_reversed(runs: Runs) -> Runs:
    """The runs with each reverse direction's steps in the other order: its outputs read the other way round."""

    def flip(run: Run) -> Run:
        if run.direction != "reverse":
            return run
        return replace(run, h=np.concatenate([run.h[:1], run.h[1:][::-1]]))

    return tuple(tuple(flip(run) for run in layer) for layer in runs)


def label(item: Expected, trace: Trace) -> str:
    """h₁ for a step quantity (or a single run's final state), `sequence` and `h` otherwise; for a gradient
    δh₁ (per step), L, or dL/d kernel."""
    if item.gradient:
        if item.step is not None:
            return f"δ{item.name}{sub(item.step)}"
        return "L" if item.name == "loss" else f"dL/d {item.name}"
    if item.step is not None:
        return f"{item.name}{sub(item.step)}"
    if item.name in ("h", "c") and trace.states_axis is None and len(trace.all_runs()) == 1:
        return f"{item.name}{sub(trace.first.steps)}"
    return item.name


def values_text(values: np.ndarray, precision: int) -> str:
    if values.ndim == 0:  # the loss
        return num(scalar(values.reshape(-1)[0]), precision)
    if values.ndim >= 2 and values.shape[0] == 1:
        values = values[0]
    if values.ndim == 1:
        return vec(values, precision)
    return "[" + ", ".join(values_text(v, precision) for v in values) + "]"


def as_json(report: Report, trace: Trace) -> dict[str, object]:
    """check's report as SCENARIO.md fixes it; numbers written as `run --format json` writes them."""
    import json

    from .render.jsonout import array_json

    def plain(values: np.ndarray) -> object:
        return json.loads(array_json(values))

    return {
        "ok": report.ok,
        "tolerance": report.tolerance,
        "results": [
            {
                "quantity": r.item.quantity,
                "step": r.item.step,
                "status": r.status,
                "expected": plain(r.yours),
                "got": plain(r.got),
                "first_wrong": None if r.first_wrong is None else vars(r.first_wrong),
                "diagnosis": None
                if r.diagnosis is None
                else {"mistake": r.diagnosis.mistake, "text": r.diagnosis.text},
            }
            for r in report.results
        ],
    }
