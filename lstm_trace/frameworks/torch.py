"""PyTorch (`torch`): nn.LSTM, nn.GRU and nn.RNN from a state_dict.

torch stores weights as (G·H, inputs) and computes W·x, with two biases
(bias_ih, bias_hh). The canonical form is x·Wᵀ, so kernels are transposed
here; the GRU's blocks r, z, n are reordered to canonical z, r, n. Layers
stack (each reads the one below, directions concatenated), the reverse
direction reads x_T … x_1, and `proj_size` projects h = W_hr·(o ⊙ tanh c).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

import numpy as np

from .. import activations as A
from ..errors import ScenarioError, unknown_name
from ..model import GATES as CANONICAL_GATES
from ..model import Block, Cell, Kind, Network, WeightNames
from .base import (
    ActivationOption,
    Built,
    Raw,
    Returned,
    Runs,
    check_keys,
    flag,
    option,
    positive_int,
    reorder_blocks,
    state_array,
)

KINDS: dict[str, Kind] = {"LSTM": "lstm", "GRU": "gru", "RNN": "rnn"}
GATES = {kind: len(names) for kind, names in CANONICAL_GATES.items()}  # how many blocks the weights stack
BLOCKS = {
    "lstm": (Block("i", "i"), Block("f", "f"), Block("g", "g"), Block("o", "o")),
    "gru": (Block("r", "r"), Block("z", "z"), Block("n", "n")),
    "rnn": (Block("h", "h"),),
}
# canonical block k comes from torch block ORDER[kind][k]
ORDER = {"lstm": (0, 1, 2, 3), "gru": (1, 0, 2), "rnn": (0,)}
NAME = re.compile(r"^(?:.*\.)?(weight_ih|weight_hh|bias_ih|bias_hh|weight_hr)_l(\d+)(_reverse)?$")
OPTIONS = {
    "input_size",
    "hidden_size",
    "units",
    "num_layers",
    "bias",
    "batch_first",
    "dropout",
    "bidirectional",
    "proj_size",
    "nonlinearity",
    "activation",
    "device",
    "dtype",
}
NOT_FOR = {
    "LSTM": {"nonlinearity", "activation"},
    "GRU": {"nonlinearity", "activation", "proj_size"},
    "RNN": {"proj_size"},
}
INERT = {
    "dropout": "acts only in training (between layers)",
    "device": "where torch computes, not what",
    "input_size": "checked against the inputs and weights",
}
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


def _blocks(array: np.ndarray, kind: str, hidden: int) -> np.ndarray:
    """torch's gate rows (or entries) reordered into canonical blocks."""
    return reorder_blocks(array, ORDER[kind], hidden)


