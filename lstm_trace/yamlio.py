"""Reading scenario YAML safely, as YAML 1.2 reads numbers, keeping line numbers.

PyYAML implements YAML 1.1, where `1e-3` is a string, `yes` is a boolean and
`012` is octal. Scenario authors copy numbers from Python and NumPy, which
print `1e-05`, so we resolve plain scalars by the YAML 1.2 core schema instead.
Only safe constructors exist, so no tag can build an object or run code.
Mappings and sequences remember the line they start on, so that an error about
`weights.kernel` can point at the line that wrote it. Read with `exact=True`,
every decimal number also keeps the text it was written as (`WrittenFloat`),
so that `--exact` takes 0.1 as 1/10.
"""

from __future__ import annotations

import os
import re
import stat
from pathlib import Path
from typing import Any, BinaryIO, ClassVar

import yaml
from yaml.composer import Composer
from yaml.events import AliasEvent, SequenceStartEvent

from . import limits
from .errors import ScenarioError, Where, shown

try:  # libyaml's parser is several times faster for large scenarios
    _Base: Any = yaml.CSafeLoader
except AttributeError:  # pragma: no cover - PyYAML built without libyaml
    _Base = yaml.SafeLoader


def _same_size(a: Any, b: Any) -> bool:
    """False when both know their size (values, each alias counted as written out) and the sizes differ."""
    size_a, size_b = getattr(a, "size", None), getattr(b, "size", None)
    return size_a is None or size_b is None or size_a == size_b


class MarkedDict(dict[Any, Any]):
    """A mapping that knows the line it starts on, the line of each key, and its size.

    `size` counts the values it holds, each alias as the values it stands for. A mapping may be an alias
    standing for millions of values in a few lines, so it prints a bounded part of itself, and compares its
    size before its items: nothing is expanded before its size is known.
    """

    line: int | None = None
    key_lines: dict[Any, int | None]
    size: int | None = None

    def line_of(self, key: Any) -> int | None:
        return getattr(self, "key_lines", {}).get(key, self.line)

    def __repr__(self) -> str:
        return shown(self)

    def __eq__(self, other: object) -> bool:
        return dict.__eq__(self, other) if _same_size(self, other) else False

    def __ne__(self, other: object) -> bool:
        return dict.__ne__(self, other) if _same_size(self, other) else True

    __hash__ = None  # type: ignore[assignment]


class MarkedList(list[Any]):
    """A sequence that knows the line it starts on, and its size, printed and compared as MarkedDict is."""

    line: int | None = None
    size: int | None = None

    def __repr__(self) -> str:
        return shown(self)

    def __eq__(self, other: object) -> bool:
        return list.__eq__(self, other) if _same_size(self, other) else False

    def __ne__(self, other: object) -> bool:
        return list.__ne__(self, other) if _same_size(self, other) else True

    __hash__ = None  # type: ignore[assignment]


class WrittenFloat(float):
    """A float that keeps the decimal text it was written as: --exact reads `0.1` as 1/10, not as the float."""

    __slots__ = ("text",)
    text: str

    def __new__(cls, text: str) -> WrittenFloat:
        self = super().__new__(cls, text)
        self.text = text
        return self


class NumericList(MarkedList):
    """Nested lists that the fast path read as JSON numbers: numpy may build them directly."""


# A flow sequence of plain numbers that starts a value: after indentation, block dashes and a simple key.
_GROUP_START = re.compile(r"^[ \t]*(?:-[ \t]+)*(?:[A-Za-z0-9_./\-]+(?::[0-9]+)?:[ \t]+)?(?:-[ \t]+)*\[", re.M)
_NUMERIC = re.compile(r"[\[\]\s,0-9eE+\-.]*")
_BRACKET = re.compile(r"[\[\]]")
_REST_OF_LINE = re.compile(r"[ \t]*(?:#[^\n]*)?(?:\n|$)")
_FAST_MIN_CHARS = 2000


def _group_end(text: str, start: int, end: int) -> int:
    """Where the flow sequence opened at `start` closes (after its `]`) within the run of number characters
    that ends at `end`, or -1."""
    depth = 0
    for match in _BRACKET.finditer(text, start, end):
        depth += 1 if match.group() == "[" else -1
        if depth == 0:
            return match.end()
    return -1


