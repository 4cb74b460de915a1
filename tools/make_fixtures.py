"""Write tests/fixtures/<framework>/*.yaml from real framework runs.

Each fixture is a scenario (weights, inputs, the layer's own config) plus a
`reference` block holding what the framework itself returned and its version.
Tests read these files and never import a framework.

    # Keras 3 and Keras 2 need TensorFlow and tf_keras in their own virtualenv:
    python -m venv /tmp/tf && /tmp/tf/bin/pip install tensorflow tf-keras pyyaml
    /tmp/tf/bin/python tools/make_fixtures.py keras
    TF_USE_LEGACY_KERAS=1 /tmp/tf/bin/python tools/make_fixtures.py keras2

    # TF1 cells (tf.compat.v1.nn.rnn_cell + dynamic_rnn) need the legacy Keras:
    TF_USE_LEGACY_KERAS=1 /tmp/tf/bin/python tools/make_fixtures.py tf1

    # PyTorch (the CPU build):
    python -m venv /tmp/torch && /tmp/torch/bin/pip install torch==2.13.0 numpy pyyaml
    /tmp/torch/bin/python tools/make_fixtures.py torch

    # ONNX: onnxruntime computes what it supports (float32, layout 0); the onnx
    # package's reference evaluator gives float64 and layout 1 for plain nodes:
    python -m venv /tmp/onnx && /tmp/onnx/bin/pip install onnx onnxruntime pyyaml
    /tmp/onnx/bin/python tools/make_fixtures.py onnx

Running it again rewrites the fixtures; the random weights are seeded, so only
a framework change alters them.

The `mistakes-*` groups write tests/fixtures/mistakes/<framework>_<layer>_<mistake>[_<variant>].yaml:
a true scenario with its `reference` and a `student` answer carrying one known
hand-calculation mistake (SCENARIO.md's mistake ids). Both come from real runs: the
student's is the same framework run on transformed weights or options that make its
arithmetic the mistaken one (a gate pinned to exactly 1 or 0 by a ±1e4 bias, a bias
zeroed, gate blocks permuted, the other Keras version, ...). Each also holds per-step
states (`steps`) from the framework's cell API unrolled in a loop:

    /tmp/tf/bin/python tools/make_fixtures.py mistakes-keras     # Keras 3 (and tf_keras for hard_sigmoid)
    TF_USE_LEGACY_KERAS=1 /tmp/tf/bin/python tools/make_fixtures.py mistakes-keras2
    TF_USE_LEGACY_KERAS=1 /tmp/tf/bin/python tools/make_fixtures.py mistakes-tf1   # graph mode: its own process
    /tmp/torch/bin/python tools/make_fixtures.py mistakes-torch
    /tmp/onnx/bin/python tools/make_fixtures.py mistakes-onnx

The `gradients-*` groups write tests/fixtures/gradients/<framework>_<name>.yaml: a scenario
with a `backward` block (SCENARIO.md, "Gradients through time") and the framework's own
gradients of L (weights, inputs, initial state; per_step from its cell API in a loop). float64
cases are checked against central finite differences before they are written; ONNX stores
central finite differences of the onnx reference evaluator (onnxruntime has no gradients):

    /tmp/tf/bin/python tools/make_fixtures.py gradients-keras
    TF_USE_LEGACY_KERAS=1 /tmp/tf/bin/python tools/make_fixtures.py gradients-keras2
    TF_USE_LEGACY_KERAS=1 /tmp/tf/bin/python tools/make_fixtures.py gradients-tf1   # graph mode: its own process
    /tmp/torch/bin/python tools/make_fixtures.py gradients-torch
    /tmp/onnx/bin/python tools/make_fixtures.py gradients-onnx

The `models-onnx` group writes tests/fixtures/models/onnx_*.onnx (torch and tf2onnx exports, onnx.helper
models, hostile files) and their .onnx.npz (onnxruntime's outputs); each step runs where its package is:

    /tmp/torch/bin/python tools/make_fixtures.py models-onnx                       # export, build, hostile
    TF_USE_LEGACY_KERAS=1 /tmp/tf/bin/python tools/make_fixtures.py models-onnx    # onnx_keras via tf2onnx
    /tmp/onnx/bin/python tools/make_fixtures.py models-onnx                        # the .npz from onnxruntime

The `models-keras*` groups write Keras model files to tests/fixtures/models/ (keras3_*, tf_keras_*, each with
NAME.EXT.npz: every recurrent layer's own inputs and outputs from the framework) and hostile ones (keras_hostile_*):

    /tmp/tf/bin/python tools/make_fixtures.py models-keras                          # Keras 3, and the hostile files
    TF_USE_LEGACY_KERAS=1 /tmp/tf/bin/python tools/make_fixtures.py models-keras2   # tf_keras: its own process

The `models-torch` group writes tests/fixtures/models/torch*: state_dicts saved by torch.save (.pt, .pth,
.bin; zip and legacy formats; a checkpoint dict), the same weights as .safetensors, each NAME with a
NAME.npz of what each recurrent module received and returned; and hostile files (a pickle calling
os.system, exec or eval, a pickled nn.Module, TorchScript, sizes that lie) that must be refused unrun:

    /tmp/torch/bin/pip install safetensors
    /tmp/torch/bin/python tools/make_fixtures.py models-torch
"""

from __future__ import annotations

import argparse
import collections
import os
import sys
import zlib
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np
import yaml

OUT = Path(__file__).resolve().parent.parent / "tests" / "fixtures"
SEED_KERNEL = [[2, 1, 1, 0, 0, 0, 0, 1, 1, 0, 1, 0], [1, 1, 0, 1, 1, 0, 0, 1, 1, 0, 0, 0]]
SEED_RECURRENT = [
    [1, 0, 0, 1, 2, 1, 0, 1, 2, 0, 1, 0],
    [1, 1, 0, 0, 2, 1, 0, 1, 2, 2, 0, 0],
    [1, 0, 1, 2, 0, 1, 0, 1, 1, 0, 1, 0],
]
SEED_BIAS = [3, 1, 0, 1, 1, 0, 0, 1, 0, 2, 0, 0]
KERAS3_ACTIVATIONS = [
    "linear", "tanh", "sigmoid", "hard_sigmoid", "relu", "relu6", "elu", "selu", "softplus", "softsign",
    "exponential", "silu", "swish", "gelu", "leaky_relu", "mish", "log_sigmoid", "hard_silu", "hard_swish",
    "hard_tanh", "celu", "tanh_shrink", "squareplus", "soft_shrink", "hard_shrink", "sparse_plus",
    "sparse_sigmoid", "softmax",
]  # fmt: skip
KERAS2_ACTIVATIONS = [
    "linear", "tanh", "sigmoid", "hard_sigmoid", "relu", "relu6", "elu", "selu", "softplus", "softsign",
    "exponential", "silu", "swish", "gelu", "leaky_relu", "mish", "softmax",
]  # fmt: skip


def plain(value: Any) -> Any:
    """Numpy values as YAML-safe plain numbers; float32 values in their shortest exact digits."""
    if isinstance(value, np.ndarray):
        if value.dtype == np.float32:  # shortest digits that read back to the same float32
            value = np.vectorize(lambda v: float(str(np.float32(v))), otypes=[np.float64])(value)
        return [plain(v) for v in value] if value.ndim else plain(value.item())
    if isinstance(value, (list, tuple)):
        return [plain(v) for v in value]
    if isinstance(value, dict):
        return {k: plain(v) for k, v in value.items()}
    if isinstance(value, (np.floating, float)):
        f = float(value)
        return int(f) if f.is_integer() and abs(f) < 2**53 else f
    if isinstance(value, np.integer):
        return int(value)
    return value


def write(framework: str, name: str, scenario: dict[str, Any], reference: dict[str, Any]) -> None:
    folder = OUT / framework
    folder.mkdir(parents=True, exist_ok=True)
    body = dict(scenario)
    body["reference"] = reference
    text = yaml.safe_dump(plain(body), default_flow_style=None, sort_keys=False, width=100)
    (folder / f"{name}.yaml").write_text(f"# generated by tools/make_fixtures.py: {framework} {name}\n{text}")
    print(f"  {framework}/{name}.yaml")


def scenario_of(
    title: str,
    framework: str,
    layer: str,
    dtype: str,
    config: dict[str, Any],
    weights: dict[str, np.ndarray],
    initial: dict[str, np.ndarray],
    inputs: np.ndarray,
) -> dict[str, Any]:
    """A scenario in the contract's key order; initial_state only where one was given."""
    scenario: dict[str, Any] = {
        "title": title,
        "framework": framework,
        "layer": layer,
        "dtype": dtype,
        "config": config,
        "weights": weights,
    }
    if initial:
        scenario["initial_state"] = initial
    scenario["inputs"] = inputs
    return scenario


# --------------------------------------------------------------------------- keras
def keras_cases(version: int) -> Iterator[tuple[str, str, dict[str, Any], dict[str, Any]]]:
    """(name, layer, constructor kwargs, extra) for every case; extra holds dtype, initial_state, inputs."""
    yield "seed", "LSTM", {"units": 3, "activation": None, "recurrent_activation": None}, {"seed": 1}
    yield "seed_three_steps", "LSTM", {"units": 3, "activation": None, "recurrent_activation": None}, {"seed": 3}
    yield "defaults_ten_steps", "LSTM", {"units": 3}, {"inputs": np.arange(1, 21).reshape(1, 10, 2) / 1.0}
    yield "bundled_gru", "GRU", {"units": 2}, {"inputs": np.array([[[1, 0], [0, 1], [1, 1]]]), "round": 1}
    yield "bundled_simplernn", "SimpleRNN", {"units": 2}, {"inputs": np.array([[[1, 0], [0, 1], [1, 1]]]), "round": 1}
    names = KERAS3_ACTIVATIONS if version == 3 else KERAS2_ACTIVATIONS
    for act in names:
        # exponential feeds e^x into e^x, which soon overflows float32: keep it short and small
        extra = {"scale": 0.05, "steps": 2} if act == "exponential" else {"scale": 0.3}
        yield f"lstm_{act}", "LSTM", {"units": 3, "activation": act, "recurrent_activation": act}, extra
    for act in ("relu", "hard_sigmoid", "elu", "softsign"):
        yield f"gru_{act}", "GRU", {"units": 3, "activation": act, "recurrent_activation": act}, {}
        yield f"simplernn_{act}", "SimpleRNN", {"units": 3, "activation": act}, {}
    for layer in ("LSTM", "GRU", "SimpleRNN"):
        low = layer.lower()
        yield f"{low}_default", layer, {"units": 4}, {}
        yield f"{low}_go_backwards", layer, {"units": 3, "go_backwards": True}, {}
        yield f"{low}_initial_state", layer, {"units": 3}, {"initial_state": True}
        yield f"{low}_no_bias", layer, {"units": 3, "use_bias": False}, {}
        yield f"{low}_float64", layer, {"units": 3}, {"dtype": "float64"}
        yield (
            f"{low}_float64_backwards_state",
            layer,
            {"units": 2, "go_backwards": True},
            {
                "dtype": "float64",
                "initial_state": True,
            },
        )
    for reset_after in (True, False):
        tag = "after" if reset_after else "before"
        yield f"gru_reset_{tag}", "GRU", {"units": 3, "reset_after": reset_after}, {}
        yield f"gru_reset_{tag}_float64", "GRU", {"units": 2, "reset_after": reset_after}, {"dtype": "float64"}
        yield f"gru_reset_{tag}_no_bias", "GRU", {"units": 2, "reset_after": reset_after, "use_bias": False}, {}
        yield (
            f"gru_reset_{tag}_backwards_state",
            "GRU",
            {"units": 3, "reset_after": reset_after, "go_backwards": True},
            {"initial_state": True},
        )


def import_keras(version: int) -> Any:
    """Keras 3, or tf_keras (Keras 2) with TF_USE_LEGACY_KERAS set first, as TF1's cells need it."""
    if version == 2:
        os.environ["TF_USE_LEGACY_KERAS"] = "1"
        import tf_keras

        return tf_keras
    import keras

    return keras


def keras_fixtures(framework: str) -> None:
    version = 3 if framework == "keras" else 2
    keras = import_keras(version)
    print(f"{framework}: keras {keras.__version__}")
    for k, (name, layer_name, kwargs, extra) in enumerate(keras_cases(version)):
        dtype = extra.get("dtype", "float32")
        rng = np.random.default_rng(1000 + k)
        if "inputs" in extra:
            x = extra["inputs"].astype(dtype)
        elif extra.get("seed") == 1:
            x = np.array([[[1, 0]]], dtype)
        elif extra.get("seed") == 3:
            x = np.array([[[1, 2], [2, 3], [3, 4]]], dtype)
        else:
            x = rng.normal(size=(2, extra.get("steps", 4), 3)).astype(dtype)
        layer = getattr(keras.layers, layer_name)(**kwargs, return_sequences=True, return_state=True, dtype=dtype)
        layer.build(x.shape)
        if extra.get("seed"):
            weights = [np.array(SEED_KERNEL), np.array(SEED_RECURRENT), np.array(SEED_BIAS)]
        elif name == "defaults_ten_steps" or "round" in extra:
            digits = extra.get("round", 2)
            weights = [np.round(rng.uniform(-0.5, 0.5, size=w.shape), digits) for w in layer.get_weights()]
        else:
            scale = extra.get("scale", 0.6)
            weights = [rng.uniform(-scale, scale, size=w.shape) for w in layer.get_weights()]
        weights = [w.astype(dtype) for w in weights]
        layer.set_weights(weights)
        names = ["kernel", "recurrent_kernel", "bias"][: len(weights)]
        state_names = ["h0", "c0"] if layer_name == "LSTM" else ["h0"]
        initial: dict[str, np.ndarray] = {}
        call_kwargs: dict[str, Any] = {}
        if extra.get("initial_state"):
            units = kwargs["units"]
            initial = {n: rng.uniform(-1, 1, size=(x.shape[0], units)).astype(dtype) for n in state_names}
            call_kwargs["initial_state"] = [
                keras.ops.convert_to_tensor(initial[n]) if version == 3 else _tf_constant(initial[n])
                for n in state_names
            ]
        result = layer(x, **call_kwargs)
        outs = [np.asarray(r) for r in result]
        reference = {"framework": f"keras {keras.__version__}", "sequence": outs[0], "h": outs[1]}
        if layer_name == "LSTM":
            reference["c"] = outs[2]
        config = layer.get_config()
        scenario: dict[str, Any] = {
            "title": f"{framework} {layer_name} {name}",
            "framework": framework,
            "layer": layer_name,
            "dtype": dtype,
            "config": config,
            "weights": dict(zip(names, weights, strict=True)),
        }
        if initial:
            scenario["initial_state"] = initial
        scenario["inputs"] = x
        write(framework, name, scenario, reference)
    keras_more_fixtures(framework, keras, version)


def _tf_constant(array: np.ndarray) -> Any:
    import tensorflow as tf

    return tf.constant(array)


# --------------------------------------------------------------------------- torch
def torch_cases() -> Iterator[tuple[str, str, dict[str, Any], dict[str, Any]]]:
    """(name, module, constructor kwargs, extra); extra holds dtype, initial_state, batch, steps."""
    for layer in ("LSTM", "GRU", "RNN"):
        low = layer.lower()
        yield f"{low}_default", layer, {"hidden_size": 3}, {}
        yield f"{low}_no_bias", layer, {"hidden_size": 3, "bias": False}, {}
        yield f"{low}_two_layers", layer, {"hidden_size": 3, "num_layers": 2}, {}
        yield f"{low}_bidirectional", layer, {"hidden_size": 3, "bidirectional": True}, {}
        yield f"{low}_initial_state", layer, {"hidden_size": 3}, {"initial_state": True}
        yield f"{low}_float64", layer, {"hidden_size": 3}, {"dtype": "float64"}
        yield f"{low}_batch_first", layer, {"hidden_size": 2, "batch_first": True}, {}
        yield (
            f"{low}_deep_bidirectional_state_float64",
            layer,
            {"hidden_size": 2, "num_layers": 2, "bidirectional": True},
            {"dtype": "float64", "initial_state": True},
        )
    yield "rnn_relu", "RNN", {"hidden_size": 3, "nonlinearity": "relu"}, {}
    yield "rnn_relu_bidirectional", "RNN", {"hidden_size": 3, "nonlinearity": "relu", "bidirectional": True}, {}
    yield "lstm_proj", "LSTM", {"hidden_size": 4, "proj_size": 2}, {}
    yield "lstm_proj_state", "LSTM", {"hidden_size": 4, "proj_size": 2}, {"initial_state": True}
    yield (
        "lstm_two_layer_bidirectional_proj",
        "LSTM",
        {"hidden_size": 4, "num_layers": 2, "bidirectional": True, "proj_size": 3},
        {},
    )
    yield (
        "lstm_two_layer_bidirectional_proj_float64_state",
        "LSTM",
        {"hidden_size": 4, "num_layers": 2, "bidirectional": True, "proj_size": 3, "bias": False, "batch_first": True},
        {"dtype": "float64", "initial_state": True},
    )
    yield "lstm_unbatched", "LSTM", {"hidden_size": 3}, {"batch": 0}
    yield "lstm_long", "LSTM", {"hidden_size": 5, "num_layers": 3}, {"steps": 12, "batch": 3}


def torch_fixtures(framework: str) -> None:
    import torch

    print(f"torch {torch.__version__}")
    torch.manual_seed(0)
    for k, (name, layer_name, kwargs, extra) in enumerate(torch_cases()):
        dtype = extra.get("dtype", "float32")
        tdtype = getattr(torch, dtype)
        rng = np.random.default_rng(2000 + k)
        batch, steps, features = extra.get("batch", 2), extra.get("steps", 4), 3
        module = getattr(torch.nn, layer_name)(input_size=features, **kwargs).to(tdtype)
        state = {}
        with torch.no_grad():
            for pname, param in module.named_parameters():
                value = rng.uniform(-0.6, 0.6, size=tuple(param.shape)).astype(dtype)
                param.copy_(torch.from_numpy(value))
                state[pname] = value
        x = rng.normal(size=(max(batch, 1), steps, features)).astype(dtype)
        directions = 2 if kwargs.get("bidirectional") else 1
        layers = kwargs.get("num_layers", 1)
        hidden = kwargs["hidden_size"]
        out = kwargs.get("proj_size", 0) or hidden
        initial: dict[str, np.ndarray] = {}
        if extra.get("initial_state"):
            initial["h0"] = rng.uniform(-1, 1, size=(layers * directions, batch, out)).astype(dtype)
            if layer_name == "LSTM":
                initial["c0"] = rng.uniform(-1, 1, size=(layers * directions, batch, hidden)).astype(dtype)
        if batch == 0:  # torch's unbatched form: x (T, F)
            xt = torch.from_numpy(x[0])
        else:
            xt = torch.from_numpy(x if kwargs.get("batch_first") else x.transpose(1, 0, 2).copy())
        args: list[Any] = [xt]
        if initial:
            h0 = torch.from_numpy(initial["h0"])
            args.append((h0, torch.from_numpy(initial["c0"])) if layer_name == "LSTM" else h0)
        with torch.no_grad():
            output, hn = module(*args)
        if batch == 0:
            seq = output.numpy()[None]
        else:
            seq = output.numpy() if kwargs.get("batch_first") else output.numpy().transpose(1, 0, 2)
        reference: dict[str, Any] = {"framework": f"torch {torch.__version__}", "sequence": seq}
        if layer_name == "LSTM":
            h_n, c_n = hn
            reference["h"], reference["c"] = h_n.numpy(), c_n.numpy()
        else:
            reference["h"] = hn.numpy()
        if batch == 0:
            reference["h"] = reference["h"][:, None, :]
            if "c" in reference:
                reference["c"] = reference["c"][:, None, :]
        scenario: dict[str, Any] = {
            "title": f"torch nn.{layer_name} {name}",
            "framework": "torch",
            "layer": layer_name,
            "dtype": dtype,
            "config": {"input_size": features, **kwargs},
            "weights": {f"rnn.{key}": value for key, value in state.items()},
        }
        if initial:
            scenario["initial_state"] = initial
        scenario["inputs"] = x[0] if batch == 0 else x
        write("torch", name, scenario, reference)
    torch_cell_and_packed_fixtures(torch)
    torch_state_dict_fixtures(torch)


def torch_more_cases() -> Iterator[tuple[str, str, dict[str, Any], dict[str, Any]]]:
    """(name, layer, constructor kwargs, extra): nn.*Cell stepped by a Python loop, and inputs packed by
    pack_padded_sequence and padded back by pad_packed_sequence. extra holds dtype, initial_state, batch (0: one
    unbatched sequence), steps, and for a packed input lengths, enforce_sorted, total_length."""
    yield "lstmcell_loop", "LSTMCell", {"hidden_size": 3}, {}
    yield "lstmcell_state_float64", "LSTMCell", {"hidden_size": 2}, {"dtype": "float64", "initial_state": True}
    yield "lstmcell_unbatched_state", "LSTMCell", {"hidden_size": 3}, {"batch": 0, "initial_state": True}
    yield "grucell_loop", "GRUCell", {"hidden_size": 3}, {}
    yield "grucell_no_bias_state", "GRUCell", {"hidden_size": 2, "bias": False}, {"initial_state": True}
    yield "rnncell_loop", "RNNCell", {"hidden_size": 3}, {}
    yield "rnncell_relu_float64", "RNNCell", {"hidden_size": 3, "nonlinearity": "relu"}, {"dtype": "float64"}
    packed = {"batch": 3, "steps": 5, "lengths": [5, 3, 2]}
    unsorted = {"batch": 3, "steps": 5, "lengths": [3, 5, 2], "enforce_sorted": False}
    deep = {"hidden_size": 2, "num_layers": 2, "bidirectional": True}
    yield "lstm_packed", "LSTM", {"hidden_size": 3}, packed
    yield "lstm_packed_unsorted_state", "LSTM", {"hidden_size": 3}, unsorted | {"initial_state": True}
    yield "lstm_packed_bidirectional", "LSTM", {"hidden_size": 3, "bidirectional": True}, unsorted
    yield (
        "lstm_packed_deep_bidirectional_state_float64",
        "LSTM",
        deep,
        unsorted | {"dtype": "float64", "initial_state": True},
    )
    yield (
        "lstm_packed_total_length",
        "LSTM",
        {"hidden_size": 3, "batch_first": True},
        {"steps": 5, "lengths": [3, 2], "total_length": 6},
    )
    yield (
        "lstm_packed_shorter_than_inputs",
        "LSTM",
        {"hidden_size": 3, "bidirectional": True},
        {"steps": 5, "lengths": [2, 3], "enforce_sorted": False},
    )
    yield "lstm_packed_proj_bidirectional", "LSTM", {"hidden_size": 4, "proj_size": 2, "bidirectional": True}, unsorted
    yield "gru_packed_bidirectional", "GRU", {"hidden_size": 3, "bidirectional": True}, unsorted
    yield "gru_packed_two_layers_state", "GRU", {"hidden_size": 3, "num_layers": 2}, packed | {"initial_state": True}
    yield "gru_packed_deep_bidirectional_float64", "GRU", deep, unsorted | {"dtype": "float64"}
    yield (
        "rnn_packed_relu_bidirectional",
        "RNN",
        {"hidden_size": 3, "nonlinearity": "relu", "bidirectional": True},
        (unsorted),
    )


def packing_config(extra: dict[str, Any], batch_first: bool) -> dict[str, Any]:
    """config.pack_padded_sequence (and pad_packed_sequence) as the scenario writes the two calls' arguments."""
    pack: dict[str, Any] = {"lengths": extra["lengths"], "batch_first": batch_first}
    if "enforce_sorted" in extra:
        pack["enforce_sorted"] = extra["enforce_sorted"]
    config = {"pack_padded_sequence": pack}
    if "total_length" in extra:
        config["pad_packed_sequence"] = {"total_length": extra["total_length"]}
    return config


def run_torch_packed(torch: Any, module: Any, x: Any, hx: Any, extra: dict[str, Any], batch_first: bool) -> tuple:
    """(output padded back, h_n or (h_n, c_n)): pack_padded_sequence, the module, pad_packed_sequence."""
    from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

    packed = pack_padded_sequence(
        x, extra["lengths"], batch_first=batch_first, enforce_sorted=extra.get("enforce_sorted", True)
    )
    output, state = module(packed, hx) if hx is not None else module(packed)
    padded, _ = pad_packed_sequence(output, batch_first=batch_first, total_length=extra.get("total_length"))
    return padded, state


def run_torch_cell_loop(cell: Any, x: Any, h: Any, c: Any) -> tuple[Any, Any, Any]:
    """The loop tutorials write: h, c = cell(x[:, t], (h, c)) for every t; (stacked h, last h, last c or None)."""
    outputs = []
    for t in range(x.shape[-2]):
        xt = x[..., t, :]
        if c is not None:
            h, c = cell(xt, (h, c))
        else:
            h = cell(xt, h)
        outputs.append(h)
    return torch_stack(outputs), h, c


def torch_stack(outputs: list[Any]) -> Any:
    import torch

    return torch.stack(outputs, dim=-2)  # (B, T, H), or (T, H) for an unbatched sequence


def torch_cell_and_packed_fixtures(torch: Any) -> None:
    for name, layer_name, kwargs, extra in torch_more_cases():
        dtype = extra.get("dtype", "float32")
        tdtype = getattr(torch, dtype)
        rng = np.random.default_rng(zlib.crc32(f"torch {name}".encode()))
        batch, steps, features = extra.get("batch", 2), extra.get("steps", 4), 3
        module = getattr(torch.nn, layer_name)(features, **kwargs).to(tdtype)
        state = {}
        with torch.no_grad():
            for pname, param in module.named_parameters():
                value = rng.uniform(-0.6, 0.6, size=tuple(param.shape)).astype(dtype)
                param.copy_(torch.from_numpy(value))
                state[pname] = value
        x = rng.normal(size=(max(batch, 1), steps, features)).astype(dtype)
        cell = layer_name.endswith("Cell")
        directions = 2 if kwargs.get("bidirectional") else 1
        layers = kwargs.get("num_layers", 1)
        hidden = kwargs["hidden_size"]
        out = kwargs.get("proj_size", 0) or hidden
        lstm = layer_name.startswith("LSTM")
        initial: dict[str, np.ndarray] = {}
        if extra.get("initial_state"):
            lead = (batch,) if cell else (layers * directions, batch)
            lead = lead[:-1] if batch == 0 else lead  # an unbatched cell's h is (H,)
            initial["h0"] = rng.uniform(-1, 1, size=(*lead, out)).astype(dtype)
            if lstm:
                initial["c0"] = rng.uniform(-1, 1, size=(*lead, hidden)).astype(dtype)
        given = {k: torch.from_numpy(v) for k, v in initial.items()}
        config: dict[str, Any] = {"input_size": features, **kwargs}
        with torch.no_grad():
            if cell:
                xt = torch.from_numpy(x[0] if batch == 0 else x)
                shape = (hidden,) if batch == 0 else (batch, hidden)
                zeros = torch.zeros(shape, dtype=tdtype)
                h0, c0 = given.get("h0", zeros), given.get("c0", zeros) if lstm else None
                seq_t, h_t, c_t = run_torch_cell_loop(module, xt, h0, c0)
                seq, h_n = seq_t.numpy(), h_t.numpy()
                c_n = None if c_t is None else c_t.numpy()
                if batch == 0:
                    seq, h_n, c_n = seq[None], h_n[None], None if c_n is None else c_n[None]
            else:
                batch_first = kwargs.get("batch_first", False)
                xt = torch.from_numpy(x if batch_first else x.transpose(1, 0, 2).copy())
                hx = None
                if given:
                    hx = (given["h0"], given["c0"]) if lstm else given["h0"]
                padded, hn = run_torch_packed(torch, module, xt, hx, extra, batch_first)
                seq = padded.numpy() if batch_first else padded.numpy().transpose(1, 0, 2)
                h_n, c_n = (hn[0].numpy(), hn[1].numpy()) if lstm else (hn.numpy(), None)
                config.update(packing_config(extra, batch_first))
        reference: dict[str, Any] = {"framework": f"torch {torch.__version__}", "sequence": seq, "h": h_n}
        if c_n is not None:
            reference["c"] = c_n
        prefix = "cell" if cell else "rnn"
        title = f"torch nn.{layer_name} {name}"
        weights = {f"{prefix}.{key}": value for key, value in state.items()}
        scenario = scenario_of(title, "torch", layer_name, dtype, config, weights, initial, x[0] if batch == 0 else x)
        write("torch", name, scenario, reference)


