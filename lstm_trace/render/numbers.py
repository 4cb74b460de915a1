"""How numbers read: integral values as integers, exactly; others with a fixed precision.

`num` is the one place a number becomes text. A Fraction (`--exact`) reads as
an integer or p/q (`-3/10`), whatever the precision. `--precision auto` is a
`Shortest`: each float with the fewest digits that read back to the same value
in the scenario's dtype (float32 0.1 reads 0.1, not 0.1000 nor 0.10000000149).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from fractions import Fraction

import numpy as np

DEFAULT_PRECISION = 4
_FLOAT32_MAX = float(np.finfo(np.float32).max)


def fraction_text(value: Fraction) -> str:
    """An exact value: '3' for an integer, '-3/10' for the rest."""
    return str(value.numerator) if value.denominator == 1 else f"{value.numerator}/{value.denominator}"


SUBSCRIPTS = str.maketrans("0123456789-", "₀₁₂₃₄₅₆₇₈₉₋")


def scalar(value: object) -> float | Fraction:
    """One recorded value as a number to format: a Fraction stays exact (--exact), anything else is a float."""
    return value if isinstance(value, Fraction) else float(value)  # type: ignore[arg-type]


def sub(n: int | str) -> str:
    """t = 12 → '₁₂', for x₁₂ and h₀."""
    return str(n).translate(SUBSCRIPTS)


class Shortest(int):
    """`--precision auto` for one dtype: each value with the fewest digits that read back to it.

    It stands wherever a digit count does (an int: 17, enough digits for any
    float64), so every signature that takes a precision takes it unchanged.
    """

    dtype: str

    def __new__(cls, dtype: str = "float64") -> Shortest:
        self = super().__new__(cls, 17)
        self.dtype = dtype
        return self

    def __repr__(self) -> str:
        return f"Shortest({self.dtype!r})"

    def text(self, v: float) -> str:
        """float32: the shortest float32 digits where v is a float32 value; otherwise Python's repr."""
        if self.dtype == "float32" and abs(v) <= _FLOAT32_MAX and float(np.float32(v)) == v:
            return str(np.float32(v))
        return repr(v)


AUTO = Shortest()  # what --precision auto parses to, before the scenario's dtype is known


def for_dtype(precision: int, dtype: str) -> int:
    """`precision`, with auto resolved for the scenario's dtype."""
    return Shortest(dtype) if isinstance(precision, Shortest) else precision


def num(value: float | Fraction, precision: int = DEFAULT_PRECISION) -> str:
    """One number: 27084252 stays 27084252, 0.76159 becomes 0.7616, 1e-9 becomes 1.0000e-09, 3/10 stays 3/10."""
    if isinstance(value, Fraction):
        return fraction_text(value)
    v = float(value)
    if math.isnan(v):
        return "nan"
    if math.isinf(v):
        return "inf" if v > 0 else "-inf"
    if v.is_integer() and abs(v) < 1e16:
        return str(int(v)) if v != 0 else "0"
    if isinstance(precision, Shortest):
        return precision.text(v)
    if 10**-precision <= abs(v) < 1e7:
        return f"{v:.{precision}f}"
    return f"{v:.{precision}e}"


def factor(value: float | Fraction, precision: int = 4) -> str:
    """A number as the right-hand factor of a product: negatives in parentheses, 2·(-0.5)."""
    text = num(value, precision)
    return f"({text})" if text.startswith("-") else text


def signed_sum(values: Sequence[float | Fraction], precision: int = 4) -> str:
    """Terms of a sum with their signs: 0.0439 − 0.5383 + 2, never '+ -0.5383'."""
    out = num(values[0], precision)
    for value in values[1:]:
        text = num(value, precision)
        out += f" − {text[1:]}" if text.startswith("-") else f" + {text}"
    return out


def vec(values: Sequence[float] | np.ndarray, precision: int = 4, shown: Sequence[int | None] | None = None) -> str:
    """A vector as '[0 4 1]'; `shown` picks units, None standing for elided ones."""
    data = np.asarray(values).reshape(-1)
    picks: Sequence[int | None] = list(range(len(data))) if shown is None else shown
    return "[" + " ".join("…" if k is None else num(data[k], precision) for k in picks) + "]"


def array_text(values: np.ndarray, precision: int = 4, edge: int = 3) -> str:
    """A nested array as nested brackets, eliding the middle of long axes like numpy does."""
    values = np.asarray(values)  # an object array's element is the Fraction itself, not a 0-d array
    if values.ndim == 0:
        return num(values.reshape(-1)[0], precision)  # the element itself: a float32 stays one
    n = values.shape[0]
    picks: list[int | None] = list(range(n)) if n <= 2 * edge + 1 else [*range(edge), None, *range(n - edge, n)]
    parts = ["…" if k is None else array_text(values[k], precision, edge) for k in picks]
    sep = " " if values.ndim == 1 else ", "
    return "[" + sep.join(parts) + "]"


def pick_units(count: int, limit: int | None, chosen: Sequence[int] | None = None) -> list[int | None]:
    """Which units to show: `chosen` if given, else all, or the first and last with None between."""
    units = list(chosen) if chosen is not None else list(range(count))
    if limit is None or len(units) <= limit:
        return list(units)
    head = (limit + 1) // 2
    tail = limit - head
    return [*units[:head], None, *units[len(units) - tail :]]
