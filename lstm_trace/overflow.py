"""Where a run first produced NaN or inf, found after the fact from the recorded arrays.

The engine computes with numpy's warnings silenced, so that a student's
exploding linear LSTM still gets its whole trace; this module then names the
first step and gate that went non-finite, in the order the step computed them.
"""

from __future__ import annotations

import numpy as np

from .trace import Run


def first_nonfinite(run: Run, given: bool = False) -> str | None:
    """'layer 1 forward, step t=3: the f gate's pre-activation is inf at unit 2 (batch row 1)', or None."""
    if run.pre.dtype == object:  # --exact: Fractions neither overflow nor become NaN
        return None
    stages: list[tuple[str, np.ndarray]] = [("pre-activation", run.pre), ("activation", run.act)]
    if run.c is not None:
        stages.append(("cell state c", run.c[1:]))
    stages.append(("state h", run.h[1:]))
    firsts = []
    for name, data in stages:
        bad = ~np.isfinite(data.reshape(data.shape[0], -1)).all(axis=1)
        if bad.any():
            firsts.append((int(np.argmax(bad)), name, data))
    if not firsts:
        return None
    step = min(s for s, _, _ in firsts)
    name, data = next((n, d) for s, n, d in firsts if s == step)  # the earliest stage in computation order
    b, col = (int(k) for k in np.argwhere(~np.isfinite(data[step]))[0])
    value = data[step, b, col]
    what = "NaN" if np.isnan(value) else ("inf" if value > 0 else "-inf")
    if name in ("pre-activation", "activation"):
        units = run.cell.units
        gate = run.cell.native_name(run.cell.gates[col // units])
        owner = "h's" if run.cell.kind == "rnn" else f"the {gate} gate's"
        place, unit = f"{owner} {name}", col % units
    else:
        place, unit = name, col
    where = f"layer {run.layer} {run.direction}, step t={step + 1}"
    cause = "the NaN or inf given reaches the run" if given else "overflow"
    return (
        f"{cause}: {where}: {place} is {what} at unit {unit + 1} (batch row {b + 1}); "
        "what depends on it is not meaningful"
    )
