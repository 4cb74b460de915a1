"""torch.save files (.pt, .pth, .bin) read without torch, and without running anything in them.

Since torch 1.6 torch.save writes a zip archive: `<archive>/data.pkl` (the pickle), `<archive>/data/<key>`
(each storage's raw bytes), `<archive>/byteorder`, `<archive>/version`. Before, it wrote the legacy format:
five pickles in a row (a magic number, a protocol version, system info, the object, the storage keys),
then each storage as an 8-byte element count and its bytes. Both pickles are read by torch_pickle.py's
allow-list; a storage's bytes are read only for the entries a recurrent module uses, never more than the
storage declares, and the declared sizes are checked against the file before anything is read.

The object may be a state_dict, or a checkpoint that holds one (`{"model": state_dict, "epoch": 3}`):
every tensor in nested dicts and lists is named by its dotted path (`model.lstm.weight_ih_l0`), so a
module's name says where it sits. state_dict.py turns the entries into layers.
"""

from __future__ import annotations

import re
import zipfile
import zlib
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, BinaryIO

import numpy as np

from ..errors import Where
from . import torch_pickle
from .found import ModelError, ModelFile
from .state_dict import Entry, found_layers
from .torch_pickle import (
    ADVICE,
    DTYPES,
    Refused,
    StateDict,
    StorageRecord,
    TensorRecord,
    element_count,
    short,
    storage_type,
    unpickle,
    unpickle_bytes,
    values,
)

LEGACY_MAGIC = 0x1950A86A20F9469CFC6C  # the first pickle of a legacy torch.save file
LEGACY_PROTOCOL = 1001
STORAGE_KEY = re.compile(r"[0-9A-Za-z_]{1,64}")  # "3" in a zip archive, a number in a legacy file
MAX_DEPTH = 16  # levels of nested dicts and lists searched for tensors: a checkpoint nests two or three
MAX_KEY = 1000  # characters of one key: state_dict keys are module paths
MAX_CENTRAL_DIRECTORY = 16 << 20  # bytes listing an archive's members: about 250,000 of them
END_WINDOW = 22 + 65535  # the end record and the longest comment after it: where the end record is searched
ZIP_ERRORS = (zipfile.BadZipFile, zlib.error, OSError, EOFError, ValueError, NotImplementedError, RuntimeError)


def read(path: Path) -> ModelFile:
    """The recurrent modules of a torch.save file: zip archive or legacy format, told by the first bytes."""
    with path.open("rb") as handle:
        head = handle.read(4)
    if head.startswith(b"PK"):
        return _zip(path)
    if head[:1] == b"\x80":
        return _legacy(path)
    raise ModelError(
        "this is not a file torch.save writes",
        Where(path),
        expected="a zip archive (torch.save since torch 1.6) or the legacy pickle format before it",
        found=f"a file starting with {head!r}",
        hint=ADVICE,
    )


# ---- the zip archive ------------------------------------------------------------------------
def _zip(path: Path) -> ModelFile:
    listed = _central_directory_size(path)
    if listed > MAX_CENTRAL_DIRECTORY:  # zipfile would build an object per member before anything is checked
        raise ModelError(
            "the archive lists more members than a torch.save file has",
            Where(path),
            expected=f"a list of at most {MAX_CENTRAL_DIRECTORY:,} bytes",
            found=f"{listed:,} bytes",
        )
    try:
        archive = zipfile.ZipFile(path)
    except ZIP_ERRORS as exc:
        raise ModelError("the zip archive cannot be read: truncated or corrupt", Where(path),
                         found=f"{type(exc).__name__}: {exc}") from None  # fmt: skip
    with archive:
        root = _root(archive, path)
        little = _byteorder(archive, root, path)
        version = ""
        if f"{root}version" in archive.NameToInfo:
            version = _member(archive, f"{root}version", 64, path).decode("ascii", "replace").strip()
        pickle_name = f"{root}data.pkl"
        data = _member(archive, pickle_name, torch_pickle.MAX_PICKLE_BYTES, path)
        records: dict[str, StorageRecord] = {}

        def storage(pid: Any) -> StorageRecord:
            if type(pid) is not tuple or len(pid) != 5 or pid[0] != "storage":
                raise Refused("a persistent id that is not a torch storage", short(pid))
            return _record(records, pid[1], pid[2], pid[4], lambda key: _storage_size(archive, root, key))

        obj = unpickle_bytes(data, storage, Where(path, None, pickle_name))

        def read_span(record: TensorRecord) -> np.ndarray:
            return values(record, _span(archive, record, path), little)

        entries, notes = _entries(obj, read_span)
        layers = found_layers(entries, path, notes)
    shown = f", format version {version}" if version.isdigit() else ""
    return ModelFile(path, f"torch.save zip archive ({path.suffix}{shown})", layers)


