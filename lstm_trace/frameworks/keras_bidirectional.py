"""Keras's Bidirectional: `config` is its get_config() whole; two recurrent layers, their outputs merged.

Keras makes the forward layer from `layer` (named forward_<name>) and, unless
`backward_layer` is given, the backward one from the same config with
go_backwards=True (named backward_<name>). initial_state is one list that
Keras halves: the first half to the forward layer, the rest to the backward
one; here they are named forward_h0, forward_c0, backward_h0, backward_c0.
A backward_layer given keeps its name in Keras 3; Keras 2 prefixes it with backward_.
Weights are named forward_<name>/<weight> (full variable paths are read the
same way), or given as get_weights()' list: the forward layer's, then the
backward layer's. Bidirectional sets each layer's zero_output_for_mask to its
return_sequences.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from ..errors import ScenarioError, unknown_name
from ..merge import FORMULAS, MODES
from ..yamlio import MarkedDict
from .base import Raw, check_keys, flags
from .keras_part import DEFAULT_NAMES, Part, nested

if TYPE_CHECKING:
    from .keras import Keras

OPTIONS = ("name", "trainable", "dtype", "merge_mode", "layer", "backward_layer")
KERAS2_OPTIONS = ("num_constants",)
SPEC_KEYS = ("class_name", "config", "module", "registered_name", "build_config", "shared_object_id")
SIDES = ("forward", "backward")


def part(fw: Keras, raw: Raw) -> Part:
    """The Bidirectional layer of `raw`: its config, weights and initial state in Keras's own words."""
    config = raw.config
    check_keys(config, OPTIONS + (KERAS2_OPTIONS if fw.version == 2 else ()), "Bidirectional option", raw, "config")
    flags(raw, ("trainable",))
    if config.get("num_constants"):
        raise ScenarioError("constants are not traced", raw.where("config", "num_constants"), hint="num_constants: 0")
    mode = config.get("merge_mode", "concat")
    if mode is not None and mode not in MODES:
        raise unknown_name("merge_mode", str(mode), [*MODES, "null"], raw.where("config", "merge_mode"))
    if "layer" not in config:
        raise ScenarioError("missing config.layer", raw.where("config"), expected="layer: {class_name: LSTM, config: "
                            "{units: ...}}, as Bidirectional.get_config() prints it")  # fmt: skip
    f_class, f_config = _spec(fw, raw, "layer")
    base = str(f_config.get("name") or DEFAULT_NAMES[f_class]).removeprefix("forward_")
    if config.get("backward_layer") is not None:
        b_class, b_config = _spec(fw, raw, "backward_layer")
        given = str(b_config.get("name") or DEFAULT_NAMES[b_class])
        b_name = given if fw.version == 3 else f"backward_{given}"  # Keras 2 renames the layer it is given
    else:  # Keras's copy of the forward layer, reading backwards
        b_class, b_config = f_class, MarkedDict({**f_config, "go_backwards": True})
        b_config.line, b_config.key_lines = getattr(f_config, "line", None), getattr(f_config, "key_lines", {})
        b_name = f"backward_{base.removeprefix('backward_')}"
        if f_config.get("go_backwards") is True:
            raise ScenarioError(
                "the wrapped layer has go_backwards=True, so the backward layer Keras makes from it has too: Keras "
                "refuses two layers that read the same way",
                raw.where("config", "layer"),
                hint="go_backwards: false in the wrapped layer, or give backward_layer",
            )
    names = (f"forward_{base}", b_name)
    weights = _weights(raw, names, (f_config, b_config))
    inners = []
    for side, key, cls, cfg in zip(SIDES, ("layer", "backward_layer"), (f_class, b_class), (f_config, b_config),
                                   strict=True):  # fmt: skip
        path = f"config.{key}.config" if key in config else "config.layer.config"
        mine, renamed = weights[side]
        inner = nested(raw, cls, cfg, mine, {"config": path}, names=renamed)
        inners.append(fw.part(inner, (f"{side}_h0", f"{side}_c0")))
    forward, backward = inners
    _same_sequence(raw, forward, backward, mode)
    _states(raw, inners)
    sequences = forward.sequences
    header_f, header_b = (p.header.split(" · ", 1) for p in inners)
    header = f"{fw.name} Bidirectional({header_f[0].removeprefix(fw.name + ' ')}, merge_mode={mode})"
    header += "".join(f" · {rest}" for rest in header_f[1:])
    if header_b != header_f:
        header += " · backward_layer " + " · ".join(header_b).removeprefix(fw.name + " ")
    return Part(
        name=str(config.get("name") or "bidirectional"),
        class_name="Bidirectional",
        cells=forward.cells + backward.cells,
        h0=forward.h0 + backward.h0,
        c0=forward.c0 + backward.c0,
        backwards=forward.backwards + backward.backwards,
        sequences=sequences,
        state=forward.state,
        zero_output=(sequences, sequences),  # Bidirectional forces zero_output_for_mask = return_sequences
        stated=forward.stated or backward.stated,
        header=header,
        notes=(*forward.notes, *_notes(names, mode, sequences, bool(raw.initial_state), forward, backward)),
        inert=_inert(config, forward, backward),
        merge_mode=mode,
        inner=header_f[0].removeprefix(fw.name + " "),
        config=dict(config),
    )


