"""The record of a run: every product and gate the engine computed, and how it computed them.

As micrograd's values keep what they were made from, a run keeps, for each
gate block, the named terms that were summed into its pre-activation and the
operations applied after the sum, and for the state, the operations of its
update in order. Renderers, `check` and its diagnosis read this record and
never rebuild the list of terms. The values live in arrays preallocated over
all steps (terms and operations hold views of them), so a long run costs a
few large arrays, not a Python object per step and unit. Step s (0-based
here, shown as t = s + 1) read input time `reads[s]`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np

from .activations import Activation
from .model import Cell

if TYPE_CHECKING:
    from .gradients import Gradients
    from .merge import Merge
    from .scenario import Scenario


# What a term is, in the order a gate block's sum lists them.
TERM_KEYS = ("xW", "hU", "b", "b_rec", "forget_bias", "peephole", "reset")


@dataclass(frozen=True, eq=False)
class Term:
    """One named term summed into a gate block: per step (T, B, H), or one constant (H,) for every step.

    Keys: `xW` and `hU` the products (a GRU's `hU` into n is (r ⊙ h)·U without
    reset_after), `b` and `b_rec` the input and recurrent biases, `forget_bias`
    TF1's run-time constant, `peephole` w ⊙ c, `reset` a GRU's r ⊙ (h·U + b_rec).
    """

    key: str
    values: np.ndarray

    @property
    def constant(self) -> bool:
        return self.values.ndim == 1

    def at(self, s: int, b: int) -> np.ndarray:
        return self.values if self.constant else self.values[s, b]


@dataclass(frozen=True, eq=False)
class Op:
    """One operation, and its result over all steps (T, B, ·).

    After a gate block's sum: `clip` (to ±bound), `act` (the activation),
    `one_minus` (f = 1 − i, a coupled forget gate whose own sum is unused).
    In the state update, in order: LSTM `cell_update` (c = f ⊙ c_{t−1} + i ⊙ g,
    as `Cell.rules` say), `cell_clip`, `act_c`, `output` (o ⊙ act(c): h, or m
    before a projection), `projection`, `proj_clip`; GRU `gru_update`; RNN
    `state` (h is the h block); any kind `mask` (a row past its length keeps
    its state; `out` is then the (T, B) mask).
    """

    kind: str
    out: np.ndarray
    activation: Activation | None = None
    bound: float | None = None


@dataclass(frozen=True, eq=False)
class GateRecord:
    """One gate block over all steps: the terms summed, the sum, and each operation after it."""

    gate: str
    terms: tuple[Term, ...]
    pre: np.ndarray  # (T, B, H)
    ops: tuple[Op, ...]

    @property
    def act(self) -> np.ndarray:
        return self.ops[-1].out

    def op(self, kind: str) -> Op | None:
        return next((op for op in self.ops if op.kind == kind), None)


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
    p_unclipped: np.ndarray | None = None  # (T, B, P) m·P before proj_clip
    pre_clipped: np.ndarray | None = None  # (T, B, GH) what each activation was given, where pre_clip is set
    active: np.ndarray | None = None  # (T, B) False where a step was masked
    masked: bool = False  # `active` is a mask's (Keras), where a row skips any step, not one past its length
    blocks: Mapping[str, GateRecord] = field(default_factory=dict)  # canonical gate → its record
    updates: tuple[Op, ...] = ()

    def terms(self, gate: str) -> tuple[Term, ...]:
        return self.blocks[gate].terms

    def update(self, kind: str) -> Op | None:
        return next((op for op in self.updates if op.kind == kind), None)

    @property
    def steps(self) -> int:
        return int(self.pre.shape[0])

    def gate(self, name: str, which: str = "act") -> np.ndarray:
        """A canonical gate's (T, B, H) activations ('act') or pre-activations ('pre')."""
        record = self.blocks[name]
        return record.act if which == "act" else record.pre

    def quantity(self, name: str, s: int) -> np.ndarray:
        """Step s's (B, ·) value of `name`: `x`, a gate (`i`), its sum (`pre_i`), the state (`c`, `h`) or the
        state it started from (`c_prev`, `h_prev`). A simple RNN's `h` is its state, which is also its h block."""
        if name == "x":
            return self.x[s]
        if name in ("h", "h_prev"):
            return self.h[s + (name == "h")]
        if name in ("c", "c_prev"):
            assert self.c is not None
            return self.c[s + (name == "c")]
        if name.startswith("pre_"):
            return self.blocks[name[4:]].pre[s]
        return self.blocks[name].act[s]

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
    gradients: Gradients | None = None  # the backward pass, where the scenario has a `backward` block
    merges: tuple[Merge, ...] = ()  # returned outputs merged from two directions (Keras's Bidirectional)

    @property
    def first(self) -> Run:
        return self.runs[0][0]

    def all_runs(self) -> list[Run]:
        return [run for layer in self.runs for run in layer]

    def _repr_html_(self) -> str | None:
        """In Jupyter, the interactive page inside an iframe (its script and styles kept apart), no server.

        None (the plain repr) for an --exact trace: the page computes in floating point.
        """
        if self.scenario.exact:
            return None
        from .page.build import render_iframe

        return render_iframe(self)
