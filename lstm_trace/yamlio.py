"""Reading scenario YAML safely, as YAML 1.2 reads numbers, keeping line numbers.

PyYAML implements YAML 1.1, where `1e-3` is a string, `yes` is a boolean and
`012` is octal. Scenario authors copy numbers from Python and NumPy, which
print `1e-05`, so we resolve plain scalars by the YAML 1.2 core schema instead.
Only safe constructors exist, so no tag can build an object or run code.
Mappings and sequences remember the line they start on, so that an error about
`weights.kernel` can point at the line that wrote it. Read with `exact=True`,
every decimal number also keeps the text it was written as (`WrittenFloat`),
so that `--exact` takes 0.1 as 1/10. A value its tag cannot take (`!!int 1.5`,
`!!bool maybe`), an integer longer than Python reads, and a merge key (`<<`)
overridden by the mapping's own key are read or refused as YAML means them,
never as a traceback. What a file describes is counted while it is read, and
refused at a cap (limits.py) before it is built.
"""

from __future__ import annotations

import os
import re
import stat
from pathlib import Path
from typing import Any, BinaryIO, ClassVar

import yaml
from yaml.composer import Composer
from yaml.events import AliasEvent, ScalarEvent, SequenceStartEvent

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
# The characters of a group of numbers; a dash followed by a space is a block sequence's next item, where a group
# ends (without that stop, each `- [...]` row's scan ran to the end of the file: quadratic in its length).
# Possessive (*+): a plain * keeps a backtracking record per character, a gigabyte for an 8 MB group.
_NUMERIC = re.compile(r"(?:[\[\]\s,0-9eE+.]|-(?![ \t\r\n]))*+")
_BRACKET = re.compile(r"[\[\]]")
_REST_OF_LINE = re.compile(r"[ \t]*(?:#[^\n]*)?(?:\n|$)")
_FAST_MIN_CHARS = 2000
_PLACEHOLDER = "__lstm_trace_array_"  # a fast-path group's stand-in, while YAML reads the rest of the text


class _Misplaced(Exception):
    """A placeholder ended up inside a string (a long title or block scalar): the text is read again, whole."""


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
    """A flow sequence of numbers read as JSON, in YAML 1.2's forms too; None where it is not one (or it nests
    deeper than json recurses: YAML refuses it with a line)."""
    import json  # small scenarios, the common case, never need it

    load = (lambda text: json.loads(text, parse_float=WrittenFloat)) if exact else json.loads
    for attempt in range(3):
        try:
            return load(group)  # type: ignore[no-any-return]
        except RecursionError:
            return None
        except ValueError:
            if attempt == 0:  # plain text replacements, fast even for millions of numbers
                for old, new in _POINTS:
                    group = group.replace(old, new)
            elif attempt == 1:
                for pattern in _SIGNS_AND_ZEROS:
                    group = pattern.sub("", group)
    return None


def _numeric_groups(text: str, exact: bool = False, file: Path | None = None) -> tuple[str, dict[str, NumericList]]:
    """Large flow sequences of numbers replaced by placeholders, parsed as JSON.

    JSON numbers are a subset of YAML 1.2's, so json reads them exactly as YAML would, a hundred times
    faster than PyYAML's Python constructors; the forms JSON writes otherwise (`.5`, `5.`, `+5`, `012`) are
    rewritten first. A group that json still refuses stays in the text for YAML to read. Newlines are kept,
    so every later line keeps its number. The numbers are counted before json reads them: a group of more
    than limits.MAX_ELEMENTS, or more than limits.MAX_VALUES in all, is refused.
    """
    if len(text) < _FAST_MIN_CHARS or _PLACEHOLDER in text:  # a text that names the placeholder reads whole
        return text, {}
    found: dict[str, NumericList] = {}
    parts: list[str] = []
    pos = total = 0
    line, counted = 1, 0  # the line at `counted`, counted on as groups are found
    run_end = -1  # where the run of number characters that holds the last candidate ends: each run is read once
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
        line, counted = line + text.count("\n", counted, start), start
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
        out.size = None if _EMPTY_LIST.search(group) else numbers + group.count("[")  # each number and list
        key = f"{_PLACEHOLDER}{len(found)}__"
        found[key] = out
        parts.append(text[pos:start])
        parts.append(key + "\n" * group.count("\n"))
        pos = close
    parts.append(text[pos:])
    return "".join(parts), found


def too_many_values(where: Where) -> ScenarioError:
    return ScenarioError(
        "the scenario describes too many values",
        where,
        expected=f"at most {limits.MAX_VALUES:,} numbers and other values in one file, each alias counted as "
        "the values it stands for",
        found=f"more than {limits.MAX_VALUES:,} by here",
        hint="keep large arrays in .npy files, or trace a smaller case",
    )


