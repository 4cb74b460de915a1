"""Lines of text as the presenter's slides write them: equations folded to the screen, results set off."""

from __future__ import annotations

from rich.text import Text

from ..render.grid import HUES
from ..render.views import StepView

RESULT = "bold reverse"  # c_t and h_t (going back, δc_t and δh_t): what the step was for


def fold(equation: str, width: int) -> list[str]:
    """`a = b = c = d` on one line when it fits; else the symbols on the first line and the numbers on the next
    ones, broken at equals signs and aligned under the first."""
    if len(equation) <= width:
        return [equation]
    lhs, *parts = equation.split(" = ")
    pad = " " * len(lhs)
    lines, line = [f"{lhs} = {parts[0]}"], ""
    for part in parts[1:]:
        if line and len(line) + 3 + len(part) > width:
            lines.append(line)
            line = ""
        line += f"{pad if not line else ''} = {part}"
    return [*lines, line] if line else lines


def given(view: StepView, width: int) -> list[Text]:
    """The step's inputs on one line when they fit, else one a line."""
    line = "      ".join(f"{name} = {value}" for name, value in view.given)
    return [Text(line)] if len(line) <= width else [Text(f"{name} = {value}") for name, value in view.given]


def styled(equation: str, width: int, state: bool, hue: str | None = None) -> list[Text]:
    """An equation folded to the width: its left side in its gate's hue (by default the hue of its first
    letter), its value bold, a state's set off."""
    lines = fold(equation, width)
    out = []
    for k, line in enumerate(lines):
        text = Text(line)
        if k == 0:
            lhs = line.split(" = ")[0]
            colour = HUES.get(lhs[0], "") if hue is None else hue
            text.stylize("bold" if state else f"bold {colour}", 0, len(lhs))
        if k == len(lines) - 1:
            value = line.rsplit(" = ", 1)[-1]
            text.stylize(RESULT if state else "bold", len(line) - len(value))
        out.append(text)
    return out
