"""`expect` against a trace: which values are right, and the arithmetic behind a wrong one.

A wrong value is explained at its first wrong unit with the equation that
made the right value, using the numbers the engine recorded, and then with a
guess at the slip: a value that equals what the equation gives with one piece
left out (the output gate, the activation, the forget term) names that piece.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .errors import ScenarioError, Where
from .exact import within
from .expect import Expected
from .render.numbers import num, signed_sum, sub, vec
from .trace import Run, Trace


@dataclass(frozen=True)
class Result:
    item: Expected
    got: np.ndarray
    ok: bool
    where: str = ""  # "unit 3", "batch row 2, unit 3"
    explanation: tuple[str, ...] = ()


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
    results = tuple(_one(trace, item, expect.tolerance, precision) for item in expect.items)
    return Report(results, expect.tolerance)


def _actual(trace: Trace, item: Expected) -> tuple[np.ndarray, Run, int]:
    """The traced value, the run it comes from, and the step (0-based) that made it."""
    run = trace.first
    if item.step is None:
        return np.asarray(trace.outputs[item.name]), run, run.steps - 1
    s = item.step - 1
    name = item.name
    if name == "x":
        return run.x[s], run, s
    if name in ("h", "c"):
        states = run.h if name == "h" else run.c
        assert states is not None
        return states[s + 1], run, s
    which = "pre" if name.startswith("pre_") else "act"
    return run.gate(name.removeprefix("pre_"), which)[s], run, s


def _one(trace: Trace, item: Expected, tolerance: float, precision: int) -> Result:
    got, run, s = _actual(trace, item)
    want = item.values
    if want.size != got.size:
        raise ScenarioError(
            "wrong shape",
            Where(trace.scenario.source, item.line, f"expect.{item.name}"),
            expected=f"{got.size} values, shape {got.shape} (the batch axis may be left out for a batch of one)",
            found=f"shape {want.shape}",
        )
    want = want.reshape(got.shape)
    if got.dtype == object:  # --exact: fractions, compared exactly within the tolerance as given
        close = within(want, got, tolerance)
    else:
        close = np.abs(want - got.astype(np.float64)) <= tolerance + 1e-6 * np.abs(got)
        close |= np.isnan(want) & np.isnan(got)
    if close.all():
        return Result(item, got, True)
    index = tuple(int(k) for k in np.argwhere(~close)[0])
    unit = index[-1]
    row = index[-2] if len(index) > 1 else 0
    batch, prefix = (got.shape[-2] if got.ndim > 1 else 1), ""
    if item.step is None and trace.states_axis is not None:  # (runs, B, H) or (B, runs, H)
        axis = trace.states_axis
        run = trace.all_runs()[index[axis]]
        row, batch = index[1 - axis], got.shape[1 - axis]
        prefix = f"layer {run.layer} {run.direction}, "
    where = f"unit {unit + 1}" if batch == 1 else f"batch row {row + 1}, unit {unit + 1}"
    where = f"{item.name}{sub(unit + 1)} ({prefix}{where})"
    if item.step is None and run.active is not None:  # a finished row's state was made at its last active step
        taken = np.flatnonzero(run.active[:, row])
        if not taken.size:
            return Result(item, got, False, where, ("this batch row has length 0: its state is the initial state",))
        s = int(taken[-1])
    explain = Explainer(run, s, row, unit, precision)
    return Result(item, got, False, where, explain.why(item.name, float(want[index])))


class Explainer:
    """The arithmetic of one unit at one step, written with the recorded numbers."""

    def __init__(self, run: Run, s: int, b: int, k: int, precision: int) -> None:
        self.run, self.s, self.b, self.k, self.p = run, s, b, k, precision
        self.cell = run.cell
        self.u = sub(k + 1)

    def n(self, value: float) -> str:
        return num(value, self.p)

    def g(self, gate: str, which: str = "act") -> float:
        return float(self.run.gate(gate, which)[self.s, self.b, self.k])

    def why(self, name: str, wanted: float) -> tuple[str, ...]:
        kind = self.cell.kind
        base = name.removeprefix("pre_")
        if name == "x":
            return ()
        if name.startswith("pre_") or (base in self.cell.gates and name not in ("h", "c")):
            return self._gate(base, wanted, pre=name.startswith("pre_"))
        if kind == "lstm":
            return self._lstm_h(wanted) if name == "h" else self._lstm_c(wanted)
        if kind == "gru":
            return self._gru_h(wanted)
        return self._gate("h", wanted, pre=False)

    def _close(self, a: float, b: float) -> bool:
        return bool(abs(a - b) <= 5e-4 + 1e-6 * abs(b))

    def _gate(self, gate: str, wanted: float, pre: bool) -> tuple[str, ...]:
        col = self.cell.block(gate).start + self.k
        name = self.cell.native_name(gate)
        labels, parts = self._terms(gate, name, col)
        z = self.g(gate, "pre")
        act = self.cell.activation_of(gate)
        plain = act.name == "linear" and not pre
        pre_name = f"{self.cell.pre_symbol}_{gate}{self.u}"
        lhs = f"{gate}{self.u}" if plain else pre_name
        sums = " + ".join(labels) + " = " + signed_sum(parts, self.p)
        lines = [f"{lhs} = {sums} = {self.n(z)}"]
        if gate == "f" and self.cell.coupled_forget and not pre:
            i = self.g("i")
            f = self.n(self.g("f"))
            lines.append(f"f{self.u} = 1 − i{self.u} = 1 − {self.n(i)} = {f} (input_forget: the f sum is unused)")
            return tuple(lines)
        if not pre and not plain:
            a = self.g(gate)
            given, shown = pre_name, self.n(z)
            if self.run.pre_clipped is not None and self.cell.pre_clip is not None:
                clipped = float(self.run.pre_clipped[self.s, self.b, col])
                given = f"clip({pre_name}, ±{self.n(self.cell.pre_clip)})"
                shown = self.n(clipped)
            lines.append(f"{gate}{self.u} = {act.label}({given}) = {act.label}({shown}) = {self.n(a)}")
            if self._close(wanted, z):
                lines.append(f"Your {self.n(wanted)} is the pre-activation: the activation {act.name} was left out.")
        return tuple(lines)

    def _terms(self, gate: str, name: str, col: int) -> tuple[list[str], list[float]]:
        """The recorded terms that the engine summed into this gate's pre-activation, in its order."""
        run, cell, s, b, u = self.run, self.cell, self.s, self.b, self.u
        x_name, h_name = f"x{sub(int(run.reads[s]) + 1)}", f"h{sub(s)}"
        candidate_after_reset = cell.kind == "gru" and gate == "n"
        terms = [(f"{x_name}·W[:, {name}{u}]", run.xw[s, b, col])]
        if candidate_after_reset and not cell.reset_after:
            terms.append((f"(r⊙{h_name})·U[:, {name}{u}]", run.hu[s, b, col]))
        elif not candidate_after_reset:
            terms.append((f"{h_name}·U[:, {name}{u}]", run.hu[s, b, col]))
        names = cell.names
        for label, vector in (
            (names.bias_label, cell.bias),
            (names.recurrent_bias_label, None if candidate_after_reset and cell.reset_after else cell.recurrent_bias),
            (names.runtime_bias_label, cell.runtime_bias),
        ):
            if vector is not None and (vector is not cell.runtime_bias or vector[col]):
                terms.append((f"{label}[{name}{u}]", vector[col]))
        if candidate_after_reset and cell.reset_after and run.gated is not None:
            terms.append((f"r{u}⊙({h_name}·U + {names.recurrent_bias_label})[{name}{u}]", run.gated[s, b, self.k]))
        if run.peep is not None and gate in "ifo":
            terms.append((f"w_{gate}{u}⊙c", run.peep[s, b, "ifo".index(gate) * cell.units + self.k]))
        return [t[0] for t in terms], [float(t[1]) for t in terms]

    def _lstm_h(self, wanted: float) -> tuple[str, ...]:
        run, s, b, k, u = self.run, self.s, self.b, self.k, self.u
        assert run.c is not None and run.c_act is not None
        if run.m is not None:  # a projected h mixes every unit's m
            return (
                f"h{u} = m·{self.cell.names.projection}[:, {k + 1}] = {self.n(float(run.h[s + 1, b, k]))}, "
                "with m = o ⊙ act(c); see the step's m line for each unit.",
            )
        o, c, c_act, h = self.g("o"), float(run.c[s + 1, b, k]), float(run.c_act[s, b, k]), float(run.h[s + 1, b, k])
        act = self.cell.cell_activation
        if act.name == "linear":
            lines = [f"h{u} = o{u} · c{u} = {self.n(o)} · {self.n(c)} = {self.n(h)}"]
        else:
            lines = [
                f"h{u} = o{u} · {act.label}(c{u}) = {self.n(o)} · {act.label}({self.n(c)}) = "
                f"{self.n(o)} · {self.n(c_act)} = {self.n(h)}"
            ]
        lines += self._gate("o", wanted=float("nan"), pre=False)
        if abs(o) < 0.05:
            lines.append(
                f"The output gate of unit {k + 1} is closed (o{u} = {self.n(o)}), so its cell value "
                f"c{u} = {self.n(c)} never reaches h."
            )
        if self._close(wanted, c_act):
            left = "h = c" if act.name == "linear" else f"h = {act.label}(c)"
            lines.append(f"Your {self.n(wanted)} is what h{u} would be with the output gate left out ({left}).")
        elif self._close(wanted, c):
            lines.append(f"Your {self.n(wanted)} is c{u} itself: both the output gate and {act.label} were left out.")
        elif self._close(wanted, o * c):
            lines.append(f"Your {self.n(wanted)} is o{u} · c{u}: the activation {act.label} on c was left out.")
        return tuple(lines)

    def _lstm_c(self, wanted: float) -> tuple[str, ...]:
        run, s, b, k, u = self.run, self.s, self.b, self.k, self.u
        assert run.c is not None
        i, f, g = self.g("i"), self.g("f"), self.g("g")
        c_prev, c = float(run.c[s, b, k]), float(run.c[s + 1, b, k])
        lines = [
            f"c{u} = f{u} · c_prev{u} + i{u} · g{u} = {self.n(f)} · {self.n(c_prev)} + "
            f"{self.n(i)} · {self.n(g)} = {self.n(c)}"
        ]
        if self._close(wanted, i * g):
            lines.append(f"Your {self.n(wanted)} is i{u} · g{u} alone: the forget term f ⊙ c_prev was left out.")
        elif self._close(wanted, f * c_prev + g):
            lines.append(f"Your {self.n(wanted)} leaves out the input gate: f ⊙ c_prev + g.")
        elif self._close(wanted, f * c_prev + i * self.g("g", "pre")):
            lines.append(f"Your {self.n(wanted)} uses g before its activation {self.cell.activation.label}.")
        return tuple(lines)

    def _gru_h(self, wanted: float) -> tuple[str, ...]:
        run, s, b, k, u = self.run, self.s, self.b, self.k, self.u
        z, n = self.g("z"), self.g("n")
        h_prev, h = float(run.h[s, b, k]), float(run.h[s + 1, b, k])
        lines = [
            f"h{u} = z{u} · h_prev{u} + (1 − z{u}) · n{u} = {self.n(z)} · {self.n(h_prev)} + "
            f"(1 − {self.n(z)}) · {self.n(n)} = {self.n(h)}"
        ]
        if self._close(wanted, (1 - z) * h_prev + z * n):
            lines.append(f"Your {self.n(wanted)} swaps z and 1 − z: here z keeps the old state, 1 − z lets n in.")
        return tuple(lines)


def expected_text(result: Result, precision: int) -> tuple[str, str]:
    want = result.item.values.reshape(result.got.shape)
    return _flat(want, precision), _flat(result.got, precision)


def _flat(values: np.ndarray, precision: int) -> str:
    if values.ndim >= 2 and values.shape[0] == 1:
        values = values[0]
    if values.ndim == 1:
        return vec(values, precision)
    return "[" + ", ".join(_flat(v, precision) for v in values) + "]"