_INT = re.compile(r"^[-+]?[0-9]+$|^0o[0-7]+$|^0x[0-9a-fA-F]+$")
_FLOAT = re.compile(
    r"^[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?$"
    r"|^[-+]?\.(inf|Inf|INF)$|^\.(nan|NaN|NAN)$"
)
_BOOL = re.compile(r"^(true|True|TRUE|false|False|FALSE)$")
_NULL = re.compile(r"^(~|null|Null|NULL|)$")


class _Counting(Composer):
    """A composer that counts what it composes and stops at a cap, before the document is built.

    Each node composed counts once against limits.MAX_NODES. Values count against limits.MAX_VALUES, and
    those of one array (the outermost sequence open) against limits.MAX_ELEMENTS, each alias as the values it
    stands for (`node.size`), known as soon as the alias is met: the node it names was composed before it,
    and each fast-path placeholder as the numbers it stands for. An alias to a node that contains it has no
    size yet, and is refused: no scenario holds a cycle.
    """

    groups: dict[str, NumericList] | None = None  # the fast path's numbers by placeholder

    def count_from(self, file: Path | None) -> None:
        """Start counting; `file` names where a refusal points."""
        self.file, self.nodes, self.values = file, 0, 0
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
            group = self.groups.get(event.value) if self.groups and isinstance(event, ScalarEvent) else None
            self._count(1 if group is None else group.size or len(group), event.start_mark)
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
        if self.values > limits.MAX_VALUES:
            raise too_many_values(self._where(mark))

    def _where(self, mark: Any) -> Where:
        where = Where(self.file, mark.line + 1 if mark is not None else None)
        for step in self.path:
            where = where.child(step)
        return where


class _Loader(_Counting, _Base):  # type: ignore[misc,valid-type]
    """Safe loader with the YAML 1.2 core schema and line marks, counting what it composes.

    `groups` are the fast path's numbers by placeholder, put back where YAML reads a placeholder as a plain
    scalar; a placeholder anywhere else (inside a quoted or block string) raises `_Misplaced`.
    """

    yaml_implicit_resolvers: ClassVar[dict[Any, Any]] = {}

    def __init__(self, stream: str) -> None:
        _Base.__init__(self, stream)  # libyaml's parser reads the events; the counting composer builds nodes
        Composer.__init__(self)
        self.count_from(None)


class _BadValue(yaml.MarkedYAMLError):
    """A scalar its tag cannot take (`!!float abc`), or an integer too long to read: said with its line."""

    def __init__(self, node: yaml.Node, problem: str, expected: str, found: str | None = None) -> None:
        super().__init__(problem=problem, problem_mark=node.start_mark)
        self.expected = expected
        self.found = found or f"{_short_tag(node.tag)} {node.value}"


for _tag, _regexp, _first in [
    ("tag:yaml.org,2002:bool", _BOOL, list("tTfF")),
    ("tag:yaml.org,2002:int", _INT, list("-+0123456789")),
    ("tag:yaml.org,2002:float", _FLOAT, list("-+0123456789.")),
    ("tag:yaml.org,2002:null", _NULL, ["~", "n", "N", ""]),
    ("tag:yaml.org,2002:merge", re.compile(r"^(?:<<)$"), ["<"]),
]:
    _Loader.add_implicit_resolver(_tag, _regexp, _first)


_WHAT = {  # what each standard tag takes, for the message that refuses a value it cannot
    "tag:yaml.org,2002:int": "a whole number: 12, -3, 0x1F, 0o17",
    "tag:yaml.org,2002:float": "a number: 1.5, -2, 1e-3, .5, .inf, .nan",
    "tag:yaml.org,2002:bool": "true or false",
    "tag:yaml.org,2002:null": "null, ~ or nothing",
    "tag:yaml.org,2002:timestamp": "a date or time: 2001-12-14, 2001-12-14T21:59:43Z",
    "tag:yaml.org,2002:binary": "base64 text",
}


def _short_tag(tag: str) -> str:
    return "!!" + tag.removeprefix("tag:yaml.org,2002:") if tag.startswith("tag:yaml.org,2002:") else tag


def _guarded(construct: Any) -> Any:
    """A scalar constructor that refuses a value its tag cannot take with the line, not a traceback."""

    def guarded(loader: Any, node: yaml.Node) -> Any:
        try:
            return construct(loader, node)
        except (ValueError, KeyError, TypeError, OverflowError, AttributeError, IndexError):  # PyYAML's own
            tag = _short_tag(node.tag)
            raise _BadValue(node, f"the value is not what the tag {tag} says", _WHAT.get(node.tag, tag)) from None

    return guarded