# the attributes each recurrent module of torch_model prints (its __constants__ but mode), as a user pastes them
TORCH_MODEL = {
    "lstm": {"input_size": 3, "hidden_size": 4, "num_layers": 1, "bias": True, "batch_first": True, "dropout": 0.0,
             "bidirectional": False, "proj_size": 0},
    "gru": {"input_size": 4, "hidden_size": 3, "num_layers": 1, "bias": True, "batch_first": True, "dropout": 0.0,
            "bidirectional": True, "proj_size": 0},
}  # fmt: skip


def torch_model(torch: Any) -> Any:
    """A model with two recurrent modules and a head: an nn.LSTM, an nn.GRU reading its outputs, an nn.Linear."""
    nn = torch.nn

    class Model(nn.Module):  # type: ignore[misc]
        def __init__(self) -> None:
            super().__init__()
            self.lstm = nn.LSTM(3, 4, batch_first=True)
            self.gru = nn.GRU(4, 3, batch_first=True, bidirectional=True)
            self.head = nn.Linear(6, 2)

        def forward(self, x: Any) -> Any:
            return self.head(self.gru(self.lstm(x)[0])[0])

    model = Model()
    for name, printed in TORCH_MODEL.items():
        module = getattr(model, name)
        assert printed == {k: getattr(module, k) for k in module.__constants__ if k != "mode"}, name
    return model


def torch_state_dict_fixtures(torch: Any) -> None:
    """The whole state_dict of torch_model, traced module by module with `module:`; each module's config is the
    attributes it prints, proj_size: 0 included."""
    rng = np.random.default_rng(zlib.crc32(b"torch model state_dict"))
    model = torch_model(torch)
    with torch.no_grad():
        for param in model.parameters():
            param.copy_(torch.from_numpy(rng.uniform(-0.6, 0.6, size=tuple(param.shape)).astype("float32")))
    state = {key: value.numpy() for key, value in model.state_dict().items()}
    x = torch.from_numpy(rng.normal(size=(2, 4, 3)).astype("float32"))
    with torch.no_grad():
        below = x
        for name in ("lstm", "gru"):
            module = getattr(model, name)
            output, hn = module(below)
            h_n, c_n = hn if name == "lstm" else (hn, None)
            reference: dict[str, Any] = {"framework": f"torch {torch.__version__}", "sequence": output.numpy(),
                                         "h": h_n.numpy()}  # fmt: skip
            if c_n is not None:
                reference["c"] = c_n.numpy()
            scenario = scenario_of(
                f"torch model.state_dict(), module {name}", "torch", type(module).__name__, "float32", TORCH_MODEL[name],
                state, {}, below.numpy(),
            )  # fmt: skip
            scenario = {**{k: v for k, v in scenario.items() if k not in ("weights", "inputs")}, "module": name,
                        "weights": state, "inputs": scenario["inputs"]}  # fmt: skip
            write("torch", f"state_dict_module_{name}", scenario, reference)
            below = output


# --------------------------------------------------------------------------- tf1
def tf1_cases() -> Iterator[tuple[str, str, dict[str, Any], dict[str, Any]]]:
    """(name, cell, cell kwargs, extra); extra holds dtype, initial_state, sequence_length, time_major, sizes."""
    peep_clip = {"use_peepholes": True, "cell_clip": 0.4}
    for cell in ("BasicLSTMCell", "LSTMCell", "GRUCell", "BasicRNNCell"):
        low = cell.lower()
        yield f"{low}_default", cell, {"num_units": 3}, {}
        yield f"{low}_float64", cell, {"num_units": 3}, {"dtype": "float64"}
        yield f"{low}_initial_state", cell, {"num_units": 3}, {"initial_state": True}
        yield f"{low}_sequence_length", cell, {"num_units": 3}, {"sequence_length": [4, 2, 0]}
        yield f"{low}_time_major", cell, {"num_units": 2}, {"time_major": True}
        yield f"{low}_relu", cell, {"num_units": 3, "activation": "relu"}, {}
    yield "basiclstmcell_forget_bias_0", "BasicLSTMCell", {"num_units": 3, "forget_bias": 0.0}, {}
    yield "basiclstmcell_forget_bias_2_5", "BasicLSTMCell", {"num_units": 3, "forget_bias": 2.5}, {}
    yield "lstmcell_peepholes", "LSTMCell", {"num_units": 3, "use_peepholes": True}, {}
    yield "lstmcell_cell_clip", "LSTMCell", {"num_units": 3, "cell_clip": 0.15}, {"scale": 1.2}
    yield "lstmcell_num_proj", "LSTMCell", {"num_units": 4, "num_proj": 2}, {}
    yield "lstmcell_proj_clip", "LSTMCell", {"num_units": 4, "num_proj": 2, "proj_clip": 0.1}, {"scale": 1.2}
    yield (
        "lstmcell_peepholes_clip_sequence_length",
        "LSTMCell",
        peep_clip | {"num_units": 3},
        {"sequence_length": [4, 1, 3], "scale": 1.2},
    )
    yield (
        "lstmcell_everything_float64",
        "LSTMCell",
        peep_clip | {"num_units": 4, "num_proj": 3, "proj_clip": 0.2, "forget_bias": 0.5},
        {"sequence_length": [2, 4, 3], "initial_state": True, "dtype": "float64", "scale": 1.2},
    )
    yield (
        "lstmcell_everything_time_major",
        "LSTMCell",
        peep_clip | {"num_units": 4, "num_proj": 3},
        {"sequence_length": [3, 4, 1], "initial_state": True, "time_major": True, "scale": 1.2},
    )
    yield "seed000", "BasicLSTMCell", {"num_units": 20}, {"batch": 5, "steps": 7, "features": 30, "scale": 0.3}


def tf1_fixtures(framework: str) -> None:
    os.environ["TF_USE_LEGACY_KERAS"] = "1"
    import tensorflow as tf

    tf.compat.v1.disable_eager_execution()
    print(f"tf1: tensorflow {tf.__version__}")
    for k, (name, cell_name, kwargs, extra) in enumerate(tf1_cases()):
        dtype = extra.get("dtype", "float32")
        rng = np.random.default_rng(3000 + k)
        batch, steps, features = extra.get("batch", 3), extra.get("steps", 4), extra.get("features", 2)
        x = rng.normal(size=(batch, steps, features)).astype(dtype)
        units = kwargs["num_units"]
        out = kwargs.get("num_proj") or units
        is_lstm = "LSTM" in cell_name
        initial: dict[str, np.ndarray] = {}
        if extra.get("initial_state"):
            if is_lstm:
                initial["c0"] = rng.uniform(-1, 1, size=(batch, units)).astype(dtype)
            initial["h0"] = rng.uniform(-1, 1, size=(batch, out)).astype(dtype)
        graph = tf.Graph()
        with graph.as_default():
            cell_kwargs = dict(kwargs)
            if "activation" in cell_kwargs:
                cell_kwargs["activation"] = getattr(tf.nn, cell_kwargs["activation"])
            cell = getattr(tf.compat.v1.nn.rnn_cell, cell_name)(**cell_kwargs)
            time_major = bool(extra.get("time_major"))
            inputs = tf.constant(x.transpose(1, 0, 2) if time_major else x)
            rnn_kwargs: dict[str, Any] = {"dtype": getattr(tf, dtype), "time_major": time_major}
            if "sequence_length" in extra:
                rnn_kwargs["sequence_length"] = extra["sequence_length"]
            if initial:
                if is_lstm:
                    rnn_kwargs["initial_state"] = tf.compat.v1.nn.rnn_cell.LSTMStateTuple(
                        tf.constant(initial["c0"]), tf.constant(initial["h0"])
                    )
                else:
                    rnn_kwargs["initial_state"] = tf.constant(initial["h0"])
            output, state = tf.compat.v1.nn.dynamic_rnn(cell, inputs, **rnn_kwargs)
            with tf.compat.v1.Session(graph=graph) as session:
                session.run(tf.compat.v1.global_variables_initializer())
                weights: dict[str, np.ndarray] = {}
                scale = extra.get("scale", 0.6)
                for variable in tf.compat.v1.global_variables():
                    value = rng.uniform(-scale, scale, size=tuple(variable.shape)).astype(dtype)
                    variable.load(value, session)
                    weights[variable.name] = value
                seq, final = session.run([output, state])
        if time_major:
            seq = seq.transpose(1, 0, 2)
        reference: dict[str, Any] = {"framework": f"tensorflow {tf.__version__}", "sequence": seq}
        if is_lstm:
            reference["h"], reference["c"] = final.h, final.c
        else:
            reference["h"] = final
        config: dict[str, Any] = dict(kwargs)
        rnn: dict[str, Any] = {}
        if "sequence_length" in extra:
            rnn["sequence_length"] = extra["sequence_length"]
        if time_major:
            rnn["time_major"] = True
        if rnn:
            config["dynamic_rnn"] = rnn
        scenario = scenario_of(f"tf1 {cell_name} {name}", "tf1", cell_name, dtype, config, weights, initial, x)
        write("tf1", name, scenario, reference)


# --------------------------------------------------------------------------- onnx
ONNX_INPUTS = {  # the node's inputs in the operator's order
    "LSTM": ("X", "W", "R", "B", "sequence_lens", "initial_h", "initial_c", "P"),
    "GRU": ("X", "W", "R", "B", "sequence_lens", "initial_h"),
    "RNN": ("X", "W", "R", "B", "sequence_lens", "initial_h"),
}
ONNX_GATES = {"LSTM": 4, "GRU": 3, "RNN": 1}


def onnx_cases() -> Iterator[tuple[str, str, dict[str, Any], dict[str, Any]]]:
    """(name, operator, attributes, extra); extra: bias, peepholes, initial_state, lens, dtype, evaluator."""
    for op in ("LSTM", "GRU", "RNN"):
        low = op.lower()
        yield f"{low}_default", op, {}, {}
        yield f"{low}_no_bias", op, {}, {"bias": False}
        yield f"{low}_bidirectional", op, {"direction": "bidirectional"}, {}
        yield f"{low}_reverse", op, {"direction": "reverse"}, {}
        yield f"{low}_initial_state", op, {}, {"initial_state": True}
        yield f"{low}_clip", op, {"clip": 0.3}, {"scale": 1.5}
        yield f"{low}_sequence_lens", op, {}, {"lens": [2, 4, 0], "initial_state": True}
        yield (
            f"{low}_bidirectional_sequence_lens",
            op,
            {"direction": "bidirectional"},
            {"lens": [3, 1, 4], "initial_state": True},
        )
        yield f"{low}_float64", op, {}, {"dtype": "float64", "evaluator": "reference"}
        yield (
            f"{low}_bidirectional_state_float64",
            op,
            {"direction": "bidirectional"},
            {"dtype": "float64", "evaluator": "reference", "initial_state": True},
        )
        yield f"{low}_layout1", op, {"layout": 1}, {"evaluator": "reference", "initial_state": True}
    yield "lstm_peepholes", "LSTM", {}, {"peepholes": True}
    yield (
        "lstm_peepholes_bidirectional_state",
        "LSTM",
        {"direction": "bidirectional"},
        {"peepholes": True, "initial_state": True},
    )
    yield "lstm_input_forget", "LSTM", {"input_forget": 1}, {}
    yield (
        "lstm_input_forget_peepholes_clip",
        "LSTM",
        {"input_forget": 1, "clip": 0.4},
        {"peepholes": True, "scale": 1.5},
    )
    yield (
        "lstm_activations",
        "LSTM",
        {
            "activations": ["HardSigmoid", "LeakyRelu", "ScaledTanh"],
            "activation_alpha": [0.3, 0.1, 1.5],
            "activation_beta": [0.4, 0.7],
        },
        {},
    )
    yield (
        "lstm_activations_bidirectional",
        "LSTM",
        {
            "direction": "bidirectional",
            "activations": ["Sigmoid", "Affine", "Elu", "hardsigmoid", "Softsign", "Softplus"],
            "activation_alpha": [0.5, 0.8],
            "activation_beta": [0.25],
        },
        {},
    )
    yield "lstm_thresholded_relu_default", "LSTM", {"activations": ["Sigmoid", "ThresholdedRelu", "Relu"]}, {}
    yield "lstm_long", "LSTM", {"hidden_size": 5}, {"steps": 12, "batch": 3, "initial_state": True}
    yield "gru_linear_before_reset", "GRU", {"linear_before_reset": 1}, {}
    yield (
        "gru_linear_before_reset_bidirectional_clip",
        "GRU",
        {"linear_before_reset": 1, "direction": "bidirectional", "clip": 0.5},
        {"scale": 1.5},
    )
    yield (
        "gru_activations",
        "GRU",
        {"activations": ["HardSigmoid", "ScaledTanh"], "activation_alpha": [0.25, 1.2], "activation_beta": [0.5, 0.8]},
        {},
    )
    yield "rnn_relu", "RNN", {"activations": ["Relu"]}, {}
    yield (
        "rnn_affine_bidirectional",
        "RNN",
        {
            "direction": "bidirectional",
            "activations": ["Affine", "LeakyRelu"],
            "activation_alpha": [0.7, 0.2],
            "activation_beta": [0.1],
        },
        {},
    )


def _onnx_run(op: str, attrs: dict[str, Any], feeds: dict[str, np.ndarray], evaluator: str) -> dict[str, np.ndarray]:
    """Build a one-node model and run it with onnxruntime or the onnx package's reference evaluator."""
    from onnx import TensorProto, helper

    element = TensorProto.DOUBLE if feeds["X"].dtype == np.float64 else TensorProto.FLOAT
    names = list(ONNX_INPUTS[op])
    inputs = [n if n in feeds else "" for n in names]
    while inputs and not inputs[-1]:
        inputs.pop()
    outputs = ["Y", "Y_h", "Y_c"] if op == "LSTM" else ["Y", "Y_h"]
    node = helper.make_node(op, inputs, outputs, **attrs)

    def info(name: str) -> Any:
        kind = TensorProto.INT32 if name == "sequence_lens" else element
        return helper.make_tensor_value_info(name, kind, list(feeds[name].shape))

    graph = helper.make_graph(
        [node],
        "trace",
        [info(n) for n in inputs if n],
        [helper.make_tensor_value_info(n, element, None) for n in outputs],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 14)])
    model.ir_version = 8
    given = {n: feeds[n] for n in inputs if n}
    if evaluator == "reference":
        from onnx.reference import ReferenceEvaluator

        results = ReferenceEvaluator(model).run(None, given)
    else:
        import onnxruntime

        session = onnxruntime.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
        results = session.run(None, given)
    return dict(zip(outputs, results, strict=True))


def onnx_fixtures(framework: str) -> None:
    import onnx
    import onnxruntime

    print(f"onnx {onnx.__version__}, onnxruntime {onnxruntime.__version__}")
    for k, (name, op, attrs, extra) in enumerate(onnx_cases()):
        dtype = extra.get("dtype", "float32")
        evaluator = extra.get("evaluator", "onnxruntime")
        rng = np.random.default_rng(4000 + k)
        batch, steps, features = extra.get("batch", 3), extra.get("steps", 4), 2
        hidden = attrs.pop("hidden_size", 3)
        attrs = {"hidden_size": hidden, **attrs}
        dirs = 2 if attrs.get("direction") == "bidirectional" else 1
        layout = attrs.get("layout", 0)
        g, scale = ONNX_GATES[op], extra.get("scale", 0.6)
        weights = {
            "W": rng.uniform(-scale, scale, (dirs, g * hidden, features)).astype(dtype),
            "R": rng.uniform(-scale, scale, (dirs, g * hidden, hidden)).astype(dtype),
        }
        if extra.get("bias", True):
            weights["B"] = rng.uniform(-scale, scale, (dirs, 2 * g * hidden)).astype(dtype)
        if extra.get("peepholes"):
            weights["P"] = rng.uniform(-scale, scale, (dirs, 3 * hidden)).astype(dtype)
        x = (rng.normal(size=(batch, steps, features)) * (2 if scale > 1 else 1)).astype(dtype)
        initial: dict[str, np.ndarray] = {}
        if extra.get("initial_state"):
            shape = (dirs, batch, hidden) if layout == 0 else (batch, dirs, hidden)
            initial["initial_h"] = rng.uniform(-1, 1, shape).astype(dtype)
            if op == "LSTM":
                initial["initial_c"] = rng.uniform(-1, 1, shape).astype(dtype)
        feeds = {"X": x if layout else x.transpose(1, 0, 2).copy(), **weights, **initial}
        if "lens" in extra:
            feeds["sequence_lens"] = np.array(extra["lens"], np.int32)
        result = _onnx_run(op, attrs, feeds, evaluator)
        if evaluator == "reference":  # the reference evaluator ignores what it does not implement: prove it agrees here
            check = {key: value.astype(np.float32) for key, value in feeds.items() if key != "sequence_lens"}
            if layout:
                check["X"] = x.transpose(1, 0, 2).astype(np.float32)
                for key in initial:
                    check[key] = initial[key].transpose(1, 0, 2).astype(np.float32)
            runtime = _onnx_run(op, {**attrs, "layout": 0}, check, "onnxruntime")
            mine = result["Y_h"] if not layout else result["Y_h"].transpose(1, 0, 2)
            np.testing.assert_allclose(mine, runtime["Y_h"], rtol=1e-4, atol=1e-5, err_msg=name)
            version = f"onnx {onnx.__version__} reference evaluator"
        else:
            version = f"onnxruntime {onnxruntime.__version__}"
        reference: dict[str, Any] = {"framework": version, "sequence": result["Y"], "h": result["Y_h"]}
        if op == "LSTM":
            reference["c"] = result["Y_c"]
        config: dict[str, Any] = dict(attrs)
        if "lens" in extra:
            config["sequence_lens"] = extra["lens"]
        scenario = scenario_of(f"ONNX {op} {name}", "onnx", op, dtype, config, weights, initial, x)
        write("onnx", name, scenario, reference)


# --------------------------------------------------------------------------- mistakes
# A student's hand-worked answer with one known mistake, computed by the real framework: the
# student's numbers are what the framework returns for TRANSFORMED weights or options that make
# its own arithmetic equal the mistaken one (a gate pinned to exactly 1 or 0, a bias zeroed,
# gate blocks permuted, ...). The scenario keeps the true layer. Per-step states come from the
# framework's cell API unrolled in a Python loop, checked against the layer's final state.
PIN = 1e4  # a sigmoid gate with zero weights and bias +1e4 is exactly 1 (−1e4: exactly 0), float32 and float64
GATE_ORDERS = {  # each framework's stored gate blocks in canonical names (g, n: the candidate)
    "keras": {"LSTM": "ifgo", "GRU": "zrn"},
    "tf1": {"LSTM": "igfo"},
    "torch": {"LSTM": "ifgo", "GRU": "rzn"},
    "onnx": {"LSTM": "iofg", "GRU": "zrn"},
}
Weights = dict[str, np.ndarray]


class Change(NamedTuple):
    """How the student's weights are made from the true ones (order: the true gate letters; axis: the gate axis)."""

    apply: Callable[[Weights, str, int], Weights]
    how: str


class Mistake(NamedTuple):
    """One fixture: the true layer, and how a real run of the same framework reproduces the mistake."""

    name: str
    layer: str
    mistake: str
    config: dict[str, Any]  # the true layer's constructor arguments / cell kwargs / node attributes
    change: Change | None = None  # applied to the true weights for the student's run
    student_config: dict[str, Any] | None = None  # overrides for the student's run
    how: str = ""  # the sentence for what student_config (or another run) does
    dtype: str = "float32"
    scale: float = 0.6
    batch: int = 1
    steps: int = 4
    features: int = 2
    initial_state: bool = False
    read_as: str = ""
    other_version: bool = False  # keras: the student's run is the other Keras version
    seed: int = 0  # added to the name's seed, to pick other weights


def _block(shape: tuple[int, ...], axis: int, count: int, k: int) -> tuple[slice, ...]:
    index = [slice(None)] * len(shape)
    size = shape[axis] // count
    index[axis] = slice(k * size, (k + 1) * size)
    return tuple(index)


def _copy(weights: Weights) -> Weights:
    return {n: w.copy() for n, w in weights.items()}


def pinned(gate: str, value: float) -> Change:
    """Gate `gate` exactly 1 (value +PIN) or 0 (−PIN): its blocks zeroed, the first bias's block set to value."""

    def apply(weights: Weights, order: str, axis: int) -> Weights:
        out = _copy(weights)
        k = order.index(gate)
        for w in out.values():
            w[_block(w.shape, axis, len(order), k)] = 0
        first_bias = next(w for n, w in out.items() if "bias" in n)
        first_bias[_block(first_bias.shape, axis, len(order), k)] = value
        return out

    result = "1" if value > 0 else "0"
    return Change(
        apply,
        f"{gate}'s blocks zeroed in every weight and bias, then {value:+g} in one bias, so {gate} = {result} exactly",
    )


def zeroed(part: str) -> Change:
    """Every weight whose name holds `part` set to zero."""

    def apply(weights: Weights, order: str, axis: int) -> Weights:
        return {n: np.zeros_like(w) if part in n else w.copy() for n, w in weights.items()}

    return Change(apply, f"every stored {part} set to zero")


def permuted(read_as: str) -> Change:
    """Gate X gets the stored block that `read_as`'s order puts at X's position."""

    def apply(weights: Weights, order: str, axis: int) -> Weights:
        other = GATE_ORDERS[read_as]["LSTM" if len(order) == 4 else "GRU"]
        source = [other.index(g) for g in order]
        out = {}
        for n, w in weights.items():
            blocks = [w[_block(w.shape, axis, len(order), k)] for k in range(len(order))]
            out[n] = np.concatenate([blocks[s] for s in source], axis=axis)
        return out

    return Change(
        apply, f"its stored gate blocks permuted so that each gate gets the block {read_as}'s order puts there"
    )


def negated(gate: str) -> Change:
    """Gate `gate`'s blocks (kernels and biases) negated: σ(−x) = 1 − σ(x)."""

    def apply(weights: Weights, order: str, axis: int) -> Weights:
        out = _copy(weights)
        for w in out.values():
            index = _block(w.shape, axis, len(order), order.index(gate))
            w[index] = -w[index]
        return out

    return Change(apply, f"{gate}'s blocks and biases negated, so its {gate} is 1 − the true {gate}")


def recurrent_transposed() -> Change:
    """Every H×H block of the recurrent weight transposed in place."""

    def apply(weights: Weights, order: str, axis: int) -> Weights:
        out = _copy(weights)
        for n, w in out.items():
            if "recurrent_kernel" in n or "weight_hh" in n:
                for k in range(len(order)):
                    index = _block(w.shape, axis, len(order), k)
                    w[index] = w[index].T.copy()
        return out

    return Change(apply, "every H×H block of the recurrent weight transposed")


def gru_bias_rows(merge: bool) -> Change:
    """Keras GRU: (2, 3U) bias → input + recurrent row (merge), or (3U) bias → [bias; zeros]."""

    def apply(weights: Weights, order: str, axis: int) -> Weights:
        out = _copy(weights)
        b = out["bias"]
        out["bias"] = b.sum(axis=0) if merge else np.stack([b, np.zeros_like(b)])
        return out

    text = "bias = input bias + recurrent bias" if merge else "bias rows [bias; zeros]"
    return Change(apply, text)


def _differs(reference: dict[str, Any], student: dict[str, Any], case: Mistake) -> None:
    """The student's answer must differ from the truth by more than 1e-3 at some step ≥ 2."""
    if case.mistake == "reversed_sequence":  # same states, the sequence read in the other order
        gap = float(np.max(np.abs(np.asarray(reference["sequence"]) - np.asarray(student["sequence"]))))
    else:
        steps = reference["steps"]
        gap = max(float(np.max(np.abs(np.array(steps[k][1:]) - np.array(student["steps"][k][1:])))) for k in steps)
    assert gap > 1e-3, f"{case.name}: the student's answer equals the truth (gap {gap:.2g})"


def _same_state(loop: np.ndarray, layer: np.ndarray, dtype: str, what: str) -> None:
    """The cell unrolled in a loop ends where the layer does."""
    tol = 1e-6 if dtype == "float32" else 1e-13
    np.testing.assert_allclose(loop, layer, rtol=tol, atol=tol, err_msg=what)


def write_mistake(
    name: str, scenario: dict[str, Any], reference: dict[str, Any], student: dict[str, Any], case: Mistake
) -> None:
    _differs(reference, student, case)
    folder = OUT / "mistakes"
    folder.mkdir(parents=True, exist_ok=True)
    lead = {"mistake": case.mistake, **({"read_as": case.read_as} if case.read_as else {})}
    body = {**scenario, "reference": reference, "student": {**lead, **student}}
    text = yaml.safe_dump(plain(body), default_flow_style=None, sort_keys=False, width=100, allow_unicode=True)
    header = f"# generated by tools/make_fixtures.py: mistakes {name}\n"
    (folder / f"{name}.yaml").write_text(header + text, encoding="utf-8")
    print(f"  mistakes/{name}.yaml")


def _rng(case: Mistake) -> np.random.Generator:
    return np.random.default_rng(zlib.crc32(case.name.encode()) + case.seed)


WHY = {  # what each student's run computes, in the words of the mistake
    "output_gate_left_out": "h = act(c), the output gate left out",
    "cell_activation_left_out": "h = o ⊙ c, the activation of c left out",
    "activation_left_out": "the gates are their own pre-activations",
    "activation_where_linear": "σ / tanh applied where the layer is linear",
    "hard_sigmoid_version": "the other Keras version's hard_sigmoid",
    "forget_term_left_out": "c = i ⊙ g, the forget term left out",
    "input_gate_left_out": "c = f ⊙ c_prev + g, the input gate left out",
    "bias_left_out": "the layer computed without its bias",
    "forget_bias_left_out": "TF1's run-time forget_bias left out",
    "one_bias_left_out": "only one of torch's two biases used",
    "gate_order": "the stored gate blocks read in another framework's order",
    "kernel_transposed": "the recurrent weight's blocks read transposed",
    "gru_update_swapped": "z and 1 − z swapped in the new h",
    "gru_reset_placement": "the reset gate applied on the other side of the recurrent product",
    "reversed_sequence": "the reverse direction's outputs read in the other time order",
}


def _how(case: Mistake, run: str) -> str:
    if case.how:
        detail = case.how
    else:
        assert case.change is not None
        detail = f"with {case.change.how}"
    return f"{run} run on the same inputs {detail}: {WHY[case.mistake]}."


