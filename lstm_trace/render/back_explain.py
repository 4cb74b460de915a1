"""Every backward equation of one unit at one step: in symbols, then with the numbers, then the result.

    δc₂[1] = δh₂[1]·o₂[1]·linear′(c₂[1]) + δc₃[1]·f₃[1] = 3·2·1 + 0·0 = 6

δ is dL/d (δh₂[1] is dL/dh₂[1]); δh_out₂ is what reaches h₂ from outside the
recurrence (its output row, the final state, the layer above). The pieces in
the middle are the recorded numbers the backward pass multiplied and added
(backward.py's record, and the forward run's), and the result is the value it
recorded: nothing here is computed again, so a wrong piece shows as a sum that
does not add up, never as a silently different answer. The numbers part is
plain arithmetic (·, +, −, parentheses, ²), so it can be evaluated as written.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from fractions import Fraction

import numpy as np

from ..backward import BackRun
from ..model import Cell
from ..trace import Run
from .explain import chain, unit
from .numbers import factor, num, scalar, sub

Number = float | Fraction
MANY = 8  # more products than this in one Σ: shown as one partial sum per gate block
DERIVATIVES = {  # act′ as a teacher writes it
    "sigmoid": "σ′(z) = σ(z)(1 − σ(z))",
    "tanh": "tanh′(z) = 1 − tanh²(z)",
    "linear": "linear′(z) = 1",
    "relu": "relu′(z) = 1 where z > 0, else 0",
}


def derivative(name: str, label: str) -> str:
    """How act′ reads in a note: σ′(z) = σ(z)(1 − σ(z)); an activation without a short formula: its name′."""
    return DERIVATIVES.get(name, f"{label}′(z): the derivative of {label} at z")


def signed(parts: Sequence[str]) -> str:
    """Pieces of a sum with their signs: 3·2 − 1·4, never '+ -1·4' (a product's sign is its first factor's)."""
    out = parts[0]
    for part in parts[1:]:
        out += f" − {part[1:]}" if part.startswith("-") else f" + {part}"
    return out


@dataclass(frozen=True)
class Line:
    """One equation: `quantity` names the recorded value it ends in (BackRun.quantity's names, `slope_i`)."""

    lhs: str
    symbols: str
    numbers: str
    value: Number
    quantity: str
    precision: int
    short: str = ""  # the numbers as a step's vector equation shows them, where shorter

    def __str__(self) -> str:
        return chain(self.lhs, self.symbols, self.numbers, num(self.value, self.precision))


@dataclass(frozen=True)
class BackExplainer:
    """The backward arithmetic of unit k (0-based) of batch row b at step s (0-based; −1: the initial state)."""

    back: BackRun
    s: int
    b: int
    precision: int = 4
    vector: bool = False  # symbols for a whole step (δc₂ = δh₂ ⊙ o₂ ...): a step's vector equations

    def u(self, name: str, t: int, k: int) -> str:
        """δh₂[3], or δh₂ for the whole step."""
        return f"{name}{sub(t)}" if self.vector else unit(name, t, k + 1)

    def wk(self, name: str, k: int) -> str:
        """A per-unit weight (w_o[3]), or the whole vector."""
        return name if self.vector else f"{name}[{k + 1}]"

    @property
    def x(self) -> str:
        """An elementwise product: · for one unit, ⊙ for the step."""
        return " ⊙ " if self.vector else "·"

    def sigma(self, d: str, matrix: str, k: int) -> str:
        """Σⱼ δz₃[j]·U[2,j] for unit k, δz₃·Uᵀ for the step."""
        if self.vector:  # a matrix named as a transpose (torch's W_hrᵀ) is transposed back
            return f"{d}·{matrix[:-1]}" if matrix.endswith("ᵀ") else f"{d}·{matrix}ᵀ"
        return f"Σⱼ {d}[j]·{matrix}[{k + 1},j]"

    def total(self, d: str, y: str) -> str:
        """Σⱼ δy₃[j]·y₃[j] (one number for the whole block, in a softmax's derivative)."""
        return f"Σ({d} ⊙ {y})" if self.vector else f"Σⱼ {d}[j]·{y}[j]"

    @property
    def run(self) -> Run:
        return self.back.run

    @property
    def cell(self) -> Cell:
        return self.back.run.cell

    @property
    def t(self) -> int:
        return self.s + 1

    def n(self, value: Number) -> str:
        return num(value, self.precision)

    def f(self, value: Number) -> str:
        return factor(value, self.precision)

    def fwd(self, name: str, k: int, s: int | None = None) -> Number:
        """A forward value: a gate, its sum (`pre_i`), the state (`c`, `h_prev`...) at step s (default: this)."""
        return scalar(self.run.quantity(name, self.s if s is None else s)[self.b, k])

    def d(self, name: str, k: int, s: int | None = None) -> Number:
        """A recorded δ (BackRun.quantity's names) at step s (default: this)."""
        return scalar(self.back.quantity(name, self.s if s is None else s)[self.b, k])

    def active(self, s: int) -> bool:
        return self.run.active is None or bool(self.run.active[s, self.b])

    def _line(self, lhs: str, symbols: str, numbers: str, quantity: str, value: Number, short: str = "") -> Line:
        return Line(lhs, symbols, numbers, value, quantity, self.precision, short)

    def _w(self, matrix: str, gate: str, row: int | str, col: int | str) -> str:
        block = f"_{gate}" if len(self.cell.gates) > 1 else ""
        return f"{matrix}{block}[{row},{col}]"

    def dot(self, blocks: Sequence[tuple[np.ndarray, np.ndarray]]) -> str:
        """Σⱼ d[j]·w[j] with numbers: the products that are not zero, or one partial sum per block when many."""
        picked = [(ds[m], ws[m]) for ds, ws in blocks if (m := (ds != 0) & (ws != 0)).any()]
        count = sum(len(ds) for ds, _ in picked)
        if not count:
            return "0"
        if count <= MANY:
            parts = [
                f"{self.n(scalar(d))}·{self.f(scalar(w))}" for ds, ws in picked for d, w in zip(ds, ws, strict=True)
            ]
        else:
            parts = [self.n(scalar((ds * ws).sum())) for ds, ws in picked]
        return parts[0] if len(parts) == 1 else f"({signed(parts)})"

    # ---- the state ----------------------------------------------------------------------------
    def h(self, k: int) -> Line:
        """δh_t[k] = (from outside) δh_out_t[k] + (from step t+1) what δz_{t+1} sends back through U."""
        back, t = self.back, self.t
        syms, nums, short = [], [], []
        out = scalar(back.dh_out[t][self.b, k])
        if t > 0 or out != 0:
            syms.append(self.u("δh_out", t, k))
            nums.append(self.n(out))
            short.append(self.n(out))
        if t < self.run.steps:
            sym, numbers = self._h_from_next(k)
            syms.append(sym)
            nums.append(numbers)
            short.append(self.n(scalar(back.dh[t][self.b, k]) - out))
        value = scalar(back.dh[t][self.b, k])
        return self._line(self.u("δh", t, k), " + ".join(syms), signed(nums), "h" if t else "h_prev", value,
                          signed(short))  # fmt: skip

    def _h_from_next(self, k: int) -> tuple[str, str]:
        """(symbols, numbers) of what step t+1 sends back to h_t[k]."""
        cell, b, x = self.cell, self.b, self.x
        nxt, t1 = self.s + 1, self.t + 1
        if not self.active(nxt):
            return f"{self.u('δh', t1, k)} (step {t1} held this row's state)", self.n(self.d("h", k, nxt))
        u = cell.recurrent[k]
        dhu = self.back.dhu[nxt][b]
        blocks = [(dhu[cell.block(g)], u[cell.block(g)]) for g in cell.gates]
        if cell.kind != "gru":
            return self.sigma(f"δ{cell.pre_symbol}{sub(t1)}", "U", k), self.dot(blocks)
        z = self.fwd("z", k, nxt)
        z_sym = self.u("z", t1, k)
        if cell.rules.update_swapped:
            keep_sym, keep_num = f"(1 − {z_sym})", f"(1 − {self.n(z)})"
        else:
            keep_sym, keep_num = z_sym, self.f(z)
        syms = [f"{self.u('δh', t1, k)}{x}{keep_sym}"]
        nums = [f"{self.n(self.d('h', k, nxt))}·{keep_num}"]
        if cell.reset_after:  # δ(h·U) is δpre, and in n δpre ⊙ r: every block's product read h_t itself
            syms.append(self.sigma(f"δ(h·U){sub(t1)}", "U", k))
            nums.append(self.dot(blocks))
        else:  # n's product read r ⊙ h_t: its part reaches h_t[k] through r_{t+1}[k]
            syms.append(self.sigma(f"δpre_zr{sub(t1)}", "U_zr", k))
            nums.append(self.dot(blocks[:2]))
            syms.append(f"{self.u('r', t1, k)}{x}({self.sigma(f'δpre_n{sub(t1)}', 'U_n', k)})")
            n_cols = cell.block("n")
            nums.append(f"{self.n(self.fwd('r', k, nxt))}·{self.dot([(self.back.dpre[nxt][b][n_cols], u[n_cols])])}")
        return " + ".join(syms), signed(nums)

    def c(self, k: int) -> Line:
        """δc_t[k]: from outside, from h_t (δh ⊙ o ⊙ act′(c)), o's peephole, and from step t+1 (⊙ f_{t+1})."""
        back, t, s = self.back, self.t, self.s
        assert back.dc is not None and back.dc_out is not None
        syms, nums = [], []
        if back.dc_out.any():
            syms.append(self.u("δc_out", t, k))
            nums.append(self.n(scalar(back.dc_out[t][self.b, k])))
        if s >= 0 and self.active(s):
            sym, numbers = self._c_from_h(k)
            syms.append(sym)
            nums.append(numbers)
            if self.cell.peepholes is not None:
                syms.append(f"{self.u('δpre_o', t, k)}{self.x}{self.wk('w_o', k)}")
                nums.append(f"{self.n(self.d('pre_o', k))}·{self.f(self.cell.peepholes[2][k])}")
        if t < self.run.steps:
            sym, numbers = self._c_from_next(k)
            syms.append(sym)
            nums.append(numbers)
        value = scalar(back.dc[t][self.b, k])
        quantity = "c" if t else "c_prev"
        if not syms:
            return self._line(self.u("δc", t, k), "0", "0", quantity, value)
        return self._line(self.u("δc", t, k), " + ".join(syms), signed(nums), quantity, value)

    def _c_from_h(self, k: int) -> tuple[str, str]:
        """c_t's path through its own h_t (or m_t): δ(act c) ⊙ act′(c), δ(act c) = δh ⊙ o."""
        t, act, x = self.t, self.cell.cell_activation, self.x
        source = "δm" if self.run.update("projection") is not None else "δh"
        dsrc = self.d("m" if source == "δm" else "h", k)
        c = self.u("c", t, k)
        head_sym, head_num = self.u(source, t, k), self.n(dsrc)
        if self.cell.rules.output_gate:
            head_sym += f"{x}{self.u('o', t, k)}"
            head_num += f"·{self.f(self.fwd('o', k))}"
        if self.back.c_slope is not None:
            return f"{head_sym}{x}{act.label}′({c})", f"{head_num}·{self.f(self.d('c_slope', k))}"
        # an activation over all units (softmax): y ⊙ (δy − Σⱼ δy[j]·y[j]), δy = δ(act c)
        y, dy = self.run.c_act[self.s][self.b], self.back.extra["act_c"][self.s][self.b]  # type: ignore[index]
        y_sym, dy_sym = f"{act.label}({c})", f"δ{act.label}({c})"
        inner = f"{dy_sym} − {self.total(f'δ{act.label}(c{sub(t)})', f'{act.label}(c{sub(t)})')}"
        return f"{y_sym}{x}({inner})", f"{self.n(scalar(y[k]))}·({self.n(scalar(dy[k]))} − {self.dot([(dy, y)])})"

    def _c_from_next(self, k: int) -> tuple[str, str]:
        """c_t[k]'s paths into step t+1: f_{t+1} (through its cell clip), and i's and f's peepholes."""
        run, cell, nxt, t1, x = self.run, self.cell, self.s + 1, self.t + 1, self.x
        dc = self.d("c", k, nxt)
        if not self.active(nxt):
            return f"{self.u('δc', t1, k)} (step {t1} held this row's state)", self.n(dc)
        syms, nums = [], []
        if cell.rules.forget_term:
            sym, numbers = self.u("δc", t1, k), self.n(dc)
            if run.update("cell_clip") is not None:
                assert run.c_unclipped is not None
                passed = run.c_unclipped[nxt, self.b, k] == run.c[nxt + 1, self.b, k]  # type: ignore[index]
                sym += f"{x}clip′({self.u('ĉ', t1, k)})"
                numbers += f"·{1 if passed else 0}"
            syms.append(f"{sym}{x}{self.u('f', t1, k)}")
            nums.append(f"{numbers}·{self.f(self.fwd('f', k, nxt))}")
        if cell.peepholes is not None:
            for row, gate in enumerate("if"):
                syms.append(f"{self.u('δpre_' + gate, t1, k)}{x}{self.wk('w_' + gate, k)}")
                nums.append(f"{self.n(self.d('pre_' + gate, k, nxt))}·{self.f(cell.peepholes[row][k])}")
        return " + ".join(syms), signed(nums) if nums else "0"

    def projection(self, k: int) -> list[Line]:
        """δp_t[k] = δh_t[k]·clip′ (where h is clipped), and δm_t[k] = Σⱼ δp_t[j]·P[k,j] (k over the cell's units)."""
        run, t, cell = self.run, self.t, self.cell
        assert cell.projection is not None
        lines = []
        source = "δh"
        if run.update("proj_clip") is not None:
            source = "δp"
            if k < cell.projection.shape[1]:
                assert run.p_unclipped is not None
                passed = run.p_unclipped[self.s, self.b, k] == run.h[self.t, self.b, k]
                lines.append(self._line(
                    self.u("δp", t, k), f"{self.u('δh', t, k)}{self.x}clip′({self.u('p̂', t, k)})",
                    f"{self.n(self.d('h', k))}·{1 if passed else 0}", "p_in", self.d("p_in", k),
                ))  # fmt: skip
        if k < cell.units:
            dp = self.back.extra["p_in"][self.s][self.b]
            lines.append(self._line(
                self.u("δm", t, k), self.sigma(f"{source}{sub(t)}", cell.names.projection, k),
                self.dot([(dp, cell.projection[k])]), "m", self.d("m", k),
            ))  # fmt: skip
        return lines

    # ---- gate blocks --------------------------------------------------------------------------
    def gate(self, gate: str, k: int) -> Line:
        """δ of gate `gate` after its activation: what the state update sends it (LSTM, GRU)."""
        return self._lstm_gate(gate, k) if self.cell.kind == "lstm" else self._gru_gate(gate, k)

    def _lstm_gate(self, gate: str, k: int) -> Line:
        run, t, cell, x = self.run, self.t, self.cell, self.x
        lhs, value = self.u(f"δ{gate}", t, k), self.d(gate, k)
        if gate == "o":
            source = "δm" if run.update("projection") is not None else "δh"
            dsrc = self.d("m" if source == "δm" else "h", k)
            act = cell.cell_activation
            c = self.u("c", t, k)
            inner = c if act.name == "linear" else f"{act.label}({c})"
            c_act = scalar(run.c_act[self.s][self.b, k])  # type: ignore[index]
            return self._line(lhs, f"{self.u(source, t, k)}{x}{inner}", f"{self.n(dsrc)}·{self.f(c_act)}", gate, value)
        dc_sym, dc_num = self.u("δc", t, k), self.n(self.d("c", k))
        if run.update("cell_clip") is not None:
            assert run.c_unclipped is not None and run.c is not None
            passed = run.c_unclipped[self.s, self.b, k] == run.c[self.s + 1, self.b, k]
            dc_sym += f"{x}clip′({self.u('ĉ', t, k)})"
            dc_num += f"·{1 if passed else 0}"
        if gate == "g" and not cell.rules.input_gate:
            return self._line(lhs, dc_sym, dc_num, gate, value)
        name, sym = {
            "i": ("g", self.u("g", t, k)),
            "f": ("c_prev", self.u("c", t - 1, k)),
            "g": ("i", self.u("i", t, k)),
        }[gate]
        symbols, numbers = f"{dc_sym}{x}{sym}", f"{dc_num}·{self.f(self.fwd(name, k))}"
        if gate == "i" and cell.coupled_forget:  # f = 1 − i sends −δf to i
            symbols += f" − {self.u('δf', t, k)}"
            numbers = signed([numbers, "-" + self.f(self.d("f", k))])
        return self._line(lhs, symbols, numbers, gate, value)

    def _gru_gate(self, gate: str, k: int) -> Line:
        run, t, cell, x = self.run, self.t, self.cell, self.x
        lhs, value = self.u(f"δ{gate}", t, k), self.d(gate, k)
        dh_sym, dh = self.u("δh", t, k), self.n(self.d("h", k))
        z_sym, z = self.u("z", t, k), self.fwd("z", k)
        swapped = cell.rules.update_swapped
        if gate == "n":
            if swapped:
                return self._line(lhs, f"{dh_sym}{x}{z_sym}", f"{dh}·{self.f(z)}", gate, value)
            return self._line(lhs, f"{dh_sym}{x}(1 − {z_sym})", f"{dh}·(1 − {self.n(z)})", gate, value)
        if gate == "z":
            h_prev, cand = self.u("h", t - 1, k), self.u("n", t, k)
            a, b = (self.fwd("n", k), self.fwd("h_prev", k)) if swapped else (self.fwd("h_prev", k), self.fwd("n", k))
            sa, sb = (cand, h_prev) if swapped else (h_prev, cand)
            return self._line(lhs, f"{dh_sym}{x}({sa} − {sb})", f"{dh}·({self.n(a)} − {self.f(b)})", gate, value)
        dn_sym, dn = self.u("δpre_n", t, k), self.n(self.d("pre_n", k))
        cols = cell.block("n")
        if cell.reset_after:  # r ⊙ (h·U_n + b_rec_n)
            hu = scalar(run.hu[self.s][self.b, cols][k])
            product = f"h{sub(t - 1)}·U_n" if self.vector else f"h{sub(t - 1)}·U_n[:,{k + 1}]"
            syms, nums = [product], [self.n(hu)]
            if cell.recurrent_bias is not None:
                syms.append(self.wk(f"{cell.names.recurrent_bias_label}_n", k))
                nums.append(self.n(scalar(cell.recurrent_bias[cols][k])))
            return self._line(lhs, f"{dn_sym}{x}({' + '.join(syms)})", f"{dn}·({signed(nums)})", gate, value)
        dots = self.dot([(self.back.dpre[self.s][self.b][cols], cell.recurrent[k][cols])])
        return self._line(
            lhs, f"({self.sigma(f'δpre_n{sub(t)}', 'U_n', k)}){x}{self.u('h', t - 1, k)}",
            f"{dots}·{self.f(self.fwd('h_prev', k))}", gate, value,
        )  # fmt: skip

    def pre(self, gate: str, k: int) -> Line:
        """δ of the gate's sum: δz = δgate ⊙ act′(z) (⊙ the clip's pass, where the sum was clipped)."""
        run, t, cell, x = self.run, self.t, self.cell, self.x
        record = run.blocks[gate]
        lhs, value = self.u(f"δpre_{gate}", t, k), self.d(f"pre_{gate}", k)
        if record.op("one_minus") is not None:
            return self._line(lhs, "0 (f = 1 − i: its own sum is unused)", "0", f"pre_{gate}", value)
        act = record.op("act")
        assert act is not None and act.activation is not None
        label = act.activation.label
        dg_sym, dg = self.u(f"δ{gate}" if cell.kind != "rnn" else "δh", t, k), self.d(gate, k)
        z = self.u(f"pre_{gate}", t, k)
        clip = record.op("clip")
        clip_sym = clip_num = ""
        if clip is not None:
            passed = clip.out[self.s, self.b, k] == record.pre[self.s, self.b, k]
            clip_sym, clip_num = f"{x}clip′({z})", f"·{1 if passed else 0}"
            z = f"clip({z})"
        if not act.activation.elementwise:  # softmax over the block: y ⊙ (δy − Σⱼ δy[j]·y[j])
            y, dy = record.act[self.s][self.b], self.back.dact[self.s][self.b][cell.block(gate)]
            inner = f"{dg_sym} − {self.total(f'δ{gate}{sub(t)}', f'{gate}{sub(t)}')}"
            return self._line(
                lhs, f"{self.u(gate, t, k)}{x}({inner}){clip_sym}",
                f"{self.n(scalar(y[k]))}·({self.n(dg)} − {self.dot([(dy, y)])}){clip_num}", f"pre_{gate}", value,
            )  # fmt: skip
        slope = self.d(f"slope_{gate}", k)
        symbols = f"{dg_sym}{x}{label}′({z}){clip_sym}"
        return self._line(lhs, symbols, f"{self.n(dg)}·{self.f(slope)}{clip_num}", f"pre_{gate}", value)

    def slope(self, gate: str, k: int) -> Line | None:
        """σ′ and tanh′ from the gate's own value, as a teacher derives them; None for other activations."""
        record, t = self.run.blocks[gate], self.t
        act = record.op("act")
        if act is None or act.activation is None or act.activation.name not in ("sigmoid", "tanh"):
            return None
        a_sym, a = self.u(gate, t, k), self.fwd(gate, k)
        z = self.u(f"pre_{gate}", t, k)
        value = self.d(f"slope_{gate}", k)
        if act.activation.name == "sigmoid":
            return self._line(f"σ′({z})", f"{a_sym}·(1 − {a_sym})", f"{self.n(a)}·(1 − {self.f(a)})",
                              f"slope_{gate}", value)  # fmt: skip
        return self._line(f"tanh′({z})", f"1 − {a_sym}²", f"1 − {self.f(a)}²", f"slope_{gate}", value)

    # ---- what the step adds to the weights' gradients --------------------------------------------
    def adds(self, gate: str, k: int) -> list[str]:
        """This row's part of the step's dW, dU and db columns for unit k of `gate` (nothing when δpre is 0)."""
        run, cell, t, b = self.run, self.cell, self.t, self.b
        col = cell.block(gate).start + k
        dz, dhu = self.back.dpre[self.s][b][col], self.back.dhu[self.s][b][col]
        if dz == 0 and dhu == 0:
            return []
        x = run.x[self.s][b]
        read = f"x{sub(int(run.reads[self.s]) + 1)}"
        dz_sym = unit(f"δpre_{gate}", t, k + 1)
        lines = [self._outer(self._w("dW", gate, ":", k + 1), f"{read}ᵀ·{dz_sym}", x, scalar(dz))]
        h = run.h[self.s][b]
        h_sym, du_sym = f"h{sub(t - 1)}", dz_sym
        if cell.kind == "gru" and gate == "n":
            assert run.gated is not None
            if cell.reset_after:  # the product read h; its δ is δpre_n ⊙ r
                du_sym = f"({dz_sym}·{unit('r', t, k + 1)})"
            else:  # the product read r ⊙ h
                h, h_sym = run.gated[self.s][b], f"(r{sub(t)}⊙h{sub(t - 1)})"
        lines.append(self._outer(self._w("dU", gate, ":", k + 1), f"{h_sym}ᵀ·{du_sym}", h, scalar(dhu)))
        block = f"_{gate}" if len(cell.gates) > 1 else ""
        names = cell.names
        if cell.bias is not None:
            lines.append(f"d{names.bias_label}{block}[{k + 1}] += {dz_sym} = {self.n(scalar(dz))}")
        if cell.recurrent_bias is not None:
            lines.append(f"d{names.recurrent_bias_label}{block}[{k + 1}] += {du_sym} = {self.n(scalar(dhu))}")
        return lines

    def _outer(self, lhs: str, symbols: str, vector: np.ndarray, d: Number) -> str:
        values = " ".join(self.n(scalar(v)) for v in vector)
        result = " ".join(self.n(scalar(v) * d) for v in vector)
        return f"{lhs} += {symbols} = [{values}]ᵀ·{self.f(d)} = [{result}]"

    # ---- all of it ------------------------------------------------------------------------------
    def lines(self, k: int) -> list[Line]:
        """Every equation of this step for unit k, in the order a teacher writes them on the board."""
        cell, run = self.cell, self.run
        out: list[Line] = []
        if k < run.h.shape[-1]:
            out.append(self.h(k))
        if self.s < 0:
            return [*out, self.c(k)] if cell.kind == "lstm" and k < cell.units else out
        if cell.kind == "lstm" and cell.projection is not None:
            out += self.projection(k)
        if k >= cell.units or not self.active(self.s):
            if cell.kind == "lstm" and k < cell.units:
                out.append(self.c(k))
            return out
        order = {"lstm": ("o", "c", "i", "f", "g"), "gru": ("z", "n", "r"), "rnn": ()}[cell.kind]
        for name in order:
            out.append(self.c(k) if name == "c" else self.gate(name, k))
        for gate in cell.gates:
            slope = self.slope(gate, k)
            if slope is not None:
                out.append(slope)
            out.append(self.pre(gate, k))
        return out

    def step(self, k: int) -> list[str]:
        """The lines as text, then what the step adds to each weight's gradient for unit k."""
        text = [str(line) for line in self.lines(k)]
        if self.s >= 0 and k < self.cell.units:
            text += [line for gate in self.cell.gates for line in self.adds(gate, k)]
        return text
