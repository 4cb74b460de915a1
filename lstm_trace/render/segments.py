"""Lines handed to rich already laid out, where rich's layout would leave them as they are.

A trace of every step prints tens of thousands of lines, and rich word-wraps each
Text it is given: it splits the text on newlines, copies it, finds where words
break, crops and pads, then joins the lines again. For a line with no newline,
tab or control code that already fits the width (or is marked never to wrap, as
table rows are), all of that gives the line back unchanged. `laid_out` turns
such a line straight into the segments rich would have made of it (by rich's own
join and render where it has styles), and passes anything else (a longer line)
to rich as before.

A console that shows no styles (no colour system, nothing recorded: a pipe or a
file) writes only the text of each segment, so there a line needs no styles at
all: tables come as plain strings (`grid_texts`), and a step's heading rule is
written as rich's Rule writes it (`rule_line`). Either way the output is the
same, byte for byte; tests/test_view_speed.py compares both.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from functools import cache, lru_cache
from itertools import chain, pairwise
from operator import itemgetter

from rich.cells import cell_len
from rich.console import Console, ConsoleOptions, RenderableType, RenderResult
from rich.rule import Rule
from rich.segment import Segment
from rich.style import Style
from rich.text import Text

from .grid import Grid, Styled, _cell, texts

_NEWLINE = Text("\n")  # what Text.__rich_console__ joins its wrapped lines with
_END = Segment("\n")
_WORD = re.compile(r"\s*\S+\s*")  # a word as rich's wrap takes it, with the spaces after it
_TRAILING = re.compile(r"\s+$")


@cache
def _narrow() -> re.Pattern[str]:
    """A text made only of printable characters one cell wide by rich's own measure: Latin, Greek, and the
    symbols the views write (a character class, matched in C: a set would make a string of every character it
    tests). A text it matches is printable, so nothing in it is stripped or expanded."""
    latin_greek = [*range(0x20, 0x7F), *range(0xA0, 0x300), *range(0x370, 0x400)]
    candidates = [chr(c) for c in latin_greek] + list("₀₁₂₃₄₅₆₇₈₉₋…⊙−→‖≤≥′⋮│┼─ᵀ")
    narrow = [ch for ch in candidates if ch.isprintable() and cell_len(ch) == 1]
    return re.compile("[" + "".join(map(re.escape, narrow)) + "]*")


class Unwrapped(tuple[str, ...]):
    """Lines without style that are printed as they are, never wrapped nor cropped: a table's rows, as rich
    prints a Text with overflow "ignore"."""


class StyledLines:
    """A table's lines with their styles (Grid.styled): rich renders them as the Texts Grid.lines makes, and
    `laid_out` straight into the segments rich would make of those Texts."""

    def __init__(self, grid: Grid) -> None:
        self.lines = grid.styled()

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        yield from texts(self.lines)


Line = RenderableType | str | Unwrapped | StyledLines  # what a panel yields: a str being one line without style


def cells(plain: str) -> int:
    """rich's cell_len, without measuring each character where all of them are known to be one cell wide."""
    return len(plain) if _narrow().fullmatch(plain) else cell_len(plain)


def fits(plain: str, width: int) -> bool:
    """Whether rich would print `plain` as it is: one line within `width`, nothing it would strip or expand."""
    if len(plain) > width:
        return False
    return _narrow().fullmatch(plain) is not None or (plain.isprintable() and cell_len(plain) <= width)


def wrapped(plain: str, width: int) -> str | None:
    """`plain` word-wrapped to `width` as rich wraps a Text without style (its lines joined by newlines), where
    every character is one cell and no word is wider than `width`; None otherwise (rich then wraps it)."""
    if not _narrow().fullmatch(plain):
        return None
    if " ".join(tokens := plain.split()) == plain:  # one space between words (the given vectors): no regex
        return _wrapped_words(tokens, width)
    lines, start, used = [], 0, 0
    for word in _WORD.finditer(plain):  # rich's divide_line, where a character is a cell
        size = len(word.group().rstrip())
        if size > width:  # rich would fold the word across lines
            return None
        if width - used >= size:
            used += len(word.group())
        elif used and word.start():
            lines.append(plain[start : word.start()])
            start, used = word.start(), len(word.group())
    lines.append(plain[start:])
    for n, line in enumerate(lines):  # rstrip_end: spaces beyond the width go (a word itself fits)
        if len(line) > width and (space := _TRAILING.search(line)) is not None:
            lines[n] = line[: len(line) - min(len(space.group()), len(line) - width)]
    return "\n".join(lines)


