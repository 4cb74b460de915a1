"""A whole gradient, summed over the steps: one number of a weight's (or the inputs') gradient, written out.

    dW_g[2,1] = Σₜ xₜ[2]·δpre_gₜ[1] = -1·20 = -20

`check` shows these for a wrong gradient: what each step added to that one
number (back_explain.py writes a step's own equations). The products are read
from the backward and forward records; the result is the recorded gradient.
"""

from __future__ import annotations

from collections.abc import Sequence

from ..backward import BackRun
from .back_explain import MANY, BackExplainer, Line, Number, signed
from .numbers import factor, num, scalar, sub


def _sum_of(pairs: Sequence[tuple[Number, Number]], precision: int) -> str:
    """a·b + c·d over the products that are not zero (one factor 1: the other alone), or 0."""
    parts = [
        num(a, precision) if b == 1 else f"{num(a, precision)}·{factor(b, precision)}" for a, b in pairs if a and b
    ]
    return signed(parts) if parts else "0"


def total_line(back: BackRun, name: str, index: tuple[int, ...], precision: int = 4) -> Line:
    """One element of a canonical weight's gradient (`grads[name][index]`) as the sum over the steps, and the
    batch rows, of what each step added: dW_g[2,1] = Σₜ xₜ[2]·δpre_gₜ[1] = 0·20 + (-1)·0 = ..."""
    run, cell = back.run, back.run.cell
    value = scalar(back.grads[name][index])
    rows = " and batch rows" if run.h.shape[1] > 1 else ""
    every = [(s, b) for s in range(run.steps) for b in range(run.h.shape[1])]
    gates = len(cell.gates) > 1

    def gate_of(col: int) -> tuple[str, int, str]:
        gate, k = cell.gates[col // cell.units], col % cell.units
        return gate, k, f"_{gate}" if gates else ""

    if name in ("kernel", "recurrent"):
        row, col = index
        gate, k, block = gate_of(col)
        if name == "kernel":
            lhs, source, d = f"dW{block}[{row + 1},{k + 1}]", "xₜ", back.dpre
            values = run.x
        else:
            lhs, source, d, values = f"dU{block}[{row + 1},{k + 1}]", "hₜ₋₁", back.dhu, run.h[:-1]
            if cell.kind == "gru" and gate == "n" and not cell.reset_after:
                assert run.gated is not None
                source, values = "(rₜ⊙hₜ₋₁)", run.gated
        delta = f"δ(h·U){block}ₜ" if d is back.dhu and cell.kind == "gru" and cell.reset_after else f"δpre{block}ₜ"
        pairs = [(scalar(values[s, b, row]), scalar(d[s, b, col])) for s, b in every]
        symbols = f"Σₜ {source}[{row + 1}]·{delta}[{k + 1}]"
    elif name in ("bias", "recurrent_bias"):
        (col,) = index
        gate, k, block = gate_of(col)
        label = cell.names.bias_label if name == "bias" else cell.names.recurrent_bias_label
        d = back.dpre if name == "bias" else back.dhu
        lhs, symbols = f"d{label}{block}[{k + 1}]", f"Σₜ δ{'pre' if name == 'bias' else '(h·U)'}{block}ₜ[{k + 1}]"
        pairs = [(scalar(d[s, b, col]), 1) for s, b in every]
    elif name == "peepholes":
        row, k = index
        gate = "ifo"[row]
        col = cell.block(gate).start + k
        c = run.c[1:] if gate == "o" else run.c[:-1]  # type: ignore[index]
        lhs, symbols = f"dw_{gate}[{k + 1}]", f"Σₜ δpre_{gate}ₜ[{k + 1}]·c{'ₜ' if gate == 'o' else 'ₜ₋₁'}[{k + 1}]"
        pairs = [(scalar(back.dpre[s, b, col]), scalar(c[s, b, k])) for s, b in every]
    else:  # projection (H, P): dP[k,j] = Σₜ mₜ[k]·δpₜ[j]
        k, j = index
        assert run.m is not None
        lhs, symbols = f"d{cell.names.projection}[{k + 1},{j + 1}]", f"Σₜ mₜ[{k + 1}]·δpₜ[{j + 1}]"
        pairs = [(scalar(run.m[s, b, k]), scalar(back.extra["p_in"][s, b, j])) for s, b in every]
    nonzero = [(a, b) for a, b in pairs if a and b]
    numbers = _sum_of(nonzero, precision)
    if len(nonzero) > MANY:  # one partial sum per step
        per_step = [sum((a * b for (s, _), (a, b) in zip(every, pairs, strict=True) if s == t), start=0)
                    for t in range(run.steps)]  # fmt: skip
        numbers = signed([num(v, precision) for v in per_step if v]) or "0"
    return Line(lhs, symbols + (f" (over the steps{rows})" if rows else ""), numbers, value, name, precision)


def input_line(back: BackRun, s: int, b: int, f: int, precision: int = 4) -> Line:
    """dL/dx at the input a step read: Σⱼ δz_t[j]·W[f,j], what the step's sums send back through W."""
    run, cell = back.run, back.run.cell
    explainer = BackExplainer(back, s, b, precision)
    blocks = [(back.dpre[s, b][cell.block(g)], cell.kernel[f][cell.block(g)]) for g in cell.gates]
    read = int(run.reads[s]) + 1
    return Line(
        f"δx{sub(read)}[{f + 1}]",
        f"Σⱼ δ{cell.pre_symbol}{sub(s + 1)}[j]·W[{f + 1},j]",
        explainer.dot(blocks),
        scalar(back.dx[s, b, f]),
        "x",
        precision,
    )