class Torch:
    name = "torch"
    layers = tuple(KINDS)

    def activation_option(self, layer: str, kind: str, role: str) -> ActivationOption:
        if kind == "rnn":
            return ActivationOption("nonlinearity", "nonlinearity")
        fixed = "gate activation" if role == "recurrent" else "candidate activation"
        return ActivationOption(
            f"{fixed} (fixed in torch nn.{layer})", None, "only nn.RNN with nonlinearity: relu runs exactly in torch"
        )

    def exact_activations(self) -> list[str]:
        return ["relu"]  # nn.RNN's nonlinearity; LSTM and GRU gates are always sigmoid

    def dtype_of(self, config: Mapping[str, Any]) -> str | None:
        value = config.get("dtype")
        return None if value is None else str(value).removeprefix("torch.")

    def build(self, raw: Raw) -> Built:
        layer, kind = raw.layer, KINDS[raw.layer]
        check_keys(raw.config, sorted(OPTIONS - NOT_FOR[layer]), f"nn.{layer} argument", raw, "config")
        hidden = self._hidden(raw)
        layers = positive_int(raw, "num_layers", raw.config.get("num_layers", 1))
        directions = 2 if flag(raw, "bidirectional", False) else 1
        proj = int(option(raw, "proj_size", 0, int)) if kind == "lstm" else 0
        if proj < 0 or (proj >= hidden and proj):
            raise ScenarioError("proj_size must be 0 or less than hidden_size", raw.where("config", "proj_size"))
        input_size = option(raw, "input_size", None, int)
        if input_size is not None and input_size != raw.features:
            raise ScenarioError(
                "input_size disagrees with the inputs",
                raw.where("config", "input_size"),
                expected=f"{raw.features} (the inputs' feature count)",
                found=repr(input_size),
            )
        use_bias = flag(raw, "bias", True)
        batch_first = flag(raw, "batch_first", False)
        activation = self._activation(raw, kind)
        weights = self._weights(raw)
        self._no_extra_weights(raw, weights, layers, directions, use_bias, proj)
        out = proj or hidden
        cells = []
        for depth in range(layers):
            width = raw.features if depth == 0 else directions * out
            cells.append(
                tuple(
                    self._cell(raw, weights, kind, depth, d, width, hidden, proj, use_bias, activation)
                    for d in range(directions)
                )
            )
        h0, c0 = self._initial_state(raw, kind, layers, directions, hidden, out)
        network = Network(
            tuple(cells),
            raw.inputs,
            h0,
            c0,
            backwards=(False, True)[:directions],
        )
        shown = {"num_layers": (layers, 1), "bidirectional": (directions == 2, False), "proj_size": (proj, 0),
                 "bias": (use_bias, True)}  # fmt: skip
        args = "".join(f", {key}={value}" for key, (value, default) in shown.items() if value != default)
        header = f"torch nn.{layer}(hidden_size={hidden}{args})"
        if kind == "rnn":
            header += f" · nonlinearity={activation.name}"
        return Built(
            network=network,
            header=header,
            config=dict(raw.config),
            returns=returned,
            notes=self._notes(kind, hidden, layers, directions, proj, use_bias, batch_first),
            inert=tuple((key, why) for key, why in INERT.items() if key in raw.config),
        )

    # ---- reading -----------------------------------------------------------------------
    def _hidden(self, raw: Raw) -> int:
        for key in ("hidden_size", "units"):
            if key in raw.config:
                return positive_int(raw, key, raw.config[key])
        weights = raw.weights if isinstance(raw.weights, Mapping) else {}
        for key in weights:
            match = NAME.match(str(key))
            if match and match.group(1) == "weight_hh" and match.group(2) == "0":
                rows = raw.array("weights", str(key), None, "").shape[0]
                return int(rows) // GATES[KINDS[raw.layer]]
        raise ScenarioError("hidden_size is not given", raw.where("config"), expected="config.hidden_size")

    def _activation(self, raw: Raw, kind: str) -> A.Activation:
        if kind != "rnn":
            return A.TANH
        key = "nonlinearity" if "nonlinearity" in raw.config else "activation"
        value = raw.config.get(key, "tanh")
        table = {"tanh": A.TANH, "relu": A.RELU}
        if not isinstance(value, str) or value not in table:
            raise unknown_name("nonlinearity", str(value), table, raw.where("config", key))
        return table[value]

    def _weights(self, raw: Raw) -> dict[tuple[str, int, int], str]:
        """(kind of weight, layer, direction) → the name the scenario used for it."""
        if not isinstance(raw.weights, Mapping):
            raise ScenarioError("torch weights are a mapping of state_dict names", raw.where("weights"))
        found: dict[tuple[str, int, int], str] = {}
        for key in raw.weights:
            match = NAME.match(str(key))
            if not match:
                valid = [
                    "weight_ih_l0",
                    "weight_hh_l0",
                    "bias_ih_l0",
                    "bias_hh_l0",
                    "weight_hr_l0",
                    "weight_ih_l0_reverse",
                ]
                raise unknown_name("torch weight", str(key), valid, raw.where("weights", str(key)))
            slot = (match.group(1), int(match.group(2)), 1 if match.group(3) else 0)
            if slot in found:
                raise ScenarioError(f"weight {key!r} is given twice", raw.where("weights", str(key)))
            found[slot] = str(key)
        return found

    def _cell(
        self,
        raw: Raw,
        weights: dict[tuple[str, int, int], str],
        kind: Kind,
        depth: int,
        d: int,
        width: int,
        hidden: int,
        proj: int,
        use_bias: bool,
        activation: A.Activation,
    ) -> Cell:
        suffix = f"_l{depth}" + ("_reverse" if d else "")
        g = GATES[kind]
        out = proj or hidden

        def get(what: str, shape: tuple[int, ...], meaning: str) -> np.ndarray:
            key = weights.get((what, depth, d))
            if key is None:
                raise ScenarioError(
                    f"missing weight {what}{suffix}", raw.where("weights"), expected=f"{what}{suffix}: {meaning}"
                )
            return raw.array("weights", key, shape, meaning)

        gates = f"{g}·hidden_size={g * hidden} rows" if g > 1 else f"hidden_size={hidden} rows"
        source = "input features" if depth == 0 else f"{'2 directions × ' if width != out else ''}layer-{depth} outputs"
        w_ih = get("weight_ih", (g * hidden, width), f"{gates} × {width} {source}")
        w_hh = get("weight_hh", (g * hidden, out), f"{gates} × {out} ({'proj_size' if proj else 'hidden_size'})")
        b_ih = b_hh = None
        if use_bias:
            b_ih = _blocks(get("bias_ih", (g * hidden,), gates.replace(" rows", " values")), kind, hidden)
            b_hh = _blocks(get("bias_hh", (g * hidden,), gates.replace(" rows", " values")), kind, hidden)
        projection = None
        if proj:
            projection = get("weight_hr", (proj, hidden), f"proj_size={proj} × hidden_size={hidden}").T.copy()
        return Cell(
            kind=kind,
            units=hidden,
            kernel=_blocks(w_ih, kind, hidden).T.copy(),
            recurrent=_blocks(w_hh, kind, hidden).T.copy(),
            activation=activation,
            recurrent_activation=A.SIGMOID,
            blocks=BLOCKS[kind],
            bias=b_ih,
            recurrent_bias=b_hh,
            reset_after=True,
            names=NAMES,
            projection=projection,
        )

    def _no_extra_weights(
        self, raw: Raw, weights: dict[Any, str], layers: int, dirs: int, bias: bool, proj: int
    ) -> None:
        for (what, depth, d), key in weights.items():
            why = None
            if depth >= layers:
                why = f"num_layers is {layers}: layers are numbered l0 to l{layers - 1}"
            elif d >= dirs:
                why = "bidirectional is false, so there are no _reverse weights"
            elif what.startswith("bias") and not bias:
                why = "bias is false"
            elif what == "weight_hr" and not proj:
                why = "proj_size is 0, so there is no weight_hr"
            if why:
                raise ScenarioError(
                    f"weight {key!r} does not belong to this layer", raw.where("weights", key), hint=why
                )

    def _initial_state(
        self, raw: Raw, kind: str, layers: int, dirs: int, hidden: int, out: int
    ) -> tuple[tuple[tuple[np.ndarray, ...], ...], tuple[tuple[np.ndarray | None, ...], ...]]:
        check_keys(raw.initial_state, ["h0", "c0"] if kind == "lstm" else ["h0"], "initial state", raw, "initial_state")
        ld, b = layers * dirs, raw.batch

        def state(key: str, size: int) -> np.ndarray:
            if key not in raw.initial_state:
                return np.zeros((ld, b, size), raw.dtype)
            meaning = f"num_layers·directions={ld} × B={b} × {size}, as torch takes it even with batch_first"
            if b == 1 and np.asarray(raw.initial_state[key], dtype=object).ndim == 2:
                return state_array(raw, key, (ld, size), meaning)[:, None, :]
            return state_array(raw, key, (ld, b, size), meaning)

        h = state("h0", out)
        c = state("c0", hidden) if kind == "lstm" else None
        # torch orders the first axis layer by layer, forward before reverse
        h0 = tuple(tuple(h[depth * dirs + d] for d in range(dirs)) for depth in range(layers))
        c0 = tuple(tuple(None if c is None else c[depth * dirs + d] for d in range(dirs)) for depth in range(layers))
        return h0, c0

    # ---- explaining ----------------------------------------------------------------------
    def _notes(
        self, kind: str, hidden: int, layers: int, dirs: int, proj: int, use_bias: bool, batch_first: bool
    ) -> tuple[str, ...]:
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
        if dirs == 2:
            notes.append(
                "bidirectional: the reverse direction reads x_T … x_1; its outputs are aligned to input "
                "time in `sequence`, and h_n holds the last state each direction processed."
            )
        if layers > 1:
            notes.append(
                "num_layers > 1: each layer reads the output sequence of the layer below"
                + (", both directions concatenated." if dirs == 2 else ".")
            )
        if proj:
            notes.append(f"proj_size={proj}: h = W_hr·(o ⊙ tanh c), so h is {proj} wide while c stays {hidden}.")
        if not batch_first:
            notes.append(
                "batch_first=False: torch takes (T, B, F); the scenario's inputs and the sequence shown "
                "are batch-major (B, T, ...)."
            )
        return tuple(notes)


def returned(runs: Runs) -> Returned:
    """output, (h_n, c_n): output batch-major whatever batch_first says; h_n, c_n as torch returns them."""
    last = runs[-1]
    sequence = np.concatenate([run.outputs_in_input_time() for run in last], axis=-1)
    flat = [run for layer in runs for run in layer]
    outputs = {"sequence": sequence, "h": np.stack([run.h[-1] for run in flat])}
    if flat[0].c is not None:
        outputs["c"] = np.stack([run.c[-1] for run in flat if run.c is not None])
    given = [("output", "sequence"), ("h_n", "h")] + ([("c_n", "c")] if "c" in outputs else [])
    note = "output, (h_n, c_n)" if "c" in outputs else "output, h_n"
    return Returned(outputs, tuple(given), note, states_axis=0)


FRAMEWORKS = {"torch": Torch()}
