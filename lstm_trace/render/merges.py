"""How a returned output was merged from two directions, written out with its numbers for a few units.

A Keras Bidirectional merges its forward (f) and backward (b) outputs by its
merge_mode; the trace records each merge (`Trace.merges`: the two parts, both in
input time) and what it gave (`Trace.outputs`). These lines read both and
compute nothing: `sequence₁[1] = (f + b) / 2 = (0.3 + 0.5) / 2 = 0.4`.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from ..merge import FORMULAS, Merge
from ..trace import Trace
from .numbers import factor, num, signed_sum, sub

SHOWN = 3  # units worked out per merged output when none are chosen


def merge_lines(tr: Trace, precision: int, row: int = 0, units: Sequence[int] | None = None) -> list[str]:
    """For each merged output: what it merges, then its first step worked out for the chosen (or first) units."""
    lines = []
    for m in tr.merges:
        merged = np.asarray(tr.outputs[m.name])
        sequence = m.forward.ndim == 3
        what = "at each input time, b the backward layer's flipped back to input time" if sequence else (
            "(its last, of the last input), b the backward layer's last output (of the first input)")  # fmt: skip
        lines.append(f"{m.name} = {FORMULAS[m.mode]} per unit ({m.mode}): f the forward layer's output {what}")
        f, b, out = (a[row, 0] if sequence else a[row] for a in (m.forward, m.backward, merged))
        name = f"{m.name}{sub(1) if sequence else ''}"
        width = f.shape[-1]
        picks = [k for k in (units if units is not None else range(SHOWN)) if k < width]
        where = f" (batch row {row + 1})" if merged.shape[0] > 1 else ""
        lines += [_unit(m, name, k, f, b, out, width, precision) + where for k in picks]
    return lines


def _unit(m: Merge, name: str, k: int, f: np.ndarray, b: np.ndarray, out: np.ndarray, width: int, p: int) -> str:
    """One unit of a merge, from the recorded parts and the recorded result."""
    fk, bk = f[k], b[k]
    if m.mode == "concat":
        return f"{name}[{k + 1}] = f[{k + 1}] = {num(out[k], p)}, {name}[{width + k + 1}] = b[{k + 1}] = " + num(
            out[width + k], p
        )
    worked = {
        "sum": signed_sum([fk, bk], p),
        "mul": f"{num(fk, p)} × {factor(bk, p)}",
        "ave": f"({signed_sum([fk, bk], p)}) / 2",
    }[m.mode]
    return f"{name}[{k + 1}] = {FORMULAS[m.mode]} = {worked} = {num(out[k], p)}"
