"""torch packed sequences: `pack_padded_sequence(x, lengths)` into the layer, `pad_packed_sequence` out of it.

    packed = pack_padded_sequence(x, lengths, batch_first=..., enforce_sorted=...)
    output, (h_n, c_n) = lstm(packed)
    sequence, _ = pad_packed_sequence(output, batch_first=..., total_length=...)

A packed row is run for its own length only: the engine's per-row lengths (`Network.lengths`) hold a row's state
past its length and start a reverse direction at the row's own last valid step, which is exactly what torch
computes; pad_packed_sequence returns zeros past each length, as long as the longest row (or total_length).
enforce_sorted only decides whether torch refuses unsorted lengths: torch sorts the rows for its kernels and
returns every output, h_n and c_n in the order the rows were given.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from .. import limits
from ..errors import ScenarioError, Where, unknown_name
from .base import Raw, typed

PACK = ("lengths", "batch_first", "enforce_sorted")
PAD = ("total_length", "batch_first")


@dataclass(frozen=True, eq=False)
class Packing:
    """What the two calls were given: each row's length, and the padded length T' that comes back."""

    lengths: np.ndarray  # (B,) from 1 to T
    steps_out: int  # max(lengths), or total_length
    batch_first: bool  # pack_padded_sequence's: the layout of x (the scenario's inputs are batch-major anyway)
    enforce_sorted: bool


def read_packing(raw: Raw) -> Packing | None:
    """config.pack_padded_sequence (and pad_packed_sequence), or None for an input that was not packed.

    Refused as torch refuses them: a length below 1, a length count other than B, lengths out of decreasing
    order with enforce_sorted (torch's default), a total_length below the longest; and, which torch leaves
    undefined, a length beyond the T steps given."""
    if "pack_padded_sequence" not in raw.config:
        if "pad_packed_sequence" in raw.config:
            raise ScenarioError(
                "pad_packed_sequence pads a PackedSequence, and the input was not packed",
                raw.where("config", "pad_packed_sequence"),
                expected="config.pack_padded_sequence: {lengths: [...]} as well",
            )
        return None
    pack, where = _section(raw, "pack_padded_sequence", PACK)
    pad, pad_where = _section(raw, "pad_packed_sequence", PAD)
    batch_first = _flag(pack, where, "batch_first", False)
    enforce_sorted = _flag(pack, where, "enforce_sorted", True)
    _flag(pad, pad_where, "batch_first", False)  # pad_packed_sequence's layout of the output: checked, no effect
    if "lengths" not in pack:
        raise ScenarioError("pack_padded_sequence needs lengths", where, expected="lengths: each batch row's length")
    lengths = _lengths(raw, pack["lengths"], _at(pack, where, "lengths"), enforce_sorted)
    longest = int(lengths.max())
    total = pad.get("total_length")
    if total is not None:
        total = typed(total, int, _at(pad, pad_where, "total_length"))
        if total * raw.batch > limits.MAX_ELEMENTS:  # the padded output alone would not fit
            raise ScenarioError(
                "total_length too large to trace", _at(pad, pad_where, "total_length"),
                expected=f"at most {limits.MAX_ELEMENTS // raw.batch:,} steps", found=f"{total:,}",
            )  # fmt: skip
        if total < longest:
            raise ScenarioError(
                f"Expected total_length to be at least the length of the longest sequence in input, but got "
                f"total_length={total} and max sequence length being {longest}",
                _at(pad, pad_where, "total_length"),
            )
    return Packing(lengths, longest if total is None else int(total), batch_first, enforce_sorted)


def _section(raw: Raw, name: str, valid: tuple[str, ...]) -> tuple[Mapping[str, Any], Where]:
    """One call's arguments, as a mapping of the names torch gives them."""
    value = raw.config.get(name)
    where = raw.where("config", name)
    if value is None:
        return {}, where
    if not isinstance(value, Mapping):
        raise ScenarioError(
            f"{name} must be a mapping of its arguments", where, expected=", ".join(valid), found=repr(value)
        )
    for key in value:
        if key not in valid:
            raise unknown_name(f"{name} argument", str(key), valid, _at(value, where, str(key)))
    return value, where


def _flag(section: Mapping[str, Any], where: Where, key: str, default: bool) -> bool:
    """A boolean argument: true or false, never 0, 1 or null."""
    return bool(typed(section[key], bool, _at(section, where, key))) if key in section else default


def _at(section: Mapping[str, Any], where: Where, key: str) -> Where:
    line_of = getattr(section, "line_of", None)
    return where.child(key, line_of(key) if line_of else None)


def _lengths(raw: Raw, value: Any, where: Where, enforce_sorted: bool) -> np.ndarray:
    rows = value if isinstance(value, list) else [value]
    if not all(isinstance(v, int) and not isinstance(v, bool) for v in rows):
        raise ScenarioError(
            "lengths are whole numbers",
            where,
            expected=f"{raw.batch} whole numbers, one per batch row",
            found=repr(value),
        )
    if len(rows) != raw.batch:
        raise ScenarioError(
            f"Expected `len(lengths)` to be equal to batch_size, but got {len(rows)} (batch_size={raw.batch})", where
        )
    lengths = np.asarray(rows, dtype=object)  # Python integers: a length beyond int64 is refused, not overflowed
    steps = raw.inputs.shape[1]
    if (lengths <= 0).any():
        raise ScenarioError(
            "Length of all samples has to be greater than 0, but found an element in 'lengths' that is <= 0",
            where,
            found=repr(rows),
        )
    if (lengths > steps).any():
        raise ScenarioError(
            f"a length is longer than the inputs' {steps} steps",
            where,
            expected=f"lengths from 1 to T={steps}",
            found=repr(rows),
        )
    if enforce_sorted and (np.diff(lengths) > 0).any():
        raise ScenarioError(
            "`lengths` array must be sorted in decreasing order when `enforce_sorted` is True",
            where,
            found=repr(rows),
            hint="torch: pass enforce_sorted=False to pack_padded_sequence if the rows are in another order",
        )
    return lengths.astype(np.int64)


def packing_notes(packing: Packing, steps: int, directions: int, lstm: bool) -> tuple[str, ...]:
    """What the trace says about a packed input: the steps each row skips and why, where each reverse starts."""
    lengths = [int(v) for v in packing.lengths]
    notes = [
        f"pack_padded_sequence(x, lengths=[{', '.join(map(str, lengths))}], batch_first={packing.batch_first}, "
        f"enforce_sorted={packing.enforce_sorted}): each row runs for its own length and its padding is never "
        "read; past its length a row's state is carried through unchanged."
    ]
    if not packing.enforce_sorted:
        notes[0] += " torch sorts the rows by length and gives every result back in the order the rows came in."
    skipped = []
    for b, length in enumerate(lengths, start=1):
        if length < steps:
            span = f"step {steps} is" if length + 1 == steps else f"steps {length + 1}–{steps} are"
            skipped.append(f"row {b}: {span} padding, skipped: length {length}")
    if skipped:
        notes.append("; ".join(skipped) + ".")
    if directions == 2 and skipped:
        starts = ", ".join(f"row {b} at step {length}" for b, length in enumerate(lengths, start=1))
        notes.append(
            f"The reverse direction of each row starts at its own last valid step ({starts}), from the initial "
            "state, and reads back to step 1."
        )
    longest = max(lengths)
    how_long = "the longest length" if packing.steps_out == longest else f"total_length={packing.steps_out}"
    notes.append(
        f"pad_packed_sequence: `sequence` is (B, {packing.steps_out}, ...), {how_long}, zero past each row's "
        f"length; {'h_n and c_n hold' if lstm else 'h_n holds'} each row's state at its last valid step."
    )
    return tuple(notes)


def padded(sequence: np.ndarray, steps_out: int) -> np.ndarray:
    """(B, T, W) with rows already zero past their lengths, as pad_packed_sequence returns it: T' steps long."""
    batch, steps, width = sequence.shape
    if steps_out > steps:  # total_length beyond the inputs' T: more zero rows
        return np.concatenate([sequence, np.zeros((batch, steps_out - steps, width), sequence.dtype)], axis=1)
    return sequence[:, :steps_out]
