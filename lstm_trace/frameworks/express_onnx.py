"""A canonical network in ONNX's words (one LSTM, GRU or RNN node), for `convert`.

An ONNX node is one layer, forward, reverse or both ways. Its W and R are
(D, G·H, inputs) with LSTM blocks i o f c, B is [Wb, Rb] (the recurrent half
takes a reset_after GRU candidate's recurrent bias, which
linear_before_reset puts inside r's product), P holds peepholes i, o, f.
ONNX has words for a pre-activation clip, a coupled forget gate and an
activation for h of its own; its activations are spelled with their alpha and
beta, so Keras's linear is Affine(1, 0) and hard_sigmoid a HardSigmoid.
Lengths, or a mask that uses each row's first steps, become sequence_lens.
"""

from __future__ import annotations

from collections.abc import Mapping
from itertools import product
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from ..activations import Activation
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
from .onnx import DEFAULTS, FUNCTIONS

if TYPE_CHECKING:
    from ..scenario import Scenario

WEIGHTS_SUFFIX = ".onnx"
ONNX_OPSET = 14  # the first with the layout attribute
ORDER = {"lstm": "iofg", "gru": "zrn", "rnn": "h"}
# the constants a family's alpha and beta are tried with: the source's own, ONNX's defaults, and the ones
# other frameworks fix (Keras 3's hard_sigmoid is x/6 + 1/2, Keras 2's 0.2·x + 0.5, linear is 1·x + 0)
_CONSTANTS = (1.0, 0.0, 0.5, 0.2, 1 / 6, 0.01, 0.1, 0.3)


def express(scenario: Scenario, target: str) -> Expressed:
    network = scenario.network
    refuse = Refusals(target)
    if len(network.cells) > 1:
        refuse.cannot(f"{len(network.cells)} layers", "an ONNX node is one layer: convert each layer on its own")
    cells = network.cells[0]
    backwards = network.backwards[: len(cells)]
    if len(cells) == 2 and backwards != (False, True):
        refuse.cannot("two directions that read the same way", "a bidirectional node reads one each way")
    lengths = prefix_lengths(network)
    if network.mask is not None and lengths is None:
        refuse.cannot("a mask that skips steps inside a row", "sequence_lens only ends rows early")
    first = cells[0]
    config: dict[str, Any] = {"hidden_size": first.units}
    spelled = [_activations(cell, refuse) for cell in cells]
    for cell in cells:
        common_refusals(cell, refuse, has=("peepholes", "pre_clip", "coupled", "output_activation"))
        if cell.units != first.units or cell.kind != first.kind:
            refuse.cannot("directions of different sizes", "one node has one hidden_size")
        if cell.pre_clip != first.pre_clip or cell.coupled_forget != first.coupled_forget:
            refuse.cannot("directions with different clips or forget gates", "one node has one of each")
        if cell.kind == "gru" and cell.reset_after != first.reset_after:
            refuse.cannot("directions with different reset placements", "one node has one linear_before_reset")
    refuse.raise_any(scenario.framework)
    names = [name for per_cell in spelled for name, _, _ in per_cell]
    if names != [FUNCTIONS[n.lower()][0] for n in _defaults(first.kind, len(cells))]:
        config["activations"] = names
        alphas = [a for per_cell in spelled for _, a, _ in per_cell if a is not None]
        betas = [b for per_cell in spelled for _, _, b in per_cell if b is not None]
        if alphas:
            config["activation_alpha"] = alphas
        if betas:
            config["activation_beta"] = betas
    if first.pre_clip is not None:
        config["clip"] = first.pre_clip
    config["direction"] = "bidirectional" if len(cells) == 2 else ("reverse" if backwards[0] else "forward")
    if first.kind == "lstm" and first.coupled_forget:
        config["input_forget"] = 1
    if first.kind == "gru":
        config["linear_before_reset"] = int(first.reset_after)
    notes = []
    if lengths is not None:
        config["sequence_lens"] = lengths.tolist()
        if network.mask is not None:
            notes.append(
                "The mask became sequence_lens: past each row's length ONNX returns zeros where Keras repeats the "
                "row's last output; every state agrees."
            )
    data: dict[str, Any] = {"layer": LAYER[first.kind], "config": config, "weights": _weights(cells)}
    state = {"initial_h": np.stack(network.h0[0])}
    if first.kind == "lstm":
        state["initial_c"] = np.stack(network.c0[0])  # type: ignore[arg-type]
    if any(np.any(value) for value in state.values()):
        data["initial_state"] = state
    if first.kind == "lstm" and scenario.framework != "onnx":
        notes.append("ONNX's LSTM gate blocks are i, o, f, c: the rows are reordered.")
    return Expressed(data, tuple(notes))


