"""The drawing kit of the cell diagram: wires, nodes, layer boxes and blocks of numbers, written as SVG text.

Everything is drawn on a fixed 1280×720 canvas (a 16:9 slide) with no text
smaller than 20 px, so the picture stays legible when projected. Text widths
are estimated from generous per-character widths (wider than most sans-serif
fonts), so a block that is said to fit does fit; a block that does not fit its
`Slot` is recorded as an overflow, and the caller then shows fewer units.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

WIDTH, HEIGHT = 1280, 720
FONT = 20  # every number and label
TITLE_FONT = 24
LINE = 24  # baseline to baseline
SYMBOL_FONT = 26  # the activation written in a layer box

STYLE = """
text { font-family: "Helvetica Neue", Helvetica, Arial, "Liberation Sans", "DejaVu Sans", sans-serif;
       font-size: 20px; fill: #1a1a1a; }
.title { font-size: 24px; font-weight: bold; }
.subtitle { fill: #333333; }
.name { fill: #444444; }
.num { font-weight: bold; fill: #000000; }
.note { fill: #444444; font-style: italic; }
.wire { stroke: #555555; stroke-width: 2.5; fill: none; }
.cstate { stroke: #1565c0; stroke-width: 5; fill: none; }
.hstate { stroke: #2e7d32; stroke-width: 4; fill: none; }
.layer rect { fill: #fff3e0; stroke: #e65100; stroke-width: 2.5; }
.layer.candidate rect { fill: #e3f2fd; stroke: #1565c0; }
.op rect { fill: #f5f5f5; stroke: #333333; stroke-width: 2; }
.node circle { fill: #ffffff; stroke: #222222; stroke-width: 2.5; }
.node line { stroke: #222222; stroke-width: 2.5; }
.node .dot { fill: #222222; stroke: none; }
.concat rect { fill: #f3e5f5; stroke: #6a1b9a; stroke-width: 2.5; }
.concat path { stroke: #6a1b9a; stroke-width: 3; fill: none; }
"""

# Per-character widths in em, generous (DejaVu Sans, the widest common sans-serif, or wider).
_NARROW = set(".,:;!|'ijl ")
_MID = set("()[]{}-_/\\frt1₀₁₂₃₄₅₆₇₈₉₋")


def text_width(text: str, size: int = FONT) -> float:
    """An upper estimate of the width of `text` at `size` px."""
    em = 0.0
    for ch in text:
        if ch in _NARROW:
            em += 0.34
        elif ch in _MID:
            em += 0.45
        elif ch.isdigit() or ch.islower():
            em += 0.64
        elif ch.isupper():
            em += 0.74
        else:  # = + − · ⊙ σ and the like
            em += 0.84
    return em * size


def esc(text: str) -> str:
    """Text as XML character data or an attribute value."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace('"', "&quot;")


@dataclass(frozen=True)
class Shown:
    """One quantity as the diagram writes it: `name` (i₁, pre_f₁, c₀), and the shown units' numbers.

    `values` pairs each unit (from 1) with its text; empty when the vector is
    too long to write, which then reads 'x₁ (12 values)'. `whole` says the
    values are the whole vector, which may then be written [5 2 1].
    """

    q: str
    name: str
    values: tuple[tuple[int, str], ...]
    total: int
    whole: bool


@dataclass(frozen=True)
class Slot:
    """A free rectangle for blocks of numbers, filled from its top, or from its bottom with `up`."""

    x: float
    top: float
    bottom: float
    width: float
    up: bool = False
    end: bool = False  # x is the right edge: the lines are right-aligned


@dataclass
class Canvas:
    """The SVG under construction: its parts in drawing order, and whether any block overflowed its slot."""

    batch: int  # the batch row every number belongs to, from 1 (data-b)
    backward: bool = False  # the backward pass: every arrowhead at the wire's start, the δ's flowing back
    parts: list[str] = field(default_factory=list)
    overflow: list[str] = field(default_factory=list)

    # ---- wires and shapes ------------------------------------------------------------------
    def wire(self, points: Sequence[tuple[float, float]], cls: str = "wire", arrow: bool = True) -> None:
        marker = {"wire": "a-wire", "cstate": "a-c", "hstate": "a-h"}[cls]
        d = " ".join(f"{'M' if k == 0 else 'L'}{x:g},{y:g}" for k, (x, y) in enumerate(points))
        end = f' marker-{"start" if self.backward else "end"}="url(#{marker})"' if arrow else ""
        self.parts.append(f'<path class="{cls}" d="{d}"{end}/>')

    def node(self, x: float, y: float, kind: str) -> None:
        """⊙ (kind 'mul', a circle round a dot) or + ('add', a circle round a cross), drawn, not typed."""
        r = 17
        title = {"mul": "⊙ elementwise product", "add": "+ elementwise sum"}[kind]
        inner = (
            f'<circle class="dot" cx="{x:g}" cy="{y:g}" r="4.5"/>'
            if kind == "mul"
            else f'<line x1="{x - 10:g}" y1="{y:g}" x2="{x + 10:g}" y2="{y:g}"/>'
            f'<line x1="{x:g}" y1="{y - 10:g}" x2="{x:g}" y2="{y + 10:g}"/>'
        )
        self.parts.append(
            f'<g class="node {kind}"><title>{title}</title><circle cx="{x:g}" cy="{y:g}" r="{r}"/>{inner}</g>'
        )

    def dot(self, x: float, y: float, cls: str = "wire") -> None:
        """Where a wire branches."""
        colour = {"wire": "#555555", "cstate": "#1565c0", "hstate": "#2e7d32"}[cls]
        self.parts.append(f'<circle cx="{x:g}" cy="{y:g}" r="5" fill="{colour}"/>')

    def box(
        self,
        x: float,
        y: float,
        label: str,
        cls: str,
        tag: str = "",
        minimum: float = 96,
        widest: float | None = None,
        height: float = 50,
    ) -> float:
        """A box centred at (x, y) with `label` inside (a layer's activation, or an operation); its half width.

        The label is written large, or at the body size when that fits `widest`, or split after its first
        '_' (hard_ / sigmoid). `tag` names what the box computes (f, c→g), written just left of it.
        """
        lines, size = [label], SYMBOL_FONT
        if widest is not None and text_width(label, size) + 24 > widest:
            size = FONT
            head, sep, rest = label.partition("_")
            if text_width(label, size) + 24 > widest and sep:
                lines = [head + sep, rest]
        w = max(minimum, *(text_width(line, size) + 24 for line in lines))
        rect = f'<rect x="{x - w / 2:g}" y="{y - height / 2:g}" width="{w:g}" height="{height:g}" rx="8"/>'
        first = y + (9 if size == SYMBOL_FONT else 7) - 11 * (len(lines) - 1)
        style = f'text-anchor="middle" style="font-size: {size}px"'  # a style attribute outranks the sheet
        texts = "".join(
            f'<text x="{x:g}" y="{first + 22 * k:g}" {style}>{esc(line)}</text>' for k, line in enumerate(lines)
        )
        self.parts.append(f'<g class="{cls}">{rect}{texts}</g>')
        if tag:  # in the box's upper half, clear of a wire that enters its side lower down
            self.text(x - w / 2 - 8, y + 1, tag, "name", "end")
        return w / 2

    def concat(self, x: float, top: float, upper: str, lower: str) -> tuple[float, float, float]:
        """The concatenation [upper, lower] as a stacked column in brackets, labelled so; never a +.

        Returns the y of the upper half's middle, of the lower half's middle, and the right edge's x.
        """
        w, h = 64, 112
        mid = top + h / 2
        left, right = x - w / 2, x + w / 2
        bracket = (
            f'<path d="M{left + 9:g},{top - 6:g} H{left - 3:g} V{top + h + 6:g} H{left + 9:g}"/>'
            f'<path d="M{right - 9:g},{top - 6:g} H{right + 3:g} V{top + h + 6:g} H{right - 9:g}"/>'
        )
        self.parts.append(
            f'<g class="concat"><title>concatenate: one longer vector, not a sum</title>'
            f'<rect x="{left:g}" y="{top:g}" width="{w}" height="{h / 2:g}"/>'
            f'<rect x="{left:g}" y="{mid:g}" width="{w}" height="{h / 2:g}"/>{bracket}'
            f'<text x="{x:g}" y="{top + h / 4 + 7:g}" text-anchor="middle">{esc(upper)}</text>'
            f'<text x="{x:g}" y="{mid + h / 4 + 7:g}" text-anchor="middle">{esc(lower)}</text>'
            f'<text x="{x:g}" y="{top - 14:g}" text-anchor="middle">concatenate</text></g>'
        )
        return top + h / 4, mid + h / 4, right + 3

    def text(self, x: float, y: float, text: str, cls: str = "", anchor: str = "start") -> None:
        klass = f' class="{cls}"' if cls else ""
        align = f' text-anchor="{anchor}"' if anchor != "start" else ""
        self.parts.append(f'<text x="{x:g}" y="{y:g}"{klass}{align}>{esc(text)}</text>')

    # ---- numbers ---------------------------------------------------------------------------
    def _num(self, q: str, unit: int, text: str) -> str:
        return f'<tspan class="num" data-q="{q}" data-b="{self.batch}" data-u="{unit}">{esc(text)}</tspan>'

    def lines(self, shown: Shown, width: float) -> list[str]:
        """`shown` as SVG text lines: one line when it fits `width`, else its name over one line per unit."""
        name = f'<tspan class="name">{esc(shown.name)}</tspan>'
        if not shown.values:
            if text_width(f"{shown.name} ({shown.total} values)") > width:
                self.overflow.append(shown.name)
            return [f'{name}<tspan class="name"> ({shown.total} values)</tspan>']
        texts = [text for _, text in shown.values]
        if len(shown.values) == 1 and not shown.whole:
            unit, text = shown.values[0]
            plain = f"{shown.name}[{unit}] = {text}"
            if text_width(plain) <= width:
                return [f'{name}<tspan class="name">[{unit}] = </tspan>{self._num(shown.q, unit, text)}']
        elif shown.whole:
            plain = f"{shown.name} = [{' '.join(texts)}]"
            if text_width(plain) <= width:
                nums = " ".join(self._num(shown.q, unit, text) for unit, text in shown.values)
                return [f'{name}<tspan class="name"> = [</tspan>{nums}<tspan class="name">]</tspan>']
        rows = [f'{name}<tspan class="name"> =</tspan>']
        if text_width(f"{shown.name} =") > width:
            self.overflow.append(shown.name)
        for unit, text in shown.values:
            rows.append(f'<tspan class="name">[{unit}] </tspan>{self._num(shown.q, unit, text)}')
            if text_width(f"[{unit}] {text}") > width:
                self.overflow.append(shown.name)
        return rows

    def blocks(self, slot: Slot, shown: Sequence[Shown | str], gap: bool = True) -> None:
        """Blocks of numbers (or plain notes, given as strings) one under the other in `slot`, `gap` apart."""
        rows: list[str] = []
        for item in shown:
            if rows and gap:
                rows.append("")  # a half line between blocks
            if isinstance(item, str):
                rows.append(f'<tspan class="note">{esc(item)}</tspan>')
                if text_width(item) > slot.width:
                    self.overflow.append(item)
            else:
                rows.extend(self.lines(item, slot.width))
        gaps = sum(1 for row in rows if not row)
        height = (len(rows) - gaps) * LINE + gaps * LINE // 2
        if height > slot.bottom - slot.top:
            self.overflow.append(" ".join(item if isinstance(item, str) else item.name for item in shown))
        y = (slot.bottom - height if slot.up else slot.top) + FONT - 3
        anchor = ' text-anchor="end"' if slot.end else ""
        for row in rows:
            if not row:
                y += LINE // 2
                continue
            self.parts.append(f'<text x="{slot.x:g}" y="{y:g}"{anchor}>{row}</text>')
            y += LINE

    # ---- the page --------------------------------------------------------------------------
    def svg(self, title: Sequence[str], description: str) -> str:
        """The whole picture, with its style and arrowheads embedded: one file, no external fonts."""
        heads = "".join(
            f'<marker id="{mid}" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="{size}" markerHeight="{size}" '
            f'orient="auto-start-reverse" markerUnits="userSpaceOnUse"><path d="M0,0 L10,5 L0,10 z" fill="{colour}"/>'
            "</marker>"
            for mid, colour, size in (("a-wire", "#555555", 13), ("a-c", "#1565c0", 17), ("a-h", "#2e7d32", 16))
        )
        heading = [
            f'<text class="{"title" if k == 0 else "subtitle"}" x="24" y="{32 + 28 * k}">{esc(line)}</text>'
            for k, line in enumerate(title)
        ]
        return "\n".join(
            [
                f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {WIDTH} {HEIGHT}" width="{WIDTH}" '
                f'height="{HEIGHT}" role="img" aria-labelledby="diagram-title">',
                f'<title id="diagram-title">{esc(" · ".join(title))}</title>',
                f"<desc>{esc(description)}</desc>",
                f"<style>{STYLE}</style>",
                f"<defs>{heads}</defs>",
                f'<rect width="{WIDTH}" height="{HEIGHT}" fill="#ffffff"/>',
                *heading,
                *self.parts,
                "</svg>",
                "",
            ]
        )


def wrap(pieces: Sequence[str], width: float, size: int, joint: str = " · ") -> list[str]:
    """Pieces joined by `joint` into as few lines as fit `width` at `size` px (a line ends with the joint)."""
    lines: list[str] = []
    for piece in pieces:
        if lines and text_width(lines[-1] + joint + piece, size) <= width:
            lines[-1] += joint + piece
        else:
            if lines:
                lines[-1] += joint.rstrip()
            lines.append(piece)
    return lines
