"""What every framework module gets and gives, and the checks they share.

A framework module reads a `Raw` (the scenario's sections, still in the
framework's words), validates every option, and returns a `Built`: the
canonical `Network`, the words that explain the translation, and `returns`,
which turns the engine's runs back into what the framework itself returns,
closed over the options already validated.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol, TypeAlias

import numpy as np

from ..arrays import nonfinite, to_array
from ..errors import ScenarioError, Where, unknown_name
from ..merge import Merge
from ..model import Network

if TYPE_CHECKING:
    from ..trace import Run

Runs: TypeAlias = "tuple[tuple[Run, ...], ...]"  # layer by layer, direction by direction, as the engine ran them


@dataclass(frozen=True)
class Raw:
    """A scenario's sections as written, with the context needed to report errors in them."""

    layer: str
    config: Mapping[str, Any]
    weights: Any  # a mapping of names, or a list as get_weights() returns it
    initial_state: Mapping[str, Any]
    inputs: np.ndarray  # (B, T, F), already in the scenario's dtype
    dtype: np.dtype  # type: ignore[type-arg]
    file: Path | None = None
    lines: Mapping[str, int | None] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)  # filled while reading: NaN and inf found in arrays
    module: str | None = None  # torch: the module of a whole state_dict to trace (`module: lstm`)
    extras: Mapping[str, Any] = field(default_factory=dict)  # top-level keys one framework reads (Keras: mask, ...)

    def where(self, section: str, key: str | None = None) -> Where:
        """The position of `section.key`, with the best line YAML gave us."""
        line = self.lines.get(section)
        line_of = getattr(getattr(self, section, None), "line_of", None)
        if key is not None and line_of is not None:
            line = line_of(key)
        base = Where(self.file, line, section)
        return base.child(key, line) if key is not None else base

    def array(self, section: str, key: str, shape: tuple[int, ...] | None, meaning: str) -> np.ndarray:
        """`section[key]` as an array of exactly `shape`, or an error that says what the shape means."""
        where = self.where(section, key)
        value = to_array(getattr(self, section)[key], where, self.file.parent if self.file else None, self.dtype)
        self.check_finite(value, where)
        if shape is not None and value.shape != shape:
            if value.size == int(np.prod(shape)) and value.ndim != len(shape):
                hint = f"it has the right number of values; write it as shape {shape}"
            else:
                hint = None
            raise ScenarioError(
                "wrong shape",
                where,
                expected=f"shape {shape}: {meaning}",
                found=f"shape {value.shape}",
                hint=hint,
            )
        return value

    def check_finite(self, value: np.ndarray, where: Where) -> None:
        warning = nonfinite(value, where)
        if warning and warning not in self.warnings:
            self.warnings.append(warning)

    @property
    def batch(self) -> int:
        return int(self.inputs.shape[0])

    @property
    def features(self) -> int:
        return int(self.inputs.shape[2])


@dataclass(frozen=True)
class Returned:
    """What the framework returns: plain output arrays, and what a call to the layer gives back."""

    outputs: dict[str, np.ndarray]
    returns: tuple[tuple[str, str], ...]
    note: str = ""
    states_axis: int | None = None  # the axis of h and c over every layer and direction, in order, if any
    merges: tuple[Merge, ...] = ()  # outputs merged from two directions, with the parts they were merged from


Returns: TypeAlias = Callable[[Runs], Returned]


@dataclass(frozen=True, eq=False)
class Built:
    """A framework's translation of a scenario: the network, how to talk about it, and what the layer returns."""

    network: Network
    header: str
    config: Mapping[str, Any]
    returns: Returns  # the runs → the framework's own outputs, for the options validated here
    notes: tuple[str, ...] = ()
    inert: tuple[tuple[str, str], ...] = ()
    pinned: Mapping[str, Any] = field(default_factory=dict)  # what the numbers decided (Keras's Masking mask), kept
    # when the same layer is built again with other numbers (provenance.py): Raw.extras["pinned"] then


@dataclass(frozen=True)
class ActivationOption:
    """Where a layer's activation for one role (gates, candidate, cell output) is chosen, for messages.

    `key` is the config key that chooses it, or None where the layer fixes it (torch's and TF1's sigmoid gates).
    """

    field: str
    key: str | None
    hint: str | None = None


class Framework(Protocol):
    name: str
    layers: tuple[str, ...]

    def dtype_of(self, config: Mapping[str, Any]) -> str | None: ...

    def build(self, raw: Raw) -> Built: ...

    def activation_option(self, layer: str, kind: str, role: str) -> ActivationOption:
        """Which option chose the activation in `role`: recurrent (the gates), activation, or output (h's)."""
        ...

    def exact_activations(self) -> list[str]:
        """The activations this framework can run under --exact, in its own spelling."""
        ...


# Options that cannot change a forward pass, with the one line that says why.
INERT_WHY = {
    "initializer": "sets starting weights; these weights are given",
    "regularizer": "adds a training loss",
    "constraint": "limits weights during training",
    "dropout": "acts only in training",
    "unit_forget_bias": "only initialises the forget bias; this bias is given",
    "unroll": "changes speed, not numbers",
    "implementation": "changes speed, not numbers",
    "stateful": "carries state between calls; one call is traced",
    "trainable": "matters only for training",
    "name": "a label",
    "seed": "seeds dropout and initializers",
    "zero_output_for_mask": "acts only with a mask; this trace has none",
}


