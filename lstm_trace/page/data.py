"""What the interactive page carries: the layer's operations, its canonical arrays, and where each came from.

The page computes every number itself (a small JavaScript engine of the
canonical cells), so it carries the inputs to the computation and not its
results: each cell's arrays in canonical form, and, per gate block, the terms
it sums and the operations after the sum, read from the run's record — the
same record every other view reads. Arrays travel as base64 of their bytes in
the scenario's dtype, which is both small and exact.

To let a reader edit a weight by its own name (`kernel[0, 3]`, `weight_hh_l0`)
the page must know where each number of the scenario lands in the canonical
arrays: transposed, split into blocks, reordered. Rather than teach the page
each framework's layout, the scenario is built once more with every number
replaced by its own serial code; wherever a code lands, that element came from
that number. A framework that combined two numbers into one (a sum) would show
up as a code that does not read back, and editing is then switched off for
that name, with the reason.
"""

from __future__ import annotations

import base64
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

import numpy as np

from ..activations import Activation
from ..arrays import to_array
from ..errors import ScenarioError, Where
from ..model import Cell, Network
from ..trace import Op, Run, Trace

if TYPE_CHECKING:
    from ..scenario import Scenario

CODE_LIMIT = 2**24  # float32 holds every integer up to here exactly
SHORTCUTS = ("kernel", "recurrent_kernel", "bias")


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


def _cell_arrays(cell: Cell) -> dict[str, np.ndarray]:
    """The canonical arrays of one cell that the page computes with, by the name the page uses."""
    named = {
        "kernel": cell.kernel,
        "recurrent": cell.recurrent,
        "bias": cell.bias,
        "recurrent_bias": cell.recurrent_bias,
        "runtime_bias": cell.runtime_bias,
        "peepholes": cell.peepholes,
        "projection": cell.projection,
    }
    return {name: value for name, value in named.items() if value is not None}


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
        "arrays": {name: packed(value) for name, value in _cell_arrays(cell).items()},
    }


def _network_arrays(net: Network) -> Iterator[tuple[str, np.ndarray]]:
    """Every canonical array that numbers of the scenario can land in, under the id the page gives it."""
    yield "inputs", net.inputs
    for layer, cells in enumerate(net.cells):
        for d, cell in enumerate(cells):
            for name, value in _cell_arrays(cell).items():
                if name != "runtime_bias":  # TF1's forget_bias comes from the config, never from a weight
                    yield f"{layer}.{d}.{name}", value
            yield f"{layer}.{d}.h0", net.h0[layer][d]
            c0 = net.c0[layer][d]
            if c0 is not None:
                yield f"{layer}.{d}.c0", c0


@dataclass(frozen=True)
class Source:
    """One editable array of the scenario: its name, shape, and the first code of its numbers."""

    name: str
    shape: tuple[int, ...]
    offset: int


def scenario_arrays(scenario: Scenario) -> list[tuple[str, np.ndarray, tuple[Any, ...]]]:
    """Each array the scenario's file gives (weights, inputs, initial state): its name, values and place.

    The name is the one a reader edits it by: the weight's own name (`weights[k]` for a get_weights()
    list), `inputs`, or the initial state's key. Raises ScenarioError where an array cannot be read again.
    """
    data = scenario.data
    base = scenario.source.parent if scenario.source is not None else None
    dtype = np.dtype(scenario.dtype)
    found: list[tuple[str, np.ndarray, tuple[Any, ...]]] = []

    def take(name: str, value: Any, path: tuple[Any, ...]) -> None:
        found.append((name, to_array(value, Where(scenario.source, None, name), base, dtype), path))

    weights = data.get("weights")
    if isinstance(weights, list):
        for k, value in enumerate(weights):
            take(f"weights[{k}]", value, ("weights", k))
    elif isinstance(weights, Mapping):
        for key, value in weights.items():
            take(str(key), value, ("weights", key))
    for key in SHORTCUTS:
        if key in data:
            take(key, data[key], (key,))
    take("inputs", data["inputs"], ("inputs",))
    state = data.get("initial_state")
    if isinstance(state, Mapping):
        for key, value in state.items():
            if value is not None:
                take(str(key), value, ("initial_state", key))
    return found


def with_array(data: Mapping[str, Any], path: tuple[Any, ...], value: np.ndarray) -> dict[str, Any]:
    """A shallow copy of a scenario mapping with the array at `path` (from `scenario_arrays`) replaced."""
    top = dict(data)
    if len(path) == 1:
        top[path[0]] = value
        return top
    inner = top[path[0]]
    inner = list(inner) if isinstance(inner, list) else dict(inner)
    inner[path[1]] = value
    top[path[0]] = inner
    return top


