"""`lstm-trace new`: a scenario with small random weights, in a framework's own words, to work by hand.

With integers, every weight and input is a small integer and every activation
the framework lets us choose is linear (Keras `null`, ONNX `Affine` with alpha
1 and beta 0, TF1 `identity`, torch nn.RNN `relu`), so every number of the
trace is an integer. Where a layer's gates are always σ (torch nn.LSTM and
nn.GRU, TF1's LSTM and GRU cells), the weights are in tenths instead and the
header says so. Without integers, weights and inputs are in tenths and the
activations are the framework's defaults.

A linear layer's numbers grow fast from step to step, so among a few hundred
draws from the seed the first whose every traced number stays within ±99 is
taken (or the smallest, when none does): the same command always writes the
same file. Each framework's weight names and shapes are written here, as the
scenario contract (SCENARIO.md) gives them; loading the result is what proves
them right.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from .errors import Where, unknown_name
from .render.numbers import num

DEFAULT_SEED = 1
LIMIT = 99  # the largest number a hand-work trace should need
DRAWS = 200
GATES = {"lstm": 4, "gru": 3, "rnn": 1}
KINDS = {  # each framework's layer names, as its `layers` lists them, and what they are
    "keras": {"LSTM": "lstm", "GRU": "gru", "SimpleRNN": "rnn"},
    "keras2": {"LSTM": "lstm", "GRU": "gru", "SimpleRNN": "rnn"},
    "torch": {"LSTM": "lstm", "GRU": "gru", "RNN": "rnn"},
    "tf1": {"BasicLSTMCell": "lstm", "LSTMCell": "lstm", "GRUCell": "gru", "BasicRNNCell": "rnn"},
    "onnx": {"LSTM": "lstm", "GRU": "gru", "RNN": "rnn"},
}
# integer ranges: x·W may be larger than h·U and b, since the state is what grows
INTEGER_RANGE = {"x": 2, "h": 1, "b": 1, "inputs": 2}


@dataclass(frozen=True)
class Request:
    """What `lstm-trace new` was asked for; `command` writes it back as the command line."""

    framework: str = "keras"
    layer: str = "LSTM"
    units: int = 2
    features: int = 2
    steps: int = 3
    batch: int = 1
    integers: bool = False
    seed: int = DEFAULT_SEED

    @property
    def kind(self) -> str:
        return KINDS[self.framework][self.layer]

    @property
    def command(self) -> str:
        words = [
            f"lstm-trace new --framework {self.framework} --layer {self.layer} --units {self.units}",
            f"--features {self.features} --steps {self.steps} --batch {self.batch}",
        ]
        return " ".join([*words, *(["--integers"] if self.integers else []), f"--seed {self.seed}"])


def layer_name(framework: str, given: str | None) -> str:
    """The framework's own spelling of `given` (case-insensitive; a dotted path's last part), or its first layer."""
    layers = KINDS[framework]
    if given is None:
        return next(iter(layers))
    name = given.rsplit(".", 1)[-1]
    for layer in layers:
        if layer.lower() == name.lower():
            return layer
    raise unknown_name(f"{framework} layer", given, layers, Where(path="--layer"))


def sigmoid_gates(request: Request) -> bool:
    """Whether the layer's gates are σ whatever we choose: integer weights would not stay integers."""
    return request.kind != "rnn" and request.framework in ("torch", "tf1")


# ---- the framework's own names and shapes --------------------------------------------------------
Draw = Callable[[tuple[int, ...], str], np.ndarray]  # (shape, role: x, h, b) → integers (or tenths)
Layer = tuple[dict[str, Any], dict[str, np.ndarray]]  # config, weights


def _keras(r: Request, draw: Draw) -> Layer:
    g = GATES[r.kind]
    config: dict[str, Any] = {"units": r.units}
    if r.integers:
        config["activation"] = None
        if r.kind != "rnn":
            config["recurrent_activation"] = None
    if r.kind == "gru":
        config["reset_after"] = True  # the default: bias is [input bias; recurrent bias]
    config |= {"return_sequences": True, "return_state": True}
    bias = (2, g * r.units) if r.kind == "gru" else (g * r.units,)
    weights = {
        "kernel": draw((r.features, g * r.units), "x"),
        "recurrent_kernel": draw((r.units, g * r.units), "h"),
        "bias": draw(bias, "b"),
    }
    return config, weights


def _torch(r: Request, draw: Draw) -> Layer:
    rows = GATES[r.kind] * r.units
    config: dict[str, Any] = {"input_size": r.features, "hidden_size": r.units}
    if r.kind == "rnn" and r.integers:
        config["nonlinearity"] = "relu"  # relu keeps integers integers; torch has no linear RNN
    weights = {
        "weight_ih_l0": draw((rows, r.features), "x"),
        "weight_hh_l0": draw((rows, r.units), "h"),
        "bias_ih_l0": draw((rows,), "b"),
        "bias_hh_l0": draw((rows,), "b"),
    }
    return config, weights


