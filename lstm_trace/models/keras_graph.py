"""A Keras model's config read as data: its layers, which feeds which, and the recurrent chains among them.

The config is JSON (config.json in a .keras archive, the model_config
attribute of a .h5), the same in every Keras version in what matters here: a
Sequential or Functional model whose `layers` each carry class_name, config
and, in a functional model, inbound_nodes naming the layers whose outputs the
call reads. Nothing is deserialised: a Lambda's marshalled code, a custom
class, a module path are strings this reads past. Keras 3 functional configs
also list operations (keras.ops calls, such as the not_equal a Masking layer
adds); they are not layers and hold no weights.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from ..errors import Where, shortened
from .found import ModelError

RECURRENT = ("LSTM", "GRU", "SimpleRNN", "Bidirectional")
MAX_DEPTH = 32  # how deep a call's arguments are searched for the tensors they hold


@dataclass(frozen=True, eq=False)
class Layer:
    """One layer of the model's config, and the calls the model makes of it."""

    index: int  # place in the config's list
    position: int  # index among the model's layers, in the order Keras saves their weights; -1 for an operation
    class_name: str
    name: str
    config: Mapping[str, Any]
    spec: Mapping[str, Any]  # the whole serialised entry: module, registered_name, build_config
    inbound: tuple[tuple[str, int], ...] | None  # (layer, output index) its call reads; None in a Sequential
    extra: tuple[str, ...] = ()  # layers whose outputs it also receives (initial_state, constants)
    calls: int = 1
    masked: bool = False  # a Keras 3 functional call that receives a mask

    @property
    def recurrent(self) -> bool:
        """An LSTM, GRU, SimpleRNN or Bidirectional of Keras's own (not a custom class of the same name)."""
        registered = self.spec.get("registered_name")
        return self.class_name in RECURRENT and registered in (None, self.class_name)


@dataclass(frozen=True, eq=False)
class Model:
    """The model's kind and its layers in config order (Sequential's leading InputLayer included).

    Looked up by name, and each layer's Masking source found in one pass: a config can list many layers.
    """

    kind: str
    layers: tuple[Layer, ...]
    masks_recorded: bool = False  # Keras 3 functional configs name the mask each call receives
    by_name: dict[str, Layer] = field(init=False)
    masking: dict[str, str] = field(init=False)  # layer → the Masking layer whose mask can reach it

    def __post_init__(self) -> None:
        object.__setattr__(self, "by_name", {layer.name: layer for layer in self.layers})
        reach: dict[str, str] = {}
        latest: str | None = None
        for layer in self.layers:  # a functional config lists a layer after every layer it reads
            if self.kind == "Sequential":
                found = latest
            else:
                found = next((r for n, _ in layer.inbound or () if (r := self._source(n, reach))), None)
            if found is not None:
                reach[layer.name] = found
            latest = layer.name if layer.class_name == "Masking" else latest
        object.__setattr__(self, "masking", reach)

    def _source(self, name: str, reach: dict[str, str]) -> str | None:
        found = self.by_name.get(name)
        return name if found is not None and found.class_name == "Masking" else reach.get(name)

    def before(self, layer: Layer) -> Layer | None:
        """The one layer whose first output is all that `layer`'s only call reads; None otherwise."""
        if self.kind == "Sequential":
            return self.layers[layer.index - 1] if layer.index > 0 else None
        if layer.calls != 1 or layer.extra or layer.inbound is None or len(layer.inbound) != 1:
            return None
        name, output = layer.inbound[0]
        found = self.by_name.get(name)
        return found if found is not None and output == 0 else None


def parse(config: Any, where: Where, layer_names: set[str] | None = None) -> Model:
    """The layers of a serialised Sequential or Functional model; a ModelError for anything else.

    An entry is an operation, not a layer, where its module is keras.src.ops (config.json) or, given
    `layer_names` (a legacy .h5's list of the layers it holds weights for), where it is not named there.
    """
    if not isinstance(config, Mapping) or not isinstance(config.get("config"), Mapping):
        raise ModelError(
            "the model config is not a serialised Keras model",
            where,
            expected='{"class_name": "Sequential" or "Functional", "config": {"layers": [...]}}',
        )
    kind = str(config.get("class_name"))
    entries = config["config"].get("layers")
    if not isinstance(entries, list):
        raise ModelError(
            "the model config lists no layers: a subclassed model's config does not say what it computes",
            where,
            expected="a Sequential or Functional model",
            found=shortened(kind, 60),
        )
    first = next((e for e in entries if isinstance(e, Mapping)), {})
    kind = "Sequential" if kind == "Sequential" or "inbound_nodes" not in first else "Functional"
    layers: list[Layer] = []
    position = 0
    for k, entry in enumerate(entries):
        here = where.child("layers").child(k)
        if not isinstance(entry, Mapping) or not isinstance(entry.get("config", {}), Mapping):
            raise ModelError("a layer of the config is not a serialised layer", here, expected="{class_name, config}")
        layer_config = entry.get("config") or {}
        name = entry.get("name", layer_config.get("name"))
        class_name = entry.get("class_name")
        if not isinstance(name, str) or not isinstance(class_name, str):
            raise ModelError("a layer has no name or class_name", here)
        operation = str(entry.get("module") or "").startswith(("keras.src.ops", "keras.ops")) or (
            layer_names is not None and name not in layer_names and class_name != "InputLayer"
        )
        skipped = kind == "Sequential" and k == 0 and class_name == "InputLayer"  # Sequential.layers leaves it out
        inbound, extra, calls, masked = _calls(entry, kind, here)
        layers.append(
            Layer(
                index=k,
                position=-1 if operation or skipped else position,
                class_name=class_name,
                name=name,
                config=layer_config,
                spec=entry,
                inbound=inbound,
                extra=extra,
                calls=calls,
                masked=masked,
            )
        )
        position += not (operation or skipped)
    names = [layer.name for layer in layers]
    if len(set(names)) != len(names):
        twice = next(n for n in names if names.count(n) > 1)
        raise ModelError("two layers share a name", where.child("layers"), found=shortened(twice, 60))
    recorded = any(isinstance(node, Mapping) for e in entries if isinstance(e, Mapping)
                   for node in (e.get("inbound_nodes") or [])[:1])  # fmt: skip
    return Model(kind, tuple(layers), recorded)


