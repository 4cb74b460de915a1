"""TF1: a tf.compat.v1.nn.rnn_cell cell run by dynamic_rnn in a graph of its own, and the same cell stepped.

The cell is made from the scenario's arguments and its variables loaded by their own names (each TF variable
takes the scenario's weight whose name ends the same way: `kernel`, `w_i_diag`, `gates/kernel`, ...). Per-step
states come from the same cell called step by step on the same variables, a row past its sequence_length
keeping its state, as dynamic_rnn does. TF1's cells come from tf_keras, which TensorFlow loads when
TF_USE_LEGACY_KERAS=1 is set before it is imported; the graph keeps eager execution on for everything else.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any

import numpy as np

from ..frameworks.tf1 import WEIGHTS
from . import Real, Tolerance, Words, need, state_or_zeros

CELL_ARGS = ("num_units", "forget_bias", "use_peepholes", "cell_clip", "num_proj", "proj_clip", "activation")
RNN_ARGS = ("swap_memory", "parallel_iterations")


def run(words: Words) -> Real:
    os.environ["TF_USE_LEGACY_KERAS"] = "1"
    tf, _ = need("tf1", "tensorflow", "tf_keras")
    tf.get_logger().setLevel("ERROR")  # its deprecation notices: every TF1 API is deprecated
    entry = words.layer
    assert isinstance(entry.weights, Mapping), "TF1 weights are variables by name"
    config, layer = entry.config, entry.layer
    rnn = dict(config.get("dynamic_rnn") or {})
    time_major = bool(rnn.get("time_major", False))
    lengths = rnn.get("sequence_length")
    x = words.inputs
    dtype = getattr(tf, words.dtype)
    given = {_own(layer, key): value for key, value in entry.weights.items()}
    graph = tf.Graph()
    with graph.as_default():
        cell = getattr(tf.compat.v1.nn.rnn_cell, layer)(**_cell_args(tf, config))
        start = _initial(tf, cell, entry.initial_state, x.shape[0], dtype)
        kwargs: dict[str, Any] = {"dtype": dtype, "time_major": time_major} | {k: rnn[k] for k in RNN_ARGS if k in rnn}
        if lengths is not None:
            kwargs["sequence_length"] = list(lengths)
        if entry.initial_state:
            kwargs["initial_state"] = start
        inputs = tf.constant(x.transpose(1, 0, 2) if time_major else x)
        output, final = tf.compat.v1.nn.dynamic_rnn(cell, inputs, **kwargs)
        variables = tf.compat.v1.global_variables()
        state, per_step = start, []
        for t in range(x.shape[1]):
            _, new = cell(tf.constant(x[:, t]), state)
            if lengths is not None:
                keep = tf.constant((t < np.asarray(lengths))[:, None])
                new = tf.nest.map_structure(lambda n, o, k=keep: tf.where(k, n, o), new, state)
            state = new
            per_step.append(state)
        with tf.compat.v1.Session(graph=graph) as session:
            session.run(tf.compat.v1.global_variables_initializer())
            for variable in variables:
                variable.load(given[_own(layer, variable.name)], session)
            sequence, last, steps = session.run([output, final, per_step])
    lstm = "LSTM" in layer
    outputs = {"sequence": sequence.transpose(1, 0, 2) if time_major else sequence}
    found = {"h": np.stack([s.h if lstm else s for s in steps])}
    if lstm:
        outputs |= {"h": last.h, "c": last.c}
        found["c"] = np.stack([s.c for s in steps])
    else:
        outputs["h"] = last
    ran = f"tensorflow {tf.__version__} tf.compat.v1.nn.rnn_cell.{layer} under dynamic_rnn"
    if all(Tolerance.of(words.dtype).close(found[q][-1], outputs[q]).all() for q in found):
        return Real(ran, "tensorflow", outputs, {(0, 0): found})
    note = "per-step states not compared: the cell stepped in a loop did not give dynamic_rnn's final state"
    return Real(ran, "tensorflow", outputs, {}, (note,))


def _own(layer: str, name: str) -> str:
    """A variable's own name, its scope left out: `rnn/lstm_cell/projection/kernel:0` → `projection/kernel`."""
    plain = str(name).split(":")[0]
    return next(v for v in sorted(WEIGHTS[layer], key=len, reverse=True) if plain == v or plain.endswith("/" + v))


def _cell_args(tf: Any, config: Mapping[str, Any]) -> dict[str, Any]:
    """The cell's arguments that change its numbers; an activation named as text is TensorFlow's function."""
    args = {key: config[key] for key in CELL_ARGS if key in config}
    if "units" in config and "num_units" not in args:
        args["num_units"] = config["units"]
    name = args.get("activation")
    if isinstance(name, str):
        short = name.rsplit(".", 1)[-1]
        if short in ("linear", "identity"):
            args["activation"] = tf.identity
        else:
            args["activation"] = getattr(tf.nn, short, None) or tf.keras.activations.get(short)
    return args


def _initial(tf: Any, cell: Any, given: Mapping[str, np.ndarray], batch: int, dtype: Any) -> Any:
    """The state dynamic_rnn starts from: the scenario's c0 and h0 (a single row for every batch row), else zeros."""
    zero = cell.zero_state(batch, dtype)
    if not given:
        return zero
    lstm = isinstance(zero, tf.compat.v1.nn.rnn_cell.LSTMStateTuple)
    sizes = {"c0": zero.c.shape[-1], "h0": zero.h.shape[-1]} if lstm else {"h0": zero.shape[-1]}
    parts = {key: tf.constant(state_or_zeros(given, key, (batch, size), dtype.name)) for key, size in sizes.items()}
    return tf.compat.v1.nn.rnn_cell.LSTMStateTuple(parts["c0"], parts["h0"]) if lstm else parts["h0"]
