"""torch's weights: their layout, the state_dict they come in, and which kind of layer an entry fits.

torch stores a layer's weights as (G·H, inputs) and computes W·x, with two biases (bias_ih, bias_hh); the
canonical form is x·Wᵀ, so kernels are transposed here, and a GRU's blocks r, z, n are reordered to z, r, n.

`model.state_dict()` names each entry by its module's path and the parameter's own name: `lstm.weight_ih_l0`,
`decoder.cell.weight_hh`, `head.weight`. A recurrent module is a prefix holding an nn.LSTM/GRU/RNN entry
(`weight_ih_l0`, ...) or a cell's (`weight_ih`, ...). One module is traced: the one `module:` names, or the only
recurrent one there is; every other module's entries are set aside, and the notes list them.

torch stacks a layer's gate blocks as rows, G·H of them (G = 4 for an LSTM, 3 for a GRU, 1 for an RNN), so an
entry's row count says which kind of layer it was made for: an entry shaped for another kind says so.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np

from .. import activations as A
from ..errors import ScenarioError, unknown_name
from ..model import Block, Cell, Kind, WeightNames
from .base import Raw, option, reorder_blocks

LAYER_ENTRY = re.compile(r"^(weight_ih|weight_hh|bias_ih|bias_hh|weight_hr)_l(\d+)(_reverse)?$")
CELL_ENTRY = re.compile(r"^(weight_ih|weight_hh|bias_ih|bias_hh)$")
GATES = {"lstm": 4, "gru": 3, "rnn": 1}  # how many gate blocks torch stacks as rows
ROWS = {"lstm": "i, f, g, o", "gru": "r, z, n", "rnn": "h"}  # their order
MODULES = {"lstm": "LSTM", "gru": "GRU", "rnn": "RNN"}
BLOCKS = {
    "lstm": (Block("i", "i"), Block("f", "f"), Block("g", "g"), Block("o", "o")),
    "gru": (Block("r", "r"), Block("z", "z"), Block("n", "n")),
    "rnn": (Block("h", "h"),),
}
ORDER = {"lstm": (0, 1, 2, 3), "gru": (1, 0, 2), "rnn": (0,)}  # canonical block k is torch's block ORDER[kind][k]
NAMES = WeightNames(
    "weight_ih",
    "weight_hh",
    "bias_ih",
    "bias_hh",
    bias_label="b_ih",
    recurrent_bias_label="b_hh",
    projection="W_hrᵀ",
    transposed=True,
)


INERT_ARGS = {  # arguments of layers and cells alike that change nothing here
    "device": "where torch computes, not what",
    "input_size": "checked against the inputs and weights",
}


def check_input_size(raw: Raw) -> None:
    """input_size, where given, is the inputs' feature count."""
    input_size = option(raw, "input_size", None, int)
    if input_size is not None and input_size != raw.features:
        raise ScenarioError(
            "input_size disagrees with the inputs",
            raw.where("config", "input_size"),
            expected=f"{raw.features} (the inputs' feature count)",
            found=repr(input_size),
        )


def nonlinearity(raw: Raw, kind: str) -> A.Activation:
    """An RNN's `nonlinearity` (tanh or relu); LSTM and GRU candidates are always tanh."""
    if kind != "rnn":
        return A.TANH
    key = "nonlinearity" if "nonlinearity" in raw.config else "activation"
    value = raw.config.get(key, "tanh")
    table = {"tanh": A.TANH, "relu": A.RELU}
    if not isinstance(value, str) or value not in table:
        raise unknown_name("nonlinearity", str(value), table, raw.where("config", key))
    return table[value]


def layout_notes(kind: str, hidden: int, use_bias: bool) -> list[str]:
    """What the trace says about torch's layout, for a layer and a cell alike."""
    g = GATES[kind]
    order = " | ".join(b.native for b in BLOCKS[kind])
    notes = [
        f"torch weight_ih is ({g * hidden}, F): torch computes W·x; it is shown as x·Wᵀ, the same row "
        f"layout as the other frameworks, with blocks {order}, each {hidden} wide.",
    ]
    if use_bias:
        notes.append("torch: b = bias_ih + bias_hh; both are shown, as b_ih and b_hh.")
    if kind == "gru":
        notes.append(
            "GRU: r multiplies (W_hn·h + b_hn): the n block's h·U and b_hh enter only through r. "
            "h' = (1 − z) ⊙ n + z ⊙ h."
        )
    return notes


def canonical_cell(
    kind: Kind,
    hidden: int,
    w_ih: np.ndarray,
    w_hh: np.ndarray,
    b_ih: np.ndarray | None,
    b_hh: np.ndarray | None,
    w_hr: np.ndarray | None,
    activation: A.Activation,
) -> Cell:
    """One layer and direction (or one cell) from torch's arrays: blocks reordered, kernels transposed."""

    def blocks(array: np.ndarray) -> np.ndarray:
        return reorder_blocks(array, ORDER[kind], hidden)

    return Cell(
        kind=kind,
        units=hidden,
        kernel=blocks(w_ih).T.copy(),
        recurrent=blocks(w_hh).T.copy(),
        activation=activation,
        recurrent_activation=A.SIGMOID,
        blocks=BLOCKS[kind],
        bias=None if b_ih is None else blocks(b_ih),
        recurrent_bias=None if b_hh is None else blocks(b_hh),
        reset_after=True,
        names=NAMES,
        projection=None if w_hr is None else w_hr.T.copy(),
    )