def inert_reason(key: str) -> str | None:
    for fragment, why in INERT_WHY.items():
        if key == fragment or key.endswith("_" + fragment) or key.startswith(fragment):
            return why
    return None


def check_keys(section: Mapping[str, Any], valid: Iterable[str], kind: str, raw: Raw, name: str) -> None:
    options = list(valid)
    for key in section:
        if key not in options:
            raise unknown_name(kind, str(key), options, raw.where(name, str(key)))


def option(raw: Raw, key: str, default: Any, kind: type | tuple[type, ...]) -> Any:
    """A config option of the right type; bool is never accepted as a number, nor NaN, inf or an integer
    beyond float range."""
    value = raw.config.get(key, default)
    if value is default:
        return value
    where = raw.where("config", key)
    return finite(typed(value, kind, where), where)


def finite(value: Any, where: Where) -> Any:
    """`value` unchanged if it is not a number or is a finite one; a config number that is NaN or inf (or an
    integer no float can hold) is refused: it would turn every state NaN without a word."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return value
    try:
        ok = math.isfinite(value)
    except OverflowError:  # an integer beyond float range
        ok = False
    if not ok:
        found = f"an integer of {len(str(abs(value))):,} digits" if isinstance(value, int) else repr(value)
        raise ScenarioError("must be a finite number", where, expected="a number such as 1.0 or 0.2", found=found)
    return value


def typed(value: Any, kind: type | tuple[type, ...], where: Where) -> Any:
    """`value` if it is of the right type; bool is never accepted as a number."""
    kinds = kind if isinstance(kind, tuple) else (kind,)
    ok = isinstance(value, kinds) and not (isinstance(value, bool) and bool not in kinds)
    if not ok:
        names = " or ".join(k.__name__ for k in kinds)
        raise ScenarioError("wrong type", where, expected=names, found=repr(value))
    return value


def flag(raw: Raw, key: str, default: bool) -> bool:
    """A boolean config option: true or false as YAML writes them; never 'no', 0 or null."""
    if key not in raw.config:
        return default
    return bool(typed(raw.config[key], bool, raw.where("config", key)))


def flags(raw: Raw, keys: Iterable[str]) -> None:
    """Refuse a non-boolean for any of `keys` that the config gives, whether or not the option has an effect."""
    for key in keys:
        flag(raw, key, False)


def positive_number(raw: Raw, key: str) -> float | None:
    """An optional config number above 0 and finite: TF1's cell_clip and proj_clip, ONNX's clip."""
    value = raw.config.get(key)
    if value is None:
        return None
    where = raw.where("config", key)
    if not typed(value, (int, float), where) > 0:  # NaN is refused too
        raise ScenarioError(f"{key} must be a positive number", where, found=repr(value))
    return finite(value, where)  # as written: --exact takes a YAML 0.5 as 1/2


def positive_int(raw: Raw, key: str, value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ScenarioError("must be a positive whole number", raw.where("config", key), found=repr(value))
    return int(value)


def state_array(raw: Raw, key: str, shape: tuple[int, ...], meaning: str) -> np.ndarray:
    """An initial-state array; a single row is broadcast over the batch."""
    value = raw.initial_state[key]
    where = raw.where("initial_state", key)
    array = to_array(value, where, raw.file.parent if raw.file else None, raw.dtype)
    raw.check_finite(array, where)
    if array.shape == shape[1:] and len(shape) == 2:
        array = np.broadcast_to(array, shape).copy()
    if array.shape != shape:
        raise ScenarioError("wrong shape", where, expected=f"shape {shape}: {meaning}", found=f"shape {array.shape}")
    return array


def sequence_lengths(raw: Raw, value: Any, parent: Where, name: str) -> np.ndarray | None:
    """Each batch row's length, where the scenario gives them (dynamic_rnn's sequence_length, ONNX's sequence_lens)."""
    if value is None:
        return None
    where = parent.child(name)
    lengths = np.asarray(value, dtype=object).reshape(-1)
    steps = raw.inputs.shape[1]
    ok = all(isinstance(v, int) and not isinstance(v, bool) and 0 <= v <= steps for v in lengths)
    if not ok or lengths.shape != (raw.batch,):
        raise ScenarioError(
            f"{name} must give each batch row's length",
            where,
            expected=f"{raw.batch} whole numbers from 0 to T={steps}",
            found=repr(value),
        )
    return lengths.astype(np.int64)


def sequence_output(run: Run) -> np.ndarray:
    """(B, T, H_out) in input time, rows past a sequence's length zero: as dynamic_rnn and ONNX return them."""
    sequence = run.outputs_in_input_time()
    if run.active is not None:
        taken = np.empty_like(run.active)
        taken[run.reads] = run.active  # steps to input times: a reverse direction reads them backwards
        sequence = np.where(taken.T[..., None], sequence, 0)
    return sequence


def reorder_blocks(array: np.ndarray, order: tuple[int, ...], hidden: int) -> np.ndarray:
    """Gate rows (or entries) stored block after block, reordered: canonical block k is stored block order[k]."""
    parts = [array[k * hidden : (k + 1) * hidden] for k in order]
    return np.concatenate(parts, axis=0)
