""".safetensors files: a torch state_dict as plain data, read through the safetensors package's numpy API.

The file is an 8-byte little-endian header length, a JSON header naming each tensor's dtype, shape and
byte range (`data_offsets`, relative to the end of the header), then the bytes. The header is checked
here before anything else is read: its length within the file, every range inside the data, sized
exactly for its shape and dtype, no two overlapping. numpy has no bfloat16, so those tensors are read
from their checked byte range and widened exactly to float32; every other dtype comes from the package.
"""

from __future__ import annotations

import itertools
import json
import math
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeGuard

import numpy as np

from ..errors import Where, shown
from . import need
from .found import ModelError, ModelFile
from .state_dict import Entry, found_layers

MAX_HEADER_BYTES = 100_000_000  # the safetensors package's own limit
MAX_DIMS = 32
MAX_SIZE = 1 << 48
# safetensors dtype → (our name, numpy type, bytes per element)
DTYPES: dict[str, tuple[str, str, int]] = {
    "F64": ("float64", "<f8", 8), "F32": ("float32", "<f4", 4), "F16": ("float16", "<f2", 2),
    "BF16": ("bfloat16", "<u2", 2), "I64": ("int64", "<i8", 8), "I32": ("int32", "<i4", 4),
    "I16": ("int16", "<i2", 2), "I8": ("int8", "i1", 1), "U64": ("uint64", "<u8", 8), "U32": ("uint32", "<u4", 4),
    "U16": ("uint16", "<u2", 2), "U8": ("uint8", "u1", 1), "BOOL": ("bool", "b1", 1),
    "F8_E4M3": ("float8_e4m3", "u1", 1), "F8_E5M2": ("float8_e5m2", "u1", 1),
}  # fmt: skip


def read(path: Path) -> ModelFile:
    """The recurrent modules of a .safetensors state_dict, every declared size checked before reading."""
    safetensors = need("safetensors", "a .safetensors file")
    header, start = _header(path)
    metadata = header.pop("__metadata__", None)
    spans = {key: _span(path, key, info, path.stat().st_size - start) for key, info in header.items()}
    _no_overlap(path, spans)
    try:
        handle = safetensors.safe_open(str(path), framework="numpy")
    except Exception as exc:  # SafetensorError, and whatever the package raises for what it refuses
        raise ModelError("the safetensors package cannot open the file", Where(path),
                         found=f"{type(exc).__name__}: {exc}") from None  # fmt: skip
    with handle:
        entries = {
            key: Entry(shape, dtype, "", _loader(handle, path, key, dtype, shape, (start + begin, end - begin)))
            for key, (dtype, shape, begin, end) in spans.items()
        }
        layers = found_layers(entries, path)
    kind = metadata.get("format") if isinstance(metadata, dict) else None
    return ModelFile(path, "safetensors" + (f" (format {shown(kind)})" if isinstance(kind, str) else ""), layers)


def _header(path: Path) -> tuple[dict[str, Any], int]:
    """The JSON header, and where the data starts: its declared length checked against the file first."""
    size = path.stat().st_size
    with path.open("rb") as handle:
        head = handle.read(8)
        if len(head) < 8:
            raise ModelError("the file is too short to be safetensors", Where(path), found=f"{size} bytes")
        length = int.from_bytes(head, "little")
        if length > size - 8 or length > MAX_HEADER_BYTES:
            raise ModelError(
                "the header length reaches beyond the file",
                Where(path, None, "header"),
                expected=f"at most {min(size - 8, MAX_HEADER_BYTES):,} bytes (what follows the length)",
                found=f"{length:,} bytes",
                hint="the file is truncated or corrupt",
            )
        text = handle.read(length)
    try:
        header = json.loads(text)
    except (ValueError, RecursionError) as exc:
        raise ModelError("the header is not JSON", Where(path, None, "header"), found=str(exc)) from None
    if not isinstance(header, dict):
        raise ModelError("the header is not a JSON object", Where(path, None, "header"), found=type(header).__name__)
    return header, 8 + length


def _span(path: Path, key: str, info: Any, data_size: int) -> tuple[str, tuple[int, ...], int, int]:
    """(dtype, shape, begin, end) of one tensor: a known dtype, a shape, a byte range inside the data that
    holds exactly its elements."""
    where = Where(path, None, key)
    if not isinstance(info, dict) or info.get("dtype") not in DTYPES:
        found = shown(info.get("dtype")) if isinstance(info, dict) else type(info).__name__
        raise ModelError("a tensor of unknown dtype", where, expected=", ".join(DTYPES), found=found)
    shape, offsets = info.get("shape"), info.get("data_offsets")
    if not _sizes(shape, MAX_DIMS) or not _sizes(offsets, 2) or len(offsets) != 2:
        raise ModelError("a tensor's shape or data_offsets are not sizes", where,
                         found=f"shape {shown(shape)}, data_offsets {shown(offsets)}")  # fmt: skip
    dtype, _, itemsize = DTYPES[info["dtype"]]
    begin, end = offsets
    if not begin <= end <= data_size or end - begin != math.prod(shape) * itemsize:
        raise ModelError(
            "a tensor's bytes lie outside the data, or do not fit its shape",
            where,
            expected=f"a range within the {data_size:,} data bytes, {math.prod(shape) * itemsize:,} bytes long "
            f"({info['dtype']} {tuple(shape)})",
            found=f"data_offsets [{begin}, {end}]",
        )
    return dtype, tuple(shape), begin, end


def _sizes(value: Any, most: int) -> TypeGuard[list[int]]:
    return type(value) is list and len(value) <= most and all(type(v) is int and 0 <= v <= MAX_SIZE for v in value)


def _no_overlap(path: Path, spans: dict[str, tuple[str, tuple[int, ...], int, int]]) -> None:
    """No two tensors share bytes: each would be read as the other's values."""
    ordered = sorted((begin, end, key) for key, (_, _, begin, end) in spans.items() if end > begin)
    for (_, end, first), (begin, _, second) in itertools.pairwise(ordered):
        if begin < end:
            raise ModelError(
                f"tensors {first} and {second} overlap",
                Where(path, None, second),
                expected=f"{second} to start at byte {end} or later",
                found=f"it starts at byte {begin}",
                hint="the file is corrupt, or was made to mislead a reader",
            )


def _loader(
    handle: Any, path: Path, key: str, dtype: str, shape: tuple[int, ...], span: tuple[int, int]
) -> Callable[[], np.ndarray]:
    """How one entry is read: through the package, or, for bfloat16, from its checked byte span, widened."""
    start, nbytes = span

    def load() -> np.ndarray:
        try:
            if dtype == "bfloat16":
                with path.open("rb") as raw:
                    raw.seek(start)
                    bits = np.frombuffer(raw.read(nbytes), dtype="<u2")
                return (bits.astype(np.uint32) << 16).view(np.float32).reshape(shape)
            return np.asarray(handle.get_tensor(key))
        except Exception as exc:  # the package's errors, and a file changed while it is read
            raise ModelError("a tensor cannot be read", Where(path, None, key),
                             found=f"{type(exc).__name__}: {exc}") from None  # fmt: skip

    return load
