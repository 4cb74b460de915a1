"""Our own Markdown as one printable HTML page: self-contained, inline CSS, no script.

It reads only what render/markdown.py and render/worksheet.py write (headings,
paragraphs, `>` notes, `-` lists with one nested level, pipe tables, fenced
code, `code`, **bold** and *italic*), so the page holds exactly the content of
the Markdown. Every text is escaped before any tag is added, so a scenario's
title or description can never become markup. `____`, a worksheet's blank,
becomes an empty box to write in.
"""

from __future__ import annotations

import html
import re
from collections.abc import Callable, Iterable, Iterator

from .worksheet import BLANK

CSS = """
body { font-family: Georgia, 'Times New Roman', serif; max-width: 60em; margin: 2em auto; padding: 0 1em;
       color: #000; background: #fff; line-height: 1.4; }
h1 { font-size: 1.4em; } h2 { font-size: 1.2em; margin-top: 1.6em; } h3 { font-size: 1.05em; margin-top: 1.4em; }
code, pre { font-family: 'DejaVu Sans Mono', Menlo, Consolas, monospace; font-size: 0.9em; }
pre { background: #f6f6f6; border: 1px solid #ddd; padding: 0.5em 0.8em; overflow-x: auto; }
blockquote { margin: 0.5em 0; padding-left: 0.8em; border-left: 3px solid #bbb; color: #333; }
blockquote p { margin: 0.2em 0; }
table { border-collapse: collapse; margin: 0.5em 0; font-size: 0.9em; }
th, td { border: 1px solid #999; padding: 0.2em 0.5em; }
th { background: #eee; } td.num { text-align: right; font-family: 'DejaVu Sans Mono', Menlo, monospace; }
.blank { display: inline-block; min-width: 3em; height: 1.2em; border: 1px solid #555; vertical-align: middle;
         background: #fff; }
.break { border: 0; }
@media print {
  body { margin: 0; max-width: none; font-size: 10pt; }
  h3, table, pre, ul { break-inside: avoid; }
  h2, h3 { break-after: avoid; }
  .break { break-before: page; }
  pre { background: none; }
}
"""

_TABLE_SPLIT = re.compile(r"(?<!\\)\|")
BOX = '<span class="blank"></span>'  # a blank to write in


def _inline(text: str) -> str:
    """One line's inline Markdown: `code`, **bold**, *italic*, and blanks as boxes; everything escaped first."""
    parts = text.split("`")
    out = []
    for k, part in enumerate(parts):
        safe = html.escape(part, quote=True)
        if k % 2:
            out.append(f"<code>{safe}</code>")
            continue
        safe = re.sub(r"\*\*(.+?)\*\*", r"<strong>\1</strong>", safe)
        out.append(re.sub(r"\*(.+?)\*", r"<em>\1</em>", safe))
    return "".join(out).replace(BLANK, BOX)


def _cells(line: str) -> list[str]:
    return [cell.strip().replace("\\|", "|") for cell in _TABLE_SPLIT.split(line.strip())[1:-1]]


def _table(lines: list[str]) -> Iterator[str]:
    head, align, body = _cells(lines[0]), _cells(lines[1]), [_cells(line) for line in lines[2:]]
    right = [spec.endswith(":") for spec in align]
    yield "<table>"
    yield "<tr>" + "".join(f"<th>{_inline(cell)}</th>" for cell in head) + "</tr>"
    for row in body:
        cells = (
            f'<td class="num">{_inline(c)}</td>' if r else f"<td>{_inline(c)}</td>"
            for c, r in zip(row, right, strict=True)
        )
        yield "<tr>" + "".join(cells) + "</tr>"
    yield "</table>"


def _items(lines: list[str]) -> Iterator[str]:
    """`- ` items, each with its `  - ` sub-items."""
    yield "<ul>"
    open_sub = False
    for n, line in enumerate(lines):
        if line.startswith("  - "):
            if not open_sub:
                yield "<ul>"
                open_sub = True
            yield f"<li>{_inline(line[4:])}</li>"
            continue
        if open_sub:
            yield "</ul>"
            open_sub = False
        if n:
            yield "</li>"
        yield f"<li>{_inline(line[2:])}"
    if open_sub:
        yield "</ul>"
    yield "</li></ul>"


def _take(lines: list[str], start: int, test: Callable[[str], bool]) -> list[str]:
    end = start
    while end < len(lines) and test(lines[end]):
        end += 1
    return lines[start:end]


def body(markdown: Iterable[str]) -> Iterator[str]:
    """The HTML of each Markdown block, in order."""
    lines = list(markdown)
    k = 0
    while k < len(lines):
        line = lines[k]
        if line.startswith("```"):
            end = lines.index("```", k + 1)
            code = "\n".join(html.escape(text) for text in lines[k + 1 : end]).replace(BLANK, BOX)
            yield f"<pre>{code}</pre>"
            k = end + 1
            continue
        if line.startswith("|"):
            block = _take(lines, k, lambda text: text.startswith("|"))
            yield from _table(block)
        elif line.startswith("- "):
            block = _take(lines, k, lambda text: text.startswith(("- ", "  - ")))
            yield from _items(block)
        elif line.startswith("> "):
            block = _take(lines, k, lambda text: text.startswith("> "))
            yield "<blockquote>" + "".join(f"<p>{_inline(text[2:])}</p>" for text in block) + "</blockquote>"
        else:
            block = [line]
            if line == "---":
                yield '<hr class="break">'
            elif match := re.match(r"(#{1,6}) (.*)", line):
                level = len(match.group(1))
                yield f"<h{level}>{_inline(match.group(2))}</h{level}>"
            elif line:
                yield f"<p>{_inline(line)}</p>"
        k += len(block)


def page(markdown: Iterable[str], title: str) -> str:
    """One HTML document that prints as it shows."""
    return "\n".join(
        [
            "<!DOCTYPE html>",
            '<html lang="en">',
            '<head><meta charset="utf-8">',
            f"<title>{html.escape(title)}</title>",
            f"<style>{CSS}</style>",
            "</head>",
            "<body>",
            *body(markdown),
            "</body>",
            "</html>",
            "",
        ]
    )
