"""Keras model files: a Keras 3 `.keras` archive, or a legacy `.h5` from Keras 3 or Keras 2 (tf.keras, tf_keras).

Each recurrent layer (LSTM, GRU, SimpleRNN, Bidirectional) becomes the
scenario a user would paste: its get_config() whole as `config`, its weights
under Keras's names, `masking` where a Masking layer feeds it directly.
Recurrent layers that feed one another directly are also offered together, as
one `layers:` stack named "a,b". The file's keras_version decides the
framework: keras2 below 3 (its hard_sigmoid differs), keras from 3 on.
Nothing in the file is run: the config is read as JSON (keras_graph.py), the
archive by member name (keras_archive.py), the weights as checked HDF5 data
(keras_h5.py, keras_weights.py).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from ..errors import Where, shortened
from .found import FoundLayer, ModelError, ModelFile
from .keras_archive import CONFIG, METADATA, WEIGHTS, Archive, parse_json
from .keras_graph import Layer, Model, chains, parse
from .keras_h5 import H5, strings, text
from .keras_weights import ArchiveWeights, LegacyWeights, Sides

SHOWN_NAMES = 12  # non-recurrent layers named in a note, at most
MODEL_CLASSES = ("Sequential", "Functional", "Model")


def read(path: Path) -> ModelFile:
    """Every recurrent layer of a .keras or .h5 file (and each chain of them), read as data."""
    if path.suffix.lower() == ".keras":
        return _read_archive(path)
    return _read_legacy(path)


def _read_archive(path: Path) -> ModelFile:
    archive = Archive(path)
    try:
        version = _version(archive.json(METADATA).get("keras_version"), archive.where(METADATA))
        model = parse(archive.json(CONFIG), archive.where(CONFIG))
        h5 = H5(path, f"{WEIGHTS}: ", archive.read(WEIGHTS))
    finally:
        archive.close()
    try:
        layers = _found(model, ArchiveWeights(h5, model), version)
    finally:
        h5.close()
    return ModelFile(path, f"Keras {version} .keras", layers)


def _read_legacy(path: Path) -> ModelFile:
    h5 = H5(path, "")
    try:
        raw = text(h5.attr("", "model_config"))
        if raw is None:
            weights_only = h5.attr("", "layer_names") is not None
            raise ModelError(
                "this .h5 holds weights only (model.save_weights): nothing says what its layers are"
                if weights_only
                else "no model_config attribute: not a model saved by Keras",
                Where(path),
                expected="a file written by model.save('x.h5'), or a .keras archive",
            )
        where = Where(path, None, "model_config")
        version = _version(text(h5.attr("", "keras_version")), Where(path, None, "keras_version"))
        names = strings(h5.attr("model_weights", "layer_names"))
        model = parse(parse_json(raw, where), where, set(names) if names is not None else None)
        layers = _found(model, LegacyWeights(h5), version)
    finally:
        h5.close()
    return ModelFile(path, f"Keras {version} {path.suffix.lower()}", layers)


def _version(value: Any, where: Where) -> str:
    if not isinstance(value, str) or not re.match(r"^\d+\.", value):
        raise ModelError("the Keras version the file was saved by is not stated", where,
                         expected='keras_version, such as "3.15.1"', found=shortened(repr(value), 40))  # fmt: skip
    return shortened(value, 40)


def _found(model: Model, weights: ArchiveWeights | LegacyWeights, version: str) -> tuple[FoundLayer, ...]:
    """Each recurrent layer as a FoundLayer, then each chain of them as one stack."""
    framework = "keras2" if int(version.split(".")[0]) < 3 else "keras"
    recurrent = [layer for layer in model.layers if layer.recurrent]
    stacks = chains(model)
    skipped = _not_traced(model)
    found: dict[str, FoundLayer] = {}
    for layer in recurrent:
        found[layer.name] = _single(model, layer, weights.sides(layer), framework, stacks, skipped)
    out = list(found.values())
    for chain in stacks:
        out.append(_stack(model, [found[layer.name] for layer in chain], chain, skipped))
    return tuple(out)


def _single(
    model: Model, layer: Layer, sides: Sides, framework: str, stacks: list[list[Layer]], skipped: str | None
) -> FoundLayer:
    weights: dict[str, Any] = {}
    sources: dict[str, str] = {}
    prefixes = _direction_names(layer, framework) if layer.class_name == "Bidirectional" else {"": ""}
    for side, found in sides:
        for role, array, source in found:
            weights[prefixes[side] + role], sources[prefixes[side] + role] = array, source
    kernel = sides[0][1][0][1]
    dtypes = {str(array.dtype) for _, found in sides for _, array, _ in found}
    if len(dtypes) != 1:
        raise ModelError(f"layer {layer.name}'s weights mix precisions", Where(None, None, layer.name),
                         found=", ".join(sorted(dtypes)))  # fmt: skip
    features, notes = _features(layer, int(kernel.shape[0]) if kernel.ndim == 2 else None)
    scenario: dict[str, Any] = {
        "framework": framework,
        "layer": layer.class_name,
        "dtype": dtypes.pop(),
        "config": dict(layer.config),
        "weights": weights,
    }
    masking = _masking(model, layer)
    if masking is not None:
        scenario["masking"] = {"mask_value": masking}
        notes.append(f"The Masking layer in front is masking: {{mask_value: {masking:g}}}.")
    notes.extend(_call_notes(model, layer, masking is not None, stacks))
    if skipped:
        notes.append(skipped)
    kind = layer.class_name
    if kind == "Bidirectional":
        inner = layer.config.get("layer")
        kind = f"Bidirectional({inner.get('class_name') if isinstance(inner, Mapping) else '?'})"
    return FoundLayer(layer.name, kind, features, scenario["dtype"], scenario, sources, tuple(notes))


def _stack(model: Model, parts: list[FoundLayer], chain: list[Layer], skipped: str | None) -> FoundLayer:
    """A chain of recurrent layers as one `layers:` stack, each entry the layer's own scenario."""
    first = parts[0].scenario
    entries = [{key: part.scenario[key] for key in ("layer", "config", "weights")} for part in parts]
    scenario: dict[str, Any] = {"framework": first["framework"], "dtype": first["dtype"], "layers": entries}
    notes = [
        "The model's layers " + " → ".join(layer.name for layer in chain) + " as one stack: each reads the output "
        "sequence of the one before; the outputs are the last one's."
    ]
    if "masking" in first:
        scenario["masking"] = first["masking"]
        notes.append(f"The Masking layer in front of {chain[0].name} is masking: {{mask_value: "
                     f"{first['masking']['mask_value']:g}}}.")  # fmt: skip
    if skipped:
        notes.append(skipped)
    sources = {f"layers[{k}].{name}": source for k, part in enumerate(parts) for name, source in part.sources.items()}
    return FoundLayer(
        name=",".join(layer.name for layer in chain),
        kind="stack: " + " → ".join(part.kind for part in parts),
        features=parts[0].features,
        dtype=parts[0].dtype,
        scenario=scenario,
        sources=sources,
        notes=tuple(notes),
    )


