"""PyTorch (`torch`): nn.LSTM, nn.GRU and nn.RNN from a state_dict, and their cells stepped by a loop.

Layers stack (each reads the one below, directions concatenated), the reverse direction reads x_T … x_1, and
`proj_size` projects h = W_hr·(o ⊙ tanh c). An input packed by `pack_padded_sequence(x, lengths)` is one run
with per-row lengths: past its length a row keeps its state, the reverse direction of a row starts at its own
last valid step, and `pad_packed_sequence` returns zeros there. torch_weights.py reads the weights (layout,
state_dict modules); torch_cells.py is nn.LSTMCell, nn.GRUCell and nn.RNNCell.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from .. import activations as A
from ..errors import ScenarioError, unknown_name
from ..model import Cell, Kind, Network
from .base import (
    ActivationOption,
    Built,
    Raw,
    Returned,
    Returns,
    Runs,
    check_keys,
    flag,
    option,
    positive_int,
    sequence_output,
    state_array,
)
from .torch_cells import build_cell
from .torch_packed import Packing, packing_notes, padded, read_packing
from .torch_weights import (
    BLOCKS,
    CELL_ENTRY,
    GATES,
    INERT_ARGS,
    LAYER_ENTRY,
    Entries,
    canonical_cell,
    check_input_size,
    entries,
    entry,
    layout_notes,
    nonlinearity,
)

__all__ = ["BLOCKS", "FRAMEWORKS", "Torch"]

KINDS: dict[str, Kind] = {"LSTM": "lstm", "GRU": "gru", "RNN": "rnn"}
CELLS = ("LSTMCell", "GRUCell", "RNNCell")
OPTIONS = (
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
    "pack_padded_sequence",
    "pad_packed_sequence",
    "mode",
    "training",
)
NOT_FOR = {"LSTM": {"nonlinearity", "activation"}, "GRU": {"nonlinearity", "activation"}, "RNN": set()}
INERT = {
    "dropout": "acts only in training (between layers)",
    "training": "only dropout reads it",
    **INERT_ARGS,
}
MODES = {"LSTM": ("LSTM",), "GRU": ("GRU",), "RNN": ("RNN_TANH", "RNN_RELU")}  # the `mode` nn.RNNBase prints


class Torch:
    name = "torch"
    layers = (*KINDS, *CELLS)

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
        found = entries(raw)
        if raw.layer in CELLS:
            return build_cell(raw, found)
        layer, kind = raw.layer, KINDS[raw.layer]
        check_keys(raw.config, [k for k in OPTIONS if k not in NOT_FOR[layer]], f"nn.{layer} argument", raw, "config")
        weights = self._weights(raw, found)
        proj = self._proj(raw, kind)
        hidden = self._hidden(raw, found, kind, proj)
        layers = positive_int(raw, "num_layers", raw.config.get("num_layers", 1))
        directions = 2 if flag(raw, "bidirectional", False) else 1
        if proj >= hidden and proj:
            raise ScenarioError("proj_size has to be smaller than hidden_size", raw.where("config", "proj_size"))
        check_input_size(raw)
        use_bias = flag(raw, "bias", True)
        option(raw, "dropout", None, (int, float))  # no effect here, but a number, never true or false
        batch_first = flag(raw, "batch_first", False)
        packing = read_packing(raw)
        activation = nonlinearity(raw, kind)
        self._mode(raw, layer, activation.name)
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
        network = Network(tuple(cells), raw.inputs, h0, c0, backwards=(False, True)[:directions],
                          lengths=None if packing is None else packing.lengths)  # fmt: skip
        shown = {"num_layers": (layers, 1), "bidirectional": (directions == 2, False), "proj_size": (proj, 0),
                 "bias": (use_bias, True)}  # fmt: skip
        args = "".join(f", {key}={value}" for key, (value, default) in shown.items() if value != default)
        header = f"torch nn.{layer}(hidden_size={hidden}{args})"
        if kind == "rnn":
            header += f" · nonlinearity={activation.name}"
        if packing is not None:
            header += " · packed sequences"
            batch_first = packing.batch_first  # the layout x had when it was packed
        notes = self._notes(kind, hidden, layers, directions, proj, use_bias, batch_first)
        if packing is not None:
            notes += packing_notes(packing, raw.inputs.shape[1], directions, kind == "lstm")
        note = found.note()
        return Built(
            network=network,
            header=header,
            config=dict(raw.config),
            returns=returns(packing),
            notes=notes + ((note,) if note else ()),
            inert=tuple((key, why) for key, why in INERT.items() if key in raw.config),
        )

    @staticmethod
    def _mode(raw: Raw, layer: str, activation: str) -> None:
        """`mode`, which vars() of an nn.LSTM/GRU/RNN holds, must name this layer (and an nn.RNN's nonlinearity)."""
        if "mode" not in raw.config:
            return
        mode = raw.config["mode"]
        want = MODES[layer] if layer != "RNN" else (f"RNN_{activation.upper()}",)
        if mode not in want:
            raise ScenarioError(
                f"mode {mode!r} is not this layer's",
                raw.where("config", "mode"),
                expected=f"mode: {want[0]}, as nn.{layer}"
                + (f" with nonlinearity {activation}" * (layer == "RNN"))
                + " holds it",
                found=repr(mode),
            )

    # ---- reading -----------------------------------------------------------------------
    def _proj(self, raw: Raw, kind: str) -> int:
        """proj_size: nn.GRU and nn.RNN print proj_size: 0 and accept nothing else, as torch does."""
        proj = int(option(raw, "proj_size", 0, int))
        if proj < 0:
            raise ScenarioError(
                "proj_size should be a positive integer or zero to disable projections",
                raw.where("config", "proj_size"),
                found=repr(proj),
            )
        if proj and kind != "lstm":
            raise ScenarioError(
                "proj_size argument is only supported for LSTM, not RNN or GRU",
                raw.where("config", "proj_size"),
                expected=f"proj_size: 0, as every nn.{raw.layer} prints it",
                found=repr(proj),
                hint="a projection of h is nn.LSTM's alone",
            )
        return proj

    def _hidden(self, raw: Raw, found: Entries, kind: str, proj: int) -> int:
        for key in ("hidden_size", "units"):
            if key in raw.config:
                return positive_int(raw, key, raw.config[key])
        name = found.names.get("weight_hh_l0")
        if name is not None:  # (G·H, H_out): H is its columns, or its rows / G with a projection
            shape = raw.array("weights", name, None, "").shape
            if len(shape) == 2 and shape[1] > 0:
                return int(shape[0]) // GATES[kind] if proj else int(shape[1])
        raise ScenarioError("hidden_size is not given", raw.where("config"), expected="config.hidden_size")

    def _weights(self, raw: Raw, found: Entries) -> dict[tuple[str, int, int], str]:
        """(kind of weight, layer, direction) → the name the scenario used for it; a cell's names say so."""
        slots: dict[tuple[str, int, int], str] = {}
        for own, key in found.names.items():
            match = LAYER_ENTRY.match(own)
            if match:
                slots[(match.group(1), int(match.group(2)), 1 if match.group(3) else 0)] = key
                continue
            if CELL_ENTRY.match(own):
                raise ScenarioError(
                    f"{key!r} is an nn.{raw.layer}Cell's weight name, not an nn.{raw.layer}'s",
                    raw.where("weights", key),
                    expected=f"nn.{raw.layer}'s weights: weight_ih_l0, weight_hh_l0, bias_ih_l0, bias_hh_l0, ...",
                    hint=f"layer: {raw.layer}Cell traces a cell stepped by a Python loop",
                )
            valid = ["weight_ih_l0", "weight_hh_l0", "bias_ih_l0", "bias_hh_l0", "weight_hr_l0", "weight_ih_l0_reverse"]
            raise unknown_name("torch weight", own, valid, raw.where("weights", key))
        return slots

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
            if what == "weight_hr":
                return raw.array("weights", key, shape, meaning)
            return entry(raw, key, shape, meaning, kind, cell=False)

        gates = f"{g}·hidden_size={g * hidden} rows" if g > 1 else f"hidden_size={hidden} rows"
        source = "input features" if depth == 0 else f"{'2 directions × ' if width != out else ''}layer-{depth} outputs"
        w_ih = get("weight_ih", (g * hidden, width), f"{gates} × {width} {source}")
        w_hh = get("weight_hh", (g * hidden, out), f"{gates} × {out} ({'proj_size' if proj else 'hidden_size'})")
        b_ih = b_hh = None
        if use_bias:
            b_ih = get("bias_ih", (g * hidden,), gates.replace(" rows", " values"))
            b_hh = get("bias_hh", (g * hidden,), gates.replace(" rows", " values"))
        w_hr = get("weight_hr", (proj, hidden), f"proj_size={proj} × hidden_size={hidden}") if proj else None
        return canonical_cell(kind, hidden, w_ih, w_hh, b_ih, b_hh, w_hr, activation)

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
        notes = layout_notes(kind, hidden, use_bias)
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


def returns(packing: Packing | None) -> Returns:
    """output, (h_n, c_n); for a packed input, output as pad_packed_sequence pads it."""

    def returned(runs: Runs) -> Returned:
        last = runs[-1]
        if packing is None:
            sequence = np.concatenate([run.outputs_in_input_time() for run in last], axis=-1)
        else:
            sequence = padded(np.concatenate([sequence_output(run) for run in last], axis=-1), packing.steps_out)
        flat = [run for layer in runs for run in layer]
        outputs = {"sequence": sequence, "h": np.stack([run.h[-1] for run in flat])}
        if flat[0].c is not None:
            outputs["c"] = np.stack([run.c[-1] for run in flat if run.c is not None])
        output = "output" if packing is None else "pad_packed_sequence(output)[0]"
        given = [(output, "sequence"), ("h_n", "h")] + ([("c_n", "c")] if "c" in outputs else [])
        note = f"{output}, (h_n, c_n)" if "c" in outputs else f"{output}, h_n"
        return Returned(outputs, tuple(given), note, states_axis=0)

    return returned


FRAMEWORKS = {"torch": Torch()}