# YAML 1.2 numbers that JSON writes otherwise: .5 and 5. (0.5, 5.0), then +5 (5) and 012 (12)
_POINTS = [(f"{c}.", f"{c}0.") for c in " \t\n[,-+"] + [(f".{c}", f".0{c}") for c in " \t\n],eE"]
_SIGNS_AND_ZEROS = (re.compile(r"(?<![0-9.eE])\+"), re.compile(r"(?<![0-9.eE])0+(?=[0-9])"))
_EMPTY_LIST = re.compile(r"\[\s*\]")


def _json_numbers(group: str, exact: bool) -> list[Any] | None:
    """A flow sequence of numbers read as JSON, in YAML 1.2's forms too; None where it is not one."""
    import json  # small scenarios, the common case, never need it

    load = (lambda text: json.loads(text, parse_float=WrittenFloat)) if exact else json.loads
    for attempt in range(3):
        try:
            return load(group)  # type: ignore[no-any-return]
        except ValueError:
            if attempt == 0:  # plain text replacements, fast even for millions of numbers
                for old, new in _POINTS:
                    group = group.replace(old, new)
            elif attempt == 1:
                for pattern, replacement in zip(_SIGNS_AND_ZEROS, ("", ""), strict=True):
                    group = pattern.sub(replacement, group)
    return None


def _values_in(value: Any) -> int:
    """The YAML values a parsed group holds: each list and each number."""
    return 1 + sum(_values_in(item) for item in value) if isinstance(value, list) else 1


def _numeric_groups(text: str, exact: bool = False, file: Path | None = None) -> tuple[str, dict[str, Any], int]:
    """Large flow sequences of numbers replaced by placeholders and parsed as JSON; and how many numbers.

    JSON numbers are a subset of YAML 1.2's, so json reads them exactly as YAML would, a hundred times
    faster than PyYAML's Python constructors; the forms JSON writes otherwise (`.5`, `5.`, `+5`, `012`) are
    rewritten first. A group that json still refuses stays in the text for YAML to read. Newlines are kept,
    so every later line keeps its number. The numbers are counted before they are read: a group of more than
    limits.MAX_ELEMENTS, or more than limits.MAX_VALUES in all, is refused.
    """
    if len(text) < _FAST_MIN_CHARS:
        return text, {}, 0
    found: dict[str, Any] = {}
    parts: list[str] = []
    pos = total = 0
    run_end = -1  # where the run of number characters holding the last candidate ends: each is read once
    for match in _GROUP_START.finditer(text):
        start = match.end() - 1
        if start < pos:
            continue
        if start >= run_end:
            run_end = _NUMERIC.match(text, start).end()  # type: ignore[union-attr]
        close = _group_end(text, start, run_end)
        if close < 0 or close - start < _FAST_MIN_CHARS or not _REST_OF_LINE.match(text, close):
            continue
        group = text[start:close]
        line = text.count("\n", 0, start) + 1
        numbers = group.count(",") + 1  # exactly the numbers, unless the group holds an empty list
        total += numbers
        if numbers > limits.MAX_ELEMENTS:
            raise ScenarioError(
                "array too large to trace",
                Where(file, line),
                expected=f"at most {limits.MAX_ELEMENTS:,} elements",
                found=f"a list of {numbers:,} numbers",
                hint="keep an array this large in a .npy file, or trace a smaller case",
            )
        if total > limits.MAX_VALUES:
            raise too_many_values(Where(file, line))
        value = _json_numbers(group, exact)
        if value is None:
            continue
        out = NumericList(value)
        out.line = line
        out.size = _values_in(value) if _EMPTY_LIST.search(group) else numbers + group.count("[")
        key = f"__lstm_trace_array_{len(found)}__"
        found[key] = out
        parts.append(text[pos:start])
        parts.append(key + "\n" * group.count("\n"))
        pos = close
    parts.append(text[pos:])
    return "".join(parts), found, total


def too_many_values(where: Where) -> ScenarioError:
    return ScenarioError(
        "the scenario describes too many values",
        where,
        expected=f"at most {limits.MAX_VALUES:,} numbers and other values in one file, each alias counted as "
        "the values it stands for",
        found=f"more than {limits.MAX_VALUES:,} by here",
        hint="keep large arrays in .npy files, or trace a smaller case",
    )