@dataclass(frozen=True)
class Entries:
    """The traced module's entries by their own names, and what else the state_dict holds."""

    module: str  # its prefix; "" where the entries have none
    names: dict[str, str]  # an entry's own name (weight_ih_l0) → the key the scenario gives it
    others: tuple[str, ...]  # every other module's keys, not traced

    def note(self) -> str | None:
        """What the notes say about the modules that are not traced, if there are any."""
        if not self.others:
            return None
        counts: dict[str, int] = {}
        for key in self.others:
            prefix = key.rpartition(".")[0] or "(no prefix)"
            counts[prefix] = counts.get(prefix, 0) + 1
        listed = ", ".join(f"{name} ({n} {'entry' if n == 1 else 'entries'})" for name, n in counts.items())
        traced = f"module {self.module!r}" if self.module else "the entries without a module prefix"
        return f"state_dict: {traced} is traced; not part of this layer, and not traced: {listed}."


def entries(raw: Raw) -> Entries:
    """The entries of the module to trace: `module:`'s, or the only recurrent module's (several: refused)."""
    if not isinstance(raw.weights, Mapping):
        raise ScenarioError(
            "torch weights are a mapping of state_dict names",
            raw.where("weights"),
            expected="weights: {weight_ih_l0: ..., ...}, a whole model.state_dict(), or {npz: file.npz}",
        )
    groups: dict[str, dict[str, str]] = {}
    for key in raw.weights:
        prefix, _, own = str(key).rpartition(".")
        groups.setdefault(prefix, {})[own] = str(key)
    recurrent = [p for p, names in groups.items() if any(LAYER_ENTRY.match(n) or CELL_ENTRY.match(n) for n in names)]
    if raw.module is not None:
        if raw.module not in recurrent:
            listed = ", ".join(p for p in recurrent if p) or "none: the entries have no module prefix"
            raise ScenarioError(
                f"the state_dict has no recurrent module {raw.module!r}",
                raw.where("module"),
                expected=f"a recurrent module of the weights: {listed}",
                found=repr(raw.module),
            )
        chosen = raw.module
    elif len(recurrent) > 1:
        kinds = [f"{p or '(no prefix)'} ({_kind_word(raw, groups[p])})" for p in recurrent]
        raise ScenarioError(
            f"the state_dict holds {len(recurrent)} recurrent modules: say which one to trace with module",
            raw.where("weights"),
            expected=" or ".join(f"module: {p}" for p in recurrent if p),
            found=", ".join(kinds),
        )
    else:
        chosen = recurrent[0] if recurrent else ("" if "" in groups or not groups else next(iter(groups)))
    others = tuple(key for prefix, names in groups.items() if prefix != chosen for key in names.values())
    return Entries(chosen, dict(groups.get(chosen, {})), others)


def _kind_word(raw: Raw, names: Mapping[str, str]) -> str:
    """What a module's weight_hh says it is (nn.LSTM, nn.GRUCell, ...), for the list of modules to choose from."""
    cell = "weight_hh" in names
    key = names.get("weight_hh") or names.get("weight_hh_l0")
    if "weight_hr_l0" in names:
        return "nn.LSTM with proj_size"
    kind = None
    if key is not None:
        try:
            shape = raw.array("weights", key, None, "").shape
        except ScenarioError:
            shape = ()
        kind = kind_of(shape)
    if kind is None:
        return "a recurrent cell" if cell else "a recurrent layer"
    return f"nn.{MODULES[kind]}{'Cell' if cell else ''}"


def kind_of(weight_hh_shape: tuple[int, ...]) -> str | None:
    """The layer kind whose weight_hh (G·H, H) has this shape (no projection), or None."""
    if len(weight_hh_shape) != 2 or not weight_hh_shape[1]:
        return None
    rows, cols = weight_hh_shape
    return next((kind for kind, g in GATES.items() if rows == g * cols), None)


def entry(raw: Raw, key: str, shape: tuple[int, ...], meaning: str, kind: str, cell: bool) -> np.ndarray:
    """The entry `key` of exactly `shape`; where its rows are another kind's gate blocks, an error that says so."""
    value = raw.array("weights", key, None, meaning)
    if value.shape == shape:
        return value
    hidden = shape[0] // GATES[kind]
    other = next(
        (k for k, g in GATES.items() if k != kind and value.shape == (g * hidden, *shape[1:])),
        None,
    )
    if other is None:
        raise ScenarioError("wrong shape", raw.where("weights", key), expected=f"shape {shape}: {meaning}",
                            found=f"shape {value.shape}")  # fmt: skip
    suffix = "Cell" if cell else ""
    mine, theirs = f"nn.{MODULES[kind]}{suffix}", f"nn.{MODULES[other]}{suffix}"
    raise ScenarioError(
        f"this entry is shaped for an {theirs}, not an {mine}",
        raw.where("weights", key),
        expected=f"shape {shape}: {meaning}",
        found=f"shape {value.shape}: {_blocks(other)} of hidden_size={hidden}, as {theirs} stacks them",
        hint=f"layer: {MODULES[other]}{suffix} traces it; an {mine} stacks {_blocks(kind)}",
    )


def _blocks(kind: str) -> str:
    g = GATES[kind]
    return f"{g} block{'s' if g > 1 else ''} ({ROWS[kind]})"