# keras ---------------------------------------------------------------------------------------
def keras_mistakes(version: int) -> Iterator[Mistake]:
    # fmt: off
    lstm3, gru3 = {"units": 3}, {"units": 3}
    two = "with the same weights and options (its hard_sigmoid is clip(0.2x + 1/2, 0, 1), not clip(x/6 + 1/2, 0, 1))"
    three = "with the same weights and options (its hard_sigmoid is clip(x/6 + 1/2, 0, 1), not clip(0.2x + 1/2, 0, 1))"
    if version == 2:
        yield Mistake("keras2_lstm_hard_sigmoid_version", "LSTM", "hard_sigmoid_version",
                      {"units": 3, "recurrent_activation": "hard_sigmoid"}, other_version=True, scale=1.5,
                      how=three)
        yield Mistake("keras2_gru_hard_sigmoid_version", "GRU", "hard_sigmoid_version",
                      {"units": 2, "recurrent_activation": "hard_sigmoid"}, other_version=True, scale=1.5,
                      batch=2, features=3, how=three)
        yield Mistake("keras2_lstm_forget_term_left_out", "LSTM", "forget_term_left_out", lstm3,
                      pinned("f", -PIN), initial_state=True)
        yield Mistake("keras2_lstm_gate_order", "LSTM", "gate_order", lstm3, permuted("onnx"), read_as="onnx")
        return
    yield Mistake("keras_lstm_output_gate_left_out", "LSTM", "output_gate_left_out", lstm3, pinned("o", PIN))
    yield Mistake("keras_lstm_output_gate_left_out_float64", "LSTM", "output_gate_left_out", {"units": 2},
                  pinned("o", PIN), dtype="float64", batch=2, features=3, steps=3)
    yield Mistake("keras_lstm_activation_left_out", "LSTM", "activation_left_out", lstm3, scale=0.3,
                  student_config={"recurrent_activation": None},
                  how="with recurrent_activation None (linear)")
    yield Mistake("keras_gru_activation_left_out", "GRU", "activation_left_out", gru3, scale=0.3, batch=2,
                  student_config={"recurrent_activation": None},
                  how="with recurrent_activation None (linear)")
    linear = {"units": 3, "activation": None, "recurrent_activation": None}
    yield Mistake("keras_lstm_activation_where_linear", "LSTM", "activation_where_linear", linear, scale=0.3,
                  student_config={"activation": "tanh", "recurrent_activation": "sigmoid"},
                  how="with activation tanh and recurrent_activation sigmoid")
    yield Mistake("keras_lstm_activation_where_linear_activation", "LSTM", "activation_where_linear",
                  {"units": 3, "activation": None}, scale=0.3, student_config={"activation": "tanh"},
                  how="with activation tanh")
    yield Mistake("keras_lstm_hard_sigmoid_version", "LSTM", "hard_sigmoid_version",
                  {"units": 3, "recurrent_activation": "hard_sigmoid"}, other_version=True, scale=1.5, how=two)
    yield Mistake("keras_gru_hard_sigmoid_version", "GRU", "hard_sigmoid_version",
                  {"units": 2, "recurrent_activation": "hard_sigmoid"}, other_version=True, scale=1.5,
                  how=two)
    yield Mistake("keras_lstm_forget_term_left_out", "LSTM", "forget_term_left_out", lstm3, pinned("f", -PIN),
                  initial_state=True)
    yield Mistake("keras_lstm_input_gate_left_out", "LSTM", "input_gate_left_out", lstm3, pinned("i", PIN))
    yield Mistake("keras_lstm_bias_left_out", "LSTM", "bias_left_out", lstm3, zeroed("bias"))
    yield Mistake("keras_gru_bias_left_out", "GRU", "bias_left_out", gru3, zeroed("bias"))
    yield Mistake("keras_lstm_gate_order", "LSTM", "gate_order", lstm3, permuted("tf1"), read_as="tf1")
    yield Mistake("keras_gru_gate_order", "GRU", "gate_order", gru3, permuted("torch"), read_as="torch")
    yield Mistake("keras_lstm_kernel_transposed", "LSTM", "kernel_transposed", lstm3, recurrent_transposed(),
                  initial_state=True, batch=2)
    yield Mistake("keras_gru_kernel_transposed", "GRU", "kernel_transposed", gru3, recurrent_transposed())
    yield Mistake("keras_gru_gru_update_swapped", "GRU", "gru_update_swapped", gru3, negated("z"))
    yield Mistake("keras_gru_gru_update_swapped_reset_before", "GRU", "gru_update_swapped",
                  {"units": 3, "reset_after": False}, negated("z"))
    yield Mistake("keras_gru_gru_reset_placement", "GRU", "gru_reset_placement", gru3, gru_bias_rows(merge=True),
                  student_config={"reset_after": False},
                  how="as reset_after False with bias = input bias + recurrent bias")
    yield Mistake("keras_gru_gru_reset_placement_reset_before", "GRU", "gru_reset_placement",
                  {"units": 3, "reset_after": False}, gru_bias_rows(merge=False),
                  student_config={"reset_after": True}, how="as reset_after True with bias rows [bias; zeros]")
    yield Mistake("keras_lstm_reversed_sequence", "LSTM", "reversed_sequence", {"units": 3, "go_backwards": True},
                  how="as the true layer, its sequence then flipped on the time axis (h, c and steps unchanged)")
    # fmt: on


def _keras_run(
    keras: Any, layer_name: str, kwargs: dict[str, Any], weights: Weights, x: np.ndarray, initial: Weights, dtype: str
) -> tuple[dict[str, Any], dict[str, Any]]:
    """(outputs with per-step states, the layer's config) of one Keras layer, and its cell unrolled in a loop."""
    import tensorflow as tf

    layer = getattr(keras.layers, layer_name)(**kwargs, return_sequences=True, return_state=True, dtype=dtype)
    layer.build(x.shape)
    layer.set_weights(list(weights.values()))
    state_names = ["h0", "c0"] if layer_name == "LSTM" else ["h0"]
    call = {"initial_state": [tf.constant(initial[n]) for n in state_names]} if initial else {}
    outs = [np.asarray(r) for r in layer(x, **call)]
    cell_kwargs = {k: v for k, v in kwargs.items() if k != "go_backwards"}
    cell = getattr(keras.layers, f"{layer_name}Cell")(**cell_kwargs, dtype=dtype)
    cell.build((x.shape[0], x.shape[2]))
    cell.set_weights(list(weights.values()))
    units = kwargs["units"]
    states = [tf.constant(initial[n] if initial else np.zeros((x.shape[0], units), dtype)) for n in state_names]
    times = range(x.shape[1] - 1, -1, -1) if kwargs.get("go_backwards") else range(x.shape[1])
    steps: dict[str, list[np.ndarray]] = {"h": []} if layer_name != "LSTM" else {"h": [], "c": []}
    for t in times:
        _, states = cell(tf.constant(x[:, t]), states)
        states = list(states) if isinstance(states, (list, tuple)) else [states]
        for key, value in zip(steps, states, strict=False):
            steps[key].append(np.asarray(value))
    result: dict[str, Any] = {"sequence": outs[0], "h": outs[1]}
    if layer_name == "LSTM":
        result["c"] = outs[2]
    for key in steps:
        _same_state(steps[key][-1], result[key], dtype, f"{layer_name} loop vs layer: {key}")
    _same_state(np.stack(steps["h"], axis=1), outs[0], dtype, f"{layer_name} loop vs layer: sequence")
    result["steps"] = steps
    return result, layer.get_config()


def keras_mistake_fixtures(framework: str) -> None:
    version = 3 if framework == "mistakes-keras" else 2
    if version == 2:
        os.environ["TF_USE_LEGACY_KERAS"] = "1"
    import keras as keras3
    import tf_keras as keras2

    # both Keras versions load in one process; each computes as it does alone
    own, other = (keras3, keras2) if version == 3 else (keras2, keras3)
    fw = "keras" if version == 3 else "keras2"
    print(f"{framework}: keras {keras3.__version__}, tf_keras {keras2.__version__}")
    for case in keras_mistakes(version):
        rng = _rng(case)
        dtype = case.dtype
        x = rng.normal(size=(case.batch, case.steps, case.features)).astype(dtype)
        layer = getattr(own.layers, case.layer)(**case.config, dtype=dtype)
        layer.build(x.shape)
        names = ["kernel", "recurrent_kernel", "bias"]
        weights = {
            n: rng.uniform(-case.scale, case.scale, w.shape).astype(dtype)
            for n, w in zip(names, layer.get_weights(), strict=True)
        }
        state_names = ["h0", "c0"] if case.layer == "LSTM" else ["h0"]
        units = case.config["units"]
        initial = {}
        if case.initial_state:
            initial = {n: rng.uniform(-1, 1, (case.batch, units)).astype(dtype) for n in state_names}
        reference, config = _keras_run(own, case.layer, case.config, weights, x, initial, dtype)
        student_weights = case.change.apply(weights, GATE_ORDERS["keras"][case.layer], -1) if case.change else weights
        student_kwargs = {**case.config, **(case.student_config or {})}
        runner = other if case.other_version else own
        if case.mistake == "reversed_sequence":
            student = {**reference, "sequence": reference["sequence"][:, ::-1]}
        else:
            student, _ = _keras_run(runner, case.layer, student_kwargs, student_weights, x, initial, dtype)
        run = f"{'keras' if runner is keras3 else 'tf_keras'} {runner.__version__}"
        title = f"{fw} {case.layer} {case.mistake}"
        scenario = scenario_of(title, fw, case.layer, dtype, config, weights, initial, x)
        student = {"how": _how(case, f"{run} {case.layer}"), **student}
        write_mistake(case.name, scenario, {"framework": f"keras {own.__version__}", **reference}, student, case)


# torch ---------------------------------------------------------------------------------------
def torch_mistakes() -> Iterator[Mistake]:
    # fmt: off
    lstm, gru = {"hidden_size": 3}, {"hidden_size": 3}
    yield Mistake("torch_lstm_output_gate_left_out", "LSTM", "output_gate_left_out", lstm, pinned("o", PIN))
    yield Mistake("torch_lstm_forget_term_left_out", "LSTM", "forget_term_left_out", lstm, pinned("f", -PIN),
                  batch=2)
    yield Mistake("torch_lstm_input_gate_left_out", "LSTM", "input_gate_left_out", lstm, pinned("i", PIN),
                  initial_state=True)
    yield Mistake("torch_lstm_bias_left_out", "LSTM", "bias_left_out", lstm, zeroed("bias"))
    yield Mistake("torch_gru_bias_left_out", "GRU", "bias_left_out", gru, zeroed("bias"))
    for layer in ("LSTM", "GRU"):
        low = layer.lower()
        yield Mistake(f"torch_{low}_one_bias_left_out", layer, "one_bias_left_out", {"hidden_size": 3},
                      zeroed("bias_hh"))
        yield Mistake(f"torch_{low}_one_bias_left_out_ih", layer, "one_bias_left_out", {"hidden_size": 2},
                      zeroed("bias_ih"), features=3)
    yield Mistake("torch_lstm_gate_order", "LSTM", "gate_order", lstm, permuted("onnx"), read_as="onnx")
    yield Mistake("torch_gru_gate_order", "GRU", "gate_order", gru, permuted("keras"), read_as="keras")
    yield Mistake("torch_lstm_kernel_transposed", "LSTM", "kernel_transposed", lstm, recurrent_transposed())
    yield Mistake("torch_gru_kernel_transposed", "GRU", "kernel_transposed", gru, recurrent_transposed(), batch=2)
    yield Mistake("torch_gru_gru_update_swapped", "GRU", "gru_update_swapped", gru, negated("z"))
    yield Mistake("torch_gru_gru_update_swapped_float64", "GRU", "gru_update_swapped", {"hidden_size": 2},
                  negated("z"), dtype="float64", batch=2, steps=3, features=3)
    yield Mistake("torch_lstm_reversed_sequence", "LSTM", "reversed_sequence",
                  {"hidden_size": 2, "bidirectional": True}, batch=2, steps=3,
                  how="as the true layer, the reverse half of its sequence (last H columns) then flipped in time")
    # fmt: on


def _torch_run(
    torch: Any, layer_name: str, kwargs: dict[str, Any], weights: Weights, x: np.ndarray, initial: Weights, dtype: str
) -> dict[str, Any]:
    """Outputs of one nn.LSTM/nn.GRU, and per-step states of nn.LSTMCell/GRUCell unrolled with the same weights."""
    steps_, features = x.shape[1], x.shape[2]
    tdtype = getattr(torch, dtype)
    is_lstm = layer_name == "LSTM"
    module = getattr(torch.nn, layer_name)(input_size=features, **kwargs).to(tdtype)
    module.load_state_dict({n.removeprefix("rnn."): torch.from_numpy(w) for n, w in weights.items()})
    xt = torch.from_numpy(x.transpose(1, 0, 2).copy())
    args: list[Any] = [xt]
    if initial:
        h0 = torch.from_numpy(initial["h0"])
        args.append((h0, torch.from_numpy(initial["c0"])) if is_lstm else h0)
    with torch.no_grad():
        output, hn = module(*args)
    result: dict[str, Any] = {"sequence": output.numpy().transpose(1, 0, 2)}
    if is_lstm:
        result["h"], result["c"] = hn[0].numpy(), hn[1].numpy()
    else:
        result["h"] = hn.numpy()
    hidden = kwargs["hidden_size"]
    for d, suffix in enumerate(["", "_reverse"][: 2 if kwargs.get("bidirectional") else 1]):
        cell = getattr(torch.nn, f"{layer_name}Cell")(features, hidden, bias=kwargs.get("bias", True)).to(tdtype)
        cell.load_state_dict({k: torch.from_numpy(weights[f"rnn.{k}_l0{suffix}"]) for k in cell.state_dict()})
        zeros = np.zeros((x.shape[0], hidden), dtype)
        h = torch.from_numpy(initial["h0"][d] if initial else zeros)
        c = torch.from_numpy(initial["c0"][d] if initial else zeros)
        steps: dict[str, list[np.ndarray]] = {"h": [], "c": []} if is_lstm else {"h": []}
        times = range(steps_) if d == 0 else range(steps_ - 1, -1, -1)
        with torch.no_grad():
            for t in times:
                if is_lstm:
                    h, c = cell(xt[t], (h, c))
                    steps["c"].append(c.numpy())
                else:
                    h = cell(xt[t], h)
                steps["h"].append(h.numpy())
        for key in steps:
            _same_state(steps[key][-1], result[key][d], dtype, f"{layer_name} cell loop vs module: {key}")
        in_time = np.stack(steps["h"], axis=1)[:, :: 1 if d == 0 else -1]
        _same_state(in_time, result["sequence"][..., d * hidden : (d + 1) * hidden], dtype, "cell loop: sequence")
        result["steps" if d == 0 else "steps_reverse"] = steps
    return result


def torch_mistake_fixtures(framework: str) -> None:
    import torch

    print(f"{framework}: torch {torch.__version__}")
    for case in torch_mistakes():
        rng = _rng(case)
        dtype = case.dtype
        module = getattr(torch.nn, case.layer)(input_size=case.features, **case.config)
        weights = {
            f"rnn.{n}": rng.uniform(-case.scale, case.scale, tuple(p.shape)).astype(dtype)
            for n, p in module.named_parameters()
        }
        x = rng.normal(size=(case.batch, case.steps, case.features)).astype(dtype)
        hidden = case.config["hidden_size"]
        dirs = 2 if case.config.get("bidirectional") else 1
        initial = {}
        if case.initial_state:
            names = ["h0", "c0"] if case.layer == "LSTM" else ["h0"]
            initial = {n: rng.uniform(-1, 1, (dirs, case.batch, hidden)).astype(dtype) for n in names}
        reference = _torch_run(torch, case.layer, case.config, weights, x, initial, dtype)
        if case.mistake == "reversed_sequence":
            sequence = reference["sequence"].copy()
            sequence[..., hidden:] = sequence[:, ::-1, hidden:]
            student = {**reference, "sequence": sequence}
        else:
            assert case.change is not None
            changed = case.change.apply(weights, GATE_ORDERS["torch"][case.layer], 0)
            student = _torch_run(
                torch, case.layer, {**case.config, **(case.student_config or {})}, changed, x, initial, dtype
            )
        config = {"input_size": case.features, **case.config}
        title = f"torch nn.{case.layer} {case.mistake}"
        scenario = scenario_of(title, "torch", case.layer, dtype, config, weights, initial, x)
        student = {"how": _how(case, f"torch {torch.__version__} nn.{case.layer}"), **student}
        write_mistake(case.name, scenario, {"framework": f"torch {torch.__version__}", **reference}, student, case)


# tf1 -----------------------------------------------------------------------------------------
def tf1_mistakes() -> Iterator[Mistake]:
    # fmt: off
    basic, cell = {"num_units": 3}, "BasicLSTMCell"
    yield Mistake("tf1_basiclstmcell_output_gate_left_out", cell, "output_gate_left_out", basic, pinned("o", PIN))
    yield Mistake("tf1_basiclstmcell_forget_term_left_out", cell, "forget_term_left_out", basic,
                  pinned("f", -PIN), initial_state=True, batch=2)
    yield Mistake("tf1_basiclstmcell_input_gate_left_out", cell, "input_gate_left_out", basic, pinned("i", PIN))
    yield Mistake("tf1_basiclstmcell_bias_left_out", cell, "bias_left_out", basic, zeroed("bias"))
    yield Mistake("tf1_basiclstmcell_gate_order", cell, "gate_order", basic, permuted("keras"), read_as="keras")
    no_forget_bias = {"student_config": {"forget_bias": 0.0}, "how": "with forget_bias 0.0"}
    yield Mistake("tf1_basiclstmcell_forget_bias_left_out", cell, "forget_bias_left_out",
                  {"num_units": 3, "forget_bias": 1.0}, **no_forget_bias)
    yield Mistake("tf1_lstmcell_forget_bias_left_out", "LSTMCell", "forget_bias_left_out",
                  {"num_units": 2, "forget_bias": 1.0}, batch=2, features=3, **no_forget_bias)
    yield Mistake("tf1_lstmcell_forget_bias_left_out_float64", "LSTMCell", "forget_bias_left_out",
                  {"num_units": 3, "forget_bias": 1.0}, dtype="float64", steps=3, **no_forget_bias)
    # fmt: on


def _tf1_run(
    tf: Any, case: Mistake, kwargs: dict[str, Any], x: np.ndarray, weights: Weights, initial: Weights
) -> dict[str, Any]:
    """dynamic_rnn over a TF1 LSTM cell, and the same cell called step by step in a loop (same variables)."""
    graph = tf.Graph()
    tf_dtype = getattr(tf, case.dtype)
    with graph.as_default():
        cell = getattr(tf.compat.v1.nn.rnn_cell, case.layer)(**kwargs)
        rnn_kwargs: dict[str, Any] = {"dtype": tf_dtype}
        if initial:
            start = tf.compat.v1.nn.rnn_cell.LSTMStateTuple(tf.constant(initial["c0"]), tf.constant(initial["h0"]))
            rnn_kwargs["initial_state"] = start
        else:
            start = cell.zero_state(x.shape[0], tf_dtype)
        output, final = tf.compat.v1.nn.dynamic_rnn(cell, tf.constant(x), **rnn_kwargs)
        variables = tf.compat.v1.global_variables()
        state, per_step = start, []
        for t in range(x.shape[1]):
            _, state = cell(tf.constant(x[:, t]), state)
            per_step.append(state)
        assert len(tf.compat.v1.global_variables()) == len(variables), "the loop must reuse the cell's variables"
        with tf.compat.v1.Session(graph=graph) as session:
            session.run(tf.compat.v1.global_variables_initializer())
            for variable in variables:
                variable.load(weights[variable.name], session)
            seq, last, steps = session.run([output, final, per_step])
    result = {"sequence": seq, "h": last.h, "c": last.c}
    result["steps"] = {"h": [s.h for s in steps], "c": [s.c for s in steps]}
    for key in ("h", "c"):
        _same_state(result["steps"][key][-1], result[key], case.dtype, f"{case.layer} loop vs dynamic_rnn: {key}")
    return result


def _tf1_variables(tf: Any, case: Mistake, features: int) -> dict[str, tuple[int, ...]]:
    """The cell's variable names and shapes, as dynamic_rnn creates them."""
    with tf.Graph().as_default():
        cell = getattr(tf.compat.v1.nn.rnn_cell, case.layer)(**case.config)
        x = tf.compat.v1.placeholder(getattr(tf, case.dtype), (None, None, features))
        tf.compat.v1.nn.dynamic_rnn(cell, x, dtype=getattr(tf, case.dtype))
        return {v.name: tuple(v.shape) for v in tf.compat.v1.global_variables()}


def tf1_mistake_fixtures(framework: str) -> None:
    os.environ["TF_USE_LEGACY_KERAS"] = "1"
    import tensorflow as tf

    tf.compat.v1.disable_eager_execution()
    print(f"{framework}: tensorflow {tf.__version__}")
    for case in tf1_mistakes():
        rng = _rng(case)
        dtype, units = case.dtype, case.config["num_units"]
        x = rng.normal(size=(case.batch, case.steps, case.features)).astype(dtype)
        initial = {}
        if case.initial_state:
            initial = {n: rng.uniform(-1, 1, (case.batch, units)).astype(dtype) for n in ("c0", "h0")}
        shapes = _tf1_variables(tf, case, case.features)
        weights = {n: rng.uniform(-case.scale, case.scale, s).astype(dtype) for n, s in shapes.items()}
        reference = _tf1_run(tf, case, case.config, x, weights, initial)
        changed = case.change.apply(weights, GATE_ORDERS["tf1"]["LSTM"], -1) if case.change else weights
        student = _tf1_run(tf, case, {**case.config, **(case.student_config or {})}, x, changed, initial)
        title = f"tf1 {case.layer} {case.mistake}"
        scenario = scenario_of(title, "tf1", case.layer, dtype, case.config, weights, initial, x)
        student = {"how": _how(case, f"tensorflow {tf.__version__} {case.layer} (dynamic_rnn)"), **student}
        write_mistake(case.name, scenario, {"framework": f"tensorflow {tf.__version__}", **reference}, student, case)


# onnx ----------------------------------------------------------------------------------------
def onnx_mistakes() -> Iterator[Mistake]:
    # fmt: off
    true = {"activations": ["Sigmoid", "Tanh", "Tanh"]}
    affine = {"activations": ["Sigmoid", "Tanh", "Affine"], "activation_alpha": [1.0], "activation_beta": [0.0]}
    how = "with activations [Sigmoid, Tanh, Affine], Affine's alpha 1 and beta 0 (the identity on c)"
    yield Mistake("onnx_lstm_cell_activation_left_out", "LSTM", "cell_activation_left_out",
                  {"hidden_size": 3, **true}, student_config=affine, how=how)
    yield Mistake("onnx_lstm_cell_activation_left_out_state", "LSTM", "cell_activation_left_out",
                  {"hidden_size": 2, **true}, student_config=affine, how=how, batch=2, steps=3, features=3,
                  initial_state=True)
    # fmt: on


def _onnx_steps(attrs: dict[str, Any], feeds: dict[str, np.ndarray]) -> dict[str, Any]:
    """Y, Y_h, Y_c of the whole sequence, and each step's state from the node run on the sequence's prefixes."""
    result = _onnx_run("LSTM", attrs, feeds, "onnxruntime")
    steps: dict[str, list[np.ndarray]] = {"h": [], "c": []}
    for t in range(1, feeds["X"].shape[0] + 1):
        prefix = _onnx_run("LSTM", attrs, {**feeds, "X": feeds["X"][:t]}, "onnxruntime")
        _same_state(prefix["Y_h"][0], result["Y"][t - 1, 0], "float32", "prefix Y_h vs Y")
        steps["h"].append(prefix["Y_h"][0])
        steps["c"].append(prefix["Y_c"][0])
    for key, out in (("h", "Y_h"), ("c", "Y_c")):
        _same_state(steps[key][-1], result[out][0], "float32", f"last prefix vs {out}")
    return {"sequence": result["Y"], "h": result["Y_h"], "c": result["Y_c"], "steps": steps}


def onnx_mistake_fixtures(framework: str) -> None:
    import onnxruntime

    print(f"{framework}: onnxruntime {onnxruntime.__version__}")
    for case in onnx_mistakes():
        rng = _rng(case)
        hidden, dtype = case.config["hidden_size"], "float32"  # onnxruntime computes float32
        weights = {
            "W": rng.uniform(-case.scale, case.scale, (1, 4 * hidden, case.features)).astype(dtype),
            "R": rng.uniform(-case.scale, case.scale, (1, 4 * hidden, hidden)).astype(dtype),
            "B": rng.uniform(-case.scale, case.scale, (1, 8 * hidden)).astype(dtype),
        }
        x = rng.normal(size=(case.batch, case.steps, case.features)).astype(dtype)
        initial = {}
        if case.initial_state:
            initial = {n: rng.uniform(-1, 1, (1, case.batch, hidden)).astype(dtype) for n in ("initial_h", "initial_c")}
        feeds = {"X": x.transpose(1, 0, 2).copy(), **weights, **initial}
        reference = _onnx_steps(dict(case.config), feeds)
        student = _onnx_steps({**case.config, **(case.student_config or {})}, feeds)
        scenario = scenario_of(f"ONNX LSTM {case.mistake}", "onnx", "LSTM", dtype, case.config, weights, initial, x)
        student = {"how": _how(case, f"onnxruntime {onnxruntime.__version__} LSTM node"), **student}
        write_mistake(
            case.name, scenario, {"framework": f"onnxruntime {onnxruntime.__version__}", **reference}, student, case
        )


# --------------------------------------------------------------------------- gradients
# Ground truth for backpropagation through time (SCENARIO.md, "Gradients through time"). The
# `gradients-*` groups write tests/fixtures/gradients/<framework>_<name>.yaml: a scenario with a
# `backward` block, and in its `reference` the forward outputs and `gradients` (loss, weights,
# inputs, initial_state) from the framework's own autograd on the real layer. per_step, the total
# dL/dh_t and dL/dc_t of layer 1's forward direction, comes from the framework's cell API unrolled
# in a Python loop with the same weights; before anything is written the loop must give the real
# layer's outputs and gradients. Total means every path: c_t's gradient is taken at the tensor h_t
# is made from, so it includes the path through h_t (δc_t = δh_t ⊙ ∂h_t/∂c_t + what the next step
# and the final c send back). Every float64 case is also checked against central finite differences
# of the framework's own forward pass; per_step: of the loop with a nudge added to h_t after the step
# and to c_t inside it, before h_t is made (torch: in its written-out step; Keras: added to the c the
# cell's carry computation returns); TF1's cells cannot be nudged inside: there, of the part a nudge
# after the step sees. Every Keras and TF1 LSTM case must also give the total as that part plus
# δh_t ⊙ ∂h_t/∂c_t from the framework's own autograd of the step.
# onnxruntime has no gradients: the ONNX group stores central finite differences of the onnx
# package's reference evaluator, in float64, and no per_step.
FD_STEP = 1e-6
FD_METHOD = "central finite differences, h=1e-6"
FD_TOLERANCE = 1e-6  # float64 gradients vs central differences, relative to the case's largest gradient
LOOP_TOLERANCE = {"float32": (1e-6, 1e-6), "float64": (1e-12, 1e-12)}  # the loop's outputs vs the layer's
GRAD_TOLERANCE = {"float32": (1e-5, 1e-6), "float64": (1e-11, 1e-12)}  # the loop's gradients vs the layer's
Flat = dict[str, np.ndarray]  # 'weights NAME', 'inputs', 'initial_state NAME' (and per_step's 'h', 'c')


class GradCase(NamedTuple):
    """One gradient fixture: the layer, the sizes of its inputs, and what L is."""

    name: str
    layer: str
    config: dict[str, Any]  # constructor arguments / cell arguments plus dynamic_rnn / node attributes
    loss: str = "upstream"  # upstream gradients, or half_squared_error, mean_squared_error, sum
    of: str = "sequence h c"  # the outputs given an upstream gradient, or the one output under the loss
    dtype: str = "float32"
    batch: int = 2
    steps: int = 4
    features: int = 3
    initial_state: bool = False
    scale: float = 0.6
    variant: str = ""  # keras "corner": hard_sigmoid's kinks hit exactly; onnx "peepholes", "no_bias"
    pack: dict[str, Any] | None = None  # torch: lengths, enforce_sorted, total_length of a packed input
    module: str = ""  # torch: the module of TorchModel traced from its whole state_dict


def _grad_rng(framework: str, case: GradCase) -> np.random.Generator:
    return np.random.default_rng(zlib.crc32(f"gradients {framework} {case.name}".encode()))


def backward_block(case: GradCase, shapes: dict[str, tuple[int, ...]], rng: np.random.Generator) -> dict[str, Any]:
    """The scenario's `backward`: seeded upstream gradients in the named outputs' shapes, or a loss on one output."""
    if case.loss == "upstream":
        return {k: rng.normal(size=shapes[k]).astype(case.dtype) for k in case.of.split()}
    block: dict[str, Any] = {"loss": case.loss, "of": case.of}
    if case.loss != "sum":
        block["target"] = rng.normal(size=shapes[case.of]).astype(case.dtype)
    return block


def loss_of(backward: dict[str, Any], outputs: dict[str, Any], total: Callable[[Any], Any], const: Callable) -> Any:
    """L of the `backward` block, in the framework's own tensors (total: its sum; const: its constant).

    With upstream gradients L = Σ over the given outputs of Σ(upstream ⊙ output): its gradient with
    respect to each output is exactly that output's upstream, and zero for an output left out.
    """
    if "loss" not in backward:
        return sum(total(const(u) * outputs[k]) for k, u in backward.items())
    y = outputs[backward["of"]]
    if backward["loss"] == "sum":
        return total(y)
    d = y - const(backward["target"])
    if backward["loss"] == "half_squared_error":
        return 0.5 * total(d * d)
    assert backward["loss"] == "mean_squared_error", backward["loss"]
    return total(d * d) / np.size(backward["target"])