def _direction_names(layer: Layer, framework: str) -> dict[str, str]:
    """The prefixes a Bidirectional's weights take (forward_lstm/, backward_lstm/), as Keras names its layers.

    The forward layer is forward_<wrapped layer's name>; the backward one is Keras's copy backward_<name>, or
    the backward_layer given, under its own name in Keras 3 and prefixed backward_ in Keras 2.
    """
    config = layer.config
    inner, given = config.get("layer"), config.get("backward_layer")

    def name_of(spec: Any) -> str:
        conf = spec.get("config") if isinstance(spec, Mapping) else None
        name = conf.get("name") if isinstance(conf, Mapping) else None
        cls = spec.get("class_name") if isinstance(spec, Mapping) else None
        return str(name or {"LSTM": "lstm", "GRU": "gru", "SimpleRNN": "simple_rnn"}.get(str(cls), "layer"))

    base = name_of(inner).removeprefix("forward_")
    if isinstance(given, Mapping):
        backward = name_of(given) if framework == "keras" else f"backward_{name_of(given)}"
    else:
        backward = f"backward_{base.removeprefix('backward_')}"
    return {"forward": f"forward_{base}/", "backward": f"{backward}/"}


def _features(layer: Layer, rows: int | None) -> tuple[int, list[str]]:
    """F from the input shape the config records (build_config, batch_input_shape), else the kernel's rows."""
    shape = (layer.spec.get("build_config") or {}).get("input_shape") if isinstance(layer.spec.get("build_config"),
                                                                                    Mapping) else None  # fmt: skip
    shape = shape or layer.config.get("batch_input_shape") or layer.config.get("batch_shape")
    width = shape[-1] if isinstance(shape, list) and shape and isinstance(shape[-1], int) else None
    if width is not None and rows is not None and width != rows:
        raise ModelError(
            f"layer {layer.name}'s input width and its kernel disagree",
            Where(None, None, layer.name),
            found=f"input shape {shape}, kernel of {rows} rows",
        )
    if width is not None:
        return width, []
    if rows is None:
        raise ModelError(f"layer {layer.name}'s kernel is not a matrix", Where(None, None, layer.name))
    return rows, [f"F = {rows}, the kernel's rows (the config records no input shape)."]


