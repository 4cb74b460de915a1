"""torch nn.LSTMCell, nn.GRUCell and nn.RNNCell, stepped by the loop tutorials write.

    h, c = h0, c0
    outputs = []
    for t in range(T):
        h, c = cell(x[:, t], (h, c))        # nn.GRUCell, nn.RNNCell: h = cell(x[:, t], h)
        outputs.append(h)
    sequence = torch.stack(outputs, dim=1)  # (B, T, H)

A cell holds one layer's weights without the `_l0` suffix (weight_ih (G·H, F), weight_hh (G·H, H), bias_ih,
bias_hh) and computes exactly what one step of nn.LSTM/GRU/RNN computes, so the loop is one canonical
layer run forward; what it returns is the stacked h, and the last h (and c).
"""

from __future__ import annotations

import numpy as np

from ..arrays import to_array
from ..errors import ScenarioError, unknown_name
from ..model import Kind, Network
from .base import Built, Raw, Returned, Runs, check_keys, flag, positive_int
from .torch_weights import (
    CELL_ENTRY,
    GATES,
    INERT_ARGS,
    LAYER_ENTRY,
    Entries,
    canonical_cell,
    check_input_size,
    entry,
    layout_notes,
    nonlinearity,
)

OPTIONS = ("input_size", "hidden_size", "units", "bias", "nonlinearity", "device", "dtype")
CELL_WEIGHTS = ("weight_ih", "weight_hh", "bias_ih", "bias_hh")
KINDS: dict[str, Kind] = {"LSTMCell": "lstm", "GRUCell": "gru", "RNNCell": "rnn"}


def build_cell(raw: Raw, found: Entries) -> Built:
    """An nn.*Cell's loop as a one-layer, forward network."""
    layer = raw.layer
    kind = KINDS[layer]
    valid = [k for k in OPTIONS if kind == "rnn" or k != "nonlinearity"]
    check_keys(raw.config, valid, f"nn.{layer} argument", raw, "config")
    names = _names(raw, found, layer)
    hidden = _hidden(raw, names, kind)
    check_input_size(raw)
    use_bias = flag(raw, "bias", True)
    for own, key in names.items():
        if own.startswith("bias") and not use_bias:
            raise ScenarioError(
                f"weight {key!r} does not belong to this layer", raw.where("weights", key), hint="bias is false"
            )
    g = GATES[kind]
    rows = f"{g}·hidden_size={g * hidden} rows" if g > 1 else f"hidden_size={hidden} rows"

    def get(own: str, shape: tuple[int, ...], meaning: str) -> np.ndarray:
        if own not in names:
            raise ScenarioError(f"missing weight {own}", raw.where("weights"), expected=f"{own}: {meaning}")
        return entry(raw, names[own], shape, meaning, kind, cell=True)

    w_ih = get("weight_ih", (g * hidden, raw.features), f"{rows} × {raw.features} input features")
    w_hh = get("weight_hh", (g * hidden, hidden), f"{rows} × hidden_size={hidden}")
    biases: tuple[np.ndarray | None, np.ndarray | None] = (None, None)
    if use_bias:
        values = rows.replace(" rows", " values")
        biases = (get("bias_ih", (g * hidden,), values), get("bias_hh", (g * hidden,), values))
    activation = nonlinearity(raw, kind)
    cell = canonical_cell(kind, hidden, w_ih, w_hh, *biases, None, activation)
    check_keys(raw.initial_state, ["h0", "c0"] if kind == "lstm" else ["h0"], "initial state", raw, "initial_state")
    h0 = _state(raw, "h0", hidden)
    c0 = _state(raw, "c0", hidden) if kind == "lstm" else None
    header = f"torch nn.{layer}(input_size={raw.features}, hidden_size={hidden}"
    header += ("" if use_bias else ", bias=False") + ") stepped by a Python loop over t"
    if kind == "rnn":
        header += f" · nonlinearity={activation.name}"
    return Built(
        network=Network(((cell,),), raw.inputs, ((h0,),), ((c0,),)),
        header=header,
        config=dict(raw.config),
        returns=_returned,
        notes=_notes(layer, kind, hidden, use_bias, found),
        inert=tuple((key, why) for key, why in INERT_ARGS.items() if key in raw.config),
    )


