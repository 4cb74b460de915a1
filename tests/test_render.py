"""Renderers at fixed widths, without colour: what they show, and that wide layers stay legible."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

import lstm_trace
from conftest import SCENARIOS, SEED, run_cli
from lstm_trace.render.markdown import render_markdown
from lstm_trace.render.numbers import array_text, num, pick_units, vec
from lstm_trace.render.selection import Selection
from lstm_trace.render.terminal import render_text
from lstm_trace.yamlio import parse_yaml


@pytest.mark.parametrize(
    ("value", "text"),
    [(4.0, "4"), (-3.0, "-3"), (27084252.0, "27084252"), (0.5, "0.5000"), (0.76159, "0.7616"), (1e-9, "1.0000e-09"),
     (123456789.5, "1.2346e+08"), (float("nan"), "nan"), (float("-inf"), "-inf"), (-0.0, "0")],
)  # fmt: skip
def test_number_formatting(value: float, text: str) -> None:
    assert num(value, 4) == text


def test_vectors_and_arrays() -> None:
    assert vec(np.array([0.0, 4.0, 1.0])) == "[0 4 1]"
    assert vec(np.arange(10.0), shown=pick_units(10, 4)) == "[0 1 … 8 9]"
    assert array_text(np.arange(20.0).reshape(2, 10)) == "[[0 1 2 … 7 8 9], [10 11 12 … 17 18 19]]"


def wide_scenario(units: int = 20, features: int = 30, steps: int = 3) -> lstm_trace.Scenario:
    rng = np.random.default_rng(7)
    data = {
        "layer": "LSTM",
        "units": units,
        "kernel": rng.uniform(-1, 1, (features, 4 * units)).round(3).tolist(),
        "recurrent_kernel": rng.uniform(-1, 1, (units, 4 * units)).round(3).tolist(),
        "bias": rng.uniform(-1, 1, 4 * units).round(3).tolist(),
        "inputs": rng.normal(size=(2, steps, features)).round(3).tolist(),
    }
    return lstm_trace.Scenario.from_dict(data)


def table_blocks(text: str) -> list[list[str]]:
    """Consecutive lines that belong to one gate table (they contain the column rule │)."""
    blocks, current = [], []
    for line in text.splitlines():
        if "│" in line or "┼" in line:
            current.append(line)
        elif current:
            blocks.append(current)
            current = []
    return blocks


@pytest.mark.parametrize("width", [40, 60, 80, 100, 140, 240])
def test_wide_layer_fits_every_width_without_garbling(width: int) -> None:
    text = render_text(lstm_trace.trace(wide_scenario()), width=width)
    for line in text.splitlines():
        assert len(line) <= width, f"{len(line)} > {width}: {line!r}"
    tables = table_blocks(text)
    assert tables
    for table in tables:
        separators = {line.count("│") + line.count("┼") for line in table}
        assert len(separators) == 1, table  # every row has the same columns: nothing wrapped
    assert "units shown: 1, 2" in text and "…" in text and "--full" in text


def test_full_shows_every_unit() -> None:
    tr = lstm_trace.trace(wide_scenario())
    text = render_text(tr, Selection(full=True, steps=(0,)), width=80)
    z_rows = [line for line in text.splitlines() if line.startswith("= z₁")]
    assert "units shown" not in text
    assert sum(len(cell.split()) for row in z_rows for cell in row.split("│")[1:]) == 80  # 4 blocks × 20 units


def test_units_selection_labels_and_values() -> None:
    tr = lstm_trace.trace(wide_scenario())
    text = render_text(tr, Selection(units=(0, 2), steps=(1,)), width=200)
    z_row = next(line for line in text.splitlines() if line.startswith("= z₂"))
    run = tr.first
    expected_i = [num(run.pre[1, 0, k], 4) for k in (0, 2)]
    assert z_row.split("│")[1].split() == expected_i
    assert "step t=2" in text and "step t=1 " not in text


def test_batch_selection_and_notice() -> None:
    tr = lstm_trace.trace(wide_scenario(units=2, features=2, steps=1))
    assert "showing batch row 1 of 2" in render_text(tr, width=100)
    text = render_text(tr, Selection(batch=(1,)), width=100)
    assert "batch row 2" in text and "batch row 1 ·" not in text


def test_go_backwards_reads_from_the_end() -> None:
    data = parse_yaml(
        SEED.replace("[[[1, 0]]]", "[[[1, 0], [0, 1]]]").replace("units: 3,", "units: 3, go_backwards: true,")
    )
    text = render_text(lstm_trace.trace(lstm_trace.Scenario.from_dict(data)), width=100)
    assert "step t=1 · reads x₂" in text and "step t=2 · reads x₁" in text
    assert "go_backwards=True" in text


def test_gru_shows_its_own_equation() -> None:
    text = render_text(lstm_trace.trace(lstm_trace.load(SCENARIOS / "gru.yaml")), width=120)
    assert "z update" in text and "r reset" in text and "h→n candidate" in text
    assert "h₁ = z ⊙ h₀ + (1 − z) ⊙ n" in text
    assert "r⊙(h₀·U+b_rec)" in text
    assert "= pre₁" in text and "= z₁" not in text  # z is the GRU's update gate, not its sum


def test_simplernn_equation() -> None:
    text = render_text(lstm_trace.trace(lstm_trace.load(SCENARIOS / "simplernn.yaml")), width=100)
    assert "h₁ = tanh(z₁) = [" in text and "h h state" not in text


def test_returns_follow_the_config() -> None:
    tr = lstm_trace.trace(lstm_trace.load(SCENARIOS / "seed_homework.yaml"))  # no return_* options
    text = render_text(tr, width=100)
    assert "returns (return_sequences=False, return_state=False)" in text
    assert "[output (1, 3)]" in text and "output = [[0 4 0]]" in text


def test_inert_options_listed_with_reasons() -> None:
    data = parse_yaml(SEED.replace("units: 3,", "units: 3, dropout: 0.5, unroll: true, implementation: 2,"))
    data["framework"] = "keras2"
    text = render_text(lstm_trace.trace(lstm_trace.Scenario.from_dict(data)), width=100)
    assert "no effect on this trace:" in text
    assert "dropout: acts only in training" in text
    assert "unroll, implementation: changes speed, not numbers" in text


def test_markdown_pipe_tables(seed_path: Path) -> None:
    lines = list(render_markdown(lstm_trace.trace(lstm_trace.load(seed_path))))
    assert "| = z₁ | 5 | 2 | 1 | 1 | 1 | 0 | 0 | 2 | 1 | 2 | 1 | 0 |" in lines
    header = next(line for line in lines if line.startswith("|  | i[1]"))
    assert "g[1] (c)" in header and header.count("|") == 14
    assert "- `h₁ = o ⊙ linear(c₁) = [2·0, 1·4, 0·1] = [0 4 0]`" in lines


def test_json_obeys_the_contract(seed_path: Path) -> None:
    doc = run_cli("run", str(seed_path), "--format", "json").json
    assert doc["outputs"] == {"sequence": [[[0, 4, 0]]], "h": [[0, 4, 0]], "c": [[0, 4, 1]]}
    assert doc["gates"] == {"canonical": ["i", "f", "g", "o"], "native": ["i", "f", "c", "o"]}
    (step,) = doc["steps"]
    assert step["t"] == 1 and step["reads"] == 1 and step["layer"] == 1 and step["direction"] == "forward"
    assert step["pre"] == [[5, 2, 1, 1, 1, 0, 0, 2, 1, 2, 1, 0]]  # every pre-activation, Keras column order
    assert step["gates"]["g"] == {
        "native": "c",
        "activation": "linear",
        "terms": ["xW", "hU", "b"],
        "pre": [[0, 2, 1]],
        "act": [[0, 2, 1]],
    }
    assert step["native_gates"]["c"]["canonical"] == "g"
    assert step["c"] == [[0, 4, 1]] and step["h"] == [[0, 4, 0]] and step["h_prev"] == [[0, 0, 0]]


def test_json_float32_digits_and_shapes() -> None:
    tr = lstm_trace.trace(lstm_trace.load(SCENARIOS / "keras_defaults.yaml"))
    from lstm_trace.render.jsonout import iter_json

    doc = json.loads("".join(iter_json(tr)))
    assert np.asarray(doc["outputs"]["sequence"]).shape == (1, 10, 3)
    assert np.asarray(doc["outputs"]["h"]).shape == (1, 3)
    assert len(doc["steps"]) == 10
    np.testing.assert_array_equal(np.float32(doc["outputs"]["h"]), tr.outputs["h"])  # digits read back exactly


def long_scenario(steps: int = 40) -> lstm_trace.Scenario:
    data = parse_yaml(SEED)
    data["inputs"] = [[1.0, 0.5]] * steps
    data["config"] = {"units": 3}  # tanh and sigmoid keep a long run finite
    return lstm_trace.Scenario.from_dict(data)


def test_long_traces_show_a_summary_by_default() -> None:
    text = render_text(lstm_trace.trace(long_scenario()), Selection(weights=False), width=100)
    headings = [line.split(" ─")[0] for line in text.splitlines() if line.startswith("step t=")]
    assert headings == ["step t=1 · reads x₁", "step t=2 · reads x₂", "step t=40 · reads x₄₀"]
    assert "40 steps: showing steps 1, 2, 40 in full and all steps at a glance" in text
    glance = text.split("all 40 steps at a glance")[1].splitlines()
    rows = {line.split()[0]: line for line in glance[1:8] if line.strip()}
    assert set(rows) >= {"i", "f", "c→g", "o", "c", "h"}
    assert all(len(line) <= 100 for line in text.splitlines())


def test_steps_all_shows_every_step() -> None:
    tr = lstm_trace.trace(long_scenario())
    sel = Selection(steps=(-1,), weights=False).checked(40, 1, 3)
    text = render_text(tr, sel, width=100)
    assert sum(line.startswith("step t=") for line in text.splitlines()) == 40
    assert "at a glance" not in text


def test_terminal_streams_part_by_part() -> None:
    from lstm_trace.render.terminal import StepPanel, TraceView

    parts = TraceView(lstm_trace.trace(long_scenario(400)), Selection(steps=(-1,), weights=False).checked(400, 1, 3))
    panels = (part for part in parts.parts(100) if isinstance(part, StepPanel))
    assert next(panels).view.heading.startswith("step t=1")  # produced lazily, one step at a time


def test_closed_and_open_gates_stand_out_in_colour() -> None:
    from lstm_trace.render.grid import Grid
    from lstm_trace.render.views import StepBuilder

    run = lstm_trace.trace(lstm_trace.load(SCENARIOS / "keras_defaults.yaml")).first
    view = StepBuilder(run, [0, 1, 2]).step(9, 0)
    gate_line = next(line for line in Grid(view, [1]).lines() if line.plain.startswith("= gate"))  # f forget
    styled = {gate_line.plain[span.start : span.end]: str(span.style) for span in gate_line.spans}
    f = run.gate("f")[9, 0]
    assert f[0] < 0.05 and f[2] > 0.95  # unit 1's forget gate is shut, unit 3's wide open
    assert styled[num(f[0], 4)] == "dim" and styled[num(f[2], 4)] == "bold bright_white"
    assert f[1] < 0.05 and styled[num(f[1], 4)] == "dim"


def test_explain_with_a_projection_writes_h_for_its_p_units_only(tmp_path: Path) -> None:
    """torch proj_size=3 under hidden_size=4: unit 4 of the cell has m₁[4] but no h₁[4] (h has 3 units)."""
    from conftest import FIXTURES, read_fixture
    from lstm_trace.scenario_text import scenario_text

    data, _ = read_fixture(FIXTURES / "torch" / "lstm_two_layer_bidirectional_proj_float64_state.yaml")
    path = tmp_path / "proj.yaml"
    path.write_text(scenario_text(data))
    result = run_cli("run", str(path), "--explain", "--steps", "1", "--units", "3,4", "--width", "200")
    assert result.exit_code == 0, result.output
    assert "h₁[3] = m₁·W_hrᵀ[:,3] = " in result.output
    assert "m₁[4] = o₁[4] · tanh(c₁[4])" in result.output and "h₁[4]" not in result.output