def _wrapped_words(tokens: list[str], width: int) -> str | None:
    """`wrapped` where words are one space apart: rich's word is a token and the space after it."""
    if tokens and max(map(len, tokens)) > width:
        return None
    lines, line, used = [], [tokens[0]] if tokens else [], len(tokens[0]) + 1 if tokens else 0
    for token in tokens[1:]:
        if width - used >= len(token):
            line.append(token)
            used += len(token) + 1
        else:  # the line keeps its last space, unless that space is beyond the width (rstrip_end)
            lines.append(" ".join(line) + (" " if used <= width else ""))
            line, used = [token], len(token) + 1
    lines.append(" ".join(line))
    return "\n".join(lines)


def unchanged(text: Text, options: ConsoleOptions) -> bool:
    """Whether rich's wrap (Text.__rich_console__) would give `text` back as it is, one line."""
    plain = text.plain
    if "\n" in plain or "\t" in plain:
        return False
    if (text.overflow or options.overflow) == "ignore":  # never wrapped, cropped nor padded
        return True
    justify = text.justify or options.justify or "default"
    width = options.max_width
    return justify == "default" and len(plain) <= width and cells(plain) <= width


def shows_styles(console: Console) -> bool:
    """Whether the console writes styles anywhere: in colour, or into a recording (HTML, SVG)."""
    return console.color_system is not None or console.record


def rule_line(rule: Rule, options: ConsoleOptions) -> str | None:
    """The text of a left-aligned Rule with a title, as rich draws it; None where it would be cut or changed."""
    title = rule.title
    if rule.align != "left" or rule.end != "\n" or not isinstance(title, Text) or not title.plain.isprintable():
        return None
    width = options.max_width
    chars = "-" if options.ascii_only and not rule.characters.isascii() else rule.characters
    used = cells(title.plain) + 1
    if not title.plain or used > width - 1 or cell_len(chars) != 1 or not chars.isprintable():
        return None
    return title.plain + " " + chars * (width - used)


@lru_cache(maxsize=256)
def _frame(
    label: int, headings: tuple[str, ...], blocks: tuple[int, ...], units: tuple[tuple[int, ...], ...]
) -> tuple[str, str, str]:
    """The heading line, the rule under it, and a format for a row whose cells all hold numbers: per block,
    "│ " then its units right-aligned to their widths, two spaces apart, the whole right-aligned in the block's
    width (grid._cell). The same for every step whose numbers are as wide: made once."""
    last = len(blocks) - 1
    head = " " * (label + 1) + "".join(
        "│ " + heading.rjust(block) + ("" if n == last else " ")
        for n, (heading, block) in enumerate(zip(headings, blocks, strict=True))
    )
    rule = "─" * (label + 1) + "".join("┼" + "─" * (block + (1 if n == last else 2)) for n, block in enumerate(blocks))
    layout = []
    for n, (widths, block) in enumerate(zip(units, blocks, strict=True)):
        pad = block - (sum(widths) + 2 * max(len(widths) - 1, 0))
        layout.append("│ " + " " * pad + "  ".join(f"{{:>{w}}}" for w in widths) + ("" if n == last else " "))
    return head, rule, "".join(layout)


def grid_texts(grid: Grid) -> Unwrapped | None:
    """`grid.lines()` as plain strings, without their styles; None where a label or heading holds anything that
    rich would strip, when only `lines()` says what is shown."""
    view, picks, blocks = grid.view, grid.picks, grid.blocks
    head, rule, layout = _frame(
        grid.label,
        tuple(view.columns[k].heading for k in picks),
        tuple(blocks[k] for k in picks),
        tuple(grid.units[k] for k in picks),
    )
    last, width = len(picks) - 1, grid.label
    out = [head, rule]
    for row in view.rows:
        start = row.label.ljust(width) + " "
        if last == 0:  # one block (stacked tables): its cell
            cell = row.cells[picks[0]]
            if type(cell) is tuple:
                out.append((start + layout.format(*cell)).rstrip())
                continue
            cells = [cell]
        else:
            cells = [row.cells[k] for k in picks]
            if str not in map(type, cells):  # numbers in every cell: one format
                out.append((start + layout.format(*chain.from_iterable(cells))).rstrip())
                continue
        parts = [start]
        for n, (k, cell) in enumerate(zip(picks, cells, strict=True)):
            text = _cell(cell, grid.units[k], blocks[k])
            parts.append("│ " + (text.ljust(blocks[k]) + " " if n < last else text))
        out.append("".join(parts).rstrip())
    return Unwrapped(out) if "".join(out).isprintable() else None