def _names(raw: Raw, found: Entries, layer: str) -> dict[str, str]:
    """The cell's own entries; a module's name (weight_ih_l0) says it is the whole layer's."""
    for own, key in found.names.items():
        if CELL_ENTRY.match(own):
            continue
        module = layer.removesuffix("Cell")
        if LAYER_ENTRY.match(own):
            raise ScenarioError(
                f"{key!r} is an nn.{module}'s weight name, not an nn.{layer}'s",
                raw.where("weights", key),
                expected=f"nn.{layer}'s weights: {', '.join(CELL_WEIGHTS)}",
                hint=f"layer: {module} traces the whole nn.{module}; an nn.{layer} has one layer and no _l0 suffix",
            )
        raise unknown_name("torch weight", own, CELL_WEIGHTS, raw.where("weights", key))
    return found.names


def _hidden(raw: Raw, names: dict[str, str], kind: str) -> int:
    for key in ("hidden_size", "units"):
        if key in raw.config:
            return positive_int(raw, key, raw.config[key])
    if "weight_hh" in names:  # (G·H, H): its columns
        shape = raw.array("weights", names["weight_hh"], None, "").shape
        if len(shape) == 2 and shape[1] > 0:
            return int(shape[1])
    raise ScenarioError("hidden_size is not given", raw.where("config"), expected="config.hidden_size")


def _state(raw: Raw, key: str, hidden: int) -> np.ndarray:
    """h0 or c0 as (B, H); (H,) only for a batch of one, as torch takes it for an unbatched x[t] of shape (F,)."""
    batch = raw.batch
    if key not in raw.initial_state:
        return np.zeros((batch, hidden), raw.dtype)
    where = raw.where("initial_state", key)
    array = to_array(raw.initial_state[key], where, raw.file.parent if raw.file else None, raw.dtype)
    raw.check_finite(array, where)
    if batch == 1 and array.shape == (hidden,):
        return array[None]
    if array.shape != (batch, hidden):
        hint = None
        if array.shape == (hidden,):
            hint = f"torch: input batch size {batch} doesn't match hidden0 batch size {hidden}"
        raise ScenarioError(
            "wrong shape",
            where,
            expected=f"shape {(batch, hidden)}: B={batch} × hidden_size={hidden}"
            + (", or (hidden_size,) for one unbatched sequence" if batch == 1 else ""),
            found=f"shape {array.shape}",
            hint=hint,
        )
    return array


def _notes(layer: str, kind: str, hidden: int, use_bias: bool, found: Entries) -> tuple[str, ...]:
    step = "h, c = cell(x[:, t], (h, c))" if kind == "lstm" else "h = cell(x[:, t], h)"
    notes = [
        f"nn.{layer} stepped by a Python loop over t: for t in range(T): {step}; outputs.append(h). "
        "`sequence` is torch.stack(outputs, dim=1), (B, T, H); h"
        + (" and c are" if kind == "lstm" else " is")
        + " the state after the last step.",
        *layout_notes(kind, hidden, use_bias),
    ]
    note = found.note()
    if note:
        notes.append(note)
    return tuple(notes)


def _returned(runs: Runs) -> Returned:
    """torch.stack(outputs, dim=1), and the last h (and c): the loop's own variables."""
    run = runs[0][0]
    outputs = {"sequence": run.outputs_in_input_time(), "h": run.h[-1]}
    given = [("torch.stack(outputs, dim=1)", "sequence"), ("h", "h")]
    if run.c is not None:
        outputs["c"] = run.c[-1]
        given.append(("c", "c"))
    return Returned(outputs, tuple(given), "the loop's outputs stacked, and its last h, c" if run.c is not None
                    else "the loop's outputs stacked, and its last h")  # fmt: skip
