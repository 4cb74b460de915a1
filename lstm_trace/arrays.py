"""Arrays in a scenario: nested YAML lists or .npy/.npz/.csv files, checked before they are built.

Shapes are worked out by walking the lists once, sharing the work for YAML
aliases, so an alias bomb that describes billions of elements is refused by
its element count before any memory is spent on it. A file is read only when
it is a regular file (never a FIFO or a device); a .npy or .npz array by its
header first, so a header that claims terabytes is refused before any data is
read, and a .csv cell by cell, counted as it is read.

With dtype `object` (`--exact`), an array is built of Fractions: YAML numbers
and .csv cells by their text, .npy/.npz floats by the shortest decimal that
reads back to the stored value in its own dtype.

A file that cannot be read is refused by what is wrong with it (damaged, cut
short, pickled Python objects, a cell that is not a number at line r, column c),
never by quoting what it holds: a scenario may name any file on the machine.
"""

from __future__ import annotations

import contextlib
import io
import math
import os
import re
import struct
import zlib
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any, BinaryIO

import numpy as np

from . import limits
from .errors import ScenarioError, Where, shown, unknown_name
from .exact import NotFinite, fraction_array
from .yamlio import NumericList, WrittenFloat, decoded, open_regular, read_bytes, regular_file

if TYPE_CHECKING:
    import zipfile

MAX_DIMS = 32  # nested lists deeper than this are no array of a scenario (numpy itself stops at 64)
FILE_KEYS = ("npy", "npz", "csv")


def _line(value: Any, where: Where) -> Where:
    line = getattr(value, "line", None)
    return Where(where.file, line, where.path) if line is not None else where


def _shape(value: Any, where: Where, memo: dict[int, tuple[int, ...]], depth: int = 0) -> tuple[int, ...]:
    """The shape of nested lists of numbers; refuses ragged rows, non-numbers, integers beyond float range
    and nesting deeper than MAX_DIMS."""
    if type(value) in (int, float, WrittenFloat):
        if type(value) is int and value.bit_length() > 1000:
            _check_float_range(value, where)
        return ()
    if isinstance(value, list):
        known = memo.get(id(value))
        if depth >= MAX_DIMS or (known is not None and depth + len(known) > MAX_DIMS):
            raise ScenarioError(
                "nested lists too deep for an array",
                where,
                expected=f"at most {MAX_DIMS} levels of lists; an array of a scenario has two to four",
                found=f"more than {MAX_DIMS} levels",
            )
        if known is not None:
            return known
        here = _line(value, where)
        if not value:
            shape: tuple[int, ...] = (0,)
        else:
            first = _shape(value[0], here.child(0), memo, depth + 1)
            for k, item in enumerate(value[1:], start=1):
                other = _shape(item, here.child(k), memo, depth + 1)
                if other != first:
                    raise ScenarioError(
                        "ragged array: rows of different lengths",
                        here.child(k),
                        expected=f"shape {first} like the first row",
                        found=f"shape {other}",
                    )
            shape = (len(value), *first)
            if math.prod(shape) > limits.MAX_ELEMENTS:
                raise too_many(shape, where)
        memo[id(value)] = shape
        return shape
    kind = "a boolean" if isinstance(value, bool) else f"{type(value).__name__} {value!r}"
    if isinstance(value, str):
        kind = f"the string {value!r}"
    raise ScenarioError(
        "not a number",
        where,
        expected="a number (integers, decimals, 1e-3, .5, .inf, .nan)",
        found=kind,
        hint="quotes make a string; true/false are not numbers" if isinstance(value, (str, bool)) else None,
    )


def _check_float_range(value: int, where: Where) -> None:
    """An integer a float can hold, or an error: numpy would refuse it with OverflowError."""
    try:
        float(value)
    except OverflowError:
        raise ScenarioError(
            "number beyond float range",
            where,
            expected="a number within about ±1.8e308",
            found=f"an integer of {len(str(abs(value))):,} digits",
        ) from None


def too_many(shape: tuple[int, ...], where: Where, in_file: bool = False) -> ScenarioError:
    count = math.prod(shape)
    return ScenarioError(
        "array too large to trace",
        where,
        expected=f"at most {limits.MAX_ELEMENTS:,} elements",
        found=f"shape {shape} ({count:,} elements)",
        hint="trace a smaller case" if in_file else
        "YAML aliases can describe huge arrays in a few lines; write the array out or use a .npy file",
    )  # fmt: skip


