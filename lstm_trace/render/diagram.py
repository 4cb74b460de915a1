"""The cell drawn with one step's numbers: `lstm-trace run FILE --format diagram`, an SVG for a 16:9 slide.

The familiar pictures (an LSTM's cell state along the top, its σ σ tanh σ
layers, ⊙ and + nodes; a GRU's z, r and n; a simple RNN's one layer), each
written over with the numbers the engine recorded for one step, one batch row
and a few units. x and h enter through a concatenation, drawn as a stacked
column [h, x], never as a sum. Every number is a `<tspan data-q data-b
data-u>`: q names the quantity as `Run.quantity` does (act_c for act(c)), b
and u count from 1, so a page can find and update it. The view reads the
run's record only; the pictures themselves are in `diagram_cells`.

The backward pass is the same picture with the arrows turned round and every
value replaced by its δ (dL/d that value) from the backward record
(`BackRun.quantity`): data-q is then `d_` and the forward name (d_c, d_pre_i,
d_h_prev), and the name is written δc₂, δpre_i₂.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from ..backward import BackRun
from ..trace import Run, Trace
from .diagram_svg import TITLE_FONT, Canvas, Shown, text_width, wrap
from .numbers import num, scalar, sub

MAX_UNITS = 4  # more units than this do not fit the slide legibly
TITLE_WIDTH = 1232
SMALL = 4  # vectors of at most this many values (x, a projected h) are written whole


class DiagramError(ValueError):
    """A step, batch row or set of units the diagram cannot draw."""


@dataclass(frozen=True)
class Numbers:
    """The recorded numbers of step s (0-based) and batch row b of one run, for the shown units (0-based)."""

    run: Run
    s: int
    b: int
    units: tuple[int, ...]
    precision: int
    back: BackRun | None = None  # the backward pass's record: the numbers are then the δ's

    @property
    def backward(self) -> bool:
        return self.back is not None

    @property
    def t(self) -> int:
        return self.s + 1

    @property
    def whole(self) -> bool:
        return self.units == tuple(range(self.run.cell.units))

    @property
    def x_name(self) -> str:
        return f"x{sub(int(self.run.reads[self.s]) + 1)}"

    def _text(self, value: object) -> str:
        return num(scalar(value), self.precision)

    def unitwise(self, q: str, name: str, vector: np.ndarray) -> Shown:
        """A vector over the units (a gate, c, act(c), an unprojected h): the shown units' values."""
        values = tuple((k + 1, self._text(vector[k])) for k in self.units)
        return Shown(q, name, values, len(vector), self.whole)

    def entire(self, q: str, name: str, vector: np.ndarray, width: float | None = None) -> Shown:
        """A vector the units do not index (x, a projected h): whole when at most `SMALL` long, else its length.

        With `width`, it must fit on one line that wide, or only its length is written.
        """
        values = tuple((k + 1, self._text(v)) for k, v in enumerate(vector))
        line = f"{name} = [{' '.join(text for _, text in values)}]"
        fits = len(vector) <= SMALL and (width is None or text_width(line) <= width)
        return Shown(q, name, values if fits else (), len(vector), True)

    def value(self, q: str) -> np.ndarray:
        """Step s's row of `Run.quantity`'s q; in the backward pass its δ, as the backward record holds it."""
        return (self.back or self.run).quantity(q, self.s)[self.b]

    def named(self, q: str, name: str) -> tuple[str, str]:
        """(data-q, name) of quantity q: itself forward, its δ backward (d_c, δc₂)."""
        return (f"d_{q}", f"δ{name}") if self.backward else (q, name)

    def common(self, q: str, name: str, width: float | None = None) -> Shown:
        """A quantity the units do not index (x, the h every unit reads), or its δ: see `entire`."""
        return self.entire(*self.named(q, name), self.value(q), width)

    def state(self, q: str, name: str) -> Shown:
        """h or h_prev on the state's path (or its δ): unitwise, unless a projection made it another width."""
        vector = self.value(q)
        if len(vector) == self.run.cell.units:
            return self.unitwise(*self.named(q, name), vector)
        return self.entire(*self.named(q, name), vector)

    def quantity(self, q: str, name: str) -> Shown:
        """`Run.quantity`'s name q over the units, or its δ (`BackRun.quantity`: act_c and m are δ's only)."""
        return self.unitwise(*self.named(q, name), self.value(q))

    def gate(self, gate: str) -> list[Shown]:
        """A block's activation, after the clipped sum it was given where the layer clips its sums; backward,
        the activation's δ."""
        clip = self.run.blocks[gate].op("clip")
        shown = [self.quantity(gate, f"{gate}{sub(self.t)}")]
        if clip is not None and not self.backward:
            shown.insert(0, self.unitwise(f"clip_{gate}", f"clip(pre_{gate}{sub(self.t)})", clip.out[self.s, self.b]))
        return shown

    def pre(self, gate: str) -> list[Shown | str]:
        """A block's sum, and the peephole term it includes; a coupled forget gate's sum is not used at all."""
        record = self.run.blocks[gate]
        if record.op("one_minus") is not None:
            return ["sum unused: no δ"] if self.backward else ["sum unused"]
        shown: list[Shown | str] = [self.quantity(f"pre_{gate}", f"pre_{gate}{sub(self.t)}")]
        peep = next((term for term in record.terms if term.key == "peephole"), None)
        if peep is not None and not self.backward:  # backward, the peephole's part is in δc
            c = f"c{sub(self.t if gate == 'o' else self.t - 1)}"
            shown.append(self.unitwise(f"peep_{gate}", f"w_{gate}⊙{c}", peep.at(self.s, self.b)))
        return shown

    def update(self, kind: str, q: str, name: str) -> Shown:
        """The result of a state-update operation (act_c, the cell update before its clip, m); backward, the δ
        of act_c or m, the results the backward record keeps."""
        if self.backward:
            return self.quantity(q, name)
        op = self.run.update(kind)
        assert op is not None
        return self.unitwise(q, name, op.out[self.s, self.b])


