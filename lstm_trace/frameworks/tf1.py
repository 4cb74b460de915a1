"""TensorFlow 1 (`tf1`): tf.compat.v1.nn.rnn_cell cells run by dynamic_rnn.

TF1 cells keep one kernel for concat([x, h]): its first F rows multiply x and
the rest multiply h. LSTM columns are i, j (the candidate), f, o, and
`forget_bias` is added to f at run time, not stored in the bias. LSTMCell adds
peepholes (i and f see the previous c, o the new, clipped c), cell_clip and a
projection. GRUCell keeps gates r, u and a separate candidate kernel applied
to concat([x, r ⊙ h]). dynamic_rnn's sequence_length stops a batch row early:
its outputs are zero past its length and its state is carried unchanged.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from .. import activations as A
from ..errors import ScenarioError, unknown_name
from ..model import Block, Cell, Network, WeightNames
from .base import (
    ActivationOption,
    Built,
    Raw,
    Returned,
    Runs,
    check_keys,
    flag,
    flags,
    inert_reason,
    option,
    positive_int,
    positive_number,
    sequence_lengths,
    sequence_output,
    state_array,
    typed,
)

KINDS = {"BasicLSTMCell": "lstm", "LSTMCell": "lstm", "GRUCell": "gru", "BasicRNNCell": "rnn"}
COMMON = {"num_units", "units", "activation", "reuse", "name", "dtype", "dynamic_rnn"}
OPTIONS = {
    "BasicLSTMCell": COMMON | {"forget_bias", "state_is_tuple"},
    "LSTMCell": COMMON
    | {"forget_bias", "state_is_tuple", "use_peepholes", "cell_clip", "initializer", "num_proj", "proj_clip"}
    | {"num_unit_shards", "num_proj_shards"},
    "GRUCell": COMMON | {"kernel_initializer", "bias_initializer"},
    "BasicRNNCell": COMMON,
}
RNN_OPTIONS = ("sequence_length", "time_major", "swap_memory", "parallel_iterations", "dtype", "scope")
BOOLEANS = {"use_peepholes", "state_is_tuple"}
RNN_BOOLEANS = {"time_major", "swap_memory"}
WEIGHTS = {
    "BasicLSTMCell": ("kernel", "bias"),
    "LSTMCell": ("kernel", "bias", "w_i_diag", "w_f_diag", "w_o_diag", "projection/kernel"),
    "GRUCell": ("gates/kernel", "gates/bias", "candidate/kernel", "candidate/bias"),
    "BasicRNNCell": ("kernel", "bias"),
}
INERT = {
    "reuse": "shares variables between graph parts",
    "state_is_tuple": "how the state is packed, not its values",
    "num_unit_shards": "splits variables across devices",
    "num_proj_shards": "splits variables across devices",
    "swap_memory": "moves memory between devices",
    "parallel_iterations": "changes speed, not numbers",
    "scope": "names variables",
}
LSTM_BLOCKS = (Block("i", "i"), Block("j", "g"), Block("f", "f"), Block("o", "o"))
GRU_BLOCKS = (Block("r", "r"), Block("u", "z"), Block("c", "n"))  # gates/kernel r | u, then candidate/kernel
BLOCKS = {"lstm": LSTM_BLOCKS, "gru": GRU_BLOCKS, "rnn": (Block("h", "h"),)}


def _activation(raw: Raw) -> A.Activation:
    value = raw.config.get("activation")
    if value is None:  # TF1 cells take None to mean their default, tanh
        return A.TANH
    name = str(value).rsplit(".", 1)[-1]
    name = {"identity": "linear", "swish": "silu"}.get(name, name)
    if name not in A.COMMON:
        raise unknown_name("tf1 activation", str(value), sorted(A.COMMON), raw.where("config", "activation"))
    return A.COMMON[name]


class TF1:
    name = "tf1"
    layers = tuple(KINDS)

    def activation_option(self, layer: str, kind: str, role: str) -> ActivationOption:
        if role != "recurrent":
            return ActivationOption("activation", "activation")
        return ActivationOption(
            f"gate activation (fixed in tf1 {layer})",
            None,
            "TF1's LSTM and GRU cells always use sigmoid gates; a BasicRNNCell with an exact activation runs exactly",
        )

    def exact_activations(self) -> list[str]:
        return [name for name, act in A.COMMON.items() if act.exact is not None]

    def dtype_of(self, config: Mapping[str, Any]) -> str | None:
        value = config.get("dtype")
        rnn = config.get("dynamic_rnn")
        if value is None and isinstance(rnn, Mapping):
            value = rnn.get("dtype")
        return None if value is None else str(value).rsplit(".", 1)[-1]

    def build(self, raw: Raw) -> Built:
        layer, kind = raw.layer, KINDS[raw.layer]
        check_keys(raw.config, sorted(OPTIONS[layer]), f"{layer} argument", raw, "config")
        flags(raw, BOOLEANS)
        rnn = self._dynamic_rnn(raw)
        units = self._units(raw)
        weights = self._weights(raw, layer)
        activation = _activation(raw)
        if kind == "lstm":
            cell = self._lstm(raw, layer, weights, units, activation)
        elif kind == "gru":
            cell = self._gru(raw, weights, units, activation)
        else:
            cell = self._rnn(raw, weights, units, activation)
        where = raw.where("config", "dynamic_rnn")
        lengths = sequence_lengths(raw, rnn.get("sequence_length"), where, "sequence_length")
        h0, c0 = self._initial_state(raw, kind, units, cell.output_size)
        network = Network(((cell,),), raw.inputs, ((h0,),), ((c0,),), lengths=lengths)
        inert = [
            (key, INERT.get(key) or inert_reason(key) or "no effect on a forward pass")
            for key in raw.config
            if key in INERT or key in ("name", "initializer", "kernel_initializer", "bias_initializer")
        ]
        inert += [(f"dynamic_rnn.{key}", INERT[key]) for key in rnn if key in INERT]
        return Built(
            network=network,
            header=self._header(layer, units, cell, activation),
            config=dict(raw.config),
            returns=returned,
            notes=self._notes(raw, layer, kind, units, cell, rnn, lengths),
            inert=tuple(inert),
        )

    # ---- reading ------------------------------------------------------------------------
    def _units(self, raw: Raw) -> int:
        for key in ("num_units", "units"):
            if key in raw.config:
                return positive_int(raw, key, raw.config[key])
        raise ScenarioError("num_units is not given", raw.where("config"), expected="config.num_units")

    def _weights(self, raw: Raw, layer: str) -> dict[str, str]:
        """Our name (`gates/kernel`) → the scenario's (`rnn/gru_cell/gates/kernel:0`)."""
        if not isinstance(raw.weights, Mapping):
            raise ScenarioError("tf1 weights are a mapping of variable names", raw.where("weights"))
        valid = sorted(WEIGHTS[layer], key=len, reverse=True)
        found: dict[str, str] = {}
        for key in raw.weights:
            plain = str(key).split(":")[0]
            match = next((v for v in valid if plain == v or plain.endswith("/" + v)), None)
            if match is None:
                raise unknown_name(f"{layer} variable", str(key), WEIGHTS[layer], raw.where("weights", str(key)))
            if match in found:
                raise ScenarioError(f"variable {match!r} is given twice", raw.where("weights", str(key)))
            found[match] = str(key)
        return found

    def _get(self, raw: Raw, weights: dict[str, str], name: str, shape: tuple[int, ...], meaning: str) -> np.ndarray:
        if name not in weights:
            raise ScenarioError(f"missing variable {name!r}", raw.where("weights"), expected=f"{name}: shape {shape}")
        return raw.array("weights", weights[name], shape, meaning)

    def _split(self, raw: Raw, kernel: np.ndarray, order: tuple[int, ...], width: int) -> tuple[np.ndarray, np.ndarray]:
        """Native column blocks reordered canonically, and the x rows split from the h rows."""
        columns = np.concatenate([kernel[:, k * width : (k + 1) * width] for k in order], axis=1)
        return columns[: raw.features].copy(), columns[raw.features :].copy()

    def _lstm(self, raw: Raw, layer: str, weights: dict[str, str], units: int, activation: A.Activation) -> Cell:
        peepholes = layer == "LSTMCell" and flag(raw, "use_peepholes", False)
        num_proj = raw.config.get("num_proj") if layer == "LSTMCell" else None
        proj = positive_int(raw, "num_proj", num_proj) if num_proj is not None else 0
        out = proj or units
        rows = f"F={raw.features} input rows + {'num_proj' if proj else 'num_units'}={out} state rows"
        kernel = self._get(raw, weights, "kernel", (raw.features + out, 4 * units), f"{rows} × 4·num_units columns")
        order = (0, 2, 1, 3)  # canonical i, f, g, o from native i, j, f, o
        w, u = self._split(raw, kernel, order, units)
        bias = self._get(raw, weights, "bias", (4 * units,), "4·num_units values")
        bias = np.concatenate([bias[k * units : (k + 1) * units] for k in order])
        forget = option(raw, "forget_bias", 1.0, (int, float))
        runtime = None
        if forget:
            runtime = np.zeros(4 * units, raw.dtype)
            runtime[units : 2 * units] = forget
        peep = None
        if peepholes:
            diag = [self._get(raw, weights, f"w_{g}_diag", (units,), "num_units values") for g in "ifo"]
            peep = np.stack(diag)
        projection = (
            self._get(raw, weights, "projection/kernel", (units, proj), "num_units × num_proj") if proj else None
        )
        for name in ("w_i_diag", "w_f_diag", "w_o_diag", "projection/kernel"):
            given = name in weights
            wanted = peepholes if name.startswith("w_") else bool(proj)
            if given and not wanted:
                why = "use_peepholes is false" if name.startswith("w_") else "num_proj is not set"
                raise ScenarioError(
                    f"variable {name!r} is given but unused", raw.where("weights", weights[name]), hint=why
                )
        return Cell(
            kind="lstm",
            units=units,
            kernel=w,
            recurrent=u,
            activation=activation,
            recurrent_activation=A.SIGMOID,
            blocks=LSTM_BLOCKS,
            bias=bias,
            runtime_bias=runtime,
            names=WeightNames(
                "kernel[x rows]",
                "kernel[h rows]",
                "bias",
                runtime_bias_label="forget_bias",
                projection="projection/kernel",
            ),
            peepholes=peep,
            cell_clip=positive_number(raw, "cell_clip"),
            projection=projection,
            proj_clip=positive_number(raw, "proj_clip"),
        )

    def _gru(self, raw: Raw, weights: dict[str, str], units: int, activation: A.Activation) -> Cell:
        rows = f"F={raw.features} input rows + num_units={units} state rows"
        gates = self._get(raw, weights, "gates/kernel", (raw.features + units, 2 * units), f"{rows} × [r | u] columns")
        candidate = self._get(raw, weights, "candidate/kernel", (raw.features + units, units), f"{rows} × num_units")
        gate_bias = self._get(raw, weights, "gates/bias", (2 * units,), "2·num_units values: [r | u]")
        cand_bias = self._get(raw, weights, "candidate/bias", (units,), "num_units values")
        w, u = self._split(raw, np.concatenate([gates, candidate], axis=1), (1, 0, 2), units)  # z(u), r, n
        return Cell(
            kind="gru",
            units=units,
            kernel=w,
            recurrent=u,
            activation=activation,
            recurrent_activation=A.SIGMOID,
            blocks=GRU_BLOCKS,
            bias=np.concatenate([gate_bias[units:], gate_bias[:units], cand_bias]),
            reset_after=False,
            names=WeightNames("kernels[x rows]", "kernels[h rows]", "biases"),
        )

    def _rnn(self, raw: Raw, weights: dict[str, str], units: int, activation: A.Activation) -> Cell:
        rows = f"F={raw.features} input rows + num_units={units} state rows"
        kernel = self._get(raw, weights, "kernel", (raw.features + units, units), f"{rows} × num_units")
        w, u = self._split(raw, kernel, (0,), units)
        return Cell(
            kind="rnn",
            units=units,
            kernel=w,
            recurrent=u,
            activation=activation,
            recurrent_activation=A.SIGMOID,
            blocks=BLOCKS["rnn"],
            bias=self._get(raw, weights, "bias", (units,), "num_units values"),
            names=WeightNames("kernel[x rows]", "kernel[h rows]", "bias"),
        )

    def _dynamic_rnn(self, raw: Raw) -> Mapping[str, Any]:
        rnn = raw.config.get("dynamic_rnn")
        if rnn is None:
            rnn = {}
        if not isinstance(rnn, Mapping):
            raise ScenarioError("dynamic_rnn must be a mapping", raw.where("config", "dynamic_rnn"))
        for key in rnn:
            where = raw.where("config", "dynamic_rnn").child(key, getattr(rnn, "line_of", lambda k: None)(key))
            if key not in RNN_OPTIONS:
                raise unknown_name("dynamic_rnn argument", str(key), RNN_OPTIONS, where)
            if key in RNN_BOOLEANS:
                typed(rnn[key], bool, where)
        return rnn

    def _initial_state(self, raw: Raw, kind: str, units: int, out: int) -> tuple[np.ndarray, np.ndarray | None]:
        check_keys(raw.initial_state, ["c0", "h0"] if kind == "lstm" else ["h0"], "initial state", raw, "initial_state")
        b = raw.batch
        h0 = (
            state_array(raw, "h0", (b, out), f"B={b} × {out}")
            if "h0" in raw.initial_state
            else np.zeros((b, out), raw.dtype)
        )
        if kind != "lstm":
            return h0, None
        c0 = (
            state_array(raw, "c0", (b, units), f"B={b} × num_units={units}")
            if "c0" in raw.initial_state
            else np.zeros((b, units), raw.dtype)
        )
        return h0, c0

    # ---- explaining ------------------------------------------------------------------------
    def _header(self, layer: str, units: int, cell: Cell, activation: A.Activation) -> str:
        parts = [f"num_units={units}"]
        if cell.runtime_bias is not None:
            parts.append(f"forget_bias={cell.runtime_bias[units]:g}")
        if cell.peepholes is not None:
            parts.append("use_peepholes=True")
        if cell.cell_clip is not None:
            parts.append(f"cell_clip={cell.cell_clip:g}")
        if cell.projection is not None:
            parts.append(f"num_proj={cell.projection.shape[1]}")
        if cell.proj_clip is not None:
            parts.append(f"proj_clip={cell.proj_clip:g}")
        return f"tf1 {layer}({', '.join(parts)}) · activation={activation.name} · dynamic_rnn"

    def _notes(
        self,
        raw: Raw,
        layer: str,
        kind: str,
        units: int,
        cell: Cell,
        rnn: Mapping[str, Any],
        lengths: np.ndarray | None,
    ) -> tuple[str, ...]:
        f, out = raw.features, cell.output_size
        x_rows = "row 1 multiplies x" if f == 1 else f"rows 1-{f} multiply x"
        h_rows = f"row {f + 1}" if out == 1 else f"rows {f + 1}-{f + out}"
        name = "gates/kernel and candidate/kernel" if kind == "gru" else "kernel"
        notes = [f"TF1 {name}: {x_rows}, {h_rows} multiply h (the kernel is applied to concat([x, h]))."]
        if kind == "lstm":
            forget = cell.runtime_bias[units] if cell.runtime_bias is not None else 0
            notes.append(
                f"Columns i | j | f | o; j is the candidate (canonically g). forget_bias {forget:+g} is "
                "added to f at run time and is not stored in bias."
            )
            if cell.cell_clip is not None:
                notes.append(f"cell_clip: c is clipped to ±{cell.cell_clip:g} before the output gate sees it.")
            if cell.projection is not None:
                notes.append(
                    f"num_proj: h = m·projection/kernel with m = o ⊙ {cell.activation.name}(c); h is "
                    f"{out} wide, c stays {units}."
                )
        if kind == "gru":
            notes.append(
                "GRUCell: gates/kernel columns r | u (u is the update gate, canonically z); the candidate "
                "c (canonically n) applies candidate/kernel to concat([x, r ⊙ h]). h' = u ⊙ h + (1 − u) ⊙ c."
            )
        if lengths is not None:
            notes.append(
                "sequence_length: past a row's length nothing is computed; its output row is zero and its "
                "state is carried through unchanged."
            )
        if rnn.get("time_major"):
            notes.append("time_major=True: dynamic_rnn takes and returns (T, B, ...); shown here batch-major.")
        return tuple(notes)


def returned(runs: Runs) -> Returned:
    """outputs, state = dynamic_rnn(cell, inputs), batch-major whatever time_major says."""
    run = runs[0][0]
    sequence = sequence_output(run)
    outputs = {"sequence": sequence, "h": run.h[-1]}
    given = [("outputs", "sequence")]
    if run.c is not None:
        outputs["c"] = run.c[-1]
        given += [("state.c", "c"), ("state.h", "h")]
    else:
        given.append(("state", "h"))
    return Returned(outputs, tuple(given), "outputs, state = dynamic_rnn(cell, inputs)")


FRAMEWORKS = {"tf1": TF1()}