def _restore(node: Any, groups: dict[str, Any], seen: dict[int, Any]) -> Any:
    """The parsed document with each placeholder replaced by its group. An object that aliases share is
    walked once (`seen`), so a few lines of aliases cannot make the walk long. A container that held a
    placeholder no longer knows its size (it counted the placeholder as one value)."""
    if isinstance(node, str):
        return groups.get(node, node)
    if id(node) in seen:
        return seen[id(node)]
    seen[id(node)] = node
    items = list(node.items()) if isinstance(node, dict) else [] if isinstance(node, NumericList) else enumerate(node)
    for key, value in items:
        if isinstance(value, (str, dict, list)):
            new = _restore(value, groups, seen)
            if new is not value or getattr(new, "size", 0) is None:
                node[key], node.size = new, None
    rows = isinstance(node, list) and not isinstance(node, NumericList) and node
    if rows and all(isinstance(item, NumericList) for item in node):  # `- [..]` rows of numbers
        numbers = NumericList(node)
        numbers.line = getattr(node, "line", None)
        numbers.size = 1 + sum(item.size for item in node) if all(item.size for item in node) else None
        seen[id(node)] = numbers
        return numbers
    return node


_INT = re.compile(r"^[-+]?[0-9]+$|^0o[0-7]+$|^0x[0-9a-fA-F]+$")
_FLOAT = re.compile(
    r"^[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?$"
    r"|^[-+]?\.(inf|Inf|INF)$|^\.(nan|NaN|NAN)$"
)
_BOOL = re.compile(r"^(true|True|TRUE|false|False|FALSE)$")
_NULL = re.compile(r"^(~|null|Null|NULL|)$")


class _Counting(Composer):
    """A composer that counts what it composes and stops at a cap, before the document is built.

    Each node composed counts once against limits.MAX_NODES. Values count against limits.MAX_VALUES with
    those the fast path read, and those of one array (the outermost sequence open) against
    limits.MAX_ELEMENTS, each alias as the values it stands for (`node.size`), known as soon as the alias
    is met: the node it names was composed before it. An alias to a node that contains it has no size yet,
    and is refused: no scenario holds a cycle.
    """

    def count_from(self, file: Path | None, fast: int) -> None:
        """Start counting: `file` names where a refusal points, `fast` the numbers the fast path read."""
        self.file, self.fast, self.nodes, self.values = file, fast, 0, 0
        self.arrays = self.array_start = 0  # sequences open, and the values counted when the outermost opened
        self.path: list[Any] = []

    def compose_node(self, parent: Any, index: Any) -> Any:
        node: Any
        event = self.peek_event()  # type: ignore[attr-defined]
        step = index if isinstance(index, int) else index.value if isinstance(index, yaml.ScalarNode) else None
        if step is not None:
            self.path.append(step if isinstance(step, int) else str(step)[:40])
        if isinstance(event, AliasEvent):
            node = super().compose_node(parent, index)
            size = getattr(node, "size", None)
            if size is None:
                raise ScenarioError(
                    "a YAML alias stands for the very list or mapping that holds it", self._where(event.start_mark),
                    found=f"*{shown(event.anchor)}", hint="a scenario holds no cycles: write the value out",
                )  # fmt: skip
            self._count(size, event.start_mark)
        else:
            self.nodes += 1
            if self.nodes > limits.MAX_NODES:
                raise ScenarioError(
                    "too many YAML values to read one by one",
                    self._where(event.start_mark),
                    expected=f"at most {limits.MAX_NODES:,}, besides flow lists of plain numbers, which are read fast",
                    found=f"more than {limits.MAX_NODES:,} by here",
                    hint="write large arrays as flow lists of numbers ([0.5, -1, 2e-3], a row per line if you "
                    "like), or keep them in .npy files",
                )
            start = self.values
            self._count(1, event.start_mark)
            array = isinstance(event, SequenceStartEvent)
            if array and not self.arrays:
                self.array_start = start
            self.arrays += array
            node = super().compose_node(parent, index)
            self.arrays -= array
            node.size = self.values - start
        if step is not None:
            self.path.pop()
        return node

    def _count(self, size: int, mark: Any) -> None:
        self.values += size
        if self.arrays and self.values - self.array_start > limits.MAX_ELEMENTS:
            raise ScenarioError(
                "array too large to trace",
                self._where(mark),
                expected=f"at most {limits.MAX_ELEMENTS:,} elements",
                found=f"more than {limits.MAX_ELEMENTS:,} elements, each alias counted as the values it stands for",
                hint="YAML aliases can describe huge arrays in a few lines; write the array out or use a .npy file",
            )
        if self.values + self.fast > limits.MAX_VALUES:
            raise too_many_values(self._where(mark))

    def _where(self, mark: Any) -> Where:
        where = Where(self.file, mark.line + 1 if mark is not None else None)
        for step in self.path:
            where = where.child(step)
        return where


