"""Standard output as the command line writes it: readable on any terminal, and failing in one sentence.

A trace is written in mathematical notation (σ, ⊙, h₁₂, …). Where the output's
encoding cannot show a character (PYTHONIOENCODING=ascii, a Latin-1 terminal),
it becomes the ASCII a person would type for it (sigma, (.), h_12, ...), so the
trace stays readable and the write never fails on a symbol. A write that fails
all the same (a full disk, a closed pipe, a closed stdout) is an `OutputError`
with one sentence that says so, for the CLI to print instead of a traceback.
"""

from __future__ import annotations

import codecs
import re
import unicodedata
from typing import Any, TextIO

# The symbols lstm-trace prints, as ASCII; any other character falls back to its compatibility
# decomposition's ASCII letters (é → e), else to ?.
SYMBOLS = {
    "·": "*", "×": "*", "⊙": "(.)", "σ": "sigma", "Σ": "sum", "δ": "d", "Φ": "Phi", "α": "alpha", "β": "beta",
    "ᵀ": "^T", "²": "^2", "′": "'", "−": "-", "–": "-", "—": "--", "±": "+/-", "∓": "-/+", "√": "sqrt",
    "≤": "<=", "≥": ">=", "≈": "~", "←": "<-", "→": "->", "…": "...", "⋮": ":", "‖": "||", "½": "1/2",
    "⚠": "!", "✓": "ok", "✗": "X", "▶": ">", "◀": "<", "\u0302": "^", "�": "?",
    "─": "-", "│": "|", "┼": "+", "┌": "+", "┐": "+", "└": "+", "┘": "+", "├": "+", "┤": "+", "┬": "+", "┴": "+",
    "▁": "_", "▂": ".", "▃": ",", "▄": "-", "▅": "=", "▆": "+", "▇": "*", "█": "#",
}  # fmt: skip
SUBSCRIPTS = {"₀": "0", "₁": "1", "₂": "2", "₃": "3", "₄": "4", "₅": "5", "₆": "6", "₇": "7", "₈": "8", "₉": "9",
              "₊": "+", "₋": "-", "ₜ": "t", "ⱼ": "j"}  # fmt: skip
_SUBSCRIPT_RUN = re.compile(f"[{''.join(SUBSCRIPTS)}]+")


class _Table(dict[int, str]):
    """str.translate's table for one encoding: each character worked out once, when it is first met."""

    def __init__(self, encoding: str) -> None:
        super().__init__()
        self.encoding = encoding

    def __missing__(self, code: int) -> str:
        char = chr(code)
        try:
            char.encode(self.encoding)
            value = char
        except UnicodeEncodeError:
            value = SYMBOLS.get(char) or _decomposed(char)
        self[code] = value
        return value


def _decomposed(char: str) -> str:
    ascii_part = unicodedata.normalize("NFKD", char).encode("ascii", "ignore").decode("ascii")
    return ascii_part if ascii_part.isprintable() and ascii_part else "?"


_TABLES: dict[str, _Table] = {}


def encoding_of(stream: Any) -> str:
    """The stream's encoding by its codec's own name (utf-8, ascii, iso8859-1); utf-8 where it has none."""
    try:
        return codecs.lookup(getattr(stream, "encoding", None) or "utf-8").name
    except LookupError:
        return "ascii"


def fallback(text: str, encoding: str) -> str:
    """`text` with every character `encoding` cannot encode replaced by its ASCII stand-in (h₁₂ → h_12)."""
    try:
        text.encode(encoding)
        return text
    except UnicodeEncodeError:
        pass
    table = _TABLES.get(encoding)
    if table is None:
        table = _TABLES[encoding] = _Table(encoding)
    if table[ord("₁")] != "₁":
        text = _SUBSCRIPT_RUN.sub(lambda m: "_" + "".join(SUBSCRIPTS[c] for c in m.group()), text)
    return text.translate(table)


class OutputError(Exception):
    """Standard output could not take what was written: the message says why, in one sentence."""


class Output:
    """A text stream that writes through `fallback` where its encoding needs it, and fails as an OutputError.

    rich's Console takes it as its file: it reads `encoding` (drawing ASCII boxes for a non-UTF encoding)
    and `isatty` (colour only on a terminal) from here.
    """

    def __init__(self, stream: TextIO | None) -> None:
        if stream is None:  # started with stdout closed (`>&-`): Python has no stdout at all
            raise OutputError("standard output is closed: there is nowhere to write the output")
        self.stream = stream
        self.encoding = encoding_of(stream)
        self.translate = not self.encoding.startswith("utf")

    def write(self, text: str) -> int:
        try:
            try:
                return self.stream.write(fallback(text, self.encoding) if self.translate else text)
            except UnicodeEncodeError:  # UTF-8 too cannot encode a lone surrogate a YAML escape may make
                return self.stream.write(fallback(text, self.encoding))
        except (OSError, ValueError) as exc:
            raise OutputError(_why(exc)) from None

    def flush(self) -> None:
        try:
            self.stream.flush()
        except (OSError, ValueError) as exc:
            raise OutputError(_why(exc)) from None

    def write_utf8(self, text: str) -> None:
        """Text in a format that declares UTF-8 (JSON, HTML, SVG, YAML): UTF-8 bytes, whatever the terminal's
        encoding, so that the file is what its format says it is."""
        buffer = getattr(self.stream, "buffer", None)
        if buffer is None or not self.translate:
            self.write(text)
            return
        try:
            self.stream.flush()
            buffer.write(text.encode("utf-8", "replace"))  # a lone surrogate: ?
        except (OSError, ValueError) as exc:
            raise OutputError(_why(exc)) from None

    def isatty(self) -> bool:
        try:
            return bool(self.stream.isatty())
        except (OSError, ValueError):
            return False

    def fileno(self) -> int:
        return self.stream.fileno()


def _why(exc: Exception) -> str:
    if isinstance(exc, BrokenPipeError):
        return "standard output was closed before all of the output was written (broken pipe)"
    if isinstance(exc, OSError):
        return f"cannot write to standard output: {exc.strerror or exc}"
    return "standard output is closed: there is nowhere to write the output"
