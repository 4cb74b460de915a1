"""Arrays in a scenario: nested YAML lists or .npy/.npz/.csv files, checked before they are built.

Shapes are worked out by walking the lists once, sharing the work for YAML
aliases, so an alias bomb that describes billions of elements is refused by
its element count before any memory is spent on it.

With dtype `object` (`--exact`), an array is built of Fractions: YAML numbers
and .csv cells by their text, .npy/.npz floats by the shortest decimal that
reads back to the stored value in its own dtype.
"""

from __future__ import annotations

import io
import math
import zipfile
import zlib
from collections.abc import Mapping
from pathlib import Path
from typing import Any, BinaryIO

import numpy as np

from . import limits
from .errors import ScenarioError, Where, shown, unknown_name
from .exact import NotFinite, fraction_array
from .yamlio import NumericList, WrittenFloat, open_regular

FILE_KEYS = ("npy", "npz", "csv")
UNREADABLE = (ValueError, OSError, EOFError, zipfile.BadZipFile, zlib.error, UnicodeDecodeError)


def _line(value: Any, where: Where) -> Where:
    line = getattr(value, "line", None)
    return Where(where.file, line, where.path) if line is not None else where


def _shape(value: Any, where: Where, memo: dict[int, tuple[int, ...]]) -> tuple[int, ...]:
    """The shape of nested lists of numbers; refuses ragged rows and non-numbers."""
    if type(value) in (int, float, WrittenFloat):
        return ()
    if isinstance(value, list):
        known = memo.get(id(value))
        if known is not None:
            return known
        here = _line(value, where)
        if not value:
            shape: tuple[int, ...] = (0,)
        else:
            first = _shape(value[0], here.child(0), memo)
            for k, item in enumerate(value[1:], start=1):
                other = _shape(item, here.child(k), memo)
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
    kind = "a boolean" if isinstance(value, bool) else f"{type(value).__name__} {shown(value)}"
    if isinstance(value, str):
        kind = f"the string {shown(value)}"
    raise ScenarioError(
        "not a number",
        where,
        expected="a number (integers, decimals, 1e-3, .5, .inf, .nan)",
        found=kind,
        hint="quotes make a string; true/false are not numbers" if isinstance(value, (str, bool)) else None,
    )


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
            return np.array(value, dtype=np.float64).astype(dtype, copy=False)
        except ValueError:
            pass  # ragged: the walk below says where
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
    path, fwhere = _file(ref, kind, where, base_dir)
    try:
        if kind == "csv":
            array = _read_csv(path, _delimiter(ref.get("delimiter", ","), where), fwhere, exact)
        elif kind == "npy":
            with open_regular(path, "array file", fwhere) as handle:
                array = _read_npy(handle, fwhere)
        else:
            array = _read_npz(path, ref.get("key"), fwhere)
    except UNREADABLE as exc:
        raise ScenarioError(f"not a readable .{kind} array file", fwhere, found=f"{path}: {exc}") from None
    if array.size > limits.MAX_ELEMENTS:  # pragma: no cover - each reader counts before it reads
        raise too_many(array.shape, fwhere, in_file=True)
    return array


def _file(ref: Mapping[str, Any], kind: str, where: Where, base_dir: Path | None) -> tuple[Path, Where]:
    """The file a reference names, and where the reference is."""
    name = ref[kind]
    if not isinstance(name, str):
        raise ScenarioError("a file name must be a string", where.child(kind), found=shown(name))
    return (base_dir or Path.cwd()) / name, Where(where.file, _line(ref, where).line, where.path)


def _delimiter(value: Any, where: Where) -> str:
    if isinstance(value, str) and 0 < len(value) <= 8 and "\n" not in value:
        return value
    raise ScenarioError("a CSV delimiter is a character or a few", where.child("delimiter"),
                        expected="a string such as ',' or ';'", found=shown(value))  # fmt: skip


def _read_npy(handle: BinaryIO, where: Where, name: str | None = None) -> np.ndarray:
    """One .npy array, its header checked before its data is read: numbers only (nothing pickled), and at
    most limits.MAX_ELEMENTS of them, whatever size the header claims. `name`: its key in an .npz."""
    fmt = np.lib.format
    version = fmt.read_magic(handle)
    readers = {(1, 0): fmt.read_array_header_1_0, (2, 0): fmt.read_array_header_2_0}
    if version not in readers:
        raise ValueError(f".npy format version {version[0]}.{version[1]}, which holds no plain array of numbers")
    shape, fortran, dtype = readers[version](handle)
    place = where.child(name) if name is not None else where
    if dtype.kind not in "iuf" or dtype.hasobject:
        raise ScenarioError("array file holds no numbers", place, expected="integer or float dtype",
                            found=f"dtype {dtype}")  # fmt: skip
    if any(size < 0 for size in shape):
        raise ValueError(f"the header gives the shape {shape}")
    if math.prod(shape) > limits.MAX_ELEMENTS:
        raise too_many(tuple(shape), place, in_file=True)
    array = np.empty(math.prod(shape), dtype)
    if array.nbytes and handle.readinto(array.view(np.uint8)) < array.nbytes:  # type: ignore[attr-defined]
        raise ValueError(f"the file ends before the {array.size:,} numbers its header gives")
    return array.reshape(shape, order="F" if fortran else "C")


