"""A step's table laid out as lines of text, with exact widths.

The tables are simple (a label column, then one right-aligned column per gate
block), so laying them out here costs a fraction of a general table engine and
guarantees the width that the elision logic planned for.
"""

from __future__ import annotations

from collections.abc import Sequence

from rich.text import Span, Text

from .views import Row, StepView

HUES = {
    "i": "green",
    "f": "blue",
    "g": "magenta",
    "o": "yellow",
    "z": "cyan",
    "r": "red",
    "n": "magenta",
    "h": "magenta",
}
ROLE_STYLE = {"sum": "bold", "act": "dim italic", "gate": "bold"}
MARK_STYLE = {"closed": "dim", "open": "bold bright_white"}  # shut gates fade, open ones stand out
Styled = tuple[int, int, str]  # a range of a line's text and its style, as a rich Span holds them


def _unit_widths(rows: Sequence[Row], block: int) -> tuple[int, ...]:
    """Each unit's widest number in the block, over the rows that hold numbers there (all as many units)."""
    cells = [cell for r in rows if type(cell := r.cells[block]) is tuple]
    return tuple(max(map(len, unit)) for unit in zip(*cells, strict=True))


def _cell(cell: tuple[str, ...] | str, widths: Sequence[int], width: int) -> str:
    if isinstance(cell, str):
        return cell.center(width).rstrip() if cell else ""
    return "  ".join(text.rjust(w) for text, w in zip(cell, widths, strict=True)).rjust(width)


class Grid:
    """The column widths of a view's table, for the blocks in `picks`."""

    def __init__(self, view: StepView, picks: Sequence[int] | None = None) -> None:
        self.view = view
        self.picks = list(range(len(view.columns))) if picks is None else list(picks)
        if not view.rows:  # a masked step has no table
            self.picks = []
        self.label = max((len(r.label) for r in view.rows), default=0)
        self.units = {k: _unit_widths(view.rows, k) for k in self.picks}
        self.blocks = {
            k: max(
                sum(self.units[k]) + 2 * max(len(self.units[k]) - 1, 0),
                len(view.columns[k].heading),
                *(len(cell) for r in view.rows if isinstance(cell := r.cells[k], str)),
            )
            for k in self.picks
        }

    @property
    def width(self) -> int:
        if not self.view.rows:  # a masked step shows no table
            return 0
        return self.label + 1 + sum(self.blocks[k] + 3 for k in self.picks) - 1

    def _marks(self, spans: list[Styled], start: int, length: int, row: Row, block: int) -> None:
        """Style each marked unit's number where _cell placed it (right-aligned, two spaces apart), as
        Text.stylize would on a line `length` long."""
        cell = row.cells[block]
        if not isinstance(cell, tuple):
            return
        widths = self.units[block]
        end = start + self.blocks[block]
        for unit in range(len(cell) - 1, -1, -1):
            style = MARK_STYLE.get(row.marks[block][unit])
            if style and end - len(cell[unit]) < length and len(cell[unit]) > 0:
                spans.append((end - len(cell[unit]), min(length, end), style))
            end -= widths[unit] + 2

    def styled(self) -> list[tuple[str, str, list[Styled]]]:
        """Each line of the table: its text, its own style, and its styled ranges (start, end, style) in the
        order rich's Text would hold them. Built as strings and offsets, which costs far less than a Text
        appended to piece by piece; `lines` makes the Texts of them, segments.styled_segments renders them."""
        view, picks, last = self.view, self.picks, len(self.picks) - 1
        head, at, spans = [" " * (self.label + 1)], self.label + 1, []
        for n, k in enumerate(picks):
            col = view.columns[k]
            heading = col.heading.rjust(self.blocks[k])
            if heading:
                spans.append((at + 2, at + 2 + len(heading), f"bold {HUES[col.canonical]}"))
            head += ["│ ", heading, "" if n == last else " "]
            at += 2 + len(heading) + (n != last)
        rule = "─" * (self.label + 1) + "".join(
            "┼" + "─" * (self.blocks[k] + (1 if n == last else 2)) for n, k in enumerate(picks)
        )
        out = [("".join(head), "", spans), (rule, "", [])]
        for row in view.rows:
            style = ROLE_STYLE.get(row.role, "")
            parts, spans = [row.label.ljust(self.label) + " "], []
            at = len(parts[0])
            for n, k in enumerate(picks):
                text = _cell(row.cells[k], self.units[k], self.blocks[k])
                text = text.ljust(self.blocks[k]) if n < last else text
                start = at + 2
                at = start + len(text)
                if style and text:
                    spans.append((start, at, style))
                if row.marks:
                    self._marks(spans, start, at, row, k)
                parts += ["│ ", text, " " if n < last else ""]
                at += n < last
            plain = "".join(parts).rstrip()  # Text.rstrip: spans past the end go, those across it are cut
            if len(plain) < at:
                spans = [(a, min(b, len(plain)), st) for a, b, st in spans if a < len(plain)]
            out.append((plain, style, spans))
        return out

    def lines(self) -> list[Text]:
        return texts(self.styled())


def texts(styled: list[tuple[str, str, list[Styled]]]) -> list[Text]:
    """Lines of a table (Grid.styled) as rich Texts."""
    out = [Text(plain, style, spans=[Span(*span) for span in spans]) for plain, style, spans in styled]
    for line in out:  # a table wider than the terminal (only with --full) is never wrapped into garbage
        line.no_wrap, line.overflow = True, "ignore"
    return out
