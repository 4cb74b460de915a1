"""A canonical network in Keras's words (Keras 3 `keras`, or Keras 2 `keras2`), for `convert`.

Keras's kernel already multiplies x from the left and its gate blocks are the
canonical ones (i f c o, z r h), so weights go over as they are; the biases
fold into one (a reset_after GRU keeps its candidate's recurrent bias apart, as
its (2, 3U) bias does). Two directions become a Bidirectional, several layers
a `layers:` stack, a direction that reads backwards alone `go_backwards`.
Lengths (TF1, ONNX, torch packed) become a mask that uses each row's first
steps: Keras then repeats the last output where the others write zeros, which
the notes say.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from ..engine import summed_bias  # b + b_rec + forget_bias, as the run adds them
from ..model import Cell
from .express import (
    Expressed,
    Refusals,
    common_refusals,
    has_bias,
    input_bias,
    recurrent_bias,
    spell,
    step_mask,
)

if TYPE_CHECKING:
    from ..scenario import Scenario

WEIGHTS_SUFFIX = ".npz"
CLASS = {"lstm": "LSTM", "gru": "GRU", "rnn": "SimpleRNN"}
NAME = {"lstm": "lstm", "gru": "gru", "rnn": "simple_rnn"}


def express(scenario: Scenario, target: str) -> Expressed:
    from . import get

    network = scenario.network
    fw: Any = get(target)
    vocabulary = [(name, act) for name, act in fw.activations.items()]
    refuse = Refusals(target)
    layers, notes = [], []
    for depth, cells in enumerate(network.cells):
        backwards = network.backwards[: len(cells)]
        if len(cells) == 2 and backwards != (False, True):
            refuse.cannot("two directions that read the same way", "a Bidirectional reads one each way")
        entries = [_layer(cell, vocabulary, refuse, target, go_backwards=len(cells) == 1 and backwards[0])
                   for cell in cells]  # fmt: skip
        states = _states(network.h0[depth], network.c0[depth], len(cells) == 2)
        if len(cells) == 2:
            merge = network.merge_mode(depth)
            forward, backward = entries
            config = {"layer": {"class_name": forward[0], "config": forward[1]}, "merge_mode": merge}
            if {**backward[1], "go_backwards": False} != {**forward[1], "go_backwards": False}:
                # the backward layer differs: given whole; Keras 2 prefixes its name with backward_, Keras 3 not
                named = {**backward[1], "go_backwards": True}
                named["name"] = f"backward_{named['name']}" if target == "keras" else named["name"]
                config["backward_layer"] = {"class_name": backward[0], "config": named}
            weights = {f"{side}_{NAME[cells[0].kind]}/{key}": value
                       for side, (_, _, w) in zip(("forward", "backward"), entries, strict=True)
                       for key, value in w.items()}  # fmt: skip
            layers.append({"layer": "Bidirectional", "config": config, "weights": weights, **states})
        else:
            kind, config, weights = entries[0]
            layers.append({"layer": kind, "config": config, "weights": weights, **states})
    mask = step_mask(network)
    if mask is not None and target == "keras" and any("initial_state" in entry for entry in layers[1:]):
        refuse.cannot("initial states of layer 2 and up, with a mask or lengths",
                      "Keras 3 drops the mask of a layer called with initial_state")  # fmt: skip
    refuse.raise_any(scenario.framework)
    # a Sequential passes one tensor on: only the last layer returns its state (Keras 2's, none)
    for entry in layers[:-1] if target == "keras" or len(layers) == 1 else layers:
        inner = entry["config"]["layer"]["config"] if entry["layer"] == "Bidirectional" else entry["config"]
        inner["return_state"] = False
    data: dict[str, Any] = layers[0] if len(layers) == 1 else {"layers": layers}
    if mask is not None:
        data = {**data, "mask": mask.tolist()}
        if network.lengths is not None:
            notes.append(
                "Each row's length became a mask of its first steps: past it Keras repeats the row's last output "
                f"where {scenario.framework} writes zeros; every state agrees."
            )
    if len(network.cells[-1]) == 2 and scenario.framework != "keras" and scenario.framework != "keras2":
        notes.append("The Bidirectional's sequence is the two directions concatenated, as the source returns them.")
    return Expressed(data, tuple(notes))


def _layer(cell: Cell, vocabulary: list[tuple[str, Any]], refuse: Refusals, target: str,
           go_backwards: bool) -> tuple[str, dict[str, Any], dict[str, np.ndarray]]:  # fmt: skip
    common_refusals(cell, refuse)
    config: dict[str, Any] = {"name": NAME[cell.kind], "units": cell.units}  # the name is in the weights' names
    roles = [("activation", cell.activation)]
    if cell.kind != "rnn":
        roles.append(("recurrent_activation", cell.recurrent_activation))
    for key, act in roles:
        name = spell(act, vocabulary)
        if name is None:
            refuse.cannot(f"{key} {act.name} ({act.formula})", f"{target} has no activation that computes it")
        config[key] = name
    config["use_bias"] = has_bias(cell)
    weights = {"kernel": cell.kernel, "recurrent_kernel": cell.recurrent}
    if cell.kind == "gru":
        config["reset_after"] = cell.reset_after
    if has_bias(cell):
        if cell.kind == "gru" and cell.reset_after:
            weights["bias"] = np.stack([input_bias(cell), recurrent_bias(cell)])
        else:
            weights["bias"] = summed_bias(cell)
    config |= {"return_sequences": True, "return_state": True}
    if go_backwards:
        config["go_backwards"] = True
    return CLASS[cell.kind], config, weights


def _states(h0: tuple[np.ndarray, ...], c0: tuple[np.ndarray | None, ...], both: bool) -> dict[str, Any]:
    """initial_state in Keras's names, left out where every value is zero (Keras's own default)."""
    sides = ("forward_", "backward_") if both else ("",)
    state: dict[str, np.ndarray] = {}
    for side, h, c in zip(sides, h0, c0, strict=True):
        state[f"{side}h0"] = h
        if c is not None:
            state[f"{side}c0"] = c
    if not any(np.any(value) for value in state.values()):
        return {}
    return {"initial_state": state}


def write_weights(data: Mapping[str, Any], path: Path) -> str:
    """--weights-out: the arrays set_weights takes, in get_weights() order (each layer's kernel,
    recurrent_kernel, bias; a Bidirectional's forward layer first), as .npz."""
    entries = data.get("layers", [data])
    np.savez(path, *[np.asarray(value) for entry in entries for value in entry["weights"].values()])
    return "set_weights([d[f'arr_{k}'] for k in range(len(d))])"