def _tf1(r: Request, draw: Draw) -> Layer:
    config: dict[str, Any] = {"num_units": r.units}
    if r.integers:
        config["activation"] = "identity"  # the candidate (and an LSTM's cell output); the gates stay σ

    def kernel(columns: int) -> np.ndarray:  # (F + U, columns) applied to concat([x, h])
        return np.vstack([draw((r.features, columns), "x"), draw((r.units, columns), "h")])

    if r.kind == "gru":
        return config, {
            "gates/kernel": kernel(2 * r.units),
            "gates/bias": draw((2 * r.units,), "b"),
            "candidate/kernel": kernel(r.units),
            "candidate/bias": draw((r.units,), "b"),
        }
    columns = GATES[r.kind] * r.units
    return config, {"kernel": kernel(columns), "bias": draw((columns,), "b")}


def _onnx(r: Request, draw: Draw) -> Layer:
    rows = GATES[r.kind] * r.units
    config: dict[str, Any] = {"hidden_size": r.units}
    if r.integers:  # ONNX has no linear activation; Affine(x) = alpha·x + beta is one
        roles = {"lstm": 3, "gru": 2, "rnn": 1}[r.kind]
        config |= {"activations": ["Affine"] * roles, "activation_alpha": [1] * roles, "activation_beta": [0] * roles}
    weights = {
        "W": draw((1, rows, r.features), "x"),
        "R": draw((1, rows, r.units), "h"),
        "B": np.concatenate([draw((1, rows), "b"), draw((1, rows), "b")], axis=1),  # [Wb, Rb]
    }
    return config, weights


WRITERS: dict[str, Callable[[Request, Draw], Layer]] = {
    "keras": _keras,
    "keras2": _keras,
    "torch": _torch,
    "tf1": _tf1,
    "onnx": _onnx,
}


# ---- drawing and choosing ----------------------------------------------------------------------
def _draw(request: Request, rng: np.random.Generator) -> tuple[Layer, np.ndarray]:
    """One draw: the layer and the inputs, as integers (whole numbers, or tenths where `tenths`)."""
    whole = request.integers and not sigmoid_gates(request)

    def draw(shape: tuple[int, ...], role: str) -> np.ndarray:
        top = INTEGER_RANGE[role] if whole else 5  # tenths: -0.5 .. 0.5
        return rng.integers(-top, top + 1, size=shape)

    layer = WRITERS[request.framework](request, draw)
    top = INTEGER_RANGE["inputs"] if request.integers else 10  # tenths: -1.0 .. 1.0
    return layer, rng.integers(-top, top + 1, size=(request.batch, request.steps, request.features))


def _scale(request: Request) -> int:
    """10 where weights are written in tenths, 1 where they are integers."""
    return 1 if request.integers and not sigmoid_gates(request) else 10


def _mapping(request: Request, layer: Layer, inputs: np.ndarray) -> dict[str, Any]:
    config, weights = layer
    scale, input_scale = _scale(request), 1 if request.integers else 10
    return {
        "framework": request.framework,
        "layer": request.layer,
        "config": config,
        "weights": {name: value / scale if scale != 1 else value for name, value in weights.items()},
        "inputs": inputs / input_scale if input_scale != 1 else inputs,
    }


def _largest(data: dict[str, Any]) -> float:
    """The largest magnitude of any number the trace computes (inf where it overflows)."""
    from .api import trace
    from .scenario import Scenario

    run = trace(Scenario.from_dict(data)).first
    arrays = [run.pre, run.act, run.h] + ([run.c] if run.c is not None else [])
    largest = max(float(np.max(np.abs(array))) for array in arrays)
    return largest if np.isfinite(largest) else float("inf")


def generate(request: Request) -> tuple[dict[str, Any], tuple[Layer, np.ndarray], float]:
    """The scenario mapping, the integers it was written from, and its largest traced number."""
    rng = np.random.default_rng(request.seed)
    best: tuple[float, tuple[Layer, np.ndarray]] | None = None
    for _ in range(DRAWS):
        drawn = _draw(request, rng)
        largest = _largest(_mapping(request, *drawn))
        if best is None or largest < best[0]:
            best = (largest, drawn)
        if largest <= LIMIT:
            break
    assert best is not None
    return _mapping(request, *best[1]), best[1], best[0]


