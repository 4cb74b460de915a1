"""Where every number comes from and goes to, between the scenario's own arrays and the canonical ones.

A framework module turns the scenario's arrays into canonical ones: transposed,
split into blocks, reordered, spread over layers and directions. Views that let a
reader change a number by its own name (the page), and the backward pass, which
owes a gradient to every weight under its own name and shape, need that map, and
no framework should have to write it twice. So the scenario is built once more
with every number replaced by its own serial code: wherever a code lands, that
element came from that number. It is built twice, the codes shifted, so that a
constant the framework adds (which does not shift) is not taken for a number. A
framework that combined two numbers into one (a sum) would show up as a code that
does not read back; the map is then refused, with the reason.

The framework's `returns` is mapped the same way, run on runs whose h and c hold
codes: what the layer returns is an arrangement of those codes.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

import numpy as np

from .arrays import to_array
from .errors import ScenarioError, Where
from .model import Network, cell_arrays
from .trace import Trace

if TYPE_CHECKING:
    from .scenario import Scenario

CODE_LIMIT = 2**24  # float32 holds every integer up to here exactly


def canonical_arrays(net: Network) -> Iterator[tuple[str, np.ndarray]]:
    """Every canonical array that numbers of the scenario can land in, by id: `inputs`, `0.1.kernel`, `0.0.h0`."""
    yield "inputs", net.inputs
    for layer, cells in enumerate(net.cells):
        for d, cell in enumerate(cells):
            for name, value in cell_arrays(cell).items():
                if name != "runtime_bias":  # TF1's forget_bias comes from the config, never from a weight
                    yield f"{layer}.{d}.{name}", value
            yield f"{layer}.{d}.h0", net.h0[layer][d]
            c0 = net.c0[layer][d]
            if c0 is not None:
                yield f"{layer}.{d}.c0", c0


@dataclass(frozen=True)
class Origin:
    """The scenario's arrays, and for each canonical array (by id) the code of its numbers' sources (0: none)."""

    sources: tuple[Source, ...]
    codes: Mapping[str, np.ndarray]
    why_not: str | None = None  # why no map could be made, where none could


@dataclass(frozen=True)
class Source:
    """One editable array of the scenario: its name, shape, and the first code of its numbers."""

    name: str
    shape: tuple[int, ...]
    offset: int
    state: bool = False  # an initial state, not a weight


def scenario_arrays(scenario: Scenario) -> list[tuple[str, np.ndarray, tuple[Any, ...]]]:
    """Each array the scenario's file gives (weights, inputs, initial state): its name, values and place.

    The name is the one a reader edits it by: the weight's own name (`weights[k]` for a get_weights()
    list), `inputs`, or the initial state's key; in a stack of layers (`layers:`), prefixed by its entry
    (`layers[1].kernel`, from 0 as the list indexes it). Raises ScenarioError where an array cannot be read again.
    """
    data = scenario.data
    base = scenario.source.parent if scenario.source is not None else None
    dtype = np.dtype(scenario.dtype)
    found: list[tuple[str, np.ndarray, tuple[Any, ...]]] = []

    def take(name: str, value: Any, path: tuple[Any, ...]) -> None:
        found.append((name, to_array(value, Where(scenario.source, None, name), base, dtype), path))

    def layer(entry: Mapping[str, Any], prefix: str, at: tuple[Any, ...]) -> None:
        weights = entry.get("weights")
        if isinstance(weights, list):
            for k, value in enumerate(weights):
                take(f"{prefix}weights[{k}]", value, (*at, "weights", k))
        elif isinstance(weights, Mapping):
            for key, value in weights.items():
                take(f"{prefix}{key}", value, (*at, "weights", key))
        from .scenario import WEIGHT_SHORTCUTS

        for key in WEIGHT_SHORTCUTS:
            if key in entry:
                take(f"{prefix}{key}", entry[key], (*at, key))

    def state(entry: Mapping[str, Any], prefix: str, at: tuple[Any, ...]) -> None:
        given = entry.get("initial_state")
        if isinstance(given, Mapping):
            for key, value in given.items():
                if value is not None:
                    take(f"{prefix}{key}", value, (*at, "initial_state", key))

    stack = data.get("layers")
    entries = list(enumerate(stack)) if isinstance(stack, list) else []
    for k, entry in entries:
        layer(entry, f"layers[{k}].", ("layers", k))
    layer(data, "", ())
    take("inputs", data["inputs"], ("inputs",))
    for k, entry in entries:
        state(entry, f"layers[{k}].", ("layers", k))
    state(data, "", ())
    return found


def is_state(path: tuple[Any, ...]) -> bool:
    """Whether an array's place (from `scenario_arrays`) is an initial state's."""
    return len(path) >= 2 and path[-2] == "initial_state"


def with_array(data: Mapping[str, Any], path: tuple[Any, ...], value: np.ndarray) -> dict[str, Any]:
    """A shallow copy of a scenario mapping with the array at `path` (from `scenario_arrays`) replaced."""
    top: Any = list(data) if isinstance(data, list) else dict(data)
    top[path[0]] = value if len(path) == 1 else with_array(top[path[0]], path[1:], value)
    return top  # type: ignore[no-any-return]


def sources_of(scenario: Scenario) -> Origin:
    """Where every number of the scenario lands in the canonical network (see the module's docstring)."""
    data = scenario.data
    if not isinstance(data, Mapping) or "inputs" not in data:
        return Origin((), {}, "the scenario's own numbers were not kept, so they cannot be edited here")
    dtype = np.dtype(scenario.dtype)
    try:
        arrays = scenario_arrays(scenario)
    except ScenarioError as exc:
        return Origin((), {}, f"a weight could not be read again ({exc.problem})")
    sources, offset = [], 1
    for name, array, path in arrays:
        sources.append((Source(name, array.shape, offset, is_state(path)), array, path))
        offset += array.size
    total = sum(int(np.prod(s.shape)) for s, _, _ in sources)
    if 2 * total >= CODE_LIMIT:
        return Origin((), {}, f"the scenario holds {total} numbers, too many to follow one by one")
    builds = []
    for shift in (0, total):  # built twice with codes shifted: a constant the framework adds does not shift
        coded: Mapping[str, Any] = data
        for source, _, path in sources:
            start = source.offset + shift
            codes = np.arange(start, start + int(np.prod(source.shape)), dtype=dtype)
            coded = with_array(coded, path, codes.reshape(source.shape))
        try:
            builds.append(dict(canonical_arrays(scenario.with_numbers(coded).network)))
        except ScenarioError as exc:
            return Origin((), {}, f"the layer could not be rebuilt with other numbers ({exc.problem})")
    flat_values = np.concatenate([np.asarray(array, np.float64).ravel() for _, array, _ in sources])
    codes_by_id: dict[str, np.ndarray] = {}
    for ident, actual in canonical_arrays(scenario.network):
        first = np.asarray(builds[0][ident], np.float64).ravel()
        second = np.asarray(builds[1][ident], np.float64).ravel()
        taken = (second - first == total) & (first == np.round(first)) & (first >= 1) & (first <= total)
        src = np.where(taken, first, 0).astype(np.int64)
        read_back = flat_values[src[taken] - 1]
        if not np.array_equal(read_back, np.asarray(actual, np.float64).ravel()[taken], equal_nan=True):
            return Origin((), {}, f"the framework combines numbers into {ident}, so they cannot be followed one by one")
        codes_by_id[ident] = src
    return Origin(tuple(s for s, _, _ in sources), codes_by_id, None)


Merged = dict[str, tuple[str, np.ndarray, np.ndarray]]  # output → (merge mode, codes of each direction's part)


def returned_from(tr: Trace) -> tuple[dict[str, int], dict[str, np.ndarray], Merged]:
    """Where each number the layer returns comes from: the framework's `returns` run on coded states.

    Each run's h (T+1, B, H_out) and c get serial codes (offsets by `"layer.direction.h"`); what the
    framework returns is then an arrangement of codes, 0 where it returns a constant zero (a masked row).
    An output the framework merged from two directions (Keras's Bidirectional) is not an arrangement: its
    merge is recorded (`Returned.merges`), and the codes of both parts are given instead.
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
    returned = tr.scenario.returns(tuple(fake))
    merged = {m.name: (m.mode, _ints(m.forward), _ints(m.backward)) for m in returned.merges}
    codes = {name: _ints(value) for name, value in returned.outputs.items() if name not in merged}
    return offsets, codes, merged


def _ints(codes: Any) -> np.ndarray:
    return np.asarray(codes).astype(np.int64)
