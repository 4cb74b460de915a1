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
_NUMERIC = re.compile(r"[\[\]\s,0-9eE+\-.]*")
_REST_OF_LINE = re.compile(r"[ \t]*(?:#[^\n]*)?(?:\n|$)")
_FAST_MIN_CHARS = 2000


def _numeric_groups(text: str, exact: bool = False) -> tuple[str, dict[str, tuple[int, list[Any]]]]:
    """Large flow sequences of numbers replaced by placeholders, parsed as JSON.

    JSON numbers are a subset of YAML 1.2's, so json reads them exactly as
    YAML would, a hundred times faster than PyYAML's Python constructors. A
    group that json refuses (`.5`, `012`) stays in the text for YAML to read.
    Newlines are kept, so every later line keeps its number.
    """
    if len(text) < _FAST_MIN_CHARS:
        return text, {}
    import json  # small scenarios, the common case, never need it

    found: dict[str, tuple[int, list[Any]]] = {}
    parts: list[str] = []
    pos = 0
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
        except ValueError:
            continue
        key = f"__lstm_trace_array_{len(found)}__"
        found[key] = (text.count("\n", 0, start) + 1, value)
        parts.append(text[pos:start])
        parts.append(key + "\n" * group.count("\n"))
        pos = close
    parts.append(text[pos:])
    return "".join(parts), found


def _restore(node: Any, groups: dict[str, tuple[int, list[Any]]]) -> Any:
    if isinstance(node, str) and node in groups:
        line, value = groups[node]
        out = NumericList(value)
        out.line = line
        return out
    if isinstance(node, dict):
        for key, value in node.items():
            if isinstance(value, (str, dict, list)):
                node[key] = _restore(value, groups)
    elif isinstance(node, list) and not isinstance(node, NumericList):
        for k, value in enumerate(node):
            if isinstance(value, (str, dict, list)):
                node[k] = _restore(value, groups)
        if node and all(isinstance(item, NumericList) for item in node):  # `- [..]` rows of numbers
            rows = NumericList(node)
            rows.line = getattr(node, "line", None)
            return rows
    return node


_INT = re.compile(r"^[-+]?[0-9]+$|^0o[0-7]+$|^0x[0-9a-fA-F]+$")
_FLOAT = re.compile(
    r"^[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?$"
    r"|^[-+]?\.(inf|Inf|INF)$|^\.(nan|NaN|NAN)$"
)
_BOOL = re.compile(r"^(true|True|TRUE|false|False|FALSE)$")
_NULL = re.compile(r"^(~|null|Null|NULL|)$")


class _Loader(_Base):  # type: ignore[misc,valid-type]
    """Safe loader with the YAML 1.2 core schema and line marks."""

    yaml_implicit_resolvers: ClassVar[dict[Any, Any]] = {}


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
                None, None, f"the key {key!r} appears twice in one mapping", key_node.start_mark
            )
        out[key] = loader.construct_object(value_node, deep=True)
        out.key_lines[key] = key_node.start_mark.line + 1
    return out


def _sequence(loader: Any, node: yaml.SequenceNode) -> MarkedList:
    out = MarkedList(loader.construct_object(child, deep=True) for child in node.value)
    out.line = node.start_mark.line + 1
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


def read_text(path: Path, what: str = "scenario") -> str:
    """A file's text, refusing directories, binary files and non-UTF-8 with a clear message."""
    where = Where(path)
    if path.is_dir():
        raise ScenarioError(f"the {what} is a directory, not a file", where)
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise ScenarioError(f"the {what} file does not exist", where) from None
    except OSError as exc:
        raise ScenarioError(f"the {what} file cannot be read: {exc.strerror}", where) from None
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

    With `exact`, decimal numbers are `WrittenFloat`s that keep their text.
    """
    skeleton, groups = _numeric_groups(text, exact)
    try:
        data = yaml.load(skeleton, Loader=_ExactLoader if exact else _Loader)  # SafeLoaders: no tag constructs objects
        return _restore(data, groups) if groups else data
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


def _tag_of(exc: yaml.MarkedYAMLError) -> str:
    match = re.search(r"tag '([^']*)'", str(exc.problem))
    return f"the tag {match.group(1)}" if match else "a tag"