def laid_out(console: Console, options: ConsoleOptions, items: Iterable[Line]) -> RenderResult:
    """`items` as a renderable yields them, with the lines that need no layout already rendered: where the
    console shows no styles, a run of such lines as one segment."""
    plain = not shows_styles(console)
    width = options.max_width
    simple = options.justify in (None, "default") and options.overflow in (None, "fold") and not options.no_wrap
    done: list[str] = []  # lines without style, rendered but not yet yielded
    for item in items:
        if isinstance(item, Unwrapped):
            done.extend(item)
            continue
        if isinstance(item, StyledLines):
            yield from _segments(done, plain)
            done.clear()
            rendered = None if plain else styled_segments(item.lines, console)
            yield from laid_out(console, options, texts(item.lines)) if rendered is None else rendered
            continue
        if isinstance(item, str):
            line = (item if fits(item, width) else wrapped(item, width)) if simple else None
            if line is not None:
                done.append(line)
                continue
            item = Text(item)
        elif plain and type(item) is Rule and (line := rule_line(item, options)) is not None:
            done.append(line)
            continue
        text = item if type(item) is Text and item.end == "\n" and unchanged(item, options) else None
        if text is not None and (plain or (not text.style and not text.spans)):
            done.append(text.plain)
            continue
        yield from _segments(done, plain)
        done.clear()
        if text is None:
            yield item
        else:
            yield from _NEWLINE.join([text]).render(console, end=text.end)
    yield from _segments(done, plain)


def styled_segments(lines: list[tuple[str, str, list[Styled]]], console: Console) -> list[Segment] | None:
    """The segments rich makes of a table's lines (Grid.styled), each as `laid_out` hands a styled Text to it:
    Text("\n").join([line]).render(console, end="\n"), where the line's own style is a span over all of it.
    Rich's algorithm, on strings and offsets, with each style looked up and combined once for all the lines.
    None where a line holds a character Text would strip, whose offsets would then move."""
    if not "".join(plain for plain, _, _ in lines).isprintable():
        return None
    null = Style.null()
    looked: dict[str, Style] = {}
    combined: dict[tuple[Style, ...], Style] = {}

    def get(name: str) -> Style:
        found = looked.get(name)
        if found is None:
            found = looked[name] = console.get_style(name, default=null)
        return found

    base, out = get(""), []  # the joined Text's own style, that of Text("\n")
    for plain, style, spans in lines:
        spans = [(0, len(plain), style), *spans] if style else spans
        if not spans:
            out += [Segment(plain), _END]
            continue
        styles = [base, *(get(name) for _, _, name in spans)]
        edges = [
            (0, False, 0),
            *((start, False, k) for k, (start, _, _) in enumerate(spans, 1)),
            *((end, True, k) for k, (_, end, _) in enumerate(spans, 1)),
            (len(plain), True, 0),
        ]
        edges.sort(key=itemgetter(0, 1))
        stack: list[int] = []
        for (offset, leaving, k), (following, _, _) in pairwise(edges):
            if leaving:
                stack.remove(k)
            else:
                stack.append(k)
            if following > offset:
                key = tuple(styles[n] for n in sorted(stack))
                current = combined.get(key)
                if current is None:
                    current = combined[key] = Style.combine(key)
                out.append(Segment(plain[offset:following], current))
        out.append(_END)
    return out


def _segments(lines: list[str], plain: bool) -> Iterator[Segment]:
    """Lines as rich renders a Text without style, the line then its end; where no style is shown, all as one."""
    if plain:
        if lines:
            yield Segment("\n".join(lines) + "\n")
        return
    for line in lines:
        yield Segment(line)
        yield _END
