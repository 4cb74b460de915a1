"""`lstm-trace import`: one layer of a model file as a ready-to-run scenario file.

The scenario is what the reader found (the framework's own words), plus
inputs: the user's (.npy or .csv, (T, F) or (B, T, F)) or a short seeded
random sequence, so the file runs at once. Its header says where it came
from and what was inferred; a comment above each weight says where in the
file it was read. The mapping is validated and traced before any text is
written, so a written file always runs.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from .. import limits
from ..arrays import to_array, too_many
from ..errors import ScenarioError, Where
from ..scenario_text import scenario_text
from .found import FoundLayer, ModelFile, read_model

DEFAULT_STEPS = 3
DEFAULT_SEED = 1
MAX_RANDOM_STEPS = 10_000


@dataclass(frozen=True)
class Inputs:
    """Where a scenario's inputs come from: a file, or `steps` × `batch` seeded random values in [-1, 1]."""

    file: Path | None = None
    steps: int = DEFAULT_STEPS
    batch: int = 1
    seed: int = DEFAULT_SEED

    def make(self, found: FoundLayer) -> np.ndarray:
        """(B, T, F) in the layer's dtype; a file's width must be the layer's F."""
        dtype = np.dtype(found.dtype)
        if self.file is not None:
            kind = self.file.suffix.lower().lstrip(".")
            if kind not in ("npy", "csv"):
                raise ScenarioError("--inputs reads a .npy or .csv file", Where(self.file), found=self.file.suffix)
            where = Where(self.file, None, "--inputs")
            x = to_array({kind: str(self.file.resolve())}, where, None, dtype)
            x = x[None] if x.ndim == 2 else x
            if x.ndim != 3 or x.shape[-1] != found.features:
                raise ScenarioError(
                    "inputs of the wrong shape for this layer",
                    where,
                    expected=f"(T, {found.features}) or (B, T, {found.features}): the layer reads {found.features} "
                    "features",
                    found=f"shape {x.shape}",
                )
            return x
        rng = np.random.default_rng(self.seed)
        size = (found.batch or self.batch, max(self.steps, found.min_steps), found.features)  # as the file fixes
        if math.prod(size) > limits.MAX_ELEMENTS:  # a wide layer × --random T: refused before it is drawn
            raise too_many(size, Where(path="--random"))
        return np.round(rng.uniform(-1, 1, size=size), 2).astype(dtype)

    def says(self, found: FoundLayer) -> str:
        if self.file is not None:
            return f"inputs: read from {self.file.name}"
        rows, steps = found.batch or self.batch, max(self.steps, found.min_steps)
        return (
            f"inputs: made up ({rows} × {steps} steps, uniform in [-1, 1], seed {self.seed}); "
            "give your own with --inputs FILE (.npy or .csv)"
        )


@dataclass(frozen=True)
class Imported:
    """The scenario mapping (inputs included), its file text, and the layer it came from."""

    data: Mapping[str, Any]
    text: str
    found: FoundLayer
    model: ModelFile


def import_layer(path: str | Path, layer: str | None, inputs: Inputs, command: str) -> Imported:
    """Read `path`, pick `layer`, add inputs; the text carries a header naming the file and `command`."""
    model = read_model(path)
    found = model.select(layer)
    data = scenario_of(found, inputs)
    _within_a_scenario(data, model.path)
    _validated(data, model.path)
    header = [
        f"{found.kind} '{found.name}', imported from {model.path.name}: {model.format}.",
        f"Made by: {command}",
        *found.notes,
        inputs.says(found),
    ]
    comments = {f"weights.{name}": f"from {where}" for name, where in found.sources.items()}
    return Imported(data, scenario_text(data, header, comments), found, model)


def scenario_of(found: FoundLayer, inputs: Inputs) -> dict[str, Any]:
    """The found layer's scenario with inputs, in the contract's key order."""
    data = {"title": f"{found.kind} '{found.name}'", **found.scenario}
    data.setdefault("dtype", found.dtype)
    data["inputs"] = inputs.make(found)
    return data


def _within_a_scenario(data: Mapping[str, Any], source: Path) -> None:
    """A layer whose numbers a scenario file could not hold (limits.MAX_VALUES: `load` would refuse it) is
    refused before its text is made."""
    count = sum(_numbers(value) for value in data.values())
    if count > limits.MAX_VALUES:
        raise ScenarioError(
            "this layer holds more numbers than a scenario file may",
            Where(source),
            expected=f"at most {limits.MAX_VALUES:,} numbers (lstm_trace.limits.MAX_VALUES)",
            found=f"{count:,} numbers in its weights and inputs",
            hint="trace a smaller layer, or fewer steps (--random T)",
        )


def _numbers(value: Any) -> int:
    if isinstance(value, np.ndarray):
        return int(value.size)
    if isinstance(value, Mapping):
        return sum(_numbers(v) for v in value.values())
    if isinstance(value, list):
        return sum(_numbers(v) for v in value)
    return 0


def _validated(data: Mapping[str, Any], source: Path) -> None:
    """Build and trace the scenario, so that what is written runs; a failure is the reader's, reported as such."""
    from ..api import trace
    from ..scenario import Scenario

    trace(Scenario.from_dict(dict(data), source=source))
