"""The trace as one JSON object, written as a stream of chunks so long traces never sit in memory whole.

`outputs` holds exactly what the framework returns, in its shapes. `steps`
holds every step of every layer and direction, gates named canonically and by
the framework's own names. Integral values are written as integers, float32
values with the shortest digits that read back to the same float32, and
non-finite values as null (listed under `nonfinite`).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from fractions import Fraction

import numpy as np

from .. import __version__
from ..backward import BackRun
from ..gradients import Gradients
from ..trace import Run, Trace
from .jsonnum import array_json, number, rows

_CHUNK_VALUES = 1 << 16  # about the numbers formatted in one call: enough to pay for the call, few enough to stream


def _ranges(steps: Iterable[int], size: int) -> list[tuple[int, int]]:
    """`steps` in their order as ranges [s0, s1) of consecutive steps, at most `size` long."""
    ranges: list[list[int]] = []
    for s in steps:
        if ranges and s == ranges[-1][1] and s - ranges[-1][0] < size:
            ranges[-1][1] += 1
        else:
            ranges.append([s, s + 1])
    return [(s0, s1) for s0, s1 in ranges]


def _native(run: Run, vector: np.ndarray) -> np.ndarray:
    """Gate columns reordered from canonical into the framework's block order."""
    cell = run.cell
    return np.concatenate([vector[..., cell.block(b.canonical)] for b in cell.blocks], axis=-1)


def _columns_of(part: np.ndarray, whole: np.ndarray, cols: slice) -> bool:
    """Whether `part` is the view whole[..., cols] (a gate's record reads the run's arrays), so its text is there."""
    view = whole[..., cols]
    return (
        part.shape == view.shape
        and part.strides == view.strides
        and part.__array_interface__["data"][0] == view.__array_interface__["data"][0]
    )


class _Texts:
    """Steps s0 … s1−1 of one run as text: each recorded array formatted once, in one call, and its text reused.

    Gate arrays (xW, hU, pre, act) are cut into (step, batch row, gate) pieces, so
    `pre` in the framework's block order and each gate's `pre` in `gates` and
    `native_gates` are joins of the same text. `h` of a step is `h_prev` of the next.
    """

    def __init__(self, run: Run, s0: int, s1: int) -> None:
        cell, batch, g = run.cell, int(run.x.shape[1]), len(run.cell.gates)
        shape = (s1 - s0, batch, g, cell.units)
        order = [cell.gates.index(b.canonical) for b in cell.blocks]  # native block k is canonical gate order[k]

        def per_step(pieces: list[str]) -> list[str]:  # (step, batch row) pieces → each step's (B, n) list
            return ["[[" + "], [".join(pieces[i : i + batch]) + "]]" for i in range(0, len(pieces), batch)]

        self.s0, self.heads = s0, _gate_heads(run)
        vectors = {"x": run.x[s0:s1], "h": run.h[s0 : s1 + 1]}
        if run.c is not None:
            vectors["c"] = run.c[s0 : s1 + 1]
        if run.c_act is not None:
            vectors["c_act"] = run.c_act[s0:s1]
        if run.gated is not None:
            vectors["reset_gated"] = run.gated[s0:s1]
        self.text = {name: per_step(rows(a)) for name, a in vectors.items()}
        split: dict[str, list[str]] = {}
        for name, a in (("xW", run.xw), ("hU", run.hu), ("pre", run.pre)):
            split[name] = pieces = rows(a[s0:s1].reshape(shape))
            self.text[name] = per_step([", ".join(row) for row in zip(*(pieces[k::g] for k in order), strict=True)])
        whole = {"pre": run.pre, "act": run.act}
        parts = {"pre": {q: run.blocks[q].pre for q in cell.gates}, "act": {q: run.blocks[q].act for q in cell.gates}}
        if run.pre_clipped is not None:
            whole["clipped"] = run.pre_clipped
            parts["clipped"] = {q: run.pre_clipped[..., cell.block(q)] for q in cell.gates}
        for which, of_gate in parts.items():
            if all(_columns_of(part, whole[which], cell.block(q)) for q, part in of_gate.items()):
                pieces = split.get(which) or rows(whole[which][s0:s1].reshape(shape))
                self.text.update({f"{which}.{q}": per_step(pieces[k::g]) for k, q in enumerate(cell.gates)})
            else:  # a record of its own: its own text
                self.text.update({f"{which}.{q}": per_step(rows(part[s0:s1])) for q, part in of_gate.items()})

    def __call__(self, name: str, s: int) -> str:
        """Step s's value of x, h (h_prev of step s + 1), c, c_act, reset_gated, xW, hU, pre (the framework's
        block order) or one canonical gate's `pre.i`, `act.i`, `clipped.i`."""
        return self.text[name][s - self.s0]


def _gate_heads(run: Run) -> list[tuple[str, str]]:
    """Per block, in the framework's order: how its entry opens in `gates` and in `native_gates`."""
    cell = run.cell
    heads = []
    for block in cell.blocks:
        terms = json.dumps([term.key for term in run.terms(block.canonical)])  # what the engine summed, in order
        common = f'"activation": "{cell.activation_of(block.canonical).name}", "terms": {terms}, "pre": '
        heads.append(
            (
                f'"{block.canonical}": {{"native": "{block.native}", {common}',
                f'"{block.native}": {{"canonical": "{block.canonical}", {common}',
            )
        )
    return heads


def _step(run: Run, s: int, text: _Texts, back: BackRun | None = None) -> str:
    cell = run.cell
    fields = {"layer": run.layer, "direction": run.direction, "t": s + 1, "reads": int(run.reads[s]) + 1}
    out = [json.dumps(fields)[:-1], ', "x": ', text("x", s), ', "h_prev": ', text("h", s)]
    if run.c is not None:
        out += [', "c_prev": ', text("c", s)]
    for name in ("xW", "hU", "pre"):
        out += [f', "{name}": ', text(name, s)]
    bodies = []  # each block's pre, act (and clipped): one text, in `gates` and again in `native_gates`
    for block in cell.blocks:
        body = [text("pre." + block.canonical, s), ', "act": ', text("act." + block.canonical, s)]
        if run.pre_clipped is not None:
            body += [', "clipped": ', text("clipped." + block.canonical, s)]
        bodies.append(body)
    for key, side in (("gates", 0), ("native_gates", 1)):
        out.append(f', "{key}": {{')
        for n, (heads, body) in enumerate(zip(text.heads, bodies, strict=True)):
            out += [", " if n else "", heads[side], *body, "}"]
        out.append("}")
    if run.gated is not None:
        out += [', "reset_gated": ', text("reset_gated", s)]
    if run.c is not None and run.c_act is not None:
        out += [', "c": ', text("c", s + 1), ', "c_act": ', text("c_act", s)]
    out += [', "h": ', text("h", s + 1)]
    if run.active is not None:
        out += [', "active": ', json.dumps(run.active[s].tolist())]
    if back is not None:
        out += [', "backward": ', _backward_step(back, s)]
    out.append("}")
    return "".join(out)


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
    loss_text = number(loss if isinstance(loss, Fraction) else float(loss), False)
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
        "merges": [{"output": m.name, "mode": m.mode, "formula": m.formula} for m in trace.merges],
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
        per_step = run.x[0].size + 4 * run.pre[0].size + 3 * run.h[0].size
        for s0, s1 in _ranges(steps if steps is not None else range(run.steps), max(1, _CHUNK_VALUES // per_step)):
            text = _Texts(run, s0, s1)
            for s in range(s0, s1):
                yield ("" if first else ",\n") + _step(run, s, text, back)
                first = False
    yield "]}\n"