def to_array(value: Any, where: Where, base_dir: Path | None, dtype: np.dtype[Any]) -> np.ndarray:
    """Any array-valued field as a numpy array of the scenario's dtype (object: exact Fractions)."""
    if dtype.kind == "O":
        return _exact(value, where, base_dir)
    if isinstance(value, dict):
        with np.errstate(over="ignore"):  # 1e300 into float32 is inf: the scenario's warning says so, not numpy's
            return _from_file(value, where, base_dir).astype(dtype, copy=False)
    if isinstance(value, np.ndarray):  # the Python API may pass arrays directly
        if value.dtype.kind not in "iuf":
            raise ScenarioError(
                "array holds no numbers", where, expected="integer or float dtype", found=str(value.dtype)
            )
        if value.size > limits.MAX_ELEMENTS:
            raise too_many(value.shape, where)
        return value.astype(dtype, copy=False)
    if isinstance(value, NumericList):  # read as JSON numbers: only its shape can be wrong
        try:
            array = np.array(value, dtype=np.float64)
        except (ValueError, OverflowError):
            pass  # ragged, too deep or beyond float range: the walk below says where
        else:
            if array.ndim <= MAX_DIMS:
                return array.astype(dtype, copy=False)
    shape = _shape(value, where, {})
    array = np.array(value, dtype=np.float64)
    if array.shape != shape:  # pragma: no cover - _shape walked the same lists
        raise ScenarioError("array could not be built", where, found=f"shape {array.shape}")
    return array.astype(dtype, copy=False)


def _exact(value: Any, where: Where, base_dir: Path | None) -> np.ndarray:
    """An array of Fractions, each number as written; NaN and inf are refused, having no fraction."""
    if isinstance(value, dict):
        array = _from_file(value, where, base_dir, exact=True)
    elif isinstance(value, np.ndarray):
        if value.dtype.kind not in "iufO":
            raise ScenarioError(
                "array holds no numbers", where, expected="integer, float or Fraction dtype", found=str(value.dtype)
            )
        if value.size > limits.MAX_ELEMENTS:
            raise too_many(value.shape, where)
        array = value
    else:
        shape = _shape(value, where, {})
        array = np.empty(shape, dtype=object)
        if array.size:
            array[...] = value
    try:
        return fraction_array(array)
    except NotFinite as exc:
        index = getattr(exc, "index", ())
        place = f"{where.path}[{']['.join(map(str, index))}]" if index else where.path
        raise ScenarioError(
            "--exact needs finite numbers: NaN and inf have no fraction",
            where,
            found=f"{exc} at {place}",
            hint="run without --exact to trace NaN and inf",
        ) from None
    except TypeError as exc:
        raise ScenarioError("not a number", where, found=str(exc)) from None


def _from_file(ref: dict[str, Any], where: Where, base_dir: Path | None, exact: bool = False) -> np.ndarray:
    kinds = [k for k in FILE_KEYS if k in ref]
    allowed = {"npy": {"npy"}, "npz": {"npz", "key"}, "csv": {"csv", "delimiter"}}
    if len(kinds) != 1:
        raise ScenarioError(
            "an array must be nested lists or one file reference",
            _line(ref, where),
            expected="{npy: file.npy}, {npz: file.npz, key: name} or {csv: file.csv}",
            found="a mapping with keys " + ", ".join(shown(key) for key in list(ref)[:8]),
        )
    kind = kinds[0]
    for key in ref:
        if key not in allowed[kind]:
            raise unknown_name(f"key for a {kind} reference", str(key), allowed[kind], where)
    name = ref[kind]
    if not isinstance(name, str):
        raise ScenarioError("a file name must be a string", where.child(kind), found=shown(name))
    path = (base_dir or Path.cwd()) / name
    fwhere = Where(where.file, _line(ref, where).line, where.path)
    _existing(path, fwhere)
    delimiter = _delimiter(ref, fwhere) if kind == "csv" else ","
    try:
        if kind == "csv":
            array = _read_csv(path, delimiter, fwhere, exact)
        elif kind == "npy":
            array = _read_npy(path, fwhere)
        else:
            array = _read_npz(path, ref.get("key"), fwhere)
    except load_errors() as exc:
        raise unreadable(kind, path, exc, fwhere) from None
    if not isinstance(array, np.ndarray) or array.dtype.kind not in ("iufO" if kind == "csv" else "iuf"):
        found = f"dtype {array.dtype}" if isinstance(array, np.ndarray) else type(array).__name__
        raise ScenarioError("array file holds no numbers", fwhere, expected="integer or float dtype", found=found)
    if array.size > limits.MAX_ELEMENTS:  # pragma: no cover - each reader counts before it reads
        raise too_many(array.shape, fwhere, in_file=True)
    return array


