"""HDF5 read as data: groups by hard links only, datasets sized before they are read.

Keras keeps its weights in HDF5: a .keras archive's model.weights.h5 and a
legacy .h5 (model.save("x.h5")). HDF5 can point outside itself (external
links, datasets stored in other files, virtual datasets mapping other files),
and a dataset's header can declare any shape: every link followed here is a
hard link inside the file, every dataset is a plain float array whose bytes
are checked against the file's own size (or, compressed, against the element
cap) before it is read, and an attribute is sized before it is read too. Any
error HDF5 raises on damaged data becomes a ModelError that says so.
"""

from __future__ import annotations

import io
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np

from .. import limits
from ..errors import Where
from . import need
from .found import ModelError

FLOATS = ("float16", "float32", "float64")
H5_ERRORS = (OSError, KeyError, ValueError, RuntimeError, TypeError, IndexError, AttributeError)


class H5:
    """One open HDF5 file; `label` prefixes every place named in messages and sources ("model.weights.h5: ")."""

    def __init__(self, path: Path, label: str, data: bytes | None = None) -> None:
        h5py = need("h5py", "Keras weights (HDF5)")
        self.path, self.label, self.h5py = path, label, h5py
        self.size = len(data) if data is not None else path.stat().st_size
        with damaged(path, label.removesuffix(": ")):
            source: Any = io.BytesIO(data) if data is not None else str(path)
            self.file = h5py.File(source, "r", locking=False)

    def close(self) -> None:
        self.file.close()

    def where(self, inner: str) -> Where:
        return Where(self.path, None, f"{self.label}{inner}")

    def get(self, inner: str, what: str = "group") -> Any:
        """The group or dataset at `inner`, following hard links only; None where there is nothing."""
        node = self.file
        walked = ""
        for part in (p for p in inner.split("/") if p):
            with damaged(self.path, f"{self.label}{walked or '/'}"):
                if part not in node:
                    return None
                link = node.get(part, getlink=True)
                if not isinstance(link, self.h5py.HardLink):
                    raise ModelError(
                        "the file links outside itself (or by name): refused",
                        self.where(f"{walked}/{part}".lstrip("/")),
                        expected="plain groups and datasets, as Keras writes them",
                        found=type(link).__name__,
                    )
                node = node[part]
            walked = f"{walked}/{part}".lstrip("/")
        wanted = self.h5py.Group if what == "group" else self.h5py.Dataset
        if not isinstance(node, wanted):
            raise ModelError(f"expected a {what} here", self.where(inner), found=type(node).__name__)
        return node

    def names(self, inner: str) -> list[str]:
        """The member names of the group at `inner` (none where there is no group)."""
        group = self.get(inner)
        if group is None:
            return []
        with damaged(self.path, f"{self.label}{inner}"):
            return [str(name) for name in group]

    def array(self, inner: str) -> np.ndarray:
        """The float dataset at `inner`, checked (storage, dtype, size) before a byte of it is read."""
        dataset = self.get(inner, "dataset")
        if dataset is None:
            raise ModelError("a weight is missing", self.where(inner), expected="a dataset here")
        where = self.where(inner)
        with damaged(self.path, f"{self.label}{inner}"):
            if dataset.external or dataset.is_virtual:
                raise ModelError(
                    "the dataset's data lives in another file: refused",
                    where,
                    expected="data stored in this file, as Keras writes it",
                )
            dtype, shape = dataset.dtype, tuple(int(n) for n in dataset.shape)
            if dtype.name not in FLOATS:
                raise ModelError("a weight is not a float array", where, expected=" or ".join(FLOATS), found=str(dtype))
            count = int(np.prod(shape, dtype=np.float64)) if shape else 1
            plain = dataset.compression is None and not dataset.chunks
            if count > limits.MAX_ELEMENTS or (plain and count * dtype.itemsize > self.size):
                raise ModelError(
                    "a weight declares more data than the file can hold",
                    where,
                    expected=f"at most {limits.MAX_ELEMENTS:,} numbers, within the file's {self.size:,} bytes",
                    found=f"shape {shape} of {dtype}",
                )
            value = np.asarray(dataset[()])
        return value.astype(np.float32) if value.dtype == np.float16 else value

    def attr(self, inner: str, name: str) -> Any:
        """Attribute `name` of the object at `inner` (None where absent), sized against the file before reading."""
        node = self.get(inner) if inner else self.file
        if node is None:
            return None
        with damaged(self.path, f"{self.label}{inner or '/'}"):
            if name not in node.attrs:
                return None
            attr_id = node.attrs.get_id(name)
            count = int(np.prod(attr_id.shape, dtype=np.float64)) if attr_id.shape else 1
            if count * max(attr_id.dtype.itemsize, 1) > self.size + 1024:
                raise ModelError(
                    f"attribute {name} declares more data than the file holds",
                    self.where(f"{inner or '/'}@{name}"),
                    found=f"{count:,} values",
                )
            return node.attrs[name]


def text(value: Any) -> str | None:
    """An HDF5 string attribute as str (h5py gives str, bytes or a 0-d array of either)."""
    if isinstance(value, np.ndarray) and value.shape == ():
        value = value[()]
    if isinstance(value, (bytes, np.bytes_)):
        return bytes(value).decode("utf-8", errors="replace")
    return value if isinstance(value, str) else None


def strings(value: Any) -> list[str] | None:
    """An HDF5 list-of-strings attribute (weight_names) as a list of str; None where it is not one."""
    if value is None:
        return None
    items = np.asarray(value).reshape(-1).tolist()
    out = [text(item) for item in items]
    if len(items) == 0:
        return []
    return None if any(item is None for item in out) else [str(item) for item in out]


@contextmanager
def damaged(path: Path, what: str) -> Iterator[None]:
    """HDF5's own errors on a damaged or hostile file, as a ModelError naming the place."""
    try:
        yield
    except ModelError:
        raise
    except (*H5_ERRORS, RecursionError, MemoryError) as error:
        raise ModelError(
            "the HDF5 data is damaged or not what Keras writes",
            Where(path, None, what),
            found=str(error)[:200] or type(error).__name__,
        ) from None