def flat(weights: Flat, inputs: np.ndarray, initial: Flat) -> Flat:
    """Everything L depends on, one key each, so that autograd, the loop and finite differences name them alike."""
    return {
        **{f"weights {n}": w for n, w in weights.items()},
        "inputs": inputs,
        **{f"initial_state {n}": s for n, s in initial.items()},
    }


def gradients_of(loss: Any, grads: Flat, per_step: Flat | None) -> dict[str, Any]:
    """The contract's `gradients` mapping (loss, weights, inputs, initial_state, per_step) from flat keys."""
    result: dict[str, Any] = {"loss": np.asarray(loss)}
    result["weights"] = {k.removeprefix("weights "): g for k, g in grads.items() if k.startswith("weights ")}
    result["inputs"] = grads["inputs"]
    initial = {k.removeprefix("initial_state "): g for k, g in grads.items() if k.startswith("initial_state ")}
    if initial:
        result["initial_state"] = initial
    if per_step is not None:
        result["per_step"] = per_step
    return result


def finite_differences(loss: Callable[[Flat], Any], at: Flat) -> Flat:
    """Central differences of loss at `at`, step FD_STEP, with respect to every element of every array."""
    result = {}
    for name, value in at.items():
        grad = np.zeros(value.shape)
        for index in np.ndindex(value.shape):
            sides = []
            for sign in (1.0, -1.0):
                moved = value.astype(np.float64)  # a copy
                moved[index] += sign * FD_STEP
                sides.append(float(loss({**at, name: moved})))
            grad[index] = (sides[0] - sides[1]) / (2 * FD_STEP)
        result[name] = grad
    return result


def agree(got: Flat, want: Flat, tolerance: tuple[float, float], what: str) -> None:
    """The same named arrays, equal within (rtol, atol); the generator stops on the first that is not."""
    assert set(got) == set(want), f"{what}: {sorted(got)} != {sorted(want)}"
    for name in want:
        rtol, atol = tolerance
        np.testing.assert_allclose(got[name], want[name], rtol=rtol, atol=atol, err_msg=f"{what}: {name}")


def check_finite_differences(what: str, loss: Callable[[Flat], Any], at: Flat, grads: Flat) -> float:
    """float64 gradients must be central differences of the same forward pass, within FD_TOLERANCE relative to
    the case's largest gradient (the differences' own rounding, about ε·|L|/h, is some 1e-9 absolute, so a tiny
    gradient cannot be matched to 1e-6 of itself); returns the worst gap, relative to that largest gradient."""
    fd = finite_differences(loss, at)
    scale = max(float(np.max(np.abs(g))) for g in grads.values())
    agree(grads, fd, (FD_TOLERANCE, FD_TOLERANCE * scale), f"{what}: autograd vs central differences")
    return max(float(np.max(np.abs(grads[k] - fd[k]))) for k in grads) / scale


def loss_words(case: GradCase) -> str:
    if case.loss == "upstream":
        return f"L = Σ upstream ⊙ output over {', '.join(case.of.split())}"
    y = case.of
    words = {"half_squared_error": f"½ Σ ({y} − target)²", "mean_squared_error": f"mean of ({y} − target)²"}
    return f"L = {words.get(case.loss, f'Σ {y}')}"


def describe(case: GradCase, layer: str, how: str) -> str:
    """The fixture's one-line description."""
    args = ", ".join(f"{k}={v!r}" for k, v in case.config.items())
    extra = "".join([", float64" if case.dtype == "float64" else "", ", initial state given" * case.initial_state])
    return f"Gradients through time of {layer}({args}){extra}: {loss_words(case)}; {how}."


def write_gradient(
    framework: str, name: str, scenario: dict[str, Any], reference: dict[str, Any], note: str = ""
) -> None:
    folder = OUT / "gradients"
    folder.mkdir(parents=True, exist_ok=True)
    body = {**scenario, "reference": reference}
    text = yaml.safe_dump(plain(body), default_flow_style=None, sort_keys=False, width=100, allow_unicode=True)
    header = f"# generated by tools/make_fixtures.py: gradients-{framework} {name}\n"
    (folder / f"{framework}_{name}.yaml").write_text(header + text, encoding="utf-8")
    print(f"  gradients/{framework}_{name}.yaml{note}")


def gradient_scenario(
    case: GradCase, framework: str, description: str, config: dict[str, Any], weights: Flat, initial: Flat,
    inputs: np.ndarray, backward: dict[str, Any],
) -> dict[str, Any]:  # fmt: skip
    scenario = scenario_of(
        f"{framework} {case.layer} {case.name}", framework, case.layer, case.dtype, config, weights, initial, inputs
    )
    return {"title": scenario["title"], "description": description, **scenario, "backward": backward}


def _per_step_nudge(keys: dict[str, int], case: GradCase) -> Flat:
    """Zero nudges on layer 1 forward's states, (B, T, size) each: per_step is dL/d(nudge) at zero."""
    return {k: np.zeros((case.batch, case.steps, size), case.dtype) for k, size in keys.items()}


# torch -------------------------------------------------------------------------------------
TORCH_WEIGHTS = ("weight_ih", "weight_hh", "bias_ih", "bias_hh", "weight_hr")


def torch_gradient_cases() -> Iterator[GradCase]:
    # fmt: off
    proj = {"hidden_size": 3, "num_layers": 2, "bidirectional": True, "proj_size": 2}
    yield GradCase("lstm", "LSTM", {"hidden_size": 3})
    yield GradCase("lstm_float64", "LSTM", {"hidden_size": 3}, dtype="float64", steps=3)
    yield GradCase("lstm_initial_state", "LSTM", {"hidden_size": 3}, loss="mean_squared_error", of="h",
                   initial_state=True, batch=1, steps=5, features=2)
    yield GradCase("lstm_initial_state_float64", "LSTM", {"hidden_size": 2}, loss="sum", of="c", initial_state=True,
                   dtype="float64")
    yield GradCase("lstm_batch_first", "LSTM", {"hidden_size": 3, "batch_first": True}, loss="half_squared_error",
                   of="sequence")
    yield GradCase("lstm_no_bias", "LSTM", {"hidden_size": 3, "bias": False}, loss="sum", of="c", batch=1)
    yield GradCase("lstm_bidirectional", "LSTM", {"hidden_size": 2, "bidirectional": True})
    yield GradCase("lstm_two_layers", "LSTM", {"hidden_size": 3, "num_layers": 2}, loss="mean_squared_error", of="h")
    yield GradCase("lstm_two_layer_bidirectional_proj", "LSTM", proj, steps=3)
    yield GradCase("lstm_two_layer_bidirectional_proj_float64", "LSTM", proj, dtype="float64", steps=3,
                   initial_state=True)
    yield GradCase("lstm_two_layer_bidirectional_proj_float64_batch_first", "LSTM",
                   proj | {"batch_first": True, "bias": False}, loss="half_squared_error", of="sequence",
                   dtype="float64", steps=3, features=2)
    yield GradCase("gru", "GRU", {"hidden_size": 3}, of="sequence h")
    yield GradCase("gru_float64", "GRU", {"hidden_size": 3}, loss="half_squared_error", of="sequence",
                   dtype="float64")
    yield GradCase("gru_initial_state", "GRU", {"hidden_size": 3}, of="sequence h", initial_state=True, batch=1)
    yield GradCase("gru_bidirectional", "GRU", {"hidden_size": 2, "bidirectional": True},
                   loss="mean_squared_error", of="h")
    yield GradCase("gru_two_layers_float64", "GRU", {"hidden_size": 2, "num_layers": 2}, of="sequence h",
                   dtype="float64", initial_state=True)
    yield GradCase("gru_no_bias_batch_first", "GRU", {"hidden_size": 2, "bias": False, "batch_first": True},
                   of="sequence h")
    yield GradCase("rnn_tanh", "RNN", {"hidden_size": 3}, of="sequence h")
    yield GradCase("rnn_tanh_two_layer_bidirectional_float64", "RNN",
                   {"hidden_size": 2, "num_layers": 2, "bidirectional": True}, of="sequence h", dtype="float64",
                   initial_state=True, steps=3)
    yield GradCase("rnn_relu", "RNN", {"hidden_size": 3, "nonlinearity": "relu"}, loss="half_squared_error",
                   of="sequence")
    yield GradCase("rnn_relu_float64", "RNN", {"hidden_size": 3, "nonlinearity": "relu"}, loss="sum", of="h",
                   dtype="float64")
    yield GradCase("rnn_relu_bidirectional", "RNN", {"hidden_size": 2, "nonlinearity": "relu", "bidirectional": True},
                   of="sequence h")
    yield GradCase("lstmcell", "LSTMCell", {"hidden_size": 3})
    yield GradCase("lstmcell_state_float64", "LSTMCell", {"hidden_size": 2}, loss="sum", of="c", dtype="float64",
                   initial_state=True)
    yield GradCase("grucell", "GRUCell", {"hidden_size": 3}, loss="half_squared_error", of="sequence")
    yield GradCase("grucell_no_bias_float64", "GRUCell", {"hidden_size": 2, "bias": False}, of="sequence h",
                   dtype="float64", initial_state=True)
    yield GradCase("rnncell_relu", "RNNCell", {"hidden_size": 3, "nonlinearity": "relu"}, loss="mean_squared_error",
                   of="h", initial_state=True)
    yield GradCase("rnncell_tanh_float64", "RNNCell", {"hidden_size": 2}, of="sequence h", dtype="float64")
    unsorted = {"lengths": [3, 5, 2], "enforce_sorted": False}
    deep = {"hidden_size": 2, "num_layers": 2, "bidirectional": True}
    yield GradCase("lstm_packed", "LSTM", {"hidden_size": 3}, batch=3, steps=5, pack={"lengths": [5, 3, 2]})
    yield GradCase("lstm_packed_unsorted_state", "LSTM", {"hidden_size": 2}, loss="half_squared_error",
                   of="sequence", batch=3, steps=5, initial_state=True, pack=unsorted)
    yield GradCase("lstm_packed_shorter_batch_first", "LSTM", {"hidden_size": 3, "batch_first": True}, steps=5,
                   pack={"lengths": [3, 2]})
    yield GradCase("lstm_packed_deep_bidirectional_float64", "LSTM", deep, dtype="float64", batch=3, steps=5,
                   initial_state=True, pack=unsorted | {"total_length": 6})
    yield GradCase("gru_packed_bidirectional", "GRU", {"hidden_size": 3, "bidirectional": True}, of="sequence h",
                   batch=3, steps=5, pack=unsorted)
    yield GradCase("gru_packed_two_layers_float64", "GRU", {"hidden_size": 2, "num_layers": 2}, loss="sum", of="h",
                   dtype="float64", batch=3, pack={"lengths": [4, 4, 1]})
    yield GradCase("rnn_packed_relu_bidirectional", "RNN", {"hidden_size": 3, "nonlinearity": "relu",
                   "bidirectional": True}, loss="mean_squared_error", of="sequence", batch=3, steps=5,
                   pack={"lengths": [2, 5, 3], "enforce_sorted": False, "total_length": 5})
    yield GradCase("state_dict_module_gru", "GRU", TORCH_MODEL["gru"], of="sequence h", features=4, module="gru")
    yield GradCase("state_dict_module_lstm_float64", "LSTM", TORCH_MODEL["lstm"], loss="half_squared_error", of="h",
                   dtype="float64", initial_state=True, module="lstm")
    # fmt: on


def _torch_sizes(case: GradCase) -> tuple[int, int, int, int]:
    """(hidden, out, layers, directions): out is proj_size where one is given."""
    cfg = case.config
    hidden = cfg["hidden_size"]
    return hidden, cfg.get("proj_size", 0) or hidden, cfg.get("num_layers", 1), 2 if cfg.get("bidirectional") else 1


def _torch_const(torch: Any, dtype: str) -> Callable[[Any], Any]:
    return lambda a: torch.from_numpy(np.asarray(a, dtype))


def _torch_prefix(case: GradCase) -> str:
    """The state_dict prefix of the traced module's weights: rnn.* (a layer), cell.* (a cell), or the model's."""
    return case.module or ("cell" if case.layer.endswith("Cell") else "rnn")


def _torch_steps_out(case: GradCase) -> int:
    """How many steps `sequence` has: T, or for a packed input what pad_packed_sequence returns."""
    if case.pack is None:
        return case.steps
    return case.pack.get("total_length") or max(case.pack["lengths"])


def _torch_module(torch: Any, case: GradCase, at: Flat) -> tuple[Any, Any]:
    """(the traced module, the module whose parameters are the scenario's weights) with `at`'s weights loaded."""
    tdtype = getattr(torch, case.dtype)
    if case.module:
        model = torch_model(torch).to(tdtype)
        module = getattr(model, case.module)
    else:
        module = model = getattr(torch.nn, case.layer)(input_size=case.features, **case.config).to(tdtype)
    prefix = "" if case.module else f"{_torch_prefix(case)}."
    with torch.no_grad():
        for name, param in model.named_parameters():
            param.copy_(torch.from_numpy(at[f"weights {prefix}{name}"]))
    return module, model


def _torch_layer(torch: Any, case: GradCase, at: Flat, backward: dict[str, Any], grad: bool = True) -> tuple:
    """(L, outputs, gradients) of the real nn.LSTM/GRU/RNN from torch's autograd (gradients only with grad); an
    nn.*Cell stepped by the tutorials' loop; a packed input through pack_padded_sequence and pad_packed_sequence."""
    module, model = _torch_module(torch, case, at)
    params = dict(model.named_parameters())
    prefix = "" if case.module else f"{_torch_prefix(case)}."
    batch_first = case.config.get("batch_first", False)
    lstm = case.layer.startswith("LSTM")
    with torch.set_grad_enabled(grad):
        leaves = {k: torch.from_numpy(v.copy()).requires_grad_(grad) for k, v in at.items() if "weights" not in k}
        x = leaves["inputs"]  # (B, T, F) as the scenario holds it; nn.RNN* without batch_first reads (T, B, F)
        if case.layer.endswith("Cell"):
            zeros = torch.zeros(case.batch, case.config["hidden_size"], dtype=getattr(torch, case.dtype))
            h0 = leaves.get("initial_state h0", zeros)
            sequence, h, c = run_torch_cell_loop(module, x, h0, leaves.get("initial_state c0", zeros) if lstm else None)
            outputs = {"sequence": sequence, "h": h, **({"c": c} if lstm else {})}
        else:
            args: list[Any] = [x if batch_first else x.transpose(0, 1)]
            if "initial_state h0" in leaves:
                h0 = leaves["initial_state h0"]
                args.append((h0, leaves["initial_state c0"]) if case.layer == "LSTM" else h0)
            if case.pack is None:
                output, state = module(*args)
            else:
                output, state = run_torch_packed(torch, module, args[0], args[1] if len(args) > 1 else None,
                                                 case.pack, batch_first)  # fmt: skip
            outputs = {"sequence": output if batch_first else output.transpose(0, 1)}
            if case.layer == "LSTM":
                outputs["h"], outputs["c"] = state
            else:
                outputs["h"] = state
        loss = loss_of(backward, outputs, torch.sum, _torch_const(torch, case.dtype))
    numbers = {k: v.detach().numpy() for k, v in outputs.items()}
    if not grad:
        return loss.detach().numpy(), numbers, {}
    loss.backward()

    def grad_of(p: Any) -> np.ndarray:  # a weight L does not depend on (another module's) has no .grad
        return p.grad.numpy() if p.grad is not None else np.zeros(tuple(p.shape), case.dtype)

    grads = {f"weights {prefix}{n}": grad_of(p) for n, p in params.items()}
    grads.update({k: v.grad.numpy() for k, v in leaves.items()})
    return loss.detach().numpy(), numbers, grads


def _torch_cell(
    torch: Any, case: GradCase, weights: Flat, features: int, ops: bool = False
) -> tuple[Callable, dict[str, Any]]:
    """(step(x, h, c, inside, active) → (h, c), its weight tensors): nn.LSTMCell/GRUCell/RNNCell; or, with ops (and
    with proj_size, which nn.LSTMCell lacks), the LSTM step in torch operations as nn.LSTM computes it on the
    CPU. Written out, c_t is a tensor of its own before h_t = o_t ⊙ tanh(c_t) is made from it, whatever
    nn.LSTMCell does inside (on CUDA it is one fused op): `inside` is added to c_t there, so that
    dL/d(inside), like c_t's retained gradient, is the total dL/dc_t, the path through h_t included. `active`
    (B, 1), for a packed input: a row past its length keeps its h and c (written out: c_t is the kept c, and
    h_t is made from it only where the row is active)."""
    hidden, _, _, _ = _torch_sizes(case)
    bias = case.config.get("bias", True)
    layer = case.layer.removesuffix("Cell")
    if layer == "LSTM" and (ops or case.config.get("proj_size")):
        linear = torch.nn.functional.linear
        p = {n: torch.from_numpy(w.copy()).requires_grad_() for n, w in weights.items()}

        def step(x: Any, h: Any, c: Any, inside: Any = None, active: Any = None) -> tuple[Any, Any]:
            h_prev, c_prev = h, c
            if "weight_hr" in p:  # the projected step's sum, as this generator has always written it
                gates = linear(x, p["weight_ih"]) + linear(h, p["weight_hh"])
                gates = gates + p["bias_ih"] + p["bias_hh"] if "bias_ih" in p else gates
            else:  # nn.LSTMCell's own CPU sum, so that layer 1 forward's numbers are the cell's to the bit
                gates = linear(h, p["weight_hh"], p.get("bias_hh")) + linear(x, p["weight_ih"], p.get("bias_ih"))
            i, f, g, o = gates.chunk(4, dim=1)  # torch's gate order
            c = torch.sigmoid(f) * c + torch.sigmoid(i) * torch.tanh(g)
            if active is not None:
                c = torch.where(active, c, c_prev)
            if inside is not None:
                c = c + inside
            h = torch.sigmoid(o) * torch.tanh(c)
            h = linear(h, p["weight_hr"]) if "weight_hr" in p else h
            return (h if active is None else torch.where(active, h, h_prev)), c

        return step, p
    options = {"nonlinearity": case.config.get("nonlinearity", "tanh")} if layer == "RNN" else {}
    cell = getattr(torch.nn, f"{layer}Cell")(features, hidden, bias=bias, **options)
    cell = cell.to(getattr(torch, case.dtype))
    cell.load_state_dict({n: torch.from_numpy(w) for n, w in weights.items()})

    def cell_step(x: Any, h: Any, c: Any, inside: Any = None, active: Any = None) -> tuple[Any, Any]:
        h_new, c_new = cell(x, (h, c)) if layer == "LSTM" else (cell(x, h), None)
        if active is None:
            return h_new, c_new
        return torch.where(active, h_new, h), None if c_new is None else torch.where(active, c_new, c)

    return cell_step, dict(cell.named_parameters())


def _torch_loop(
    torch: Any, case: GradCase, at: Flat, backward: dict[str, Any], nudge: Flat | None = None
) -> tuple[Any, Flat, Flat, Flat]:
    """(L, outputs, gradients, per_step) of the same network from its cells called in a Python loop, every layer
    and direction; per_step is the total gradient of each state of layer 1 forward, read with retain_grad() on
    the h_t and c_t its written-out step makes (c_t: the tensor h_t is made from). `nudge` moves h_t after the
    step (nothing in it reads h_t) and c_t inside it, before h_t is made: dL/d(nudge) is per_step. A packed
    input's rows keep their state past their lengths, the reverse direction of a row starting at its own last
    valid step; their outputs there are zero, as pad_packed_sequence returns them."""
    hidden, out, layers, dirs = _torch_sizes(case)
    tdtype = getattr(torch, case.dtype)
    lstm, cells = case.layer.startswith("LSTM"), case.layer.endswith("Cell")
    keys = {"h": out, "c": hidden} if lstm else {"h": out}
    nudge = nudge or _per_step_nudge(keys, case)
    leaves = {k: torch.from_numpy(v.copy()).requires_grad_() for k, v in at.items() if "weights" not in k}
    prefix = _torch_prefix(case)
    lengths = None if case.pack is None else torch.tensor(case.pack["lengths"])[:, None]
    weights: dict[str, Any] = {}
    per_step: dict[str, list[Any]] = {k: [] for k in keys}
    finals: dict[str, list[Any]] = {k: [] for k in keys}
    below = leaves["inputs"]  # each layer reads the one below, (B, T, ·)
    for layer in range(layers):
        rows = []
        for d in range(dirs):
            suffix = "" if cells else f"_l{layer}{'_reverse' if d else ''}"
            names = {n: f"weights {prefix}.{n}{suffix}" for n in TORCH_WEIGHTS}
            mine = {n: at[key] for n, key in names.items() if key in at}
            first = layer == 0 and d == 0
            step, params = _torch_cell(torch, case, mine, below.shape[2], ops=first)
            weights.update({f"weights {prefix}.{n}{suffix}": p for n, p in params.items()})
            state = {}
            for k, size in keys.items():
                given = leaves.get(f"initial_state {k}0")
                if given is None:
                    state[k] = torch.zeros(case.batch, size, dtype=tdtype)
                else:  # a cell's h0 is (B, H); a layer's (L·D, B, H)
                    state[k] = given if cells else given[layer * dirs + d]
            sequence: list[Any] = [None] * case.steps
            times = range(case.steps) if d == 0 else range(case.steps - 1, -1, -1)
            for n, t in enumerate(times):
                inside = torch.from_numpy(nudge["c"][:, n]) if first and "c" in keys else None
                active = None if lengths is None else t < lengths
                h, c = step(below[:, t], state["h"], state.get("c"), inside, active)
                state = {"h": h, "c": c} if lstm else {"h": h}
                if first:
                    state["h"] = h + torch.from_numpy(nudge["h"][:, n])
                    for k, v in state.items():
                        v.retain_grad()
                        per_step[k].append(v)
                sequence[t] = state["h"] if active is None else torch.where(active, state["h"], 0)
            rows.append(torch.stack(sequence, dim=1))
            for k in keys:
                finals[k].append(state[k])
        below = torch.cat(rows, dim=2)
    steps_out = _torch_steps_out(case)
    if steps_out > case.steps:  # pad_packed_sequence's total_length beyond T: zero rows
        below = torch.cat([below, torch.zeros(case.batch, steps_out - case.steps, below.shape[2], dtype=tdtype)], 1)
    outputs = {"sequence": below[:, :steps_out], **{k: v[0] if cells else torch.stack(v) for k, v in finals.items()}}
    loss = loss_of(backward, outputs, torch.sum, _torch_const(torch, case.dtype))
    loss.backward()

    def grad_of(v: Any) -> np.ndarray:  # a state L does not depend on has no .grad: its gradient is zero
        return v.grad.numpy() if v.grad is not None else np.zeros(tuple(v.shape), case.dtype)

    grads = {k: grad_of(p) for k, p in {**weights, **leaves}.items()}
    for name, value in at.items():  # the state_dict's other modules: L does not depend on them
        if name.startswith("weights ") and name not in grads:
            grads[name] = np.zeros_like(value)
    steps = {k: np.stack([grad_of(v) for v in per_step[k]], axis=1) for k in keys}
    return loss.detach().numpy(), {k: v.detach().numpy() for k, v in outputs.items()}, grads, steps


def torch_gradient_fixtures(framework: str) -> None:
    import torch

    version = f"torch {torch.__version__}"
    print(f"{framework}: {version}")
    for case in torch_gradient_cases():
        _torch_gradient_fixture(torch, version, case)


def _torch_gradient_fixture(torch: Any, version: str, case: GradCase) -> None:
    rng = _grad_rng("torch", case)
    dtype = case.dtype
    hidden, out, layers, dirs = _torch_sizes(case)
    cells = case.layer.endswith("Cell")
    if case.module:
        assert case.config == TORCH_MODEL[case.module], case.name
        named = dict(torch_model(torch).named_parameters())
    else:
        module = getattr(torch.nn, case.layer)(input_size=case.features, **case.config)
        named = {f"{_torch_prefix(case)}.{n}": p for n, p in module.named_parameters()}
    weights = {n: rng.uniform(-case.scale, case.scale, tuple(p.shape)).astype(dtype) for n, p in named.items()}
    x = rng.normal(size=(case.batch, case.steps, case.features)).astype(dtype)
    initial = {}
    lead = (case.batch,) if cells else (layers * dirs, case.batch)
    if case.initial_state:
        initial["h0"] = rng.uniform(-1, 1, (*lead, out)).astype(dtype)
        if case.layer.startswith("LSTM"):
            initial["c0"] = rng.uniform(-1, 1, (*lead, hidden)).astype(dtype)
    at = flat(weights, x, initial)
    shapes = {
        "sequence": (case.batch, _torch_steps_out(case), dirs * out),
        "h": (*lead, out),
        "c": (*lead, hidden),
    }
    backward = backward_block(case, shapes, rng)
    loss, outputs, grads = _torch_layer(torch, case, at, backward)
    loop_loss, loop_outputs, loop_grads, per_step = _torch_loop(torch, case, at, backward)
    what = f"torch {case.name}"
    agree(loop_outputs, outputs, LOOP_TOLERANCE[dtype], f"{what}: cells in a loop vs nn.{case.layer}")
    agree(loop_grads, grads, GRAD_TOLERANCE[dtype], f"{what}: gradients, cells in a loop vs nn.{case.layer}")
    agree({"L": loop_loss}, {"L": loss}, GRAD_TOLERANCE[dtype], what)
    checked = ""
    if dtype == "float64":
        gap = check_finite_differences(what, lambda v: _torch_layer(torch, case, v, backward, False)[0], at, grads)
        zero = {k: np.zeros_like(v) for k, v in per_step.items()}
        nudged = check_finite_differences(
            f"{what} per_step", lambda v: _torch_loop(torch, case, at, backward, v)[0], zero, per_step
        )
        checked = f" (central differences agree to {gap:.1e} of the largest gradient; per_step to {nudged:.1e})"
    base = case.layer.removesuffix("Cell")
    cell, written, retained = f"nn.{base}Cell", "", "retain_grad()"
    if base == "LSTM":
        written = ", layer 1 forward's step written out in torch operations (nn.LSTMCell's CPU arithmetic)"
        retained = "retain_grad() on its h_t and on c_t, the tensor h_t is made from"
    if out != hidden:
        cell, written = "the projected LSTM step written out in torch operations (nn.LSTMCell has no proj_size)", ""
        retained = "retain_grad() on layer 1 forward's h_t and on c_t, the tensor h_t is made from"
    layer = f"model.{case.module}, an nn.{case.layer}," if case.module else f"nn.{case.layer}"
    if cells:
        layer = f"nn.{case.layer} stepped by a Python loop over t"
    if case.pack is not None:
        layer += " on an input through pack_padded_sequence and back through pad_packed_sequence"
    how = (
        f"weights, inputs and initial-state gradients from {version} autograd on {layer}; "
        f"per_step from {cell} unrolled in a loop over every layer and direction{written}, with {retained}"
    )
    if case.pack is not None:
        how += "; past a row's length the loop keeps its state (torch.where), its output there zero"
    description = describe(case, f"torch nn.{case.layer}", how)
    config = {"input_size": case.features, **case.config}
    if case.pack is not None:
        config.update(packing_config(case.pack, case.config.get("batch_first", False)))
    scenario = gradient_scenario(case, "torch", description, config, weights, initial, x, backward)
    if case.module:
        scenario = {**{k: v for k, v in scenario.items() if k not in ("weights", "initial_state", "inputs",
                                                                            "backward")},
                    "module": case.module, **{k: v for k, v in scenario.items() if k in ("weights", "initial_state",
                                                                                          "inputs", "backward")}}  # fmt: skip
    reference = {"framework": version, **outputs, "gradients": gradients_of(loss, grads, per_step)}
    write_gradient("torch", case.name, scenario, reference, checked)


# keras ---------------------------------------------------------------------------------------
KERAS_STATES = {"LSTM": ("h0", "c0"), "GRU": ("h0",), "SimpleRNN": ("h0",)}
KERAS_WEIGHTS = ("kernel", "recurrent_kernel", "bias")
# LSTMCell's carry computations (implementation 1 and 2, Keras 3 and 2): (c_t, o_t), of which h_t = o_t ⊙ act(c_t)
KERAS_CARRY = ("_compute_carry_and_output", "_compute_carry_and_output_fused")


