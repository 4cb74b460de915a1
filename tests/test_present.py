"""`lstm-trace present`: the Textual presenter driven by its pilot at 80×24, and its snapshots.

The expected numbers are the trace's own, read off `lstm-trace run` for the
same scenario (seed_three_steps has exact integers: h₂ = [0 2120 0],
c₂ = [0 1060 122]; step 2's unit 2 has f = 36, i = 22, g = 22, o = 2, c₁ = 16)
and cross-checked against the record in each test, so a screen that showed
another step's numbers, or recomputed them, fails.

The backward pass is checked on seed_backward (linear, integer weights, L =
Σ sequence): every δ is an integer, worked by hand in the tests' comments and
held to the backward record and to the real Keras run's per-step gradients
(dL/dh_t = [5 3 5], [3 3 5], [1 1 1]; dL/dc_t = [10 0 0], [6 -1 0], [0 -1 0]).

The snapshots in __snapshots__/test_present/ were generated with
--snapshot-update and read: each shows the header (title, layer, step t of T
with its bar), the body described in its test, and the footer's keys.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

import pytest
from rich.console import Console
from textual.geometry import Region
from textual.widgets import Footer

import lstm_trace
from conftest import FIXTURES, SCENARIOS, read_fixture, run_cli
from lstm_trace.errors import printable
from lstm_trace.present import PresentApp
from lstm_trace.present.deck import Deck, Place, fold
from lstm_trace.present.drawing import CellDrawing
from lstm_trace.render.numbers import sub
from lstm_trace.render.selection import Selection
from lstm_trace.trace import Trace

SIZE = (80, 24)
THREE = SCENARIOS / "seed_three_steps.yaml"


def traced(name: str) -> Trace:
    return lstm_trace.trace(lstm_trace.load(SCENARIOS / name))


def screen(app: PresentApp) -> str:
    """What the header and the body show, as text."""
    lines = []
    for name in ("#header", "#body"):
        widget = app.query_one(name)
        lines += [strip.text.rstrip() for strip in widget.render_lines(Region(0, 0, *widget.size))]
    return "\n".join(lines)


def screens(app: PresentApp, *presses: tuple[str, ...]) -> list[str]:
    """Run the app at 80×24 once; after each group of key presses, what the screen shows."""

    async def main() -> list[str]:
        shown = []
        async with app.run_test(size=SIZE) as pilot:
            for keys in presses:
                await pilot.press(*keys)
                await pilot.pause()
                shown.append(screen(app))
        return shown

    return asyncio.run(main())


def drive(app: PresentApp, *keys: str) -> str:
    """Press `keys` in the app at 80×24 and return what the screen shows then."""
    return screens(app, keys)[0]


def three() -> PresentApp:
    return PresentApp(traced("seed_three_steps.yaml"))


# ---- moving through the steps --------------------------------------------------------------
def test_right_shows_step_2_and_its_h() -> None:
    app = three()
    text = drive(app, "right")
    run = app.deck.trace.first
    assert run.h[2, 0].tolist() == [0, 2120, 0] and run.c[2, 0].tolist() == [0, 1060, 122]  # type: ignore[index]
    assert "step t=2 of 3 · reads x₂" in text
    assert "h₂ = o ⊙ linear(c₂) = [34·0, 2·1060, 0·122] = [0 2120 0]" in text
    assert "c₂ = f ⊙ c₁ + i ⊙ g = [4·0 + 26·0, 36·16 + 22·22, 16·3 + 2·37] = [0 1060 122]" in text
    assert "x₂ = [2 3]      h₁ = [0 16 0]      c₁ = [0 16 3]" in text
    assert "= z₂   │ 26  22  2 │ 4  36  16 │     0  22  37 │ 34  2  0" in text  # every unit fits at 80


def test_every_next_key_and_no_wrapping() -> None:
    shown = screens(three(), ("space", "n"), ("right", "right"), ("left",), ("p", "left"), ("end",), ("home",))
    assert "step t=3 of 3" in shown[0]
    assert "step t=3 of 3" in shown[1]  # stops at the last
    assert "step t=2 of 3" in shown[2]
    assert "step t=1 of 3" in shown[3]  # and at the first
    assert "step t=3 of 3" in shown[4] and "[0 27084252 0]" in shown[4]
    assert "step t=1 of 3" in shown[5]


def test_past_the_last_step_rings_and_says_so() -> None:
    app = three()
    said: list[str] = []
    app.bell = lambda: said.append("bell")  # type: ignore[method-assign]
    app.notify = lambda message, **_: said.append(message)  # type: ignore[method-assign,assignment]
    drive(app, "end", "right")
    assert said == ["bell", "t=3 is the last step"]


# ---- one unit, the diagram -------------------------------------------------------------------
def test_u_follows_one_unit_with_its_equations() -> None:
    app = three()
    text = drive(app, "right", "u", "u")
    run = app.deck.trace.first
    assert [run.quantity(q, 1)[0, 1] for q in ("f", "i", "g", "o", "c_prev", "c", "h")] == [
        36,
        22,
        22,
        2,
        16,
        1060,
        2120,
    ]
    assert "unit 2 of 3" in text
    assert "f₂[2] = x₂·W_f[:,2] + h₁·U_f[:,2] + b_f[2] = 3 + 32 + 1 = 36" in text
    assert "c₂[2] = f₂[2] · c₁[2] + i₂[2] · g₂[2] = 36 · 16 + 22 · 22 = 1060" in text
    assert "h₂[2] = o₂[2] · c₂[2] = 2 · 1060 = 2120" in text
    assert "i₂[1]" not in text and "i₂[3]" not in text  # only the unit followed


def test_u_cycles_and_a_number_picks() -> None:
    third, whole, second, still = screens(three(), ("u", "u", "u"), ("u",), ("2",), ("9",))
    assert "h₁[3] = o₁[3] · c₁[3] = 0 · 3 = 0" in third
    assert "= z₁   │" in whole and "unit" not in whole.splitlines()[1]  # after the last unit, the whole step
    assert "h₁[2] = o₁[2] · c₁[2] = 1 · 16 = 16" in second
    assert still == second  # there is no unit 9


def test_d_draws_the_cell_with_the_steps_numbers() -> None:
    drawn, back = screens(three(), ("right", "2", "d"), ("d",))
    assert "c₁[2] = 16 ─" in drawn
    assert "▶ c₂[2] = 1060" in drawn and "▶ h₂[2] = 2120" in drawn
    gates = next(line for line in drawn.splitlines() if "f 36" in line)
    assert gates.split() == ["f", "36", "i", "22", "g", "22", "o", "2"]
    assert "linear(c) 1060" in drawn  # act(c₂), read from the record
    assert "c₂[2] = f₂[2] · c₁[2] + i₂[2] · g₂[2] = 36 · 16 + 22 · 22 = 1060" in drawn
    assert "f₂[2] = x₂·W_f" not in drawn  # under the picture, only the state's equations
    assert "h₂[2] = o₂[2] · c₂[2] = 2 · 1060 = 2120" in back and "▶" not in back  # d again: unit 2's equations


def test_q_exits_with_0() -> None:
    app = three()
    screens(app, ("right",), ("q",))
    assert app.return_code == 0


def test_layers_and_batch_rows_switch_where_there_are_several() -> None:
    tr = traced("torch_bilstm.yaml")
    reverse, forward = screens(PresentApp(tr, Selection(batch=(0, 1))), ("l", "r"), ("l", "r"))
    assert "layer 1 reverse" in reverse and "batch row 2 of 2" in reverse
    assert "step t=1 of 4 · reads x₄ (reverse direction)" in reverse
    h = tr.runs[0][1].h[1, 1]  # the reverse direction's first step, batch row 2
    assert f"= [{h[0]:.4f} …]" in reverse  # one unit fits per block at 80 columns, elided after it
    assert "layer 1 forward" in forward and "batch row 1 of 2" in forward
    single = drive(three(), "l", "r")
    assert "layer 1 forward" in single and "batch row" not in single


def test_gru_unit_equations_fold_to_the_width() -> None:
    tr = traced("gru.yaml")
    text = drive(PresentApp(tr), "u")
    assert round(float(tr.first.h[1, 0, 0]), 4) == 0.4259
    assert "h₁[1] = z₁[1] · h₀[1] + (1 − z₁[1]) · n₁[1]\n       = 0.4013 · 0 + (1 − 0.4013) · 0.7114 = 0.4259" in text
    assert max(len(line) for line in text.splitlines()) <= 80


# ---- the backward pass -----------------------------------------------------------------------
# seed_backward by hand, from the forward values `run` prints (c₁ = h₁ = [0 0 0]; i₂ [0 -1 -1], f₂ [0 0 0],
# g₂ [0 -1 -2], o₂ [2 -1 0], c₂ [0 1 2]; f₃ [0 -2 -1], o₃ [0 -1 0], c₃ [0 2 2]) and U's rows
# (h[1]: i 1 0 0 | f 1 2 1 | g 0 1 2 | o 0 1 0; h[2]: 1 1 0 | 0 2 1 | 0 1 2 | 2 0 0; h[3]: 1 0 1 | 2 0 1 | 0 1 1 | 0 1 0):
#   t=3: δh₃ = δh_out₃ = [1 1 1] (each output row sends 1, no step comes after); δc₃ = δh₃ ⊙ o₃ = [0 -1 0];
#        δz₃ = (i) δc₃ ⊙ g₃ = [0 2 0], (f) δc₃ ⊙ c₂ = [0 -1 0], (g) δc₃ ⊙ i₃ = [0 2 0], (o) δh₃ ⊙ c₃ = [0 2 2];
#   t=2: δh₂[1] = δh_out₂[1] + Σⱼ δz₃[j]·U[1,j] = 1 + (f: -1·2 + g: 2·1 + o: 2·1) = 1 + 2 = 3; δh₂ = [3 3 5];
#        δc₂[1] = δh₂[1]·o₂[1]·1 + δc₃[1]·f₃[1] = 3·2 + 0·0 = 6, δc₂[2] = 3·(-1) + (-1)·(-2) = -1;
#        unit 2: δo₂[2] = δh₂[2]·c₂[2] = 3·1 = 3, δi₂[2] = δc₂[2]·g₂[2] = -1·(-1) = 1, δg₂[2] = δc₂[2]·i₂[2] = 1,
#        δf₂[2] = δc₂[2]·c₁[2] = 0, δlinear(c₂[2]) = δh₂[2]·o₂[2] = -3; δc₁[2] = 0 (Keras: dL/dc₁ = [10 0 0]).
BACKWARD = "seed_backward.yaml"


def test_b_shows_the_backward_pass_from_the_last_step() -> None:
    app = PresentApp(traced(BACKWARD))
    first, second, unit, forward = screens(app, ("b",), ("right",), ("u",), ("b",))
    back = app.deck.backs[0]
    assert back.dh[3, 0].tolist() == [1, 1, 1] and back.dh[2, 0].tolist() == [3, 3, 5]  # as worked above
    assert back.dc is not None and back.dc[2, 0].tolist() == [6, -1, 0]
    assert "keras LSTM(3) · layer 1 forward · backward pass" in first
    assert "L = Σ sequence = 0 + 0 + 0 + 0 − 1 + 0 + 0 − 2 + 0 = -3" in first
    assert "backward · step t=3 of 3" in first
    assert "δh₃ = δh_out₃ = [1 1 1]" in first and "δc₃ = δh₃ ⊙ o₃ ⊙ linear′(c₃) = [1·0·1, 1·(-1)·1, 1·0·1]" in first
    assert "backward · step t=2 of 3" in second  # → goes back in time
    assert "δh₂ = δh_out₂ + δz₃·Uᵀ = [1 + 2, 1 + 2, 1 + 4] = [3 3 5]" in second
    assert "= δz₂     │ 0  1  0 │  0  0  0 │       0  1  0 │ 0  3  10" in second
    assert "unit 1 of 3" in unit
    assert "δh₂[1] = δh_out₂[1] + Σⱼ δz₃[j]·U[1,j] = 1 + (-1·2 + 2·1 + 2·1) = 3" in unit
    assert "δc₂[1] = δh₂[1]·o₂[1]·linear′(c₂[1]) + δc₃[1]·f₃[1] = 3·2·1 + 0·0 = 6" in unit
    assert "δi₂[2]" not in unit  # only the unit followed
    assert "forward pass" in forward and "step t=2 of 3 · reads x₂" in forward  # b again: forward, the same step
    assert "h₂[1] = o₂[1] · c₂[1] = 2 · 0 = 0" in forward and "δ" not in forward


def test_the_backward_pass_runs_from_t_T_to_1_and_stops_there() -> None:
    app = PresentApp(traced(BACKWARD))
    said: list[str] = []
    app.bell = lambda: said.append("bell")  # type: ignore[method-assign]
    app.notify = lambda message, **_: said.append(message)  # type: ignore[method-assign,assignment]
    at_one, at_three, first, last = screens(app, ("b", "right", "right", "right"), ("left", "left", "left"),
                                            ("end", "home"), ("end",))  # fmt: skip
    assert "backward · step t=1 of 3" in at_one and "δh₁ = δh_out₁ + δz₂·Uᵀ = [1 + 4, 1 + 2, 1 + 4] = [5 3 5]" in at_one
    assert "backward · step t=3 of 3" in at_three and "backward · step t=3 of 3" in first
    assert "backward · step t=1 of 3" in last
    assert said == ["bell", "t=1 is the last step of the backward pass", "bell", "t=3 is the first step of the "
                    "backward pass"]  # fmt: skip


def test_d_draws_the_steps_deltas() -> None:
    drawn, unit_1 = screens(PresentApp(traced(BACKWARD)), ("b", "right", "2", "d"), ("1",))
    assert "backward pass · unit 2 of 3 · diagram" in drawn
    assert "δc₁[2] = 0 ◀─" in drawn and "─ δc₂[2] = -1" in drawn and "◀─── δh₂[2] = 3" in drawn
    gates = next(line for line in drawn.splitlines() if "δf 0" in line)
    assert gates.split() == ["δf", "0", "δi", "1", "δg", "1", "δo", "3"]
    sums = next(line for line in drawn.splitlines() if line.strip().startswith("δz"))
    assert sums.split() == ["δz", "0", "δz", "1", "δz", "1", "δz", "3"]  # linear: each δz is its gate's δ
    assert "δlinear(c) -3" in drawn
    assert "δh₁ = [5 3 5], δx₂ = [5 2]" in drawn  # Keras: dL/dh₁ = [5 3 5], dL/dx₂ = [5 2]
    assert "δc₂[2] = δh₂[2]·o₂[2]·linear′(c₂[2]) + δc₃[2]·f₃[2] = 3·(-1)·1 − 1·(-2) = -1" in drawn
    assert "δc₁[1] = 10 ◀─" in unit_1  # c₁'s δ holds its path through h₁ at step 1: δh₁[1]·o₁[1] = 5·2


def test_b_is_in_the_footer_only_with_a_backward_block() -> None:
    async def keys(app: PresentApp) -> list[str]:
        async with app.run_test(size=SIZE) as pilot:
            await pilot.press("b")  # does nothing without the block
            await pilot.pause()
            assert app.place.mode == ("backward" if app.deck.backs else "forward")
            return [str(key.key) for key in app.query_one(Footer).query("FooterKey")]

    assert "b" not in asyncio.run(keys(PresentApp(traced("seed.yaml"))))
    assert "b" in asyncio.run(keys(PresentApp(traced(BACKWARD))))


def test_a_gru_backward_unit_folds_to_the_width() -> None:
    """A GRU with 4-decimal δ's (a real Keras run's gradient fixture): every δ line fits 80 columns."""
    data, _ = read_fixture(FIXTURES / "gradients" / "keras_gru_reset_after.yaml")
    tr = lstm_trace.trace(lstm_trace.Scenario.from_dict(data))
    whole, unit = screens(PresentApp(tr), ("b",), ("u",))
    back = tr.gradients.runs[0][0]  # type: ignore[union-attr]
    t = back.run.steps
    assert f"backward · step t={t} of {t}" in whole
    assert f"δpre_n{sub(t)}[1] = δn{sub(t)}[1]·tanh′(pre_n{sub(t)}[1])" in unit
    assert f"= {back.dpre[t - 1, 0, back.run.cell.block('n')][0]:.4f}" in unit
    assert max(len(line) for line in whole.splitlines() + unit.splitlines()) <= 80


# ---- pieces without the app -------------------------------------------------------------------
def drawing(name: str, s: int = 0, k: int = 0, width: int = 78) -> str:
    console = Console(width=width, no_color=True, highlight=False)
    with console.capture() as capture:
        console.print(CellDrawing(traced(name).first, s, 0, k))
    return capture.get()


def test_gru_and_rnn_drawings() -> None:
    # gru.yaml step 1 unit 1: z 0.4013, r 0.4750, n 0.7114, h₁[1] = 0.4259 (as `run --explain` shows)
    gru = drawing("gru.yaml")
    assert "h₀[1] = 0 ─" in gru and "▶ h₁[1] = 0.4259" in gru and "(1−)" in gru
    assert next(line for line in gru.splitlines() if "z 0.4013" in line).split() == [
        "z",
        "0.4013",
        "r",
        "0.4750",
        "n",
        "0.7114",
    ]
    rnn = drawing("simplernn.yaml")
    tr = traced("simplernn.yaml")
    assert f"▶ h₁[1] = {tr.first.h[1, 0, 0]:.4f}" in rnn
    assert f"z {tr.first.pre[0, 0, 0]:.4f}" in rnn and "tanh" in rnn


def test_peephole_and_clip_notes() -> None:
    text = drawing("tf1_peepholes.yaml")
    assert "Peepholes add w ⊙ c₀ to i and f, and w ⊙ c₁ to o." in text and "(+) clips the sum to ±" in text


def test_a_drawing_too_wide_for_its_numbers_lists_them_under_it() -> None:
    """tf1_seed000 has 20 units: unit 20's labels and 4-decimal values make the picture 79 columns."""
    tr = traced("tf1_seed000.yaml")
    run, k = tr.first, tr.first.cell.units - 1
    wide = drawing("tf1_seed000.yaml", 1, k, width=100)
    assert f"▶ c₂[20] = {run.c[2, 0, k]:.4f}" in wide  # type: ignore[index]
    narrow = drawing("tf1_seed000.yaml", 1, k, width=78)
    assert max(len(line) for line in narrow.splitlines()) <= 78
    assert "▶ c₂[20]\n" in narrow and f"c₂[20] = {run.c[2, 0, k]:.4f}" in narrow  # type: ignore[index]
    assert f"f = {run.gate('f')[1, 0, k]:.4f}" in narrow and f"h₂[20] = {run.h[2, 0, k]:.4f}" in narrow


