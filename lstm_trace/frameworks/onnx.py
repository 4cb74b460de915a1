"""ONNX (`onnx`): the LSTM, GRU and RNN operators, as onnxruntime computes them.

An ONNX node keeps both directions in one tensor: W (D, G·H, F), R (D, G·H, H)
and B (D, 2·G·H) = [Wb; Rb], with the LSTM's blocks in the order i, o, f, c and
its peepholes P (D, 3H) in the order i, o, f. It computes X·Wᵀ, so kernels are
transposed here and the blocks reordered into canonical i, f, g, o. Its
attributes add what no other framework has: a separate activation for the
cell output (`activations` gives f, g, h per direction), `clip`, which bounds
every pre-activation before its activation, and `input_forget`, which
couples the forget gate to the input gate (f = 1 − i).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import numpy as np

from .. import activations as A
from ..errors import ScenarioError, unknown_name
from ..model import GATES as CANONICAL_GATES
from ..model import Block, Cell, Kind, Network, WeightNames
from .base import (
    ActivationOption,
    Built,
    Raw,
    Returned,
    Returns,
    Runs,
    check_keys,
    finite,
    positive_int,
    positive_number,
    reorder_blocks,
    sequence_lengths,
    sequence_output,
    state_array,
)

KINDS: dict[str, Kind] = {"LSTM": "lstm", "GRU": "gru", "RNN": "rnn"}
GATES = {kind: len(names) for kind, names in CANONICAL_GATES.items()}  # how many blocks W and R stack
BLOCKS = {
    "lstm": (Block("i", "i"), Block("o", "o"), Block("f", "f"), Block("c", "g")),
    "gru": (Block("z", "z"), Block("r", "r"), Block("h", "n")),
    "rnn": (Block("i", "h"),),
}
# canonical block k comes from ONNX block ORDER[kind][k]
ORDER = {"lstm": (0, 2, 3, 1), "gru": (0, 1, 2), "rnn": (0,)}
ROLES = {"lstm": ("f", "g", "h"), "gru": ("f", "g"), "rnn": ("f",)}  # the activations each direction lists
DEFAULT_ACTIVATIONS = {"lstm": ("Sigmoid", "Tanh", "Tanh"), "gru": ("Sigmoid", "Tanh"), "rnn": ("Tanh",)}
DIRECTIONS = ("forward", "reverse", "bidirectional")
ATTRIBUTES = {
    "hidden_size",
    "activations",
    "activation_alpha",
    "activation_beta",
    "clip",
    "direction",
    "layout",
    "sequence_lens",  # an input of the node, not an attribute, given here beside them
}
ONLY_FOR = {"input_forget": "LSTM", "linear_before_reset": "GRU"}
NAMES = WeightNames("W", "R", "Wb", "Rb", bias_label="Wb", recurrent_bias_label="Rb", projection="", transposed=True)


# ONNX's activation functions by lower-case name (onnxruntime ignores case): their spelling, whether each
# takes the next alpha and the next beta from the attribute lists, and the function given them
FUNCTIONS: dict[str, tuple[str, bool, bool, Callable[[float, float], A.Activation]]] = {
    "sigmoid": ("Sigmoid", False, False, lambda a, b: A.SIGMOID),
    "tanh": ("Tanh", False, False, lambda a, b: A.TANH),
    "relu": ("Relu", False, False, lambda a, b: A.RELU),
    "softsign": ("Softsign", False, False, lambda a, b: A.COMMON["softsign"]),
    "softplus": ("Softplus", False, False, lambda a, b: A.COMMON["softplus"]),
    "affine": ("Affine", True, True, A.affine),
    "leakyrelu": ("LeakyRelu", True, False, lambda a, b: A.leaky_relu(a)),
    "thresholdedrelu": ("ThresholdedRelu", True, False, lambda a, b: A.thresholded_relu(a)),
    "scaledtanh": ("ScaledTanh", True, True, A.scaled_tanh),
    "hardsigmoid": ("HardSigmoid", True, True, A.hard_sigmoid),
    "elu": ("Elu", True, False, lambda a, b: A.elu(a)),
}
# where the lists run out, onnxruntime's defaults; 0 for every other function, ThresholdedRelu included
DEFAULTS = {"leakyrelu": (0.01, 0.0), "hardsigmoid": (0.2, 0.5), "elu": (1.0, 0.0)}


def _blocks(array: np.ndarray, kind: str, hidden: int) -> np.ndarray:
    """ONNX's gate rows (or entries) reordered into canonical blocks."""
    return reorder_blocks(array, ORDER[kind], hidden)


