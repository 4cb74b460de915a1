"""The presenter: a Textual app that shows the deck one place at a time and moves on keys.

The keys are bindings, so the footer lists them; those that would do nothing
here (another layer when there is one, another batch row when one is shown,
the backward pass without the scenario's backward block) are hidden. Steps do
not wrap: past the first or the last, the terminal rings and a note says where
the presentation is. The backward pass goes the other way: → takes it from
t = T down to t = 1.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any, ClassVar

from textual.app import App, ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import VerticalScroll
from textual.widgets import Footer, Static

from ..render.selection import Selection
from ..trace import Trace
from .deck import Deck, Place


class PresentApp(App[None]):
    """`lstm-trace present`: one step of a trace at a time, full screen."""

    TITLE = "lstm-trace"
    ENABLE_COMMAND_PALETTE = False
    CSS = """
    #header { dock: top; height: auto; padding: 0 1; background: $panel; }
    #body { padding: 0 1; }
    """
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("right,space,n", "next_step", "next", key_display="→", priority=True),
        Binding("left,p", "previous_step", "back", key_display="←", priority=True),
        Binding("home", "first_step", "first", priority=True),
        Binding("end", "last_step", "last", priority=True),
        Binding("u", "follow_unit", "unit", key_display="u/1-9", priority=True),
        *(Binding(str(n), f"pick_unit({n})", show=False, priority=True) for n in range(1, 10)),
        Binding("d", "toggle_diagram", "diagram", priority=True),
        Binding("b", "switch_pass", "pass", priority=True),
        Binding("l", "next_run", "layer", priority=True),
        Binding("r", "next_row", "row", priority=True),
        Binding("q", "quit", "quit", priority=True),
    ]

    def __init__(self, trace: Trace, selection: Selection | None = None) -> None:
        super().__init__()
        self.deck = Deck(trace, selection)
        self.place = Place()

    def compose(self) -> ComposeResult:
        yield Static(id="header")
        with VerticalScroll():
            yield Static(id="body")
        yield Footer(compact=True)

    def on_mount(self) -> None:
        self.show()

    def show(self) -> None:
        self.query_one("#header", Static).update(self.deck.header(self.place))
        self.query_one("#body", Static).update(self.deck.body(self.place))

    def go(self, **changes: Any) -> None:
        self.place = replace(self.place, **changes)
        self.show()

    def edge(self, note: str) -> None:
        self.bell()
        self.notify(note, timeout=2)

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "next_run":
            return len(self.deck.runs) > 1
        if action == "next_row":
            return len(self.deck.rows) > 1
        if action == "switch_pass":
            return bool(self.deck.backs)
        return True

    # ---- steps: forward from t = 1, backward from t = T -----------------------------------------
    def ends(self) -> tuple[int, int, int]:
        """(the first step, the last, +1 or −1: the way from one to the next) of the pass shown (0-based)."""
        last = self.deck.steps(self.place) - 1
        return (last, 0, -1) if self.place.backward else (0, last, 1)

    def action_next_step(self) -> None:
        _, last, way = self.ends()
        if self.place.step != last:
            self.go(step=self.place.step + way)
        else:
            self.edge(f"t={last + 1} is the last step" + (" of the backward pass" if self.place.backward else ""))

    def action_previous_step(self) -> None:
        first, _, way = self.ends()
        if self.place.step != first:
            self.go(step=self.place.step - way)
        else:
            self.edge(f"t={first + 1} is the first step" + (" of the backward pass" if self.place.backward else ""))

    def action_first_step(self) -> None:
        self.go(step=self.ends()[0])

    def action_last_step(self) -> None:
        self.go(step=self.ends()[1])

    def action_switch_pass(self) -> None:
        """The backward pass from its first step (t = T, where L's gradient enters); back to the forward pass at
        the step shown."""
        if self.place.backward:
            self.go(mode="forward")
        else:
            self.go(mode="backward", step=self.deck.steps(self.place) - 1)

    # ---- what a step shows --------------------------------------------------------------------
    def action_follow_unit(self) -> None:
        """Follow the first unit, then the next; after the last, the whole step again."""
        units, unit = self.deck.units(self.place), self.place.unit
        later = [k for k in units if unit is not None and k > unit]
        self.go(unit=units[0] if unit is None else later[0] if later else None)

    def action_pick_unit(self, number: int) -> None:
        if number - 1 in self.deck.units(self.place):
            self.go(unit=number - 1)
        else:
            self.edge(f"unit {number} is not shown")

    def action_toggle_diagram(self) -> None:
        self.go(diagram=not self.place.diagram)

    def action_next_run(self) -> None:
        place = replace(self.place, run=(self.place.run + 1) % len(self.deck.runs))
        self.go(run=place.run, unit=place.unit if place.unit in self.deck.units(place) else None)

    def action_next_row(self) -> None:
        self.go(row=(self.place.row + 1) % len(self.deck.rows))
