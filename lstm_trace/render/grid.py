"""A step's table laid out as lines of text, with exact widths.

The tables are simple (a label column, then one right-aligned column per gate
block), so laying them out here costs a fraction of a general table engine and
guarantees the width that the elision logic planned for.
"""

from __future__ import annotations

from collections.abc import Sequence

from rich.text import Text

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

    def _mark(self, line: Text, start: int, row: Row, block: int) -> None:
        """Style each marked unit's number where _cell placed it (right-aligned, two spaces apart)."""
        cell = row.cells[block]
        if not isinstance(cell, tuple):
            return
        widths = self.units[block]
        end = start + self.blocks[block]
        for unit in range(len(cell) - 1, -1, -1):
            style = MARK_STYLE.get(row.marks[block][unit])
            if style:
                line.stylize(style, end - len(cell[unit]), end)
            end -= widths[unit] + 2

    def lines(self) -> list[Text]:
        view = self.view
        head = Text(" " * (self.label + 1))
        rule = "─" * (self.label + 1)
        for n, k in enumerate(self.picks):
            col, last = view.columns[k], n == len(self.picks) - 1
            head.append("│ ")
            head.append(col.heading.rjust(self.blocks[k]), style=f"bold {HUES[col.canonical]}")
            head.append("" if last else " ")
            rule += "┼" + "─" * (self.blocks[k] + (1 if last else 2))
        out = [head, Text(rule)]
        for row in view.rows:
            style = ROLE_STYLE.get(row.role, "")
            line = Text(row.label.ljust(self.label) + " ", style=style)
            for n, k in enumerate(self.picks):
                text = _cell(row.cells[k], self.units[k], self.blocks[k])
                line.append("│ ")
                start = len(line)
                line.append(text.ljust(self.blocks[k]) if n < len(self.picks) - 1 else text, style=style)
                if row.marks:
                    self._mark(line, start, row, k)
                if n < len(self.picks) - 1:
                    line.append(" ")
            line.rstrip()
            out.append(line)
        for line in out:  # a table wider than the terminal (only with --full) is never wrapped into garbage
            line.no_wrap, line.overflow = True, "ignore"
        return out