# ---- the YAML text -------------------------------------------------------------------------------
def _number(value: int, scale: int) -> str:
    if scale == 1:
        return str(int(value))
    sign = "-" if value < 0 else ""
    return f"{sign}{abs(int(value)) // 10}.{abs(int(value)) % 10}"  # exactly as drawn: 0.3, never 0.30000000000000004


def _array(values: np.ndarray, scale: int, indent: str) -> list[str]:
    """An array as YAML: 1-D inline, else one block entry per leading index, rows inline."""
    if values.ndim == 1:
        return [indent + "[" + ", ".join(_number(v, scale) for v in values) + "]"]
    lines = []
    for part in values:
        inner = _array(part, scale, indent + "  ")
        lines.append(indent + "- " + inner[0].lstrip())
        lines.extend(inner[1:])
    return lines


def _value(value: Any) -> str:
    return json.dumps(value)  # null, true, "relu", [1, 1, 1]: JSON is YAML


def _header(request: Request, blocks: str, largest: float) -> list[str]:
    r = request
    what = f"A scenario to work by hand: {r.framework} {r.layer}, {r.units} unit{'s' if r.units > 1 else ''}, "
    what += f"{r.features} input feature{'s' if r.features > 1 else ''}, {r.steps} step{'s' if r.steps > 1 else ''}, "
    what += f"batch {r.batch}; gate blocks in this framework's order {blocks}."
    if r.integers and not sigmoid_gates(r):
        body = [
            f"Integer weights (input weights -{INTEGER_RANGE['x']}..{INTEGER_RANGE['x']}, recurrent weights and "
            f"biases -{INTEGER_RANGE['h']}..{INTEGER_RANGE['h']}) and integer inputs "
            f"(-{INTEGER_RANGE['inputs']}..{INTEGER_RANGE['inputs']}), with {_linear(r)}: every number in the "
            "trace is an integer.",
        ]
    elif r.integers:
        body = [
            f"The gates of a {r.framework} {r.layer} are always σ (sigmoid), so its numbers cannot stay integers:",
            "the weights are in tenths (-0.5..0.5) and the inputs integers (-2..2)"
            + (", and activation: identity makes the candidate linear." if r.framework == "tf1" else "."),
        ]
    else:
        body = ["Weights in tenths (-0.5..0.5), inputs in tenths (-1.0..1.0), the framework's default activations."]
    if largest <= LIMIT:
        body.append(f"Every number in the trace lies within ±{num(largest)}.")
    elif np.isfinite(largest):
        body.append(
            f"No draw kept every number within ±{LIMIT} (fewer steps or units would): the largest is {num(largest)}."
        )
    else:
        body.append(f"No draw kept every number within ±{LIMIT} (fewer steps or units would): this one overflows.")
    lines = [what, *body, "", "Made by this command (run it again for the same file):", f"  {r.command}"]
    return ["#" if not line else f"# {line}" for line in _wrap(lines)]


def _linear(request: Request) -> str:
    return {
        "keras": "activations null (linear)",
        "keras2": "activations null (linear)",
        "onnx": "Affine activations (alpha 1, beta 0: linear)",
        "tf1": "activation identity (linear)",
        "torch": "nonlinearity relu (integers stay integers)",
    }[request.framework]


def _wrap(lines: list[str], width: int = 100) -> list[str]:
    out: list[str] = []
    for line in lines:
        if line.startswith("  ") or len(line) <= width:
            out.append(line)
            continue
        current = ""
        for word in line.split():
            if current and len(current) + 1 + len(word) > width:
                out.append(current)
                current = word
            else:
                current = f"{current} {word}".strip()
        out.append(current)
    return out


def scenario_text(request: Request) -> str:
    """The scenario file: a header that says what it is and how to make it again, then the YAML."""
    data, ((config, weights), inputs), largest = generate(request)
    from .scenario import Scenario

    blocks = " | ".join(block.native for block in Scenario.from_dict(data).network.cells[0][0].blocks)
    scale = _scale(request)
    title = f"{request.framework} {request.layer} with random {'integer ' if scale == 1 else ''}weights"
    lines = [
        *_header(request, blocks, largest),
        f"title: {_value(f'{title} (seed {request.seed})')}",
        f"framework: {request.framework}",
        f"layer: {request.layer}",
        "config: {" + ", ".join(f"{key}: {_value(value)}" for key, value in config.items()) + "}",
        "weights:",
    ]
    for name, values in weights.items():
        lines.append(f"  {name}:  # shape {values.shape}")
        lines.extend(_array(values, scale, "    "))
    b, t, f = inputs.shape
    lines.append(f"inputs:  # (B={b}, T={t}, F={f}), batch-major")
    lines.extend(_array(inputs, 1 if request.integers else 10, "  "))
    return "\n".join(lines) + "\n"
