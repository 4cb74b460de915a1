"""The one error type a user ever sees for a bad scenario.

A scenario error must let a student fix the file without reading our code, so
it carries where (file, line, field path), what we wanted, what we found, and
a hint (usually the closest valid name). The CLI prints it and exits 2.
"""

from __future__ import annotations

import reprlib
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass
from itertools import islice
from pathlib import Path
from typing import Any


@dataclass(frozen=True)
class Where:
    """A position in a scenario: the file, the YAML line (1-based) and the field path."""

    file: Path | None = None
    line: int | None = None
    path: str = ""

    def child(self, key: object, line: int | None = None) -> Where:
        if isinstance(key, int):
            sub = f"{self.path}[{key}]"
        elif self.path:
            sub = f"{self.path}.{key}"
        else:
            sub = str(key)
        return Where(self.file, line if line is not None else self.line, sub)

    def describe(self) -> str:
        parts = []
        if self.file is not None:
            parts.append(str(self.file))
        if self.line is not None:
            parts.append(f"line {self.line}")
        return ", ".join(parts)


class ScenarioError(Exception):
    """A scenario that cannot be traced, with everything needed to fix it."""

    def __init__(
        self,
        problem: str,
        where: Where | None = None,
        *,
        expected: str | None = None,
        found: str | None = None,
        hint: str | None = None,
    ) -> None:
        self.problem = problem
        self.where = where or Where()
        self.expected = expected
        self.found = found
        self.hint = hint
        super().__init__(self.format())

    def __str__(self) -> str:  # hints may be added after construction, so format on demand
        return self.format()

    def format(self) -> str:
        """The message as printed: every part from the input with its control characters made visible, and
        what was found cut short, so that neither an escape sequence nor a whole file reaches the terminal."""
        head = printable(self.where.describe(), one_line=True)
        field = printable(self.where.path, one_line=True)
        problem = printable(self.problem)
        lines = [f"{head}: " if head else ""]
        lines[0] += f"{field}: {problem}" if field else problem
        if self.expected is not None:
            lines.append(f"  expected: {printable(self.expected)}")
        if self.found is not None:
            lines.append(f"  found:    {shortened(printable(self.found, one_line=True))}")
        if self.hint:
            lines.append(f"  hint: {printable(self.hint)}")
        return "\n".join(lines)


class _Bounded(reprlib.Repr):
    """repr() that reads a bounded part of a value: a few items of each list and mapping, a few levels, the
    start of a long string. A list subclass is shown as a list (reprlib would call its full repr)."""

    def __init__(self) -> None:
        super().__init__()
        self.maxlevel, self.maxlist, self.maxdict, self.maxstring, self.maxother, self.maxlong = 3, 6, 6, 60, 40, 40

    def repr1(self, x: Any, level: int) -> str:
        if isinstance(x, str):
            return self.repr_str(x, level)
        if isinstance(x, list):
            return self.repr_list(x, level)
        if isinstance(x, dict):
            return self.repr_dict(x, level)
        if isinstance(x, bool) or x is None:
            return repr(x)
        return super().repr1(x, level)

    def repr_dict(self, x: Any, level: int) -> str:  # in the order written, not sorted
        if not x:
            return "{}"
        if level <= 0:
            return "{...}"
        items = [f"{self.repr1(k, level - 1)}: {self.repr1(v, level - 1)}" for k, v in islice(x.items(), self.maxdict)]
        return "{" + ", ".join(items + (["..."] if len(x) > self.maxdict else [])) + "}"


_BOUNDED = _Bounded()


def shown(value: Any) -> str:
    """repr(value) for a message, reading only a bounded part of it: a value from a scenario may be an alias
    that stands for millions of items, or a string of millions of characters."""
    text = _BOUNDED.repr(value)
    return text if len(text) <= FOUND_CHARS else text[: FOUND_CHARS - 1] + "…"


def closest(name: str, valid: Iterable[str]) -> str | None:
    """The valid name a typo most likely meant, or None when nothing is close."""
    import difflib  # only an error needs it, and start-up time matters

    if len(name) > 100:  # no name is that long; and comparing is quadratic in the length
        return None
    options = list(valid)
    lowered = {v.lower(): v for v in options}
    match = difflib.get_close_matches(name.lower(), list(lowered), n=1, cutoff=0.6)
    return lowered[match[0]] if match else None


def unknown_name(kind: str, name: str, valid: Iterable[str], where: Where) -> ScenarioError:
    """The standard refusal of a name we do not know: lists the valid ones and the closest."""
    options = sorted(valid)
    guess = closest(name, options)
    hint = f"did you mean {guess!r}?" if guess else None
    return ScenarioError(
        f"unknown {kind} {shown(name)}",
        where,
        expected="one of " + ", ".join(options),
        found=shown(name),
        hint=hint,
    )


# Characters that reorder the text around them on screen (Unicode bidi embeddings, overrides and isolates):
# a name written with them reads differently from what it is.
BIDI_CONTROLS = frozenset("\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")
FOUND_CHARS = 200  # what a message quotes of what it found: enough to recognise it, never a whole file


def printable(text: str, one_line: bool = False) -> str:
    """Text from a scenario with its control characters (escape sequences) shown as �, keeping line breaks
    unless `one_line`: a title must not be able to move the cursor or recolour the reader's terminal."""
    keep = "\t" if one_line else "\n\t"
    if text.isprintable():  # the common case, checked in C
        return text
    return "".join(
        "�" if (unicodedata.category(ch) == "Cc" and ch not in keep) or ch in BIDI_CONTROLS else ch for ch in text
    )


def shortened(text: str, limit: int = FOUND_CHARS) -> str:
    """`text` cut to `limit` characters, saying how much was left out."""
    if len(text) <= limit:
        return text
    return f"{text[:limit]}… ({len(text) - limit:,} more characters)"
