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
never as a traceback.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any, ClassVar

import yaml

from .errors import ScenarioError, Where

try:  # libyaml's parser is several times faster for large scenarios
    _Base: Any = yaml.CSafeLoader
except AttributeError:  # pragma: no cover - PyYAML built without libyaml
    _Base = yaml.SafeLoader


class MarkedDict(dict[Any, Any]):
    """A mapping that knows the line it starts on and the line of each key."""

    line: int | None = None
    key_lines: dict[Any, int | None]

    def line_of(self, key: Any) -> int | None:
        return getattr(self, "key_lines", {}).get(key, self.line)


class MarkedList(list[Any]):
    """A sequence that knows the line it starts on."""

    line: int | None = None


class WrittenFloat(float):
    """A float that keeps the decimal text it was written as: --exact reads `0.1` as 1/10, not as the float."""

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
_NUMERIC = re.compile(r"(?:[\[\]\s,0-9eE+.]|-(?![ \t\r\n]))*")
_REST_OF_LINE = re.compile(r"[ \t]*(?:#[^\n]*)?(?:\n|$)")
_FAST_MIN_CHARS = 2000
_PLACEHOLDER = "__lstm_trace_array_"  # a fast-path group's stand-in, while YAML reads the rest of the text


class _Misplaced(Exception):
    """A placeholder ended up inside a string (a long title or block scalar): the text is read again, whole."""


def _numeric_groups(text: str, exact: bool = False) -> tuple[str, dict[str, tuple[int, list[Any]]]]:
    """Large flow sequences of numbers replaced by placeholders, parsed as JSON.

    JSON numbers are a subset of YAML 1.2's, so json reads them exactly as
    YAML would, a hundred times faster than PyYAML's Python constructors. A
    group that json refuses (`.5`, `012`) stays in the text for YAML to read.
    Newlines are kept, so every later line keeps its number.
    """
    if len(text) < _FAST_MIN_CHARS or _PLACEHOLDER in text:  # a text that names the placeholder reads whole
        return text, {}
    import json  # small scenarios, the common case, never need it

    found: dict[str, tuple[int, list[Any]]] = {}
    parts: list[str] = []
    pos = 0
    line, counted = 1, 0  # the line at `counted`, counted on as groups are found
    for match in _GROUP_START.finditer(text):
        start = match.end() - 1
        if start < pos:
            continue
        span = _NUMERIC.match(text, start)
        end = span.end() if span else start
        depth, close = 0, -1
        for k in range(start, end):
            ch = text[k]
            if ch == "[":
                depth += 1
            elif ch == "]":
                depth -= 1
                if depth == 0:
                    close = k + 1
                    break
        if close < 0 or close - start < _FAST_MIN_CHARS or not _REST_OF_LINE.match(text, close):
            continue
        group = text[start:close]
        try:
            value = json.loads(group, parse_float=WrittenFloat) if exact else json.loads(group)
        except (ValueError, RecursionError):  # nested deeper than json recurses: YAML refuses it with a line
            continue
        key = f"{_PLACEHOLDER}{len(found)}__"
        line, counted = line + text.count("\n", counted, start), start
        found[key] = (line, value)
        parts.append(text[pos:start])
        parts.append(key + "\n" * group.count("\n"))
        pos = close
    parts.append(text[pos:])
    return "".join(parts), found


_INT = re.compile(r"^[-+]?[0-9]+$|^0o[0-7]+$|^0x[0-9a-fA-F]+$")
_FLOAT = re.compile(
    r"^[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?$"
    r"|^[-+]?\.(inf|Inf|INF)$|^\.(nan|NaN|NAN)$"
)
_BOOL = re.compile(r"^(true|True|TRUE|false|False|FALSE)$")
_NULL = re.compile(r"^(~|null|Null|NULL|)$")


class _Loader(_Base):  # type: ignore[misc,valid-type]
    """Safe loader with the YAML 1.2 core schema and line marks.

    `groups` are the fast path's numbers by placeholder, put back where YAML reads a placeholder as a plain
    scalar; a placeholder anywhere else (inside a quoted or block string) raises `_Misplaced`.
    """

    yaml_implicit_resolvers: ClassVar[dict[Any, Any]] = {}
    groups: dict[str, tuple[int, list[Any]]] | None = None  # set on each loader by _load


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
        line, value = loader.groups[text]
        out = NumericList(value)
        out.line = line
        return out
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


def read_text(path: Path, what: str = "scenario") -> str:
    """A file's text, refusing directories, binary files and non-UTF-8 with a clear message."""
    where = Where(path)
    try:
        if path.is_dir():
            raise ScenarioError(f"the {what} is a directory, not a file", where)
        data = path.read_bytes()
    except FileNotFoundError:
        raise ScenarioError(f"the {what} file does not exist", where) from None
    except OSError as exc:
        raise ScenarioError(f"the {what} file cannot be read: {exc.strerror or exc}", where) from None
    return decoded(data, where, what)


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

    With `exact`, decimal numbers are `WrittenFloat`s that keep their text.
    """
    skeleton, groups = _numeric_groups(text, exact)
    try:
        try:
            return _load(skeleton, groups, exact)
        except _Misplaced:  # the fast path cut into a string: read the text as written
            return _load(text, {}, exact)
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


def _load(text: str, groups: dict[str, tuple[int, list[Any]]], exact: bool) -> Any:
    loader = (_ExactLoader if exact else _Loader)(text)  # SafeLoaders: no tag constructs objects
    loader.groups = groups
    try:
        return loader.get_single_data()
    finally:
        loader.dispose()


def _tag_of(exc: yaml.MarkedYAMLError) -> str:
    match = re.search(r"tag '([^']*)'", str(exc.problem))
    return f"the tag {match.group(1)}" if match else "a tag"
