"""The record of a run: every product and gate the engine computed, as it computed them.

Renderers and `check` read these arrays and never recompute them. Arrays are
preallocated over all steps, so a long run costs a few large arrays, not a
Python object per step and unit. Step s (0-based here, shown as t = s + 1)
read input time `reads[s]`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from .model import Cell

if TYPE_CHECKING:
    from .scenario import Scenario


@dataclass(frozen=True, eq=False)
class Run:
    """One direction of one layer over all steps.

    Shapes: T steps, B batch rows, G·H gate columns in canonical order.
    `hu`'s candidate block of a GRU with reset_after false holds (r ⊙ h)·U_n;
    `gated` holds r ⊙ (h·U_n + b_hn) with reset_after, r ⊙ h without.
    """

    layer: int
    direction: str
    cell: Cell
    reads: np.ndarray  # (T,) input time read at each step
    x: np.ndarray  # (T, B, F)
    xw: np.ndarray  # (T, B, GH)
    hu: np.ndarray  # (T, B, GH)
    pre: np.ndarray  # (T, B, GH) pre-activations z
    act: np.ndarray  # (T, B, GH) gate activations
    h: np.ndarray  # (T+1, B, H_out); h[0] is the initial state
    c: np.ndarray | None = None  # (T+1, B, H) LSTM cell state
    c_act: np.ndarray | None = None  # (T, B, H) activation(c_t)
    gated: np.ndarray | None = None  # (T, B, H) GRU reset-gated term
    peep: np.ndarray | None = None  # (T, B, 3H) peephole terms added to i, f, o
    m: np.ndarray | None = None  # (T, B, H) o ⊙ act(c) before the projection
    c_unclipped: np.ndarray | None = None  # (T, B, H) f ⊙ c + i ⊙ g before cell_clip
    pre_clipped: np.ndarray | None = None  # (T, B, GH) what each activation was given, where pre_clip is set
    active: np.ndarray | None = None  # (T, B) False where a step was masked

    @property
    def steps(self) -> int:
        return int(self.pre.shape[0])

    def gate(self, name: str, which: str = "act") -> np.ndarray:
        """A canonical gate's (T, B, H) activations ('act') or pre-activations ('pre')."""
        data = self.act if which == "act" else self.pre
        return data[..., self.cell.block(name)]

    def outputs_in_input_time(self) -> np.ndarray:
        """(B, T, H_out): the output for each input time, whichever order the steps read them in."""
        out = self.h[1:]
        aligned = np.empty_like(out)
        aligned[self.reads] = out
        return aligned.transpose(1, 0, 2)


@dataclass(frozen=True, eq=False)
class Trace:
    """A traced scenario: the runs, and what the framework itself would return."""

    scenario: Scenario
    runs: tuple[tuple[Run, ...], ...]
    outputs: Mapping[str, np.ndarray]
    returns: tuple[tuple[str, str], ...]
    returns_note: str = ""
    warnings: tuple[str, ...] = ()
    states_axis: int | None = None  # the axis of outputs h and c that runs over all_runs(), where they have one

    @property
    def first(self) -> Run:
        return self.runs[0][0]

    def all_runs(self) -> list[Run]:
        return [run for layer in self.runs for run in layer]
