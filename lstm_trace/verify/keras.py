"""Keras 3 (`keras`) and Keras 2 (`keras2`: tf_keras): each layer made by its class's own from_config.

Weights are assigned by the names Keras itself gives its variables (`kernel`, a Bidirectional's
`forward_lstm/...`), or as a get_weights() list by set_weights. The layers are called one after another
as a Sequential calls them (a Masking layer in front, the mask argument and initial states where the
scenario gives them); the last is called twice: as configured, and with return_sequences and return_state
switched on, so that every output the contract names comes from Keras. Per-step states come from each
layer's cell stepped by a Python loop on the inputs that layer really received, with the mask Keras gave
it (a masked step keeps the state), kept where the loop ends on the layer's own final state.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from typing import Any

import numpy as np

from ..frameworks.keras import strip_scope
from . import Entry, FrameworkMissing, Real, Tolerance, Words, keras_name, need, state_or_zeros


def run(words: Words) -> Real:
    version3 = words.framework == "keras"
    K, tensor, ran, name = _keras(version3)
    layers = [_make(K, entry, words.dtype) for entry in words.layers]
    below: Any = words.inputs
    if words.masking is not None:
        below = K.layers.Masking(words.masking.get("mask_value", 0.0), dtype=words.dtype)(below)
    calls: list[tuple[Any, dict[str, Any]]] = []
    for k, (layer, entry) in enumerate(zip(layers, words.layers, strict=True)):
        layer.build(tuple(below.shape))
        _assign(layer, entry)
        kwargs = _call_args(layer, entry, words.mask if k == 0 else None, tensor, words.inputs)
        calls.append((below, kwargs))
        if k < len(layers) - 1:
            below = _call(layer, below, kwargs)[0]
    last, (below, kwargs) = layers[-1], calls[-1]
    masked = _mask(layers, calls, version3)
    configured = _call(last, below, kwargs)
    with _everything(last):
        full = _call(last, below, kwargs)
    outputs = dict(zip(_names(last, True, False), full, strict=True))
    outputs |= dict(zip(_names(last, False, masked[-1] is not None), configured, strict=True))
    what = f"keras.layers.{words.layer.layer}" if len(layers) == 1 else f"a Sequential of {len(layers)} layers"
    steps, notes = _steps(layers, calls, masked, outputs, tensor, words.dtype)
    return Real(f"{ran} {what}", name, outputs, steps, notes)


def _keras(version3: bool) -> tuple[Any, Callable[[np.ndarray], Any], str, str]:
    """(the Keras module, numpy → its tensor, the version that ran, the name the report gives it)."""
    if not version3:
        os.environ["TF_USE_LEGACY_KERAS"] = "1"  # tf.keras is then tf_keras, as Keras 2 code expects
        tf, K = need("keras2", "tensorflow", "tf_keras")
        return K, tf.constant, f"tf_keras {K.__version__} (tensorflow {tf.__version__})", "tf_keras"
    (K,) = need("keras", "keras")
    if int(str(K.__version__).split(".")[0]) < 3:
        raise FrameworkMissing("keras", "Keras 3")
    return K, K.ops.convert_to_tensor, f"keras {K.__version__} ({K.backend.backend()} backend)", "keras"


def _make(K: Any, entry: Entry, dtype: str) -> Any:
    """The layer from its config, as get_config() printed it (the scenario's dtype where the config names none)."""
    config = dict(entry.config)
    config.setdefault("dtype", dtype)
    if entry.layer == "Bidirectional":
        for key in ("layer", "backward_layer"):
            if isinstance(config.get(key), Mapping):  # the class by Keras's spelling, where get_config() puts it
                spec = {"module": "keras.layers", **config[key], "class_name": keras_name(config[key]["class_name"])}
                spec["config"] = {"dtype": dtype, **(spec.get("config") or {})}
                config[key] = spec
    elif "units" not in config:  # the scenario may leave units to the weights
        weights = entry.weights
        recurrent = weights[1] if isinstance(weights, list) else _short(weights)["recurrent_kernel"]
        config["units"] = int(recurrent.shape[0])
    return getattr(K.layers, entry.layer).from_config(config)


def _short(weights: Mapping[str, np.ndarray]) -> dict[str, np.ndarray]:
    return {strip_scope(key): value for key, value in weights.items()}


def _variable_name(variable: Any) -> str:
    return str(getattr(variable, "path", None) or variable.name)


def _assign(layer: Any, entry: Entry) -> None:
    """The scenario's weights into the layer's variables, found by the names Keras gives them."""
    if isinstance(entry.weights, list):
        layer.set_weights(entry.weights)
        return
    if not hasattr(layer, "forward_layer"):
        named = _short(entry.weights)
        for variable in layer.weights:
            variable.assign(named[strip_scope(_variable_name(variable))])
        return
    for side in (layer.forward_layer, layer.backward_layer):
        for variable in side.weights:
            short = strip_scope(_variable_name(variable))
            key = next(k for k in entry.weights if _owned(k, side.name, short))
            variable.assign(entry.weights[key])


def _owned(key: str, owner: str, short: str) -> bool:
    """Whether a scenario's weight name (`forward_lstm/kernel`, or a full path) is `owner`'s variable `short`."""
    parts = key.split(":")[0].split("/")
    return parts[-1] == short and owner in parts[:-1]


def _directions(layer: Any) -> list[Any]:
    return [layer.forward_layer, layer.backward_layer] if hasattr(layer, "forward_layer") else [layer]


def _count(layer: Any) -> int:
    """How many states the layer's cell carries: 2 for an LSTM (h, c), else 1."""
    size = layer.cell.state_size
    return len(size) if isinstance(size, (list, tuple)) else 1


def _call_args(layer: Any, entry: Entry, mask: np.ndarray | None, tensor: Callable, x: np.ndarray) -> dict[str, Any]:
    """The call's mask argument and initial_state list (zeros for a state left out), as the scenario gives them."""
    kwargs: dict[str, Any] = {}
    if mask is not None:
        kwargs["mask"] = tensor(mask)
    if entry.initial_state:
        sides = _directions(layer)
        prefixes = ["forward_", "backward_"] if len(sides) == 2 else [""]
        states = []
        for prefix, side in zip(prefixes, sides, strict=True):
            shape = (x.shape[0], side.cell.units)
            for state in ("h0", "c0")[: _count(side)]:
                states.append(tensor(state_or_zeros(entry.initial_state, prefix + state, shape, x.dtype)))
        kwargs["initial_state"] = states
    return kwargs


def _call(layer: Any, x: Any, kwargs: Mapping[str, Any]) -> list[Any]:
    """Call the layer; a time_major Keras 2 layer takes and returns time-major arrays, turned batch-major here."""
    time_major = bool(getattr(layer, "time_major", False))
    x_in = np.asarray(x).transpose(1, 0, 2) if time_major else x
    result = layer(x_in, **kwargs)
    returned = list(result) if isinstance(result, (list, tuple)) else [result]
    if time_major:
        returned = [np.asarray(r).transpose(1, 0, 2) if np.ndim(r) == 3 else r for r in returned]
    return returned


@contextmanager
def _everything(layer: Any) -> Iterator[None]:
    """The layer (a Bidirectional's two too) returning its whole sequence and its states, for a while."""
    objects = [layer, *_directions(layer)] if hasattr(layer, "forward_layer") else [layer]
    saved = [(obj.return_sequences, obj.return_state) for obj in objects]
    for obj in objects:
        obj.return_sequences, obj.return_state = True, True
    try:
        yield
    finally:
        for obj, (sequences, state) in zip(objects, saved, strict=True):
            obj.return_sequences, obj.return_state = sequences, state


def _names(layer: Any, everything: bool, masked: bool) -> list[str]:
    """What a call returns, in Keras's order, under the contract's names."""
    sequences = everything or layer.return_sequences
    state = everything or layer.return_state
    if not hasattr(layer, "forward_layer"):
        first = "sequence" if sequences else ("output" if masked else "h")
        return [first, *(["h", "c"][: _count(layer)] if state else [])]
    if layer.merge_mode is None:
        names = ["forward_sequence", "backward_sequence"] if sequences else ["forward_output", "backward_output"]
    else:
        names = ["sequence" if sequences else "output"]
    if state:
        for side, inner in zip(("forward", "backward"), _directions(layer), strict=True):
            names += [f"{side}_h", f"{side}_c"][: _count(inner)]
    return names


def _mask(layers: list[Any], calls: list[tuple[Any, dict[str, Any]]], version3: bool) -> list[np.ndarray | None]:
    """The mask each layer used: its mask argument, else the one Keras attached to its input, which Keras 3
    passes on only to a call with the inputs alone (no initial_state)."""
    masks: list[np.ndarray | None] = []
    for below, kwargs in calls:
        if "mask" in kwargs:
            masks.append(np.asarray(kwargs["mask"], bool))
            continue
        attached = getattr(below, "_keras_mask", None)
        used = attached is not None and (not version3 or "initial_state" not in kwargs)
        masks.append(np.asarray(attached, bool) if used else None)
    return masks


def _steps(layers: list[Any], calls: list[tuple[Any, dict[str, Any]]], masks: list[np.ndarray | None],
           outputs: Mapping[str, np.ndarray], tensor: Callable,
           dtype: str) -> tuple[dict[tuple[int, int], dict[str, np.ndarray]], tuple[str, ...]]:  # fmt: skip
    """Every layer's and direction's states after each step, from its cell in a loop."""
    steps: dict[tuple[int, int], dict[str, np.ndarray]] = {}
    skipped = 0
    tolerance = Tolerance.of(dtype)
    for k, (layer, (below, kwargs), mask) in enumerate(zip(layers, calls, masks, strict=True)):
        states = list(kwargs.get("initial_state") or [])
        sides = _directions(layer)
        for d, side in enumerate(sides):
            count = _count(side)
            mine, states = states[:count], states[count:]
            found = _loop(side, np.asarray(below), mine, mask, tensor)
            final = _finals(layer, d, k == len(layers) - 1, outputs, found)
            if all(tolerance.close(found[q][-1], value).all() for q, value in final.items()):
                steps[(k, d)] = found
            else:
                skipped += 1
    note = "per-step states of some layers not compared: the cell in a loop did not end on the layer's final state"
    return steps, (note,) if skipped else ()


def _finals(layer: Any, d: int, last: bool, outputs: Mapping[str, np.ndarray], found: Mapping[str, np.ndarray]) -> dict:
    """The layer's own final states to check the loop against (a layer below the last: its sequence's end)."""
    if not last:
        return {}  # a layer below returns only its sequence: the next layer's loop reads it as Keras gave it
    prefix = ("forward_", "backward_")[d] if hasattr(layer, "forward_layer") else ""
    return {q: outputs[prefix + q] for q in found if prefix + q in outputs}


def _loop(layer: Any, x: np.ndarray, initial: list[Any], mask: np.ndarray | None,
          tensor: Callable) -> dict[str, np.ndarray]:  # fmt: skip
    """layer.cell called step by step as the layer steps it (go_backwards: from the last input), a masked step
    keeping the state; every step's h (and c) in the order taken."""
    cell, count = layer.cell, _count(layer)
    batch, steps = x.shape[0], x.shape[1]
    states = [np.asarray(s) for s in initial] or [np.zeros((batch, cell.units), x.dtype) for _ in range(count)]
    taken: list[list[np.ndarray]] = [[] for _ in range(count)]
    for t in range(steps - 1, -1, -1) if layer.go_backwards else range(steps):
        _, new = cell(tensor(x[:, t]), [tensor(s) for s in states])
        made = [np.asarray(s) for s in (new if isinstance(new, (list, tuple)) else [new])]
        if mask is not None:
            made = [np.where(mask[:, t, None], n, s) for n, s in zip(made, states, strict=True)]
        states = made
        for record, state in zip(taken, states, strict=True):
            record.append(state)
    return dict(zip(("h", "c"), (np.stack(record) for record in taken), strict=False))
