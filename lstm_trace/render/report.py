"""check's report for a person: ✓, ✗ or ~ per value, the arithmetic of the first wrong unit, the mistake.

Wording speaks to the student: "yours" and "right". A value that passes
prints on one line, and a wide one only says how many values matched, so a
passing check of a large layer is a short list, not a wall of numbers.
"""

from __future__ import annotations

from rich.console import Console, ConsoleOptions, RenderResult
from rich.padding import Padding
from rich.text import Text

from ..check import Report, Result, label, values_text
from ..trace import Trace

SHORT = 8  # values a passing line still prints
MARKS = {"right": ("✓ ", "bold green"), "wrong": ("✗ ", "bold red"), "carried": ("~ ", "bold yellow")}


class ReportView:
    def __init__(self, report: Report, trace: Trace, precision: int = 4) -> None:
        self.report, self.trace, self.p = report, trace, precision

    def _line(self, result: Result, width: int) -> list[Text]:
        mark, style = MARKS[result.status]
        text = label(result.item, self.trace)
        name = Text(mark, style=style) + Text(text.ljust(9) if len(text) < 9 else text + " ")
        if result.ok:
            size = result.got.size
            shown = values_text(result.got, self.p) if size <= SHORT else f"all {size} values right"
            return [name + Text(shown)]
        yours, right = values_text(result.yours, self.p), values_text(result.got, self.p)
        line = name + Text(f"yours {yours}   right {right}")
        if result.status == "carried":
            return [line]
        where = Text(f"first wrong: {result.where}", style="bold")
        if line.cell_len + where.cell_len + 3 <= width:
            return [line + Text("   ") + where]
        return [line, Text(" " * 6) + where]

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        width = options.max_width
        shown_working: set[str] = set()
        for result in self.report.results:
            yield from self._line(result, width)
            if result.item.note:
                yield Padding(Text(result.item.note, style="dim"), (0, 0, 0, 6), expand=False)
            if not result.ok and result.status != "carried":
                for line in result.explanation:
                    if line not in shown_working:
                        yield Padding(Text(line), (0, 0, 0, 6), expand=False)
                        shown_working.add(line)
            if result.diagnosis is not None:
                yield Padding(Text(result.diagnosis.text, style="italic"), (0, 0, 0, 6), expand=False)
        report = self.report
        total = len(report.results)
        if report.ok:
            yield Text(f"all {total} values right (tolerance {report.tolerance:g})")
            return
        carried = sum(r.status == "carried" for r in report.results)
        wrong = report.wrong - carried
        tail = f", {carried} carried forward from an earlier one" if carried else ""
        yield Text(f"{wrong} of {total} values wrong{tail} (tolerance {report.tolerance:g})")