class Onnx:
    name = "onnx"
    layers = tuple(KINDS)

    def activation_option(self, layer: str, kind: str, role: str) -> ActivationOption:
        what = {"recurrent": "f (the gates)", "activation": "g (the candidate)", "output": "h (the cell output)"}
        return ActivationOption(f"activations {'f' if kind == 'rnn' else what[role]}", "activations")

    def exact_activations(self) -> list[str]:
        return [
            spelling
            for key, (spelling, _, _, make) in FUNCTIONS.items()
            if make(*DEFAULTS.get(key, (0.0, 0.0))).exact is not None
        ]

    def dtype_of(self, config: Mapping[str, Any]) -> str | None:
        return None  # an ONNX node takes its element type from its inputs: the scenario's dtype says it

    def build(self, raw: Raw) -> Built:
        layer, kind = raw.layer, KINDS[raw.layer]
        valid = ATTRIBUTES | {key for key, op in ONLY_FOR.items() if op == layer}
        check_keys(raw.config, sorted(valid), f"ONNX {layer} attribute", raw, "config")
        hidden = self._hidden(raw)
        direction = self._direction(raw)
        dirs = 2 if direction == "bidirectional" else 1
        layout = self._flag(raw, "layout")
        clip = positive_number(raw, "clip")
        coupled = bool(self._flag(raw, "input_forget"))
        reset_after = bool(self._flag(raw, "linear_before_reset"))
        chosen = self._activations(raw, kind, dirs)
        if not isinstance(raw.weights, Mapping):
            raise ScenarioError("ONNX weights are a mapping of the node's input names", raw.where("weights"))
        check_keys(
            raw.weights, ["W", "R", "B", "P"] if kind == "lstm" else ["W", "R", "B"], "ONNX input", raw, "weights"
        )
        g = GATES[kind]
        rows = f"{g}·hidden_size={g * hidden}" if g > 1 else f"hidden_size={hidden}"
        w = self._weight(raw, "W", (dirs, g * hidden, raw.features), f"D={dirs} × {rows} × F={raw.features}")
        r = self._weight(raw, "R", (dirs, g * hidden, hidden), f"D={dirs} × {rows} × hidden_size={hidden}")
        b = None
        if "B" in raw.weights:
            b = raw.array("weights", "B", (dirs, 2 * g * hidden), f"D={dirs} × 2·{rows}: [Wb, Rb]")
        p = None
        if "P" in raw.weights:
            p = raw.array("weights", "P", (dirs, 3 * hidden), f"D={dirs} × 3·hidden_size={3 * hidden}: i, o, f")
        cells = tuple(
            self._cell(kind, hidden, d, w, r, b, p, chosen[d], clip, coupled, reset_after) for d in range(dirs)
        )
        h0, c0 = self._initial_state(raw, kind, dirs, hidden, layout)
        lengths = sequence_lengths(raw, raw.config.get("sequence_lens"), raw.where("config"), "sequence_lens")
        backwards = {"forward": (False,), "reverse": (True,), "bidirectional": (False, True)}[direction]
        network = Network((cells,), raw.inputs, (h0,), (c0,), backwards=backwards, lengths=lengths)
        return Built(
            network=network,
            header=self._header(layer, hidden, direction, layout, clip, coupled, reset_after, kind),
            config=dict(raw.config),
            returns=returns(layout, lengths),
            notes=self._notes(kind, hidden, dirs, layout, chosen, clip, coupled, reset_after, lengths, b, p),
        )

    # ---- reading -----------------------------------------------------------------------
    def _hidden(self, raw: Raw) -> int:
        if "hidden_size" in raw.config:
            return positive_int(raw, "hidden_size", raw.config["hidden_size"])
        if isinstance(raw.weights, Mapping) and "R" in raw.weights:  # R is (D, G·H, H)
            shape = raw.array("weights", "R", None, "").shape
            if len(shape) == 3:
                return int(shape[2])
        raise ScenarioError("hidden_size is not given", raw.where("config"), expected="config.hidden_size")

    def _direction(self, raw: Raw) -> str:
        value = raw.config.get("direction", "forward")
        if value not in DIRECTIONS:
            raise unknown_name("direction", str(value), DIRECTIONS, raw.where("config", "direction"))
        return str(value)

    def _flag(self, raw: Raw, key: str) -> int:
        """An attribute that is 0 or 1: an ONNX int, so neither true and false nor 1.0."""
        value = raw.config.get(key, 0)
        if isinstance(value, bool) or not isinstance(value, int) or value not in (0, 1):
            raise ScenarioError(f"{key} must be 0 or 1", raw.where("config", key), found=repr(value))
        return int(value)

    def _numbers(self, raw: Raw, key: str) -> list[float]:
        value = raw.config.get(key, [])
        ok = isinstance(value, list) and all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in value)
        if not ok:
            raise ScenarioError(f"{key} must be a list of numbers", raw.where("config", key), found=repr(value))
        where = raw.where("config", key)
        return [finite(v, where.child(k)) for k, v in enumerate(value)]  # as written: --exact takes 0.2 as 1/5

    def _activations(self, raw: Raw, kind: str, dirs: int) -> list[dict[str, A.Activation]]:
        """Per direction, the activation for each role (f, g, h), taking alphas and betas in list order."""
        roles = ROLES[kind]
        names = raw.config.get("activations", list(DEFAULT_ACTIVATIONS[kind]) * dirs)
        where = raw.where("config", "activations")
        if not isinstance(names, list) or not all(isinstance(n, str) for n in names):
            raise ScenarioError("activations must be a list of names", where, found=repr(names))
        if len(names) != len(roles) * dirs:
            raise ScenarioError(
                f"activations must list {len(roles) * dirs} functions",
                where,
                expected=f"{', '.join(roles)} for each of {dirs} direction{'s' if dirs > 1 else ''}",
                found=f"{len(names)}: {names}",
            )
        alphas, betas = self._numbers(raw, "activation_alpha"), self._numbers(raw, "activation_beta")
        chosen: list[dict[str, A.Activation]] = []
        for d in range(dirs):
            picked = {}
            for role, name in zip(roles, names[d * len(roles) : (d + 1) * len(roles)], strict=True):
                key = name.lower()
                if key not in FUNCTIONS:
                    raise unknown_name("ONNX activation", name, [f[0] for f in FUNCTIONS.values()], where)
                _, takes_alpha, takes_beta, make = FUNCTIONS[key]
                alpha, beta = DEFAULTS.get(key, (0.0, 0.0))
                if takes_alpha and alphas:
                    alpha = alphas.pop(0)
                if takes_beta and betas:
                    beta = betas.pop(0)
                picked[role] = make(alpha, beta)
            chosen.append(picked)
        return chosen

    def _weight(self, raw: Raw, key: str, shape: tuple[int, ...], meaning: str) -> np.ndarray:
        if key not in raw.weights:
            raise ScenarioError(f"missing input {key}", raw.where("weights"), expected=f"{key}: {meaning}")
        return raw.array("weights", key, shape, meaning)

    def _cell(
        self,
        kind: Kind,
        hidden: int,
        d: int,
        w: np.ndarray,
        r: np.ndarray,
        b: np.ndarray | None,
        p: np.ndarray | None,
        acts: dict[str, A.Activation],
        clip: float | None,
        coupled: bool,
        reset_after: bool,
    ) -> Cell:
        width = GATES[kind] * hidden
        peepholes = None
        if p is not None:  # ONNX orders them i, o, f; the canonical order is i, f, o
            peepholes = np.stack([p[d, :hidden], p[d, 2 * hidden :], p[d, hidden : 2 * hidden]])
        return Cell(
            kind=kind,
            units=hidden,
            kernel=_blocks(w[d], kind, hidden).T.copy(),
            recurrent=_blocks(r[d], kind, hidden).T.copy(),
            activation=acts["g"] if kind != "rnn" else acts["f"],
            recurrent_activation=acts["f"],
            blocks=BLOCKS[kind],
            bias=None if b is None else _blocks(b[d, :width], kind, hidden),
            recurrent_bias=None if b is None else _blocks(b[d, width:], kind, hidden),
            reset_after=reset_after,
            names=NAMES,
            peepholes=peepholes,
            output_activation=acts.get("h"),
            pre_clip=clip,
            coupled_forget=coupled,  # input_forget is an LSTM attribute only
        )

    def _initial_state(
        self, raw: Raw, kind: str, dirs: int, hidden: int, layout: int
    ) -> tuple[tuple[np.ndarray, ...], tuple[np.ndarray | None, ...]]:
        keys = ["initial_h", "initial_c"] if kind == "lstm" else ["initial_h"]
        check_keys(raw.initial_state, keys, "initial state", raw, "initial_state")
        bsz = raw.batch
        shape = (dirs, bsz, hidden) if layout == 0 else (bsz, dirs, hidden)
        meaning = f"D={dirs} × B={bsz} × H={hidden}" if layout == 0 else f"B={bsz} × D={dirs} × H={hidden} (layout 1)"

        def state(key: str) -> tuple[np.ndarray, ...]:
            if key not in raw.initial_state:
                return tuple(np.zeros((bsz, hidden), raw.dtype) for _ in range(dirs))
            array = state_array(raw, key, shape, meaning)
            return tuple(array[d] if layout == 0 else array[:, d] for d in range(dirs))

        h0 = state("initial_h")
        c0 = state("initial_c") if kind == "lstm" else tuple(None for _ in range(dirs))
        return h0, c0

    # ---- explaining ----------------------------------------------------------------------
    def _header(
        self,
        layer: str,
        hidden: int,
        direction: str,
        layout: int,
        clip: float | None,
        coupled: bool,
        reset_after: bool,
        kind: str,
    ) -> str:
        parts = [f"hidden_size={hidden}"]
        if direction != "forward":
            parts.append(f"direction={direction}")
        if layout:
            parts.append("layout=1")
        if clip is not None:
            parts.append(f"clip={clip:g}")
        if coupled:
            parts.append("input_forget=1")
        if kind == "gru" and reset_after:
            parts.append("linear_before_reset=1")
        return f"ONNX {layer}({', '.join(parts)})"

    def _notes(
        self,
        kind: str,
        hidden: int,
        dirs: int,
        layout: int,
        chosen: list[dict[str, A.Activation]],
        clip: float | None,
        coupled: bool,
        reset_after: bool,
        lengths: np.ndarray | None,
        b: np.ndarray | None,
        p: np.ndarray | None,
    ) -> tuple[str, ...]:
        g = GATES[kind]
        order = " | ".join(block.native for block in BLOCKS[kind])
        notes = [
            f"ONNX W is (D, {g * hidden}, F): ONNX computes X·Wᵀ; each direction's W is shown as x·Wᵀ with "
            f"blocks {order}, each {hidden} wide.",
        ]
        if b is not None:
            notes.append(f"ONNX B = [Wb, Rb], each {g * hidden} wide; both are added, shown as Wb and Rb.")
        if p is not None:
            notes.append("ONNX P lists the peepholes i, o, f; i and f see the previous c, o the new c.")
        for d, acts in enumerate(chosen):
            named = ", ".join(f"{role} = {act.name} ({act.formula})" for role, act in acts.items())
            prefix = ("forward: " if d == 0 else "reverse: ") if dirs == 2 else ""
            notes.append(f"activations: {prefix}{named}.")
        if kind == "lstm":
            notes.append("ONNX LSTM: i, o, f use f; the candidate c uses g; h = o ⊙ h(C).")
        if kind == "gru":
            if reset_after:
                notes.append("linear_before_reset=1: r multiplies (h·R_h + Rb_h); h' = (1 − z) ⊙ n + z ⊙ h.")
            else:
                notes.append("linear_before_reset=0: r multiplies h before R_h; h' = (1 − z) ⊙ n + z ⊙ h.")
        if clip is not None:
            notes.append(f"clip={clip:g}: every pre-activation is clipped to ±{clip:g} before its activation.")
        if coupled:
            notes.append("input_forget=1: the forget gate is 1 − i; the f sum is computed but not used.")
        if lengths is not None:
            notes.append(
                "sequence_lens: past a row's length nothing is computed; its Y rows are zero and Y_h holds its "
                "last state (the reverse direction starts at the row's last input). A row of length 0 returns "
                "zero states, as onnxruntime does, not its initial state."
            )
        notes.append(
            "layout=1: X is (B, T, F) and Y (B, T, D, H)."
            if layout
            else "layout=0: ONNX takes X as (T, B, F); the scenario's inputs are batch-major (B, T, F)."
        )
        return tuple(notes)


