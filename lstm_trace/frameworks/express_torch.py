"""A canonical network in torch's words (an nn.LSTM, nn.GRU or nn.RNN state_dict), for `convert`.

torch stores each weight as (G·H, inputs), rows in its gate order (i f g o,
r z n), and splits the bias into bias_ih and bias_hh: the input side takes
every bias but a reset_after GRU candidate's recurrent one, which torch's
r multiplies (W_hn h + b_hn) as the canonical record does. A projection is
weight_hr (P, H). Layers and directions are one module (num_layers,
bidirectional), so every layer must have the same size and both directions;
lengths, or a mask that uses each row's first steps, become
pack_padded_sequence.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from .. import activations as A
from ..model import Cell
from .express import (
    LAYER,
    Expressed,
    Refusals,
    common_refusals,
    has_bias,
    input_bias,
    prefix_lengths,
    recurrent_bias,
    reorder,
    spell,
)

if TYPE_CHECKING:
    from ..scenario import Scenario

WEIGHTS_SUFFIX = ".safetensors"
ORDER = {"lstm": "ifgo", "gru": "rzn", "rnn": "h"}


def express(scenario: Scenario, target: str) -> Expressed:
    network = scenario.network
    refuse = Refusals(target)
    first = network.cells[0][0]
    directions = len(network.cells[0])
    for depth, cells in enumerate(network.cells):
        if len(cells) != directions:
            refuse.cannot("layers with different directions", "one nn module runs every layer the same way")
        if len(cells) == 1 and network.backwards[0]:
            refuse.cannot("a layer that reads backwards alone", "torch reads backwards only in a bidirectional module")
        if len(cells) == 2 and network.backwards[:2] != (False, True):
            refuse.cannot("two directions that read the same way", "a bidirectional module reads one each way")
        if depth < len(network.cells) - 1 and len(cells) == 2 and network.merge_mode(depth) != "concat":
            refuse.cannot(f"merge_mode {network.merge_mode(depth)} between layers",
                          "torch feeds the next layer the two directions concatenated")  # fmt: skip
        for cell in cells:
            _check(cell, first, refuse)
    lengths = prefix_lengths(network)
    if network.mask is not None and lengths is None:
        refuse.cannot("a mask that skips steps inside a row", "torch's packed sequences only end each row early")
    if lengths is not None and np.any(lengths == 0):
        refuse.cannot("a row of length 0", "pack_padded_sequence refuses it")
    refuse.raise_any(scenario.framework)
    config: dict[str, Any] = {
        "input_size": first.features,
        "hidden_size": first.units,
        "num_layers": len(network.cells),
        "bias": any(has_bias(cell) for cells in network.cells for cell in cells),
        "batch_first": True,
        "bidirectional": directions == 2,
    }
    if first.kind == "rnn":
        config["nonlinearity"] = "relu" if spell(first.activation, [("relu", A.RELU)]) else "tanh"
    if first.projection is not None:
        config["proj_size"] = first.output_size
    notes = []
    if lengths is not None:
        config["pack_padded_sequence"] = {"lengths": lengths.tolist(), "batch_first": True, "enforce_sorted": False}
        if network.mask is not None:
            notes.append(
                "The mask became packed-sequence lengths: past each row's length torch returns zeros where Keras "
                "repeats the row's last output; every state agrees."
            )
    if first.kind == "gru" and scenario.framework != "torch":
        notes.append("torch's GRU gate rows are r, z, n: the z and r blocks trade places.")
    return Expressed({"layer": LAYER[first.kind], "config": config, "weights": _weights(network, config["bias"]),
                      **_states(network)}, tuple(notes))  # fmt: skip


def _check(cell: Cell, first: Cell, refuse: Refusals) -> None:
    common_refusals(cell, refuse, has=("projection",))
    if cell.kind != first.kind or cell.units != first.units or cell.output_size != first.output_size:
        refuse.cannot("layers of different kinds or sizes", "one nn module has one hidden_size")
    if cell.kind == "gru" and not cell.reset_after:
        refuse.cannot("reset_after: false (r applied to h before h·U)", "torch's GRU applies r to h·U_n + b_hn")
    if cell.kind == "rnn":
        if spell(cell.activation, [("tanh", A.TANH), ("relu", A.RELU)]) is None:
            refuse.cannot(f"activation {cell.activation.name}", "nn.RNN's nonlinearity is tanh or relu")
        if spell(cell.activation, [("same", first.activation)]) is None:
            refuse.cannot("layers with different activations", "one nn.RNN has one nonlinearity")
        return
    if spell(cell.recurrent_activation, [("sigmoid", A.SIGMOID)]) is None:
        refuse.cannot(f"gate activation {cell.recurrent_activation.name}", "torch's gates are always sigmoid")
    if spell(cell.activation, [("tanh", A.TANH)]) is None:
        refuse.cannot(f"activation {cell.activation.name}", "torch's candidate (and h's act(c)) is always tanh")


def _weights(network: Any, bias: bool) -> dict[str, np.ndarray]:
    weights = {}
    for depth, cells in enumerate(network.cells):
        for direction, cell in enumerate(cells):
            order = ORDER[cell.kind]
            suffix = f"_l{depth}" + ("_reverse" if direction else "")
            weights[f"weight_ih{suffix}"] = reorder(cell.kernel, cell, order).T.copy()
            weights[f"weight_hh{suffix}"] = reorder(cell.recurrent, cell, order).T.copy()
            if bias:
                weights[f"bias_ih{suffix}"] = reorder(input_bias(cell), cell, order)
                weights[f"bias_hh{suffix}"] = reorder(recurrent_bias(cell), cell, order)
            if cell.projection is not None:
                weights[f"weight_hr{suffix}"] = cell.projection.T.copy()
    return weights


def _states(network: Any) -> dict[str, Any]:
    """h0 (L·D, B, H_out) and c0, layer by layer, forward before reverse; left out where all zero."""
    h0 = np.stack([h for layer in network.h0 for h in layer])
    state = {"h0": h0}
    if network.kind == "lstm":
        state["c0"] = np.stack([c for layer in network.c0 for c in layer])
    if not any(np.any(value) for value in state.values()):
        return {}
    return {"initial_state": state}


def write_weights(data: Mapping[str, Any], path: Path) -> str:
    """--weights-out: the state_dict as .safetensors; returns how to load it."""
    from ..models import need

    safetensors_numpy = need("safetensors.numpy", "--weights-out for torch")
    safetensors_numpy.save_file({k: np.ascontiguousarray(v) for k, v in data["weights"].items()}, str(path))
    return "safetensors.torch.load_file, then load_state_dict"
