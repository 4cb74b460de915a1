"""A run's numbers formatted a span of steps at a time, for views that show consecutive steps.

`--steps all` or Markdown shows every step, each with a few dozen short
vectors (x, the states, c's activation, the table's rows). Formatted one
vector at a time, each call pays numpy's and Python's fixed costs for a
handful of numbers; formatted for up to `LIMIT` consecutive shown steps in one
call, those costs are shared and every number takes the bulk path. The texts
are those `nums` gives each vector alone: only the batching differs.

The plan is the list of steps the view will show, in order. A step outside
it (a view of one step, a state read one step past the last shown) is
formatted alone, as before.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Sequence

import numpy as np

from .numtext import nums

LIMIT = 32  # steps formatted together: enough to share the costs, few enough to keep a long trace streaming


class Spans:
    """Texts of per-step vectors, cached for the span of planned steps they were formatted with."""

    def __init__(self, precision: int, plan: Sequence[int] | None = None) -> None:
        self.p = precision
        shown = set(plan or ())
        # per kind of vector, how many indices from k on are needed without a gap: a step's own vectors are
        # needed at the planned steps; a state after k steps (index k of h or c) at steps k and k − 1
        self._ahead = (_runs(shown), _runs(shown | {s + 1 for s in shown}))
        self._cache: dict[Hashable, tuple[int, int, list[list[str]]]] = {}

    def texts(
        self, key: Hashable, k: int, pieces: Callable[[slice], Sequence[np.ndarray]], state: bool = False
    ) -> list[str]:
        """Index k's texts of `pieces` side by side, where `pieces(indices)` gives, for a slice of indices
        (steps; with `state`, steps done), arrays of shape (indices, n_i). They are formatted for the span of
        needed indices from k at once, and kept until an index outside it is asked for."""
        found = self._cache.get(key)
        if found is not None and found[0] <= k < found[1]:
            return found[2][k - found[0]]
        parts = pieces(slice(k, k + min(self._ahead[state].get(k, 1), LIMIT)))
        count = len(parts[0])
        block = np.concatenate([p.reshape(count, -1) for p in parts], axis=1)
        width = block.shape[1]
        flat = nums(block.reshape(-1), self.p)
        rows = [flat[n * width : (n + 1) * width] for n in range(count)]
        self._cache[key] = (k, k + count, rows)
        return rows[0]


def _runs(needed: set[int]) -> dict[int, int]:
    """For each needed index, how many needed indices follow from it without a gap (itself included)."""
    ahead: dict[int, int] = {}
    for k in sorted(needed, reverse=True):
        ahead[k] = ahead.get(k + 1, 0) + 1
    return ahead