def _npz_members(archive: zipfile.ZipFile) -> dict[str, str]:
    """Each array's key (the member's name without .npy, as numpy names it) → its member."""
    return {(name[:-4] if name.endswith(".npy") else name): name for name in archive.namelist()}


def _npz_array(archive: zipfile.ZipFile, member: str, key: str, where: Where) -> np.ndarray:
    if not member.endswith(".npy"):
        raise ScenarioError("array file holds no numbers", where.child(key), expected="an array saved by numpy",
                            found=f"the file {shown(member)} in the archive")  # fmt: skip
    with archive.open(member) as handle:
        return _read_npy(handle, where, key)  # type: ignore[arg-type]


def npz_arrays(ref: Mapping[str, Any], where: Where, base_dir: Path | None) -> dict[str, np.ndarray]:
    """Every array of one .npz by its key (`weights: {npz: file}`: a state_dict saved with np.savez).

    The same checks as one array read from a file: it is a regular file, holds numbers, nothing pickled,
    and no more than limits.MAX_ELEMENTS numbers in all, counted from the headers before any data is read.
    """
    for key in ref:
        if key != "npz":
            raise unknown_name("key for a whole-file npz reference", str(key), ["npz"], where)
    path, fwhere = _file(ref, "npz", where, base_dir)
    arrays: dict[str, np.ndarray] = {}
    try:
        with open_regular(path, "array file", fwhere) as handle, zipfile.ZipFile(handle) as archive:
            members = _npz_members(archive)
            total = sum(_npz_count(archive, member, key, fwhere) for key, member in members.items())
            if total > limits.MAX_ELEMENTS:
                raise too_many((total,), fwhere, in_file=True)
            for key, member in members.items():
                arrays[key] = _npz_array(archive, member, key, fwhere)
    except UNREADABLE as exc:
        raise ScenarioError("not a readable .npz array file", fwhere, found=f"{path}: {exc}") from None
    return arrays


def _npz_count(archive: zipfile.ZipFile, member: str, key: str, where: Where) -> int:
    """The numbers one member holds, from its header alone (its data is not read)."""
    if not member.endswith(".npy"):
        return 0  # refused when it is read
    fmt = np.lib.format
    with archive.open(member) as handle:
        version = fmt.read_magic(handle)
        reader = fmt.read_array_header_2_0 if version == (2, 0) else fmt.read_array_header_1_0
        shape = reader(handle)[0] if version in ((1, 0), (2, 0)) else ()
    return math.prod(shape) if all(size >= 0 for size in shape) else 0


def _read_npz(path: Path, key: Any, where: Where) -> np.ndarray:
    with open_regular(path, "array file", where) as handle, zipfile.ZipFile(handle) as archive:
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


def _read_csv(path: Path, delimiter: str, where: Where, exact: bool = False) -> np.ndarray:
    """A .csv of numbers, read a line at a time, its cells counted before a line is split (at most
    limits.MAX_ELEMENTS in all); with `exact`, each cell as the Fraction its text names (an object array)."""
    rows: list[Any] = []
    width = cells = 0
    with open_regular(path, "array file", where, limits.MAX_FILE_BYTES) as handle:
        for n, row in enumerate(io.TextIOWrapper(handle, encoding="utf-8"), start=1):
            if not row.strip() or row.lstrip().startswith("#"):
                continue
            count = row.count(delimiter) + 1
            cells += count
            if cells > limits.MAX_ELEMENTS:
                raise too_many((cells,), where, in_file=True)
            if rows and count != width:
                raise ScenarioError(
                    "ragged CSV: rows of different lengths",
                    where,
                    expected=f"{width} columns",
                    found=f"{path.name} row {len(rows) + 1} (line {n}) has {count}",
                )
            width = count
            try:
                values = [_cell(cell) if exact else float(cell) for cell in row.split(delimiter)]
            except ValueError:
                raise ScenarioError("a CSV cell is not a number", where,
                                    found=f"{path.name} line {n}: {shown(row.rstrip())}") from None  # fmt: skip
            rows.append(values if exact else np.array(values))
    if not rows:
        return np.empty((0,), dtype=object if exact else np.float64)
    array = np.array(rows, dtype=object) if exact else np.stack(rows)
    return array[0] if array.shape[0] == 1 else array


def _cell(text: str) -> Any:
    """A CSV cell by its text: a number float() reads, kept as its decimal (NaN and inf stay floats)."""
    value = float(text)  # the same cells as without --exact, and no others: '1/3' is refused
    if not np.isfinite(value):
        return value
    try:
        return WrittenFloat(text.strip())
    except ValueError:  # pragma: no cover - float() read it
        return value


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