_MAX_DIGITS = 4300  # the longest integer text Python converts (sys.get_int_max_str_digits's default)


def _int(loader: Any, node: yaml.ScalarNode) -> int:
    text = loader.construct_scalar(node)
    if not _INT.fullmatch(text):  # int() would also take ١٢, 1_0 and spaces
        raise ValueError(text)
    if len(text) > _MAX_DIGITS:
        raise _BadValue(
            node,
            f"an integer of {len(text):,} digits is too long to read",
            "a number within float range (about ±1.8e308, 309 digits)",
            f"{text[:12]}… ({len(text):,} digits)",
        )
    if text.startswith(("0o", "0x")):
        return int(text, 0)
    return int(text, 10)


def _float(loader: Any, node: yaml.ScalarNode) -> float:
    text = loader.construct_scalar(node)
    if not (_FLOAT.fullmatch(text) or _INT.fullmatch(text)):  # float() would also take ١.٥, 1_0 and "infinity"
        raise ValueError(text)
    text = text.lower()
    if text.endswith(".inf"):
        return float("-inf") if text.startswith("-") else float("inf")
    if text == ".nan":
        return float("nan")
    return float(int(text, 0)) if text.startswith(("0o", "0x")) else float(text)


def _str(loader: Any, node: yaml.ScalarNode) -> Any:
    """A string, or the fast path's numbers where its placeholder stands as a plain scalar."""
    text = loader.construct_scalar(node)
    if loader.groups and _PLACEHOLDER in text:
        if node.style not in (None, "") or text not in loader.groups:  # plain: None in PyYAML, "" in libyaml
            raise _Misplaced(text)
        return loader.groups[text]
    return text


_MERGE = "tag:yaml.org,2002:merge"


def _mapping(loader: Any, node: yaml.MappingNode) -> MarkedDict:
    """A mapping with its lines; its own keys must differ, and override what a merge key (`<<`) brings in."""
    own: dict[Any, tuple[yaml.Node, yaml.Node]] = {}
    merged: list[MarkedDict] = []
    for key_node, value_node in node.value:
        if key_node.tag == _MERGE:
            merged += _merged(loader, value_node)
            continue
        key = loader.construct_object(key_node, deep=True)
        try:
            hash(key)
        except TypeError:
            raise yaml.constructor.ConstructorError(
                None, None, "a mapping key must be a plain name or number", key_node.start_mark
            ) from None
        if key in own:
            raise yaml.constructor.ConstructorError(
                None, None, f"the key {key!r} appears twice in one mapping", key_node.start_mark
            )
        own[key] = (key_node, value_node)
    out = MarkedDict()
    out.line = node.start_mark.line + 1
    out.size = getattr(node, "size", None)
    out.key_lines = {}
    for source in merged:  # YAML's merge: the first mapping merged gives a key, and the mapping's own key wins
        for key, value in source.items():
            if key not in own and key not in out:
                out[key] = value
                out.key_lines[key] = source.line_of(key)
    for key, (key_node, value_node) in own.items():
        out[key] = loader.construct_object(value_node, deep=True)
        out.key_lines[key] = key_node.start_mark.line + 1
    return out


def _merged(loader: Any, node: yaml.Node) -> list[MarkedDict]:
    """The mappings a merge key brings in, in the order they take precedence."""
    nodes = node.value if isinstance(node, yaml.SequenceNode) else [node]
    out = []
    for each in nodes:
        if not isinstance(each, yaml.MappingNode):
            raise yaml.constructor.ConstructorError(
                None, None, "a merge key (<<) takes a mapping or a list of mappings", each.start_mark
            )
        out.append(loader.construct_object(each, deep=True))
    return out


def _sequence(loader: Any, node: yaml.SequenceNode) -> MarkedList:
    out = MarkedList(loader.construct_object(child, deep=True) for child in node.value)
    if out and all(isinstance(item, NumericList) for item in out):  # `- [..]` rows the fast path read
        out = NumericList(out)
    out.line = node.start_mark.line + 1
    out.size = getattr(node, "size", None)
    return out


class _ExactLoader(_Loader):
    """The same loader, with decimal numbers that keep their text."""


def _written_float(loader: Any, node: yaml.ScalarNode) -> float:
    text = loader.construct_scalar(node)
    if text.lower().endswith((".inf", ".nan")) or not _FLOAT.fullmatch(text):
        return _float(loader, node)
    return WrittenFloat(text)


