"""A small picture of the cell for one unit at one step, drawn in box-drawing characters.

    c₁[2] = 16 ───(⊙)──────────(+)──────────┬───▶ c₂[2] = 1060
                   │            │           │
                   │            │           │ linear(c) 1060
                   │       ┌───(⊙)───┐      │
                   │       │         │     (⊙)──▶ h₂[2] = 2120
                 f 36    i 22      g 22    o 2
               ┌──┴──┐  ┌──┴──┐  ┌──┴──┐  ┌──┴──┐
               │  σ  │  │  σ  │  │ tanh│  │  σ  │
               └──┬──┘  └──┬──┘  └──┬──┘  └──┬──┘
    h₁, x₂ ───────┴────────┴────────┴────────┴

Every number on it is one the engine recorded (`Run.quantity`, the state
update's operations); the picture only places them. Each gate's box holds its
activation, its value sits above the box, and the wire below is what every
gate reads: the whole previous h and the input. When the numbers make the
picture wider than the screen, it is drawn with names only and the numbers
listed under it.

Given the backward record, the same picture shows the step's δ's instead
(`BackRun.quantity`): δc and δh at the ends of their lines, the arrows turned
round, each gate's δ above its box and the δ of its sum (δz) under it.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from functools import cached_property

import numpy as np
from rich.console import Console, ConsoleOptions, RenderResult
from rich.text import Text

from ..backward import BackRun
from ..render.explain import unit
from ..render.grid import HUES
from ..render.numbers import AUTO, num, pick_units, scalar, sub, vec
from ..trace import Run

GAP = 2  # columns between two gate boxes
NOTE_LIMIT = 4  # entries of h and x the note under the picture shows, the middle elided


class Canvas:
    """A grid of characters with a style per cell; text written later overwrites what was there."""

    def __init__(self, rows: int) -> None:
        self.rows: list[list[str]] = [[] for _ in range(rows)]
        self.styles: list[list[str]] = [[] for _ in range(rows)]

    def put(self, row: int, col: int, text: str, style: str = "") -> None:
        line, styles = self.rows[row], self.styles[row]
        if len(line) < col + len(text):
            line.extend(" " * (col + len(text) - len(line)))
            styles.extend("" for _ in range(col + len(text) - len(styles)))
        for k, char in enumerate(text):
            line[col + k], styles[col + k] = char, style

    def hline(self, row: int, start: int, stop: int) -> None:
        """─ from `start` to `stop` inclusive."""
        self.put(row, start, "─" * (stop - start + 1))

    def vline(self, col: int, top: int, bottom: int) -> None:
        """│ from row `top` to row `bottom` inclusive."""
        for row in range(top, bottom + 1):
            self.put(row, col, "│")

    def node(self, row: int, col: int, symbol: str) -> None:
        """An operation on a wire, centred on `col`: (⊙), (+), (1−)."""
        text = f"({symbol})"
        self.put(row, col - len(text) // 2, text, "bold")

    def label(self, row: int, col: int, text: str, style: str = "") -> None:
        """Text centred on `col`."""
        self.put(row, col - len(text) // 2, text, style)

    def lines(self) -> list[Text]:
        out = []
        for chars, styles in zip(self.rows, self.styles, strict=True):
            line = Text("".join(chars).rstrip(), no_wrap=True, overflow="crop")
            for k, style in enumerate(styles[: len(line)]):
                if style:
                    line.stylize(style, k, k + 1)
            out.append(line)
        return out


@dataclass(frozen=True)
class Gate:
    """One gate's column: its label above the box (name, and value when inline) and its activation in the box."""

    name: str
    activation: str
    title: str
    below: str = ""  # under the box, going back: the δ of its sum

    @property
    def box(self) -> int:
        """Odd, so that the wire leaves from the middle."""
        return max(len(self.activation) + 4, 7) | 1

    @property
    def width(self) -> int:
        return max(self.box, len(self.title) + 1, len(self.below) + 1)