def _central_directory_size(path: Path) -> int:
    """The size the archive's end record declares for its list of members (0 where there is no end record:
    zipfile refuses the file then), found as zipfile finds it, the zip64 record included."""
    with path.open("rb") as handle:
        size = handle.seek(0, 2)
        handle.seek(max(0, size - END_WINDOW))
        tail = handle.read()
        at = len(tail) - 22 if tail[-22:-18] == b"PK\x05\x06" else tail.rfind(b"PK\x05\x06", 0, len(tail) - 21)
        if at < 0:
            return 0
        listed = int.from_bytes(tail[at + 12 : at + 16], "little")
        if listed == 0xFFFFFFFF and at >= 20 and tail[at - 20 : at - 16] == b"PK\x06\x07":
            handle.seek(int.from_bytes(tail[at - 12 : at - 4], "little"))
            record = handle.read(56)
            listed = int.from_bytes(record[40:48], "little") if record[:4] == b"PK\x06\x06" else 0
    return listed


def _root(archive: zipfile.ZipFile, path: Path) -> str:
    """The archive's one folder ("archive/", or the file's stem), holding data.pkl."""
    names = archive.namelist()
    if any(name.endswith("/constants.pkl") for name in names):  # its data.pkl pickles the scripted module
        raise ModelError("this is a TorchScript archive (torch.jit.save): a module with its code, never read",
                         Where(path), hint=ADVICE)  # fmt: skip
    pickles = [name for name in names if name.count("/") == 1 and name.endswith("/data.pkl")]
    if len(pickles) == 1:
        return pickles[0][: -len("data.pkl")]
    raise ModelError(
        "this zip archive is not one torch.save writes",
        Where(path),
        expected="one <archive>/data.pkl beside <archive>/data/0, ...",
        found=f"{len(pickles)} data.pkl among {len(names)} members",
        hint=ADVICE,
    )


def _byteorder(archive: zipfile.ZipFile, root: str, path: Path) -> bool:
    """Whether storages are little-endian: the `byteorder` record says so (files before torch 1.9: always)."""
    if f"{root}byteorder" not in archive.NameToInfo:
        return True
    order = _member(archive, f"{root}byteorder", 16, path)
    if order not in (b"little", b"big"):
        raise ModelError("the byteorder record is neither little nor big", Where(path, None, f"{root}byteorder"),
                         found=repr(order))  # fmt: skip
    return order == b"little"


def _storage_size(archive: zipfile.ZipFile, root: str, key: str) -> tuple[str, int]:
    """Where a storage's bytes are in the archive, and how many there are."""
    name = f"{root}data/{key}"
    info = archive.NameToInfo.get(name)
    if info is None:
        raise Refused(f"storage {key} is not in the archive", name, hint=None, expected=f"a member {name}")
    return name, info.file_size


def _span(archive: zipfile.ZipFile, record: TensorRecord, path: Path) -> bytes:
    """The bytes of a tensor's storage that it reads: never more than its view spans."""
    start, stop = record.span
    try:
        with archive.open(record.storage.where) as member:
            member.seek(start)
            data = member.read(stop - start)
    except ZIP_ERRORS as exc:
        data, problem = b"", f"{type(exc).__name__}: {exc}"
    else:
        problem = f"{len(data):,} of the {stop - start:,} bytes it declares"
    if len(data) != stop - start:
        raise ModelError("the archive member cannot be read: truncated or corrupt",
                         Where(path, None, record.storage.where), found=problem)  # fmt: skip
    return data


