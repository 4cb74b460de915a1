"""A scenario mapping written back as a scenario file: what `import` and `convert` write.

The file must read back to the same numbers bit for bit, and read well: so
arrays are written row by row with each value's shortest round-trip digits
for its dtype (render/jsonnum.py, the digits JSON output uses), mappings as
YAML blocks in the order given, and every other value (a string from a model
file, a Keras config's nested dicts) as JSON, which is YAML and escapes
whatever control characters a file may hold. Comments go before a key, one
`# ` line each, made printable.
"""

from __future__ import annotations

import json
import re
import textwrap
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from .errors import printable
from .render.jsonnum import array_json, rows

_PLAIN_WORD = re.compile(r"[A-Za-z_][A-Za-z0-9_]*\Z")  # no digit first: 1e5 would read as a number
_PLAIN_KEY = re.compile(r"[A-Za-z_][A-Za-z0-9_./-]*\Z")
COMMENT_WIDTH = 100
_RESERVED = {"true", "false", "null", "yes", "no", "on", "off", "y", "n", "~"}


def scenario_text(
    data: Mapping[str, Any], header: Sequence[str] = (), comments: Mapping[str, str] | None = None
) -> str:
    """`data` as YAML text; `header` lines become the opening comment, `comments[path]` goes above the key at
    `path` (dotted: "weights.kernel", "layers[1].weights.bias")."""
    lines = [_comment(line) for line in header]  # each may hold several lines: joined by newlines below
    _mapping(data, "", 0, comments or {}, lines)
    return "\n".join(lines) + "\n"


def _comment(text: str, indent: str = "") -> str:
    """One comment line, wrapped at COMMENT_WIDTH; what follows a wrap is indented two spaces."""
    text = printable(text, one_line=True)
    if not text:
        return f"{indent}#"
    lines = textwrap.wrap(text, COMMENT_WIDTH, subsequent_indent="  ", break_on_hyphens=False) or [text]
    return "\n".join(f"{indent}# {line}" for line in lines)


def _key(key: Any) -> str:
    text = str(key)
    return text if _PLAIN_KEY.match(text) and text.lower() not in _RESERVED else json.dumps(text)


def _mapping(data: Mapping[str, Any], path: str, depth: int, comments: Mapping[str, str], out: list[str]) -> None:
    indent = "  " * depth
    for key, value in data.items():
        where = f"{path}.{key}" if path else str(key)
        if where in comments:
            out.extend(_comment(line, indent) for line in comments[where].splitlines())
        head = f"{indent}{_key(key)}:"
        if isinstance(value, np.ndarray) and value.ndim >= 1:
            out.append(f"{head}  # shape {value.shape}")
            out.extend(_array(value, indent + "  "))
        elif isinstance(value, Mapping) and value and _block(value):
            out.append(head)
            _mapping(value, where, depth + 1, comments, out)
        elif isinstance(value, list) and value and all(isinstance(v, Mapping) for v in value):
            out.append(head)
            for k, entry in enumerate(value):
                start = len(out)
                _mapping(entry, f"{where}[{k}]", depth + 2, comments, out)
                first = next(i for i in range(start, len(out)) if not out[i].lstrip().startswith("#"))
                out[first] = f"{indent}  - " + out[first][len(indent) + 4 :]
        else:
            out.append(f"{head} {_flow(value)}")


def _block(value: Mapping[str, Any]) -> bool:
    """A mapping is written as a block when it holds arrays or mappings of its own, or is long; else on one line."""
    if any(isinstance(v, (np.ndarray, Mapping)) or (isinstance(v, list) and len(v) > 8) for v in value.values()):
        return True
    return len(_flow(value)) > COMMENT_WIDTH


def _array(values: np.ndarray, indent: str) -> list[str]:
    """An array as YAML: a vector inline; otherwise one block entry per leading index, innermost rows inline."""
    if values.dtype == bool:  # a mask: true and false, as YAML writes them
        flat = values.reshape(-1, values.shape[-1]).tolist()
        pieces = ["[" + ", ".join("true" if v else "false" for v in row) + "]" for row in flat]
    else:
        pieces = [f"[{row}]" for row in rows(values)]
    if values.ndim == 1:
        return [indent + pieces[0]]
    return _nested(pieces, values.shape, indent)


def _nested(pieces: list[str], shape: tuple[int, ...], indent: str) -> list[str]:
    if len(shape) == 2:
        return [f"{indent}- {piece}" for piece in pieces]
    size = len(pieces) // shape[0]
    lines = []
    for k in range(shape[0]):
        inner = _nested(pieces[k * size : (k + 1) * size], shape[1:], indent + "  ")
        lines.append(f"{indent}- " + inner[0].lstrip())
        lines.extend(inner[1:])
    return lines


def _flow(value: Any) -> str:
    """Any other value as JSON (which YAML reads): numbers in their shortest digits, strings escaped; a
    plain word (keras, LSTM, tanh) is written bare, as a person writes it."""
    if isinstance(value, str) and _PLAIN_WORD.match(value) and value.lower() not in _RESERVED:
        return value
    return json.dumps(_plain(value))  # ASCII: no control or bidirectional character survives as itself


def _plain(value: Any) -> Any:
    if isinstance(value, np.ndarray):
        return json.loads(array_json(value))
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and value.is_integer() and abs(value) < 2**53:
        return int(value)
    return value
