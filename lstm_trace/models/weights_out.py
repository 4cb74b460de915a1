"""`convert --weights-out`: a converted layer's weights in a file its framework loads directly.

torch: the state_dict as .safetensors (`model.load_state_dict(safetensors.torch.load_file(f))`).
keras, keras2: the arrays `layer.set_weights` takes, in its order, as .npz (`[d[f"arr_{k}"] for k in
range(len(d))]`). tf1: each variable by its name as .npz. onnx: a model holding the one node, its weights
and initial states as initializers and X as the graph's input (layout 0: (T, B, F)).
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import ScenarioError, Where
from . import need

SUFFIX = {"torch": ".safetensors", "keras": ".npz", "keras2": ".npz", "tf1": ".npz", "onnx": ".onnx"}
TF1_SCOPES = {"BasicLSTMCell": "basic_lstm_cell", "LSTMCell": "lstm_cell", "GRUCell": "gru_cell",
              "BasicRNNCell": "basic_rnn_cell"}  # fmt: skip
ONNX_OPSET = 14  # the first with the layout attribute


def write_weights(data: Mapping[str, Any], target: str, path: Path) -> str:
    """Write `data`'s weights for `target` to `path`; returns how to load them, for the scenario's header."""
    if path.suffix.lower() != SUFFIX[target]:
        raise ScenarioError(
            f"--weights-out for {target} writes a {SUFFIX[target]} file",
            Where(path, None, "--weights-out"),
            found=path.suffix or "no suffix",
        )
    try:
        if target == "torch":
            safetensors_numpy = need("safetensors.numpy", "--weights-out for torch")
            safetensors_numpy.save_file({k: np.ascontiguousarray(v) for k, v in data["weights"].items()}, str(path))
            return "safetensors.torch.load_file, then load_state_dict"
        if target == "onnx":
            _onnx(data, path)
            return "onnx.load, or an onnxruntime InferenceSession"
        if target == "tf1":  # the names dynamic_rnn gives the cell's variables under its default scope
            scope = f"rnn/{TF1_SCOPES[data['layer']]}"
            np.savez(path, **{f"{scope}/{name}": value for name, value in data["weights"].items()})
            return f"each variable by its name under dynamic_rnn's scope: {scope}/kernel, ..."
        np.savez(path, *_keras_list(data))
        return "set_weights([d[f'arr_{k}'] for k in range(len(d))])"
    except OSError as exc:
        raise ScenarioError(f"cannot write {path}: {exc.strerror or exc}", Where(path, None, "--weights-out")) from None


def _keras_list(data: Mapping[str, Any]) -> list[np.ndarray]:
    """get_weights() order: each layer's kernel, recurrent_kernel, bias; a Bidirectional's forward layer first."""
    entries = data.get("layers", [data])
    return [np.asarray(value) for entry in entries for value in entry["weights"].values()]


def _onnx(data: Mapping[str, Any], path: Path) -> None:
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