def keras_gradient_cases() -> Iterator[GradCase]:
    # fmt: off
    seq, state = {"return_sequences": True}, {"return_state": True}
    both = seq | state
    linear_hard = {"units": 3, "activation": None, "recurrent_activation": "hard_sigmoid"}
    yield GradCase("lstm_default", "LSTM", {"units": 3}, loss="mean_squared_error", of="h")
    yield GradCase("lstm_sequences", "LSTM", {"units": 3} | seq, loss="half_squared_error", of="sequence")
    yield GradCase("lstm_state", "LSTM", {"units": 3} | state, of="h c")
    yield GradCase("lstm_sequences_state", "LSTM", {"units": 3} | both)
    yield GradCase("lstm_linear_hard_sigmoid_corner", "LSTM", linear_hard | both, variant="corner")
    yield GradCase("lstm_linear_hard_sigmoid_float64", "LSTM", linear_hard | both, loss="half_squared_error",
                   of="sequence", dtype="float64", scale=1.0)
    yield GradCase("lstm_relu", "LSTM", {"units": 3, "activation": "relu"} | both, loss="sum", of="c")
    yield GradCase("lstm_go_backwards", "LSTM", {"units": 3, "go_backwards": True} | both)
    yield GradCase("lstm_initial_state", "LSTM", {"units": 3} | both, initial_state=True, batch=1, steps=5,
                   features=2)
    yield GradCase("lstm_float64", "LSTM", {"units": 2, "go_backwards": True} | both, dtype="float64",
                   initial_state=True, steps=3)
    yield GradCase("gru_reset_after", "GRU", {"units": 3, "reset_after": True} | both, of="sequence h")
    yield GradCase("gru_reset_before", "GRU", {"units": 3, "reset_after": False} | seq, loss="half_squared_error",
                   of="sequence")
    yield GradCase("gru_reset_after_float64", "GRU", {"units": 2, "reset_after": True, "go_backwards": True} | state,
                   loss="sum", of="h", dtype="float64", initial_state=True)
    yield GradCase("gru_reset_before_float64", "GRU", {"units": 2, "reset_after": False} | both, of="sequence h",
                   dtype="float64")
    yield GradCase("simplernn", "SimpleRNN", {"units": 3} | both, of="sequence h")
    yield GradCase("simplernn_float64", "SimpleRNN", {"units": 3, "go_backwards": True} | seq,
                   loss="half_squared_error", of="sequence", dtype="float64", initial_state=True)
    yield GradCase("simplernn_default_float64", "SimpleRNN", {"units": 2}, loss="mean_squared_error", of="h",
                   dtype="float64", batch=1)
    yield GradCase("seed_backward", "LSTM", {"units": 3, "activation": None, "recurrent_activation": None} | both,
                   loss="sum", of="sequence", batch=1, steps=3, features=2, variant="seed")  # Keras 3 only
    # fmt: on


SEED_BACKWARD = OUT.parent.parent / "scenarios" / "seed_backward.yaml"
# dL/dh_t and dL/dc_t of scenarios/seed_backward.yaml as worked by hand (every δ an integer): c_t's includes
# the path through h_t = o_t ⊙ c_t, δc_t = δh_t ⊙ o_t + δc_{t+1} ⊙ f_{t+1}
SEED_PER_STEP = {
    "h": np.array([[[5, 3, 5], [3, 3, 5], [1, 1, 1]]]),
    "c": np.array([[[10, 0, 0], [6, -1, 0], [0, -1, 0]]]),
}


def _seed_backward(dtype: str) -> tuple[np.ndarray, Flat]:
    """scenarios/seed_backward.yaml's inputs (as a batch of one) and weights."""
    seed = yaml.safe_load(SEED_BACKWARD.read_text(encoding="utf-8"))
    assert seed["backward"] == {"loss": "sum", "of": "sequence"}, seed["backward"]
    weights = {n: np.array(seed["weights"][n], dtype) for n in KERAS_WEIGHTS}
    return np.array([seed["inputs"]], dtype), weights


def _keras_returned(case: GradCase) -> list[str]:
    """The outputs the configured layer returns, under the contract's names (without return_sequences its
    first return is the last h)."""
    first = "sequence" if case.config.get("return_sequences") else "h"
    states = ["h", "c"] if case.layer == "LSTM" else ["h"]
    return [first, *states] if case.config.get("return_state") else [first]


def _keras_set(layer: Any, at: Flat) -> list[str]:
    """Load the flat weights into the layer; their flat keys in the order of layer.trainable_weights."""
    keys = [f"weights {n}" for n in KERAS_WEIGHTS if f"weights {n}" in at]
    for key, variable in zip(keys, layer.trainable_weights, strict=True):
        assert key.split()[1] in variable.name, (key, variable.name)
    layer.set_weights([at[k] for k in keys])
    return keys


def _keras_layer(
    tf: Any, layer: Any, case: GradCase, at: Flat, backward: dict[str, Any] | None, grad: bool = True
) -> tuple:
    """(L, what the layer returns by name, gradients) of the real Keras layer, from GradientTape; without a
    backward block, only what it returns."""
    keys = _keras_set(layer, at)
    x = tf.constant(at["inputs"])
    state_keys = [f"initial_state {n}" for n in KERAS_STATES[case.layer] if f"initial_state {n}" in at]
    initial = [tf.constant(at[k]) for k in state_keys]
    with tf.GradientTape() as tape:
        tape.watch([x, *initial])
        result = layer(x, initial_state=initial) if initial else layer(x)
        parts = list(result) if case.config.get("return_state") else [result]
        named = dict(zip(_keras_returned(case), parts, strict=True))  # without return_sequences: h's tensor
        loss = loss_of(backward, named, tf.reduce_sum, tf.constant) if backward else 0.0
    numbers = {k: np.asarray(v) for k, v in named.items()}
    if not grad:
        return np.asarray(loss), numbers, {}
    sources = [*layer.trainable_weights, x, *initial]
    found = tape.gradient(loss, sources, unconnected_gradients=tf.UnconnectedGradients.ZERO)
    grads = {k: np.asarray(g) for k, g in zip([*keys, "inputs", *state_keys], found, strict=True)}
    return np.asarray(loss), numbers, grads


def _keras_loop(
    tf: Any,
    layer: Any,
    case: GradCase,
    at: Flat,
    backward: dict[str, Any],
    nudge: Flat | None = None,
    inside: bool = False,
) -> tuple[Any, Flat, Flat, Flat, list[list[Any]]]:
    """(L, outputs, gradients, per_step, the states each step read) of layer.cell called step by step under
    GradientTape, in processing order (go_backwards reads x[T-1] first).

    Without a nudge, per_step is the total gradient of the states the cell returns, from tape.watch on them:
    its c is the very tensor its h was made from, so c_t's gradient takes the path through h_t too. With a
    nudge added to each returned state, per_step is dL/d(nudge): for c_t, only what the state passed on
    carries (the next step, the final c), not the path through h_t, which the cell had made already. With
    inside, c_t's nudge is added inside the cell instead, to the c its carry computation returns, before the
    cell makes h_t = o_t ⊙ act(c_t) from it: the nudge moves c_t itself, and dL/d(nudge) is the total."""
    carry = {n: getattr(layer.cell, n) for n in KERAS_CARRY if hasattr(layer.cell, n)}
    keys = _keras_set(layer, at)
    units = case.config["units"]
    names = ["h", "c"] if case.layer == "LSTM" else ["h"]
    x = tf.constant(at["inputs"])
    state_keys = [f"initial_state {n}" for n in KERAS_STATES[case.layer] if f"initial_state {n}" in at]
    initial = [tf.constant(at[k]) for k in state_keys]
    states = initial or [tf.zeros((case.batch, units), case.dtype) for _ in names]
    times = range(case.steps - 1, -1, -1) if case.config.get("go_backwards") else range(case.steps)
    per_step: dict[str, list[Any]] = {k: [] for k in names}
    read = []
    with tf.GradientTape() as tape:
        tape.watch([x, *initial])
        for n, t in enumerate(times):
            read.append(states)
            after = dict(nudge or {})
            if inside and "c" in after:  # the cell's c, and the h it makes from it, move with the nudge
                shift = tf.constant(after.pop("c")[:, n].astype(case.dtype))
                for name, compute in carry.items():
                    setattr(layer.cell, name, lambda *a, compute=compute, e=shift: _shifted(compute(*a), e))
            try:
                _, new = layer.cell(x[:, t], states)
            finally:
                for name, compute in carry.items():
                    setattr(layer.cell, name, compute)
            states = list(new) if isinstance(new, (list, tuple)) else [new]
            states = [
                s + tf.constant(after[k][:, n].astype(case.dtype)) if k in after else s
                for k, s in zip(names, states, strict=True)
            ]
            tape.watch(states)
            for k, s in zip(names, states, strict=True):
                per_step[k].append(s)
        outputs = {"sequence": tf.stack(per_step["h"], axis=1), **{k: v[-1] for k, v in per_step.items()}}
        loss = loss_of(backward, outputs, tf.reduce_sum, tf.constant)
    steps = [s for k in names for s in per_step[k]]
    found = tape.gradient(
        loss, [*steps, *layer.trainable_weights, x, *initial], unconnected_gradients=tf.UnconnectedGradients.ZERO
    )
    found = [np.asarray(g) for g in found]
    per = {k: np.stack(found[i * case.steps : (i + 1) * case.steps], axis=1) for i, k in enumerate(names)}
    grads = dict(zip([*keys, "inputs", *state_keys], found[len(steps) :], strict=True))
    return np.asarray(loss), {k: np.asarray(v) for k, v in outputs.items()}, grads, per, read


def _shifted(carry: tuple[Any, Any], shift: Any) -> tuple[Any, Any]:
    """An LSTMCell carry computation's (c, o) with `shift` added to c."""
    c, o = carry
    return c + shift, o


def _keras_through_h(tf: Any, layer: Any, case: GradCase, at: Flat, read: list[list[Any]], dh: np.ndarray) -> Flat:
    """{'c': (B, T, units)} δh_t ⊙ ∂h_t/∂c_t, the path from c_t through h_t, from Keras's own autograd: layer.cell
    run again on the states step t read, and the tape's gradient of its h with respect to its c, weighted by
    the total δh_t."""
    x = tf.constant(at["inputs"])
    times = range(case.steps - 1, -1, -1) if case.config.get("go_backwards") else range(case.steps)
    found = []
    for n, t in enumerate(times):
        with tf.GradientTape() as tape:
            h, (_, c) = layer.cell(x[:, t], read[n])
            tape.watch(c)
        found.append(np.asarray(tape.gradient(h, c, output_gradients=tf.constant(dh[:, n]))))
    return {"c": np.stack(found, axis=1)}


def per_step_total(after: Flat, through_h: Flat, total: Flat, tolerance: tuple[float, float], what: str) -> str:
    """The total per_step must be dL/d(a nudge added after the step) plus the path through h_t, taken apart by
    the framework's own autograd: total dL/dc_t = dL/dc_t through the state passed on + δh_t ⊙ ∂h_t/∂c_t.
    Returns the worst gap, for the generator's report."""
    assert set(through_h) <= set(after), (sorted(through_h), sorted(after))
    summed = {k: v + through_h[k] if k in through_h else v for k, v in after.items()}
    agree(summed, total, tolerance, f"{what}: per_step = after the step + through h_t")
    gap = max(float(np.max(np.abs(summed[k] - total[k]))) for k in total)
    return f" (per_step c = after the step + through h_t to {gap:.1e})" if through_h else ""


def _hard_sigmoid_corner(x: np.ndarray, weights: Flat, units: int, corner: float) -> tuple[np.ndarray, Flat]:
    """Dyadic inputs and kernel, and a bias such that batch row 1's step-1 pre-activation of i[1] is exactly +corner
    and of f[1] exactly −corner (h0 = 0): hard_sigmoid's two kinks, where a framework picks a slope."""
    x = (np.round(x * 4) / 4).astype(x.dtype)
    kernel = (np.round(weights["kernel"] * 8) / 8).astype(x.dtype)
    bias = weights["bias"].copy()
    for column, value in ((0, corner), (units, -corner)):  # the i block, then the f block (Keras order i f c o)
        bias[column] = value - x[0, 0].astype(np.float64) @ kernel[:, column].astype(np.float64)
        exact = x[0, 0] @ kernel[:, column] + bias[column]  # every product and sum is exact in the layer's dtype
        assert exact == value and exact.dtype == x.dtype, (exact, value)
    return x, {**weights, "kernel": kernel, "bias": bias}


def keras_gradient_fixtures(framework: str) -> None:
    version = 3 if framework == "gradients-keras" else 2
    keras = import_keras(version)
    import tensorflow as tf

    fw = "keras" if version == 3 else "keras2"
    print(f"{framework}: keras {keras.__version__}")
    corner = 3.0 if version == 3 else 2.5  # hard_sigmoid is clip(x/6 + 1/2, 0, 1) in Keras 3, clip(0.2x + 1/2) in 2
    for case in keras_gradient_cases():
        if case.variant != "seed" or version == 3:  # the seed scenario is a Keras 3 one
            _keras_gradient_fixture(tf, keras, fw, corner, case)
    keras_more_gradient_fixtures(fw, keras, version)


def _keras_gradient_fixture(tf: Any, keras: Any, fw: str, corner: float, case: GradCase) -> None:
    label = f"keras {keras.__version__}"
    rng = _grad_rng(fw, case)
    dtype, units = case.dtype, case.config["units"]
    x = rng.normal(size=(case.batch, case.steps, case.features)).astype(dtype)
    layer = getattr(keras.layers, case.layer)(**case.config, dtype=dtype)
    layer.build(x.shape)
    shapes = [w.shape for w in layer.get_weights()]
    weights = {
        n: rng.uniform(-case.scale, case.scale, s).astype(dtype) for n, s in zip(KERAS_WEIGHTS, shapes, strict=False)
    }
    kink = ""
    if case.variant == "seed":
        x, weights = _seed_backward(dtype)
        assert [w.shape for w in weights.values()] == shapes, shapes
        kink = "; the weights, inputs and backward block of scenarios/seed_backward.yaml"
    if case.variant == "corner":
        x, weights = _hard_sigmoid_corner(x, weights, units, corner)
        t = tf.constant([corner, -corner], dtype)
        with tf.GradientTape() as tape:
            tape.watch(t)
            y = keras.activations.hard_sigmoid(t)
        slope = np.asarray(tape.gradient(y, t))
        kink = (
            f"; batch row 1's step-1 pre-activations of i[1] and f[1] are exactly +{corner:g} and −{corner:g}, "
            f"hard_sigmoid's kinks, where {label}'s hard_sigmoid has gradient {slope[0]:g} and {slope[1]:g}"
        )
        print(f"    hard_sigmoid'(±{corner:g}) = {slope[0]:g}, {slope[1]:g} in {label}")
    initial = {}
    if case.initial_state:
        initial = {n: rng.uniform(-1, 1, (case.batch, units)).astype(dtype) for n in KERAS_STATES[case.layer]}
    at = flat(weights, x, initial)
    full_case = case._replace(config={**case.config, "return_sequences": True, "return_state": True})
    full = getattr(keras.layers, case.layer)(**full_case.config, dtype=dtype)
    full.build(x.shape)  # the whole sequence and final states, whatever the case's layer returns
    _, outputs, _ = _keras_layer(tf, full, full_case, at, None, grad=False)
    returned = _keras_returned(case)
    assert set(case.of.split()) <= set(returned), f"{case.name}: L of an output the layer does not return"
    backward = backward_block(case, {k: v.shape for k, v in outputs.items()}, rng)
    loss, named, grads = _keras_layer(tf, layer, case, at, backward)
    what = f"{fw} {case.name}"
    agree(named, {k: outputs[k] for k in named}, LOOP_TOLERANCE[dtype], f"{what}: layer vs full layer")
    loop_loss, loop_outputs, loop_grads, per_step, read = _keras_loop(tf, layer, case, at, backward)
    agree(loop_outputs, outputs, LOOP_TOLERANCE[dtype], f"{what}: layer.cell in a loop vs {case.layer}")
    agree(loop_grads, grads, GRAD_TOLERANCE[dtype], f"{what}: gradients, layer.cell in a loop vs {case.layer}")
    agree({"L": loop_loss}, {"L": loss}, GRAD_TOLERANCE[dtype], what)
    zero = {k: np.zeros_like(v) for k, v in per_step.items()}
    after = _keras_loop(tf, layer, case, at, backward, zero)[3]
    through_h = _keras_through_h(tf, layer, case, at, read, per_step["h"]) if case.layer == "LSTM" else {}
    checked = per_step_total(after, through_h, per_step, GRAD_TOLERANCE[dtype], what)
    if case.variant == "seed":
        agree(per_step, SEED_PER_STEP, (0, 0), f"{what}: the per-step gradients worked by hand")
    if dtype == "float64":
        gap = check_finite_differences(what, lambda v: _keras_layer(tf, layer, case, v, backward, False)[0], at, grads)
        nudged = check_finite_differences(
            f"{what} per_step", lambda v: _keras_loop(tf, layer, case, at, backward, v, inside=True)[0], zero, per_step
        )
        checked += f" (central differences agree to {gap:.1e} of the largest gradient; per_step to {nudged:.1e})"
    watched = ", tape.watch on the h and c it returns (c: the tensor its h is made from)" if through_h else ""
    how = (
        f"weights, inputs and initial-state gradients from {label} (tf.GradientTape)"
        f" on {case.layer}; per_step from layer.cell called step by step{watched}{kink}"
    )
    description = describe(case, f"{fw} {case.layer}", how)
    scenario = gradient_scenario(case, fw, description, layer.get_config(), weights, initial, x, backward)
    reference = {"framework": label, **outputs, "gradients": gradients_of(loss, grads, per_step)}
    write_gradient(fw, case.name, scenario, reference, checked)


# tf1 -----------------------------------------------------------------------------------------
def tf1_gradient_cases() -> Iterator[GradCase]:
    # fmt: off
    lengths = {"dynamic_rnn": {"sequence_length": [4, 2]}}  # the second row stops after step 2 of 4
    everything = {"num_units": 3, "use_peepholes": True, "cell_clip": 0.4, "num_proj": 2, "proj_clip": 0.3}
    yield GradCase("basiclstmcell_forget_bias", "BasicLSTMCell", {"num_units": 3, "forget_bias": 2.0} | lengths,
                   features=2)
    yield GradCase("basiclstmcell_forget_bias_float64", "BasicLSTMCell", {"num_units": 2, "forget_bias": 0.5} | lengths,
                   loss="sum", of="c", dtype="float64", initial_state=True)
    yield GradCase("lstmcell_peepholes_clip_proj", "LSTMCell", everything | lengths, loss="half_squared_error",
                   of="sequence", scale=1.2)
    yield GradCase("lstmcell_peepholes_clip_proj_float64", "LSTMCell", everything | lengths, dtype="float64",
                   initial_state=True, scale=1.2)
    yield GradCase("grucell", "GRUCell", {"num_units": 3} | lengths, of="sequence h")
    yield GradCase("grucell_float64", "GRUCell", {"num_units": 2} | lengths, loss="mean_squared_error", of="h",
                   dtype="float64", initial_state=True)
    yield GradCase("basicrnncell", "BasicRNNCell", {"num_units": 3} | lengths, loss="mean_squared_error", of="h")
    yield GradCase("basicrnncell_float64", "BasicRNNCell", {"num_units": 3} | lengths, of="sequence h",
                   dtype="float64", initial_state=True)
    # fmt: on


def _tf1_totals(
    tf: Any, loss: Any, made: list[dict[str, Any]], after: list[Any], lengths: np.ndarray
) -> tuple[list[Any], list[Any]]:
    """(total dL/dc_t, δh_t ⊙ ∂h_t/∂c_t) per step, as graph tensors. The cell's own c output is the tensor its
    h (m) is made from, after cell_clip: its gradient is the total while the row runs. Past a row's length
    the cell's output is dropped and the state carried on (no h is made from it): there the total is the
    carried state's, `after` (the gradients of the states after each step, h's then c's). The path through
    h_t is tf.gradients of the cell's h with respect to its c, weighted by dL/d(the cell's h)."""
    steps = len(made)
    cell_c = tf.gradients(loss, [m["c"] for m in made], unconnected_gradients="zero")
    cell_h = tf.gradients(loss, [m["h"] for m in made], unconnected_gradients="zero")
    total, through = [], []
    for t, m in enumerate(made):
        total.append(tf.where(tf.constant((lengths > t)[:, None]), cell_c[t], after[steps + t]))
        through.append(tf.gradients(m["h"], m["c"], grad_ys=cell_h[t], unconnected_gradients="zero")[0])
    return total, through


def tf1_gradient_fixtures(framework: str) -> None:
    os.environ["TF_USE_LEGACY_KERAS"] = "1"
    import tensorflow as tf

    tf.compat.v1.disable_eager_execution()
    label = f"tensorflow {tf.__version__}"
    print(f"{framework}: {label}")
    for case in tf1_gradient_cases():
        _tf1_gradient_fixture(tf, label, case)


def _tf1_gradient_fixture(tf: Any, label: str, case: GradCase) -> None:
    rng = _grad_rng("tf1", case)
    dtype, tf_dtype = case.dtype, getattr(tf, case.dtype)
    kwargs = {k: v for k, v in case.config.items() if k != "dynamic_rnn"}
    lengths = np.array(case.config["dynamic_rnn"]["sequence_length"])
    units = kwargs["num_units"]
    out = kwargs.get("num_proj") or units
    lstm = "LSTM" in case.layer
    keys = {"h": out, "c": units} if lstm else {"h": out}
    x = rng.normal(size=(case.batch, case.steps, case.features)).astype(dtype)
    initial = {}
    if case.initial_state:
        initial = {f"{k}0": rng.uniform(-1, 1, (case.batch, size)).astype(dtype) for k, size in keys.items()}
    shapes = {"sequence": (case.batch, case.steps, out), "h": (case.batch, out), "c": (case.batch, units)}
    backward = backward_block(case, shapes, rng)
    graph = tf.Graph()
    with graph.as_default():
        cell = getattr(tf.compat.v1.nn.rnn_cell, case.layer)(**kwargs)
        feeds = {k: tf.compat.v1.placeholder_with_default(v, v.shape) for k, v in flat({}, x, initial).items()}
        nudges = {k: tf.compat.v1.placeholder_with_default(v, v.shape) for k, v in _per_step_nudge(keys, case).items()}
        if not initial:
            start = cell.zero_state(case.batch, tf_dtype)
        elif lstm:
            start = tf.compat.v1.nn.rnn_cell.LSTMStateTuple(feeds["initial_state c0"], feeds["initial_state h0"])
        else:
            start = feeds["initial_state h0"]
        output, final = tf.compat.v1.nn.dynamic_rnn(
            cell, feeds["inputs"], sequence_length=lengths, initial_state=start, dtype=tf_dtype
        )
        variables = tf.compat.v1.global_variables()
        real = {"sequence": output, **({"h": final.h, "c": final.c} if lstm else {"h": final})}
        loss = loss_of(backward, real, tf.reduce_sum, tf.constant)
        sources = [*variables, *feeds.values()]
        grads = tf.gradients(loss, sources, unconnected_gradients="zero")
        # the same cell in a Python loop, with dynamic_rnn's copy-through: past a row's length its output
        # row is zero and its state is carried on unchanged; the output row is read from the recorded
        # state (equal to the cell's output for these cells), so a state's gradient includes its own row
        state, rows, made = start, [], []
        per_step: dict[str, list[Any]] = {k: [] for k in keys}
        for t in range(case.steps):
            valid = tf.constant((lengths > t)[:, None])
            _, new = cell(feeds["inputs"][:, t], state)
            old = dict(zip("ch", state, strict=True)) if lstm else {"h": state}
            made.append(dict(zip("ch", new, strict=True)) if lstm else {"h": new})
            now = {k: tf.where(valid, made[t][k], old[k]) + nudges[k][:, t] for k in keys}
            state = tf.compat.v1.nn.rnn_cell.LSTMStateTuple(now["c"], now["h"]) if lstm else now["h"]
            for k in keys:
                per_step[k].append(now[k])
            rows.append(tf.where(valid, now["h"], tf.zeros_like(now["h"])))
        assert len(tf.compat.v1.global_variables()) == len(variables), "the loop must reuse the cell's variables"
        looped = {"sequence": tf.stack(rows, axis=1), **{k: v[-1] for k, v in per_step.items()}}
        loop_loss = loss_of(backward, looped, tf.reduce_sum, tf.constant)
        loop_grads = tf.gradients(loop_loss, sources, unconnected_gradients="zero")
        steps = [s for k in keys for s in per_step[k]]
        step_grads = tf.gradients(loop_loss, steps, unconnected_gradients="zero")  # after the step
        totals = _tf1_totals(tf, loop_loss, made, step_grads, lengths) if lstm else ([], [])
        names = [f"weights {v.name}" for v in variables] + list(feeds)
        with tf.compat.v1.Session(graph=graph) as session:
            session.run(tf.compat.v1.global_variables_initializer())
            weights = {}
            for variable in variables:
                weights[variable.name] = rng.uniform(-case.scale, case.scale, tuple(variable.shape)).astype(dtype)
            at = flat(weights, x, initial)

            def run(fetches: Any, values: Flat, nudge: Flat | None = None) -> Any:
                for variable in variables:
                    variable.load(values[f"weights {variable.name}"], session)
                feed = {feeds[k]: values[k] for k in feeds}
                feed.update({nudges[k]: v for k, v in (nudge or {}).items()})
                return session.run(fetches, feed)

            found = run([loss, real, grads, loop_loss, looped, loop_grads, step_grads, steps, totals], at)
            value, outputs, grad_list, loop_value, loop_outputs, loop_list, step_list, states, (total, h_path) = found
            grads_ = dict(zip(names, grad_list, strict=True))
            after = {k: np.stack(step_list[i * case.steps : (i + 1) * case.steps], axis=1) for i, k in enumerate(keys)}
            per = {**after, "c": np.stack(total, axis=1)} if lstm else after
            through_h = {"c": np.stack(h_path, axis=1)} if lstm else {}
            what = f"tf1 {case.name}"
            agree(loop_outputs, outputs, LOOP_TOLERANCE[dtype], f"{what}: cell in a loop vs dynamic_rnn")
            agree(dict(zip(names, loop_list, strict=True)), grads_, GRAD_TOLERANCE[dtype], f"{what}: gradients")
            agree({"L": loop_value}, {"L": value}, GRAD_TOLERANCE[dtype], what)
            for key, option in (("c", "cell_clip"), ("h", "proj_clip")):
                if kwargs.get(option):  # the clip must act somewhere, or the case proves nothing of its gradient
                    i = list(keys).index(key)
                    reached = np.abs(np.stack(states[i * case.steps : (i + 1) * case.steps])) == kwargs[option]
                    assert reached.any(), f"{what}: {option} {kwargs[option]} never reached"
            checked = per_step_total(after, through_h, per, GRAD_TOLERANCE[dtype], what)
            if dtype == "float64":
                gap = check_finite_differences(what, lambda v: run(loss, v), at, grads_)
                zero = {k: np.zeros_like(v) for k, v in after.items()}
                nudged = check_finite_differences(
                    f"{what} per_step after the step", lambda v: run(loop_loss, at, v), zero, after
                )
                checked += (
                    f" (central differences agree to {gap:.1e} of the largest gradient; after the step to {nudged:.1e})"
                )
    how = (
        f"weights, inputs and initial-state gradients from {label} tf.gradients through dynamic_rnn; per_step "
        "from tf.gradients of the same cell unrolled in a loop with dynamic_rnn's sequence_length copy-through "
        "(past a row's length the state, and so its gradient, passes through unchanged)"
        + (", c with respect to the c the cell returns, the tensor its h is made from" if lstm else "")
    )
    description = describe(case, f"tf1 {case.layer}", how)
    scenario = gradient_scenario(case, "tf1", description, case.config, weights, initial, x, backward)
    reference = {"framework": label, **outputs, "gradients": gradients_of(value, grads_, per)}
    write_gradient("tf1", case.name, scenario, reference, checked)


