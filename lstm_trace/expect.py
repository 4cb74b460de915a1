"""The `expect` block: values a person worked out, to be checked against the trace.

Step quantities are named canonically (LSTM i f g o c h, GRU z r n h, RNN h),
with `pre_` for a gate's pre-activation; `x` is the input a step read. Where a
framework's own gate name is not also a state name (TF1's `j`, ONNX's ...),
it is accepted too. Quantities refer to layer 1, forward direction. In an
exact scenario (`--exact`) expected values are Fractions, as written.

`gradients` holds hand-worked gradients of the backward pass: `loss`, any
weight by the scenario's own name, `inputs`, an initial state's name, and
`per_step: {t: {h: ..., c: ...}}` (dL/dh_t, dL/dc_t). Weight and state names
are checked against the scenario's arrays when the check runs (check.py), where
the gradients exist; shapes and step numbers here.
"""

from __future__ import annotations

import contextlib
import math
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from .arrays import to_array
from .errors import ScenarioError, Where, unknown_name
from .model import Network

DEFAULT_TOLERANCE = 0.0005
STATES = {"lstm": ("c", "h"), "gru": ("h",), "rnn": ("h",)}


@dataclass(frozen=True, eq=False)
class Expected:
    """One expected quantity: `step` is None for the final state."""

    name: str
    step: int | None
    values: np.ndarray
    line: int | None = None
    note: str = ""  # how a framework's own name was read
    gradient: bool = False  # a gradient (expect.gradients): `name` is loss, a weight's own name, inputs, a state
    # name, or for a step (per_step) h or c

    @property
    def quantity(self) -> str:
        """How check's JSON report names it: h, pre_i, gradients.kernel, gradients.per_step.h."""
        if not self.gradient:
            return self.name
        return f"gradients.per_step.{self.name}" if self.step is not None else f"gradients.{self.name}"

    @property
    def label(self) -> str:
        return self.quantity if self.step is None else f"{self.quantity} at t={self.step}"


@dataclass(frozen=True, eq=False)
class Expect:
    items: tuple[Expected, ...]
    tolerance: float = DEFAULT_TOLERANCE


def step_names(net: Network) -> dict[str, str]:
    """Every name a step quantity may be given by, mapped to its canonical name.

    A framework's own block name is taken where it cannot be misread: TF1's
    `j` is the candidate; Keras's `c` stays the cell state, but `pre_c` can
    only be its candidate's pre-activation, since the cell state has none.
    """
    cell = net.cells[0][0]
    names = {"x": "x"}
    for state in STATES[cell.kind]:
        names[state] = state
    for gate in cell.gates:
        names.setdefault(gate, gate)
        names[f"pre_{gate}"] = f"pre_{gate}"
    for block in cell.blocks:
        if block.native not in names:
            names[block.native] = block.canonical
        names.setdefault(f"pre_{block.native}", f"pre_{block.canonical}")
    return names


def name_note(given: str, canonical: str, states: tuple[str, ...]) -> str:
    """What check says when a framework's own name was read as a canonical one."""
    if given == canonical:
        return ""
    native = given.removeprefix("pre_")
    if native in states:
        return (
            f"{given} is read as the sum of the block this framework calls {native}, canonically {canonical}: "
            f"the state {native} has no pre-activation"
        )
    return f"{given} is this framework's name for {canonical}"


def parse_expect(data: Any, net: Network, where: Where) -> Expect:
    if not isinstance(data, Mapping):
        raise ScenarioError("expect must be a mapping", where, expected="h:, c:, steps:, tolerance:")
    kind = net.kind
    finals = (*STATES[kind], "sequence")
    valid = (*finals, "steps", "gradients", "tolerance")
    lines = getattr(data, "line_of", lambda key: None)
    items: list[Expected] = []
    tolerance = DEFAULT_TOLERANCE
    for key, value in data.items():
        here = where.child(key, lines(key))
        if key not in valid:
            raise unknown_name("expect key", str(key), valid, here)
        if key == "tolerance":
            tolerance = _tolerance(value, here)
        elif key == "steps":
            items += _steps(value, net, here)
        elif key == "gradients":
            items += _gradients(value, net, here)
        else:
            items.append(Expected(str(key), None, _final(str(key), _array(value, here, net), net, here), here.line))
    return Expect(tuple(items), tolerance)


def _tolerance(value: Any, where: Where) -> float:
    """A finite number ≥ 0: NaN would make every value wrong, inf every value right."""
    number = None
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        with contextlib.suppress(OverflowError):  # an integer beyond float range
            number = float(value)
    if number is None or not math.isfinite(number) or number < 0:
        huge = isinstance(value, int) and not isinstance(value, bool) and number is None
        found = f"an integer of {len(str(value)):,} digits" if huge else repr(value)
        raise ScenarioError(
            "tolerance must be a finite number ≥ 0", where, expected="e.g. 0.0005, or 0 for equality", found=found
        )
    return number