class _Loader(_Counting, _Base):  # type: ignore[misc,valid-type]
    """Safe loader with the YAML 1.2 core schema and line marks, counting what it composes."""

    yaml_implicit_resolvers: ClassVar[dict[Any, Any]] = {}

    def __init__(self, stream: str) -> None:
        _Base.__init__(self, stream)  # libyaml's parser reads the events; the counting composer builds nodes
        Composer.__init__(self)
        self.count_from(None, 0)


for _tag, _regexp, _first in [
    ("tag:yaml.org,2002:bool", _BOOL, list("tTfF")),
    ("tag:yaml.org,2002:int", _INT, list("-+0123456789")),
    ("tag:yaml.org,2002:float", _FLOAT, list("-+0123456789.")),
    ("tag:yaml.org,2002:null", _NULL, ["~", "n", "N", ""]),
    ("tag:yaml.org,2002:merge", re.compile(r"^(?:<<)$"), ["<"]),
]:
    _Loader.add_implicit_resolver(_tag, _regexp, _first)


def _int(loader: Any, node: yaml.ScalarNode) -> int:
    text = loader.construct_scalar(node)
    if text.startswith(("0o", "0x")):
        return int(text, 0)
    return int(text, 10)


def _float(loader: Any, node: yaml.ScalarNode) -> float:
    text = loader.construct_scalar(node).lower()
    if text.endswith(".inf"):
        return float("-inf") if text.startswith("-") else float("inf")
    if text == ".nan":
        return float("nan")
    return float(text)


def _mapping(loader: Any, node: yaml.MappingNode) -> MarkedDict:
    out = MarkedDict()
    out.line = node.start_mark.line + 1
    out.size = getattr(node, "size", None)
    out.key_lines = {}
    loader.flatten_mapping(node)
    for key_node, value_node in node.value:
        key = loader.construct_object(key_node, deep=True)
        try:
            hash(key)
        except TypeError:
            raise yaml.constructor.ConstructorError(
                None, None, "a mapping key must be a plain name or number", key_node.start_mark
            ) from None
        if key in out:
            raise yaml.constructor.ConstructorError(
                None, None, f"the key {shown(key)} appears twice in one mapping", key_node.start_mark
            )
        out[key] = loader.construct_object(value_node, deep=True)
        out.key_lines[key] = key_node.start_mark.line + 1
    return out


def _sequence(loader: Any, node: yaml.SequenceNode) -> MarkedList:
    out = MarkedList(loader.construct_object(child, deep=True) for child in node.value)
    out.line = node.start_mark.line + 1
    out.size = getattr(node, "size", None)
    return out


class _ExactLoader(_Loader):
    """The same loader, with decimal numbers that keep their text."""


def _written_float(loader: Any, node: yaml.ScalarNode) -> float:
    text = loader.construct_scalar(node)
    if text.lower().endswith((".inf", ".nan")):
        return _float(loader, node)
    return WrittenFloat(text)


_Loader.add_constructor("tag:yaml.org,2002:int", _int)
_Loader.add_constructor("tag:yaml.org,2002:float", _float)
_Loader.add_constructor("tag:yaml.org,2002:map", _mapping)
_Loader.add_constructor("tag:yaml.org,2002:seq", _sequence)
_ExactLoader.add_constructor("tag:yaml.org,2002:float", _written_float)


def regular_file(path: Path, what: str, where: Where) -> int:
    """The size of `path`, refusing before it is opened what is not a regular file: a FIFO would wait for a
    writer forever, /dev/zero would never end. `what` names it in the message ("scenario", "array file")."""
    try:
        info = os.stat(path)
    except FileNotFoundError:
        raise ScenarioError(f"the {what} does not exist", where, found=str(path)) from None
    except OSError as exc:
        raise ScenarioError(f"the {what} cannot be read: {exc.strerror}", where, found=str(path)) from None
    if stat.S_ISDIR(info.st_mode):
        raise ScenarioError(f"the {what} is a directory, not a file", where, found=str(path))
    if not stat.S_ISREG(info.st_mode):
        kind = _KINDS.get(stat.S_IFMT(info.st_mode), "not a regular file")
        raise ScenarioError(f"the {what} is {kind}, not a regular file", where, found=str(path),
                            hint="give a file saved on disk")  # fmt: skip
    return info.st_size