def _spec(fw: Keras, raw: Raw, key: str) -> tuple[str, Mapping[str, Any]]:
    """(class name, config) of a wrapped layer, as get_config() serialises it: {class_name, config, ...}."""
    spec = raw.config[key]
    where = raw.where("config", key)
    if not isinstance(spec, Mapping) or "class_name" not in spec:
        raise ScenarioError(
            f"{key} is the wrapped layer, as get_config() serialises it",
            where,
            expected="{class_name: LSTM, config: {units: 3, ...}}",
            found=repr(spec)[:60],
        )
    for name in spec:
        if name not in SPEC_KEYS:
            raise unknown_name(f"key of {key}", str(name), SPEC_KEYS, where.child(name))
    short = str(spec["class_name"]).strip().rsplit(".", 1)[-1]
    found = next((name for name in fw.layers if name.lower() == short.lower() and name != "Bidirectional"), None)
    if found is None:
        raise unknown_name("layer for Bidirectional", str(spec["class_name"]), ("LSTM", "GRU", "SimpleRNN"),
                           where.child("class_name"))  # fmt: skip
    inner = spec.get("config") or MarkedDict()
    if not isinstance(inner, Mapping):
        raise ScenarioError(f"{key}.config must be a mapping", where.child("config"), found=repr(inner)[:60])
    return found, inner


def _weights(
    raw: Raw, names: tuple[str, str], configs: tuple[Mapping[str, Any], Mapping[str, Any]]
) -> dict[str, tuple[MarkedDict, dict[str, str]]]:
    """Each direction's weights by their short names (kernel, ...), and the names the file gave them."""
    weights = raw.weights
    out: dict[str, tuple[MarkedDict, dict[str, str]]] = {
        side: (_marked(getattr(weights, "line", None)), {}) for side in SIDES
    }
    if isinstance(weights, list):  # get_weights(): the forward layer's arrays, then the backward layer's
        counts = [3 if c.get("use_bias", True) is not False else 2 for c in configs]
        if len(weights) != sum(counts):
            raise ScenarioError(
                "a weights list is get_weights() of the Bidirectional: the forward layer's arrays, then the backward's",
                raw.where("weights"),
                expected=f"{sum(counts)} arrays: kernel, recurrent_kernel" + (", bias" * (counts[0] == 3)) + " twice",
                found=f"{len(weights)} arrays",
            )
        for k, value in enumerate(weights):
            side = SIDES[k >= counts[0]]
            short = ("kernel", "recurrent_kernel", "bias")[k - counts[0] * (k >= counts[0])]
            out[side][0][short] = value
            out[side][1][short] = f"weights[{k}]"
        return out
    for key, value in weights.items():
        parts = str(key).split(":")[0].split("/")
        found = next((s for s, name in zip(SIDES, names, strict=True) if name in parts[:-1]), None)
        if found is None:
            raise ScenarioError(
                "a Bidirectional's weight names say which layer they belong to",
                raw.where("weights", str(key)),
                expected=f"{names[0]}/kernel, {names[1]}/recurrent_kernel, ... (or full variable paths)",
                found=repr(key),
            )
        mapping, renamed = out[found]
        if parts[-1] in mapping:
            raise ScenarioError(f"weight {parts[-1]!r} of {names[SIDES.index(found)]} given twice",
                                raw.where("weights", str(key)))  # fmt: skip
        mapping[parts[-1]] = value
        mapping.key_lines[parts[-1]] = weights.line_of(key) if hasattr(weights, "line_of") else None
        renamed[parts[-1]] = str(key)
    return out