def npz_arrays(ref: Mapping[str, Any], where: Where, base_dir: Path | None) -> dict[str, np.ndarray]:
    """Every array of one .npz by its key (`weights: {npz: file}`: a state_dict saved with np.savez).

    The same checks as one array read from a file: it is a regular file, holds numbers, nothing pickled, and
    no more than limits.MAX_ELEMENTS numbers in all, counted from the headers before any data is read.
    """
    for key in ref:
        if key != "npz":
            raise unknown_name("key for a whole-file npz reference", str(key), ["npz"], where)
    name = ref["npz"]
    if not isinstance(name, str):
        raise ScenarioError("a file name must be a string", where.child("npz"), found=shown(name))
    path = (base_dir or Path.cwd()) / name
    fwhere = Where(where.file, _line(ref, where).line, where.path)
    _existing(path, fwhere)
    arrays: dict[str, np.ndarray] = {}
    try:
        with _archive(path, fwhere) as archive:
            members = _npz_members(archive)
            total = sum(_npz_count(archive, member) for member in members.values())
            if total > limits.MAX_ELEMENTS:
                raise too_many((total,), fwhere, in_file=True)
            for key, member in members.items():
                arrays[key] = _npz_array(archive, member, key, fwhere)
    except load_errors() as exc:
        raise unreadable("npz", path, exc, fwhere) from None
    return arrays


def _existing(path: Path, where: Where) -> None:
    """Refuse, before it is opened, a file that is not there, is a directory, a FIFO or a device, or whose name
    the system refuses (too long)."""
    regular_file(path, "array file", where, "cannot be opened")


def _one_array(where: Where) -> ScenarioError:
    return ScenarioError(
        "not a readable .npz array file: it holds one array (.npy), not an .npz archive of named arrays",
        where,
        hint="write {npy: file} for one array",
    )


def _read_npy(path: Path, where: Where) -> np.ndarray:
    with open_regular(path, "array file", where) as handle:
        if handle.peek(2)[:2] == b"PK":  # type: ignore[attr-defined]
            raise ScenarioError(
                "this file is an .npz archive of named arrays, not one .npy array",
                where,
                hint="write {npz: file, key: name}",
            )
        return _npy(handle, where, size=os.fstat(handle.fileno()).st_size)


def _npy(handle: BinaryIO, where: Where, name: str | None = None, size: int | None = None) -> np.ndarray:
    """One .npy array, its header read first: numbers only (nothing pickled is loaded), and at most
    limits.MAX_ELEMENTS of them, whatever the header claims, before any data is read. `name`: its key in an
    .npz. A damaged header or data cut short raise what numpy raises (ValueError, EOFError)."""
    fmt = np.lib.format
    version = fmt.read_magic(handle)
    readers = {(1, 0): fmt.read_array_header_1_0, (2, 0): fmt.read_array_header_2_0}
    if version not in readers:
        raise ValueError(f"unsupported .npy format version {version}")
    shape, fortran, dtype = readers[version](handle)
    if dtype.hasobject:
        raise ValueError("Object arrays cannot be loaded when allow_pickle=False")
    place = where.child(name) if name is not None else where
    if dtype.kind not in "iuf":
        raise ScenarioError("array file holds no numbers", place, expected="integer or float dtype",
                            found=f"dtype {dtype}")  # fmt: skip
    if math.prod(shape) > limits.MAX_ELEMENTS or max(shape, default=0) > limits.MAX_ELEMENTS:  # (0, 10¹²): no
        raise too_many(tuple(shape), place, in_file=True)
    wanted = math.prod(shape) * dtype.itemsize
    if size is not None and size - handle.tell() < wanted:  # cut short: refused before its claim is allocated
        raise EOFError(f"the file ends before the {math.prod(shape):,} numbers its header gives")
    array = np.empty(math.prod(shape), dtype)
    if array.nbytes and handle.readinto(array.view(np.uint8)) < array.nbytes:  # type: ignore[attr-defined]
        raise EOFError(f"the file ends before the {array.size:,} numbers its header gives")
    return array.reshape(shape, order="F" if fortran else "C")


