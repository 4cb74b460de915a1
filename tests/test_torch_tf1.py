"""torch and tf1 conventions as the trace shows them, and their output shapes."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

import lstm_trace
from conftest import FIXTURES, SCENARIOS, read_fixture, run_cli, write_scenario
from lstm_trace.render.selection import Selection
from lstm_trace.render.terminal import render_text


def fixture_trace(framework: str, name: str) -> lstm_trace.Trace:
    data, _ = read_fixture(FIXTURES / framework / f"{name}.yaml")
    return lstm_trace.trace(lstm_trace.Scenario.from_dict(data))


def test_torch_output_shapes_follow_the_contract() -> None:
    tr = fixture_trace("torch", "lstm_two_layer_bidirectional_proj")  # L=2, D=2, H=4, P=3, B=2, T=4
    assert tr.outputs["sequence"].shape == (2, 4, 6)
    assert tr.outputs["h"].shape == (4, 2, 3)
    assert tr.outputs["c"].shape == (4, 2, 4)
    doc = run_cli("run", str(SCENARIOS / "torch_bilstm.yaml"), "--format", "json").json
    assert np.asarray(doc["outputs"]["h"]).shape == (2, 2, 3)
    assert [(s["layer"], s["direction"], s["t"], s["reads"]) for s in doc["steps"]][3:5] == [
        (1, "forward", 4, 4),
        (1, "reverse", 1, 4),
    ]


def test_tf1_output_shapes_follow_the_contract() -> None:
    tr = fixture_trace("tf1", "lstmcell_num_proj")  # U=4, P=2, B=3, T=4
    assert tr.outputs["sequence"].shape == (3, 4, 2)
    assert tr.outputs["h"].shape == (3, 2)
    assert tr.outputs["c"].shape == (3, 4)


def test_torch_trace_shows_the_translation() -> None:
    text = render_text(fixture_trace("torch", "lstm_two_layer_bidirectional_proj"), Selection(steps=(0,)), width=120)
    assert "torch weight_ih is (16, F): torch computes W·x; it is shown as x·Wᵀ" in text
    assert "torch: b = bias_ih + bias_hh; both are shown, as b_ih and b_hh." in text
    assert "+ b_ih" in text and "+ b_hh" in text
    assert "layer 1 · step t=1 · reads x₄ (reverse direction)" in text
    assert "layer 2 · step t=1 · reads x₁ = layer 1 forward h₁ ‖ layer 1 reverse h₄" in text
    assert "h₁ = m₁·W_hrᵀ = [" in text


def test_tf1_trace_shows_the_translation() -> None:
    text = render_text(lstm_trace.trace(lstm_trace.load(SCENARIOS / "tf1_peepholes.yaml")), width=140)
    assert "TF1 kernel: rows 1-2 multiply x, rows 3-5 multiply h" in text
    assert "forget_bias +1 is added to f at run time and is not stored in bias" in text
    assert "j→g candidate" in text and "+ w⊙c" in text and "+ forget_bias" in text
    assert "has ended" not in text  # batch row 1 runs all four steps
    masked = render_text(lstm_trace.trace(lstm_trace.load(SCENARIOS / "tf1_peepholes.yaml")), Selection(batch=(1,)))
    assert masked.count("batch row 2 has ended: its sequence length is 1, so nothing is computed at this step") == 3
    assert "its output row is zero" in masked
    assert "→ 0.4000" in text or "→ -0.4000" in text  # an active cell_clip shows before and after


def test_seed000_kernel_is_elided_legibly_by_default() -> None:
    tr = lstm_trace.trace(lstm_trace.load(SCENARIOS / "tf1_seed000.yaml"))
    text = render_text(tr, width=100)
    assert max(len(line) for line in text.splitlines()) <= 100
    assert "…" in text and "⋮" in text and "--full for all" in text
    assert "rows 1-30 multiply x, rows 31-50 multiply h" in text
    full = render_text(tr, Selection(full=True, steps=(0,), weights=False), width=100)
    assert "…" not in full.split("step t=1")[1].split("returns")[0]


def test_gru_tf1_blocks_and_equation() -> None:
    text = render_text(fixture_trace("tf1", "grucell_default"), width=140)
    assert "u→z update" in text and "c→n candidate" in text and "r reset" in text
    assert "r ⊙ h₀ = [" in text and "(r ⊙ h₀)·U" in text


def test_check_points_at_the_direction(tmp_path: Path) -> None:
    text = (SCENARIOS / "torch_bilstm.yaml").read_text()
    h = np.asarray(lstm_trace.trace(lstm_trace.load(SCENARIOS / "torch_bilstm.yaml")).outputs["h"]).copy()
    h[1, 0, 2] += 0.5
    wrong = text.split("expect:")[0] + f"expect:\n  h: {h.tolist()}\n"
    result = run_cli("check", str(write_scenario(tmp_path, wrong)), "--width", "140")
    assert result.exit_code == 1
    assert "first wrong: h₄[3] (layer 1 reverse, batch row 1)" in result.output


@pytest.mark.parametrize(
    ("framework", "layer", "config", "weights", "message"),
    [
        (
            "torch",
            "LSTM",
            "{hidden_size: 2}",
            "{weight_ih_l0: [[1]], wieght_hh_l0: [[1]]}",
            "unknown torch weight 'wieght_hh_l0'",
        ),
        (
            "torch",
            "LSTM",
            "{hidden_size: 1, bidirectional: true}",
            "{weight_ih_l0: [[1],[1],[1],[1]], weight_hh_l0: [[1],[1],[1],[1]], bias_ih_l0: [0,0,0,0], bias_hh_l0: [0,0,0,0]}",
            "missing weight weight_ih_l0_reverse",
        ),
        ("torch", "GRU", "{hidden_size: 1, num_layers: 1}", "{weight_ih_l1: [[1]]}", "does not belong to this layer"),
        (
            "tf1",
            "LSTMCell",
            "{num_units: 1, use_peepholes: true}",
            "{kernel: [[1,1,1,1],[1,1,1,1]], bias: [0,0,0,0]}",
            "missing variable 'w_i_diag'",
        ),
        (
            "tf1",
            "BasicLSTMCell",
            "{num_units: 1, dynamic_rnn: {sequence_lenght: [1]}}",
            "{kernel: [[1,1,1,1],[1,1,1,1]], bias: [0,0,0,0]}",
            "did you mean 'sequence_length'",
        ),
        (
            "tf1",
            "BasicLSTMCell",
            "{num_units: 1, dynamic_rnn: {sequence_length: [5]}}",
            "{kernel: [[1,1,1,1],[1,1,1,1]], bias: [0,0,0,0]}",
            "whole numbers from 0 to T=1",
        ),
        (
            "tf1",
            "GRUCell",
            "{num_units: 1}",
            "{gates/kernel: [[1,1]], gates/bias: [0,0], candidate/kernel: [[1],[1]], candidate/bias: [0]}",
            "shape (2, 2)",
        ),
    ],
)
def test_torch_and_tf1_errors(
    tmp_path: Path, framework: str, layer: str, config: str, weights: str, message: str
) -> None:
    text = f"framework: {framework}\nlayer: {layer}\nconfig: {config}\nweights: {weights}\ninputs: [[1]]\n"
    result = run_cli("run", str(write_scenario(tmp_path, text)))
    assert result.exit_code == 2, result.output
    assert message in result.stderr, result.stderr
