"""ONNX models (.onnx): the LSTM, GRU and RNN nodes of a graph, read as protobuf data.

The onnx package parses the file (never its external data); the tensors a
recurrent node takes (W, R, B, P, sequence_lens, initial_h, initial_c) are read
here from initializers or Constant nodes, each tensor's size checked against
the element cap and against the bytes that actually hold it before an array is
built. External data is read only from a regular file inside the model's own
folder: no absolute location, no `..` or symlink leading out, and the offset
and length inside the file's real size. An input the graph computes or takes
at run time is not a number in the file: W and R must be stored; any other is
left out, so ONNX's default (zeros, full length) stands, and a note says so.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath, PureWindowsPath
from typing import Any

import numpy as np

from .. import limits
from ..errors import ScenarioError, Where, printable, shortened
from ..yamlio import read_bytes
from . import MAX_FILE_BYTES, need
from .found import FoundLayer, ModelError, ModelFile

OPS = {"LSTM": 4, "GRU": 3, "RNN": 1}  # how many gate blocks W and R stack
INPUTS = {
    "LSTM": ("X", "W", "R", "B", "sequence_lens", "initial_h", "initial_c", "P"),
    "GRU": ("X", "W", "R", "B", "sequence_lens", "initial_h"),
    "RNN": ("X", "W", "R", "B", "sequence_lens", "initial_h"),
}
LEFT_OUT = {  # what stands for an input that is not a number in the file: ONNX's own default
    "B": "no bias (zeros)",
    "P": "no peepholes (zeros)",
    "sequence_lens": "every sequence runs its full length",
    "initial_h": "the state starts at zeros",
    "initial_c": "the cell state starts at zeros",
}
GATE_ORDER = {"LSTM": "i, o, f, c", "GRU": "z, r, h"}
# attribute → the AttributeProto type it must have; input_forget and linear_before_reset belong to one operator
ATTRIBUTES = {
    "hidden_size": "INT",
    "activations": "STRINGS",
    "activation_alpha": "FLOATS",
    "activation_beta": "FLOATS",
    "clip": "FLOAT",
    "direction": "STRING",
    "input_forget": "INT",
    "layout": "INT",
    "linear_before_reset": "INT",
}
ONLY_FOR = {"input_forget": "LSTM", "linear_before_reset": "GRU"}
FLOATS = {1: ("float32", "float_data"), 11: ("float64", "double_data")}  # TensorProto element type → dtype
INTEGERS = {6: ("int32", "int32_data"), 7: ("int64", "int64_data")}
EXTERNAL = 1  # TensorProto.EXTERNAL
DEFAULT_DOMAINS = ("", "ai.onnx")
MAX_DIMS = 8


@dataclass(frozen=True)
class Stored:
    """An input whose numbers are in the file: the array and where it was read."""

    array: np.ndarray
    source: str


@dataclass(frozen=True)
class NotStored:
    """An input that is no number in the file: why (a graph input, computed by a node, nowhere)."""

    why: str


@dataclass
class Graph:
    """The main graph of one model file: where each value name comes from, and the tensors read so far."""

    path: Path
    onnx: Any
    graph: Any
    initializers: dict[str, Any] = field(default_factory=dict)
    producers: dict[str, Any] = field(default_factory=dict)  # value name → the node that outputs it
    inputs: set[str] = field(default_factory=set)
    read: dict[str, Stored] = field(default_factory=dict)  # value name → its array: a shared W is read once
    bytes_read: int = 0

    def __post_init__(self) -> None:
        self.initializers = {tensor.name: tensor for tensor in self.graph.initializer}
        self.inputs = {value.name for value in self.graph.input}
        for node in self.graph.node:
            for out in node.output:
                if out:
                    self.producers.setdefault(out, node)

    def where(self, inside: str) -> Where:
        return Where(self.path, None, inside)

    # ---- values ----------------------------------------------------------------------------
    def value(self, name: str, what: str) -> Stored | NotStored:
        """The numbers a node input names, from an initializer or a Constant node (through Identity nodes)."""
        through: list[str] = []
        seen: set[str] = set()
        while name not in self.initializers and name not in seen:
            seen.add(name)
            node = self.producers.get(name)
            if node is None:
                if name in self.inputs:
                    return NotStored(f"the graph input '{name}', given at run time")
                return NotStored(f"'{name}', which nothing in the graph provides")
            if node.domain in DEFAULT_DOMAINS and node.op_type == "Identity" and len(node.input) == 1:
                through.append(f"Identity node '{node.name}'")
                name = node.input[0]
                continue
            if node.domain in DEFAULT_DOMAINS and node.op_type == "Constant":
                return self._constant(node, name, what, through)
            return NotStored(f"computed by the {node.op_type} node '{node.name}'")
        if name not in self.initializers:
            return NotStored(f"'{name}', an Identity cycle")
        tensor = self.initializers[name]
        stored = self._tensor(tensor, name, f"initializer '{name}'", what)
        via = "".join(f" through {t}" for t in reversed(through))
        given = " (also a graph input: its initializer, the default, is used)" if name in self.inputs else ""
        return Stored(stored.array, f"{stored.source}{via}{given}")

    def _constant(self, node: Any, name: str, what: str, through: list[str]) -> Stored | NotStored:
        attrs = {a.name: a for a in node.attribute}
        if "value" not in attrs:
            kinds = ", ".join(sorted(attrs)) or "nothing"
            return NotStored(f"a Constant node '{node.name}' holding {kinds}, not a tensor")
        stored = self._tensor(attrs["value"].t, name, f"Constant node '{node.name}'", what)
        via = "".join(f" through {t}" for t in reversed(through))
        return Stored(stored.array, f"{stored.source}{via}")

    # ---- tensors ---------------------------------------------------------------------------
    def _tensor(self, tensor: Any, key: str, label: str, what: str) -> Stored:
        """A TensorProto's array (`key`: the value it gives): its element count checked against the cap, and
        against the bytes or numbers that hold it, before any array is built."""
        if key in self.read:
            return self.read[key]
        where = self.where(f"{what}: {label}")
        types = {**FLOATS, **INTEGERS}
        if tensor.data_type not in types:
            raise ModelError(
                f"the tensor has element type {_enum_name(self.onnx.TensorProto.DataType, tensor.data_type)}",
                where,
                expected="float32 (FLOAT) or float64 (DOUBLE) weights, int32 sequence_lens",
            )
        dtype, typed = types[tensor.data_type]
        dims = [int(d) for d in tensor.dims]
        if len(dims) > MAX_DIMS or any(d < 0 for d in dims):
            raise ModelError("the tensor has impossible dims", where, found=shortened(str(dims)))
        count = int(np.prod(dims, dtype=object)) if dims else 1
        if count > limits.MAX_ELEMENTS:
            raise ModelError(
                f"the tensor is too large: its dims {tuple(dims)} make {count:,} numbers",
                where,
                expected=f"at most {limits.MAX_ELEMENTS:,} (lstm_trace.limits.MAX_ELEMENTS)",
            )
        size = count * np.dtype(dtype).itemsize
        if self.bytes_read + size > MAX_FILE_BYTES:  # a tensor read once per name: many names, one region
            raise ModelError(f"the recurrent nodes' tensors come to more than {MAX_FILE_BYTES:,} bytes", where)
        self.bytes_read += size
        source = f"{self.path.name}: {label}"
        if tensor.HasField("segment"):
            raise ModelError("the tensor is stored in segments", where, expected="one whole tensor")
        if tensor.data_location == EXTERNAL:
            data, held = self._external(tensor, size, where)
            source += f" (external data {held})"
        elif tensor.HasField("raw_data"):
            data = tensor.raw_data
        else:  # the numbers in the typed field (float_data, ...), already parsed
            numbers = getattr(tensor, typed)
            if len(numbers) != count:
                raise ModelError(
                    f"its dims {tuple(dims)} claim {count:,} numbers, but it holds {len(numbers):,}", where
                )
            array = np.asarray(numbers, dtype=dtype).reshape(dims)
            self.read[key] = Stored(array, source)
            return self.read[key]
        if len(data) != size:
            raise ModelError(
                f"its dims {tuple(dims)} claim {size:,} bytes, but the file holds {len(data):,} for it",
                where,
                hint="the file is damaged, or written to make a reader allocate what it does not hold",
            )
        array = np.frombuffer(data, dtype=np.dtype(dtype).newbyteorder("<")).astype(dtype).reshape(dims)
        self.read[key] = Stored(array, source)
        return self.read[key]

    def _external(self, tensor: Any, size: int, where: Where) -> tuple[bytes, str]:
        """The bytes an external-data tensor names: from a regular file inside the model's folder, the offset
        and length checked against the file's real size."""
        entries = {entry.key: entry.value for entry in tensor.external_data}
        location = entries.get("location", "")
        shown = shortened(printable(location, one_line=True))
        outside = "external data must be a file inside the model's own folder"
        if not location or "\0" in location:
            raise ModelError("its external data names no file", where, found=repr(shown))
        if PurePosixPath(location).is_absolute() or PureWindowsPath(location).anchor:
            raise ModelError("its external data is at an absolute location", where, found=shown, hint=outside)
        try:
            folder = self.path.parent.resolve()
            target = (folder / location).resolve()  # every symlink followed, every .. applied
        except (OSError, RuntimeError) as exc:  # a symlink loop, a name too long
            raise ModelError(f"its external data cannot be found: {exc}", where, found=shown) from None
        if not target.is_relative_to(folder) or target == folder:
            raise ModelError("its external data leads outside the model's folder", where, found=shown, hint=outside)
        offset = _offset(entries, "offset", 0, where)
        try:
            fd = os.open(target, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_NOFOLLOW", 0))
        except OSError as exc:
            raise ModelError(f"its external data cannot be read: {exc.strerror}", where, found=shown) from None
        try:
            info = os.fstat(fd)
            if not stat.S_ISREG(info.st_mode):
                raise ModelError("its external data is not a regular file", where, found=shown)
            length = _offset(entries, "length", info.st_size - offset, where)
            if offset + length > info.st_size:
                raise ModelError(
                    "its external data runs past the end of its file",
                    where,
                    expected=f"offset + length within the file's {info.st_size:,} bytes",
                    found=f"offset {offset:,}, length {length:,} in {shown}",
                )
            if length != size:
                raise ModelError(
                    f"its dims claim {size:,} bytes, but its external data holds {length:,}", where, found=shown
                )
            data = _pread(fd, length, offset)
        finally:
            os.close(fd)
        return data, f"{shown}, bytes {offset}..{offset + length}"


def _enum_name(enum: Any, code: int) -> str:
    """A protobuf enum value's name (FLOAT16, STRINGS), or its number when the file holds one onnx does not know."""
    return str(enum.Name(code)) if code in enum.values() else str(code)


def _offset(entries: Mapping[str, str], key: str, default: int, where: Where) -> int:
    """An external-data offset or length: a decimal count of bytes, at least 0."""
    if key not in entries:
        return max(default, 0)
    text = entries[key]
    if not text.isascii() or not text.isdigit() or len(text) > 18:
        raise ModelError(f"its external data {key} is not a number of bytes", where, found=shortened(text))
    return int(text)


def _pread(fd: int, length: int, offset: int) -> bytes:
    """Exactly `length` bytes at `offset`; a file that shrank while it was read gives what it has."""
    os.lseek(fd, offset, os.SEEK_SET)
    parts, done = [], 0
    while done < length:
        chunk = os.read(fd, min(length - done, 1 << 24))
        if not chunk:
            break
        parts.append(chunk)
        done += len(chunk)
    return b"".join(parts)


# ---- nodes -----------------------------------------------------------------------------------
def read(path: Path) -> ModelFile:
    """Every LSTM, GRU and RNN node of the ONNX model at `path`, read as data; a ModelError says why not."""
    onnx = need("onnx", "an ONNX model")
    try:
        data = read_bytes(path, "model file", Where(path), MAX_FILE_BYTES)
    except ScenarioError as error:  # not a regular file, too large, unreadable: said as the model's error
        raise ModelError(
            error.problem, error.where, expected=error.expected, found=error.found, hint=error.hint
        ) from None
    try:
        model = onnx.load_model_from_string(data)  # a ModelProto parsed; external data is never loaded by onnx
    except Exception as error:  # protobuf's DecodeError, and whatever else a damaged file makes it raise
        raise ModelError(
            "the file is not a readable ONNX model: it is truncated or damaged",
            Where(path),
            found=shortened(f"{type(error).__name__}: {error}", 120),
        ) from None
    graph = Graph(path, onnx, model.graph)
    nodes = [
        node for node in model.graph.node if node.op_type in OPS and node.domain in DEFAULT_DOMAINS
    ]  # the main graph's: a node inside a Loop or If body is not read
    if len(nodes) > limits.MAX_LAYERS:
        raise ModelError(
            f"the graph holds {len(nodes):,} recurrent nodes",
            Where(path),
            expected=f"at most {limits.MAX_LAYERS:,} (lstm_trace.limits.MAX_LAYERS)",
        )
    names = _names(nodes)
    layers = tuple(_layer(graph, node, name, note) for node, (name, note) in zip(nodes, names, strict=True))
    return ModelFile(path, _format(model), layers)


def _names(nodes: list[Any]) -> list[tuple[str, str | None]]:
    """Each node's name for --layer: its own, or, when it has none or shares one, a made-up one and a note."""
    taken = {node.name for node in nodes if node.name}
    counts: dict[str, int] = {}
    seen: set[str] = set()
    named: list[tuple[str, str | None]] = []
    for node in nodes:
        if node.name and node.name not in seen:
            seen.add(node.name)
            named.append((node.name, None))
            continue
        base = node.name or node.op_type  # LSTM_1, LSTM_2, ...; a second 'enc' is enc_2
        while True:
            counts[base] = counts.get(base, 1 if node.name else 0) + 1
            name = f"{base}_{counts[base]}"
            if name not in taken:
                break
        taken.add(name)
        why = "has no name" if not node.name else f"shares its name with an earlier {node.op_type} node"
        named.append((name, f"The node {why}: it is called {name} here."))
    return named


def _layer(graph: Graph, node: Any, name: str, naming: str | None) -> FoundLayer:
    op = node.op_type
    notes = [naming] if naming else []
    config, attribute_notes = _config(graph, node, name)
    notes += attribute_notes
    weights: dict[str, np.ndarray] = {}
    initial: dict[str, np.ndarray] = {}
    sources: dict[str, str] = {}
    given = list(node.input)
    for key, value_name in zip(INPUTS[op], given, strict=False):
        if not value_name:
            continue  # an optional input left empty: the operator's default
        if key == "X":
            origin = graph.producers.get(value_name)
            if origin is not None:
                notes.append(
                    f"X is computed by the {origin.op_type} node '{origin.name}': this layer's inputs are what "
                    "that node gives, not the model's input."
                )
            continue
        what = f"node '{name}' input {key}"
        found = graph.value(value_name, what)
        if isinstance(found, NotStored):
            if key in ("W", "R"):
                raise ModelError(
                    f"{key} of the {op} node '{name}' is not stored in the file: it is {found.why}",
                    graph.where(f"node '{name}' input {key}"),
                    expected=f"{key} as an initializer or a Constant node",
                    hint="export with constant folding (torch.onnx.export's do_constant_folding=True), or fold "
                    "the graph first (onnxsim)",
                )
            notes.append(f"{key} is {found.why}: left out, so {LEFT_OUT[key]}, as ONNX does when it is not given.")
            continue
        sources[key] = found.source
        if key == "sequence_lens":
            config["sequence_lens"] = _lengths(graph, found.array, what)
        elif key in ("initial_h", "initial_c"):
            initial[key] = found.array
        else:
            weights[key] = found.array
    for key in ("W", "R"):
        if key not in weights:
            raise ModelError(
                f"the {op} node '{name}' has no input {key}",
                graph.where(f"node '{name}'"),
                expected=f"the inputs {', '.join(INPUTS[op])}, in that order (X, W and R required)",
                found=f"{len(given)} inputs: {', '.join(repr(g) for g in given)}",
            )
    if len(given) > len(INPUTS[op]) and any(given[len(INPUTS[op]) :]):
        notes.append(f"the node has {len(given)} inputs; ONNX {op} takes {len(INPUTS[op])}: the rest are ignored.")
    dtype = _dtype(graph, op, name, weights, initial)
    if op in GATE_ORDER:
        notes.append(f"W, R and B hold the gate blocks in ONNX's order {GATE_ORDER[op]}, as the exporter wrote them.")
    scenario: dict[str, Any] = {"framework": "onnx", "layer": op, "dtype": dtype, "config": config}
    scenario["weights"] = weights
    if initial:
        scenario["initial_state"] = initial
    found_layer = FoundLayer(
        name=name,
        kind=f"ONNX {op}",
        features=int(weights["W"].shape[-1]),
        dtype=dtype,
        scenario=scenario,
        sources={key: printable(text, one_line=True) for key, text in sources.items()},
        notes=tuple(printable(note, one_line=True) for note in notes),  # names from the file: no control codes
        batch=_batch(scenario),
        min_steps=max(config.get("sequence_lens") or [1]),
    )
    _check(graph, found_layer)
    return found_layer


def _config(graph: Graph, node: Any, name: str) -> tuple[dict[str, Any], list[str]]:
    """The node's attributes as the scenario's config, in ATTRIBUTES' order; each attribute's type checked."""
    onnx = graph.onnx
    config: dict[str, Any] = {}
    notes: list[str] = []
    written = {attr.name: attr for attr in node.attribute}
    for key, kind in ATTRIBUTES.items():
        if key not in written:
            continue
        attr = written[key]
        if ONLY_FOR.get(key, node.op_type) != node.op_type:
            notes.append(f"attribute {key} belongs to ONNX {ONLY_FOR[key]}, not {node.op_type}: ignored.")
            continue
        if attr.type != getattr(onnx.AttributeProto, kind):
            raise ModelError(
                f"attribute {key} of node '{name}' is not an {kind}",
                graph.where(f"node '{name}' attribute {key}"),
                found=_enum_name(onnx.AttributeProto.AttributeType, attr.type),
            )
        config[key] = _attribute(attr, kind)
    for key in written:
        if key not in ATTRIBUTES:
            notes.append(f"attribute {printable(key, one_line=True)!r} is not one of ONNX {node.op_type}'s: ignored.")
    return config, notes


def _attribute(attr: Any, kind: str) -> Any:
    """An attribute's value as the scenario writes it: floats as the float32 they are, shortest (0.2, not
    0.20000000298023224), so that --exact reads them as written."""
    if kind == "INT":
        return int(attr.i)
    if kind == "FLOAT":
        return _float32(attr.f)
    if kind == "FLOATS":
        return [_float32(v) for v in attr.floats]
    if kind == "STRING":
        return attr.s.decode("utf-8", "replace")
    return [s.decode("utf-8", "replace") for s in attr.strings]


def _float32(value: float) -> float:
    return float(str(np.float32(value)))  # numpy prints a float32 as its shortest decimal


def _lengths(graph: Graph, array: np.ndarray, what: str) -> list[int]:
    if array.dtype.kind != "i" or array.ndim != 1:
        raise ModelError(
            f"{what} is not a list of lengths",
            graph.where(what),
            expected="int32 (B,)",
            found=f"{array.dtype} {tuple(array.shape)}",
        )
    return [int(n) for n in array]


def _dtype(graph: Graph, op: str, name: str, weights: Mapping[str, np.ndarray], initial: Mapping[str, Any]) -> str:
    """The node's element type T, W's; every other float input must share it, as ONNX requires."""
    dtype = str(weights["W"].dtype)
    for key, array in {**weights, **initial}.items():
        if str(array.dtype) != dtype or array.dtype.kind != "f":
            raise ModelError(
                f"the {op} node '{name}' mixes element types: W is {dtype}, {key} is {array.dtype}",
                graph.where(f"node '{name}' input {key}"),
                expected=f"every input in one float type (ONNX's T), as W: {dtype}",
            )
    return dtype


def _batch(scenario: dict[str, Any]) -> int | None:
    """The batch size a constant initial state or sequence_lens fixes, if any."""
    for array in scenario.get("initial_state", {}).values():
        if array.ndim == 3:
            return int(array.shape[1] if scenario["config"].get("layout", 0) == 0 else array.shape[0])
    lengths = scenario["config"].get("sequence_lens")
    return len(lengths) if lengths is not None else None


def _check(graph: Graph, layer: FoundLayer) -> None:
    """Build the layer once on one step of zeros, so that shapes or attributes the operator does not take are
    refused here, naming the node, rather than when the scenario runs."""
    from ..scenario import Scenario

    scenario = dict(layer.scenario)
    batch = layer.batch or 1
    # sequence_lens is checked against the inputs a user gives: one step here cannot hold them
    scenario["config"] = {k: v for k, v in scenario["config"].items() if k != "sequence_lens"}
    try:
        Scenario.from_dict(dict(scenario, inputs=np.zeros((batch, 1, layer.features), layer.dtype)))
    except ScenarioError as error:
        inside = f"node '{layer.name}'" + (f": {error.where.path}" if error.where.path else "")
        raise ModelError(
            f"the {layer.kind} node '{layer.name}' is not one lstm-trace can read: {error.problem}",
            graph.where(inside),
            expected=error.expected,
            found=error.found,
            hint=error.hint,
        ) from None


def _format(model: Any) -> str:
    """'ONNX model (opset 17, from pytorch 2.13.0)': what wrote it, as the file says."""
    opsets = [entry.version for entry in model.opset_import if entry.domain in DEFAULT_DOMAINS]
    parts = [f"opset {opsets[0]}"] if opsets else []
    producer = " ".join(p for p in (model.producer_name, model.producer_version) if p)
    if producer:
        parts.append(f"from {shortened(printable(producer, one_line=True), 60)}")
    return "ONNX model" + (f" ({', '.join(parts)})" if parts else "")