_KINDS = {stat.S_IFIFO: "a pipe (FIFO)", stat.S_IFCHR: "a device", stat.S_IFBLK: "a device", stat.S_IFSOCK: "a socket"}


def open_regular(path: Path, what: str, where: Where, limit: int | None = None) -> BinaryIO:
    """A regular file opened for reading, refusing what is not one and, with `limit`, one of more bytes.

    Opened without blocking and checked again once open, so a path swapped for a FIFO in between cannot
    make the open or the read wait.
    """
    size = regular_file(path, what, where)
    if limit is not None and size > limit:
        raise ScenarioError(f"the {what} is too large", where, expected=f"at most {limit:,} bytes",
                            found=f"{size:,} bytes")  # fmt: skip
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))
    except OSError as exc:
        raise ScenarioError(f"the {what} cannot be read: {exc.strerror}", where, found=str(path)) from None
    handle = os.fdopen(fd, "rb")
    if not stat.S_ISREG(os.fstat(fd).st_mode):
        handle.close()
        raise ScenarioError(f"the {what} is not a regular file", where, found=str(path))
    return handle


def read_bytes(path: Path, what: str, where: Where, limit: int) -> bytes:
    """A regular file's bytes, at most `limit` of them: larger is refused before it is read, and a file that
    grows while it is read stops at the limit."""
    with open_regular(path, what, where, limit) as handle:
        try:
            data = handle.read(min(os.fstat(handle.fileno()).st_size, limit) + 1)  # all, and a byte more if it grew
            while len(data) <= limit and (more := handle.read(2**20)):
                data += more
        except OSError as exc:
            raise ScenarioError(f"the {what} cannot be read: {exc.strerror}", where, found=str(path)) from None
    if len(data) > limit:
        raise ScenarioError(f"the {what} is too large", where, expected=f"at most {limit:,} bytes",
                            found=f"more than {limit:,} bytes")  # fmt: skip
    return data


def read_text(path: Path, what: str = "scenario") -> str:
    """A file's text, refusing what is not a regular file, files over limits.MAX_FILE_BYTES, binary files and
    non-UTF-8 with a clear message."""
    where = Where(path)
    data = read_bytes(path, f"{what} file", where, limits.MAX_FILE_BYTES)
    if b"\x00" in data:
        raise ScenarioError(f"the {what} is a binary file, not YAML text", where)
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise ScenarioError(
            "the file is not UTF-8 text",
            Where(path, line),
            found=f"byte 0x{data[exc.start]:02x} at offset {exc.start}",
            hint="save the scenario as UTF-8",
        ) from None


def parse_yaml(text: str, file: Path | None = None, exact: bool = False) -> Any:
    """Parse one YAML document safely; a syntax error becomes a ScenarioError with line and column.

    With `exact`, decimal numbers are `WrittenFloat`s that keep their text. What the text describes is
    counted while it is read (`_Counting`, `_numeric_groups`), and refused at a cap before it is built.
    """
    skeleton, groups, fast = _numeric_groups(text, exact, file)
    loader = (_ExactLoader if exact else _Loader)(skeleton)  # SafeLoaders: no tag constructs objects
    try:
        loader.count_from(file, fast)
        data = loader.get_single_data()
        return _restore(data, groups, {}) if groups else data
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark is not None else None
        column = f", column {mark.column + 1}" if mark is not None else ""
        problem = exc.problem or exc.context or "invalid YAML"
        if "could not determine a constructor" in problem:
            problem = "YAML tags that construct objects are not allowed in a scenario"
            hint = "write plain lists, numbers and strings; tags such as !!python/... are refused"
            raise ScenarioError(problem, Where(file, line), found=_tag_of(exc), hint=hint) from None
        raise ScenarioError(f"YAML syntax error{column}: {problem}", Where(file, line)) from None
    except yaml.YAMLError as exc:
        raise ScenarioError(f"YAML error: {exc}", Where(file)) from None
    except RecursionError:
        raise ScenarioError("the YAML nests too deeply to be a scenario", Where(file)) from None
    finally:
        loader.dispose()


def _tag_of(exc: yaml.MarkedYAMLError) -> str:
    match = re.search(r"tag '([^']*)'", str(exc.problem))
    return f"the tag {match.group(1)}" if match else "a tag"