def chains(model: Model) -> list[list[Layer]]:
    """Runs of two or more recurrent layers, each fed directly by the one before, as a stack can trace them."""
    runs: list[list[Layer]] = []
    ending: dict[str, list[Layer]] = {}  # runs by their last layer: in a functional model they interleave
    for layer in model.layers:
        if not layer.recurrent:
            continue
        below = model.before(layer)
        run = ending.pop(below.name, None) if below is not None else None
        if run is not None and below is not None and _passes_on(below) and _reads_forward(layer):
            run.append(layer)
        else:
            run = [layer]
            runs.append(run)
        ending[layer.name] = run
    return [run for run in runs if len(run) > 1]


def _passes_on(layer: Layer) -> bool:
    """Whether a stack can feed this layer's output to the next: one sequence, read forwards."""
    config: Any = layer.config
    if layer.class_name == "Bidirectional":  # what it returns is its wrapped layer's to say
        if "merge_mode" in config and config["merge_mode"] is None:
            return False
        inner = config.get("layer")
        config = inner.get("config") if isinstance(inner, Mapping) else None
        if not isinstance(config, Mapping):
            return False
    return config.get("return_sequences") is True and not config.get("return_state") and _reads_forward(layer)


def _reads_forward(layer: Layer) -> bool:
    return layer.class_name == "Bidirectional" or not layer.config.get("go_backwards")


def _calls(entry: Mapping[str, Any], kind: str, where: Where) -> tuple[Any, tuple[str, ...], int, bool]:
    """(inputs of its first call, other layers it receives, how many calls, whether a mask is passed)."""
    if kind == "Sequential":
        return None, (), 1, False
    nodes = entry.get("inbound_nodes") or []
    if not isinstance(nodes, list):
        raise ModelError("inbound_nodes is not a list", where.child("inbound_nodes"))
    if not nodes:
        return (), (), 0, False
    node = nodes[0]
    if isinstance(node, Mapping):  # Keras 3: {"args": [...], "kwargs": {...}} holding __keras_tensor__ entries
        inbound = tuple(_tensors(node.get("args"), 0))
        kwargs: Mapping[str, Any] = node["kwargs"] if isinstance(node.get("kwargs"), Mapping) else {}
        extra = tuple(name for key, value in kwargs.items() if key != "mask" for name, _ in _tensors(value, 0))
        return inbound, extra, len(nodes), _tensors(kwargs.get("mask"), 0) != []
    if isinstance(node, list):  # Keras 2: [[layer, node index, tensor index, kwargs], ...]
        refs = [(str(ref[0]), ref[2]) for ref in node if isinstance(ref, list) and len(ref) >= 3]
        inbound = tuple((name, index if isinstance(index, int) else 0) for name, index in refs)
        return inbound[:1], tuple(name for name, _ in inbound[1:]), len(nodes), False
    raise ModelError("an inbound node is neither Keras 3's nor Keras 2's", where.child("inbound_nodes"))


def _tensors(value: Any, depth: int) -> list[tuple[str, int]]:
    """Every (layer, output index) a Keras 3 call argument refers to, searched to a bounded depth."""
    if depth > MAX_DEPTH:
        return []
    if isinstance(value, Mapping):
        if value.get("class_name") == "__keras_tensor__":
            history = (value.get("config") or {}).get("keras_history")
            if isinstance(history, list) and len(history) == 3 and isinstance(history[0], str):
                return [(history[0], history[2] if isinstance(history[2], int) else 0)]
            return []
        return [t for item in value.values() for t in _tensors(item, depth + 1)]
    if isinstance(value, list):
        return [t for item in value for t in _tensors(item, depth + 1)]
    return []
