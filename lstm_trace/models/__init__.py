"""Model files in: a saved model's recurrent layers, read as data, as scenarios in the framework's own words.

Each reader turns one file format into `FoundLayer`s: the scenario mapping a
user would have written by hand (framework, layer, config, weights under the
framework's names; no inputs), where each weight came from in the file, and
what had to be inferred. Nothing in a file is ever executed: a Keras config is
read as JSON, a torch pickle through an allow-list that builds only dicts and
arrays, an ONNX graph as protobuf data.

Adding a format means adding its module and one line in `READERS`.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..errors import ScenarioError, Where, printable, unknown_name

# suffix → (module, what the format is called); a suffix not here is refused with this list
READERS: dict[str, tuple[str, str]] = {
    ".keras": ("keras_file", "Keras 3 model (.keras)"),
    ".h5": ("keras_file", "Keras HDF5 model (.h5)"),
    ".hdf5": ("keras_file", "Keras HDF5 model (.hdf5)"),
    ".pt": ("torch_file", "torch state_dict (.pt)"),
    ".pth": ("torch_file", "torch state_dict (.pth)"),
    ".bin": ("torch_file", "torch state_dict (.bin)"),
    ".safetensors": ("safetensors_file", "safetensors weights (.safetensors)"),
    ".onnx": ("onnx_file", "ONNX model (.onnx)"),
}
EXTRA = "pip install 'lstm-trace[models]'"
MAX_FILE_BYTES = 2 << 30  # a model file larger than this is refused before it is read


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
    read: Callable[[Path], ModelFile] = importlib.import_module(f"{__name__}.{module}").read
    return read(file)


def is_model_file(path: str | Path) -> bool:
    """Whether `path` names a model file (by its suffix) rather than a scenario."""
    return Path(path).suffix.lower() in READERS


def need(package: str, what: str) -> Any:
    """Import `package` (h5py, safetensors, onnx), or a ModelError naming the extra that brings it."""
    try:
        return importlib.import_module(package)
    except ImportError:
        raise ModelError(
            f"reading {what} needs the {package} package, which is not installed",
            hint=f"{EXTRA} brings h5py, safetensors and onnx",
        ) from None


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
