"""Arrays in a scenario: nested YAML lists or .npy/.npz/.csv files, checked before they are built.

Shapes are worked out by walking the lists once, sharing the work for YAML
aliases, so an alias bomb that describes billions of elements is refused by
its element count before any memory is spent on it.

With dtype `object` (`--exact`), an array is built of Fractions: YAML numbers
and .csv cells by their text, .npy/.npz floats by the shortest decimal that
reads back to the stored value in its own dtype.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

from .errors import ScenarioError, Where, unknown_name
from .exact import NotFinite, fraction_array
from .yamlio import NumericList, WrittenFloat

MAX_ELEMENTS = 20_000_000
FILE_KEYS = ("npy", "npz", "csv")


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
            if int(np.prod(shape, dtype=np.float64)) > MAX_ELEMENTS:
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


def too_many(shape: tuple[int, ...], where: Where) -> ScenarioError:
    count = int(np.prod(shape, dtype=np.float64))
    return ScenarioError(
        "array too large to trace",
        where,
        expected=f"at most {MAX_ELEMENTS:,} elements",
        found=f"shape {shape} ({count:,} elements)",
        hint="YAML aliases can describe huge arrays in a few lines; write the array out or use a .npy file",
    )


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
        if value.size > MAX_ELEMENTS:
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
        if value.size > MAX_ELEMENTS:
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
            found="a mapping with keys " + ", ".join(map(str, ref)),
        )
    kind = kinds[0]
    for key in ref:
        if key not in allowed[kind]:
            raise unknown_name(f"key for a {kind} reference", str(key), allowed[kind], where)
    name = ref[kind]
    if not isinstance(name, str):
        raise ScenarioError("a file name must be a string", where.child(kind), found=repr(name))
    path = (base_dir or Path.cwd()) / name
    fwhere = Where(where.file, _line(ref, where).line, where.path)
    if not path.is_file():
        what = "is a directory" if path.is_dir() else "does not exist"
        raise ScenarioError(f"array file {what}", fwhere, found=str(path))
    try:
        if kind == "csv":
            array = _read_csv(path, str(ref.get("delimiter", ",")), fwhere, exact)
        elif kind == "npy":
            array = np.load(path, allow_pickle=False)
        else:
            array = _read_npz(path, ref.get("key"), fwhere)
    except (ValueError, OSError, EOFError) as exc:
        raise ScenarioError(f"not a readable .{kind} array file", fwhere, found=f"{path}: {exc}") from None
    if not isinstance(array, np.ndarray) or array.dtype.kind not in ("iufO" if kind == "csv" else "iuf"):
        found = f"dtype {array.dtype}" if isinstance(array, np.ndarray) else type(array).__name__
        raise ScenarioError("array file holds no numbers", fwhere, expected="integer or float dtype", found=found)
    if array.size > MAX_ELEMENTS:
        raise too_many(array.shape, fwhere)
    return array


def npz_arrays(ref: Mapping[str, Any], where: Where, base_dir: Path | None) -> dict[str, np.ndarray]:
    """Every array of one .npz by its key (`weights: {npz: file}`: a state_dict saved with np.savez).

    The same checks as one array read from a file: it exists, holds numbers, nothing pickled, and no more
    than MAX_ELEMENTS numbers in all.
    """
    for key in ref:
        if key != "npz":
            raise unknown_name("key for a whole-file npz reference", str(key), ["npz"], where)
    name = ref["npz"]
    if not isinstance(name, str):
        raise ScenarioError("a file name must be a string", where.child("npz"), found=repr(name))
    path = (base_dir or Path.cwd()) / name
    fwhere = Where(where.file, _line(ref, where).line, where.path)
    if not path.is_file():
        raise ScenarioError(f"array file {'is a directory' if path.is_dir() else 'does not exist'}", fwhere,
                            found=str(path))  # fmt: skip
    arrays: dict[str, np.ndarray] = {}
    total = 0
    try:
        archive = np.load(path, allow_pickle=False)
        if not hasattr(archive, "files"):
            raise ValueError("one array (.npy), not an .npz archive of named arrays")
        with archive:
            for key in archive.files:
                array = np.asarray(archive[key])
                if array.dtype.kind not in "iuf":
                    raise ScenarioError(
                        "array file holds no numbers", fwhere.child(key), expected="integer or float dtype",
                        found=f"dtype {array.dtype}",
                    )  # fmt: skip
                total += array.size
                if total > MAX_ELEMENTS:
                    raise too_many((total,), fwhere)
                arrays[key] = array
    except (ValueError, OSError, EOFError) as exc:
        raise ScenarioError("not a readable .npz array file", fwhere, found=f"{path}: {exc}") from None
    return arrays


def _read_npz(path: Path, key: Any, where: Where) -> np.ndarray:
    with np.load(path, allow_pickle=False) as archive:
        names = list(archive.files)
        if key is None:
            if len(names) != 1:
                raise ScenarioError(
                    "this .npz holds several arrays: say which with key",
                    where,
                    expected="key: one of " + ", ".join(names),
                )
            key = names[0]
        if key not in names:
            raise unknown_name("npz key", str(key), names, where.child("key"))
        return np.asarray(archive[key])


def _read_csv(path: Path, delimiter: str, where: Where, exact: bool = False) -> np.ndarray:
    """A .csv of numbers; with `exact`, each cell as the Fraction its text names (an object array)."""
    text = path.read_text(encoding="utf-8")
    rows = [r for r in text.splitlines() if r.strip() and not r.lstrip().startswith("#")]
    values: list[list[Any]] = []
    for n, row in enumerate(rows, start=1):
        try:
            values.append([_cell(cell) if exact else float(cell) for cell in row.split(delimiter)])
        except ValueError:
            raise ScenarioError("a CSV cell is not a number", where, found=f"{path.name} row {n}: {row!r}") from None
        if values[0] and len(values[-1]) != len(values[0]):
            raise ScenarioError(
                "ragged CSV: rows of different lengths",
                where,
                expected=f"{len(values[0])} columns",
                found=f"{path.name} row {n} has {len(values[-1])}",
            )
    array = np.array(values, dtype=object if exact else np.float64)
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