def _member(archive: zipfile.ZipFile, name: str, limit: int, path: Path) -> bytes:
    """A small member's bytes (data.pkl, byteorder, version): refused past `limit`, whatever its size claims."""
    info = archive.NameToInfo.get(name)
    if info is None:
        raise ModelError("the archive lacks a member torch.save writes", Where(path, None, name))
    if info.file_size > limit:
        raise ModelError("the archive member is larger than it can be", Where(path, None, name),
                         expected=f"at most {limit:,} bytes", found=f"{info.file_size:,} bytes")  # fmt: skip
    try:
        with archive.open(info) as member:
            data = member.read(limit + 1)
    except ZIP_ERRORS as exc:
        raise ModelError("the archive member cannot be read: truncated or corrupt", Where(path, None, name),
                         found=f"{type(exc).__name__}: {exc}") from None  # fmt: skip
    if len(data) > limit:
        raise ModelError("the archive member holds more bytes than it declares", Where(path, None, name))
    return data


# ---- the legacy format ----------------------------------------------------------------------
class _Bounded:
    """A file as one pickle reads it: at most MAX_PICKLE_BYTES, even by readline (a hostile line is the file)."""

    def __init__(self, handle: BinaryIO) -> None:
        self._handle = handle
        self._left = torch_pickle.MAX_PICKLE_BYTES
        self._start = handle.tell()

    def read(self, n: int = -1) -> bytes:
        n = self._left if n < 0 else min(n, self._left)
        return self._take(self._handle.read(n))

    def readline(self) -> bytes:
        return self._take(self._handle.readline(self._left))

    def tell(self) -> int:
        return self._handle.tell() - self._start

    def _take(self, data: bytes) -> bytes:
        self._left -= len(data)
        if self._left <= 0:
            limit = torch_pickle.MAX_PICKLE_BYTES
            raise Refused("a pickle in the file is larger than a state_dict's", f"over {limit:,} bytes")
        return data


def _legacy(path: Path) -> ModelFile:
    size = path.stat().st_size
    where = Where(path, None, "legacy torch.save format")
    records: dict[str, StorageRecord] = {}
    with path.open("rb") as handle:

        def plain(what: str) -> Any:
            return unpickle(_Bounded(handle), _no_storage, Where(path, None, what))

        if plain("magic number") != LEGACY_MAGIC or plain("protocol version") != LEGACY_PROTOCOL:
            raise ModelError("this is a pickle, but not one torch.save writes", where, hint=ADVICE)
        info = plain("system info")
        little = not (type(info) is dict and info.get("little_endian") is False)

        def storage(pid: Any) -> StorageRecord:
            if type(pid) is not tuple or len(pid) != 6 or pid[0] != "storage" or pid[5] is not None:
                raise Refused("a persistent id that is not a whole torch storage", short(pid))
            return _record(records, pid[1], pid[2], pid[4], lambda key: (f"legacy storage {key}", size))

        obj = unpickle(_Bounded(handle), storage, where)
        offsets = _legacy_offsets(handle, plain("storage keys"), records, little, size, where)

        def read_span(record: TensorRecord) -> np.ndarray:
            start, stop = record.span
            handle.seek(offsets[record.storage.key] + start)
            return values(record, handle.read(stop - start), little)

        entries, notes = _entries(obj, read_span)
        layers = found_layers(entries, path, notes)
    return ModelFile(path, f"torch.save legacy format ({path.suffix}, before torch 1.6)", layers)


def _no_storage(pid: Any) -> StorageRecord:
    raise Refused("a persistent id where the file format has none", short(pid))