def returns(layout: int, lengths: np.ndarray | None) -> Returns:
    """Y, Y_h, Y_c in the node's layout; with sequence_lens, zero states for a row of length 0."""

    def returned(runs: Runs) -> Returned:
        flat = runs[0]
        y = np.stack([sequence_output(run) for run in flat], axis=2)  # (B, T, D, H)
        states = {"h": np.stack([run.h[-1] for run in flat])}  # (D, B, H)
        if flat[0].c is not None:
            states["c"] = np.stack([run.c[-1] for run in flat if run.c is not None])
        if lengths is not None:  # onnxruntime returns zero states for a row of length 0, not its initial state
            states = {key: np.where((lengths > 0)[None, :, None], value, 0) for key, value in states.items()}
        outputs = {"sequence": y if layout else y.transpose(1, 2, 0, 3)}
        outputs.update({key: value.transpose(1, 0, 2) if layout else value for key, value in states.items()})
        given = [("Y", "sequence"), ("Y_h", "h")] + ([("Y_c", "c")] if "c" in outputs else [])
        note = "Y, Y_h, Y_c" if "c" in outputs else "Y, Y_h"
        return Returned(outputs, tuple(given), note, states_axis=layout)  # (D, B, H), or (B, D, H)

    return returned


FRAMEWORKS = {"onnx": Onnx()}
