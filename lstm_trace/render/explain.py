"""Every equation of one unit at one step: in symbols, then with the numbers, then the result.

    f₁[2] = σ(x₁·W_f[:,2] + h₀·U_f[:,2] + b_f[2]) = σ(0.3 + 0 + 1) = σ(1.3) = 0.7858

The notation is the one every view uses: the step as a subscript, the unit in
brackets (h₂[3] is h at step 2, unit 3), weight columns named by gate block
and unit (W_f[:,2]). In equations the candidate is always g (a GRU's n) and c
is always the cell state. Everything comes from the run's record: the terms a
block summed and the operations after the sum, as the engine recorded them.
"""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction

from ..model import Cell
from ..trace import GateRecord, Run, Term
from .numbers import AUTO, factor, num, scalar, signed_sum, sub


def unit(name: str, t: int | str, k: int) -> str:
    """h₂[3]: quantity `name` at step t, unit k (both from 1)."""
    return f"{name}{sub(t)}[{k}]"


def term_row_label(term: str, cell: Cell, x: str, h_prev: str) -> str:
    """How a table row names a term for a whole step: x₁·W, + h₀·U, + b, + r⊙(h₀·U+b_rec)."""
    names = cell.names
    return {
        "xW": f"{x}·W",
        "hU": f"{h_prev}·U",
        "b": names.bias_label,
        "b_rec": names.recurrent_bias_label,
        "forget_bias": names.runtime_bias_label,
        "peephole": "w⊙c",
        "reset": f"r⊙({h_prev}·U+{names.recurrent_bias_label})",
    }[term]


def chain(*parts: str) -> str:
    """a = b = c, with a step that repeats the one before it left out."""
    kept = [p for k, p in enumerate(parts) if k == 0 or p != parts[k - 1]]
    return " = ".join(kept)


