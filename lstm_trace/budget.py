"""The memory a trace will take, worked out from the shapes before anything runs, and the budget it must fit.

The engine records every step of every layer and direction into arrays
preallocated over all steps (engine.py `run_cell`), and the backward pass does
the same for its δ's (backward.py), so what a trace will hold is known from the
network's shapes alone: steps T, batch rows B, each cell's units H, gate
blocks G, output width P and input width F. A scenario that would not fit is
refused with that estimate and how to shrink it, instead of failing halfway
with an allocation error (or taking the machine's memory with it).

The budget is, unless given (`--max-memory`, `trace(..., max_memory=)`), half
of the memory the system says is available (MemAvailable in /proc/meminfo).
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from . import limits
from .errors import ScenarioError, Where
from .model import Cell, Network

SHARE = 0.5  # of the available memory, by default
FALLBACK = 4 * 2**30  # the budget where the available memory cannot be read
EXACT_VALUE = 120  # bytes of one element of an exact (Fraction) array: its pointer, the Fraction and its two ints
JSON_VALUE = 24  # bytes of one number of the JSON view while its text is joined: the text, and the list of pieces
_UNITS = {"": 1, "K": 2**10, "M": 2**20, "G": 2**30, "T": 2**40}
_SIZE = re.compile(r"^\s*([0-9]+(?:\.[0-9]*)?|\.[0-9]+)\s*([KMGT]?)(?:I?B)?\s*$", re.I)


def parse_size(text: str) -> int:
    """'500M', '2G', '1.5GiB', '800000' (bytes) as bytes; K, M, G, T count in 1024s. ValueError otherwise."""
    match = _SIZE.match(text)
    if match is None:
        raise ValueError(f"{text!r} is not a size: write bytes, or a number with K, M, G or T (500M, 2G)")
    value = int(float(match.group(1)) * _UNITS[match.group(2).upper()])
    if value <= 0:
        raise ValueError(f"{text!r} is no memory at all")
    return value


def size_text(count: float) -> str:
    """Bytes for a person: 14.9 GiB, 512 MiB, 3 KiB."""
    for unit in ("TiB", "GiB", "MiB", "KiB"):
        scale = _UNITS[unit[0]]
        if count >= scale:
            return f"{count / scale:.1f} {unit}".replace(".0 ", " ")
    return f"{int(count)} bytes"


def available() -> int | None:
    """What the system can still give without swapping (MemAvailable), or None where it does not say."""
    try:
        with open("/proc/meminfo", encoding="ascii") as info:
            for line in info:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    try:  # elsewhere: the physical memory, which is more than is free, so only half of it is taken below too
        return int(os.sysconf("SC_AVPHYS_PAGES")) * int(os.sysconf("SC_PAGE_SIZE"))
    except (AttributeError, ValueError, OSError):
        return None


def default_budget() -> int:
    """Half of the available memory: room for the rest of the process, the views and anything else running."""
    free = available()
    return int(free * SHARE) if free else FALLBACK


@dataclass(frozen=True)
class Estimate:
    """Bytes a trace will allocate: the forward record, the backward pass, and the view's share."""

    forward: int
    backward: int = 0
    view: int = 0
    steps: int = 0
    batch: int = 0

    @property
    def total(self) -> int:
        return self.forward + self.backward + self.view

    def describe(self) -> str:
        parts = [f"{size_text(self.forward)} for the forward record"]
        if self.backward:
            parts.append(f"{size_text(self.backward)} for the backward pass")
        if self.view:
            parts.append(f"{size_text(self.view)} for the view")
        return f"about {size_text(self.total)} (" + ", ".join(parts) + ")"


def _record(cell: Cell, steps: int, batch: int) -> tuple[int, int]:
    """(forward, backward) elements one run records: engine.run_cell's arrays and backward.back_run's."""
    tb, width, units, out = steps * batch, len(cell.gates) * cell.units, cell.units, cell.output_size
    forward = tb * cell.features + 4 * tb * width + (steps + 1) * batch * out  # x in processing order, xw hu pre act, h
    # dact dpre dhu and act′ of each block, dh with its outside share, dx in processing and input time, the sum
    backward = 4 * tb * width + 2 * (steps + 1) * batch * out + 3 * tb * cell.features
    if cell.pre_clip is not None:
        forward += tb * width
    if cell.kind == "gru":
        forward += tb * units  # r ⊙ (h·U) or r ⊙ h
    if cell.kind == "lstm":
        forward += (steps + 1) * batch * units + tb * units  # c, act(c)
        backward += 2 * (steps + 1) * batch * units + 2 * tb * units  # dc with its outside share, act′(c), δact(c)
        if cell.peepholes is not None:
            forward += 3 * tb * units
        if cell.cell_clip is not None:
            forward += tb * units
        if cell.projection is not None:
            forward += tb * units + (tb * out if cell.proj_clip is not None else 0)
            backward += tb * units + tb * out  # δm and the projection's input δ
    return forward, backward


