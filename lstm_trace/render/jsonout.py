"""The trace as one JSON object, written as a stream of chunks so long traces never sit in memory whole.

`outputs` holds exactly what the framework returns, in its shapes. `steps`
holds every step of every layer and direction, gates named canonically and by
the framework's own names. Integral values are written as integers, float32
values with the shortest digits that read back to the same float32, and
non-finite values as null (listed under `nonfinite`).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from fractions import Fraction
from typing import Any

import numpy as np

from .. import __version__
from ..backward import BackRun
from ..gradients import Gradients
from ..trace import Run, Trace
from .numbers import fraction_text


def _number(value: float | Fraction, f32: bool) -> str:
    if isinstance(value, Fraction):  # --exact: an integer, or the string "p/q"
        return str(value) if value.denominator == 1 else f'"{fraction_text(value)}"'
    if not np.isfinite(value):
        return "null"
    if float(value).is_integer() and abs(value) < 2**53:
        return str(int(value))
    return str(np.float32(value)) if f32 else repr(float(value))


def array_json(values: np.ndarray) -> str:
    """A numpy array as nested JSON lists of plain numbers."""
    f32 = values.dtype == np.float32
    if values.ndim == 0:
        return _number(values.item(), f32)
    if values.ndim == 1:
        return "[" + ", ".join(_number(v, f32) for v in values.tolist()) + "]"
    return "[" + ", ".join(array_json(v) for v in values) + "]"


def _native(run: Run, vector: np.ndarray) -> np.ndarray:
    """Gate columns reordered from canonical into the framework's block order."""
    cell = run.cell
    return np.concatenate([vector[..., cell.block(b.canonical)] for b in cell.blocks], axis=-1)


def _step(run: Run, s: int, back: BackRun | None = None) -> str:
    cell = run.cell
    fields: dict[str, Any] = {
        "layer": run.layer,
        "direction": run.direction,
        "t": s + 1,
        "reads": int(run.reads[s]) + 1,
    }
    parts = [json.dumps(fields)[:-1]]
    arrays: list[tuple[str, np.ndarray]] = [("x", run.x[s]), ("h_prev", run.h[s])]
    if run.c is not None:
        arrays.append(("c_prev", run.c[s]))
    arrays += [("xW", _native(run, run.xw[s])), ("hU", _native(run, run.hu[s])), ("pre", _native(run, run.pre[s]))]
    for name, values in arrays:
        parts.append(f'"{name}": {array_json(values)}')
    gates, native = [], []
    for block in cell.blocks:
        act = cell.activation_of(block.canonical)
        pre = array_json(run.gate(block.canonical, "pre")[s])
        post = array_json(run.gate(block.canonical)[s])
        terms = json.dumps([term.key for term in run.terms(block.canonical)])  # what the engine summed, in order
        common = f'"activation": "{act.name}", "terms": {terms}, "pre": {pre}, "act": {post}'
        if run.pre_clipped is not None:
            common += f', "clipped": {array_json(run.pre_clipped[s][..., cell.block(block.canonical)])}'
        gates.append(f'"{block.canonical}": {{"native": "{block.native}", {common}}}')
        native.append(f'"{block.native}": {{"canonical": "{block.canonical}", {common}}}')
    parts.append('"gates": {' + ", ".join(gates) + "}")
    parts.append('"native_gates": {' + ", ".join(native) + "}")
    if run.gated is not None:
        parts.append(f'"reset_gated": {array_json(run.gated[s])}')
    if run.c is not None and run.c_act is not None:
        parts.append(f'"c": {array_json(run.c[s + 1])}')
        parts.append(f'"c_act": {array_json(run.c_act[s])}')
    parts.append(f'"h": {array_json(run.h[s + 1])}')
    if run.active is not None:
        parts.append(f'"active": {json.dumps(run.active[s].tolist())}')
    if back is not None:
        parts.append(f'"backward": {_backward_step(back, s)}')
    return parts[0] + ", " + ", ".join(parts[1:]) + "}"


def _backward_step(back: BackRun, s: int) -> str:
    """Step s's δ's (dL/d of its state, gates before and after their activations, x) and its weight terms."""
    run, cell = back.run, back.run.cell
    fields = [f'"h": {array_json(back.dh[s + 1])}', f'"h_out": {array_json(back.dh_out[s + 1])}']
    if back.dc is not None:
        fields.append(f'"c": {array_json(back.dc[s + 1])}')
    gates = ", ".join(
        f'"{b.canonical}": {{"act": {array_json(back.quantity(b.canonical, s))}, '
        f'"pre": {array_json(back.quantity("pre_" + b.canonical, s))}}}'
        for b in cell.blocks
    )
    fields += [f'"gates": {{{gates}}}', f'"x": {array_json(back.dx[s])}', f'"h_prev": {array_json(back.dh[s])}']
    adds = back.adds(s)
    gate_columns = {"kernel", "recurrent", "bias", "recurrent_bias"}  # in the framework's block order, as "pre"
    fields.append(
        '"adds": {'
        + ", ".join(f'"{k}": {array_json(_native(run, v) if k in gate_columns else v)}' for k, v in adds.items())
        + "}"
    )
    return "{" + ", ".join(fields) + "}"


def gradients_json(grads: Gradients) -> str:
    """The contract's `gradients` object: L, and dL/d every weight, input and initial state by its own name."""
    named = lambda d: "{" + ", ".join(f"{json.dumps(k)}: {array_json(v)}" for k, v in d.items()) + "}"  # noqa: E731
    loss = grads.loss
    loss_text = _number(loss if isinstance(loss, Fraction) else float(loss), False)
    return (
        f'{{"loss": {loss_text}, "of": {json.dumps(grads.backward.describe())}, '
        f'"weights": {named(grads.weights)}, "inputs": {array_json(grads.inputs)}, '
        f'"initial_state": {named(grads.initial_state)}, "per_step": {named(grads.per_step())}}}'
    )


def iter_json(trace: Trace, steps: list[int] | None = None) -> Iterator[str]:
    """The JSON document in chunks, one step at a time."""
    sc = trace.scenario
    head = {
        "lstm_trace": __version__,
        "scenario": {
            "file": str(sc.source) if sc.source else None,
            "title": sc.title,
            "framework": sc.framework,
            "layer": sc.layer,
            "dtype": sc.dtype,
            "exact": sc.exact,
            "header": sc.header,
            "notes": list(sc.notes),
            "no_effect": dict(sc.inert),
        },
        "gates": {
            "canonical": [b.canonical for b in trace.first.cell.blocks],
            "native": [b.native for b in trace.first.cell.blocks],
        },
        "returns": [{"name": label, "output": key} for label, key in trace.returns],
        "warnings": list(trace.warnings),
    }
    yield json.dumps(head, indent=None)[:-1]
    outputs = ", ".join(f'"{key}": {array_json(np.asarray(value))}' for key, value in trace.outputs.items())
    yield f', "outputs": {{{outputs}}}'
    nonfinite = [key for key, value in trace.outputs.items() if value.dtype != object and not np.isfinite(value).all()]
    yield f', "nonfinite": {json.dumps(nonfinite)}'
    grads = trace.gradients
    if grads is not None:
        yield f', "gradients": {gradients_json(grads)}'
    backs = [b for layer in grads.runs for b in layer] if grads is not None else [None] * len(trace.all_runs())
    yield ', "steps": ['
    first = True
    for run, back in zip(trace.all_runs(), backs, strict=True):
        for s in steps if steps is not None else range(run.steps):
            yield ("" if first else ",\n") + _step(run, s, back)
            first = False
    yield "]}\n"
