"""What a model file holds, as the readers give it: its recurrent layers, each as the scenario a user would write.

Kept apart from the package's __init__ so that checking whether a path names a model file costs nothing.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..errors import ScenarioError, Where, printable, unknown_name
from . import MAX_FILE_BYTES, READERS


class ModelError(ScenarioError):
    """A model file that cannot be imported: what is wrong, where in the file, and what would work."""


@dataclass(frozen=True)
class FoundLayer:
    """One recurrent layer of a model file, ready to become a scenario.

    `scenario` is the mapping a user would write (SCENARIO.md): framework,
    layer, config, weights as numpy arrays under the framework's own names,
    optional initial_state, module or layers; never inputs. `sources` says,
    for each weight name in `scenario`, where in the file it was read
    ("model.weights.h5: layers/lstm/cell/vars/0"). `notes` says what was
    inferred or left out (batch_first is not stored in a state_dict; a Dense
    head is not traced).
    """

    name: str  # what --layer takes: the Keras layer name, the torch module prefix, the ONNX node name
    kind: str  # as the file names it: "LSTM", "Bidirectional(GRU)", "nn.LSTM", "ONNX GRU"
    features: int  # the input width F, for inputs made up when none are given
    dtype: str  # float32 or float64, as stored
    scenario: Mapping[str, Any]
    sources: Mapping[str, str] = field(default_factory=dict)
    notes: tuple[str, ...] = ()
    batch: int | None = None  # B where the file fixes it (an ONNX node's constant initial state or sequence_lens)
    min_steps: int = 1  # the fewest steps its inputs may have (the longest constant sequence_lens)

    @property
    def shapes(self) -> str:
        """The weights' names and shapes, for listings: 'kernel (8, 64), recurrent_kernel (16, 64), bias (64,)'."""
        parts = []
        for name, value in _weights_of(self.scenario).items():
            shape = getattr(value, "shape", None)
            parts.append(f"{name} {tuple(shape)}" if shape is not None else name)
        return ", ".join(parts)


@dataclass(frozen=True)
class ModelFile:
    """What a file holds: its format (with the framework version it names, where it names one) and its layers."""

    path: Path
    format: str
    layers: tuple[FoundLayer, ...]

    def select(self, name: str | None) -> FoundLayer:
        """The layer `name` names, or the only one; otherwise an error that lists them."""
        if not self.layers:
            raise ModelError(
                "no recurrent layer in this file",
                Where(self.path),
                expected="an LSTM, GRU or simple RNN layer (Keras), module (torch) or node (ONNX)",
                found=self.format,
            )
        if name is None:
            if len(self.layers) == 1:
                return self.layers[0]
            raise ModelError(
                f"this file holds {len(self.layers)} recurrent layers: say which with --layer NAME",
                Where(self.path),
                expected="one of:\n" + self.listing(indent="    "),
            )
        for layer in self.layers:
            if layer.name == name:
                return layer
        raise unknown_name("layer", name, tuple(layer.name for layer in self.layers), Where(self.path, None, "--layer"))

    def listing(self, indent: str = "") -> str:
        """One line per layer: name, kind, weight shapes; names from the file with control characters made visible."""
        return "\n".join(
            printable(f"{indent}{layer.name}  {layer.kind}  {layer.shapes}", one_line=True) for layer in self.layers
        )


def read_model(path: str | Path) -> ModelFile:
    """Every recurrent layer of the model file at `path`, read as data; a ModelError says why not."""
    file = Path(path)
    suffix = file.suffix.lower()
    if suffix not in READERS:
        raise unknown_name("model file type", suffix or file.name, tuple(READERS), Where(file))
    if not file.is_file():
        raise ModelError("no such file", Where(file))
    size = file.stat().st_size
    if size > MAX_FILE_BYTES:
        raise ModelError(
            "the file is too large to read",
            Where(file),
            expected=f"at most {MAX_FILE_BYTES} bytes",
            found=f"{size} bytes",
        )
    module, _ = READERS[suffix]
    read: Callable[[Path], ModelFile] = importlib.import_module(f"{__package__}.{module}").read
    return read(file)


def _weights_of(scenario: Mapping[str, Any]) -> Mapping[str, Any]:
    weights = scenario.get("weights")
    if isinstance(weights, Mapping):
        return weights
    layers = scenario.get("layers")
    if isinstance(layers, list):  # a stack: every entry's weights, prefixed by its position
        return {
            f"layers[{k}].{name}": value for k, entry in enumerate(layers) for name, value in entry["weights"].items()
        }
    return {}