# onnx ----------------------------------------------------------------------------------------
def onnx_gradient_cases() -> Iterator[GradCase]:
    # fmt: off
    f64 = {"dtype": "float64"}  # the reference evaluator computes float64; onnxruntime (float32) confirms it
    yield GradCase("lstm", "LSTM", {"hidden_size": 3}, **f64)
    yield GradCase("lstm_reverse", "LSTM", {"hidden_size": 3, "direction": "reverse"}, loss="half_squared_error",
                   of="sequence", **f64)
    yield GradCase("lstm_bidirectional_state", "LSTM", {"hidden_size": 2, "direction": "bidirectional"},
                   initial_state=True, **f64)
    yield GradCase("lstm_peepholes_state", "LSTM", {"hidden_size": 2}, loss="mean_squared_error", of="h",
                   initial_state=True, variant="peepholes", **f64)
    yield GradCase("lstm_no_bias", "LSTM", {"hidden_size": 2}, loss="sum", of="c", variant="no_bias", batch=1, **f64)
    yield GradCase("gru", "GRU", {"hidden_size": 3}, of="sequence h", **f64)
    yield GradCase("gru_reverse_state", "GRU", {"hidden_size": 3, "direction": "reverse"},
                   loss="half_squared_error", of="sequence", initial_state=True, **f64)
    yield GradCase("gru_linear_before_reset_bidirectional", "GRU",
                   {"hidden_size": 2, "direction": "bidirectional", "linear_before_reset": 1}, loss="sum", of="h",
                   **f64)
    yield GradCase("rnn", "RNN", {"hidden_size": 3}, of="sequence h", **f64)
    yield GradCase("rnn_reverse", "RNN", {"hidden_size": 3, "direction": "reverse"}, loss="mean_squared_error",
                   of="h", **f64)
    yield GradCase("rnn_bidirectional_state", "RNN", {"hidden_size": 2, "direction": "bidirectional"},
                   loss="half_squared_error", of="sequence", initial_state=True, **f64)
    # fmt: on


def onnx_gradient_fixtures(framework: str) -> None:
    import onnx

    label = f"onnx {onnx.__version__} reference evaluator"
    print(f"{framework}: {label}")
    for case in onnx_gradient_cases():
        _onnx_gradient_fixture(label, case)


def _onnx_gradient_fixture(label: str, case: GradCase) -> None:
    rng = _grad_rng("onnx", case)
    op, dtype, hidden = case.layer, case.dtype, case.config["hidden_size"]
    dirs, g, s = 2 if case.config.get("direction") == "bidirectional" else 1, ONNX_GATES[op], case.scale
    weights = {
        "W": rng.uniform(-s, s, (dirs, g * hidden, case.features)).astype(dtype),
        "R": rng.uniform(-s, s, (dirs, g * hidden, hidden)).astype(dtype),
    }
    if case.variant != "no_bias":
        weights["B"] = rng.uniform(-s, s, (dirs, 2 * g * hidden)).astype(dtype)
    if case.variant == "peepholes":
        weights["P"] = rng.uniform(-s, s, (dirs, 3 * hidden)).astype(dtype)
    x = rng.normal(size=(case.batch, case.steps, case.features)).astype(dtype)
    initial = {}
    if case.initial_state:
        names = ["initial_h", "initial_c"] if op == "LSTM" else ["initial_h"]
        initial = {n: rng.uniform(-1, 1, (dirs, case.batch, hidden)).astype(dtype) for n in names}
    at = flat(weights, x, initial)

    def forward(values: Flat, evaluator: str = "reference", op: str = op, attrs: dict = case.config) -> Flat:
        feeds = {k.split()[-1]: v for k, v in values.items() if k != "inputs"}
        result = _onnx_run(op, dict(attrs), {"X": values["inputs"].transpose(1, 0, 2).copy(), **feeds}, evaluator)
        return {"sequence": result["Y"], "h": result["Y_h"], **({"c": result["Y_c"]} if "Y_c" in result else {})}

    outputs = forward(at)
    runtime = forward({k: v.astype(np.float32) for k, v in at.items()}, "onnxruntime")
    agree(outputs, runtime, (1e-4, 1e-5), f"onnx {case.name}: reference evaluator vs onnxruntime (float32)")
    backward = backward_block(case, {k: v.shape for k, v in outputs.items()}, rng)

    def loss(values: Flat, backward: dict[str, Any] = backward, forward: Callable = forward) -> Any:
        return loss_of(backward, forward(values), np.sum, np.asarray)

    grads = finite_differences(loss, at)
    how = (
        f"every gradient by central finite differences (h = 1e-6) of the {label}, whose forward pass "
        "onnxruntime confirms in float32; no per_step"
    )
    description = describe(case, f"the ONNX {op} node", how)
    scenario = gradient_scenario(case, "onnx", description, case.config, weights, initial, x, backward)
    reference = {"framework": label, "method": FD_METHOD, **outputs, "gradients": gradients_of(loss(at), grads, None)}
    write_gradient("onnx", case.name, scenario, reference)


# --------------------------------------------------------------------------- keras: more layers
# Keras's Bidirectional (every merge_mode, over LSTM, GRU and SimpleRNN), its mask (by argument and by a Masking
# layer, with and without initial_state) and Sequential stacks of recurrent layers, written by the `keras`,
# `keras2` and `gradients-keras*` groups after their other cases. Each case is built and called as Keras calls
# it (a Bidirectional alone, Masking then a layer, a Sequential); the reference holds every output under the
# contract's names (SCENARIO.md, "More layers"), the whole sequence whatever return_sequences says: the last
# layer called once more with return_sequences and return_state on (and a Bidirectional's merge_mode off, its
# two directions then merged as Keras merges them). For gradients, layer 1's forward direction is also run as
# its cell called step by step with Keras's masking (a masked row keeps its state; the output repeats the
# previous one, zeros before the first used step, or zeros with zero_output_for_mask), every other layer and
# direction the real one: that loop must give the real network's outputs and gradients, and per_step is the
# tape's gradient of the states it carries (c: of the c the cell made, h made from it, where the step was taken).
MORE_NAMES = {"LSTM": "lstm", "GRU": "gru", "SimpleRNN": "simple_rnn"}


def _rnn(cls: str, units: int, **kw: Any) -> dict[str, Any]:
    return {"cls": cls, "kw": {"units": units, **kw}}


def _bi(inner: dict[str, Any], merge_mode: str | None = "concat", backward: dict[str, Any] | None = None) -> dict:
    return {"cls": "Bidirectional", "inner": inner, "merge_mode": merge_mode, "backward": backward}


class MoreCase(NamedTuple):
    """One case: the layers (one, or a Sequential's), and how they are called."""

    name: str
    layers: list[dict[str, Any]]
    loss: str = "upstream"
    of: str = ""  # the outputs given upstream gradients ("" every output the network returns), or the loss's one
    dtype: str = "float32"
    batch: int = 2
    steps: int = 4
    features: int = 3
    mask: tuple[tuple[int, ...], ...] | None = None  # 1 = the step is used, per batch row
    masking: float | None = None  # a Masking(mask_value) layer in front; `mask` then says which steps hold it
    initial_state: bool = False
    weights: str = "names"  # forward_lstm/kernel (names), full variable paths (paths) or get_weights() (list)
    scale: float = 0.6


def keras_more_cases() -> Iterator[MoreCase]:
    # fmt: off
    for cls, units in (("LSTM", 3), ("GRU", 2), ("SimpleRNN", 3)):
        for mode in ("concat", "sum", "mul", "ave", None):
            for seq in (True, False):
                name = f"bidirectional_{MORE_NAMES[cls].replace('_', '')}_{mode or 'none'}" + ("" if seq else "_last")
                yield MoreCase(name, [_bi(_rnn(cls, units, return_sequences=seq, return_state=True), mode)])
    both = {"return_sequences": True, "return_state": True}
    yield MoreCase("bidirectional_lstm_backward_layer", [_bi(_rnn("LSTM", 3, **both), "concat",
                   _rnn("LSTM", 3, activation="relu", go_backwards=True, **both))])
    yield MoreCase("bidirectional_gru_backward_layer_sum", [_bi(_rnn("GRU", 2, return_sequences=False), "sum",
                   _rnn("GRU", 2, reset_after=False, go_backwards=True, return_sequences=False))])
    yield MoreCase("bidirectional_lstm_initial_state", [_bi(_rnn("LSTM", 3, **both), "ave")], initial_state=True)
    yield MoreCase("bidirectional_simplernn_initial_state_last", [_bi(_rnn("SimpleRNN", 2, return_state=True), None)],
                   initial_state=True)
    yield MoreCase("bidirectional_lstm_variable_paths", [_bi(_rnn("LSTM", 2, return_sequences=True), "mul")],
                   weights="paths")
    yield MoreCase("bidirectional_gru_weights_list", [_bi(_rnn("GRU", 3, **both), "concat")], weights="list")
    yield MoreCase("bidirectional_lstm_float64", [_bi(_rnn("LSTM", 2, **both), "sum")], dtype="float64")
    holes = ((1, 0, 1, 1), (0, 0, 1, 0))  # row 2 starts masked: zeros before its first used step
    yield MoreCase("lstm_mask", [_rnn("LSTM", 3, **both)], mask=holes)
    yield MoreCase("gru_mask_last", [_rnn("GRU", 3, return_state=True)], mask=((1, 1, 0, 0), (0, 1, 0, 1)))
    yield MoreCase("simplernn_mask_go_backwards", [_rnn("SimpleRNN", 3, go_backwards=True, **both)], mask=holes)
    yield MoreCase("lstm_mask_zero_output", [_rnn("LSTM", 2, zero_output_for_mask=True, **both)], mask=holes)
    yield MoreCase("lstm_mask_zero_output_last", [_rnn("LSTM", 2, zero_output_for_mask=True, return_state=True)],
                   mask=((1, 1, 1, 0), (1, 0, 1, 1)))
    yield MoreCase("lstm_mask_initial_state", [_rnn("LSTM", 3, **both)], mask=((1, 0, 1, 0), (0, 0, 0, 0)),
                   initial_state=True)
    yield MoreCase("lstm_masking", [_rnn("LSTM", 3, **both)], mask=((1, 1, 0, 0), (1, 0, 1, 0)), masking=0.0)
    yield MoreCase("gru_masking_value", [_rnn("GRU", 2, **both)], mask=((0, 1, 1, 0), (1, 1, 0, 1)), masking=0.5)
    yield MoreCase("lstm_masking_initial_state", [_rnn("LSTM", 3, **both)], mask=((1, 1, 0, 0), (1, 0, 1, 0)),
                   masking=0.0, initial_state=True)
    yield MoreCase("bidirectional_lstm_masking", [_bi(_rnn("LSTM", 2, **both), "concat")], mask=holes, masking=0.0)
    yield MoreCase("bidirectional_gru_mask_last", [_bi(_rnn("GRU", 2, return_state=True), "sum")], mask=holes)
    yield MoreCase("bidirectional_lstm_masking_initial_state", [_bi(_rnn("LSTM", 2, **both), "ave")], mask=holes,
                   masking=0.0, initial_state=True)
    yield MoreCase("sequential_lstm_gru", [_rnn("LSTM", 3, return_sequences=True), _rnn("GRU", 2)])
    yield MoreCase("sequential_bidirectional_lstm_simplernn",
                   [_bi(_rnn("LSTM", 2, return_sequences=True), "concat"), _rnn("SimpleRNN", 3, return_sequences=True)])
    yield MoreCase("sequential_mixed_masking",
                   [_rnn("GRU", 3, return_sequences=True), _bi(_rnn("LSTM", 2, return_sequences=True), "ave"),
                    _rnn("SimpleRNN", 2)], mask=holes, masking=0.0)
    yield MoreCase("sequential_bidirectionals_last",
                   [_bi(_rnn("GRU", 2, return_sequences=True), "mul"), _bi(_rnn("LSTM", 2), "sum")])
    # fmt: on


def keras_more_gradient_cases() -> Iterator[MoreCase]:
    # fmt: off
    both = {"return_sequences": True, "return_state": True}
    holes = ((1, 0, 1, 1), (0, 0, 1, 0))
    yield MoreCase("bidirectional_lstm_concat", [_bi(_rnn("LSTM", 3, **both), "concat")])
    yield MoreCase("bidirectional_gru_sum_last", [_bi(_rnn("GRU", 2), "sum")], loss="half_squared_error", of="output")
    yield MoreCase("bidirectional_simplernn_mul", [_bi(_rnn("SimpleRNN", 3, return_sequences=True), "mul")],
                   loss="mean_squared_error", of="sequence")
    yield MoreCase("bidirectional_lstm_ave_float64", [_bi(_rnn("LSTM", 2, **both), "ave")], dtype="float64",
                   initial_state=True, steps=3)
    yield MoreCase("bidirectional_gru_none", [_bi(_rnn("GRU", 2, **both), None)])
    yield MoreCase("bidirectional_simplernn_none_last", [_bi(_rnn("SimpleRNN", 2), None)], loss="sum",
                   of="backward_output")
    yield MoreCase("bidirectional_lstm_backward_layer", [_bi(_rnn("LSTM", 2, return_sequences=True), "concat",
                   _rnn("LSTM", 2, activation="relu", go_backwards=True, return_sequences=True))], loss="sum",
                   of="sequence")
    yield MoreCase("lstm_mask", [_rnn("LSTM", 3, **both)], mask=holes)
    yield MoreCase("gru_mask_last_float64", [_rnn("GRU", 2, return_state=True)], mask=((1, 1, 0, 0), (0, 1, 0, 1)),
                   loss="half_squared_error", of="output", dtype="float64")
    yield MoreCase("simplernn_mask_go_backwards", [_rnn("SimpleRNN", 3, go_backwards=True, **both)], mask=holes,
                   of="sequence h")
    yield MoreCase("lstm_mask_zero_output", [_rnn("LSTM", 2, zero_output_for_mask=True, return_sequences=True)],
                   mask=holes, loss="sum", of="sequence")
    yield MoreCase("lstm_mask_initial_state_float64", [_rnn("LSTM", 2, **both)], mask=((1, 0, 1, 0), (0, 0, 0, 0)),
                   initial_state=True, dtype="float64")
    yield MoreCase("lstm_masking", [_rnn("LSTM", 3, return_sequences=True)], mask=((1, 1, 0, 0), (1, 0, 1, 0)),
                   masking=0.0, loss="half_squared_error", of="sequence")
    yield MoreCase("lstm_masking_initial_state", [_rnn("LSTM", 3, **both)], mask=((1, 1, 0, 0), (1, 0, 1, 0)),
                   masking=0.0, initial_state=True)
    yield MoreCase("bidirectional_lstm_masking", [_bi(_rnn("LSTM", 2, **both), "concat")], mask=holes, masking=0.0,
                   of="sequence forward_h backward_c")
    yield MoreCase("bidirectional_gru_mask_last_float64", [_bi(_rnn("GRU", 2), "ave")], mask=holes,
                   loss="mean_squared_error", of="output", dtype="float64")
    yield MoreCase("sequential_lstm_gru", [_rnn("LSTM", 3, return_sequences=True), _rnn("GRU", 2)],
                   loss="mean_squared_error", of="h")
    yield MoreCase("sequential_bidirectional_float64",
                   [_bi(_rnn("LSTM", 2, return_sequences=True), "concat"), _rnn("SimpleRNN", 2, return_sequences=True)],
                   dtype="float64", steps=3)
    yield MoreCase("sequential_mixed_masking",
                   [_rnn("GRU", 3, return_sequences=True), _bi(_rnn("LSTM", 2, return_sequences=True), "ave"),
                    _rnn("SimpleRNN", 2, return_sequences=True)], mask=holes, masking=0.0)
    # fmt: on


class MoreNet(NamedTuple):
    """A case built in Keras: its layers, what the scenario calls each weight, and the call itself."""

    layers: list[Any]
    masking: Any
    weights: list[tuple[str, Any]]  # (scenario name, variable), in the order of the network's trainable weights
    scenario: dict[str, Any]  # the scenario without inputs, initial_state and backward
    model: Any = None  # a stack's Sequential


def _more_layer(keras: Any, spec: dict[str, Any], dtype: str, k: int) -> Any:
    suffix = f"_{k}" if k else ""
    if spec["cls"] == "Bidirectional":
        inner = _more_layer(keras, spec["inner"], dtype, k)
        backward = None
        if spec["backward"] is not None:
            backward = getattr(keras.layers, spec["backward"]["cls"])(
                **spec["backward"]["kw"], name=f"{MORE_NAMES[spec['backward']['cls']]}_b{suffix}", dtype=dtype
            )
        return keras.layers.Bidirectional(
            inner, merge_mode=spec["merge_mode"], backward_layer=backward, name=f"bidirectional{suffix}", dtype=dtype
        )
    return getattr(keras.layers, spec["cls"])(**spec["kw"], name=f"{MORE_NAMES[spec['cls']]}{suffix}", dtype=dtype)


def _more_short(variable: Any) -> str:
    """kernel, recurrent_kernel or bias: the last part of a variable's path or name."""
    return str(getattr(variable, "path", None) or variable.name).split(":")[0].rsplit("/", 1)[-1]


def _more_full(variable: Any) -> str:
    """The variable as Keras names it: Keras 3's path, Keras 2's name."""
    return str(getattr(variable, "path", None) or variable.name)


def _more_net(keras: Any, case: MoreCase, framework: str, rng: np.random.Generator) -> MoreNet:
    dtype = case.dtype
    layers = [_more_layer(keras, spec, dtype, k) for k, spec in enumerate(case.layers)]
    masking = keras.layers.Masking(case.masking, dtype=dtype) if case.masking is not None else None
    shape = (case.batch, case.steps, case.features)
    for layer in layers:
        layer.build(shape)
        out = layer.compute_output_shape(shape)
        first = out[0] if isinstance(out, (list, tuple)) and isinstance(out[0], (list, tuple)) else out
        shape = tuple(first)
    weights: list[tuple[str, Any]] = []
    entries = []
    for k, layer in enumerate(layers):
        mine: dict[str, np.ndarray] = {}
        names = []
        for variable in layer.trainable_weights:
            if case.layers[k]["cls"] == "Bidirectional":
                owner = layer.forward_layer if any(variable is v for v in layer.forward_layer.trainable_weights) else (
                    layer.backward_layer)  # fmt: skip
                name = f"{owner.name}/{_more_short(variable)}"
                if case.weights == "paths":
                    name = _more_full(variable)
            else:
                name = _more_short(variable)
            value = rng.uniform(-case.scale, case.scale, tuple(variable.shape)).astype(dtype)
            variable.assign(value)
            mine[name] = value
            names.append(name)
        prefix = f"layers[{k}]." if len(layers) > 1 else ""
        if case.weights == "list":
            weights += [(f"{prefix}weights[{j}]", v) for j, v in enumerate(layer.trainable_weights)]
            given: Any = list(mine.values())
        else:
            weights += [(f"{prefix}{n}", v) for n, v in zip(names, layer.trainable_weights, strict=True)]
            given = mine
        entries.append({"layer": case.layers[k]["cls"], "config": layer.get_config(), "weights": given})
    scenario: dict[str, Any] = {"title": f"{framework} {case.name}", "framework": framework}
    if len(layers) == 1:
        scenario |= {"layer": entries[0]["layer"], "dtype": dtype, "config": entries[0]["config"],
                     "weights": entries[0]["weights"]}  # fmt: skip
    else:
        scenario |= {"dtype": dtype, "layers": entries}
    if case.mask is not None:
        scenario["masking" if case.masking is not None else "mask"] = (
            {"mask_value": case.masking} if case.masking is not None else [[bool(v) for v in row] for row in case.mask]
        )
    return MoreNet(layers, masking, weights, scenario)


def _more_inputs(case: MoreCase, rng: np.random.Generator) -> np.ndarray:
    x = rng.normal(size=(case.batch, case.steps, case.features)).astype(case.dtype)
    if case.masking is not None and case.mask is not None:  # the masked steps hold mask_value in every feature
        x[~np.array(case.mask, bool)] = case.masking
    return x


def _more_states(case: MoreCase, rng: np.random.Generator) -> dict[str, np.ndarray]:
    """The initial state by its scenario names (a single layer's): h0, c0 or forward_h0 ... backward_c0."""
    if not case.initial_state:
        return {}
    spec = case.layers[0]
    if spec["cls"] != "Bidirectional":
        names = ["h0", "c0"] if spec["cls"] == "LSTM" else ["h0"]
        return {n: rng.uniform(-1, 1, (case.batch, spec["kw"]["units"])).astype(case.dtype) for n in names}
    out = {}
    for side, inner in (("forward", spec["inner"]), ("backward", spec["backward"] or spec["inner"])):
        for n in ["h0", "c0"] if inner["cls"] == "LSTM" else ["h0"]:
            out[f"{side}_{n}"] = rng.uniform(-1, 1, (case.batch, inner["kw"]["units"])).astype(case.dtype)
    return out


def _more_returned(case: MoreCase, masked: bool) -> list[str]:
    """The names of what the network returns, in Keras's order (the last layer's returns)."""
    spec = case.layers[-1]
    inner = spec["inner"] if spec["cls"] == "Bidirectional" else spec
    kw = inner["kw"]
    seq, state = kw.get("return_sequences", False), kw.get("return_state", False)
    if spec["cls"] != "Bidirectional":
        first = "sequence" if seq else ("output" if masked else "h")
        return [first, *(["h", "c"] if inner["cls"] == "LSTM" else ["h"])] if state else [first]
    if spec["merge_mode"] is None:
        names = ["forward_sequence", "backward_sequence"] if seq else ["forward_output", "backward_output"]
    else:
        names = ["sequence" if seq else "output"]
    if state:
        for side, layer in (("forward", inner), ("backward", spec["backward"] or inner)):
            names += [f"{side}_h", f"{side}_c"] if layer["cls"] == "LSTM" else [f"{side}_h"]
    return names


class _Toggled:
    """The last layer returning everything for a while: return_sequences and return_state on (a Bidirectional's
    merge_mode off, its directions merged afterwards as Keras merges them), zero_output_for_mask untouched."""

    def __init__(self, layer: Any) -> None:
        self.layer = layer
        inner = [layer.forward_layer, layer.backward_layer] if hasattr(layer, "forward_layer") else []
        self.objects = [layer, *inner]
        self.saved: list[dict[str, Any]] = []

    def __enter__(self) -> _Toggled:
        for obj in self.objects:
            self.saved.append({k: getattr(obj, k) for k in ("return_sequences", "return_state", "merge_mode")
                               if hasattr(obj, k)})  # fmt: skip
            obj.return_sequences, obj.return_state = True, True
            if hasattr(obj, "merge_mode"):
                obj.merge_mode = None
        return self

    def __exit__(self, *exc: Any) -> None:
        for obj, saved in zip(self.objects, self.saved, strict=True):
            for k, v in saved.items():
                setattr(obj, k, v)


def _more_mask_used(case: MoreCase, version: int) -> bool:
    """Whether the mask reaches the layers: Keras 3 fills a Masking layer's in only for a call without
    initial_state (the single layers here are the only ones called with it)."""
    return case.mask is not None and not (case.masking is not None and case.initial_state and version == 3)


class _Nothing:
    def __enter__(self) -> None:
        return None

    def __exit__(self, *exc: Any) -> None:
        return None


def _tf_variable(variable: Any) -> Any:
    """The tf.Variable itself: a Keras 3 variable names its dtype as a string, which TensorFlow cannot make the
    zero gradient of an unconnected source from."""
    value = getattr(variable, "value", None)
    return variable if value is None or callable(value) else value


def _more_leaves(tf: Any, at: Flat) -> dict[str, Any]:
    """The inputs and initial states as tensors, by their flat keys."""
    return {k: tf.constant(v) for k, v in at.items() if not k.startswith("weights ")}


def _more_named_tf(tf: Any, case: MoreCase, parts: list[Any], masked: bool) -> dict[str, Any]:
    """Every output under the contract's names, from what the toggled last layer returned (tensors)."""
    spec = case.layers[-1]
    if spec["cls"] != "Bidirectional":
        out = {"sequence": parts[0], "h": parts[1]}
        if len(parts) > 2:
            out["c"] = parts[2]
        if masked and not spec["kw"].get("return_sequences"):
            out["output"] = parts[0][:, -1]
        return out
    inner, backward = spec["inner"], spec["backward"] or spec["inner"]
    f_seq, b_flipped, states = parts[0], parts[1], parts[2:]
    mode, seq = spec["merge_mode"], inner["kw"].get("return_sequences", False)
    merge = {"concat": lambda f, b: tf.concat([f, b], axis=-1), "sum": lambda f, b: f + b,
             "mul": lambda f, b: f * b, "ave": lambda f, b: (f + b) / 2}  # fmt: skip  # Bidirectional.call's
    out: dict[str, Any] = {}
    if mode is None:
        out |= {"forward_sequence": f_seq, "backward_sequence": b_flipped}
        if not seq:
            out |= {"forward_output": f_seq[:, -1], "backward_output": b_flipped[:, 0]}
    else:
        out["sequence"] = merge[mode](f_seq, b_flipped)
        if not seq:
            out["output"] = merge[mode](f_seq[:, -1], b_flipped[:, 0])
    names = [f"forward_{n}" for n in (("h", "c") if inner["cls"] == "LSTM" else ("h",))]
    names += [f"backward_{n}" for n in (("h", "c") if backward["cls"] == "LSTM" else ("h",))]
    return out | dict(zip(names, states, strict=True))


def _more_call(tf: Any, net: MoreNet, case: MoreCase, leaves: dict[str, Any], version: int,
               toggled: bool = False) -> list[Any]:  # fmt: skip
    """The network called as Keras calls it (Masking, then the layer with its initial_state and mask; a stack as
    a Sequential); toggled, the layers one after another, the last returning everything."""
    x = leaves["inputs"]
    kwargs: dict[str, Any] = {}
    if case.masking is None and case.mask is not None:
        kwargs["mask"] = tf.constant(np.array(case.mask, bool))
    initial = [v for k, v in leaves.items() if k.startswith("initial_state ")]
    if initial:
        kwargs["initial_state"] = initial
    if len(net.layers) > 1 and not toggled:
        model = net.model
        result = model(x)
    else:
        result = net.masking(x) if net.masking is not None else x
        for k, layer in enumerate(net.layers):
            with _Toggled(layer) if toggled and k == len(net.layers) - 1 else _Nothing():
                result = layer(result, **(kwargs if k == 0 else {}))
    return list(result) if isinstance(result, (list, tuple)) else [result]


def _cell_loop(tf: Any, layer: Any, x: Any, initial: list[Any], mask: Any, dtype: str) -> tuple[Any, list, dict]:
    """layer.cell called step by step as Keras's rnn() steps it: (the sequence it returns in processing order, the
    final states, per step: the carried h and c, the c the cell made and the step's mask)."""
    cell, batch, steps = layer.cell, int(x.shape[0]), int(x.shape[1])
    count = len(cell.state_size) if isinstance(cell.state_size, (list, tuple)) else 1
    states = list(initial) or [tf.zeros((batch, cell.units), dtype) for _ in range(count)]
    seen = tf.zeros((batch, 1), bool)
    record: dict[str, list[Any]] = {"h": [], "c": [], "made_c": [], "mask": []}
    outs = []
    times = range(steps - 1, -1, -1) if layer.go_backwards else range(steps)
    for t in times:
        _, new = cell(x[:, t], states)
        new = list(new) if isinstance(new, (list, tuple)) else [new]
        if count == 2:
            record["made_c"].append(new[1])
        if mask is not None:
            m = mask[:, t : t + 1]
            new = [tf.where(m, a, b) for a, b in zip(new, states, strict=True)]
            seen = seen | m
            keep = m if layer.zero_output_for_mask else seen  # zeros, or the previous output (held state)
            outs.append(tf.where(keep, new[0], tf.zeros_like(new[0])))
            record["mask"].append(m)
        else:
            outs.append(new[0])
        states = new
        record["h"].append(new[0])
        if count == 2:
            record["c"].append(new[1])
    return tf.stack(outs, axis=1), states, record