def _defaults(kind: str, directions: int) -> list[str]:
    from .onnx import DEFAULT_ACTIVATIONS

    return list(DEFAULT_ACTIVATIONS[kind]) * directions


def _activations(cell: Cell, refuse: Refusals) -> list[tuple[str, float | None, float | None]]:
    """ONNX's (name, alpha, beta) for each role of the cell: f (gates), g (candidate), h (act(c))."""
    roles = {"lstm": ("recurrent", "activation", "output"), "gru": ("recurrent", "activation"), "rnn": ("activation",)}
    acts = {"recurrent": cell.recurrent_activation, "activation": cell.activation, "output": cell.cell_activation}
    out = []
    for role in roles[cell.kind]:
        act = acts[role]
        found = _spell(act)
        if found is None:
            refuse.cannot(f"activation {act.name} ({act.formula})", "no ONNX activation computes it")
            found = ("Tanh", None, None)
        out.append(found)
    return out


def _spell(act: Activation) -> tuple[str, float | None, float | None] | None:
    for key, (name, takes_alpha, takes_beta, make) in FUNCTIONS.items():
        if not takes_alpha and not takes_beta:
            if spell(act, [(name, make(0.0, 0.0))]):
                return name, None, None
            continue
        given = [float(p) for p in act.params] + list(DEFAULTS.get(key, ()))
        for alpha, beta in product([*given, *_CONSTANTS], [*given, *_CONSTANTS] if takes_beta else [0.0]):
            if spell(act, [(name, make(alpha, beta))]):
                return name, alpha, beta if takes_beta else None
    return None


def _weights(cells: tuple[Cell, ...]) -> dict[str, np.ndarray]:
    order = ORDER[cells[0].kind]
    weights = {
        "W": np.stack([reorder(cell.kernel, cell, order).T for cell in cells]),
        "R": np.stack([reorder(cell.recurrent, cell, order).T for cell in cells]),
    }
    if any(has_bias(cell) for cell in cells):
        weights["B"] = np.stack(
            [np.concatenate([reorder(input_bias(c), c, order), reorder(recurrent_bias(c), c, order)]) for c in cells]
        )
    if any(cell.peepholes is not None for cell in cells):
        zeros = np.zeros((3, cells[0].units), cells[0].kernel.dtype)
        weights["P"] = np.stack([(c.peepholes if c.peepholes is not None else zeros)[[0, 2, 1]].reshape(-1)
                                 for c in cells])  # fmt: skip
    return weights


def write_weights(data: Mapping[str, Any], path: Path) -> str:
    """--weights-out: a model holding the one node, its weights and initial states as initializers, X its input
    (layout 0: (T, B, F)); returns how to load it."""
    from ..models import need

    onnx = need("onnx", "--weights-out for onnx")
    helper, numpy_helper = onnx.helper, onnx.numpy_helper
    weights, config = data["weights"], data["config"]
    x = np.asarray(data["inputs"])
    state = data.get("initial_state", {})
    elem = helper.np_dtype_to_tensor_dtype(x.dtype)
    initializers = [numpy_helper.from_array(np.asarray(value), name) for name, value in weights.items()]
    inputs = ["X", "W", "R", "B" if "B" in weights else ""]
    lengths = config.get("sequence_lens")
    inputs.append("sequence_lens" if lengths is not None else "")
    if lengths is not None:
        initializers.append(numpy_helper.from_array(np.asarray(lengths, np.int32), "sequence_lens"))
    for name in ("initial_h", "initial_c"):
        if name in state:
            initializers.append(numpy_helper.from_array(np.asarray(state[name]), name))
    inputs += ["initial_h" if "initial_h" in state else ""]
    if data["layer"] == "LSTM":
        inputs += ["initial_c" if "initial_c" in state else "", "P" if "P" in weights else ""]
    while inputs and not inputs[-1]:
        inputs.pop()
    outputs = ["Y", "Y_h", "Y_c"] if data["layer"] == "LSTM" else ["Y", "Y_h"]
    attributes = {key: value for key, value in config.items() if key != "sequence_lens"}
    node = helper.make_node(data["layer"], inputs, outputs, name=data["layer"].lower(), **attributes)
    t, b, d = x.shape[1], x.shape[0], 2 if config.get("direction") == "bidirectional" else 1
    hidden = config["hidden_size"]
    graph = helper.make_graph(
        [node],
        "lstm_trace",
        [helper.make_tensor_value_info("X", elem, [t, b, x.shape[2]])],
        [helper.make_tensor_value_info(name, elem, shape)
         for name, shape in zip(outputs, ([t, d, b, hidden], [d, b, hidden], [d, b, hidden]), strict=False)],
        initializers,
    )  # fmt: skip
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", ONNX_OPSET)])
    onnx.checker.check_model(model)
    onnx.save(model, str(path))
    return "onnx.load, or an onnxruntime InferenceSession"