def test_fold_and_printable() -> None:
    assert fold("a = b = c", 80) == ["a = b = c"]
    assert fold("ab = long symbols = 1 + 2 = 3", 20) == ["ab = long symbols", "   = 1 + 2 = 3"]
    assert printable("a\x1b[31mred\x07") == "a�[31mred�"


def test_a_title_never_reaches_the_terminal_raw() -> None:
    tr = traced("seed.yaml")
    tr = replace(tr, scenario=replace(tr.scenario, title="evil\x1b]0;pwned\x07 [bold]x[/bold]"))
    console = Console(width=80, no_color=True)
    with console.capture() as capture:
        console.print(Deck(tr).header(Place()))
    out = capture.get()
    assert "\x1b" not in out and "\x07" not in out and "[bold]x[/bold]" in out


def test_elided_units_fit_one_screen() -> None:
    """Units that fit side by side, elided after them (u follows the rest); all of them where they fit."""
    deck = Deck(traced("keras_defaults.yaml"))  # 3 units of 4-decimal values: 95 columns side by side
    assert deck.builder(0, 78).units == [0, None]
    assert deck.builder(0, 200).units == [0, 1, 2]
    assert deck.builder(0, 40).units == [0, 1, 2]  # not even one fits: the terminal trace's stacked blocks


