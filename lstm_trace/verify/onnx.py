"""ONNX: a one-node model, the LSTM, GRU or RNN operator with the scenario's attributes and inputs.

onnxruntime runs it where it computes the node (float32, layout 0); elsewhere (float64, layout 1) the onnx
package's reference evaluator runs it, which is refused for what that evaluator ignores (sequence_lens,
clip, input_forget, activations other than the defaults): it would return numbers for another node.
ONNX has no per-step state: each step's state is the node run on the sequence up to it (a reverse
direction: on the sequence from it), for sequences of up to MAX_STEPS steps.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import numpy as np

from . import Real, VerifyError, Words, need

INPUTS = {  # the node's inputs in the operator's order
    "LSTM": ("X", "W", "R", "B", "sequence_lens", "initial_h", "initial_c", "P"),
    "GRU": ("X", "W", "R", "B", "sequence_lens", "initial_h"),
    "RNN": ("X", "W", "R", "B", "sequence_lens", "initial_h"),
}
DEFAULTS = {"LSTM": ("sigmoid", "tanh", "tanh"), "GRU": ("sigmoid", "tanh"), "RNN": ("tanh",)}
OPSET = 14
MAX_STEPS = 200  # per-step states cost a run of the node per step and direction
INTEGERS = ("hidden_size", "layout", "input_forget", "linear_before_reset")
FLOATS = ("activation_alpha", "activation_beta")

Evaluate = Callable[[dict[str, np.ndarray]], dict[str, np.ndarray]]


def run(words: Words) -> Real:
    entry = words.layer
    op = entry.layer
    assert isinstance(entry.weights, Mapping), "ONNX weights are the node's inputs by name"
    attrs = _attributes(entry.config, entry.weights)
    lens = entry.config.get("sequence_lens")
    layout = attrs.get("layout", 0)
    if words.dtype == "float32" and not layout:
        onnx, runtime = need("onnx", "onnx", "onnxruntime")
        ran, name = f"onnxruntime {runtime.__version__}, ONNX {op} node (opset {OPSET})", "onnxruntime"
    else:
        (onnx,) = need("onnx", "onnx")
        runtime = None
        _reference_can(op, attrs, lens, words.dtype)
        ran, name = f"onnx {onnx.__version__} reference evaluator, ONNX {op} node (opset {OPSET})", "onnx"
    inputs = words.inputs if layout else words.inputs.transpose(1, 0, 2)
    feeds = {"X": np.ascontiguousarray(inputs), **entry.weights, **entry.initial_state}
    if lens is not None:
        feeds["sequence_lens"] = np.asarray(lens, np.int32).reshape(-1)
    evaluate = _evaluator(onnx, runtime, op, attrs, feeds, time_axis=1 if layout else 0)
    result = evaluate(feeds)
    outputs = {"sequence": result["Y"], "h": result["Y_h"]} | ({"c": result["Y_c"]} if "Y_c" in result else {})
    steps: dict[tuple[int, int], dict[str, np.ndarray]] = {}
    notes: tuple[str, ...] = ()
    if lens is not None:
        notes = ("per-step states not compared: ONNX has none, and with sequence_lens no prefix holds a step's",)
    elif words.inputs.shape[1] > MAX_STEPS:
        notes = (f"per-step states not compared: over {MAX_STEPS} steps (each would be a run of the node)",)
    else:
        steps = _steps(evaluate, feeds, attrs)
    return Real(ran, name, outputs, steps, notes)


def _attributes(config: Mapping[str, Any], weights: Mapping[str, np.ndarray]) -> dict[str, Any]:
    """The node's attributes as ONNX types them (hidden_size from R where the scenario leaves it out)."""
    attrs = {key: value for key, value in config.items() if key != "sequence_lens"}
    attrs.setdefault("hidden_size", int(weights["R"].shape[-1]))
    for key in INTEGERS:
        if key in attrs:
            attrs[key] = int(attrs[key])
    for key in FLOATS:
        if key in attrs:
            attrs[key] = [float(v) for v in attrs[key]]
    if "clip" in attrs:
        attrs["clip"] = float(attrs["clip"])
    return attrs