def _marked(line: int | None) -> MarkedDict:
    out = MarkedDict()
    out.line, out.key_lines = line, {}
    return out


def _same_sequence(raw: Raw, forward: Part, backward: Part, mode: str | None) -> None:
    """What Keras checks of two layers it pairs, and what a merge needs of their outputs."""
    if forward.backwards == backward.backwards:
        raise ScenarioError(
            "the forward and backward layers have the same go_backwards: Keras refuses two layers that read the "
            "same way",
            raw.where("config", "backward_layer"),
        )
    for what in ("sequences", "state"):
        if getattr(forward, what) != getattr(backward, what):
            option = {"sequences": "return_sequences", "state": "return_state"}[what]
            raise ScenarioError(f"the forward and backward layers differ in {option}: Keras refuses that",
                                raw.where("config", "backward_layer"))  # fmt: skip
    units = (forward.cells[0].output_size, backward.cells[0].output_size)
    if mode not in ("concat", None) and units[0] != units[1]:
        raise ScenarioError(
            f"merge_mode {mode} adds or multiplies the two outputs unit by unit, but they are {units[0]} and "
            f"{units[1]} wide",
            raw.where("config", "merge_mode"),
        )


def _states(raw: Raw, parts: list[Part]) -> None:
    """initial_state names each half of Keras's list: forward_h0 (forward_c0), backward_h0 (backward_c0)."""
    valid = [
        f"{side}_{state}"
        for side, p in zip(SIDES, parts, strict=True)
        for state in (("h0", "c0") if p.cells[0].kind == "lstm" else ("h0",))
    ]
    check_keys(raw.initial_state, valid, "initial state of a Bidirectional", raw, "initial_state")


def _notes(
    names: tuple[str, str], mode: str | None, sequences: bool, stated: bool, forward: Part, backward: Part
) -> tuple[str, ...]:
    reads = ["reads x₁ … x_T", "reads x_T … x₁ (go_backwards=True)"]
    f_reads, b_reads = (reads[p.backwards[0]] for p in (forward, backward))
    notes = [f"Bidirectional: {names[0]} {f_reads}; {names[1]} {b_reads}."]
    if mode is None:
        notes.append("merge_mode=None: the two outputs are returned apart, the backward one flipped back to input "
                     "time where it is a sequence.")  # fmt: skip
    else:
        flipped = "its sequence flipped back to input time" if sequences else "its last output, of x₁"
        notes.append(f"merge_mode={mode}: output = {FORMULAS[mode]} per unit, f the forward layer's output, b the "
                     f"backward layer's ({flipped}).")  # fmt: skip
    notes.append(f"Weights: {names[0]}/kernel, ... (get_weights() lists {names[0]}'s, then {names[1]}'s).")
    if stated:
        notes.append("initial_state: Keras halves the list it is given, the first half to the forward layer "
                     "(forward_h0, forward_c0), the rest to the backward one (backward_h0, backward_c0).")  # fmt: skip
    return tuple(notes)


def _inert(config: Mapping[str, Any], forward: Part, backward: Part) -> tuple[tuple[str, str], ...]:
    """The wrapped layers' options that change nothing (each once), and the Bidirectional's own."""
    seen: dict[str, str] = {}
    for key, why in (*forward.inert, *backward.inert):
        seen.setdefault(key, why)
    if "zero_output_for_mask" in seen:
        seen["zero_output_for_mask"] = "Bidirectional sets it to return_sequences; it acts only with a mask"
    for key in ("name", "trainable"):
        if key in config:
            seen.setdefault(key, "a label" if key == "name" else "matters only for training")
    return tuple(seen.items())
