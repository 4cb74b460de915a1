"""Numbers as JSON text, a whole array at a time.

Every value reads as `number` writes it: an integral value (below 2**53) as an
integer, a float32 with the shortest digits that read back to the same float32
(numpy's `str`), a float64 as Python's `repr`, a non-finite value as null, an
exact Fraction (`--exact`) as an integer or the string "p/q".

Formatting one number at a time costs about a microsecond each, and a long
trace holds millions. So float arrays go to orjson in one call: its shortest
round-trip digits are the same digits, and in the range where both write them
positionally (`_PLAIN`) the same text. That was checked for every
non-integral float32 in that range (278 million, orjson 3.13, numpy 2.4) and
38 million float64 samples; tests/test_jsonout.py checks samples of both.
The few values outside it (integral, non-finite, tiny, huge) are written by
`number` and put in place.
"""

from __future__ import annotations

from fractions import Fraction

import numpy as np
import orjson

from .numbers import fraction_text

# Per dtype, the magnitudes (exclusive) where orjson's text is numpy's str (float32) or repr (float64).
_PLAIN = {np.dtype(np.float32): (1e-4, 1e6), np.dtype(np.float64): (1e-4, 1e15)}
_INTEGRAL_LIMIT = 2**53


def number(value: float | Fraction, f32: bool) -> str:
    """One value as JSON text; `f32` when it is a float32, whose shortest digits are fewer than a float64's."""
    if isinstance(value, Fraction):  # --exact: an integer, or the string "p/q"
        return str(value) if value.denominator == 1 else f'"{fraction_text(value)}"'
    if not np.isfinite(value):
        return "null"
    if float(value).is_integer() and abs(value) < _INTEGRAL_LIMIT:
        return str(int(value))
    return str(np.float32(value)) if f32 else repr(float(value))


def rows(values: np.ndarray) -> list[str]:
    """The text of each innermost vector of `values`, in C order: its numbers joined by ', ', no brackets."""
    width = values.shape[-1] if values.ndim else 1
    count = int(np.prod(values.shape[:-1], dtype=np.int64))
    if width == 0:
        return [""] * count
    flat = values.reshape(count, width)
    plain = _PLAIN.get(values.dtype)
    if plain is None:  # --exact's Fractions, and dtypes the engine does not compute in: one at a time
        f32 = values.dtype == np.float32
        return [", ".join(number(v, f32) for v in row) for row in flat.tolist()]
    pieces = _orjson_rows(flat)
    with np.errstate(invalid="ignore"):
        size = np.abs(flat)
        ok = (size > plain[0]) & (size < plain[1]) & (np.trunc(flat) != flat)  # False for NaN and inf too
        if not ok.all():
            _put_special(flat, ok, pieces)
    return pieces


def _orjson_rows(flat: np.ndarray) -> list[str]:
    """orjson's text of each row of a 2-D array, its numbers joined by ', ' as json.dumps joins them."""
    text = orjson.dumps(np.ascontiguousarray(flat), option=orjson.OPT_SERIALIZE_NUMPY)
    return text[2:-2].replace(b",", b", ").decode("ascii").split("], [")


def _put_special(flat: np.ndarray, ok: np.ndarray, pieces: list[str]) -> None:
    """Rewrite, in `pieces`, the values orjson writes otherwise: whole integral rows at once, the rest one by one."""
    integral = np.isfinite(flat) & (np.trunc(flat) == flat) & (np.abs(flat) < _INTEGRAL_LIMIT)
    all_integral = integral.all(axis=1)
    whole = np.flatnonzero(all_integral)
    if whole.size:  # h0 = 0, integer weights: rows of integers, written as integers in one call
        for r, piece in zip(whole.tolist(), _orjson_rows(flat[whole].astype(np.int64)), strict=True):
            pieces[r] = piece
    f32 = flat.dtype == np.float32
    for r in np.flatnonzero(~ok.all(axis=1) & ~all_integral).tolist():
        items = pieces[r].split(", ")
        row = flat[r].tolist()
        for j in np.flatnonzero(~ok[r]).tolist():
            items[j] = number(row[j], f32)
        pieces[r] = ", ".join(items)


def nest(pieces: list[str], shape: tuple[int, ...]) -> str:
    """Nested JSON lists of `shape` from the texts of its innermost vectors (as `rows` gives them)."""
    texts = [f"[{piece}]" for piece in pieces]
    for n in reversed(shape[:-1]):
        texts = ["[" + ", ".join(texts[i : i + n]) + "]" for i in range(0, len(texts), n)]
    return texts[0]


def array_json(values: np.ndarray) -> str:
    """A numpy array as nested JSON lists of plain numbers."""
    if values.ndim == 0:
        return number(values.item(), values.dtype == np.float32)
    if values.size == 0:
        return "[" + ", ".join(array_json(v) for v in values) + "]"
    return nest(rows(values), values.shape)
