"""How a bidirectional layer's two directions become one output: concat, sum, mul or ave.

torch always concatenates; Keras's Bidirectional merges by its `merge_mode`.
A merge is an operation like any other: it has a forward rule, a backward
rule (the vector-Jacobian product, here beside it), and it is recorded as a
`Merge` with its inputs, so a view can write it out with its numbers
(`ave`: (f + b)/2 per unit) and the backward pass can undo it. The engine
merges between layers of a stack; a framework's `returns` merges what the
layer returns, and lists those merges in `Returned.merges`.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

MODES = ("concat", "sum", "mul", "ave")
FORMULAS = {"concat": "[f, b]", "sum": "f + b", "mul": "f ⊙ b", "ave": "(f + b) / 2"}


def merge(mode: str, forward: np.ndarray, backward: np.ndarray) -> np.ndarray:
    """The merged output of two directions' (…, H) outputs, both in input time."""
    if mode == "concat":
        return np.concatenate([forward, backward], axis=-1)
    if mode == "sum":
        return forward + backward
    if mode == "mul":
        return forward * backward
    if mode == "ave":
        return (forward + backward) / 2
    raise ValueError(f"unknown merge mode {mode!r}")


def merge_back(mode: str, forward: np.ndarray, backward: np.ndarray, grad: np.ndarray) -> tuple[np.ndarray, ...]:
    """(dL/d forward, dL/d backward) from dL/d merged."""
    if mode == "concat":
        width = forward.shape[-1]
        return grad[..., :width], grad[..., width:]
    if mode == "sum":
        return grad, grad
    if mode == "mul":
        return grad * backward, grad * forward
    if mode == "ave":
        half = grad / 2
        return half, half
    raise ValueError(f"unknown merge mode {mode!r}")


@dataclass(frozen=True, eq=False)
class Merge:
    """One recorded merge: output `name` = mode(forward, backward), each in input time."""

    name: str
    mode: str
    forward: np.ndarray
    backward: np.ndarray

    @property
    def out(self) -> np.ndarray:
        return merge(self.mode, self.forward, self.backward)

    @property
    def formula(self) -> str:
        return FORMULAS[self.mode]