# ---- the command line -------------------------------------------------------------------------
def test_cli_bad_input_exits_2_before_the_app(tmp_path: Path) -> None:
    result = run_cli("present", str(tmp_path / "none.yaml"))
    assert result.exit_code == 2 and "does not exist" in result.stderr and "Traceback" not in result.stderr
    result = run_cli("present", str(THREE), "--units", "4")
    assert result.exit_code == 2 and "--units: 4 is beyond the last (3)" in result.stderr
    result = run_cli("present", str(THREE))  # click's runner is no terminal
    assert result.exit_code == 2 and "present needs a terminal" in result.stderr


def test_cli_help_lists_the_keys() -> None:
    out = run_cli("present", "--help").output
    keys = ("u  follow one unit", "d  the cell's diagram", "b  the backward pass", "q  quit")
    for text in ("--batch", "--units", "--precision", *keys):
        assert text in out


# ---- snapshots (80×24) -----------------------------------------------------------------------
@pytest.mark.parametrize(
    ("scenario", "keys"),
    [
        ("seed.yaml", ()),  # step 1 of 1: the table, c₁ = [0 4 1] and h₁ = [0 4 0] set off
        ("seed_three_steps.yaml", ("right", "right")),  # step 3: c₃ per unit, h₃ = [0 27084252 0]
        ("seed_three_steps.yaml", ("right", "2", "d")),  # unit 2 at step 2 drawn (c₁ 16, f 36, i 22, g 22, o 2,
        # c₂ 1060, h₂ 2120), its c and h equations under it
        ("gru.yaml", ("u",)),  # unit 1 of the GRU: z, r, n and h folded at their equals signs
        (BACKWARD, ("b", "right")),  # backward, t=2 of 3 (its bar two thirds full), L = -3 at the top: δh₂ =
        # [3 3 5], δc₂ = [6 -1 0] per unit, δi₂ δf₂ δg₂, the δ table with δz₂ = 0 1 0 | 0 0 0 | 0 1 0 | 0 3 10
    ],
    ids=["seed", "three-steps-at-3", "diagram", "gru-unit", "backward-at-2"],
)
def test_snapshot(snap_compare: Callable[..., bool], scenario: str, keys: tuple[str, ...]) -> None:
    assert snap_compare(PresentApp(traced(scenario)), press=keys, terminal_size=SIZE)