def title(trace: Trace, n: Numbers, note: str) -> list[str]:
    """What the picture shows: the layer as the framework writes it, then the pass, step, batch row and units.

    One line when it fits the slide, else the layer on the first line (wrapped at its commas if need be).
    The backward pass adds a line saying what L is and what δ means.
    """
    run = n.run
    layer = trace.scenario.header.split(" · ")[0]
    if len(trace.all_runs()) > 1:
        layer += f" · layer {run.layer} {run.direction}"
    pieces = [f"step t={n.t}", f"batch row {n.b + 1}"]
    if n.backward:
        pieces.insert(0, "backward pass")
    if note:
        pieces.append(note)
    elif n.whole:
        pieces.append(f"units 1–{run.cell.units}" if run.cell.units > 1 else "unit 1")
    else:
        shown = ", ".join(str(k + 1) for k in n.units)
        pieces.append(f"unit{'s' if len(n.units) > 1 else ''} {shown}")
    line = " · ".join([layer, *pieces])
    lines = [line] if text_width(line, TITLE_FONT) <= TITLE_WIDTH else [
        *wrap(layer.split(", "), TITLE_WIDTH, TITLE_FONT, ", "), " · ".join(pieces)
    ]  # fmt: skip
    if n.backward:
        assert trace.gradients is not None
        h = f"h{sub(n.t)}"
        lines.append(f"{trace.gradients.backward.describe()} · δ is dL/d (δ{h} = dL/d{h}); the arrows point the way it "
                     "goes back")  # fmt: skip
    return lines


def render_diagram(
    trace: Trace,
    step: int = 0,
    batch: int = 0,
    units: Sequence[int] | None = None,
    precision: int = 4,
    layer: int = 0,
    direction: int = 0,
    backward: bool = False,
) -> str:
    """The cell of one run at step `step`, batch row `batch` (both 0-based) as one SVG, 1280×720.

    `units` (0-based) picks at most four units; by default the whole vectors
    when there are at most four units and they fit, else unit 1 with a note.
    `backward` draws the step's δ's instead, from the trace's backward pass.
    """
    run = trace.runs[layer][direction]
    back = None
    if backward:
        if trace.gradients is None:
            raise DiagramError("the backward pass needs the scenario's backward block")
        back = trace.gradients.runs[layer][direction]
    if not 0 <= step < run.steps:
        raise DiagramError(f"step {step + 1} is beyond the last ({run.steps})")
    if not 0 <= batch < run.h.shape[1]:
        raise DiagramError(f"batch row {batch + 1} is beyond the last ({run.h.shape[1]})")
    size = run.cell.units
    if units is not None:
        picked = tuple(dict.fromkeys(units))
        if not picked or max(picked) >= size or min(picked) < 0:
            raise DiagramError(f"units are counted from 1 to {size}")
        if len(picked) > MAX_UNITS:
            raise DiagramError(f"a diagram shows at most {MAX_UNITS} units legibly: pick them with --units")
        svg, overflow = _draw(trace, Numbers(run, step, batch, picked, precision, back), "")
        if overflow:
            raise DiagramError(
                f"the numbers of {len(picked)} units do not fit the slide legibly: pick fewer with --units"
            )
        return svg
    if size <= MAX_UNITS:
        svg, overflow = _draw(trace, Numbers(run, step, batch, tuple(range(size)), precision, back), "")
        if not overflow:
            return svg
    return _draw(trace, Numbers(run, step, batch, (0,), precision, back), f"unit 1 of {size} (--units picks others)")[0]


def _draw(trace: Trace, n: Numbers, note: str) -> tuple[str, bool]:
    """The picture, and whether some block of numbers overflowed its place."""
    from .diagram_cells import draw_cell, draw_skipped

    lines = title(trace, n, note)
    canvas = Canvas(batch=n.b + 1, backward=n.backward)
    top = 32 + 28 * (len(lines) - 1) + 16  # below the title: where the blocks above the top line may start
    active = n.run.active is None or bool(n.run.active[n.s, n.b])
    description = (draw_cell if active else draw_skipped)(canvas, n, top)
    return canvas.svg(lines, description), bool(canvas.overflow)
