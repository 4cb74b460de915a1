"""The interactive page as one HTML string: the template with its CSS, JavaScript and data inlined.

The page must open from `file://` and inside a notebook with no server and no
network, so nothing is linked: the stylesheet, the engine, the page's script
and the JSON data all travel inside the one file, and its Content-Security-Policy
forbids every fetch. The data sits in a `<script type="application/json">`
element; every `<` in it is written `\\u003c` (still the same JSON), so no text
of the scenario (a title holding `</script>`) can end that element early.
"""

from __future__ import annotations

import html
import json
import re
from importlib import resources
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ..trace import Trace

# in order: the engines, then the page that uses them
SCRIPTS = ("engine.js", "backward.js", "format.js", "context.js", "views.js", "diagram.js", "explain.js",
           "backviews.js", "backexplain.js", "page.js")  # fmt: skip
SLOT = re.compile(r"\{\{(title|css|scripts|data)\}\}")


def _read(name: str) -> str:
    return resources.files("lstm_trace.page").joinpath(name).read_text(encoding="utf-8")


def data_json(data: Any) -> str:
    """JSON that cannot close the script element it sits in (no `<` at all: `\\u003c` is the same string)."""
    return json.dumps(data, ensure_ascii=False, separators=(",", ":"), allow_nan=False).replace("<", "\\u003c")


def page_html(data: dict[str, Any], title: str) -> str:
    """The template filled in, each slot once (inserted text is never searched for slots again)."""
    parts = {
        "title": html.escape(title),
        "css": _inline("page.css", "</style"),
        "scripts": "\n".join(f"<script>{_inline(name, '</script')}</script>" for name in SCRIPTS),
        "data": data_json(data),
    }
    return SLOT.sub(lambda m: parts[m.group(1)], _read("template.html"))


def _inline(name: str, closer: str) -> str:
    """One of our own files, to sit inside an element it must not end early (a mistake here breaks every page)."""
    text = _read(name)
    if closer in text.lower():
        raise ValueError(f"{name} contains {closer}, which would end its element early")
    return text


def page_title(tr: Trace) -> str:
    scenario = tr.scenario
    return f"lstm-trace · {scenario.title or scenario.header}"


def render_page(tr: Trace, start: dict[str, int] | None = None) -> str:
    """The whole interactive page for a traced scenario, as one self-contained HTML document.

    `start` is where it opens when its address names no state: {"t": step, "b": batch row, "u": unit}, from 1.
    """
    from .data import page_data

    return page_html({**page_data(tr), "start": start or {}}, page_title(tr))


def render_iframe(tr: Trace, height: int = 720) -> str:
    """The page inside an iframe's `srcdoc`, so its script and styles stay apart from a notebook's own."""
    page = html.escape(render_page(tr), quote=True)
    return (
        f'<iframe srcdoc="{page}" title="{html.escape(page_title(tr), quote=True)}" '
        f'sandbox="allow-scripts" style="width: 100%; height: {height}px; border: 0"></iframe>'
    )
