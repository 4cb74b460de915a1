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
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .found import FoundLayer, ModelError, ModelFile, read_model

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


def is_model_file(path: str | Path) -> bool:
    """Whether `path` names a model file (by its suffix) rather than a scenario."""
    return Path(path).suffix.lower() in READERS


def need(package: str, what: str) -> Any:
    """Import `package` (h5py, safetensors, onnx), or a ModelError naming the extra that brings it."""
    from .found import ModelError

    try:
        return importlib.import_module(package)
    except ImportError:
        raise ModelError(
            f"reading {what} needs the {package} package, which is not installed",
            hint=f"{EXTRA} brings h5py, safetensors and onnx",
        ) from None


def __getattr__(name: str) -> Any:
    """FoundLayer, ModelFile, ModelError and read_model, from .found when first asked: a command that reads
    no model file (`run scenario.yaml`) does not pay for them."""
    if name in ("FoundLayer", "ModelFile", "ModelError", "read_model"):
        from . import found

        return getattr(found, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = ["EXTRA", "MAX_FILE_BYTES", "READERS", "FoundLayer", "ModelError", "ModelFile", "is_model_file", "need",
           "read_model"]  # fmt: skip
