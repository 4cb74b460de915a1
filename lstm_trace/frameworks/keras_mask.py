"""Keras's mask: `mask` as `layer(x, mask=mask)` receives it, or `masking: {mask_value}`, a Masking layer in front.

A Masking layer marks a step masked where every feature equals mask_value and
passes x ⊙ mask on. Keras 3 fills a mask in only for a call with the inputs
alone: a layer called with initial_state gets none, so there every step is
computed (on the Masking layer's output); Keras 2 passes the mask either way. A
mask that reaches a layer reaches the layers after it too (each returns
sequences), unless Keras 3 drops it there the same way. The mask a Masking
layer computed from the scenario's own numbers is `pinned`: provenance.py
builds the layer again with other numbers and must mask the same steps.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..errors import ScenarioError, Where, unknown_name
from .base import Raw, typed
from .keras_part import Part

MASKING_KEYS = ("mask_value", "name", "trainable", "dtype")  # what Masking.get_config() prints


@dataclass(frozen=True, eq=False)
class Masked:
    """What the mask does to a network: its (B, T) mask where Keras applies one, and the inputs it reads."""

    mask: np.ndarray | None
    inputs: np.ndarray
    notes: tuple[str, ...] = ()
    warnings: tuple[str, ...] = ()
    pinned: Mapping[str, Any] | None = None


def read(raw: Raw, parts: Sequence[Part], version: int) -> Masked:
    """The mask of `raw.extras` (mask, masking) for these layers, as Keras `version` applies it."""
    extras = raw.extras
    if "mask" in extras and "masking" in extras:
        raise ScenarioError(
            "mask and masking are both given", _where(raw, "masking"), hint="give the mask, or the Masking layer"
        )
    if "mask" in extras:
        given, source = _booleans(raw, extras["mask"]), "mask"
        inputs = raw.inputs
    elif "masking" in extras:
        value = _mask_value(raw, extras["masking"])
        pinned = (extras.get("pinned") or {}).get("masking")
        given = pinned if pinned is not None else np.asarray((raw.inputs != value).any(axis=-1), bool)
        source = f"Masking(mask_value={value:g})"
        inputs = raw.inputs * given[..., None].astype(raw.inputs.dtype)  # the Masking layer's output: x ⊙ mask
    else:
        return Masked(None, raw.inputs)
    reaches = [("mask" in extras or version == 2 or not parts[0].stated)]
    for part in parts[1:]:
        reaches.append(reaches[-1] and (version == 2 or not part.stated))
    pinned_now = {"masking": given} if "masking" in extras else None
    notes = _notes(source, parts, "masking" in extras)
    if all(reaches):
        return Masked(given, inputs, notes, (), pinned_now)
    if not any(reaches):
        why = (
            f"Keras 3 drops the {source} mask here: layer 1 is called with initial_state, and Keras 3 fills in a "
            "mask only for a call with the inputs alone, so every step is computed"
            + (", on the Masking layer's output (masked steps' inputs zeroed)" if "masking" in extras else "")
        )
        return Masked(None, inputs, notes[:1] if "masking" in extras else (), (why,), pinned_now)
    first = reaches.index(False) + 1
    raise ScenarioError(
        f"Keras 3 gives layer {first} no mask (it is called with initial_state) while the layers before it have "
        "one; a mask on some layers only is not traced here",
        _where(raw, "layers"),
        hint=f"leave out layer {first}'s initial_state, or the mask",
    )


def _where(raw: Raw, key: str) -> Where:
    return Where(raw.file, raw.lines.get(key), key)


def _booleans(raw: Raw, value: Any) -> np.ndarray:
    """`mask`: (B, T) true/false as written (a (T,) row for a batch of one); nothing else is a boolean."""
    where = _where(raw, "mask")
    batch, steps = raw.inputs.shape[:2]
    array = np.asarray(value, dtype=object) if isinstance(value, list) else None
    if array is None or not all(isinstance(v, (bool, np.bool_)) for v in array.reshape(-1)):
        raise ScenarioError(
            "a mask is true or false for every step of every batch row",
            where,
            expected=f"({batch}, {steps}) nested lists of true and false (true: the step is used)",
            found=repr(value)[:60],
            hint="write the mask inline; 1, 0, 'yes' and 'no' are not booleans",
        )
    if array.shape == (steps,) and batch == 1:
        array = array[None]
    if array.shape != (batch, steps):
        raise ScenarioError(
            "wrong shape", where, expected=f"shape ({batch}, {steps}): B batch rows × T steps", found=f"{array.shape}"
        )
    return array.astype(bool)


def _mask_value(raw: Raw, value: Any) -> Any:
    """`masking`: the Masking layer's get_config() (mask_value; name, trainable and dtype change nothing)."""
    where = _where(raw, "masking")
    if value is None:
        value = {}
    if not isinstance(value, Mapping):
        raise ScenarioError("masking is the Masking layer's config", where, expected="{mask_value: 0.0}")
    for key in value:
        if key not in MASKING_KEYS:
            raise unknown_name("Masking option", str(key), MASKING_KEYS, where.child(key))
    return typed(value.get("mask_value", 0.0), (int, float), where.child("mask_value"))


def _notes(source: str, parts: Sequence[Part], masking: bool) -> tuple[str, ...]:
    """What the mask does, in Keras's words: first the steps it skips, then what a masked step returns."""
    notes = []
    if masking:
        notes.append(f"{source} in front: a step whose every feature equals mask_value is masked, and reaches the "
                     "layer as zeros.")  # fmt: skip
    notes.append(
        f"{'The Masking layer' if masking else 'The mask'} skips steps: at a masked step the layer computes nothing "
        "and keeps its state."
    )
    last = parts[-1]
    if any(last.zero_output):
        why = "Bidirectional with return_sequences=True" if len(last.cells) == 2 else "zero_output_for_mask=True"
        notes.append(f"{why}: a masked step's output is zeros.")
    else:
        notes.append("A masked step's output repeats the previous output (zeros before the first used step).")
    return tuple(notes)
