"""nums and fixed.py: many numbers at once, each written exactly as `num` writes it alone.

`num` is the reference throughout: nums must give its text for every value,
whichever way it takes (one by one, float.__format__ mapped, or fixed.py's numpy).
"""

from __future__ import annotations

import numpy as np
import pytest

from lstm_trace.render.fixed import MAX_PRECISION, fixed
from lstm_trace.render.numbers import num
from lstm_trace.render.numtext import _LONG, nums

LONG = 3 * _LONG  # long enough for fixed.py


def spread(rng: np.random.Generator, count: int) -> np.ndarray:
    """Values of every size a trace holds and beyond: 1e-14 to 1e9, both signs."""
    return rng.normal(size=count) * 10.0 ** rng.integers(-14, 10, count)


def awkward(precision: int) -> list[float]:
    """Values at the edges of what each way writes, for one precision."""
    unit = 10.0**-precision
    edges = [0.0, -0.0, 1.0, -3.0, 5e-324, 1e-300, 1e-5, 5e-5, 1e-4, 9.999e-5, 0.00015, 0.5, 0.125, 0.375, 0.03125,
             2.5, 1 / 3, -2 / 3, 0.99995, 0.49995, 1.00001, 9.99995, 9.9999, 10.0, 99.99995, 999.99995, 9998.99995,
             9998.9999, 9999.0, 9999.4, 9999.5, 9999.99995, 10000.5, 1e6 + 0.5, 9999999.99995, 1e7, 1e7 + 0.5, 1e15,
             1e16, 1e17, 123456789.5, 27084252.0, float("nan"), float("inf"),
             unit, 2 * unit, 1.5 * unit, 0.5 * unit, 0.5000001 * unit, 10 - unit / 2, 10 - unit / 2 * 1.0000001,
             10 - unit / 2 * 0.9999999]  # fmt: skip
    near = [float(np.nextafter(v, d)) for v in edges for d in (-np.inf, np.inf)]
    values = [*edges, *near]
    return values + [-v for v in values]


def ties(rng: np.random.Generator, precision: int, count: int) -> np.ndarray:
    """Decimal ties at `precision` (k + 1/2 units of its last digit) as the nearest floats, and exact binary
    ties (an odd multiple of 2^-(p+1)), both signs: where rounding y = fl(|x|·10^p) goes wrong."""
    whole = rng.integers(0, 10 ** min(precision + 4, 15), count)
    decimal = (whole + 0.5) / 10.0**precision
    binary = (2 * rng.integers(0, 2 ** min(precision + 12, 50), count) + 1) * 2.0 ** -(precision + 1)
    values = np.concatenate([decimal, binary])
    return values * rng.choice([-1.0, 1.0], len(values))


@pytest.mark.parametrize("precision", range(0, MAX_PRECISION + 3))
@pytest.mark.parametrize("dtype", ["float64", "float32", "float16"])
def test_many_numbers_read_as_num_writes_each(precision: int, dtype: str) -> None:
    rng = np.random.default_rng(precision)
    arrays = [np.array(awkward(precision) * 3), spread(rng, 3000), np.round(spread(rng, LONG), precision + 1),
              ties(rng, precision, LONG), rng.normal(size=20000), rng.uniform(-1, 1, LONG)]  # fmt: skip
    for values in arrays:
        with np.errstate(over="ignore"):
            data = values.astype(dtype)  # float16 holds no 1e7: inf
        assert nums(data, precision) == [num(v, precision) for v in data]


# Decimal ties as floats: y = fl(|x|·10^p) is k + 1/2 exactly, and rint rounds it to even, but x itself lies
# off the tie (its exact binary value shown), so num rounds it the other way.
SHARP = [
    (0.35, 1, "0.3"),  # 0.3499999999999999777955...
    (0.45, 1, "0.5"),  # 0.4500000000000000111022...
    (-0.45, 1, "-0.5"),
    (99.99995, 4, "99.9999"),  # 99.999949999999998340...
    (9998.99995, 4, "9998.9999"),  # 9998.9999499999994441...
    (0.123456795, 8, "0.12345679"),  # 0.1234567949999999...
    (-2.718281835, 8, "-2.71828183"),  # -2.7182818349999999...
]


def test_ties_round_as_the_exact_value_does() -> None:
    for value, precision, text in SHARP:
        scaled = abs(value) * 10.0**precision
        assert scaled % 1 == 0.5 and np.rint(scaled) % 10 != int(text[-1])  # rint alone would write it wrong
        data = np.full(LONG, value)
        data[::2] = 0.25  # among others, as in a view
        texts = nums(data, precision)
        assert texts[1::2] == [text] * (LONG // 2)
        assert texts[1] == num(value, precision)
    # exact ties round to even, as format does: 0.125 → 0.12, 0.375 → 0.38, 0.03125 → 0.0312
    assert nums(np.array([0.125, 0.375, -0.125] * LONG), 2)[:3] == ["0.12", "0.38", "-0.12"]
    assert nums(np.array([0.03125, 0.09375] * LONG), 4)[:2] == ["0.0312", "0.0938"]


def test_edges_read_as_num_writes_them() -> None:
    values = np.array([9.99995, -9.99995, 9999999.99995, 1.00001, -0.0, 0.00005, 0.000050000001, 0.0001, 1e-4 * 1.5,
                       9998.99995, 9999.5, 1e-320, 12.0, float("nan"), -float("inf")] * LONG)  # fmt: skip
    texts = nums(values, 4)[:15]
    assert texts == ["10.0000", "-10.0000", "9999999.9999", "1.0000", "0", "5.0000e-05", "5.0000e-05", "0.0001",
                     "0.0002", "9998.9999", "9999.5000", "9.9999e-321", "12", "nan", "-inf"]  # fmt: skip


@pytest.mark.parametrize("precision", range(1, MAX_PRECISION + 1))
def test_fixed_writes_nearly_all_itself_as_format_does(precision: int) -> None:
    rng = np.random.default_rng(100 + precision)
    data = rng.uniform(-1, 1, 5000) * 10.0 ** rng.integers(0, 4, 5000)  # what a trace holds: below 1000
    data[::50] = ties(rng, precision, 50)[:100]
    texts, left = fixed(data, precision)
    assert len(texts) == len(data)
    kept = sorted(set(range(len(data))) - set(left))
    assert len(kept) > 0.9 * len(data)  # not everything handed back: ties, and 0.15 and below at p = 1, are
    spec = f".{precision}f"
    assert [texts[k] for k in kept] == [format(float(data[k]), spec) for k in kept]
    ones = np.array([1.0, -2.0, 0.0, np.nan, np.inf, 1e-15, 12345.6] * 20)
    assert sorted(set(fixed(ones, precision)[1])) == list(range(len(ones)))  # num writes each of them otherwise


def test_long_arrays_go_in_blocks() -> None:
    rng = np.random.default_rng(7)
    data = rng.normal(size=50_000).astype(np.float32)
    data[12345] = 3.0
    texts = nums(data, 4)
    assert texts == [num(v, 4) for v in data]
    assert texts[12345] == "3"
