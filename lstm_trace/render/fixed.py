"""Fixed-point texts of a whole float array, as `f"{v:.{p}f}"` writes each value, written by numpy.

float.__format__ takes about 200 ns a value, nearly all of it in finding the
correctly rounded digits. Here the digits come from n = rint(|x|·10^p), an
integer that numpy finds for the whole array at once, and the text from lookup
tables of 4-byte words (' -3.', '0421', ...): one row of words per value,
decoded and split into strs in one call each.

rint rounds the float product y = fl(|x|·10^p), not the exact |x|·10^p that
format rounds. Both lie on the same side of every k + 1/2, since the product's
rounding is monotone and k + 1/2 is a float (y < 2^52 here), so they round
alike unless y is such a half itself (a tie like 0.125 at p = 2, or 0.35 at
p = 1: just below 0.35 in binary, but 3.5 once multiplied). Those values are
left to the caller, as are the ones `num` writes otherwise (integers, nan and
inf, below 10^-p) and those from 9999 on.
"""

from __future__ import annotations

import functools

import numpy as np

MAX_PRECISION = 11  # y < 9999·10^11 < 2^52: every k + 1/2 up to y is a float
_BELOW = 9999.0  # from here on, values are left to the caller; below, they have 1 to 4 digits before the point
_BLOCK = 8192  # values at a time: a block's arrays and text stay in cache


def _words(texts: list[str], width: int) -> np.ndarray:
    """Texts of `width` ASCII chars (a multiple of 4) as rows of 4-byte words, ready to gather."""
    return np.frombuffer("".join(texts).encode("ascii"), np.uint32).reshape(len(texts), width // 4)


@functools.cache
def _integral(digits: int) -> np.ndarray:
    """' 3.', ' -3.' for every integral part with up to `digits` digits, right-aligned with a space before
    (4 bytes for one digit, 8 for up to 4): the positives' rows, then the negatives' rows."""
    width = 4 if digits == 1 else 8
    parts = [str(q) for q in range(10**digits)]
    return _words([f"{q}.".rjust(width) for q in parts] + [f"-{q}.".rjust(width) for q in parts], width)


@functools.cache
def _decimals(k: int) -> np.ndarray:
    """'0421' for every k-digit run of decimals (k ≤ 4), spaces after it to 4 bytes."""
    return _words([f"{c:0{k}d}".ljust(4) for c in range(10**k)], 4)[:, 0]


def fixed(x: np.ndarray, precision: int) -> tuple[list[str], list[int]]:
    """`format(v, f".{precision}f")` for each float64 of a 1-d array (precision 1 to MAX_PRECISION), and the
    indices of the values it did not write (their texts in the list are placeholders)."""
    if len(x) <= _BLOCK:
        return _block(x, precision)
    texts: list[str] = []
    left: list[int] = []
    for start in range(0, len(x), _BLOCK):
        part, others = _block(x[start : start + _BLOCK], precision)
        texts += part
        left += [start + k for k in others]
    return texts, left


def _block(x: np.ndarray, p: int) -> tuple[list[str], list[int]]:
    """`fixed` for up to _BLOCK values."""
    size = np.abs(x)
    size = np.where(size < _BELOW, size, 0.0)  # nan and inf too: nothing after this overflows
    y = size * 10.0**p
    n = np.rint(y)
    ok = np.abs(y - n) < 0.5  # y is no half, so n is the exact product rounded (y - n is exact)
    ok &= n > 1  # 0 and 1: zero, or |x| below (or just at) 10^-p, which num writes as 1e-05
    ok &= np.trunc(x) != x  # integers, which num writes as such
    digits = 4 if n.max(initial=0.0) >= 10.0 ** (p + 1) else 1  # 9.99995 has 2: 10.0000
    whole = n.astype(np.int64)
    q = whole // 10**p
    r = whole - q * 10**p
    q += np.signbit(x) * 10**digits
    table = _integral(digits)
    full, k = divmod(p, 4)
    lead = table.shape[1]
    rows = np.empty((len(x), lead + full + (k > 0)), np.uint32)
    for j in range(lead):
        rows[:, j] = table[:, j][q]
    if k:  # the last k decimals, then spaces
        rest = r // 10**k
        rows[:, -1] = _decimals(k)[r - rest * 10**k]
        r = rest
    four = _decimals(4)
    for j in range(lead + full - 1, lead, -1):
        rest = r // 10000
        rows[:, j] = four[r - rest * 10000]
        r = rest
    if full:
        rows[:, lead] = four[r]
    texts = rows.tobytes().decode("ascii").split()
    return texts, np.flatnonzero(~ok).tolist()
