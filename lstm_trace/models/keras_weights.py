"""Where a Keras file keeps each layer's weights: a .keras archive's model.weights.h5, or a legacy .h5.

model.weights.h5 (Keras 3, and tf_keras's own .keras) files a layer under
the snake_case of its class with _1, _2 for the second and third of a class,
in the order of model.layers (layers/lstm_1/cell/vars/0..2), never under the
layer's name; so config.json's layers are matched to them by class and order.
Keras 3 also writes the layer's name beside its variables (vars@name): where
it is present it must agree. A legacy .h5 files each layer under its name
(model_weights/<layer>/...), the group's weight_names attribute listing its
weights in order, named with or without TensorFlow's ':0'.

Each reader gives, for one layer, its sides (one, or a Bidirectional's
forward and backward layers), each a list of (role, array, where it was read)
with role kernel, recurrent_kernel or bias.
"""

from __future__ import annotations

import re

import numpy as np

from .found import ModelError
from .keras_graph import Layer, Model
from .keras_h5 import H5, strings, text

ROLES = ("kernel", "recurrent_kernel", "bias")
Weight = tuple[str, np.ndarray, str]  # (role, array, where in the file)
Sides = list[tuple[str, list[Weight]]]  # [("", weights)] or [("forward", ...), ("backward", ...)]


def snake_case(name: str) -> str:
    """Keras's naming.to_snake_case: how model.weights.h5 names a layer's class."""
    name = re.sub(r"\W+", "", name)
    name = re.sub("(.)([A-Z][a-z]+)", r"\1_\2", name)
    return re.sub("([a-z])([A-Z])", r"\1_\2", name).lower()


class ArchiveWeights:
    """model.weights.h5 of a .keras archive: layers/<snake_case class>[_k]/cell/vars/<i>."""

    def __init__(self, h5: H5, model: Model) -> None:
        self.h5 = h5
        self.keys: dict[str, str] = {}
        used: dict[str, int] = {}
        for layer in model.layers:
            if layer.position < 0:
                continue
            base = snake_case(layer.class_name)
            used[base] = used.get(base, -1) + 1
            self.keys[layer.name] = base if used[base] == 0 else f"{base}_{used[base]}"

    def sides(self, layer: Layer) -> Sides:
        key = f"layers/{self.keys[layer.name]}"
        if self.h5.get(key) is None:
            raise ModelError(
                f"model.weights.h5 holds no weights for layer {layer.name} ({layer.class_name})",
                self.h5.where(key),
                expected=f"a group {key}: Keras files the layers of a class in order as "
                f"{snake_case(layer.class_name)}, {snake_case(layer.class_name)}_1, ...",
            )
        saved = text(self.h5.attr(f"{key}/vars", "name"))
        if saved is not None and saved != layer.name:
            raise ModelError(
                "config.json and model.weights.h5 disagree on which layer this is",
                self.h5.where(f"{key}/vars"),
                expected=f"the weights of {layer.name}, the config's {layer.class_name} in this place",
                found=f"the weights of a layer named {saved}",
            )
        if layer.class_name == "Bidirectional":
            return [(side, self._vars(f"{key}/{side}_layer/cell/vars")) for side in ("forward", "backward")]
        return [("", self._vars(f"{key}/cell/vars"))]

    def _vars(self, inner: str) -> list[Weight]:
        names = self.h5.names(inner)
        count = len(names)
        if sorted(names) != sorted(str(k) for k in range(count)) or count not in (2, 3):
            raise ModelError(
                "a recurrent layer's variables are not the two or three Keras writes",
                self.h5.where(inner),
                expected="0 (kernel), 1 (recurrent_kernel) and 2 (bias, unless use_bias is false)",
                found=", ".join(names[:8]) or "nothing",
            )
        return [(ROLES[k], self.h5.array(f"{inner}/{k}"), f"{self.h5.label}{inner}/{k}") for k in range(count)]


class LegacyWeights:
    """A legacy .h5's model_weights/<layer name>/..., in the order of the group's weight_names."""

    def __init__(self, h5: H5) -> None:
        self.h5 = h5

    def sides(self, layer: Layer) -> Sides:
        group = f"model_weights/{layer.name}"
        names = self._names(group)
        weights: list[Weight] = []
        for name in names:
            role = name.split("/")[-1].split(":")[0]
            if role not in ROLES:
                raise ModelError(f"an unexpected weight for a {layer.class_name}", self.h5.where(f"{group}/{name}"),
                                 expected=", ".join(ROLES))  # fmt: skip
            weights.append((role, self.h5.array(f"{group}/{name}"), f"{group}/{name}"))
        if layer.class_name != "Bidirectional":
            return [("", _once(weights, group, self.h5))]
        half = len(weights) // 2
        return [("forward", _once(weights[:half], group, self.h5)), ("backward", _once(weights[half:], group, self.h5))]

    def _names(self, group: str) -> list[str]:
        """weight_names, or Keras's chunks of it (weight_names0, weight_names1, ...) where it was too long."""
        names = strings(self.h5.attr(group, "weight_names"))
        if names is None and self.h5.attr(group, "weight_names0") is not None:
            names, k = [], 0
            while (chunk := strings(self.h5.attr(group, f"weight_names{k}"))) is not None:
                names, k = names + chunk, k + 1
        if names is None:
            raise ModelError("a layer's weights are not listed", self.h5.where(group),
                             expected="the group attribute weight_names, as Keras writes it")  # fmt: skip
        return names


def _once(weights: list[Weight], group: str, h5: H5) -> list[Weight]:
    """Each role once, kernel and recurrent_kernel present: the weights of one recurrent layer."""
    roles = [role for role, _, _ in weights]
    if len(set(roles)) != len(roles) or not {"kernel", "recurrent_kernel"} <= set(roles):
        raise ModelError(
            "a recurrent layer's weights are not one kernel, one recurrent_kernel and at most one bias",
            h5.where(group),
            found=", ".join(roles) or "no weights",
        )
    return sorted(weights, key=lambda w: ROLES.index(w[0]))
