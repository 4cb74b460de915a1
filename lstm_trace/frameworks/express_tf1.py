"""A canonical network in TF1's words (one tf.compat.v1 cell run by dynamic_rnn), for `convert`.

A TF1 cell's kernel is (F + H, G·H) applied to concat([x, h]), its LSTM blocks
i j f o. forget_bias is written as 0.0 and the bias carries every constant,
so nothing is added twice. An LSTM with peepholes, a cell clip or a
projection is an LSTMCell, otherwise a BasicLSTMCell. A GRUCell applies r to
h before h·U (Keras's reset_after: false), and its gates are always σ.
dynamic_rnn runs one cell forward: lengths (or a mask that uses each row's
first steps) become its sequence_length.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from .. import activations as A
from ..engine import summed_bias  # b + b_rec + forget_bias, as the run adds them
from ..model import Cell
from .express import Expressed, Refusals, common_refusals, prefix_lengths, reorder, spell

if TYPE_CHECKING:
    from ..scenario import Scenario

WEIGHTS_SUFFIX = ".npz"
SCOPES = {"BasicLSTMCell": "basic_lstm_cell", "LSTMCell": "lstm_cell", "GRUCell": "gru_cell",
          "BasicRNNCell": "basic_rnn_cell"}  # fmt: skip
SPELLING = {"linear": "identity"}  # TF1 names its activations by the tf function: tf.identity


def express(scenario: Scenario, target: str) -> Expressed:
    network = scenario.network
    refuse = Refusals(target)
    if len(network.cells) > 1:
        refuse.cannot(f"{len(network.cells)} layers", "a tf1 scenario is one cell run by dynamic_rnn")
    if len(network.cells[0]) > 1:
        refuse.cannot("two directions", "a tf1 scenario is one cell run forward by dynamic_rnn")
    elif network.backwards[0]:
        refuse.cannot("a layer that reads backwards", "dynamic_rnn reads forward")
    lengths = prefix_lengths(network)
    if network.mask is not None and lengths is None:
        refuse.cannot("a mask that skips steps inside a row", "dynamic_rnn's sequence_length only ends rows early")
    cell = network.cells[0][0]
    layer, config, weights = _cell(cell, refuse)
    refuse.raise_any(scenario.framework)
    notes = []
    if cell.kind == "lstm":
        notes.append("forget_bias is 0.0: the bias holds every constant the source adds.")
    if lengths is not None:
        config["dynamic_rnn"] = {"sequence_length": lengths.tolist()}
        if network.mask is not None:
            notes.append(
                "The mask became sequence_length: past each row's length dynamic_rnn returns zeros where Keras "
                "repeats the row's last output; every state agrees."
            )
    data: dict[str, Any] = {"layer": layer, "config": config, "weights": weights}
    state = {"c0": network.c0[0][0], "h0": network.h0[0][0]} if cell.kind == "lstm" else {"h0": network.h0[0][0]}
    if any(np.any(value) for value in state.values()):
        data["initial_state"] = state
    return Expressed(data, tuple(notes))


def _cell(cell: Cell, refuse: Refusals) -> tuple[str, dict[str, Any], dict[str, np.ndarray]]:
    common_refusals(cell, refuse, has=("peepholes", "cell_clip", "projection", "proj_clip"))
    activation = spell(cell.activation, A.COMMON.items())
    if activation is None:
        refuse.cannot(f"activation {cell.activation.name} ({cell.activation.formula})", "tf1 has no such function")
    config: dict[str, Any] = {"num_units": cell.units, "activation": SPELLING.get(activation or "", activation)}
    if cell.kind != "rnn" and spell(cell.recurrent_activation, [("sigmoid", A.SIGMOID)]) is None:
        refuse.cannot(f"gate activation {cell.recurrent_activation.name}", "TF1's LSTM and GRU gates are always σ")
    if cell.kind == "gru" and cell.reset_after:
        refuse.cannot("reset_after (r applied to h·U_n)", "TF1's GRUCell applies r to h before the product")

    def kernel(order: str) -> np.ndarray:
        return np.vstack([reorder(cell.kernel, cell, order), reorder(cell.recurrent, cell, order)])

    bias = summed_bias(cell)
    if cell.kind == "rnn":
        return "BasicRNNCell", config, {"kernel": kernel("h"), "bias": bias}
    if cell.kind == "gru":
        weights = {
            "gates/kernel": kernel("rz"),
            "gates/bias": reorder(bias, cell, "rz"),
            "candidate/kernel": kernel("n"),
            "candidate/bias": reorder(bias, cell, "n"),
        }
        return "GRUCell", config, weights
    config["forget_bias"] = 0.0
    weights = {"kernel": kernel("igfo"), "bias": reorder(bias, cell, "igfo")}
    if cell.peepholes is None and cell.cell_clip is None and cell.projection is None:
        return "BasicLSTMCell", config, weights
    if cell.peepholes is not None:
        config["use_peepholes"] = True
        weights |= {"w_i_diag": cell.peepholes[0], "w_f_diag": cell.peepholes[1], "w_o_diag": cell.peepholes[2]}
    if cell.cell_clip is not None:
        config["cell_clip"] = cell.cell_clip
    if cell.projection is not None:
        config["num_proj"] = cell.output_size
        weights["projection/kernel"] = cell.projection
        if cell.proj_clip is not None:
            config["proj_clip"] = cell.proj_clip
    return "LSTMCell", config, weights


def write_weights(data: Mapping[str, Any], path: Path) -> str:
    """--weights-out: each variable as .npz, by the name dynamic_rnn gives it under its default scope."""
    scope = f"rnn/{SCOPES[data['layer']]}"
    np.savez(path, **{f"{scope}/{name}": value for name, value in data["weights"].items()})
    return f"each variable by its name under dynamic_rnn's scope: {scope}/kernel, ..."