def estimate(net: Network, backward: bool = False, view: str | None = None) -> Estimate:
    """What tracing `net` will allocate, from its shapes: every run's record, the backward pass's when
    `backward`, and the share of a `view` that holds more than one step at a time: `json` (the outputs'
    text, written whole), `html` (the page's map of where each returned number comes from), `check` (the
    layer run again with one rule changed, beside the first)."""
    batch, steps, _ = net.inputs.shape
    item = EXACT_VALUE if net.inputs.dtype.kind == "O" else net.inputs.dtype.itemsize
    runs = [cell for cells in net.cells for cell in cells]
    forward = back = 0
    for cell in runs:
        f, b = _record(cell, steps, batch)
        forward, back = forward + f, back + b
    # what a layer hands the next (each direction's outputs in input time, and merged), and what the last returns
    handed = sum(steps * batch * cell.output_size * (1 + len(cells) // 2) for cells in net.cells[:-1] for cell in cells)
    outputs = steps * batch * sum(cell.output_size for cell in net.cells[-1])
    per_step = forward // steps
    forward = (forward + handed + outputs) * item
    if net.mask is not None or net.lengths is not None:
        forward += steps * batch * len(runs)  # one bool per step and row: whether the step was taken
    states = sum((steps + 1) * batch * (cell.output_size + (cell.units if cell.kind == "lstm" else 0)) for cell in runs)
    # the gradients' pool over every state, dL/d each output; each state's and output's 8-byte code (which number
    # the layer returned is which state), and the scenario's numbers coded twice to name the weights' gradients
    numbers = net.inputs.size + sum(int(a.size) for cell in runs for a in _arrays(cell))
    back = back * item + (states + 2 * outputs) * item + (states + 2 * outputs) * 8 + numbers * (2 * item + 24)
    shown = 0
    if view == "json":
        shown = JSON_VALUE * (outputs + 3 * per_step)  # the outputs at once, then one step (both names) at a time
    elif view == "html":  # the page's map of which state each returned number is, coded, and its JSON
        shown = 16 * (states + 2 * outputs)
    elif view == "check":
        shown = 2 * forward  # the layer run again with a rule changed, the last such run still held
    return Estimate(forward=forward, backward=back if backward else 0, view=shown, steps=steps, batch=batch)


def _arrays(cell: Cell) -> list[np.ndarray]:
    return [a for a in (cell.kernel, cell.recurrent, cell.bias, cell.recurrent_bias, cell.peepholes, cell.projection)
            if a is not None]  # fmt: skip


def check(
    net: Network, limit: int | None = None, backward: bool = False, view: str | None = None, file: Path | None = None
) -> Estimate:
    """The estimate, or a ScenarioError that gives it and how to shrink the trace when it is over `limit`
    bytes (None: `default_budget()`); `file` is the scenario's, for the message."""
    if len(net.cells) > limits.MAX_LAYERS:
        raise ScenarioError("too many layers to trace", Where(file), expected=f"at most {limits.MAX_LAYERS:,} layers",
                            found=f"{len(net.cells):,}")  # fmt: skip
    found = estimate(net, backward, view)
    budget = default_budget() if limit is None else limit
    if found.total <= budget:
        return found
    shrink = [
        f"fewer steps (T = {found.steps}: cut the inputs; --steps only picks the steps shown)",
        f"fewer batch rows (B = {found.batch})",
        "fewer units or layers",
    ]
    if backward:
        shrink.append("no backward block")
    if view in ("json", "html"):
        shrink.append("another --format")
    told = "the --max-memory given" if limit is not None else "half the memory available now"
    raise ScenarioError(
        "the trace would not fit in memory",
        Where(file),
        expected=f"at most {size_text(budget)}, {told} (--max-memory SIZE changes it)",
        found=found.describe(),
        hint="trace a smaller case: " + ", ".join(shrink),
    )
