"""Keras layers into one network: a layer alone, or `layers:`, a Sequential of recurrent layers.

Each layer of a stack reads the previous one's output sequence, as a
`Sequential` computes: a Bidirectional's two directions merged by its
merge_mode (the engine merges between layers, merge.py), a mask passed on
from layer to layer. What the network returns is what its last layer returns.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from .. import limits
from ..errors import ScenarioError, Where, unknown_name
from ..model import Network
from . import keras_bidirectional, keras_mask
from .base import Built, Raw
from .keras_part import Part, nested

if TYPE_CHECKING:
    from .keras import Keras

ENTRY_KEYS = ("layer", "config", "weights", "initial_state")


def build(fw: Keras, raw: Raw) -> Built:
    """The network of one layer or of a stack, with its mask, and what it returns."""
    stack = "layers" in raw.extras
    if stack:
        parts = _entries(fw, raw, raw.extras["layers"])
    else:
        parts = [keras_bidirectional.part(fw, raw) if raw.layer == "Bidirectional" else fw.part(raw)]
    masked = keras_mask.read(raw, parts, fw.version)
    raw.warnings.extend(masked.warnings)
    network = Network(
        tuple(p.cells for p in parts),
        masked.inputs,
        tuple(p.h0 for p in parts),
        tuple(p.c0 for p in parts),
        backwards=max((p.backwards for p in parts), key=len),
        mask=masked.mask,
        merges=tuple(p.merge_mode or "concat" for p in parts) if stack else (),
    )
    inert: dict[str, str] = {}
    for part in parts:
        for key, why in part.inert:
            if not (key == "zero_output_for_mask" and masked.mask is not None):  # with a mask it acts
                inert.setdefault(key, why)
    if stack:
        header = f"{fw.name} Sequential: " + " → ".join(_label(fw, p) for p in parts)
        notes = _summary(raw, parts)
    else:
        header, notes = parts[0].header, parts[0].notes
    return Built(
        network=network,
        header=header,
        config=dict(raw.config),
        returns=parts[-1].returns(len(parts) - 1),
        notes=(*notes, *masked.notes),
        inert=tuple(inert.items()),
        pinned=masked.pinned or {},
    )


def _entries(fw: Keras, raw: Raw, entries: Any) -> list[Part]:
    """Each entry of `layers:` as a Part, reading the output sequence of the one before."""
    where = Where(raw.file, raw.lines.get("layers"), "layers")
    if not isinstance(entries, list) or not entries:
        raise ScenarioError("layers is a list of layers", where, expected="- {layer: LSTM, config: ..., weights: ...}")
    if len(entries) > limits.MAX_LAYERS:  # refused before any is built: a few lines of aliases can list millions
        raise ScenarioError("too many layers to trace", where, expected=f"at most {limits.MAX_LAYERS:,} layers",
                            found=f"{len(entries):,}")  # fmt: skip
    parts: list[Part] = []
    batch, steps, features = raw.inputs.shape
    for k, entry in enumerate(entries):
        here = where.child(k, getattr(entry, "line", None))
        if not isinstance(entry, Mapping):
            raise ScenarioError(
                "an entry of layers is a mapping", here, expected="{layer: ..., config: ..., weights: ...}"
            )
        for key in entry:
            if key not in ENTRY_KEYS:
                raise unknown_name("key of a layer", str(key), ENTRY_KEYS, here.child(key))
        if "weights" not in entry:
            raise ScenarioError("missing weights", here, expected="weights: {kernel: ..., ...} of this layer")
        layer = _layer_name(fw, entry.get("layer", "LSTM"), here.child("layer"))
        config, state = entry.get("config") or {}, entry.get("initial_state") or {}
        if not isinstance(config, Mapping) or not isinstance(state, Mapping):
            raise ScenarioError("config and initial_state are mappings", here)
        _same_dtype(fw, raw, config, here)
        width = features if k == 0 else parts[-1].width
        # the layer below's outputs stand in only for their shape: a view of one zero, not B·T·width of them
        inputs = raw.inputs if k == 0 else np.broadcast_to(np.zeros((), raw.inputs.dtype), (batch, steps, width))
        paths = {section: f"layers[{k}].{section}" for section in ("config", "weights", "initial_state")}
        sub = nested(raw, layer, config, entry["weights"], paths, initial_state=state, inputs=inputs)
        part = keras_bidirectional.part(fw, sub) if layer == "Bidirectional" else fw.part(sub)
        parts.append(part)
    for k, part in enumerate(parts):
        _fits(part, k, len(parts), where.child(k))
    last = parts[-1]
    if fw.version == 2 and (last.state or (last.merge_mode is None and len(last.cells) == 2)):
        raise ScenarioError("Keras 2's Sequential refuses a last layer that returns several tensors",
                            where.child(len(parts) - 1).child("config"),
                            hint="return_state: false (and a merge_mode), or framework: keras")  # fmt: skip
    return parts


def _layer_name(fw: Keras, value: Any, where: Where) -> str:
    short = str(value).strip().rsplit(".", 1)[-1] if isinstance(value, str) else ""
    found = next((name for name in fw.layers if name.lower() == short.lower()), None)
    if found is None:
        raise unknown_name("layer", str(value), fw.layers, where)
    return found


def _same_dtype(fw: Keras, raw: Raw, config: Mapping[str, Any], where: Where) -> None:
    named = fw.dtype_of(config)
    if named is not None and raw.dtype != object and named != str(raw.dtype):
        raise ScenarioError(
            "this layer's dtype disagrees with the scenario's", where.child("config").child("dtype"),
            found=f"{named}, where the scenario computes in {raw.dtype}", hint="set dtype at the top to match",
        )  # fmt: skip


def _fits(part: Part, k: int, count: int, where: Where) -> None:
    """What a Sequential can pass on, and what one network can trace: refused with the reason."""
    last = k == count - 1
    if not last and not part.sequences:
        raise ScenarioError(f"layer {k + 1} returns no sequence, but layer {k + 2} reads one", where.child("config"),
                            hint="return_sequences: true on every layer but the last")  # fmt: skip
    if not last and part.state:
        raise ScenarioError(f"layer {k + 1} returns its state too: a Sequential passes one tensor on",
                            where.child("config"), hint="return_state: false on every layer but the last")  # fmt: skip
    if not last and part.merge_mode is None and len(part.cells) == 2:
        raise ScenarioError(f"layer {k + 1}'s merge_mode null returns two tensors: a Sequential passes one on",
                            where.child("config"), hint="merge_mode: concat (or sum, mul, ave)")  # fmt: skip
    if part.backwards != (False, True)[: len(part.backwards)] and count > 1:
        raise ScenarioError(
            f"layer {k + 1} reads backwards outside a Bidirectional: not traced in a stack of layers",
            where.child("config"),
            hint="go_backwards: false, or wrap the layer in Bidirectional",
        )


def _label(fw: Keras, part: Part) -> str:
    """LSTM(units=3), or Bidirectional(GRU(units=2), merge_mode=sum): a layer in the stack's header."""
    if part.class_name == "Bidirectional":
        return f"Bidirectional({part.inner}, merge_mode={part.merge_mode})"
    return part.header.split(" · ", 1)[0].removeprefix(fw.name + " ")


def _summary(raw: Raw, parts: Sequence[Part]) -> tuple[str, ...]:
    """model.summary()'s table, one line per layer, then each layer's notes once."""
    steps = raw.inputs.shape[1]
    notes = ["Sequential: each layer reads the output sequence of the layer before it (a Bidirectional's two "
             "directions merged by its merge_mode); the outputs are the last layer's."]  # fmt: skip
    total = 0
    for k, part in enumerate(parts):
        shape = f"(None, {steps}, {part.width})" if part.sequences else f"(None, {part.width})"
        if part.merge_mode is None and len(part.cells) == 2:
            shape = f"[{shape}, {shape}]"
        total += part.params
        notes.append(f"model.summary(): layer {k + 1} {part.name} ({part.class_name}) · output shape {shape} · "
                     f"{part.params} params")  # fmt: skip
    notes.append(f"model.summary(): total params {total}")
    seen: set[str] = set(notes)
    for k, part in enumerate(parts):
        for note in part.notes:
            if note not in seen:
                seen.add(note)
                notes.append(f"layer {k + 1}: {note}")
    return tuple(notes)
