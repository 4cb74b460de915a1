"""How many units per gate block fit the terminal, found by measuring the table rather than building it again
for every count.

A table only widens as it shows more units: each unit brings a column at least one character wide and two
apart, and the `…` that stands for the elided ones is one character too. So the most units that fit is
found by bisection on the table's width. The widths are measured on the views of one build, made with the
most units that could ever fit (each unit takes at least three columns, so never more than `width // 3 + 2`)
and narrowed to each count tried: the cost follows the terminal's width, not the layer's.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import replace

from ..trace import Run
from .grid import Grid
from .numbers import pick_units
from .views import Row, StepBuilder, StepView


def _largest(lo: int, hi: int, fits: Callable[[int], bool]) -> int | None:
    """The largest n in [lo, hi] that fits, where every n up to some point fits and none after; None if none."""
    if hi < lo or not fits(lo):
        return None
    while lo < hi:
        mid = (lo + hi + 1) // 2
        if fits(mid):
            lo = mid
        else:
            hi = mid - 1
    return lo


def narrowed(view: StepView, shown: Sequence[int | None], units: Sequence[int | None]) -> StepView:
    """`view` (built for `shown` units) showing only `units`, a subset of them (None: the elided ones)."""
    at = {k: n for n, k in enumerate(shown) if k is not None}
    picks = [None if k is None else at[k] for k in units]

    def cell(values: tuple[str, ...] | str) -> tuple[str, ...] | str:
        return values if isinstance(values, str) else tuple("…" if n is None else values[n] for n in picks)

    rows = tuple(Row(r.label, tuple(cell(c) for c in r.cells), r.role, key=r.key) for r in view.rows)
    return replace(view, rows=rows, units=tuple(units))


def fit_units(
    run: Run, width: int, chosen: Sequence[int] | None, precision: int, places: Sequence[tuple[int, int]]
) -> int:
    """The most units per gate block whose tables fit `width` at every (step, batch row) in `places`: side by
    side if three or more fit, else with the blocks stacked (at least 2)."""
    count = run.cell.units
    total = len(chosen) if chosen is not None else count
    most = min(total, width // 3 + 2)  # a unit's column is at least one character and two apart
    shown = pick_units(count, most, chosen)
    builder = StepBuilder(run, shown, precision)
    views = [view for s, b in places if (view := builder.table(s, b)).rows]  # a skipped step shows no table
    if not views:
        return total

    def fits(limit: int, groups: Sequence[Sequence[int] | None]) -> bool:
        units = pick_units(count, limit, chosen)
        smaller = [narrowed(view, shown, units) for view in views]
        return all(Grid(view, blocks).width <= width for view in smaller for blocks in groups)

    side = _largest(min(3, total), most, lambda n: fits(n, [None]))  # the blocks side by side
    if side is not None:
        return side
    return _largest(2, most, lambda n: fits(n, [[k] for k in range(len(run.cell.gates))])) or 2  # stacked