@dataclass(frozen=True)
class CellDrawing:
    """Unit k (0-based) of batch row b at step s (0-based) of a run, as a picture; with `back`, its δ's."""

    run: Run
    s: int
    b: int
    k: int
    precision: int = 4
    inline: bool = True  # the numbers on the picture; else under it
    back: BackRun | None = None  # the run's backward record: the picture of the step's δ's

    @property
    def t(self) -> int:
        return self.s + 1

    def d(self, name: str) -> str:
        """How the picture names a value: itself forward, its δ backward (δc, δf)."""
        return name if self.back is None else f"δ{name}"

    def number(self, q: str) -> str:
        """Quantity q of this unit at this step (`Run.quantity`), or its δ (`BackRun.quantity`), as text."""
        source = self.run if self.back is None else self.back
        return num(scalar(source.quantity(q, self.s)[self.b, self.k]), self.precision)

    def below(self, gate: str) -> str:
        """The label of a gate's sum's δ, going back (δz_f): under its box."""
        return f"δ{self.run.cell.pre_symbol}_{gate}"

    @cached_property
    def values(self) -> dict[str, str]:
        """Every number the picture shows, by the label it has there, in reading order."""
        run, t, k, s, b, d, n = self.run, self.t, self.k + 1, self.s, self.b, self.d, self.number
        if run.cell.kind == "rnn":
            return {d(run.cell.pre_symbol): n("pre_h"), unit(d("h"), t, k): n("h")}
        order = "figo" if run.cell.kind == "lstm" else run.cell.gates
        gates = {d(g): n(g) for g in order}
        if self.back is not None:
            gates |= {self.below(g): n(f"pre_{g}") for g in order}
        if run.cell.kind == "gru":
            return {unit(d("h"), t - 1, k): n("h_prev"), **gates, unit(d("h"), t, k): n("h")}
        act_c, output = run.update("act_c"), run.update("output")
        assert act_c is not None and act_c.activation is not None and output is not None
        if self.back is None:
            act, out = (num(scalar(op.out[s, b, self.k]), self.precision) for op in (act_c, output))
        else:
            act, out = n("act_c"), n(self.out_name)
        return {
            unit(d("c"), t - 1, k): n("c_prev"),
            **gates,
            f"{d(act_c.activation.label)}(c)": act,
            unit(d("c"), t, k): n("c"),
            unit(d(self.out_name), t, k): out,
        }

    @property
    def out_name(self) -> str:
        """What an LSTM's o ⊙ act(c) is called: h, or m before a projection."""
        return "m" if self.run.update("projection") is not None else "h"

    def tag(self, label: str, sep: str = " ") -> str:
        """A label on the picture, with its number when the numbers are inline."""
        return f"{label}{sep}{self.values[label]}" if self.inline else label

    def gate(self, name: str) -> Gate:
        """A gate's column: forward its value above the box; going back its δ above and its sum's δ below."""
        activation = self.run.cell.activation_of(name).label
        if self.back is None:
            return Gate(name, activation, self.tag(name))
        key = self.below(name)
        below = f"δ{self.run.cell.pre_symbol} {self.values[key]}" if self.inline else key
        return Gate(name, activation, self.tag(self.d(name)), below)

    @property
    def drop(self) -> int:
        """Rows added under the boxes for the sums' δ's, going back."""
        return 0 if self.back is None else 1

    def canvas(self) -> Canvas:
        kind = self.run.cell.kind
        return self._lstm() if kind == "lstm" else self._gru() if kind == "gru" else self._rnn()

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        lines = self.canvas().lines()
        if self.inline and max(len(line) for line in lines) > options.max_width:
            yield replace(self, inline=False)
            return
        yield from lines
        if not self.inline:
            yield Text("   ".join(f"{label} = {value}" for label, value in self.values.items()))
        yield from self._notes()

    # ---- layout helpers ------------------------------------------------------------------
    def _columns(self, gates: list[Gate], left: int, gaps: dict[int, int] | None = None) -> list[int]:
        """The centre column of each gate's box, laid left to right from `left`; `gaps` widens the gap after a box."""
        centres, start = [], left
        for n, gate in enumerate(gates):
            centres.append(start + gate.width // 2)
            start += gate.width + (gaps or {}).get(n, GAP)
        return centres

    def _boxes(
        self, canvas: Canvas, gates: list[Gate], centres: list[int], top: int, unwired: tuple[str, ...] = ()
    ) -> None:
        """Each gate's label above its box (row top − 1) and its box (rows top..top + 2), wired to the bus below
        and, unless named in `unwired`, to the wire above."""
        for gate, x in zip(gates, centres, strict=True):
            hue = HUES.get(gate.name, "")
            if gate.title:
                canvas.label(top - 1, x, gate.title, f"bold {hue}")
            left = x - gate.box // 2
            canvas.put(top, left, "┌" + "─" * (gate.box - 2) + "┐", hue)
            canvas.put(top + 1, left, "│" + gate.activation.center(gate.box - 2) + "│", hue)
            canvas.put(top + 2, left, "└" + "─" * (gate.box - 2) + "┘", hue)
            canvas.put(top + 2, x, "┬", hue)
            if gate.below:
                canvas.label(top + 3, x, gate.below, f"bold {hue}")
            if gate.name not in unwired:
                canvas.put(top, x, "┴", hue)

    @property
    def bus(self) -> str:
        """The name of what every gate reads: the previous h and this step's input (going back, their δ's)."""
        d = self.d
        text = f"{d('h')}{sub(self.s)}, {d('x')}{sub(int(self.run.reads[self.s]) + 1)} "
        return text if self.back is None else text + "◀"

    def _bus(self, canvas: Canvas, row: int, centres: list[int]) -> None:
        """The wire that brings the previous h and the input to every gate."""
        canvas.put(row, 0, self.bus)
        canvas.hline(row, len(self.bus), centres[-1])
        for x in centres:
            canvas.put(row, x, "┴")

    def _line(self, canvas: Canvas, row: int, left: str, end: int, right: str) -> None:
        """A state's wire across the picture: the old value in on the left, the new one out on the right."""
        text = self.tag(left, " = ") + " "
        canvas.put(row, 0, text, "bold")
        self._out(canvas, row, len(text), end, right)

    def _out(self, canvas: Canvas, row: int, start: int, end: int, label: str) -> None:
        """A wire from column `start` to `end` that ends in `label`: ───▶ c₂[2] = 1060, or going back, with the
        δ flowing in from the label, ◀─── δc₂[2] = -1."""
        if self.back is None:
            canvas.hline(row, start, end - 1)
            canvas.put(row, end, "▶ " + self.tag(label, " = "), "bold")
        else:
            canvas.put(row, start, "◀", "bold")
            canvas.hline(row, start + 1, end)
            canvas.put(row, end + 1, " " + self.tag(label, " = "), "bold")

    def _vec(self, values: np.ndarray) -> str:
        return vec(values, self.precision, pick_units(len(values), NOTE_LIMIT))

    def _notes(self) -> list[Text]:
        run, t, back = self.run, self.t, self.back
        read = int(run.reads[self.s]) + 1
        source = run if back is None else back
        h_prev, x = (self._vec(source.quantity(q, self.s)[self.b]) for q in ("h_prev", "x"))
        if back is None:
            lines = [f"h{sub(t - 1)} = {h_prev}, x{sub(read)} = {x}: every block reads all of both."]
        else:
            z = f"δ{run.cell.pre_symbol}"
            lines = [f"δh{sub(t - 1)} = {h_prev}, δx{sub(read)} = {x}: every block's {z} goes back to both, "
                     "through U and W."]  # fmt: skip
            if t > 1:  # what else reaches h_{t−1} (and c_{t−1}) is in their δ's: this step sends only a part
                c, h = f"c{sub(t - 1)}", f"h{sub(t - 1)}"
                outside = f"δh_out{sub(t - 1)} = {self._vec(back.dh_out[self.s][self.b])} from outside"
                lines.append(
                    f"δ{h} and δ{c} are the whole dL/d{h} and dL/d{c}: they hold {outside}, and {c}'s path "
                    f"through {h} at step {t - 1}."
                    if run.c is not None
                    else f"δ{h} is the whole dL/d{h}: it holds {outside}."
                )
        if run.peep is not None:
            lines.append(f"Peepholes add w ⊙ c{sub(t - 1)} to i and f, and w ⊙ c{sub(t)} to o.")
        clip = run.update("cell_clip")
        if clip is not None:
            bound = num(clip.bound or 0, AUTO)
            lines.append(
                f"(+) clips the sum to ±{bound}." if back is None else f"(+) clipped the sum to ±{bound}: δc passes "
                "where c was within it."
            )  # fmt: skip
        if run.update("projection") is not None:
            lines.append(f"h{sub(t)} = m{sub(t)}·{run.cell.names.projection}: the projection mixes every unit's m.")
        return [Text(line, style="dim") for line in lines]

    # ---- the cells ------------------------------------------------------------------------
    def _lstm(self) -> Canvas:
        run, t, k = self.run, self.t, self.k + 1
        act_c, d = run.update("act_c"), self.d
        assert act_c is not None and act_c.activation is not None
        gates = [self.gate(name) for name in "figo"]
        c_in = unit(d("c"), t - 1, k)
        left = max(len(self.tag(c_in, " = ")) + 1, len(self.bus)) + 1
        xf, xi, xg, xo = self._columns(gates, left)
        xplus, end = (xi + xg) // 2, xo + 5
        canvas = Canvas(10 + self.drop)
        # the cell state along the top: forget, add, carry on
        self._line(canvas, 0, c_in, end, unit(d("c"), t, k))
        canvas.node(0, xf, "⊙")
        canvas.node(0, xplus, "+")
        canvas.put(0, xo, "┬")
        canvas.vline(xf, 1, 4)
        canvas.vline(xplus, 1, 2)
        # i ⊙ g under the sum
        canvas.put(3, xi, "┌")
        canvas.hline(3, xi + 1, xg - 1)
        canvas.put(3, xg, "┐")
        canvas.node(3, xplus, "⊙")
        canvas.vline(xi, 4, 4)
        canvas.vline(xg, 4, 4)
        # the output: o ⊙ act(c)
        canvas.vline(xo, 1, 3)
        canvas.put(2, xo + 2, self.tag(f"{d(act_c.activation.label)}(c)"))
        canvas.node(4, xo, "⊙")
        self._out(canvas, 4, xo + 2, end, unit(d(self.out_name), t, k))
        self._boxes(canvas, gates, [xf, xi, xg, xo], 6)
        self._bus(canvas, 9 + self.drop, [xf, xi, xg, xo])
        return canvas

    def _gru(self) -> Canvas:
        t, k, d = self.t, self.k + 1, self.d
        gates = [self.gate(name) for name in "zrn"]
        h_in = unit(d("h"), t - 1, k)
        left = max(len(self.tag(h_in, " = ")) + 1, len(self.bus)) + 1
        xz, xr, xn = self._columns(gates, left, {1: 4})
        canvas = Canvas(9 + self.drop)
        # the state along the top: z keeps the old h, 1 − z lets the candidate in
        self._line(canvas, 0, h_in, xn + 5, unit(d("h"), t, k))
        canvas.node(0, xz, "⊙")
        canvas.node(0, xn, "+")
        canvas.vline(xz, 1, 3)
        canvas.put(2, xz, "├")
        canvas.hline(2, xz + 1, xn - 2)
        canvas.node(2, (xz + xn) // 2, "1−")
        canvas.node(2, xn, "⊙")
        canvas.vline(xn, 1, 1)
        canvas.vline(xn, 3, 3)
        self._boxes(canvas, gates, [xz, xr, xn], 5, unwired=("r",))  # r resets the candidate's h·U, to the right
        box_r, box_n = gates[1].box, gates[2].box
        wire = "─" * (xn - box_n // 2 - (xr - box_r // 2 + box_r) - 1)
        canvas.put(6, xr - box_r // 2 + box_r, wire + "▶" if self.back is None else "◀" + wire)
        self._bus(canvas, 8 + self.drop, [xz, xr, xn])
        return canvas

    def _rnn(self) -> Canvas:
        t, k = self.t, self.k + 1
        gate = Gate("", self.run.cell.activation_of("h").label, "")
        (x,) = self._columns([gate], len(self.bus) + 4)
        canvas = Canvas(8)
        canvas.put(0, x, "┌")
        self._out(canvas, 0, x + 1, x + 5, unit(self.d("h"), t, k))
        canvas.vline(x, 1, 1)
        self._boxes(canvas, [gate], [x], 2)
        canvas.label(5, x, self.tag(self.d(self.run.cell.pre_symbol)), "bold")
        canvas.vline(x, 6, 6)
        self._bus(canvas, 7, [x])
        return canvas