def _legacy_offsets(
    handle: BinaryIO, keys: Any, records: dict[str, StorageRecord], little: bool, size: int, where: Where
) -> dict[str, int]:
    """Where each storage's bytes start: the keys list their order, each an element count and the bytes."""
    if type(keys) is not list or any(type(k) is not str for k in keys) or set(keys) != set(records):
        raise ModelError("the legacy file's storage keys do not match its storages", where,
                         found=f"{len(records)} storages, keys {short(keys)}")  # fmt: skip
    offsets: dict[str, int] = {}
    position = handle.tell()
    for key in keys:
        handle.seek(position)
        head = handle.read(8)
        record = records[key]
        count = int.from_bytes(head, "little" if little else "big", signed=True) if len(head) == 8 else -1
        itemsize = DTYPES[record.dtype][1] if record.dtype else 1
        if count * itemsize != record.nbytes or position + 8 + record.nbytes > size:
            raise ModelError(
                f"storage {key} is truncated or corrupt",
                where,
                expected=f"{record.nbytes // itemsize} elements, within the file's {size:,} bytes",
                found=f"{count} elements at byte {position}",
            )
        offsets[key] = position + 8
        position += 8 + record.nbytes
    return offsets


# ---- shared ---------------------------------------------------------------------------------
def _record(
    records: dict[str, StorageRecord],
    kind: Any,
    key: Any,
    count: Any,
    locate: Callable[[str], tuple[str, int]],
) -> StorageRecord:
    """A persistent id's storage, checked: a plain key, a storage class, a count that fits its bytes."""
    dtype = storage_type(kind).dtype
    if type(key) is not str or not STORAGE_KEY.fullmatch(key):
        raise Refused("a storage key that is not a plain name", short(key))
    nbytes = element_count(count) * (DTYPES[dtype][1] if dtype else 1)
    where, available = locate(key)
    record = StorageRecord(key, dtype, nbytes, where)
    if nbytes > available:
        raise Refused(f"storage {key} declares more bytes than the file holds for it", f"{nbytes:,} bytes declared",
                      path=where, expected=f"at most the {available:,} bytes stored", hint="the file is truncated "
                      "or corrupt")  # fmt: skip
    if records.setdefault(key, record) != record:
        raise Refused(f"storage {key} is declared twice, differently", f"{records[key]} and {record}", path=where)
    return record


def _entries(obj: Any, load: Callable[[TensorRecord], np.ndarray]) -> tuple[dict[str, Entry], tuple[str, ...]]:
    """Every tensor in the unpickled object by its dotted path, and a note where it is a checkpoint."""
    entries: dict[str, Entry] = {}
    nested: list[str] = []
    for key, record in _tensors(obj):
        if key in entries:
            continue  # two paths spelled the same (a key holding a dot): the first is the state_dict's
        entries[key] = Entry(record.shape, record.dtype, record.storage.where, _deferred(load, record))
    if isinstance(obj, dict):
        nested = [str(k) for k, v in obj.items() if _plain_key(k) and isinstance(v, dict | list | tuple)]
    notes: tuple[str, ...] = ()
    if nested and any(key.partition(".")[0] in nested for key in entries):
        notes = (f"the file is a checkpoint: module names begin with the key that holds them ({', '.join(nested)}).",)
    return entries, notes


def _deferred(load: Callable[[TensorRecord], np.ndarray], record: TensorRecord) -> Callable[[], np.ndarray]:
    return lambda: load(record)


def _tensors(obj: Any) -> Iterator[tuple[str, TensorRecord]]:
    """(dotted path, tensor) for every tensor in nested dicts, lists and tuples, in order, each container once.

    Only names a state_dict could have: keys short strings or integers, at most MAX_DEPTH levels (a pickle
    can nest a million lists, or use one long key at every level, and each path is a new string).
    """
    seen: set[int] = set()
    stack: list[tuple[str, int, Any]] = [("", 0, obj)]
    while stack:
        path, depth, value = stack.pop()
        if type(value) is TensorRecord:
            yield path, value
            continue
        if type(value) in (dict, StateDict):
            items = [(k, v) for k, v in value.items() if _plain_key(k)]
        elif type(value) in (list, tuple):
            items = list(enumerate(value))
        else:
            continue
        if id(value) in seen or depth == MAX_DEPTH:
            continue
        seen.add(id(value))
        stack.extend((f"{path}.{k}" if path else str(k), depth + 1, v) for k, v in reversed(items))


def _plain_key(key: Any) -> bool:
    return (type(key) is str and len(key) <= MAX_KEY) or (type(key) is int and abs(key) < 2**63)
