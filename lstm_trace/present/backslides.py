"""The presenter's slides of the backward pass: one step's δ's, and one unit's δ equations.

They mirror the forward slides: the step's `BackStepView` (what reaches h_t,
the δ equations, the δ table and what the step adds to the weights'
gradients) laid out by the terminal renderer's tables, and for one unit the
`BackExplainer`'s lines, the state's δ's (δh, δc) set off.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from rich.console import Console, ConsoleOptions, RenderResult
from rich.text import Text

from ..backward import BackRun
from ..render.back_explain import BackExplainer
from ..render.grid import HUES
from ..render.terminal import equation_lines, tables
from .text import RESULT, fold, given, styled

if TYPE_CHECKING:
    from .deck import Deck, Place

STATE = ("h", "c", "h_prev", "c_prev", "m", "p_in")  # the δ's of the state (and of what it is made from)


def back_state(back: BackRun, s: int, b: int, unit: int, precision: int) -> list[str]:
    """The `BackExplainer`'s equations of the state's δ's for one unit at one step (δh, and δc in an LSTM)."""
    return [str(line) for line in BackExplainer(back, s, b, precision).lines(unit) if line.quantity in STATE]


@dataclass(frozen=True)
class BackStepSlide:
    """One step of the backward pass whole: what reaches h_t, the δ equations (δh_t and δc_t set off), the δ
    table, and what the step adds to each weight's gradient."""

    deck: Deck
    place: Place

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        width, deck, place = options.max_width, self.deck, self.place
        view = deck.back_builder(place.run, width).back_step(place.step, deck.rows[place.row])
        delta = view.delta
        yield from given(delta, width)
        if None in delta.units:
            shown = ", ".join("…" if k is None else str(k + 1) for k in delta.units)
            yield Text(f"units shown: {shown}  (u follows one)", style="dim")
        yield Text("")
        for eq in delta.equations:
            first, *rest = equation_lines(eq, width, delta.units)
            line = Text(first)
            line.stylize("bold", 0, len(eq.lhs))
            line.stylize(RESULT if eq.quantity in STATE else "bold", len(first) - len(eq.result))
            yield line
            yield from (Text(more) for more in rest)
        if delta.skipped:
            yield Text(delta.skipped, style="italic")
            return
        yield Text("")
        yield from tables(delta, False, width)
        for note in delta.notes:
            yield Text(note, style="dim")
        if view.adds is not None:
            yield Text("")
            yield Text(view.adds.heading, style="bold")
            yield from tables(view.adds, False, width)


@dataclass(frozen=True)
class BackUnitSlide:
    """One unit of one step of the backward pass: every δ equation in symbols, with its numbers, and the result;
    then what the step adds to the weights' gradients for that unit."""

    deck: Deck
    place: Place

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        width, place, deck, unit = options.max_width, self.place, self.deck, self.place.unit
        assert unit is not None
        back, row = deck.back(place), deck.rows[place.row]
        cell = back.run.cell
        view = deck.back_view(place, [unit]).delta
        yield from given(view, width)
        yield Text("")
        explainer = BackExplainer(back, place.step, row, deck.sel.precision)
        for line in explainer.lines(unit):
            gate = line.quantity.removeprefix("pre_").removeprefix("slope_")
            hue = HUES.get(gate, "") if gate in cell.gates else None
            yield from styled(str(line), width, state=line.quantity in STATE, hue=hue)
        yield Text("")
        if view.skipped:
            yield Text(view.skipped, style="italic")
            yield Text("")
        elif unit < cell.units and (adds := [text for gate in cell.gates for text in explainer.adds(gate, unit)]):
            yield from (Text(line) for text in adds for line in fold(text, width))
            yield Text("")
        yield Text(f"u: next unit · 1–{min(9, cell.units)}: pick one · d: its diagram", style="dim")
