"""Many numbers at once, each written exactly as `num` writes it.

A step's view formats hundreds of numbers, and a long trace's views millions;
`num` takes about a microsecond for each, most of it deciding how to write the
number, and float.__format__ alone about 200 ns. A long float array goes to
fixed.py, which writes the values `num` writes positionally with numpy (about
60 ns each) and leaves the others (integral, non-finite, tiny or huge values,
and exact halves it cannot round as format does: few in a real trace) to
`num`. A shorter one goes through float.__format__ mapped in C, patched the same
way, and the shortest through format or `num` one value at a time.
tests/test_numtext.py checks the text against `num`. Anything else (Fractions
with --exact, --precision auto, integers) goes through `num` one value at a time.
"""

from __future__ import annotations

from collections.abc import Sequence
from itertools import repeat

import numpy as np

from .fixed import MAX_PRECISION, fixed
from .numbers import Shortest, num

ELIDED = "…"
_SHORT = 40  # below this many values, a loop in Python is quicker than numpy's calls
_LONG = 112  # from this many values on, fixed.py's numpy calls are quicker than float.__format__


def nums(values: np.ndarray, precision: int) -> list[str]:
    """`[num(v, precision) for v in values]` for a 1-d array, a whole float array at a time."""
    data = np.asarray(values)
    if data.dtype.kind != "f" or isinstance(precision, Shortest):
        return [num(v, precision) for v in data.reshape(-1)]
    x = data.astype(np.float64, copy=False).reshape(-1)  # a float32 exactly, as num reads it
    if len(x) >= _LONG and 1 <= precision <= MAX_PRECISION:
        out, left = fixed(x, precision)
    else:
        floats, spec, low = x.tolist(), f".{precision}f", 10**-precision
        if len(floats) < _SHORT:  # a numpy call costs more than a few values formatted one by one
            return [
                format(v, spec) if low <= abs(v) < 1e7 and not v.is_integer() else num(v, precision) for v in floats
            ]
        out = list(map(float.__format__, floats, repeat(spec)))  # num's f-string, without a call in Python for each
        size = np.abs(x)
        plain = (size >= low) & (size < 1e7) & (x != np.trunc(x))  # nan and inf fail the first two
        left = np.flatnonzero(~plain).tolist()
    for k in left:  # what num writes otherwise: integers, nan and inf, tiny and huge values (and fixed's ties)
        out[k] = num(float(x[k]), precision)
    return out


def factors(texts: Sequence[str]) -> list[str]:
    """Numbers' texts as right-hand factors of products, as `factor` writes them: 2·(-0.5)."""
    return [f"({text})" if text[:1] == "-" else text for text in texts]


class Picks:
    """Shown units (None for the elided ones) as indices to gather, and where the `…` go back in."""

    def __init__(self, units: Sequence[int | None]) -> None:
        self.units = list(units)
        self.index = np.array([k for k in self.units if k is not None], dtype=np.intp)
        self.gaps = [n for n, k in enumerate(self.units) if k is None]

    def place(self, texts: Sequence[str], filler: str = ELIDED) -> tuple[str, ...]:
        """One text per shown unit, `filler` where a unit is elided."""
        if not self.gaps:
            return tuple(texts)
        if len(self.gaps) == 1:  # elided in the middle, as a wide layer's units are
            n = self.gaps[0]
            return (*texts[:n], filler, *texts[n:])
        out = list(texts)
        for n in self.gaps:
            out.insert(n, filler)
        return tuple(out)

    def texts(self, values: np.ndarray, precision: int) -> list[str]:
        """The shown units' numbers (the elided left out)."""
        return nums(np.asarray(values)[self.index], precision)

    def cells(self, values: np.ndarray, precision: int) -> tuple[str, ...]:
        """The shown units' numbers, `…` where elided: what a table row holds for one gate block."""
        return self.place(self.texts(values, precision))

    def vector(self, values: np.ndarray, precision: int) -> str:
        """'[0 4 … 1]', as `vec` writes the shown units."""
        return self.bracket(self.texts(values, precision))

    def bracket(self, texts: Sequence[str]) -> str:
        """The shown units' texts as `vector` writes them: '[0 4 … 1]'."""
        return "[" + " ".join(self.place(texts)) + "]"