_Loader.add_constructor("tag:yaml.org,2002:int", _int)
_Loader.add_constructor("tag:yaml.org,2002:float", _float)
_Loader.add_constructor("tag:yaml.org,2002:str", _str)
_Loader.add_constructor("tag:yaml.org,2002:map", _mapping)
_Loader.add_constructor("tag:yaml.org,2002:seq", _sequence)
_ExactLoader.add_constructor("tag:yaml.org,2002:float", _written_float)
for _loader in (_Loader, _ExactLoader):
    for _tag in ("int", "float", "bool", "null", "timestamp", "binary"):
        _full = f"tag:yaml.org,2002:{_tag}"
        _loader.add_constructor(_full, _guarded(_loader.yaml_constructors[_full]))


def regular_file(path: Path, what: str, where: Where, cannot: str = "cannot be read") -> int:
    """The size of `path`, refusing before it is opened what is not a regular file: a FIFO would wait for a
    writer forever, /dev/zero would never end. `what` names it in the message ("scenario file", "array file"),
    `cannot` says what the system refused (a name too long)."""
    try:
        info = os.stat(path)
    except FileNotFoundError:
        raise ScenarioError(f"the {what} does not exist", where, found=str(path)) from None
    except OSError as exc:
        raise ScenarioError(f"the {what} {cannot}: {exc.strerror or exc}", where, found=str(path)) from None
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
    """A file's text, refusing what is not a regular file (before it is opened), files over
    limits.MAX_FILE_BYTES, binary files and non-UTF-8 with a clear message."""
    where = Where(path)
    return decoded(read_bytes(path, f"{what} file", where, limits.MAX_FILE_BYTES), where, what)


_WIDE_BOMS = {
    b"\xff\xfe\x00\x00": "UTF-32",
    b"\x00\x00\xfe\xff": "UTF-32",
    b"\xff\xfe": "UTF-16",
    b"\xfe\xff": "UTF-16",
}


def decoded(data: bytes, where: Where, what: str = "scenario") -> str:
    """A file's bytes as UTF-8 text (a byte order mark is dropped), or a message that names what they are.

    `where` is the file itself (a scenario: the message gives the line of a bad byte), or the field that names
    it (a .csv: the message gives the field, and the line of the file in what it found).
    """
    wide = next((name for bom, name in _WIDE_BOMS.items() if data.startswith(bom)), None)
    if wide is None and len(data) >= 2 and len(data) % 2 == 0:  # ASCII as UTF-16 without a mark: every other byte 0
        halves = data[0::2], data[1::2]
        if any(half.count(0) == len(half) and 0 not in other for half, other in (halves, halves[::-1])):
            wide = "UTF-16"
    if wide is not None:
        raise ScenarioError(f"the {what} is {wide} text, which is not supported", where, hint="save it as UTF-8")
    if b"\x00" in data:
        raise ScenarioError(f"the {what} is a binary file, not text", where)
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        found = f"byte 0x{data[exc.start]:02x} at offset {exc.start}"
        if where.path:
            found += f" (line {line} of the file)"
        else:
            where = Where(where.file, line)
        raise ScenarioError(f"the {what} is not UTF-8 text", where, found=found, hint="save it as UTF-8") from None


def parse_yaml(text: str, file: Path | None = None, exact: bool = False) -> Any:
    """Parse one YAML document safely; a syntax error becomes a ScenarioError with line and column.

    With `exact`, decimal numbers are `WrittenFloat`s that keep their text. What the text describes is
    counted while it is read (`_numeric_groups`, `_Counting`), and refused at a cap before it is built.
    """
    skeleton, groups = _numeric_groups(text, exact, file)
    try:
        try:
            return _load(skeleton, groups, exact, file)
        except _Misplaced:  # the fast path cut into a string: read the text as written
            return _load(text, {}, exact, file)
    except _BadValue as exc:
        mark = exc.problem_mark
        line = mark.line + 1 if mark is not None else None
        raise ScenarioError(
            f"{exc.problem} (column {mark.column + 1})" if mark else str(exc.problem),
            Where(file, line),
            expected=exc.expected,
            found=exc.found,
        ) from None
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


def _load(text: str, groups: dict[str, NumericList], exact: bool, file: Path | None) -> Any:
    loader = (_ExactLoader if exact else _Loader)(text)  # SafeLoaders: no tag constructs objects
    loader.groups = groups
    loader.count_from(file)
    try:
        return loader.get_single_data()
    finally:
        loader.dispose()


def _tag_of(exc: yaml.MarkedYAMLError) -> str:
    match = re.search(r"tag '([^']*)'", str(exc.problem))
    return f"the tag {match.group(1)}" if match else "a tag"