def _final(name: str, values: np.ndarray, net: Network, where: Where) -> np.ndarray:
    """A final state's expected values, whose last axis must be the state's units: h (1, 3) may be written
    [..3 values..] but not as a column (3, 1), which has as many values and means something else."""
    if name not in ("h", "c") or values.ndim == 0:
        return values
    last = net.cells[-1][0]
    width = last.units if name == "c" else net.h0[-1][0].shape[-1]
    if values.shape[-1] != width and values.size % width == 0:
        raise ScenarioError(
            "wrong shape",
            where,
            expected=f"the state's {width} units along the last axis (a row per batch row)",
            found=f"shape {values.shape}",
            hint=f"write each batch row's {width} values as one list",
        )
    return values


def _array(value: Any, where: Where, net: Network) -> np.ndarray:
    base = where.file.parent if where.file is not None else None
    exact = net.inputs.dtype == object  # an exact scenario: expected values as written, as Fractions
    return to_array(value, where, base, np.dtype(object) if exact else np.dtype(np.float64))


def _by_step(data: Any, steps: int, where: Where, what: str, example: str) -> Iterator[tuple[int, str, Any, Where]]:
    """(t, name, value, where) of a `{t: {name: value}}` block, each t checked to run from 1 to T."""
    if not isinstance(data, Mapping):
        raise ScenarioError(f"{what} must map step numbers to quantities", where, expected=f"1: {example}")
    lines = getattr(data, "line_of", lambda key: None)
    for t, quantities in data.items():
        here = where.child(t, lines(t))
        if isinstance(t, bool) or not isinstance(t, int) or not 1 <= t <= steps:
            raise ScenarioError("a step number runs from 1 to T", here, expected=f"1 to {steps}", found=repr(t))
        if not isinstance(quantities, Mapping):
            raise ScenarioError("a step maps quantities to values", here, expected=example)
        qlines = getattr(quantities, "line_of", lambda key: None)
        for name, value in quantities.items():
            yield t, str(name), value, here.child(name, qlines(name))


def _rows(values: np.ndarray, batch: int, width: int, where: Where, meaning: str) -> np.ndarray:
    """(B, width) values; for a batch of one the batch axis may be left out."""
    if values.shape == (width,) and batch == 1:
        values = values[None]
    if values.shape != (batch, width):
        expected = f"({batch}, {width}): {meaning} of every batch row" + (f", or ({width},)" * (batch == 1))
        raise ScenarioError("wrong shape", where, expected=expected, found=f"shape {values.shape}")
    return values


def _steps(data: Any, net: Network, where: Where) -> list[Expected]:
    names = step_names(net)
    cell = net.cells[0][0]
    batch, steps = net.inputs.shape[:2]
    out = []
    for t, name, value, there in _by_step(data, steps, where, "steps", "{h: [...], i: [...]}"):
        if name not in names:
            raise unknown_name("step quantity", name, names, there)
        canonical = names[name]
        width = cell.features if canonical == "x" else net.h0[0][0].shape[-1] if canonical == "h" else cell.units
        values = _rows(_array(value, there, net), batch, width, there, name)
        note = name_note(name, canonical, STATES[cell.kind])
        out.append(Expected(canonical, t, values, there.line, note))
    return out


def _gradients(data: Any, net: Network, where: Where) -> list[Expected]:
    """expect.gradients: a value per name (checked against the scenario's arrays later), and per_step."""
    if not isinstance(data, Mapping) or not data:
        raise ScenarioError(
            "gradients must map names to values",
            where,
            expected="{loss: ..., kernel: [...], inputs: [...], per_step: {1: {h: [...]}}}, in the scenario's "
            "own weight names",
            found=repr(data)[:60],
        )
    lines = getattr(data, "line_of", lambda key: None)
    out = []
    for name, value in data.items():
        here = where.child(name, lines(name))
        if name == "per_step":
            out += _per_step(value, net, here)
        else:
            out.append(Expected(str(name), None, _array(value, here, net), here.line, gradient=True))
    return out


def _per_step(data: Any, net: Network, where: Where) -> list[Expected]:
    """per_step: {t: {h: ..., c: ...}}, dL/dh_t and dL/dc_t of layer 1's forward direction, t from 1."""
    batch, steps = net.inputs.shape[:2]
    cell = net.cells[0][0]
    widths = {"h": net.h0[0][0].shape[-1]}
    if cell.kind == "lstm":
        widths["c"] = cell.units
    out = []
    for t, name, value, there in _by_step(data, steps, where, "per_step", "{h: [...], c: [...]}"):
        if name not in widths:
            raise unknown_name("per-step gradient", name, widths, there)
        values = _rows(_array(value, there, net), batch, widths[name], there, f"dL/d{name}")
        out.append(Expected(name, t, values, there.line, gradient=True))
    return out
