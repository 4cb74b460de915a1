"""A torch state_dict's entries → its recurrent modules, each a scenario in torch's words.

A state_dict names each entry `<module path>.<parameter>` (`encoder.lstm.weight_ih_l0`), and says nothing
else: not the class, not the arguments. The arguments are read back from the names and shapes, as
frameworks/torch_weights.py lays them out:

- a module is a prefix holding nn.LSTM/GRU/RNN entries (`weight_ih_l0`, ...) or a cell's (`weight_ih`, ...);
- hidden_size H is weight_hh's columns, or weight_hr's with a projection (whose rows are proj_size);
- weight_ih stacks G gate blocks of H rows: G = 4 is an LSTM, 3 a GRU, 1 a simple RNN. Rows alone are
  ambiguous (12 rows are an LSTM of 3, a GRU of 4, an RNN of 12); H from weight_hh settles it;
- num_layers from the highest `_l{k}`, bidirectional from `_reverse`, bias from bias_ih being there,
  input_size from weight_ih_l0's columns.

What a state_dict does not hold is said in the notes: batch_first (inputs are batch-major in a
scenario anyway) and an nn.RNN's nonlinearity (tanh, its default, is assumed). Entries are read from
the file only here, for the recurrent modules: the rest of a model (embeddings, heads) is never loaded.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from .. import limits
from ..errors import Where
from ..frameworks.torch_weights import CELL_ENTRY, GATES, LAYER_ENTRY, MODULES, ROWS
from .found import FoundLayer, ModelError

NO_PREFIX = "(no prefix)"  # the name of a module whose entries have none (a bare nn.LSTM's state_dict)
FLOATS = ("float32", "float64", "float16", "bfloat16")
KINDS = {g: kind for kind, g in GATES.items()}
WHAT = ("weight_ih", "weight_hh", "bias_ih", "bias_hh", "weight_hr")


@dataclass(frozen=True)
class Entry:
    """One state_dict entry as the file declares it; `load` reads its values only when a layer needs them."""

    shape: tuple[int, ...]
    dtype: str  # as stored: float32, float64, float16, bfloat16, int64, ...
    source: str  # where in the file, for `sources`: "archive/data/3", or "" where the key says it all
    load: Callable[[], np.ndarray]


def found_layers(entries: Mapping[str, Entry], file: Path, notes: Iterable[str] = ()) -> tuple[FoundLayer, ...]:
    """Every recurrent module among `entries`, in the order the state_dict lists them; `notes` go to each.

    A module whose entries fit no torch layer (a custom cell that names its weights as torch does) is left
    out, and the other layers' notes say why; where no module fits, the first one's error is raised.
    """
    groups: dict[str, dict[str, str]] = {}
    for key in entries:
        prefix, _, own = key.rpartition(".")
        groups.setdefault(prefix, {})[own] = key
    recurrent = {}
    for prefix, names in groups.items():
        if mine := sorted(filter(_recurrent, names), key=_order):
            recurrent[prefix] = {own: names[own] for own in mine}
    others = [key for p, names in groups.items() for own, key in names.items() if own not in recurrent.get(p, {})]
    shapes: dict[str, Shapes] = {}
    refused: list[ModelError] = []
    for prefix, names in recurrent.items():
        try:
            shapes[prefix] = _shapes(prefix, names, entries, file)
        except ModelError as error:
            refused.append(error)
    if refused and not shapes:
        raise refused[0]
    shared = (
        *(_untraced(others),) * bool(others),
        *(f"not read: {error.where.path or NO_PREFIX}: {error.problem}" for error in refused),
        *notes,
    )
    return tuple(_layer(prefix, recurrent[prefix], found, entries, file, shared) for prefix, found in shapes.items())


def _recurrent(own: str) -> bool:
    return bool(LAYER_ENTRY.match(own) or CELL_ENTRY.match(own))


def _order(own: str) -> tuple[int, int, int]:
    """torch's own order (layer, direction, then weight_ih, weight_hh, bias_ih, bias_hh, weight_hr), whatever
    order the file stores them in (safetensors sorts its keys)."""
    match = LAYER_ENTRY.match(own) or CELL_ENTRY.match(own)
    assert match is not None
    depth, reverse = (int(match.group(2)), bool(match.group(3))) if match.re is LAYER_ENTRY else (0, False)
    return depth, reverse, WHAT.index(match.group(1))


@dataclass(frozen=True)
class Shapes:
    """What a module's shapes say it is: kind, cell or layer, the sizes, and the shapes that said so."""

    kind: str
    cell: bool
    features: int
    hidden: int
    proj: int
    ih: tuple[int, ...]
    hh: tuple[int, ...]
    hr: tuple[int, ...] | None