def _more_loop(tf: Any, net: MoreNet, case: MoreCase, leaves: dict[str, Any], version: int) -> tuple[dict, dict]:
    """(every output by name, layer 1 forward's per-step record): layer 1's forward direction as its cell in a
    loop, every other layer and direction the real one."""
    x = leaves["inputs"]
    inputs = net.masking(x) if net.masking is not None else x
    mask = tf.constant(np.array(case.mask, bool)) if _more_mask_used(case, version) else None
    initial = [v for k, v in leaves.items() if k.startswith("initial_state ")]
    first, bi = net.layers[0], case.layers[0]["cls"] == "Bidirectional"
    forward = first.forward_layer if bi else first
    count = len(forward.cell.state_size) if isinstance(forward.cell.state_size, (list, tuple)) else 1
    f_seq, f_states, record = _cell_loop(tf, forward, inputs, initial[:count], mask, case.dtype)
    parts = [f_seq, *f_states]
    if bi:
        with _Toggled(first.backward_layer):
            kwargs = {"mask": mask} if mask is not None else {}
            if initial[count:]:
                kwargs["initial_state"] = initial[count:]
            back = first.backward_layer(inputs, **kwargs)
        parts = [f_seq, tf.reverse(back[0], axis=[1]), *f_states, *back[1:]]
    if len(net.layers) == 1:
        return _more_named_tf(tf, case, parts, mask is not None), record
    mode = case.layers[0].get("merge_mode")
    merge = {"concat": lambda f, b: tf.concat([f, b], axis=-1), "sum": lambda f, b: f + b,
             "mul": lambda f, b: f * b, "ave": lambda f, b: (f + b) / 2}  # fmt: skip
    result = merge[mode](parts[0], parts[1]) if bi else parts[0]
    for k, layer in enumerate(net.layers[1:], start=1):
        with _Toggled(layer) if k == len(net.layers) - 1 else _Nothing():
            result = layer(result, **({"mask": mask} if mask is not None else {}))
    returned = list(result) if isinstance(result, (list, tuple)) else [result]
    return _more_named_tf(tf, case, returned, mask is not None), record


def _more_setup(keras: Any, case: MoreCase, framework: str, rng: np.random.Generator) -> tuple[MoreNet, Flat]:
    net = _more_net(keras, case, framework, rng)
    if len(net.layers) > 1:
        first = keras.Input((case.steps, case.features), dtype=case.dtype)  # without it Keras 3 reads float32
        masking = [net.masking] if net.masking is not None else []
        net = net._replace(model=keras.Sequential([first, *masking, *net.layers]))
    x = _more_inputs(case, rng)
    values = {name: np.asarray(variable.numpy() if hasattr(variable, "numpy") else variable) for name, variable in
              net.weights}  # fmt: skip
    return net, flat(values, x, _more_states(case, rng))


def _more_scenario(net: MoreNet, at: Flat) -> dict[str, Any]:
    """The scenario in the contract's key order: ..., weights, initial_state, inputs, then mask or masking."""
    scenario = {k: v for k, v in net.scenario.items() if k not in ("mask", "masking")}
    initial = {k.removeprefix("initial_state "): v for k, v in at.items() if k.startswith("initial_state ")}
    if initial:
        scenario["initial_state"] = initial
    scenario["inputs"] = at["inputs"]
    return scenario | {k: v for k, v in net.scenario.items() if k in ("mask", "masking")}


def keras_more_fixtures(framework: str, keras: Any, version: int) -> None:
    """The forward fixtures of Bidirectional, masks and stacks (tests/fixtures/<framework>/)."""
    import tensorflow as tf

    for case in keras_more_cases():
        rng = np.random.default_rng(zlib.crc32(f"{framework} {case.name}".encode()))
        net, at = _more_setup(keras, case, framework, rng)
        leaves = _more_leaves(tf, at)
        masked = _more_mask_used(case, version)
        real = _more_call(tf, net, case, leaves, version)
        named = _more_named_tf(tf, case, _more_call(tf, net, case, leaves, version, toggled=True), masked)
        outputs = {k: np.asarray(v) for k, v in named.items()}
        returned = dict(zip(_more_returned(case, masked), (np.asarray(r) for r in real), strict=True))
        agree(returned, {k: outputs[k] for k in returned}, LOOP_TOLERANCE[case.dtype], f"{framework} {case.name}")
        write(framework, case.name, _more_scenario(net, at), {"framework": f"keras {keras.__version__}", **outputs})


def _more_grads(tf: Any, net: MoreNet, case: MoreCase, at: Flat, backward: dict[str, Any], version: int,
                grad: bool = True) -> tuple:  # fmt: skip
    """(L, what the network returns by name, gradients) of the real network, from GradientTape."""
    for name, variable in net.weights:
        variable.assign(at[f"weights {name}"])
    leaves = _more_leaves(tf, at)
    masked = _more_mask_used(case, version)
    with tf.GradientTape() as tape:
        tape.watch(list(leaves.values()))
        real = _more_call(tf, net, case, leaves, version)
        named = dict(zip(_more_returned(case, masked), real, strict=True))
        loss = loss_of(backward, named, tf.reduce_sum, tf.constant)
    numbers = {k: np.asarray(v) for k, v in named.items()}
    if not grad:
        return np.asarray(loss), numbers, {}
    keys = [f"weights {n}" for n, _ in net.weights] + list(leaves)
    found = tape.gradient(loss, [_tf_variable(v) for _, v in net.weights] + list(leaves.values()),
                          unconnected_gradients=tf.UnconnectedGradients.ZERO)  # fmt: skip
    return np.asarray(loss), numbers, {k: np.asarray(g) for k, g in zip(keys, found, strict=True)}


def _more_loop_grads(tf: Any, net: MoreNet, case: MoreCase, at: Flat, backward: dict[str, Any],
                     version: int) -> tuple:  # fmt: skip
    """(L, outputs, gradients, per_step) with layer 1 forward as its cell in a loop; per_step is the tape's
    gradient of the states it carries (c: of the c the cell made where the step was taken, the tensor its h is
    made from, and of the carried c where the mask held it)."""
    leaves = _more_leaves(tf, at)
    with tf.GradientTape(persistent=True) as tape:
        tape.watch(list(leaves.values()))
        named, record = _more_loop(tf, net, case, leaves, version)
        loss = loss_of(backward, named, tf.reduce_sum, tf.constant)
    keys = [f"weights {n}" for n, _ in net.weights] + list(leaves)
    found = tape.gradient(loss, [_tf_variable(v) for _, v in net.weights] + list(leaves.values()),
                          unconnected_gradients=tf.UnconnectedGradients.ZERO)  # fmt: skip
    grads = {k: np.asarray(g) for k, g in zip(keys, found, strict=True)}
    zero = tf.UnconnectedGradients.ZERO
    per_step = {"h": np.stack([np.asarray(g) for g in tape.gradient(loss, record["h"], unconnected_gradients=zero)],
                              axis=1)}  # fmt: skip
    if record["c"]:
        carried = [np.asarray(g) for g in tape.gradient(loss, record["c"], unconnected_gradients=zero)]
        made = [np.asarray(g) for g in tape.gradient(loss, record["made_c"], unconnected_gradients=zero)]
        masks = [np.asarray(m) for m in record["mask"]] or [np.ones((case.batch, 1), bool)] * len(made)
        per_step["c"] = np.stack([np.where(m, a, b) for m, a, b in zip(masks, made, carried, strict=True)], axis=1)
    del tape
    return np.asarray(loss), {k: np.asarray(v) for k, v in named.items()}, grads, per_step


def keras_more_gradient_fixtures(fw: str, keras: Any, version: int) -> None:
    """The gradient fixtures of Bidirectional, masks and stacks (tests/fixtures/gradients/<fw>_<name>.yaml)."""
    import tensorflow as tf

    label = f"keras {keras.__version__}"
    for case in keras_more_gradient_cases():
        rng = _grad_rng(fw, case)  # type: ignore[arg-type]
        net, at = _more_setup(keras, case, fw, rng)
        masked = _more_mask_used(case, version)
        returned = _more_returned(case, masked)
        case = case._replace(of=case.of or " ".join(returned))
        assert set(case.of.split()) <= set(returned), f"{case.name}: L of an output the network does not return"
        full = _more_call(tf, net, case, _more_leaves(tf, at), version, toggled=True)
        outputs = {k: np.asarray(v) for k, v in _more_named_tf(tf, case, full, masked).items()}
        backward = backward_block(case, {k: v.shape for k, v in outputs.items()}, rng)  # type: ignore[arg-type]
        loss, named, grads = _more_grads(tf, net, case, at, backward, version)
        what = f"{fw} {case.name}"
        agree(named, {k: outputs[k] for k in named}, LOOP_TOLERANCE[case.dtype], f"{what}: returned vs every output")
        loop_loss, loop_outputs, loop_grads, per_step = _more_loop_grads(tf, net, case, at, backward, version)
        agree(loop_outputs, outputs, LOOP_TOLERANCE[case.dtype], f"{what}: layer 1 forward's cell in a loop")
        agree(loop_grads, grads, GRAD_TOLERANCE[case.dtype], f"{what}: gradients, the loop vs the network")
        agree({"L": loop_loss}, {"L": loss}, GRAD_TOLERANCE[case.dtype], what)
        checked = ""
        if case.dtype == "float64":
            gap = check_finite_differences(
                what, lambda v, c=case, n=net, b=backward: _more_grads(tf, n, c, v, b, version, False)[0], at, grads
            )
            _more_grads(tf, net, case, at, backward, version, False)  # the weights back as they were
            checked = f" (central differences agree to {gap:.1e} of the largest gradient)"
        words = " → ".join(_more_words(spec) for spec in case.layers)
        if case.masking is not None:
            words = f"Masking(mask_value={case.masking:g}) → {words}"
        extra = "".join(
            [
                ", float64" if case.dtype == "float64" else "",
                ", initial state given" * case.initial_state,
                ", masked by the mask argument" * (case.mask is not None and case.masking is None),
            ]
        )
        how = (
            f"weights, inputs and initial-state gradients from {label} (tf.GradientTape) on the network as Keras "
            "calls it; per_step from layer 1 forward's cell called step by step with Keras's masking (every other "
            "layer and direction the real one), the tape's gradient of the states it carries"
        )
        description = f"Gradients through time of {words}{extra}: {loss_words(case)}; {how}."  # type: ignore[arg-type]
        scenario = {"title": net.scenario["title"], "description": description, **_more_scenario(net, at)}
        scenario["backward"] = backward
        reference = {"framework": label, **outputs, "gradients": gradients_of(loss, grads, per_step)}
        write_gradient(fw, case.name, scenario, reference, checked)


def _more_words(spec: dict[str, Any]) -> str:
    if spec["cls"] == "Bidirectional":
        backward = f", backward_layer={_more_words(spec['backward'])}" if spec["backward"] else ""
        return f"Bidirectional({_more_words(spec['inner'])}, merge_mode={spec['merge_mode']}{backward})"
    return f"{spec['cls']}(" + ", ".join(f"{k}={v!r}" for k, v in spec["kw"].items()) + ")"


# --------------------------------------------------------------------------- models-onnx
# ONNX model files for lstm_trace/models/onnx_file.py, in tests/fixtures/models/: exported by torch
# (torch.onnx.export's TorchScript exporter, which writes plain LSTM, GRU and RNN nodes), by tf2onnx from a
# tf_keras model, and made with onnx.helper where a file needs what no exporter writes (Constant nodes, an
# Identity, sequence_lens, peepholes, a bias given at run time, unnamed nodes). Each step runs where its
# package is; a venv with all of them does all:
#   torch:       the torch exports, the onnx.helper models and the hostile files
#   tf2onnx:     onnx_keras.onnx (with TF_USE_LEGACY_KERAS=1: tf2onnx converts tf_keras models)
#   onnxruntime: NAME.onnx.npz for every model below: per recurrent node L, L/inputs (B, T, F) (the node's own
#                X, batch-major) and L/Y, L/Y_h (and L/Y_c) as onnxruntime returned them
MODELS = OUT / "models"
ONNX_MODEL_FEEDS: dict[str, dict[str, tuple[int, ...] | str]] = {  # graph input → shape (random) or "zeros SHAPE"
    "onnx_torch_stack": {"x": (5, 3, 3)},
    "onnx_torch_external": {"x": (2, 4, 4)},
    "onnx_constants": {"x": (5, 3, 2), "gru_bias": "zeros 1 24"},
    "onnx_keras": {"x": (3, 5, 3)},
}


def onnx_model_fixtures(framework: str) -> None:
    import importlib.util

    MODELS.mkdir(parents=True, exist_ok=True)
    have = {name: importlib.util.find_spec(name) is not None for name in ("torch", "tf2onnx", "onnxruntime")}
    if have["torch"]:
        _onnx_torch_models()
        _onnx_helper_models()
        _onnx_hostile_models()
    if have["tf2onnx"]:
        _onnx_keras_model()
    if have["onnxruntime"]:
        _onnx_model_outputs()
    if not any(have.values()):
        print("models-onnx: nothing to do here: run it with torch, tf2onnx or onnxruntime installed")


def _onnx_torch_models() -> None:
    """onnx_torch_stack (LSTM 2 layers bidirectional → GRU → RNN relu → Linear; the batch and time dynamic, so
    the exporter computes zero initial states from the input's shape), onnx_torch_external (LSTM batch_first
    with a learned initial state for a batch of 2, weights in external data) and onnx_computed_w (exported
    without constant folding: W is computed by Unsqueeze and Concat nodes from the module's parameters)."""
    import onnx
    import torch
    from torch import nn

    print(f"torch {torch.__version__}, onnx {onnx.__version__}")
    torch.manual_seed(1400)

    class Stack(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.lstm = nn.LSTM(3, 4, num_layers=2, bidirectional=True)
            self.gru = nn.GRU(8, 3)
            self.rnn = nn.RNN(3, 5, nonlinearity="relu")
            self.head = nn.Linear(5, 2)

        def forward(self, x: Any) -> Any:
            y, _ = self.lstm(x)
            y, _ = self.gru(y)
            y, _ = self.rnn(y)
            return self.head(y)

    class Learned(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.lstm = nn.LSTM(4, 5, batch_first=True)
            self.h0 = nn.Parameter(torch.randn(1, 2, 5) * 0.5)
            self.c0 = nn.Parameter(torch.randn(1, 2, 5) * 0.5)

        def forward(self, x: Any) -> Any:
            return self.lstm(x, (self.h0, self.c0))[0]

    def export(module: Any, x: Any, path: Path, **options: Any) -> None:
        torch.onnx.export(
            module.eval(), (x,), str(path), dynamo=False, opset_version=17, input_names=["x"], output_names=["y"],
            **options,
        )  # fmt: skip

    stack = MODELS / "onnx_torch_stack.onnx"
    export(Stack(), torch.randn(5, 3, 3), stack, dynamic_axes={"x": {0: "T", 1: "B"}})
    external = MODELS / "onnx_torch_external.onnx"
    export(Learned(), torch.randn(2, 4, 4), external)
    model = onnx.load(str(external))
    data = external.name + ".data"
    (MODELS / data).unlink(missing_ok=True)  # onnx appends to an existing data file
    onnx.save_model(model, str(external), save_as_external_data=True, all_tensors_to_one_file=True, location=data,
                    size_threshold=100)  # fmt: skip
    export(nn.GRU(3, 4), torch.randn(5, 2, 3), MODELS / "onnx_computed_w.onnx", do_constant_folding=False)
    whole = stack.read_bytes()  # a damaged file: the first half of a real one, cut inside an initializer
    (MODELS / "onnx_truncated.onnx").write_bytes(whole[: len(whole) // 2])
    for name in ("onnx_torch_stack", "onnx_torch_external", "onnx_computed_w", "onnx_truncated"):
        print(f"wrote {MODELS / name}.onnx")


def _onnx_helper_models() -> None:
    """onnx_constants: an unnamed bidirectional LSTM whose W is a Constant node (float_data), R an Identity of
    an initializer, with B, P, initial_h, initial_c, sequence_lens, clip and per-direction activations; beside
    it a GRU (reverse, linear_before_reset 0) whose B is a graph input, fed zeros when its outputs are computed."""
    from onnx import TensorProto, helper, numpy_helper

    rng = np.random.default_rng(1401)
    hidden, features, batch, grus = 3, 2, 3, 4

    def uniform(*shape: int) -> np.ndarray:
        return rng.uniform(-0.6, 0.6, shape).astype(np.float32)

    w = uniform(2, 4 * hidden, features)
    initializers = [
        numpy_helper.from_array(uniform(2, 4 * hidden, hidden), "lstm_R_stored"),
        numpy_helper.from_array(uniform(2, 8 * hidden), "lstm_B"),
        numpy_helper.from_array(uniform(2, 3 * hidden), "lstm_P"),
        numpy_helper.from_array(rng.uniform(-1, 1, (2, batch, hidden)).astype(np.float32), "lstm_h0"),
        numpy_helper.from_array(rng.uniform(-1, 1, (2, batch, hidden)).astype(np.float32), "lstm_c0"),
        numpy_helper.from_array(uniform(1, 3 * grus, features), "gru_W"),
        numpy_helper.from_array(uniform(1, 3 * grus, grus), "gru_R"),
    ]
    nodes = [
        helper.make_node(
            "Constant", [], ["lstm_W"], name="W_constant",
            value=helper.make_tensor("W", TensorProto.FLOAT, w.shape, w.ravel().tolist()),
        ),
        helper.make_node("Identity", ["lstm_R_stored"], ["lstm_R"], name="R_identity"),
        helper.make_node(
            "Constant", [], ["lens"], name="lens_constant",
            value=helper.make_tensor("lens", TensorProto.INT32, [batch], [5, 2, 4]),
        ),
        helper.make_node(
            "LSTM", ["x", "lstm_W", "lstm_R", "lstm_B", "lens", "lstm_h0", "lstm_c0", "lstm_P"],
            ["lstm_Y", "lstm_Y_h", "lstm_Y_c"], name="", hidden_size=hidden, direction="bidirectional", clip=2.5,
            activations=["Sigmoid", "Tanh", "Tanh", "HardSigmoid", "Softsign", "Tanh"],
            activation_alpha=[0.25], activation_beta=[0.45],
        ),
        helper.make_node(
            "GRU", ["x", "gru_W", "gru_R", "gru_bias"], ["gru_Y", "gru_Y_h"], name="gru_reverse",
            hidden_size=grus, direction="reverse", linear_before_reset=0,
        ),
    ]  # fmt: skip
    graph = helper.make_graph(
        nodes,
        "constants",
        [
            helper.make_tensor_value_info("x", TensorProto.FLOAT, ["T", batch, features]),
            helper.make_tensor_value_info("gru_bias", TensorProto.FLOAT, [1, 6 * grus]),
        ],
        [
            helper.make_tensor_value_info("lstm_Y_h", TensorProto.FLOAT, None),
            helper.make_tensor_value_info("gru_Y", TensorProto.FLOAT, None),
        ],
        initializers,
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)], producer_name="make_fixtures")
    model.ir_version = 8
    _onnx_save(model, "onnx_constants")


def _onnx_tiny_lstm(doc: str, w: Any, hidden_size: int = 1) -> Any:
    """A one-node LSTM (hidden_size 1, F 1) whose W (1, 4, 1) is the tensor `w`; R and B stored in the file."""
    from onnx import TensorProto, helper, numpy_helper

    graph = helper.make_graph(
        [helper.make_node("LSTM", ["x", "W", "R", "B"], ["Y", "Y_h", "Y_c"], name="lstm", hidden_size=hidden_size)],
        "tiny",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["T", "B", 1])],
        [helper.make_tensor_value_info("Y_h", TensorProto.FLOAT, None)],
        [
            w,
            numpy_helper.from_array(np.full((1, 4, 1), 0.5, np.float32), "R"),
            numpy_helper.from_array(np.zeros((1, 8), np.float32), "B"),
        ],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)], producer_name="make_fixtures")
    model.ir_version = 8
    model.doc_string = doc
    return model


def _onnx_external(location: str, offset: int = 0, length: int = 16) -> Any:
    """W (1, 4, 1) float32 stored as external data at `location`: a reader that follows it reads those bytes."""
    from onnx import TensorProto

    tensor = TensorProto(name="W", data_type=TensorProto.FLOAT, dims=[1, 4, 1], data_location=TensorProto.EXTERNAL)
    for key, value in (("location", location), ("offset", str(offset)), ("length", str(length))):
        entry = tensor.external_data.add()
        entry.key, entry.value = key, value
    return tensor


def _onnx_hostile_models() -> None:
    """Files a reader must refuse. Nothing in an ONNX file runs; what each would do to a reader that trusted it
    is in its doc_string: read a file outside the model's folder into the weights (and so into a trace anyone
    may be shown), or allocate what its dims claim. Beside them onnx_bad_shape, whose attribute and weights
    disagree."""
    from onnx import TensorProto, numpy_helper

    hostile = {
        "onnx_hostile_parent": (
            "W's external data is ../outside.bin: a reader that followed it would read a file outside the "
            "model's folder into the weights.",
            _onnx_external("../outside.bin"),
        ),
        "onnx_hostile_absolute": (
            "W's external data is /etc/passwd: a reader that followed it would show 16 bytes of that file "
            "as weights.",
            _onnx_external("/etc/passwd"),
        ),
        "onnx_hostile_symlink": (
            "W's external data is onnx_hostile_symlink.weights, which the tests make a symlink to a file "
            "outside the model's folder: a reader that followed it would read that file.",
            _onnx_external("onnx_hostile_symlink.weights"),
        ),
        "onnx_hostile_external_size": (
            "W's external data claims 16 bytes at offset 4096 of a 16-byte file: a reader that trusted it "
            "would read past the end.",
            _onnx_external("onnx_hostile_external_size.onnx.data", offset=4096),
        ),
        "onnx_hostile_dims": (
            "W's dims claim (1, 4000000, 2), 32 MB, while it holds 16 bytes: a reader that allocated from "
            "the dims would take 32 MB for a 300-byte file.",
            TensorProto(name="W", data_type=TensorProto.FLOAT, dims=[1, 4_000_000, 2],
                        raw_data=np.zeros(4, "<f4").tobytes()),
        ),
    }  # fmt: skip
    for name, (doc, w) in hostile.items():
        _onnx_save(_onnx_tiny_lstm(f"HOSTILE: {doc}", w), name)
    w = numpy_helper.from_array(np.full((1, 4, 1), 0.5, np.float32), "W")
    doc = "DAMAGED: hidden_size 2, while W and R are shaped for 1: no ONNX runtime would load it."
    _onnx_save(_onnx_tiny_lstm(doc, w, hidden_size=2), "onnx_bad_shape")
    (MODELS / "onnx_hostile_external_size.onnx.data").write_bytes(np.ones(4, "<f4").tobytes())


def _onnx_keras_model() -> None:
    """onnx_keras: a tf_keras Sequential LSTM(4, return_sequences) → GRU(3) → Dense(2), converted by tf2onnx."""
    if os.environ.get("TF_USE_LEGACY_KERAS") != "1":
        print("onnx_keras skipped: tf2onnx converts tf_keras models: run with TF_USE_LEGACY_KERAS=1")
        return
    try:
        import tensorflow as tf
        import tf2onnx
        import tf_keras as keras

        keras.utils.set_random_seed(1402)
        model = keras.Sequential(
            [
                keras.Input((5, 3)),
                keras.layers.LSTM(4, return_sequences=True, name="lstm"),
                keras.layers.GRU(3, name="gru"),
                keras.layers.Dense(2, name="head"),
            ]
        )
        spec = (tf.TensorSpec((None, 5, 3), tf.float32, name="x"),)
        proto, _ = tf2onnx.convert.from_keras(model, input_signature=spec, opset=17)
    except Exception as error:  # a converter that does not support this TensorFlow: say why, write nothing
        print(f"onnx_keras skipped: tf2onnx failed: {type(error).__name__}: {error}")
        return
    print(f"tensorflow {tf.__version__}, tf_keras {keras.__version__}, tf2onnx {tf2onnx.__version__}")
    _onnx_save(proto, "onnx_keras")


def _onnx_save(model: Any, name: str) -> None:
    import onnx

    onnx.save_model(model, str(MODELS / f"{name}.onnx"))
    print(f"wrote {MODELS / name}.onnx")


def _onnx_model_outputs() -> None:
    """NAME.onnx.npz from onnxruntime: every recurrent node's X, Y, Y_h (and Y_c) made graph outputs, the
    graph's inputs fed seeded random numbers (or zeros where ONNX_MODEL_FEEDS says so)."""
    import onnx
    import onnxruntime

    print(f"onnxruntime {onnxruntime.__version__}")
    for k, (stem, feeds) in enumerate(ONNX_MODEL_FEEDS.items()):
        path = MODELS / f"{stem}.onnx"
        if not path.exists():
            print(f"{stem}.npz skipped: {path.name} is not there (its exporter has not run)")
            continue
        model = onnx.load(str(path))  # with its external data, from its folder
        rng = np.random.default_rng(1410 + k)
        given = {}
        for name, spec in feeds.items():
            if isinstance(spec, str):
                given[name] = np.zeros([int(n) for n in spec.split()[1:]], np.float32)
            else:
                given[name] = rng.normal(size=spec).astype(np.float32)
        wanted: list[tuple[str, str, str]] = []  # (graph output, layer name, what); nodes may share an X
        unnamed: dict[str, int] = {}
        for node in model.graph.node:
            if node.op_type not in ONNX_GATES or node.domain not in ("", "ai.onnx"):
                continue
            name = node.name
            if not name:  # as the reader names an unnamed node: LSTM_1, LSTM_2, ... by operator
                unnamed[node.op_type] = unnamed.get(node.op_type, 0) + 1
                name = f"{node.op_type}_{unnamed[node.op_type]}"
            outs = ["Y", "Y_h", "Y_c"] if node.op_type == "LSTM" else ["Y", "Y_h"]
            while len(node.output) < len(outs):
                node.output.append("")
            for j, what in enumerate(outs):
                if not node.output[j]:
                    node.output[j] = f"{name}/{what}"
                wanted.append((node.output[j], name, what))
            wanted.append((node.input[0], name, "inputs"))
            assert not any(a.name == "layout" and a.i for a in node.attribute), "onnxruntime takes layout 0 only"
        known = {out.name for out in model.graph.output}
        model.graph.output.extend(
            onnx.ValueInfoProto(name=n) for n in dict.fromkeys(w[0] for w in wanted) if n not in known
        )
        session = onnxruntime.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
        names = [out.name for out in session.get_outputs()]
        results = dict(zip(names, session.run(None, given), strict=True))
        arrays = {}
        for out, name, what in wanted:
            value = results[out]
            arrays[f"{name}/{what}"] = value.transpose(1, 0, 2) if what == "inputs" else value  # X (T, B, F)
        np.savez(MODELS / f"{stem}.onnx.npz", **arrays)
        print(f"wrote {stem}.onnx.npz: " + ", ".join(f"{key} {value.shape}" for key, value in arrays.items()))


# ---- models-keras, models-keras2: Keras model files (.keras, .h5) for lstm_trace/models/keras_file.py -------------
#
# Each model is built, given seeded weights and saved by the framework itself. Beside each file NAME.EXT goes
# NAME.EXT.npz: for every recurrent layer L (and every chain "a,b" the reader offers as one stack), L/inputs is what
# L received in the model (a sub-model from the model's input to L's input; where a Masking layer feeds L directly,
# the Masking layer's input, as the scenario's `masking:` takes it), L/mask the (B, T) mask that reaches L from a
# Masking layer further back, and L's outputs in the contract's names from a copy of L built from its own
# get_config() with return_sequences and return_state on, its weights set, called on those inputs with that mask.
# That copy's outputs are checked against what L returned inside the model before anything is written.

MODELS_OUT = OUT / "models"
LAMBDA_MARKER = "/tmp/lstm-trace-keras-lambda-ran"  # the hostile Lambda's code creates this file when it runs


class KerasModelCase(NamedTuple):
    name: str  # file name without suffix
    build: Callable[[Any], Any]  # keras module → model
    inputs: np.ndarray
    masking: dict[str, float]  # recurrent layer → mask_value of the Masking layer that feeds it directly
    masked: tuple[str, ...]  # recurrent layers a Masking layer's mask reaches from further back
    chains: tuple[tuple[str, ...], ...]  # runs of recurrent layers, each fed by the one before
    scale: float = 0.6  # weights uniform in ±scale


def _keras3_sequential(keras: Any) -> Any:
    L = keras.layers
    return keras.Sequential(
        [
            keras.Input((6, 3)),
            L.Masking(0.0, name="masking"),
            L.LSTM(4, return_sequences=True, name="lstm"),
            L.GRU(3, name="gru"),
            L.Dense(2, name="dense"),
        ],
        name="sequential",
    )


def _keras3_functional(keras: Any) -> Any:
    """Two LSTMs named against their order (zeta saved as layers/lstm, alpha as layers/lstm_1, or the reverse)."""
    L = keras.layers
    inp = keras.Input((5, 4), name="x")
    a = L.Bidirectional(L.LSTM(3, return_sequences=True, name="enc"), name="bi")(inp)
    a = L.SimpleRNN(4, return_sequences=True, name="rnn")(a)
    a = L.LSTM(2, name="zeta")(a)
    b = L.LSTM(3, activation="relu", name="alpha")(inp)
    out = L.Dense(2, name="head")(L.Concatenate(name="cat")([a, b]))
    return keras.Model(inp, out, name="functional")


