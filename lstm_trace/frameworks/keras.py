"""Keras 3 (`keras`) and Keras 2 (`keras2`: tf.keras, tf_keras): LSTM, GRU, SimpleRNN, Bidirectional.

Keras already writes z = x·kernel + h·recurrent_kernel + bias with gate
blocks in columns, so its layout is the canonical one; what differs is the
names (the LSTM candidate is Keras's `c`, the GRU's is `h`), the GRU's
two-row bias with reset_after, the two hard_sigmoid definitions, and the
output conventions (go_backwards returns the sequence in processing order).
This module reads one recurrent layer; keras_bidirectional.py wraps two of
them, keras_mask.py reads a mask, keras_stack.py puts layers one after another.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from typing import Any

import numpy as np

from .. import activations as A
from ..errors import ScenarioError, unknown_name
from ..model import Block, Cell, Kind
from ..yamlio import MarkedDict
from .base import (
    ActivationOption,
    Built,
    Raw,
    check_keys,
    flag,
    flags,
    inert_reason,
    positive_int,
    state_array,
)
from .keras_part import DEFAULT_NAMES, Part

KINDS: dict[str, Kind] = {"LSTM": "lstm", "GRU": "gru", "SimpleRNN": "rnn"}
GATE_COUNT = {"lstm": 4, "gru": 3, "rnn": 1}
BLOCKS = {
    "lstm": (Block("i", "i"), Block("f", "f"), Block("c", "g"), Block("o", "o")),
    "gru": (Block("z", "z"), Block("r", "r"), Block("h", "n")),
    "rnn": (Block("h", "h"),),
}
EFFECTIVE = {
    "units",
    "activation",
    "recurrent_activation",
    "use_bias",
    "go_backwards",
    "return_sequences",
    "return_state",
    "reset_after",
    "dtype",
    "time_major",
}
INERT = {
    "name",
    "trainable",
    "stateful",
    "unroll",
    "implementation",
    "zero_output_for_mask",
    "seed",
    "dropout",
    "recurrent_dropout",
    "unit_forget_bias",
    "batch_input_shape",
    "input_shape",
    *(f"{w}_{kind}" for w in ("kernel", "recurrent", "bias") for kind in ("initializer", "regularizer", "constraint")),
    "activity_regularizer",
}
NOT_FOR = {  # options a layer does not have
    "SimpleRNN": {"recurrent_activation", "unit_forget_bias", "reset_after"},
    "GRU": {"unit_forget_bias"},
    "LSTM": {"reset_after"},
}
BOOLEANS = {  # get_config() always writes these as true or false
    "use_bias",
    "go_backwards",
    "return_sequences",
    "return_state",
    "reset_after",
    "time_major",
    "stateful",
    "unroll",
    "trainable",
    "zero_output_for_mask",
    "unit_forget_bias",
}
INERT_EXTRA = {
    "batch_input_shape": "describes the input shape; the inputs here give it",
    "input_shape": "describes the input shape; the inputs here give it",
}


class Keras:
    """Keras 3 when `version == 3`, Keras 2 (tf.keras) when 2."""

    layers = (*KINDS, "Bidirectional")
    extras = ("mask", "masking", "layers")  # top-level keys: a mask, a Masking layer in front, a Sequential stack

    def __init__(self, name: str, version: int) -> None:
        self.name = name
        self.version = version
        table = dict(A.COMMON)
        if version == 3:
            table.update(A.KERAS3_ONLY)
        else:
            table["hard_sigmoid"] = A.HARD_SIGMOID_K2
        self.activations = table
        self.aliases = {"swish": "silu", "None": "linear"}
        if version == 3:
            self.aliases["hard_swish"] = "hard_silu"

    # ---- reading -----------------------------------------------------------------
    def dtype_of(self, config: Mapping[str, Any]) -> str | None:
        """The dtype a pasted get_config() names, Keras 3 policy dicts included."""
        value = config.get("dtype")
        if isinstance(value, Mapping):
            inner = value.get("config")
            value = inner.get("name") if isinstance(inner, Mapping) else None
        return str(value) if value is not None else None

    def activation_option(self, layer: str, kind: str, role: str) -> ActivationOption:
        key = "recurrent_activation" if role == "recurrent" else "activation"
        return ActivationOption(key, key)

    def exact_activations(self) -> list[str]:
        aliases = {name: alias for alias, name in self.aliases.items() if alias != "None"}
        return [
            f"{name} (or {aliases[name]})" if name in aliases else name
            for name, act in self.activations.items()
            if act.exact is not None
        ]

    def activation(self, raw: Raw, key: str, default: str) -> A.Activation:
        value = raw.config.get(key, default)
        if isinstance(value, Mapping):  # {"class_name": "function", "config": "tanh", ...}
            value = value.get("config", value.get("class_name"))
        name = "linear" if value is None else str(value)
        name = self.aliases.get(name, name)
        found = self.activations.get(name) or self.activations.get(name.lower())
        if found is None:
            valid = sorted(set(self.activations) | set(self.aliases) - {"None"})
            err = unknown_name(f"{self.name} activation", name, valid, raw.where("config", key))
            if self.version == 2 and name in A.KERAS3_ONLY:
                err.hint = f"{name} exists only in Keras 3: use framework: keras"
            raise err
        return found

    def build(self, raw: Raw) -> Built:
        from .keras_stack import build  # the one place that puts layers, their mask and their returns together

        return build(self, raw)

    def part(self, raw: Raw, states: tuple[str, str] = ("h0", "c0")) -> Part:
        """One LSTM, GRU or SimpleRNN, its initial state read from `raw.initial_state[states]`."""
        layer = raw.layer
        kind = KINDS[layer]
        valid = (EFFECTIVE | INERT) - NOT_FOR[layer]
        if self.version == 3:
            valid -= {"time_major", "implementation"}
        check_keys(raw.config, sorted(valid), f"{layer} option", raw, "config")
        flags(raw, BOOLEANS)
        weights = self._weights_mapping(raw)
        check_keys(weights, ["kernel", "recurrent_kernel", "bias"], f"{layer} weight", raw, "weights")
        for required in ("kernel", "recurrent_kernel"):
            if required not in weights:
                raise ScenarioError(f"missing weight {required!r}", raw.where("weights"), expected=_shape_words(kind))
        raw = replace(raw, weights=weights)
        units = self._units(raw, kind)
        n = GATE_COUNT[kind]
        columns = f"{n} gates × units={units} = {n * units} columns" if n > 1 else f"units={units} columns"
        kernel = raw.array(
            "weights", "kernel", (raw.features, n * units), f"F={raw.features} input features × {columns}"
        )
        recurrent = raw.array("weights", "recurrent_kernel", (units, n * units), f"units={units} rows × {columns}")
        use_bias = flag(raw, "use_bias", True)
        reset_after = flag(raw, "reset_after", True) if kind == "gru" else True
        bias, recurrent_bias = self._biases(raw, kind, units, use_bias, reset_after)
        activation = self.activation(raw, "activation", "tanh")
        recurrent_activation = self.activation(raw, "recurrent_activation", "sigmoid")
        cell = Cell(
            kind=kind,
            units=units,
            kernel=kernel,
            recurrent=recurrent,
            activation=activation,
            recurrent_activation=recurrent_activation,
            blocks=BLOCKS[kind],
            bias=bias,
            recurrent_bias=recurrent_bias,
            reset_after=reset_after,
        )
        h0, c0 = self.initial_state(raw, kind, units, states)
        backwards = flag(raw, "go_backwards", False)
        time_major = flag(raw, "time_major", False)
        return Part(
            name=str(raw.config.get("name") or DEFAULT_NAMES[layer]),
            class_name=layer,
            cells=(cell,),
            h0=(h0,),
            c0=(c0,),
            backwards=(backwards,),
            sequences=flag(raw, "return_sequences", False),
            state=flag(raw, "return_state", False),
            zero_output=(flag(raw, "zero_output_for_mask", False),),
            stated=any(key in raw.initial_state for key in states),
            header=self._header(layer, kind, units, activation, recurrent_activation, reset_after, use_bias),
            notes=self._notes(raw, kind, units, activation, recurrent_activation, reset_after, backwards, time_major),
            inert=tuple(
                (key, INERT_EXTRA.get(key) or inert_reason(key) or "no effect on a forward pass")
                for key in raw.config
                if key in INERT
            ),
            config=dict(raw.config),
        )

    def _weights_mapping(self, raw: Raw) -> Mapping[str, Any]:
        """Weight names with their scopes stripped; a get_weights() list is taken in order."""
        weights = raw.weights
        if isinstance(weights, list):
            names = ["kernel", "recurrent_kernel", "bias"]
            if not 2 <= len(weights) <= 3:
                raise ScenarioError(
                    "a weights list must be [kernel, recurrent_kernel, bias] as get_weights() returns it",
                    raw.where("weights"),
                    found=f"{len(weights)} arrays",
                )
            out = MarkedDict(zip(names, weights, strict=False))
            out.line, out.key_lines = getattr(weights, "line", None), {}
            return out
        out = MarkedDict()
        out.line = getattr(weights, "line", None)
        out.key_lines = {}
        for key, value in weights.items():
            short = strip_scope(str(key))
            if short in out:
                raise ScenarioError(f"weight {short!r} given twice", raw.where("weights", str(key)))
            out[short] = value
            out.key_lines[short] = weights.line_of(key) if hasattr(weights, "line_of") else None
        return out

    def _units(self, raw: Raw, kind: str) -> int:
        if "units" in raw.config:
            return positive_int(raw, "units", raw.config["units"])
        recurrent = raw.array("weights", "recurrent_kernel", None, "")
        if recurrent.ndim != 2 or recurrent.shape[0] == 0:
            raise ScenarioError(
                "units is not given and cannot be read from recurrent_kernel",
                raw.where("weights", "recurrent_kernel"),
                expected="a 2-D recurrent_kernel (units, G·units), or config.units",
                found=f"shape {recurrent.shape}",
            )
        return int(recurrent.shape[0])

    def _biases(
        self, raw: Raw, kind: str, units: int, use_bias: bool, reset_after: bool
    ) -> tuple[np.ndarray | None, np.ndarray | None]:
        n = GATE_COUNT[kind] * units
        if "bias" not in raw.weights:
            if use_bias:
                raise ScenarioError(
                    "missing weight 'bias'",
                    raw.where("weights"),
                    expected=_bias_words(kind, units, reset_after),
                    hint="or set use_bias: false",
                )
            return None, None
        if not use_bias:
            raise ScenarioError(
                "use_bias is false, but a bias is given", raw.where("weights", "bias"), hint="remove one of them"
            )
        if kind == "gru" and reset_after:
            both = raw.array("weights", "bias", (2, n), _bias_words(kind, units, reset_after))
            return both[0], both[1]
        return raw.array("weights", "bias", (n,), _bias_words(kind, units, reset_after)), None

    def initial_state(
        self, raw: Raw, kind: str, units: int, names: tuple[str, str] = ("h0", "c0")
    ) -> tuple[np.ndarray, np.ndarray | None]:
        """h0 (and an LSTM's c0) from `raw.initial_state[names]`, zeros where absent."""
        if names == ("h0", "c0"):  # a layer of its own: nothing else may be there
            check_keys(raw.initial_state, ["h0", "c0"] if kind == "lstm" else ["h0"], "initial state", raw,
                       "initial_state")  # fmt: skip
        shape = (raw.batch, units)

        def state(key: str) -> np.ndarray:
            if key not in raw.initial_state:
                return np.zeros(shape, raw.dtype)
            return state_array(raw, key, shape, f"B={raw.batch} batch rows × units={units}")

        return state(names[0]), (state(names[1]) if kind == "lstm" else None)

    # ---- explaining ----------------------------------------------------------------
    def _header(
        self,
        layer: str,
        kind: str,
        units: int,
        activation: A.Activation,
        recurrent: A.Activation,
        reset_after: bool,
        use_bias: bool,
    ) -> str:
        parts = [f"{self.name} {layer}(units={units})", f"activation={activation.name}"]
        if kind != "rnn":
            parts.append(f"recurrent_activation={recurrent.name}")
        if kind == "gru":
            parts.append(f"reset_after={reset_after}")
        if not use_bias:
            parts.append("use_bias=False")
        return " · ".join(parts)

    def _notes(
        self,
        raw: Raw,
        kind: str,
        units: int,
        activation: A.Activation,
        recurrent: A.Activation,
        reset_after: bool,
        backwards: bool,
        time_major: bool,
    ) -> tuple[str, ...]:
        order = " | ".join(b.native for b in BLOCKS[kind])
        notes = [f"Keras column blocks {order}, each {units} wide; z = x·kernel + h·recurrent_kernel + bias."]
        if kind == "lstm":
            notes.append("Keras calls the candidate block c; canonically it is g (c is the cell state).")
        if kind == "gru":
            notes.append("Keras calls the candidate block h; canonically it is n. h' = z ⊙ h + (1 − z) ⊙ n.")
            if reset_after:
                notes.append(
                    "reset_after=True: bias is [input bias; recurrent bias], and r multiplies "
                    "(h·U_h + recurrent bias_h) after the product."
                )
            else:
                notes.append("reset_after=False: r multiplies h before the product: (r ⊙ h)·U_h.")
        for act in {activation.name: activation, recurrent.name: recurrent}.values():
            if act.name == "hard_sigmoid":
                other = (
                    "clip(0.2·x + 1/2, 0, 1) in Keras 2" if self.version == 3 else "clip(x/6 + 1/2, 0, 1) in Keras 3"
                )
                notes.append(f"hard_sigmoid here is {act.formula} ({self.name}); it is {other}.")
        if backwards:
            notes.append(
                "go_backwards=True: step t=1 reads the last input; the sequence is returned in the "
                "order processed, not flipped back."
            )
        if time_major:
            notes.append("time_major=True: the layer takes and returns (T, B, ...) arrays; shown here batch-major.")
        if raw.config.get("activation", "tanh") is None:
            notes.append("activation=None means linear: a(x) = x.")
        return tuple(notes)


def strip_scope(name: str) -> str:
    """`lstm/lstm_cell/kernel:0` → `kernel`: Keras prints variables with their scopes."""
    return name.split(":")[0].rsplit("/", 1)[-1]


def _shape_words(kind: str) -> str:
    n = GATE_COUNT[kind]
    return f"kernel (F, {n}·units) and recurrent_kernel (units, {n}·units)"


def _bias_words(kind: str, units: int, reset_after: bool) -> str:
    n = GATE_COUNT[kind]
    if kind == "gru" and reset_after:
        return f"[input bias; recurrent bias], 2 rows × {n} gates × units={units} (reset_after=True)"
    return f"{n} gates × units={units} = {n * units} values" if n > 1 else f"units={units} values"


FRAMEWORKS = {"keras": Keras("keras", 3), "keras2": Keras("keras2", 2)}