def _shapes(prefix: str, names: Mapping[str, str], entries: Mapping[str, Entry], file: Path) -> Shapes:
    """The module's kind and sizes from weight_ih, weight_hh and weight_hr; an error where they fit none."""
    name = prefix or NO_PREFIX
    where = Where(file, None, name)
    cell = any(CELL_ENTRY.match(own) for own in names)
    if cell and any(LAYER_ENTRY.match(own) for own in names):
        raise ModelError("a cell's entries (weight_ih) beside a layer's (weight_ih_l0)", where, found=", ".join(names))
    suffix = "" if cell else "_l0"
    found = {own: entries[names[own]].shape for own in (f"weight_ih{suffix}", f"weight_hh{suffix}", "weight_hr_l0")
             if own in names}  # fmt: skip
    ih, hh, hr = found.get(f"weight_ih{suffix}"), found.get(f"weight_hh{suffix}"), found.get("weight_hr_l0")
    if ih is None or hh is None:
        missing = f"weight_ih{suffix}" if ih is None else f"weight_hh{suffix}"
        raise ModelError(f"no {missing}: the module's kind and sizes cannot be told", where, found=", ".join(names))
    hidden, proj = (hr[1], hr[0]) if hr and len(hr) == 2 else (hh[-1], 0)
    fits = len(ih) == len(hh) == 2 and hidden > 0 and ih[0] == hh[0] and hh[0] % hidden == 0
    kind = KINDS.get(hh[0] // hidden) if fits else None
    if kind is None or (hr is not None and (kind != "lstm" or hh[1] != proj)):
        raise ModelError(
            "the shapes fit no nn.LSTM, nn.GRU or nn.RNN",
            where,
            expected="weight_ih (G·H, F) and weight_hh (G·H, H), G = 4 (LSTM), 3 (GRU) or 1 (RNN); "
            "weight_hr (P, H) and weight_hh (4H, P) with a projection",
            found=", ".join(f"{own} {shape}" for own, shape in found.items()),
        )
    return Shapes(kind, cell, ih[1], hidden, proj, ih, hh, hr)


def _layer(
    prefix: str,
    names: dict[str, str],
    shapes: Shapes,
    entries: Mapping[str, Entry],
    file: Path,
    shared: tuple[str, ...],
) -> FoundLayer:
    """One module as a scenario: the arguments its shapes gave, its entries read and named without the prefix."""
    config, structure = _config(names, shapes)
    weights, dtype, dtype_note = _read(names, entries, file)
    layer = f"{MODULES[shapes.kind]}{'Cell' * shapes.cell}"
    return FoundLayer(
        name=prefix or NO_PREFIX,
        kind=f"nn.{layer}",
        features=shapes.features,
        dtype=dtype,
        scenario={"framework": "torch", "layer": layer, "dtype": dtype, "config": config, "weights": weights},
        sources={own: _source(file, key, entries[key]) for own, key in names.items()},
        notes=(*_notes(layer, shapes, structure, dtype_note), *shared),
    )


def _notes(layer: str, shapes: Shapes, structure: str, dtype_note: str) -> list[str]:
    """What was inferred, and what a state_dict does not say."""
    suffix = "" if shapes.cell else "_l0"
    g = GATES[shapes.kind]
    if shapes.hr:
        how = f"weight_hr_l0 {shapes.hr} gives hidden_size={shapes.hidden}, proj_size={shapes.proj}"
    else:
        how = f"weight_hh{suffix} {shapes.hh} gives hidden_size={shapes.hidden}"
    blocks = f"{g} gate blocks ({ROWS[shapes.kind]})" if g > 1 else "1 block (h)"
    notes = [
        f"nn.{layer} inferred from the shapes: {how}, so weight_ih{suffix}'s {shapes.ih[0]} rows are {blocks}; "
        f"input_size={shapes.features} is its columns.",
        structure,
    ]
    if not shapes.cell:
        notes.append("batch_first is not stored in a state_dict: the scenario's inputs are batch-major either way.")
    if shapes.kind == "rnn":
        notes.append(
            "nonlinearity is not stored in a state_dict: tanh (nn.RNN's default) is assumed; "
            "write nonlinearity: relu in config if the module used relu."
        )
    return notes + [dtype_note] * bool(dtype_note)


def _config(names: Mapping[str, str], shapes: Shapes) -> tuple[dict[str, Any], str]:
    """The constructor's arguments that the entries decide, and a note on how."""
    bias = f"bias_ih{'' if shapes.cell else '_l0'}" in names
    config: dict[str, Any] = {"input_size": shapes.features, "hidden_size": shapes.hidden}
    if shapes.cell:
        config["bias"] = bias
        structure = f"bias={bias}: {'bias_ih and bias_hh are' if bias else 'no bias_ih or bias_hh is'} stored."
    else:
        matches = [m for m in map(LAYER_ENTRY.match, names) if m]
        layers = 1 + max(int(m.group(2)) for m in matches)
        bidirectional = any(m.group(3) for m in matches)
        config |= {"num_layers": layers, "bias": bias, "bidirectional": bidirectional}
        if shapes.kind == "lstm":
            config["proj_size"] = shapes.proj
        numbered = "_l0" if layers == 1 else f"_l0 … _l{layers - 1}"
        structure = (
            f"num_layers={layers}, bidirectional={bidirectional} and bias={bias} from the entry names "
            f"({numbered}{', _reverse' * bidirectional}{', no bias_ih/bias_hh' * (not bias)})."
        )
    if shapes.kind == "rnn":
        config["nonlinearity"] = "tanh"
    return config, structure


def _read(names: Mapping[str, str], entries: Mapping[str, Entry], file: Path) -> tuple[dict[str, Any], str, str]:
    """The module's entries as arrays in one float dtype: float64 where every entry is, float32 otherwise."""
    stored = {entries[key].dtype for key in names.values()}
    for key in names.values():
        entry = entries[key]
        if entry.dtype not in FLOATS:
            raise ModelError(f"{key} is not floating point", Where(file, None, key),
                             expected="float32, float64, float16 or bfloat16", found=entry.dtype)  # fmt: skip
        if math.prod(entry.shape) > limits.MAX_ELEMENTS:
            most = f"at most {limits.MAX_ELEMENTS:,} numbers"
            raise ModelError(f"{key} is too large to trace", Where(file, None, key), expected=most,
                             found=f"shape {entry.shape}")  # fmt: skip
    dtype = "float64" if stored == {"float64"} else "float32"
    weights = {own: _array(entries[key], dtype, key, file) for own, key in names.items()}
    note = ""
    if stored - {dtype}:
        kept = "exactly" if stored <= {"float32", "float16", "bfloat16"} else "rounded"
        note = f"stored as {', '.join(sorted(stored))}: read {kept} as {dtype}, which the trace computes in."
    return weights, dtype, note


def _array(entry: Entry, dtype: str, key: str, file: Path) -> np.ndarray:
    value = entry.load()
    if value.shape != entry.shape:  # the reader's own promise: a mismatch is a corrupt file
        raise ModelError(f"{key} holds another shape than the file declares", Where(file, None, key),
                         expected=f"shape {entry.shape}", found=f"shape {value.shape}")  # fmt: skip
    return value.astype(dtype)


def _source(file: Path, key: str, entry: Entry) -> str:
    return f"{file.name}: {key}" + (f" ({entry.source})" if entry.source else "")


def _untraced(keys: list[str]) -> str:
    """One note on the entries of no recurrent module: counted by module, the first few named."""
    counts: dict[str, int] = {}
    for key in keys:
        prefix = key.rpartition(".")[0] or NO_PREFIX
        counts[prefix] = counts.get(prefix, 0) + 1
    listed = [f"{p} ({n} {'entry' if n == 1 else 'entries'})" for p, n in counts.items()]
    more = f" and {len(listed) - 6} more modules" if len(listed) > 6 else ""
    return f"not recurrent, not traced: {', '.join(listed[:6])}{more}."
