"""Markdown handouts show what the terminal shows: the weights panel and the x·W (and h·U) expansions."""

from __future__ import annotations

from pathlib import Path

import lstm_trace
from conftest import SCENARIOS, run_cli
from lstm_trace.render.markdown import render_markdown
from lstm_trace.render.selection import Selection

GOLDEN = Path(__file__).parent / "golden"


def _markdown(name: str, *args: str) -> str:
    result = run_cli("run", str(SCENARIOS / name), "--format", "markdown", *args)
    assert result.exit_code == 0, result.stderr
    return result.output


def test_seed_handout_matches_the_golden_file() -> None:
    # tests/golden/seed_handout.md, read and checked by hand against scenarios/seed.yaml:
    # the weights panel repeats kernel rows x[1] = [2 1 1 | 0 0 0 | 0 1 1 | 0 1 0] and
    # x[2] = [1 1 0 | 1 1 0 | 0 1 1 | 0 0 0], the three recurrent_kernel rows and bias
    # [3 1 0 | 1 1 0 | 0 1 0 | 2 0 0], block by block as Keras stores them (c is g);
    # x₁ = [1 0], so x₁·W = 1 × row 1 + 0 × row 2 = row 1; z₁ = x₁·W + b = [5 2 1 | 1 1 0 | 0 2 1 | 2 1 0];
    # linear gates, so c₁ = f ⊙ 0 + i ⊙ g = [5·0, 2·2, 1·1] = [0 4 1] and h₁ = o ⊙ c₁ = [2·0, 1·4, 0·1] = [0 4 0].
    assert _markdown("seed.yaml") == (GOLDEN / "seed_handout.md").read_text(encoding="utf-8")


def test_no_weights_leaves_out_the_panel_only() -> None:
    with_panel = _markdown("seed.yaml")
    without = _markdown("seed.yaml", "--no-weights")
    assert "### weights: x rows from kernel, h rows from recurrent_kernel" in with_panel
    assert "weights:" not in without and "| x[1] |" not in without
    assert "x₁·W = 1 × [2 1 1 │ 0 0 0 │ 0 1 1 │ 0 1 0]" in without  # the expansion is not the panel
    panel_start = with_panel.index("### weights")
    panel_end = with_panel.index("### step t=1")
    assert with_panel[:panel_start] + with_panel[panel_end:] == without


def test_h_times_u_expansion_where_the_terminal_shows_it() -> None:
    # seed weights over three steps: h₁ = [0 16 0], so h₁·U = 16 × recurrent_kernel row 2
    plain = _markdown("seed_three_steps.yaml", "--steps", "2", "--no-weights")
    explained = _markdown("seed_three_steps.yaml", "--steps", "2", "--no-weights", "--explain")
    x_lines = ["x₂·W = 2 × [2 1 1 │ 0 0 0 │ 0 1 1 │ 0 1 0]", "     + 3 × [1 1 0 │ 1 1 0 │ 0 1 1 │ 0 0 0]"]
    h_lines = [
        "h₁·U = 0 × [1 0 0 │ 1 2 1 │ 0 1 2 │ 0 1 0]",
        "     + 16 × [1 1 0 │ 0 2 1 │ 0 1 2 │ 2 0 0]",
        "     + 0 × [1 0 1 │ 2 0 1 │ 0 1 1 │ 0 1 0]",
    ]
    assert "\n".join(["```", *x_lines, "```"]) in plain and "h₁·U = " not in plain
    assert "\n".join(["```", *x_lines, *h_lines, "```"]) in explained
    assert "| + h₁·U | 16 | 16 | 0 | 0 | 32 | 16 | 0 | 16 | 32 | 32 | 0 | 0 |" in explained  # 16 × row 2


def test_terminal_and_markdown_expand_the_same_lines() -> None:
    terminal = run_cli("run", str(SCENARIOS / "seed_three_steps.yaml"), "--steps", "3", "--explain", "--width", "120")
    markdown = _markdown("seed_three_steps.yaml", "--steps", "3", "--explain")
    expansion = [line for line in terminal.output.splitlines() if " × [" in line]
    assert len(expansion) == 5  # x₃·W over 2 features, h₂·U over 3 units
    for line in expansion:
        assert f"\n{line}\n" in markdown


def test_every_direction_gets_its_panel_and_wide_inputs_no_expansion() -> None:
    md = "\n".join(render_markdown(lstm_trace.trace(lstm_trace.load(SCENARIOS / "torch_bilstm.yaml"))))
    assert "### layer 1 forward · weights: x rows from weight_ih, h rows from weight_hh" in md
    assert "### layer 1 reverse · weights: x rows from weight_ih, h rows from weight_hh" in md
    wide = lstm_trace.load(SCENARIOS / "tf1_seed000.yaml")  # 30 input features: no x·W expansion, as on a terminal
    lines = list(render_markdown(lstm_trace.trace(wide), Selection(steps=(0,), weights=False)))
    assert not any("·W = " in line for line in lines) and "```" not in lines