@dataclass(frozen=True)
class Explainer:
    """The arithmetic of unit k (0-based) of batch row b at step s (0-based) of one run."""

    run: Run
    s: int
    b: int
    precision: int = 4

    @property
    def cell(self) -> Cell:
        return self.run.cell

    @property
    def t(self) -> int:
        return self.s + 1

    def n(self, value: float | Fraction) -> str:
        return num(value, self.precision)

    def value(self, name: str, k: int) -> float | Fraction:
        """A recorded value of this step: a gate (`i`), its sum (`pre_i`), or the state (`c`, `h`, `c_prev`...)."""
        return scalar(self.run.quantity(name, self.s)[self.b, k])

    # ---- gate blocks --------------------------------------------------------------------------
    def _w(self, matrix: str, gate: str, k: int) -> str:
        block = f"_{gate}" if len(self.cell.gates) > 1 else ""
        return f"{matrix}{block}[:,{k + 1}]"

    def _term_symbol(self, term: Term, gate: str, k: int) -> str:
        t, cell, names = self.t, self.cell, self.cell.names
        x = f"x{sub(int(self.run.reads[self.s]) + 1)}"
        block = f"_{gate}" if len(cell.gates) > 1 else ""
        if term.key == "xW":
            return f"{x}·{self._w('W', gate, k)}"
        if term.key == "hU":
            if cell.kind == "gru" and gate == "n":  # without reset_after, r resets h before the product
                return f"(r{sub(t)}⊙h{sub(t - 1)})·{self._w('U', gate, k)}"
            return f"h{sub(t - 1)}·{self._w('U', gate, k)}"
        if term.key == "b":
            return f"{names.bias_label}{block}[{k + 1}]"
        if term.key == "b_rec":
            return f"{names.recurrent_bias_label}{block}[{k + 1}]"
        if term.key == "forget_bias":
            return names.runtime_bias_label
        if term.key == "peephole":
            c = unit("c", t if gate == "o" else t - 1, k + 1)
            return f"w_{gate}[{k + 1}]·{c}"
        rec = f"{names.recurrent_bias_label}{block}[{k + 1}]"
        return f"{unit('r', t, k + 1)}·(h{sub(t - 1)}·{self._w('U', gate, k)} + {rec})"

    def terms(self, gate: str, k: int) -> tuple[list[str], list[float | Fraction]]:
        """The symbols and values of the terms the engine summed into `gate` for unit k, in its order."""
        record = self.run.blocks[gate]
        symbols = [self._term_symbol(term, gate, k) for term in record.terms]
        values = [scalar(term.at(self.s, self.b)[k]) for term in record.terms]
        return symbols, values

    def gate(self, gate: str, k: int, pre: bool = False) -> str:
        """The whole equation of gate `gate` (or with `pre`, of its sum alone) for unit k."""
        record: GateRecord = self.run.blocks[gate]
        lhs = unit(f"pre_{gate}" if pre else gate, self.t, k + 1)
        one_minus = record.op("one_minus")
        if one_minus is not None and not pre:
            i = self.value("i", k)
            return f"{lhs} = 1 − {unit('i', self.t, k + 1)} = 1 − {self.n(i)} = {self.n(self.value(gate, k))}"
        symbols, values = self.terms(gate, k)
        total = self.value(f"pre_{gate}", k)
        sym, numbers = " + ".join(symbols), signed_sum(values, self.precision) if values else "0"
        if pre:
            return f"{lhs} = {sym} = {numbers} = {self.n(total)}"
        clip, act = record.op("clip"), record.op("act")
        assert act is not None and act.activation is not None
        given = total
        if clip is not None:
            bound = num(clip.bound or 0, AUTO)
            sym, numbers = f"clip({sym}, ±{bound})", f"clip({numbers}, ±{bound})"
            given = scalar(clip.out[self.s, self.b, k])
        parts = [sym, numbers, self.n(given)]
        if act.activation.name != "linear":
            parts = [f"{act.activation.label}({part})" for part in parts]
        return chain(lhs, *parts, self.n(self.value(gate, k)))

    # ---- the state ----------------------------------------------------------------------------
    def cell_state(self, k: int) -> str:
        run, t, n = self.run, self.t, self.n
        rules = self.cell.rules
        f, i, g, c_prev = (self.value(q, k) for q in ("f", "i", "g", "c_prev"))
        parts_sym, parts_num = [], []
        if rules.forget_term:
            parts_sym.append(f"{unit('f', t, k + 1)} · {unit('c', t - 1, k + 1)}")
            parts_num.append(f"{n(f)} · {factor(c_prev, self.precision)}")
        if rules.input_gate:
            parts_sym.append(f"{unit('i', t, k + 1)} · {unit('g', t, k + 1)}")
            parts_num.append(f"{n(i)} · {factor(g, self.precision)}")
        else:
            parts_sym.append(unit("g", t, k + 1))
            parts_num.append(factor(g, self.precision))
        sym, numbers = " + ".join(parts_sym), " + ".join(parts_num)
        clip = run.update("cell_clip")
        c = self.value("c", k)
        if clip is None:
            return f"{unit('c', t, k + 1)} = {sym} = {numbers} = {n(c)}"
        raw = scalar(run.update("cell_update").out[self.s, self.b, k])  # type: ignore[union-attr]
        bound = num(clip.bound or 0, AUTO)
        return f"{unit('c', t, k + 1)} = clip({sym}, ±{bound}) = clip({n(raw)}, ±{bound}) = {n(c)}"

    def lstm_output(self, k: int) -> str:
        """h (or m, before a projection) = o ⊙ act(c) for unit k."""
        run, t, n = self.run, self.t, self.n
        act = run.update("act_c")
        assert act is not None and act.activation is not None
        projected = run.update("projection") is not None
        name = "m" if projected else "h"
        c_name = unit("c", t if self.cell.rules.new_cell_state else t - 1, k + 1)
        c = self.value("c" if self.cell.rules.new_cell_state else "c_prev", k)
        c_act = scalar(act.out[self.s, self.b, k])
        out = scalar(run.update("output").out[self.s, self.b, k])  # type: ignore[union-attr]
        label = act.activation.label
        linear = act.activation.name == "linear"
        inner_sym = c_name if linear else f"{label}({c_name})"
        inner_num = [n(c)] if linear else [f"{label}({n(c)})", factor(c_act, self.precision)]
        if not self.cell.rules.output_gate:
            return " = ".join([unit(name, t, k + 1), inner_sym, *inner_num, n(out)])
        o = n(self.value("o", k))
        nums = [f"{o} · {factor(c, self.precision)}"] if linear else [f"{o} · {x}" for x in inner_num]
        return " = ".join([unit(name, t, k + 1), f"{unit('o', t, k + 1)} · {inner_sym}", *nums, n(out)])

    def projection(self, k: int) -> str:
        run, t = self.run, self.t
        names = self.cell.names
        h = self.n(scalar(run.h[self.s + 1, self.b, k]))
        formula = f"m{sub(t)}·{names.projection}[:,{k + 1}]"
        clip = run.update("proj_clip")
        if clip is not None:
            bound = num(clip.bound or 0, AUTO)
            before = self.n(scalar(run.update("projection").out[self.s, self.b, k]))  # type: ignore[union-attr]
            return f"{unit('h', t, k + 1)} = clip({formula}, ±{bound}) = clip({before}, ±{bound}) = {h}"
        return f"{unit('h', t, k + 1)} = {formula} = {h}"

    def gru_state(self, k: int) -> str:
        t, n = self.t, self.n
        z, h_prev, g = self.value("z", k), self.value("h_prev", k), self.value("n", k)
        zs, hs, ns = unit("z", t, k + 1), unit("h", t - 1, k + 1), unit("n", t, k + 1)
        h = n(self.value("h", k))
        fh, fn = factor(h_prev, self.precision), factor(g, self.precision)
        lhs = unit("h", t, k + 1)
        if self.cell.rules.update_swapped:
            return f"{lhs} = (1 − {zs}) · {hs} + {zs} · {ns} = (1 − {n(z)}) · {fh} + {n(z)} · {fn} = {h}"
        return f"{lhs} = {zs} · {hs} + (1 − {zs}) · {ns} = {n(z)} · {fh} + (1 − {n(z)}) · {fn} = {h}"

    def state(self, name: str, k: int) -> list[str]:
        """The update of state `name` (c or h) for unit k, and the equations it rests on."""
        kind = self.cell.kind
        if kind == "rnn":
            return [self.gate("h", k)]
        if kind == "gru":
            return [self.gru_state(k)]
        if name == "c":
            return [self.cell_state(k)]
        if self.run.update("projection") is not None:  # h has P units: unit k of the cell has none past them
            return [self.projection(k)] if k < self.cell.output_size else []
        return [self.lstm_output(k)]

    def step(self, k: int) -> list[str]:
        """Every equation of this step for unit k, in the order the step computes them."""
        kind = self.cell.kind
        if kind == "rnn":
            return [self.gate("h", k)]
        lines = [self.gate(g, k) for g in self.cell.gates]
        if kind == "gru":
            return [*lines, self.gru_state(k)]
        lines.append(self.cell_state(k))
        lines.append(self.lstm_output(k))
        if self.run.update("projection") is not None and k < self.cell.output_size:  # h has P units
            lines.append(self.projection(k))
        return lines