def edit_map(tr: Trace) -> tuple[list[Source], dict[str, np.ndarray], str | None]:
    """Where every number of the scenario lands: per canonical array id, the code of its source (0: none).

    Returns the editable sources, the code arrays, and why editing is off (None when it is on).
    """
    scenario = tr.scenario
    data = scenario.data
    if not isinstance(data, Mapping) or "inputs" not in data:
        return [], {}, "the scenario's own numbers were not kept, so they cannot be edited here"
    dtype = np.dtype(scenario.dtype)
    try:
        arrays = scenario_arrays(scenario)
    except ScenarioError as exc:
        return [], {}, f"a weight could not be read again ({exc.problem})"
    sources, offset = [], 1
    for name, array, path in arrays:
        sources.append((Source(name, array.shape, offset), array, path))
        offset += array.size
    total = sum(int(np.prod(s.shape)) for s, _, _ in sources)
    if 2 * total >= CODE_LIMIT:
        return [], {}, f"the scenario holds {total} numbers, too many to edit in the page"
    builds = []
    for shift in (0, total):  # built twice with codes shifted: a constant the framework adds does not shift
        coded: Mapping[str, Any] = data
        for source, _, path in sources:
            start = source.offset + shift
            codes = np.arange(start, start + int(np.prod(source.shape)), dtype=dtype)
            coded = with_array(coded, path, codes.reshape(source.shape))
        try:
            builds.append(dict(_network_arrays(type(scenario).from_dict(coded, scenario.source).network)))
        except ScenarioError as exc:
            return [], {}, f"the layer could not be rebuilt with other numbers ({exc.problem})"
    flat_values = np.concatenate([np.asarray(array, np.float64).ravel() for _, array, _ in sources])
    codes_by_id: dict[str, np.ndarray] = {}
    for ident, actual in _network_arrays(scenario.network):
        first = np.asarray(builds[0][ident], np.float64).ravel()
        second = np.asarray(builds[1][ident], np.float64).ravel()
        taken = (second - first == total) & (first == np.round(first)) & (first >= 1) & (first <= total)
        src = np.where(taken, first, 0).astype(np.int64)
        read_back = flat_values[src[taken] - 1]
        if not np.array_equal(read_back, np.asarray(actual, np.float64).ravel()[taken], equal_nan=True):
            return [], {}, f"the framework combines numbers into {ident}, so they cannot be edited one by one"
        codes_by_id[ident] = src
    return [s for s, _, _ in sources], codes_by_id, None


def returns_map(tr: Trace) -> tuple[dict[str, int], dict[str, np.ndarray]]:
    """Where each number the layer returns comes from: the framework's `returns` run on coded states.

    Each run's h (T+1, B, H_out) and c get serial codes (offsets by `"layer.direction.h"`); what the
    framework returns is then an arrangement of codes, 0 where it returns a constant zero (a masked row).
    """
    offsets: dict[str, int] = {}
    fake = []
    offset = 1
    for layer in tr.runs:
        coded_layer = []
        for d, run in enumerate(layer):
            arrays: dict[str, Any] = {}
            for which in ("h", "c"):
                value = getattr(run, which)
                if value is None:
                    continue
                offsets[f"{run.layer - 1}.{d}.{which}"] = offset
                arrays[which] = np.arange(offset, offset + value.size, dtype=np.float64).reshape(value.shape)
                offset += value.size
            coded_layer.append(replace(run, **arrays))
        fake.append(tuple(coded_layer))
    outputs = tr.scenario.returns(tuple(fake)).outputs
    return offsets, {name: np.asarray(value).astype(np.int64) for name, value in outputs.items()}


def page_data(tr: Trace) -> dict[str, Any]:
    """Everything the page needs, as plain data for one JSON document."""
    scenario = tr.scenario
    if scenario.exact:
        raise ValueError("the page computes in floating point; trace the scenario without --exact")
    net = scenario.network
    sources, codes, no_edit = edit_map(tr)
    offsets, out_codes = returns_map(tr)
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
            "lengths": None if net.lengths is None else [int(v) for v in net.lengths],
        },
        "returns": [list(pair) for pair in tr.returns],
        "outputs": {"offsets": offsets, "codes": {name: _codes(code) for name, code in out_codes.items()}},
        "returns_note": tr.returns_note,
        "sources": [{"name": s.name, "shape": list(s.shape), "offset": s.offset} for s in sources],
        "codes": {ident: _codes(src) for ident, src in codes.items()},
        "no_edit": no_edit,
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
