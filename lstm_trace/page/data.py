"""What the interactive page carries: the layer's operations, its canonical arrays, and where each came from.

The page computes every number itself (a small JavaScript engine of the
canonical cells), so it carries the inputs to the computation and not its
results: each cell's arrays in canonical form, and, per gate block, the terms
it sums and the operations after the sum, read from the run's record — the
same record every other view reads. Arrays travel as base64 of their bytes in
the scenario's dtype, which is both small and exact.

Which number of the scenario each canonical element holds, and which runs' h
and c each returned number is, come from lstm_trace/provenance.py: the page
needs them to edit a weight by its own name and to show what the layer returns.
"""

from __future__ import annotations

import base64
from typing import TYPE_CHECKING, Any

import numpy as np

from ..activations import Activation
from ..model import Cell
from ..provenance import cell_arrays, returned_from
from ..trace import Op, Run, Trace

if TYPE_CHECKING:
    from ..scenario import Scenario


def packed(array: np.ndarray) -> dict[str, Any]:
    """An array as {dtype, shape, data: base64 of its little-endian bytes} (codes as int32)."""
    array = array.astype("<i4") if array.dtype.kind in "iu" else array.astype(array.dtype.newbyteorder("<"))
    return {
        "dtype": str(array.dtype.name),
        "shape": list(array.shape),
        "data": base64.b64encode(np.ascontiguousarray(array).tobytes()).decode("ascii"),
    }


def activation_spec(act: Activation | None) -> dict[str, Any] | None:
    if act is None:
        return None
    return {"name": act.name, "params": list(act.params), "formula": act.formula, "label": act.label}


def _op(op: Op) -> dict[str, Any]:
    return {"kind": op.kind, "activation": activation_spec(op.activation), "bound": op.bound}


def _cell_spec(cell: Cell, run: Run) -> dict[str, Any]:
    """One cell's operations as the run recorded them, and the facts needed to name them."""
    blocks = []
    for gate in cell.gates:
        record = run.blocks[gate]
        blocks.append(
            {
                "gate": gate,
                "native": cell.native_name(gate),
                "terms": [term.key for term in record.terms],
                "ops": [_op(op) for op in record.ops],
            }
        )
    return {
        "kind": cell.kind,
        "units": cell.units,
        "output_size": cell.output_size,
        "features": cell.features,
        "gates": list(cell.gates),
        "order": [b.canonical for b in cell.blocks],  # the framework's order of the same blocks
        "blocks": blocks,
        "updates": [_op(op) for op in run.updates],
        "reset_after": cell.reset_after,
        "rules": {
            "output_gate": cell.rules.output_gate,
            "new_cell_state": cell.rules.new_cell_state,
            "forget_term": cell.rules.forget_term,
            "input_gate": cell.rules.input_gate,
            "update_swapped": cell.rules.update_swapped,
        },
        "names": {
            "kernel": cell.names.kernel,
            "recurrent": cell.names.recurrent,
            "bias": cell.names.bias,
            "recurrent_bias": cell.names.recurrent_bias,
            "projection": cell.names.projection,
            "transposed": cell.names.transposed,
            "bias_label": cell.names.bias_label,
            "recurrent_bias_label": cell.names.recurrent_bias_label,
            "runtime_bias_label": cell.names.runtime_bias_label,
        },
        "arrays": {name: packed(value) for name, value in cell_arrays(cell).items()},
    }


def page_data(tr: Trace) -> dict[str, Any]:
    """Everything the page needs, as plain data for one JSON document."""
    scenario = tr.scenario
    if scenario.exact:
        raise ValueError("the page computes in floating point; trace the scenario without --exact")
    net = scenario.network
    origin = scenario.origin
    offsets, out_codes, merged = returned_from(tr)
    layers = [
        [_cell_spec(cell, tr.runs[layer][d]) for d, cell in enumerate(cells)] for layer, cells in enumerate(net.cells)
    ]
    state = {
        f"{layer}.{d}.{which}": packed(value)
        for layer in range(len(net.cells))
        for d in range(len(net.cells[layer]))
        for which, value in (("h0", net.h0[layer][d]), ("c0", net.c0[layer][d]))
        if value is not None
    }
    return {
        "title": scenario.title,
        "description": scenario.description,
        "header": scenario.header,
        "framework": scenario.framework,
        "layer": scenario.layer,
        "dtype": scenario.dtype,
        "notes": list(scenario.notes),
        "warnings": list(tr.warnings),
        "network": {
            "layers": layers,
            "inputs": packed(net.inputs),
            "state": state,
            "backwards": list(net.backwards),
            "merges": list(net.merges),
            "lengths": None if net.lengths is None else [int(v) for v in net.lengths],
            "mask": None if net.mask is None else np.asarray(net.mask, bool).tolist(),
        },
        "returns": [list(pair) for pair in tr.returns],
        "outputs": {
            "offsets": offsets,
            "codes": {name: _codes(code) for name, code in out_codes.items()},
            "merged": {
                name: {"mode": mode, "forward": _codes(forward), "backward": _codes(backward)}
                for name, (mode, forward, backward) in merged.items()
            },
        },
        "returns_note": tr.returns_note,
        "sources": [{"name": s.name, "shape": list(s.shape), "offset": s.offset} for s in origin.sources],
        "codes": {ident: _codes(src) for ident, src in origin.codes.items()},
        "no_edit": origin.why_not,
        "backward": _backward(scenario),
        "initial_state_names": [s.name for s in origin.sources if s.state],
    }


def _codes(src: np.ndarray) -> dict[str, Any]:
    """A code array, as affine pieces where it has them, else packed.

    Codes mostly follow the layout of the arrays they point into (a sequence output is h's rows in
    input time; a bidirectional one is two such pieces side by side), so each piece of the last axis
    is first + Σ index·stride: a few numbers instead of megabytes of codes in a long run's page.
    """
    pieces = _affine_pieces(src)
    if pieces is None:
        return packed(src)
    return {"shape": list(src.shape), "pieces": pieces}


def _affine_pieces(src: np.ndarray) -> list[dict[str, Any]] | None:
    if src.ndim == 0 or src.size == 0:
        return None if src.ndim == 0 else []
    n = src.shape[-1]
    rows = src.reshape(-1, n)
    diffs = np.diff(rows, axis=1)
    pieces, start = [], 0
    while start < n:
        stop = start + 1
        if stop < n:
            step = diffs[:, start]
            while stop < n and np.array_equal(diffs[:, stop - 1], step):
                stop += 1
        piece = src[..., start:stop]
        strides = [int(piece[tuple(1 if k == axis else 0 for k in range(src.ndim))]) - int(piece.flat[0])
                   if piece.shape[axis] > 1 else 0 for axis in range(src.ndim)]  # fmt: skip
        grid = np.indices(piece.shape).reshape(src.ndim, -1)
        if not np.array_equal(int(piece.flat[0]) + np.asarray(strides) @ grid, piece.ravel()):
            return None
        pieces.append({"start": start, "stop": stop, "first": int(piece.flat[0]), "strides": strides})
        start = stop
    return pieces if len(pieces) <= 64 else None


def _backward(scenario: Scenario) -> dict[str, Any] | None:
    """The scenario's backward block for the page's own backward pass: a loss, or upstream gradients."""
    spec = scenario.backward
    if spec is None:
        return None
    if spec.loss is None:
        return {"upstream": {name: packed(np.asarray(v, np.float64)) for name, v in (spec.upstream or {}).items()}}
    target = None if spec.target is None else packed(np.asarray(spec.target, np.float64))
    return {"loss": spec.loss, "of": spec.of, "target": target}