@contextlib.contextmanager
def _archive(path: Path, where: Where) -> Iterator[zipfile.ZipFile]:
    """An .npz as the zip archive it is, opened as a regular file; a .npy given for one is refused."""
    with open_regular(path, "array file", where) as handle:
        if handle.peek(6)[:6] == b"\x93NUMPY":  # type: ignore[attr-defined]
            raise _one_array(where)
        import zipfile  # only for an .npz: zipfile imports bz2, lzma and shutil, a few ms of every start-up

        with zipfile.ZipFile(handle) as archive:
            yield archive


def _npz_members(archive: zipfile.ZipFile) -> dict[str, str]:
    """Each array's key (the member's name without .npy, as numpy names it) → its member."""
    return {(name[:-4] if name.endswith(".npy") else name): name for name in archive.namelist()}


def _npz_count(archive: zipfile.ZipFile, member: str) -> int:
    """The numbers one member holds, from its header alone (its data is not read); 0 where it has no
    readable header (refused when it is read)."""
    fmt = np.lib.format
    with archive.open(member) as handle:
        try:
            version = fmt.read_magic(handle)
            reader = fmt.read_array_header_2_0 if version == (2, 0) else fmt.read_array_header_1_0
            return math.prod(reader(handle)[0])
        except ValueError:
            return 0


def _npz_array(archive: zipfile.ZipFile, member: str, key: str, where: Where) -> np.ndarray:
    with archive.open(member) as handle:
        return _npy(handle, where, key, archive.getinfo(member).file_size)  # type: ignore[arg-type]


def _read_npz(path: Path, key: Any, where: Where) -> np.ndarray:
    with _archive(path, where) as archive:
        members = _npz_members(archive)
        names = list(members)
        if key is None:
            if len(names) != 1:
                raise ScenarioError(
                    "this .npz holds several arrays: say which with key",
                    where,
                    expected="key: one of " + ", ".join(name[:60] for name in names[:20]) + ", ..." * (len(names) > 20),
                )
            key = names[0]
        if key not in names:
            raise unknown_name("npz key", str(key), names, where.child("key"))
        return _npz_array(archive, members[key], str(key), where)


# What a damaged file makes numpy and zipfile raise: zipfile also raises BadZipFile, NotImplementedError (an
# unknown compression), RuntimeError (an encrypted member) and struct.error, none of them OSError or ValueError.
def load_errors() -> tuple[type[BaseException], ...]:
    """What reading a damaged array file may raise (zipfile is imported only then)."""
    import zipfile

    return (ValueError, OSError, EOFError, zipfile.BadZipFile, zlib.error, RuntimeError, struct.error)


def unreadable(kind: str, path: Path, exc: BaseException, where: Where) -> ScenarioError:
    """Why an array file cannot be read, in our words: numpy's own messages quote the file and advise
    loading pickles, and neither reaches the user."""
    try:
        with path.open("rb") as file:
            head = file.read(8)
    except OSError:
        head = b""
    import zipfile

    text = str(exc)
    numpy_file = head.startswith((b"\x93NUMPY", b"PK"))
    hint = None
    if not head:
        why = "it is empty"
    elif isinstance(exc, OSError) and not isinstance(exc, zipfile.BadZipFile):
        why = f"it cannot be read: {exc.strerror or type(exc).__name__}"
    elif head.startswith(b"\x80") or (numpy_file and ("pickle" in text or "Object arrays" in text)):
        why = "it holds Python objects (pickled), which are never loaded"
        hint = "save plain numbers: np.save(file, np.asarray(array, dtype=np.float32))"
    elif isinstance(exc, (zipfile.BadZipFile, zlib.error)) or head.startswith(b"PK"):
        checksum = "CRC" in text or isinstance(exc, zlib.error)
        why = "the archive is damaged: an array in it fails its checksum" if checksum else (
            "it is not a readable zip archive (.npz): damaged or cut short")  # fmt: skip
    elif isinstance(exc, EOFError) or "could only read" in text or "No data left" in text:
        why = "it is cut short: it holds fewer bytes than its header says"
    elif numpy_file:
        why = "its header cannot be read"
    else:
        why = "it is not a numpy file (.npy files start with \\x93NUMPY, .npz files with PK)"
    return ScenarioError(f"not a readable .{kind} array file: {why}", where, found=str(path), hint=hint)


