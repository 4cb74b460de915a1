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

PARTS = {"css": "page.css", "engine": "engine.js", "page": "page.js"}
CLOSERS = {"css": "</style", "engine": "</script", "page": "</script"}
SLOT = re.compile(r"\{\{(title|css|engine|page|data)\}\}")


def _read(name: str) -> str:
    return resources.files("lstm_trace.page").joinpath(name).read_text(encoding="utf-8")


def data_json(data: Any) -> str:
    """JSON that cannot close the script element it sits in (no `<` at all: `\\u003c` is the same string)."""
    return json.dumps(data, ensure_ascii=False, separators=(",", ":"), allow_nan=False).replace("<", "\\u003c")


def page_html(data: dict[str, Any], title: str) -> str:
    """The template filled in, each slot once (inserted text is never searched for slots again)."""
    parts = {key: _read(name) for key, name in PARTS.items()}
    for key, text in parts.items():
        if CLOSERS[key] in text.lower():  # our own files: a mistake here would break every page
            raise ValueError(f"{PARTS[key]} contains {CLOSERS[key]}, which would end its element early")
    parts["title"] = html.escape(title)
    parts["data"] = data_json(data)
    return SLOT.sub(lambda m: parts[m.group(1)], _read("template.html"))


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