def _tf_keras_sequential(keras: Any) -> Any:
    L = keras.layers
    return keras.Sequential(
        [
            L.Masking(0.0, input_shape=(5, 3), name="masking"),
            L.LSTM(4, recurrent_activation="hard_sigmoid", return_sequences=True, name="lstm"),
            L.GRU(3, reset_after=False, name="gru"),
            L.Dense(2, name="dense"),
        ],
        name="sequential",
    )


def _tf_keras_functional(keras: Any) -> Any:
    """Two LSTMs named against their order, and a Bidirectional GRU: tf_keras's .keras has no names by the weights."""
    L = keras.layers
    inp = keras.Input((5, 3), name="x")
    a = L.Bidirectional(L.GRU(2, reset_after=False, return_sequences=True, name="enc"), name="bi")(inp)
    a = L.SimpleRNN(3, name="rnn")(a)
    b = L.LSTM(3, recurrent_activation="hard_sigmoid", return_sequences=True, name="zed")(inp)
    b = L.LSTM(2, name="abc")(b)
    out = L.Dense(2, name="head")(L.Concatenate(name="cat")([a, b]))
    return keras.Model(inp, out, name="functional")


def _hostile_lambda(keras: Any) -> Any:
    """A Lambda whose code, if anything ever ran it, would create LAMBDA_MARKER; then an LSTM the reader must import.

    Keras stores the lambda as marshalled bytecode in config.json; keras.models.load_model runs it only with
    safe_mode=False. The literal path is inside the code so that it would run anywhere.
    """
    L = keras.layers
    touch = eval(compile(f"lambda x: (open({LAMBDA_MARKER!r}, 'w').close(), x)[1]", "hostile_lambda", "eval"))
    return keras.Sequential(
        [keras.Input((4, 3)), L.Lambda(touch, name="lambda"), L.LSTM(3, name="lstm")], name="sequential"
    )


def _masked_inputs(rng: np.random.Generator, shape: tuple[int, int, int]) -> np.ndarray:
    """Random inputs with whole steps of zeros: row 2's last two steps, row 3's first and fourth."""
    x = rng.normal(size=shape).astype("float32")
    x[1, -2:] = 0.0
    x[2, [0, 3]] = 0.0
    return x


def keras_model_cases(version: int) -> list[KerasModelCase]:
    rng = np.random.default_rng(14)
    if version == 3:
        return [
            KerasModelCase("keras3_sequential", _keras3_sequential, _masked_inputs(rng, (3, 6, 3)),
                           {"lstm": 0.0}, ("gru",), (("lstm", "gru"),)),
            KerasModelCase("keras3_functional", _keras3_functional, rng.normal(size=(2, 5, 4)).astype("float32"),
                           {}, (), (("bi", "rnn", "zeta"),)),
            KerasModelCase("keras_hostile_lambda", _hostile_lambda, rng.normal(size=(2, 4, 3)).astype("float32"),
                           {}, (), ()),
        ]  # fmt: skip
    return [  # weights up to ±2: gates reach where 0.2x + 1/2 and x/6 + 1/2 part and clip
        KerasModelCase("tf_keras_sequential", _tf_keras_sequential, _masked_inputs(rng, (3, 5, 3)),
                       {"lstm": 0.0}, ("gru",), (("lstm", "gru"),), scale=2.0),
        KerasModelCase("tf_keras_functional", _tf_keras_functional, rng.normal(size=(2, 5, 3)).astype("float32"),
                       {}, (), (("bi", "rnn"), ("zed", "abc")), scale=2.0),
    ]  # fmt: skip


def _keras_copy(keras: Any, layer: Any, shape: tuple[int, ...]) -> Any:
    """`layer` built again from its get_config() returning everything (sequence and states), with its weights."""
    config = layer.get_config()
    if type(layer).__name__ == "Bidirectional":
        for key in ("layer", "backward_layer"):
            if config.get(key):
                config[key]["config"].update(return_sequences=True, return_state=True)
    else:
        config.update(return_sequences=True, return_state=True)
    copy = type(layer).from_config(config)
    copy.build((None, *shape[1:]))
    copy.set_weights(layer.get_weights())
    return copy


def _keras_outputs(layer: Any, results: list[Any]) -> dict[str, np.ndarray]:
    """The contract's output names for what a copy returning everything gave."""
    outs = [np.asarray(r) for r in results]
    if type(layer).__name__ == "Bidirectional":
        lstm = type(layer.forward_layer).__name__ == "LSTM"
        names = ["sequence", "forward_h", "forward_c", "backward_h", "backward_c"] if lstm else \
            ["sequence", "forward_h", "backward_h"]  # fmt: skip
    else:
        names = ["sequence", "h", "c"] if type(layer).__name__ == "LSTM" else ["sequence", "h"]
    return dict(zip(names, outs, strict=True))


def _keras_layer_arrays(keras: Any, model: Any, case: KerasModelCase) -> dict[str, np.ndarray]:
    """Every recurrent layer's inputs, mask and outputs (see the section's head), checked against the model."""
    x = case.inputs
    arrays: dict[str, np.ndarray] = {}
    for layer in model.layers:
        if type(layer).__name__ not in ("LSTM", "GRU", "SimpleRNN", "Bidirectional"):
            continue
        name = layer.name
        received = keras.Model(model.inputs[0], layer.input)(x)
        if isinstance(received, (list, tuple)):  # Keras 3 also gives the mask the layer received
            received, given = np.asarray(received[0]), np.asarray(received[1])
            assert name in case.masking or name in case.masked, f"{case.name}: {name} receives a mask"
            np.testing.assert_array_equal(given, (x != 0.0).any(axis=-1), err_msg=f"{case.name}: {name}'s mask")
        received = np.asarray(received)
        mask = None
        if name in case.masking:  # the scenario's masking: takes the Masking layer's input, here the model's
            mask = (x != case.masking[name]).any(axis=-1)
            arrays[f"{name}/inputs"] = x
        else:
            arrays[f"{name}/inputs"] = received
        if name in case.masked:
            mask = (x != 0.0).any(axis=-1)
            arrays[f"{name}/mask"] = mask
        copy = _keras_copy(keras, layer, received.shape)
        kwargs = {"mask": keras.ops.convert_to_tensor(mask) if hasattr(keras, "ops") else mask} if mask is not None \
            else {}  # fmt: skip
        outputs = _keras_outputs(layer, copy(received, **kwargs))
        in_model = np.asarray(keras.Model(model.inputs[0], layer.output)(x))
        config = layer.get_config()
        sequences = (config["layer"]["config"] if "layer" in config else config)["return_sequences"]
        if sequences:
            mine = outputs["sequence"]
        elif "h" in outputs:
            mine = outputs["h"]
        else:  # a Bidirectional's last outputs, concatenated
            mine = np.concatenate([outputs["forward_h"], outputs["backward_h"]], axis=-1)
        np.testing.assert_allclose(mine, in_model, rtol=1e-6, atol=1e-6, err_msg=f"{case.name}: {name}")
        arrays.update({f"{name}/{key}": value for key, value in outputs.items()})
    for chain in case.chains:
        first, last = chain[0], chain[-1]
        arrays[f"{','.join(chain)}/inputs"] = arrays[f"{first}/inputs"]
        for key in [k for k in arrays if k.startswith(f"{last}/") and not k.endswith(("/inputs", "/mask"))]:
            arrays[f"{','.join(chain)}/{key.split('/', 1)[1]}"] = arrays[key]
    return arrays


def keras_model_fixtures(group: str) -> None:
    version = 3 if group == "models-keras" else 2
    keras = import_keras(version)
    print(f"{group}: keras {keras.__version__}")
    MODELS_OUT.mkdir(parents=True, exist_ok=True)
    for case in keras_model_cases(version):
        keras.utils.set_random_seed(14)
        model = case.build(keras)
        rng = np.random.default_rng(zlib.crc32(case.name.encode()))
        model.set_weights([rng.uniform(-case.scale, case.scale, size=w.shape).astype(w.dtype)
                           for w in model.get_weights()])  # fmt: skip
        arrays = _keras_layer_arrays(keras, model, case)
        suffixes = (".keras",) if case.name == "keras_hostile_lambda" else (".keras", ".h5")
        for suffix in suffixes:
            if version == 2 and case.name == "tf_keras_sequential" and suffix == ".keras":
                continue  # the tf_keras .keras case is the functional one
            path = MODELS_OUT / f"{case.name}{suffix}"
            model.save(path)
            np.savez(MODELS_OUT / f"{case.name}{suffix}.npz", **arrays)
            print(f"  {path.relative_to(OUT)} ({path.stat().st_size:,} bytes)")
    if version == 3:  # the file is as hostile as it says: loading it the unsafe way runs the code
        Path(LAMBDA_MARKER).unlink(missing_ok=True)  # building the model ran the Lambda here
        keras.saving.load_model(MODELS_OUT / "keras_hostile_lambda.keras", safe_mode=False)
        assert Path(LAMBDA_MARKER).exists(), "the hostile Lambda did not run when Keras loaded it"
        Path(LAMBDA_MARKER).unlink()
        keras_hostile_fixtures(MODELS_OUT / "keras3_sequential.keras", MODELS_OUT / "keras3_sequential.h5")


def keras_hostile_fixtures(archive: Path, legacy: Path) -> None:
    """Damaged and hostile files made from a good one; the reader must refuse each with a message."""
    import shutil
    import warnings
    import zipfile

    import h5py

    members: dict[str, bytes] = {}
    with zipfile.ZipFile(archive) as z:
        for name in ("metadata.json", "config.json", "model.weights.h5"):
            members[name] = z.read(name)

    def rezip(name: str, extra: list[tuple[str, bytes]], compress: int = zipfile.ZIP_STORED, **replace: bytes) -> Path:
        path = MODELS_OUT / name
        with warnings.catch_warnings(), zipfile.ZipFile(path, "w", compression=compress) as z:
            warnings.simplefilter("ignore")  # zipfile warns of a duplicate name, which is one file's point
            for member, data in [*members.items(), *extra]:
                z.writestr(member, replace.get(member.replace(".", "_"), data))
        return path

    # extracted by an unzip tool, these members would write outside the folder (a file beside it, a file in /tmp)
    rezip("keras_hostile_traversal.keras", [("../lstm-trace-escaped.txt", b"written outside the folder\n")])
    rezip("keras_hostile_absolute.keras", [("/tmp/lstm-trace-escaped.txt", b"written at an absolute path\n")])
    # config.json twice: one reader would see the first, another the second (here an LSTM twice as wide)
    rezip(
        "keras_hostile_duplicate.keras", [("config.json", members["config.json"].replace(b'"units": 4', b'"units": 8'))]
    )
    # a zip bomb: 64 MiB of zeros deflated to about 64 KB, as the weights member
    rezip("keras_hostile_bomb.keras", [], zipfile.ZIP_DEFLATED, model_weights_h5=bytes(64 << 20))
    # a member that claims 4 GB in both its headers while holding 40 KB: read as declared, 4 GB would be allocated
    _claim_size(rezip("keras_hostile_size.keras", []), b"model.weights.h5", 0xFFFFFF00)
    # cut short, as a download or a copy stopped part way
    (MODELS_OUT / "keras_hostile_truncated.keras").write_bytes(archive.read_bytes()[: archive.stat().st_size * 3 // 5])
    (MODELS_OUT / "keras_hostile_truncated.h5").write_bytes(legacy.read_bytes()[: legacy.stat().st_size * 3 // 5])
    # model_config that is not JSON: a reader that evaluated it (eval, yaml.load) would run it
    path = MODELS_OUT / "keras_hostile_config.h5"
    shutil.copy(legacy, path)
    with h5py.File(path, "r+") as f:
        f.attrs["model_config"] = "__import__('os').system('touch /tmp/lstm-trace-config-ran')"
    # a kernel whose numbers live in another file: reading it would read /etc/hostname's bytes as the weights
    path = MODELS_OUT / "keras_hostile_external.h5"
    shutil.copy(legacy, path)
    with h5py.File(path, "r+") as f:
        group = f["model_weights/lstm/sequential/lstm/lstm_cell"]
        del group["kernel"]
        group.create_dataset("kernel", shape=(3, 16), dtype="float32", external=[("/etc/hostname", 0, 3 * 16 * 4)])
    # a kernel that is a link into another file: following it would open /etc/passwd as HDF5
    path = MODELS_OUT / "keras_hostile_link.h5"
    shutil.copy(legacy, path)
    with h5py.File(path, "r+") as f:
        group = f["model_weights/lstm/sequential/lstm/lstm_cell"]
        del group["kernel"]
        group["kernel"] = h5py.ExternalLink("/etc/passwd", "/kernel")
    for made in sorted(p for p in MODELS_OUT.glob("keras_hostile_*") if "lambda" not in p.name):
        print(f"  {made.relative_to(OUT)} ({made.stat().st_size:,} bytes)")


def _claim_size(path: Path, member: bytes, size: int) -> None:
    """Write `size` as `member`'s uncompressed size in its local header and its central directory entry."""
    data = bytearray(path.read_bytes())
    for signature, name_at, size_at in ((b"PK\x03\x04", 30, 22), (b"PK\x01\x02", 46, 24)):
        at = data.find(signature)
        while at >= 0 and data[at + name_at : at + name_at + len(member)] != member:
            at = data.find(signature, at + 4)
        data[at + size_at : at + size_at + 4] = size.to_bytes(4, "little")
    path.write_bytes(bytes(data))


# --------------------------------------------------------------------------- models-torch
MODELS = OUT / "models"
MARKER = "lstm_trace_model_file_ran"  # what a hostile file creates in the working directory if it ever runs


class RunsWhenLoaded:
    """Pickled as the call `func(*args)`, which unpickling would make. Pickling it here only records the call."""

    def __init__(self, func: Any, *args: Any) -> None:
        self.func, self.args = func, args

    def __reduce__(self) -> tuple[Any, tuple[Any, ...]]:
        return self.func, self.args


class SetsState:
    """Pickled as OrderedDict() followed by BUILD with a state holding more than `_metadata`."""

    def __reduce__(self) -> tuple[Any, ...]:
        return collections.OrderedDict, (), {"_metadata": {}, "extra": [1, 2]}


def _torch_filled(torch: Any, module: Any, seed: str, dtype: str = "float32") -> Any:
    """`module` with seeded weights in (-0.6, 0.6), in `dtype`, ready to run."""
    rng = np.random.default_rng(zlib.crc32(seed.encode()))
    module = module.to(getattr(torch, dtype))
    with torch.no_grad():
        for param in module.parameters():
            param.copy_(torch.from_numpy(rng.uniform(-0.6, 0.6, size=tuple(param.shape)).astype(dtype)))
    return module.eval()


def _torch_inputs(torch: Any, seed: str, shape: tuple[int, ...], dtype: str = "float32") -> Any:
    return torch.from_numpy(np.random.default_rng(zlib.crc32(seed.encode())).normal(size=shape).astype(dtype))


def _torch_layer_outputs(name: str, module: Any, x: Any) -> tuple[dict[str, np.ndarray], Any]:
    """A batch_first nn.LSTM/GRU/RNN run on x: its npz entries (inputs, sequence, h, c) and its output."""
    output, state = module(x)
    h, c = state if isinstance(state, tuple) else (state, None)
    arrays = {f"{name}/inputs": x.numpy(), f"{name}/sequence": output.numpy(), f"{name}/h": h.numpy()}
    if c is not None:
        arrays[f"{name}/c"] = c.numpy()
    return arrays, output


def _torch_cell_outputs(torch: Any, name: str, cell: Any, x: Any) -> tuple[dict[str, np.ndarray], Any]:
    """A cell stepped over x from zero states by the tutorials' loop: its npz entries and the stacked h."""
    zeros = torch.zeros(x.shape[0], cell.hidden_size, dtype=x.dtype)
    lstm = isinstance(cell, torch.nn.LSTMCell)
    sequence, h, c = run_torch_cell_loop(cell, x, zeros, zeros.clone() if lstm else None)
    arrays = {f"{name}/inputs": x.numpy(), f"{name}/sequence": sequence.numpy(), f"{name}/h": h.numpy()}
    if c is not None:
        arrays[f"{name}/c"] = c.numpy()
    return arrays, sequence


def _save_outputs(path: Path, arrays: dict[str, np.ndarray]) -> None:
    np.savez(f"{path}.npz", **arrays)
    print(f"  models/{path.name} (+ .npz: {', '.join(sorted({k.rpartition('/')[0] for k in arrays}))})")


def _torch_models(torch: Any) -> Iterator[tuple[str, Any, dict[str, np.ndarray]]]:
    """(file name, what torch.save saves, the npz) for each readable file; safetensors and legacy files apart."""
    nn = torch.nn
    with torch.no_grad():
        # two stacked bidirectional LSTM layers, a GRU reading their output, a Linear head
        model = nn.Module()
        model.lstm = nn.LSTM(3, 4, num_layers=2, bidirectional=True, batch_first=True)
        model.gru = nn.GRU(8, 3, batch_first=True)
        model.head = nn.Linear(3, 2)
        model = _torch_filled(torch, model, "models-torch model")
        arrays, below = _torch_layer_outputs("lstm", model.lstm, _torch_inputs(torch, "model x", (2, 5, 3)))
        more, _ = _torch_layer_outputs("gru", model.gru, below)
        yield "torch_model.pt", model.state_dict(), arrays | more

        # float64: an LSTM with proj_size, then a two-layer nn.RNN without biases (tanh) reading it
        model = nn.Module()
        model.lstm = nn.LSTM(4, 5, proj_size=3, batch_first=True)
        model.rnn = nn.RNN(3, 4, num_layers=2, bias=False, batch_first=True)
        model = _torch_filled(torch, model, "models-torch proj rnn", "float64")
        arrays, below = _torch_layer_outputs("lstm", model.lstm, _torch_inputs(torch, "proj x", (2, 4, 4), "float64"))
        more, _ = _torch_layer_outputs("rnn", model.rnn, below)
        yield "torch_proj_rnn.pth", model.state_dict(), arrays | more

        # cells stepped by a loop: an LSTMCell, then a module holding a GRUCell without biases and a head
        model = nn.Module()
        model.encoder = nn.LSTMCell(3, 4)
        model.decoder = nn.Module()
        model.decoder.cell = nn.GRUCell(4, 3, bias=False)
        model.decoder.out = nn.Linear(3, 2)
        model = _torch_filled(torch, model, "models-torch cells")
        arrays, below = _torch_cell_outputs(torch, "encoder", model.encoder, _torch_inputs(torch, "cells x", (2, 4, 3)))
        more, _ = _torch_cell_outputs(torch, "decoder.cell", model.decoder.cell, below)
        yield "torch_cells.bin", model.state_dict(), arrays | more

    # a training checkpoint: the state_dict after one Adam step, the optimizer's state, an epoch, a Parameter
    model = nn.Module()
    model.rnn = nn.GRU(2, 3, bidirectional=True, batch_first=True)
    model.fc = nn.Linear(6, 1)
    model = _torch_filled(torch, model, "models-torch checkpoint")
    x = _torch_inputs(torch, "checkpoint x", (3, 4, 2))
    optimizer = torch.optim.Adam(model.parameters(), lr=0.01)
    model.fc(model.rnn(x)[0]).square().mean().backward()
    optimizer.step()
    with torch.no_grad():
        arrays, _ = _torch_layer_outputs("model_state_dict.rnn", model.rnn, x)
    checkpoint = {"epoch": 3, "model_state_dict": model.state_dict(), "optimizer_state_dict": optimizer.state_dict(),
                  "loss": 0.25, "temperature": nn.Parameter(torch.ones(1))}  # fmt: skip
    yield "torch_checkpoint.pth", checkpoint, arrays


def torch_model_file_fixtures(framework: str) -> None:
    """tests/fixtures/models/torch*: state_dicts saved by torch.save (zip and legacy formats), the same
    weights as .safetensors, bfloat16 weights, and hostile files that must be refused without running."""
    import safetensors.torch
    import torch

    print(f"torch {torch.__version__}, safetensors {safetensors.__version__}")
    MODELS.mkdir(parents=True, exist_ok=True)
    nn = torch.nn
    for name, saved, arrays in _torch_models(torch):
        torch.save(saved, MODELS / name)
        _save_outputs(MODELS / name, arrays)
        if name == "torch_model.pt":  # the same weights as safetensors
            safetensors.torch.save_file(saved, MODELS / "torch_model.safetensors")
            _save_outputs(MODELS / "torch_model.safetensors", arrays)

    # the legacy format (torch.save before torch 1.6): an nn.RNN (tanh) in both directions and a head
    with torch.no_grad():
        model = nn.Module()
        model.rnn = nn.RNN(2, 3, bidirectional=True, batch_first=True)
        model.head = nn.Linear(6, 1)
        model = _torch_filled(torch, model, "models-torch legacy")
        arrays, _ = _torch_layer_outputs("rnn", model.rnn, _torch_inputs(torch, "legacy x", (2, 3, 2)))
        torch.save(model.state_dict(), MODELS / "torch_legacy.pt", _use_new_zipfile_serialization=False)
        _save_outputs(MODELS / "torch_legacy.pt", arrays)

        # bfloat16 weights, stored as such: torch computes here in float32 on the same (exactly widened) values
        gru = _torch_filled(torch, nn.GRU(3, 4, batch_first=True), "models-torch bfloat16").to(torch.bfloat16)
        state = {f"gru.{k}": v for k, v in gru.state_dict().items()}
        arrays, _ = _torch_layer_outputs("gru", gru.float(), _torch_inputs(torch, "bfloat16 x", (2, 4, 3)))
        torch.save(state, MODELS / "torch_bfloat16.pt")
        safetensors.torch.save_file(state, MODELS / "torch_bfloat16.safetensors")
        for name in ("torch_bfloat16.pt", "torch_bfloat16.safetensors"):
            _save_outputs(MODELS / name, arrays)
    _torch_hostile_files(torch)


def _torch_hostile_files(torch: Any) -> None:
    """Files that run code when torch.load(weights_only=False) or pickle.load reads them, and files whose
    declared sizes lie. Each says below what it would do; the tests check that nothing of it happens."""
    nn = torch.nn
    lstm = _torch_filled(torch, nn.LSTM(2, 3), "models-torch hostile")
    weights = {f"lstm.{k}": v for k, v in lstm.state_dict().items()}
    # would run `touch lstm_trace_model_file_ran` (os.system, which pickles as posix.system)
    torch.save(
        {**weights, "payload": RunsWhenLoaded(os.system, f"touch {MARKER}")}, MODELS / "torch_hostile_os_system.pt"
    )
    # would create the marker file through builtins.exec
    code = f"open({MARKER!r}, 'w').close()"
    torch.save({**weights, "payload": RunsWhenLoaded(exec, code)}, MODELS / "torch_hostile_exec.pt")
    # would create the marker file through builtins.eval of an expression that imports os
    expression = f"__import__('os').system('touch {MARKER}')"
    torch.save({**weights, "payload": RunsWhenLoaded(eval, expression)}, MODELS / "torch_hostile_eval.pth")
    # the same os.system call in the legacy format
    torch.save({**weights, "payload": RunsWhenLoaded(os.system, f"touch {MARKER}")},
               MODELS / "torch_hostile_legacy.pt", _use_new_zipfile_serialization=False)  # fmt: skip
    # torch.save(model): a pickled nn.Module, whose classes unpickling imports and builds
    torch.save(nn.Sequential(lstm, nn.Linear(3, 1)), MODELS / "torch_hostile_module.pt")
    # a TorchScript archive: a module with its code
    torch.jit.save(torch.jit.script(nn.GRU(2, 3)), MODELS / "torch_hostile_torchscript.pt")
    # an OrderedDict whose BUILD state sets an attribute besides torch's _metadata: harmless here, but BUILD
    # is how a pickle sets the state of what it constructed, and a state_dict uses it for _metadata alone
    torch.save({**weights, "payload": SetsState()}, MODELS / "torch_hostile_build.pt")
    # a tensor reading past its storage: offset 10 and 12 elements in a storage of 16
    _torch_zip(torch, MODELS / "torch_hostile_overrun.pt", {"lstm.weight_hh_l0": (10, (4, 3), (3, 1))}, 16, 16)
    # a storage that declares 48 elements while the archive holds 16
    _torch_zip(torch, MODELS / "torch_hostile_short_storage.pt", {"lstm.weight_hh_l0": (0, (12, 3), (3, 1))}, 48, 16)
    _safetensors_hostile()
    for path in sorted(MODELS.glob("torch_hostile_*")):
        print(f"  models/{path.name}")


def _torch_zip(torch: Any, path: Path, tensors: dict[str, tuple[int, tuple[int, ...], tuple[int, ...]]],
               declared: int, stored: int) -> None:  # fmt: skip
    """A zip archive as torch.save writes it, by hand: each tensor (offset, size, stride) views storage "0",
    which declares `declared` float32 elements while the archive holds `stored`."""
    import io
    import pickle
    import zipfile

    class Storage:
        pass

    storage = Storage()

    class Tensor:
        def __init__(self, offset: int, size: tuple[int, ...], stride: tuple[int, ...]) -> None:
            self.args = (storage, offset, size, stride, False, collections.OrderedDict())

        def __reduce__(self) -> tuple[Any, tuple[Any, ...]]:
            return torch._utils._rebuild_tensor_v2, self.args

    class Pickler(pickle.Pickler):
        def persistent_id(self, obj: Any) -> Any:
            return ("storage", torch.FloatStorage, "0", "cpu", declared) if obj is storage else None

    buffer = io.BytesIO()
    Pickler(buffer, protocol=2).dump(collections.OrderedDict((k, Tensor(*v)) for k, v in tensors.items()))
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("archive/data.pkl", buffer.getvalue())
        archive.writestr("archive/byteorder", "little")
        archive.writestr("archive/data/0", np.arange(stored, dtype="<f4").tobytes())
        archive.writestr("archive/version", "3\n")


def _safetensors_hostile() -> None:
    """safetensors files whose header lies: a length past the file, overlapping ranges, a range past the data."""
    import json

    def write(name: str, header: dict[str, Any], data: bytes, length: int | None = None) -> None:
        text = json.dumps(header).encode()
        text += b" " * (-len(text) % 8)
        (MODELS / name).write_bytes((length or len(text)).to_bytes(8, "little") + text + data)

    f32 = {"dtype": "F32", "shape": [4, 3]}
    write("torch_hostile_header.safetensors", {"lstm.weight_hh_l0": {**f32, "data_offsets": [0, 48]}},
          bytes(48), length=1 << 40)  # fmt: skip
    write("torch_hostile_overlap.safetensors", {"lstm.weight_ih_l0": {**f32, "data_offsets": [0, 48]},
          "lstm.weight_hh_l0": {**f32, "data_offsets": [16, 64]}}, bytes(64))  # fmt: skip
    write("torch_hostile_offsets.safetensors", {"lstm.weight_hh_l0": {**f32, "data_offsets": [16, 64]}}, bytes(32))


GENERATORS: dict[str, Callable[[str], None]] = {
    "keras": keras_fixtures,
    "keras2": keras_fixtures,
    "torch": torch_fixtures,
    "tf1": tf1_fixtures,
    "onnx": onnx_fixtures,
    "mistakes-keras": keras_mistake_fixtures,
    "mistakes-keras2": keras_mistake_fixtures,
    "mistakes-torch": torch_mistake_fixtures,
    "mistakes-tf1": tf1_mistake_fixtures,
    "mistakes-onnx": onnx_mistake_fixtures,
    "gradients-keras": keras_gradient_fixtures,
    "gradients-keras2": keras_gradient_fixtures,
    "gradients-torch": torch_gradient_fixtures,
    "gradients-tf1": tf1_gradient_fixtures,
    "gradients-onnx": onnx_gradient_fixtures,
    "models-onnx": onnx_model_fixtures,
    "models-keras": keras_model_fixtures,
    "models-keras2": keras_model_fixtures,
    "models-torch": torch_model_file_fixtures,
}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("frameworks", nargs="+", choices=sorted(GENERATORS))
    args = parser.parse_args(argv)
    for framework in args.frameworks:
        GENERATORS[framework](framework)
    return 0


if __name__ == "__main__":
    sys.exit(main())