def _delimiter(ref: Mapping[str, Any], where: Where) -> str:
    """A .csv reference's delimiter: text, and nothing a number could contain."""
    value = ref.get("delimiter", ",")
    if not isinstance(value, str) or not value or re.search(r"[0-9.eE+\-_]", value):
        raise ScenarioError(
            "a CSV delimiter is one or more characters that cannot be part of a number",
            where.child("delimiter"),
            expected='",", ";", "\\t" or " "',
            found=repr(value),
        )
    return value


# A CSV cell: a decimal number in ASCII digits (as YAML and numpy write them), or nan / inf.
_CSV_NUMBER = re.compile(r"[+-]?(?:(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?|inf|infinity)|nan", re.I)


def _read_csv(path: Path, delimiter: str, where: Where, exact: bool = False) -> np.ndarray:
    """A .csv of numbers; with `exact`, each cell as the Fraction its text names (an object array).

    A leading byte order mark is dropped; a cell that is not a number is named by line and column, never
    quoted (float() would read ١ as 1 and 1_0 as 10: only ASCII numbers are taken). The file is at most
    limits.MAX_FILE_BYTES; its cells are counted a line at a time, before the line is split, against
    limits.MAX_ELEMENTS, and each row is kept as numbers (not as Python floats).
    """
    text = decoded(read_bytes(path, "array file", where, limits.MAX_FILE_BYTES), where, f"CSV file {path.name}")
    rows: list[Any] = []
    width = count = 0
    for line, row in enumerate(io.StringIO(text, newline=None), start=1):
        if not row.strip() or row.lstrip().startswith("#"):
            continue
        cells = row.count(delimiter) + 1
        count += cells
        if count > limits.MAX_ELEMENTS:
            raise too_many((count,), where, in_file=True)
        if rows and cells != width:
            raise ScenarioError(
                "ragged CSV: rows of different lengths",
                where,
                expected=f"{width} columns",
                found=f"{path.name}, line {line} has {cells}",
            )
        width = cells
        texts = [cell.strip() for cell in row.split(delimiter)]
        for column, cell in enumerate(texts, start=1):
            if not _CSV_NUMBER.fullmatch(cell):
                raise ScenarioError(
                    "a CSV cell is not a number",
                    where,
                    expected="numbers in ASCII digits: 1, -0.5, 1e-3, nan, inf",
                    found=f"{path.name}, line {line}, column {column}: {_not_number(cell)}",
                )
        rows.append([_cell(cell) for cell in texts] if exact else np.array([float(cell) for cell in texts]))
    if not rows:
        return np.empty((0,), dtype=object if exact else np.float64)
    array = np.array(rows, dtype=object) if exact else np.stack(rows)
    return array[0] if array.shape[0] == 1 else array


def _not_number(cell: str) -> str:
    """What is wrong with a cell, without its text (the file may hold anything)."""
    if not cell:
        return "an empty cell"
    if any(ch.isdigit() and not ch.isascii() for ch in cell):
        return "digits other than ASCII 0-9"
    if "_" in cell:
        return "an underscore, which a number cannot hold here"
    return "text that is not a number"


def _cell(text: str) -> Any:
    """A CSV cell by its text: a number, kept as its decimal (NaN and inf stay floats)."""
    value = float(text)  # the same cells as without --exact, and no others: '1/3' is refused
    if not np.isfinite(value):
        return value
    return WrittenFloat(text)


def nonfinite(array: np.ndarray, where: Where) -> str | None:
    """A warning naming where NaN or inf values are, or None: they are traced, not refused."""
    if array.dtype == object:  # exact Fractions: NaN and inf were refused when they were read
        return None
    bad = ~np.isfinite(array)
    if not bad.any():
        return None
    first = tuple(int(k) for k in np.argwhere(bad)[0])
    kinds = " and ".join(k for k, mask in (("NaN", np.isnan(array)), ("inf", np.isinf(array))) if mask.any())
    place = f"{where.path}[{']['.join(map(str, first))}]" if first else where.path
    line = f" (line {where.line})" if where.line else ""
    return f"{where.path}{line} holds {int(bad.sum())} {kinds} value(s), the first at {place}; they are traced as given"
