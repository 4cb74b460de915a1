"""One module per framework; this registry is the only place that lists them.

Adding a framework means adding its module and one line here.
"""

from __future__ import annotations

import importlib

from .base import ActivationOption, Built, Framework, Raw, Returned, Returns, Runs

_MODULES = {"keras": "keras", "keras2": "keras", "torch": "torch", "tf1": "tf1", "onnx": "onnx"}
NAMES = tuple(_MODULES)
ALIASES = {"keras3": "keras", "tf.keras": "keras2", "tf_keras": "keras2", "pytorch": "torch"}
PLANNED: tuple[str, ...] = ()  # in the scenario format, not yet here


def block_orders(kind: str) -> dict[str, tuple[str, ...]]:
    """Each framework's order of a layer kind's gate blocks, as canonical names: a student may read one as another."""
    orders = {}
    for name in ("keras", "tf1", "torch", "onnx"):
        blocks = importlib.import_module(f"{__name__}.{name}").BLOCKS[kind]
        orders[name] = tuple(block.canonical for block in blocks)
    return orders


def get(name: str) -> Framework:
    module = importlib.import_module(f"{__name__}.{_MODULES[name]}")
    framework: Framework = module.FRAMEWORKS[name]
    return framework


__all__ = [
    "ALIASES",
    "NAMES",
    "PLANNED",
    "ActivationOption",
    "Built",
    "Framework",
    "Raw",
    "Returned",
    "Returns",
    "Runs",
    "block_orders",
    "get",
]
