"""The wrong rules a student may hold, each as the same layer with one rule changed.

A misconception is carried through every step: a student who believes h = c
computes h = c at step 1, 2 and 3. So each known mistake is written here as a
change to the canonical network (a rule of `Cell.rules` switched, an
activation swapped, a bias dropped, gate blocks read in another framework's
order, a block transposed) and run through the same engine; `check` asks which
one reproduces the student's numbers. The one mistake that changes no
arithmetic, reading a reverse direction's outputs in the other time order,
changes the runs' order instead.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace

import numpy as np

from . import activations as A
from . import frameworks
from .model import Cell, Network

# In the order check tries them: the first that reproduces a student's numbers names the mistake.
MISTAKES = (
    "output_gate_left_out",
    "cell_activation_left_out",
    "old_cell_state",
    "activation_left_out",
    "activation_where_linear",
    "hard_sigmoid_version",
    "forget_term_left_out",
    "input_gate_left_out",
    "bias_left_out",
    "forget_bias_left_out",
    "one_bias_left_out",
    "gate_order",
    "kernel_transposed",
    "gru_update_swapped",
    "gru_reset_placement",
    "reversed_sequence",
)


@dataclass(frozen=True, eq=False)
class Variant:
    """One wrong rule: the network a student who holds it computes, and what to call it.

    `detail` says which form of the mistake (the framework whose gate order was
    used, the bias that was kept). `reversed_outputs` marks the mistake that
    changes no arithmetic: the reverse direction's outputs read in the other order.
    """

    mistake: str
    network: Network
    detail: str = ""
    reversed_outputs: bool = False


def _every_cell(net: Network, change: Callable[[Cell], Cell | None]) -> Network | None:
    """The network with `change` applied to every cell of the first cell's kind (a mistake about an LSTM's gate
    order says nothing of a GRU stacked on it), or None where it does not apply to the first."""
    first = net.cells[0][0]
    if change(first) is None:
        return None
    cells = tuple(
        tuple((change(cell) or cell) if cell.kind == first.kind else cell for cell in layer) for layer in net.cells
    )
    return replace(net, cells=cells)


def _rule(**changes: bool) -> Callable[[Cell], Cell]:
    return lambda cell: replace(cell, rules=replace(cell.rules, **changes))


def _columns(cell: Cell, take: Callable[[np.ndarray], np.ndarray]) -> Cell:
    """Every stored gate-column array (kernels, biases) with `take` applied along its last axis."""

    def each(array: np.ndarray | None) -> np.ndarray | None:
        return None if array is None else take(array)

    return replace(
        cell,
        kernel=take(cell.kernel),
        recurrent=take(cell.recurrent),
        bias=each(cell.bias),
        recurrent_bias=each(cell.recurrent_bias),
    )


def _read_in_order(cell: Cell, order: tuple[str, ...]) -> Cell:
    """The cell as read by someone who takes the stored blocks to be in `order`.

    Gate X is taken from the stored block where `order` puts X, which holds
    the canonical gate the framework stores there.
    """
    stored = [block.canonical for block in cell.blocks]
    source = {gate: stored[order.index(gate)] for gate in cell.gates}
    index = np.concatenate([np.arange(cell.units)[None] + cell.block(source[g]).start for g in cell.gates], axis=None)
    return _columns(cell, lambda array: array[..., index])


def _transposed_blocks(matrix: np.ndarray, units: int) -> np.ndarray | None:
    """Each (H, H) gate block of a (H, G·H) matrix transposed; None where the blocks are not square."""
    if matrix.shape[0] != units:
        return None
    blocks = [matrix[:, k * units : (k + 1) * units].T for k in range(matrix.shape[1] // units)]
    return np.concatenate(blocks, axis=1)


def _swap(activation: A.Activation, table: dict[str, A.Activation]) -> A.Activation:
    return table.get(activation.formula, activation)


def variants(net: Network) -> Iterator[Variant]:
    """Every known wrong rule that applies to this network, in the order of MISTAKES."""
    first = net.cells[0][0]
    kind = first.kind

    def make(mistake: str, change: Callable[[Cell], Cell | None], detail: str = "") -> Iterator[Variant]:
        changed = _every_cell(net, change)
        if changed is not None:
            yield Variant(mistake, changed, detail)

    def when(test: bool, change: Callable[[Cell], Cell]) -> Callable[[Cell], Cell | None]:
        return change if test else (lambda cell: None)

    lstm = kind == "lstm"
    yield from make("output_gate_left_out", when(lstm, _rule(output_gate=False)))
    linear_c = first.cell_activation.name == "linear"
    yield from make(
        "cell_activation_left_out", when(lstm and not linear_c, lambda c: replace(c, output_activation=A.LINEAR))
    )
    yield from make("old_cell_state", when(lstm, _rule(new_cell_state=False)))
    gates_linear = first.recurrent_activation.name == "linear"
    main_linear = first.activation.name == "linear"
    yield from make(
        "activation_left_out",
        when(kind != "rnn" and not gates_linear, lambda c: replace(c, recurrent_activation=A.LINEAR)),
        "gates",
    )
    yield from make("activation_left_out", when(not main_linear, lambda c: replace(
        c, activation=A.LINEAR, recurrent_activation=A.LINEAR, output_activation=None)), "all")  # fmt: skip
    yield from make("activation_where_linear", when(main_linear, lambda c: replace(c, activation=A.TANH)), "tanh")
    yield from make("activation_where_linear", when(kind != "rnn" and gates_linear, lambda c: replace(
        c, recurrent_activation=A.SIGMOID)), "sigmoid")  # fmt: skip
    yield from make("activation_where_linear", when(kind != "rnn" and main_linear and gates_linear, lambda c: replace(
        c, activation=A.TANH, recurrent_activation=A.SIGMOID)), "both")  # fmt: skip
    other = {A.HARD_SIGMOID_K3.formula: A.HARD_SIGMOID_K2, A.HARD_SIGMOID_K2.formula: A.HARD_SIGMOID_K3}
    # Keras 2's and Keras 3's hard_sigmoid are told apart by their formulas; no other framework uses either
    hard = any(a.formula in other for a in (first.activation, first.recurrent_activation))

    def other_version(c: Cell) -> Cell:
        swapped = _swap(c.recurrent_activation, other)
        return replace(c, activation=_swap(c.activation, other), recurrent_activation=swapped)

    yield from make("hard_sigmoid_version", when(hard, other_version))
    yield from make("forget_term_left_out", when(lstm, _rule(forget_term=False)))
    yield from make("input_gate_left_out", when(lstm, _rule(input_gate=False)))
    biased = first.bias is not None or first.recurrent_bias is not None
    yield from make("bias_left_out", when(biased, lambda c: replace(c, bias=None, recurrent_bias=None)))
    tf1_bias = first.runtime_bias is not None and bool(first.runtime_bias.any())
    yield from make("forget_bias_left_out", when(tf1_bias, lambda c: replace(c, runtime_bias=None)))
    two = first.bias is not None and first.recurrent_bias is not None
    names = first.names
    yield from make("one_bias_left_out", when(two, lambda c: replace(c, recurrent_bias=None)), names.bias_label)
    yield from make("one_bias_left_out", when(two, lambda c: replace(c, bias=None)), names.recurrent_bias_label)
    stored = tuple(block.canonical for block in first.blocks)
    seen = {stored}
    for name, order in frameworks.block_orders(kind).items():
        if order not in seen:
            seen.add(order)
            yield from make("gate_order", lambda c, order=order: _read_in_order(c, order), name)  # type: ignore[misc]
    if kind != "rnn" or first.units > 1:
        yield from make(
            "kernel_transposed", lambda c: _with(c, recurrent=_transposed_blocks(c.recurrent, c.units)), "U"
        )
        yield from make("kernel_transposed", lambda c: _with(c, kernel=_transposed_blocks(c.kernel, c.units)), "W")
    gru = kind == "gru"
    yield from make("gru_update_swapped", when(gru, _rule(update_swapped=True)))
    yield from make("gru_reset_placement", when(gru, lambda c: replace(c, reset_after=not c.reset_after)))
    if any(net.backwards):
        yield Variant("reversed_sequence", net, reversed_outputs=True)


def _with(cell: Cell, kernel: np.ndarray | None = None, recurrent: np.ndarray | None = None) -> Cell | None:
    """The cell with its kernel or recurrent kernel replaced, or None where that cannot be made."""
    if kernel is None and recurrent is None:
        return None
    return replace(cell, kernel=cell.kernel if kernel is None else kernel,
                   recurrent=cell.recurrent if recurrent is None else recurrent)  # fmt: skip
