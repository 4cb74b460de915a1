"""All steps at a glance: one strip per gate and state, for traces too long to read step by step.

Each character is a bucket of consecutive steps, shaded by the mean over the
shown units of what the engine recorded there (▁ lowest, █ highest in that
row's range); the numbers beside give the range, so a gate that saturates or a
state that drifts shows up without printing ten thousand tables.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from rich.console import Console, ConsoleOptions, RenderResult
from rich.rule import Rule
from rich.text import Text

from ..trace import Run
from .numbers import num

BARS = "▁▂▃▄▅▆▇█"


def strip(values: np.ndarray, width: int) -> str:
    """(T,) values as `width` characters, each the shaded mean of its bucket of steps."""
    buckets = [part.mean() if part.size else np.nan for part in np.array_split(values, min(width, len(values)))]
    data = np.asarray(buckets, dtype=np.float64)
    finite = np.isfinite(data)
    if not finite.any():
        return "?" * len(data)
    lo, hi = data[finite].min(), data[finite].max()
    span = hi - lo if hi > lo else 1.0
    return "".join(BARS[int((v - lo) / span * (len(BARS) - 1) + 0.5)] if np.isfinite(v) else "?" for v in data)


class StepsSummary:
    """Every step of one run for one batch row, a strip per gate, c and h."""

    def __init__(self, run: Run, batch: int, units: Sequence[int | None], precision: int) -> None:
        self.run, self.batch, self.p = run, batch, precision
        self.units = [k for k in units if k is not None]

    def rows(self) -> list[tuple[str, np.ndarray]]:
        run, b, cell = self.run, self.batch, self.run.cell
        rows = []
        for block in cell.blocks:
            values = run.act[:, b, cell.block(block.canonical)][:, self.units].mean(axis=1)
            name = block.canonical if block.native == block.canonical else f"{block.native}→{block.canonical}"
            rows.append((name, values))
        if run.c is not None:
            rows.append(("c", run.c[1:, b][:, self.units].mean(axis=1)))
        h = run.h[1:, b]
        rows.append(("h", h[:, [k for k in self.units if k < h.shape[1]] or [0]].mean(axis=1)))
        return rows

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        run = self.run
        title = f"all {run.steps} steps at a glance · batch row {self.batch + 1}"
        if len(self.units) < run.cell.units:
            title += f" · mean of units {', '.join(str(k + 1) for k in self.units)}"
        else:
            title += " · mean over units"
        yield Rule(Text(title, style="bold"), align="left", style="dim")
        rows = self.rows()
        ranges = [f"{num(np.nanmin(v), self.p)} … {num(np.nanmax(v), self.p)}" for _, v in rows]
        label = max(len(name) for name, _ in rows)
        span = max(len(r) for r in ranges)
        width = max(options.max_width - label - span - 4, 8)
        for (name, values), rng in zip(rows, ranges, strict=True):
            yield Text(f"{name.rjust(label)}  {strip(values, width)}  {rng.rjust(span)}")
        yield Text(f"{' ' * label}  t=1{' ' * max(width - 3 - len(str(run.steps)) - 2, 1)}t={run.steps}", style="dim")
        yield Text(
            "each column is a run of steps, shaded from its row's lowest (▁) to highest (█) mean; "
            "--steps picks steps to see in full",
            style="dim",
        )
        yield Text("")