def _masking(model: Model, layer: Layer) -> float | None:
    """mask_value of a Masking layer that feeds `layer` directly; None where there is none."""
    below = model.before(layer)
    if below is None or below.class_name != "Masking":
        return None
    value = below.config.get("mask_value", 0.0)
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ModelError("mask_value is not a number", Where(None, None, f"{below.name}.mask_value"),
                         found=shortened(repr(value), 40))  # fmt: skip
    return float(value)


def _call_notes(model: Model, layer: Layer, masked_here: bool, stacks: list[list[Layer]]) -> list[str]:
    """What the model does around this layer that a trace of it alone leaves out."""
    notes = []
    if not masked_here:
        source = _mask_source(model, layer)
        if source is not None:
            chain = next((c for c in stacks if layer in c[1:]), None)
            where = f"; the stack {','.join(x.name for x in chain)} applies it" if chain else ""
            notes.append(f"In the model a mask from {source} reaches this layer; traced alone no mask is applied "
                         f"unless one is given{where}.")  # fmt: skip
    if layer.extra:
        notes.append(f"In the model it also receives {', '.join(layer.extra[:4])} (an initial state): not in the "
                     "file, so the trace starts from zeros unless initial_state is given.")  # fmt: skip
    if layer.calls > 1:
        notes.append(f"The model calls it {layer.calls} times, each on its own inputs, with these weights.")
    return notes


def _mask_source(model: Model, layer: Layer) -> str | None:
    """The Masking layer whose mask reaches `layer` (Keras 3 functional configs say so; else any before it)."""
    masking = model.masking.get(layer.name)
    if masking is None or (model.masks_recorded and not layer.masked):
        return None
    return f"{masking} (Masking)"


def _not_traced(model: Model) -> str | None:
    """One note naming the layers that are not recurrent and not a Masking layer read as masking."""
    feeding = {below.name for layer in model.layers if layer.recurrent and (below := model.before(layer)) is not None}
    others = [
        layer
        for layer in model.layers
        if layer.position >= 0
        and not layer.recurrent
        and layer.class_name != "InputLayer"
        and not (layer.class_name == "Masking" and layer.name in feeding)
    ]
    if not others:
        return None
    shown = ", ".join(f"{shortened(x.name, 40)} ({_what(x)})" for x in others[:SHOWN_NAMES])
    more = f" and {len(others) - SHOWN_NAMES} more" if len(others) > SHOWN_NAMES else ""
    return f"Not traced (not recurrent): {shown}{more}."


def _what(layer: Layer) -> str:
    nested = layer.class_name in MODEL_CLASSES and isinstance(layer.config.get("layers"), list)
    return shortened(layer.class_name, 40) + (", a model inside the model: its layers are not read" if nested else "")
