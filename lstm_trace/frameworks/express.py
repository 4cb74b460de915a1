"""What every framework's `express_<name>` module shares: the canonical network read back out for `convert`.

An expresser refuses by `Refusals.cannot` (all reasons collected, one message),
spells activations by evaluating them (`spell`), and reads biases, gate
blocks and lengths through the helpers here, so each framework module holds
only its own layout and names.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ..activations import Activation
from ..errors import ScenarioError, Where
from ..model import Cell, Network

LAYER = {"lstm": "LSTM", "gru": "GRU", "rnn": "RNN"}  # torch's and ONNX's names for the canonical kinds
_PROBES = np.concatenate([np.linspace(-12.0, 12.0, 4801), [-3.0, -2.5, -1.0, 0.0, 1.0, 2.5, 3.0, 1e-7, -1e-7]])


class CannotExpress(ScenarioError):
    """The target framework has no words for some of this layer: every such option is listed."""


@dataclass
class Refusals:
    """What a target cannot express, collected over the whole network so that one message names them all."""

    target: str
    reasons: list[str] = field(default_factory=list)

    def cannot(self, option: str, why: str) -> None:
        line = f"{option}: {why}"
        if line not in self.reasons:
            self.reasons.append(line)

    def raise_any(self, source: str) -> None:
        if self.reasons:
            raise CannotExpress(
                f"{self.target} cannot express this {source} layer:\n" + "\n".join(f"  - {r}" for r in self.reasons),
                Where(path="--to"),
            )


@dataclass(frozen=True)
class Expressed:
    """A target's words for the network: the scenario keys it writes (no inputs) and notes on the translation."""

    data: Mapping[str, Any]
    notes: tuple[str, ...] = ()


def spell(act: Activation, vocabulary: Iterable[tuple[str, Activation]]) -> str | None:
    """The first name in `vocabulary` whose function equals `act` on probes around every usual kink."""
    want = _values(act)
    for name, candidate in vocabulary:
        got = _values(candidate)
        if got is not None and want is not None and np.allclose(got, want, rtol=1e-12, atol=1e-12, equal_nan=True):
            return name
    return None


def _values(act: Activation) -> np.ndarray | None:
    try:
        with np.errstate(all="ignore"):
            return np.asarray(act.fn(_PROBES[None, :]), dtype=np.float64)
    except (TypeError, ValueError, OverflowError):
        return None


def input_bias(cell: Cell) -> np.ndarray:
    """b + forget_bias: the input side of a layer that keeps two biases (torch's bias_ih, ONNX's Wb)."""
    total = np.zeros(cell.kernel.shape[1], cell.kernel.dtype)
    for part in (cell.bias, cell.runtime_bias):
        if part is not None:
            total = total + part
    return total


def recurrent_bias(cell: Cell) -> np.ndarray:
    """The recurrent side (torch's bias_hh, ONNX's Rb, a reset_after GRU's second row), zeros where none."""
    if cell.recurrent_bias is None:
        return np.zeros(cell.kernel.shape[1], cell.kernel.dtype)
    return cell.recurrent_bias.copy()


def has_bias(cell: Cell) -> bool:
    return any(part is not None for part in (cell.bias, cell.recurrent_bias, cell.runtime_bias))


def reorder(array: np.ndarray, cell: Cell, order: str | tuple[str, ...], axis: int = -1) -> np.ndarray:
    """Canonical gate blocks along `axis` put in `order` (canonical gate names)."""
    parts = [np.take(array, range(cell.block(g).start, cell.block(g).stop), axis=axis) for g in order]
    return np.concatenate(parts, axis=axis)


def prefix_lengths(network: Network) -> np.ndarray | None:
    """Each row's length where its steps are a run from the start (what lengths or a prefix mask say), else None.

    None also when there are neither lengths nor a mask."""
    if network.lengths is not None:
        return np.asarray(network.lengths)
    if network.mask is None:
        return None
    mask = np.asarray(network.mask, dtype=bool)
    lengths = mask.sum(axis=1)
    prefix = np.arange(mask.shape[1])[None, :] < lengths[:, None]
    return lengths if np.array_equal(mask, prefix) else None


def step_mask(network: Network) -> np.ndarray | None:
    """(B, T) booleans: the steps each row uses (a mask, or its lengths as a prefix), None when all are used."""
    if network.mask is not None:
        return np.asarray(network.mask, dtype=bool)
    if network.lengths is None:
        return None
    t = network.inputs.shape[1]
    return np.arange(t)[None, :] < np.asarray(network.lengths)[:, None]


def common_refusals(cell: Cell, refuse: Refusals, has: Iterable[str] = ()) -> None:
    """Refuse the options only some frameworks have, except those the target `has`: peepholes, cell_clip,
    projection, proj_clip, pre_clip, coupled, output_activation."""
    checks = (
        (cell.peepholes is not None, "peepholes", "peepholes", "it has no peephole connections"),
        (cell.cell_clip is not None, "cell_clip", "cell_clip", "it does not clip the cell state"),
        (cell.projection is not None, "projection", "projection (num_proj, proj_size)", "it has no output projection"),
        (cell.proj_clip is not None, "proj_clip", "proj_clip", "it does not clip a projection"),
        (cell.pre_clip is not None, "pre_clip", "clip (of every pre-activation)", "it does not clip pre-activations"),
        (cell.coupled_forget, "coupled", "input_forget (f = 1 − i)", "its forget gate has weights of its own"),
    )
    allowed = set(has)
    for present, key, option, why in checks:
        if present and key not in allowed:
            refuse.cannot(option, why)
    other = cell.output_activation is not None and spell(cell.output_activation, [("same", cell.activation)]) is None
    if other and "output_activation" not in allowed:
        refuse.cannot("an activation of c (h's) other than the candidate's", "it uses one activation for both")
