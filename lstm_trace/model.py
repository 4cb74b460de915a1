"""The canonical form that every framework is translated into, and the engine's only input.

Gate blocks are always in canonical order (LSTM i f g o, GRU z r n, RNN h) and
the kernel multiplies x from the left: z = x·W + h·U + b, as Keras writes it.
Each framework module fills these records from its own names and layouts and
says, in `Block`, how it names and orders the same blocks, so the display can
speak the framework's language without the engine knowing it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

import numpy as np

from .activations import Activation

Kind = Literal["lstm", "gru", "rnn"]
GATES: dict[str, tuple[str, ...]] = {"lstm": ("i", "f", "g", "o"), "gru": ("z", "r", "n"), "rnn": ("h",)}
CANDIDATES = ("g", "n", "h")  # the blocks computed with `activation`; the rest are gates
GATE_TITLES = {
    "i": "input",
    "f": "forget",
    "g": "candidate",
    "o": "output",
    "z": "update",
    "r": "reset",
    "n": "candidate",
    "h": "state",
}


def _coupled(x: np.ndarray) -> np.ndarray:
    raise TypeError("a coupled forget gate is 1 − i, not a function of its own sum")


# what `activation_of` names for a forget gate coupled to the input gate; the engine computes 1 − i itself
COUPLED_FORGET = Activation("1 − i", "f = 1 − i, whatever the f sum", _coupled)


@dataclass(frozen=True)
class Block:
    """One gate block as the framework names it; `Cell.blocks` lists them in the framework's order."""

    native: str
    canonical: str


@dataclass(frozen=True)
class WeightNames:
    """What the framework calls the matrices, for labels such as 'kernel W (2, 12)'."""

    kernel: str = "kernel"
    recurrent: str = "recurrent_kernel"
    bias: str = "bias"
    recurrent_bias: str = "recurrent bias"
    projection: str = "P"
    transposed: bool = False  # stored as (G·H, inputs), as torch stores weight_ih
    bias_label: str = "b"
    recurrent_bias_label: str = "b_rec"
    runtime_bias_label: str = "forget_bias"


@dataclass(frozen=True)
class Rules:
    """How a cell updates its state. The defaults are what every framework computes.

    Each field off its default is one wrong rule a student may hold (h without
    the output gate, c without the forget term, ...): `check` runs the layer
    with one rule changed to see whether it reproduces a student's numbers.
    """

    output_gate: bool = True  # h = o ⊙ act(c); without it h = act(c)
    new_cell_state: bool = True  # h is made from c_t; without it from c_{t−1}
    forget_term: bool = True  # c = f ⊙ c_{t−1} + i ⊙ g; without it c = i ⊙ g
    input_gate: bool = True  # without it c = f ⊙ c_{t−1} + g
    update_swapped: bool = False  # GRU: h = (1 − z) ⊙ h_{t−1} + z ⊙ n instead of z ⊙ h_{t−1} + (1 − z) ⊙ n


@dataclass(frozen=True, eq=False)
class Cell:
    """One direction of one layer, in canonical form.

    `bias` is added on the input side, `recurrent_bias` on the recurrent side
    (which matters only for a GRU's candidate with reset_after), and
    `runtime_bias` is a constant the framework adds when it runs (TF1's
    forget_bias), kept apart so the display can say where it came from.
    """

    kind: Kind
    units: int
    kernel: np.ndarray
    recurrent: np.ndarray
    activation: Activation
    recurrent_activation: Activation
    blocks: tuple[Block, ...]
    bias: np.ndarray | None = None
    recurrent_bias: np.ndarray | None = None
    runtime_bias: np.ndarray | None = None
    reset_after: bool = True
    names: WeightNames = field(default_factory=WeightNames)
    peepholes: np.ndarray | None = None  # (3, H): i and f see c_{t-1}, o sees the new c
    cell_clip: float | None = None
    projection: np.ndarray | None = None  # (H, P): h = (o ⊙ act(c))·P
    proj_clip: float | None = None
    output_activation: Activation | None = None  # what h applies to c, where it is not `activation` (ONNX's h)
    pre_clip: float | None = None  # every pre-activation clipped to ±pre_clip before its activation (ONNX's clip)
    coupled_forget: bool = False  # f = 1 − i, the forget sum unused (ONNX's input_forget)
    rules: Rules = field(default_factory=Rules)

    @property
    def gates(self) -> tuple[str, ...]:
        return GATES[self.kind]

    @property
    def pre_symbol(self) -> str:
        """What a pre-activation is called: z, except in a GRU, whose update gate is already z."""
        return "pre" if self.kind == "gru" else "z"

    @property
    def features(self) -> int:
        return int(self.kernel.shape[0])

    @property
    def output_size(self) -> int:
        """The width of h: the projection's, when there is one."""
        return int(self.projection.shape[1]) if self.projection is not None else self.units

    def block(self, gate: str) -> slice:
        """The columns of canonical gate `gate` in kernel, recurrent and biases."""
        k = self.gates.index(gate)
        return slice(k * self.units, (k + 1) * self.units)

    def activation_of(self, gate: str) -> Activation:
        """The candidate (g, n) and a simple RNN's h use `activation`; the gates use `recurrent_activation`."""
        if gate == "f" and self.coupled_forget:
            return COUPLED_FORGET
        return self.activation if gate in CANDIDATES else self.recurrent_activation

    @property
    def cell_activation(self) -> Activation:
        """What an LSTM's h applies to c: o ⊙ act(c)."""
        return self.output_activation or self.activation

    def native_name(self, gate: str) -> str:
        return next(b.native for b in self.blocks if b.canonical == gate)


@dataclass(frozen=True, eq=False)
class Network:
    """Everything the engine runs: cells per layer and direction, inputs and initial states.

    `inputs` is (B, T, F). `reads[d]` is True when direction d reads the
    sequence from its end. A row keeps its state through the steps it skips:
    those past its `lengths` (TF1, ONNX, torch's packed sequences), or those
    `mask` marks False (Keras). `h0[l][d]` is (B, H_out), `c0[l][d]` is (B, H) or None.
    """

    cells: tuple[tuple[Cell, ...], ...]
    inputs: np.ndarray
    h0: tuple[tuple[np.ndarray, ...], ...]
    c0: tuple[tuple[np.ndarray | None, ...], ...]
    backwards: tuple[bool, ...] = (False,)
    lengths: np.ndarray | None = None
    mask: np.ndarray | None = None  # (B, T) in input time, False where a step is skipped (Keras's mask)
    merges: tuple[str, ...] = ()  # per layer, how its two directions make the next layer's input; () = concat

    def merge_mode(self, depth: int) -> str:
        return self.merges[depth] if self.merges else "concat"

    @property
    def kind(self) -> Kind:
        return self.cells[0][0].kind


def cell_arrays(cell: Cell) -> dict[str, np.ndarray]:
    """A cell's canonical arrays by name (`kernel`, `recurrent`, `bias`, ...), those it has."""
    named = {
        "kernel": cell.kernel,
        "recurrent": cell.recurrent,
        "bias": cell.bias,
        "recurrent_bias": cell.recurrent_bias,
        "runtime_bias": cell.runtime_bias,
        "peepholes": cell.peepholes,
        "projection": cell.projection,
    }
    return {name: value for name, value in named.items() if value is not None}