def _reference_can(op: str, attrs: Mapping[str, Any], lens: Any, dtype: str) -> None:
    """The reference evaluator computes only the plain node: refused for what it would silently ignore."""
    ignored = ["sequence_lens"] if lens is not None else []
    ignored += [key for key in ("clip", "input_forget") if attrs.get(key)]
    given = [str(a).lower() for a in attrs.get("activations", [])]
    dirs = 2 if attrs.get("direction") == "bidirectional" else 1
    if op != "RNN" and given and given != list(DEFAULTS[op]) * dirs:
        ignored.append(f"activations {attrs['activations']}")
    if ignored:
        why = "float64" if dtype == "float64" else "layout 1"
        raise VerifyError(
            f"onnxruntime does not compute an ONNX {op} node in {why}, and the onnx reference evaluator, which "
            f"does, ignores {', '.join(ignored)}: there is nothing here to verify this node against"
        )


def _evaluator(onnx: Any, runtime: Any, op: str, attrs: Mapping[str, Any], feeds: Mapping[str, np.ndarray],
               time_axis: int) -> Evaluate:  # fmt: skip
    """The node as a model whose X has any number of steps, and the function that runs it on some inputs."""
    from onnx import TensorProto, helper

    element = TensorProto.DOUBLE if feeds["X"].dtype == np.float64 else TensorProto.FLOAT
    names = [n if n in feeds else "" for n in INPUTS[op]]
    while not names[-1]:
        names.pop()
    outputs = ["Y", "Y_h", "Y_c"] if op == "LSTM" else ["Y", "Y_h"]

    def info(name: str) -> Any:
        shape: list[Any] = list(feeds[name].shape)
        if name == "X":
            shape[time_axis] = "T"
        return helper.make_tensor_value_info(name, TensorProto.INT32 if name == "sequence_lens" else element, shape)

    node = helper.make_node(op, names, outputs, **attrs)
    graph = helper.make_graph([node], "verify", [info(n) for n in names if n],
                              [helper.make_tensor_value_info(n, element, None) for n in outputs])  # fmt: skip
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", OPSET)])
    model.ir_version = 8
    given = [n for n in names if n]
    if runtime is None:
        from onnx.reference import ReferenceEvaluator

        evaluator = ReferenceEvaluator(model)
        return lambda f: dict(zip(outputs, evaluator.run(None, {n: f[n] for n in given}), strict=True))
    options = runtime.SessionOptions()
    options.log_severity_level = 3  # its own refusals come back as exceptions; nothing on stderr
    session = runtime.InferenceSession(model.SerializeToString(), options, providers=["CPUExecutionProvider"])
    return lambda f: dict(zip(outputs, session.run(None, {n: f[n] for n in given}), strict=True))


def _steps(evaluate: Evaluate, feeds: Mapping[str, np.ndarray], attrs: Mapping[str, Any]) -> dict:
    """Each direction's state after each step: the node run on the first s steps (reverse: the last s)."""
    layout = attrs.get("layout", 0)
    x, axis = feeds["X"], 1 if layout else 0
    steps = x.shape[axis]
    direction = attrs.get("direction", "forward")
    sides = {"forward": ["forward"], "reverse": ["reverse"], "bidirectional": ["forward", "reverse"]}[direction]
    found: dict[tuple[int, int], dict[str, list[np.ndarray]]] = {}
    for d, side in enumerate(sides):
        for s in range(1, steps + 1):
            part = np.take(x, range(s) if side == "forward" else range(steps - s, steps), axis=axis)
            result = evaluate({**feeds, "X": np.ascontiguousarray(part)})
            for q, key in (("h", "Y_h"), ("c", "Y_c")):
                if key in result:
                    state = result[key][:, d] if layout else result[key][d]
                    found.setdefault((0, d), {}).setdefault(q, []).append(state)
    return {key: {q: np.stack(values) for q, values in states.items()} for key, states in found.items()}
