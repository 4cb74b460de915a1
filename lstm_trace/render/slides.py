"""The terminal trace as a 16:9 slide: rich's SVG export, letterboxed and kept offline.

rich sizes its SVG to the text, so a trace of one step comes out nearly square
and a long one tall and thin; dropped on a slide, either shrinks its text.
A slide here is the text's own picture centred in a 16:9 frame, and its text
size on a 1280×720 slide is reported so that the CLI can say when it is too
small to read. rich's export also names web fonts by URL; a slide keeps only
their local names, so opening it asks nothing of the network.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

RICH_FONT_PX = 20  # the font size rich's SVG export writes its text in
SLIDE = (1280, 720)
READABLE_PX = 16  # smallest text, in pixels on a 1280×720 slide, that reads from the back of a room


@dataclass(frozen=True)
class Slide:
    svg: str
    text_px: float  # the text's size when the slide is shown at 1280×720


def as_slide(svg: str) -> Slide:
    """rich's SVG centred in a 16:9 viewBox, with its web-font URLs left out."""
    found = re.search(r'viewBox="0 0 ([\d.]+) ([\d.]+)"', svg)
    if found is None:
        raise ValueError("not an SVG exported by rich: no viewBox")
    width, height = float(found.group(1)), float(found.group(2))
    frame_w = max(width, height * 16 / 9)
    frame_h = frame_w * 9 / 16
    box = f'viewBox="{-(frame_w - width) / 2:g} {-(frame_h - height) / 2:g} {frame_w:g} {frame_h:g}"'
    svg = svg.replace(found.group(0), box, 1)
    svg = re.sub(r',\s*url\("https?://[^"]*"\)\s*format\("[^"]*"\)', "", svg)
    return Slide(svg, RICH_FONT_PX * SLIDE[0] / frame_w)
