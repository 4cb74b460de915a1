"""ONNX: its attributes, shown and explained, and its mistakes refused (values: tests/fixtures/onnx)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import yaml
from test_errors import refused

import lstm_trace
from conftest import FIXTURES, SCENARIOS, run_cli, write_scenario

SEED_ONNX = (SCENARIOS / "onnx_seed.yaml").read_text(encoding="utf-8")


def fixture_scenario(tmp_path: Path, name: str, **changes: object) -> Path:
    """A fixture as a scenario file, its reference dropped and `changes` merged into its top level."""
    data = yaml.safe_load((FIXTURES / "onnx" / f"{name}.yaml").read_text(encoding="utf-8"))
    del data["reference"]
    for key, value in changes.items():
        if isinstance(value, dict) and isinstance(data.get(key), dict):
            data[key] = {**data[key], **value}
        else:
            data[key] = value
    return write_scenario(tmp_path, yaml.safe_dump(data, default_flow_style=None))


def test_seed_as_an_onnx_node_lands_on_the_seed_numbers() -> None:
    # worked by hand in scenarios/seed.yaml: z = [5 2 1 | 1 1 0 | 0 2 1 | 2 1 0] canonically, c = f·0 + i·g
    tr = lstm_trace.trace(lstm_trace.load(SCENARIOS / "onnx_seed.yaml"))
    assert tr.outputs["h"].tolist() == [[[0, 4, 0]]]  # Y_h (D, B, H)
    assert tr.outputs["c"].tolist() == [[[0, 4, 1]]]
    assert tr.outputs["sequence"].shape == (1, 1, 1, 3)  # Y (T, D, B, H)
    assert tr.first.pre[0, 0].tolist() == [5, 2, 1, 1, 1, 0, 0, 2, 1, 2, 1, 0]
    assert [name for name, _ in tr.returns] == ["Y", "Y_h", "Y_c"]


def test_weights_shown_in_onnx_block_order(seed_path: Path) -> None:
    out = run_cli("run", str(SCENARIOS / "onnx_seed.yaml"), "--width", "100").output
    assert "blocks i|o|f|c" in out
    assert "│ i input │ o output │ f forget │ c→g candidate" in out
    assert "h₁ = o ⊙ affine(c₁) = [2·0, 1·4, 0·1] = [0 4 0]" in out


def test_clip_is_a_row_of_its_own(tmp_path: Path) -> None:
    out = run_cli("run", str(fixture_scenario(tmp_path, "lstm_input_forget_peepholes_clip")), "--width", "150").output
    run = lstm_trace.trace(lstm_trace.load(fixture_scenario(tmp_path, "lstm_input_forget_peepholes_clip"))).first
    assert run.pre_clipped is not None
    assert np.abs(run.pre_clipped).max() == pytest.approx(0.4)
    assert np.abs(run.pre).max() > 0.4  # the clip acted
    assert "clip ±0.4 │" in out
    assert "1 − i" in out  # input_forget: the f column's activation
    np.testing.assert_allclose(run.gate("f"), 1 - run.gate("i"), rtol=0, atol=1e-7)


def test_output_activation_is_onnx_h(tmp_path: Path) -> None:
    out = run_cli("run", str(fixture_scenario(tmp_path, "lstm_activations")), "--width", "150").output
    assert "= o ⊙ scaled_tanh(c₁)" in out
    assert "h = scaled_tanh (1.5·tanh(0.7·x))" in out  # alpha and beta taken in list order
    assert "g = leaky_relu (x if x ≥ 0 else 0.1·x)" in out


def test_check_explains_clip_and_coupled_forget(tmp_path: Path) -> None:
    path = fixture_scenario(tmp_path, "lstm_input_forget_peepholes_clip")
    run = lstm_trace.trace(lstm_trace.load(path)).first
    wrong_f = (run.gate("f")[0] + 0.25).tolist()  # (B, H) at t = 1
    wrong_i = (run.gate("i")[0] + 0.25).tolist()
    text = path.read_text(encoding="utf-8") + f"expect:\n  steps:\n    1: {{f: {wrong_f}}}\n"
    result = run_cli("check", str(write_scenario(tmp_path, text, "f.yaml")), "--width", "200")
    assert result.exit_code == 1
    assert "f₁[1] = 1 − i₁[1] = 1 − " in result.output
    text = path.read_text(encoding="utf-8") + f"expect:\n  steps:\n    1: {{i: {wrong_i}}}\n"
    result = run_cli("check", str(write_scenario(tmp_path, text, "i.yaml")), "--width", "200")
    assert result.exit_code == 1
    assert (
        "i₁[1] = σ(clip(x₁·W_i[:,1] + h₀·U_i[:,1] + Wb_i[1] + Rb_i[1] + w_i[1]·c₀[1], ±0.4)) = σ(clip(" in result.output
    )


def test_json_steps_carry_the_clipped_sums(tmp_path: Path) -> None:
    result = run_cli(
        "run", str(fixture_scenario(tmp_path, "gru_linear_before_reset_bidirectional_clip")), "--format", "json"
    )
    data = result.json
    step = data["steps"][0]
    assert set(step["gates"]) == {"z", "r", "n"}
    clipped = np.array(step["gates"]["z"]["clipped"])
    assert np.abs(clipped).max() <= 0.5
    np.testing.assert_allclose(clipped, np.clip(step["gates"]["z"]["pre"], -0.5, 0.5), rtol=0, atol=0)
    assert np.array(data["outputs"]["sequence"]).shape == (4, 2, 3, 3)  # Y (T, D, B, H)


def test_layout_1_shapes(tmp_path: Path) -> None:
    tr = lstm_trace.trace(lstm_trace.load(fixture_scenario(tmp_path, "lstm_layout1")))
    assert tr.outputs["sequence"].shape == (3, 4, 1, 3)  # Y (B, T, D, H)
    assert tr.outputs["h"].shape == (3, 1, 3)  # Y_h (B, D, H)


def test_reverse_direction_past_a_rows_length(tmp_path: Path) -> None:
    out = run_cli(
        "run", str(fixture_scenario(tmp_path, "rnn_bidirectional_sequence_lens")), "--batch", "2", "--width", "120"
    ).output
    assert "x₄ lies past batch row 2's sequence length 1" in out
    assert "the reverse direction starts at x₁" in out


def test_row_of_length_0_returns_zero_states(tmp_path: Path) -> None:
    tr = lstm_trace.trace(lstm_trace.load(fixture_scenario(tmp_path, "lstm_sequence_lens")))
    assert tr.outputs["h"][0, 2].tolist() == [0, 0, 0]
    assert tr.first.h[-1, 2].tolist() != [0, 0, 0]  # the trace itself carries the initial state through


@pytest.mark.parametrize(
    ("old", "new", "parts"),
    [
        (
            "activations: [Affine, Affine, Affine]",
            "activations: [Affine, Affine]",
            ("activations must list 3 functions", "f, g, h for each of 1 direction", "found:    2"),
        ),
        ("activations: [Affine, Affine, Affine]", "activations: [Sigmod, Tanh, Tanh]", ("did you mean 'Sigmoid'",)),
        ("hidden_size: 3", "hidden_size: 3\n  direction: backward", ("unknown direction 'backward'", "bidirectional")),
        (
            "hidden_size: 3",
            "hidden_size: 3\n  linear_before_reset: 1",
            ("unknown ONNX LSTM attribute 'linear_before_reset'",),
        ),
        ("hidden_size: 3", "hidden_size: 3\n  clip: -1", ("clip must be a positive number", "config.clip")),
        ("hidden_size: 3", "hidden_size: 3\n  clip: .nan", ("clip must be a positive number", "found:    nan")),
        ("hidden_size: 3", "hidden_size: 3\n  layout: 2", ("layout must be 0 or 1",)),
        ("hidden_size: 3", "hidden_size: 3\n  input_forget: true", ("input_forget must be 0 or 1",)),
        (
            "hidden_size: 3",
            "hidden_size: 3\n  sequence_lens: [2]",
            ("sequence_lens must give each batch row's length", "from 0 to T=1"),
        ),
        ("  R:", "  Q:", ("unknown ONNX input 'Q'", "weights.Q")),
        ("activation_beta: [0, 0, 0]", "activation_beta: [0, zero, 0]", ("activation_beta must be a list of numbers",)),
    ],
)
def test_onnx_mistakes_are_refused(tmp_path: Path, old: str, new: str, parts: tuple[str, ...]) -> None:
    assert old in SEED_ONNX
    refused(write_scenario(tmp_path, SEED_ONNX.replace(old, new, 1)), *parts)


def test_w_without_its_direction_axis_gets_a_hint(tmp_path: Path) -> None:
    data = yaml.safe_load(SEED_ONNX)
    data["weights"]["W"] = data["weights"]["W"][0]  # (12, 2), as one direction
    refused(
        write_scenario(tmp_path, yaml.safe_dump(data, default_flow_style=None)),
        "weights.W",
        "shape (1, 12, 2): D=1 × 4·hidden_size=12 × F=2",
        "found:    shape (12, 2)",
        "write it as shape (1, 12, 2)",
    )


def test_initial_state_shape_follows_layout(tmp_path: Path) -> None:
    data = yaml.safe_load((FIXTURES / "onnx" / "lstm_layout1.yaml").read_text(encoding="utf-8"))
    del data["reference"]
    data["initial_state"]["initial_h"] = np.zeros((1, 3, 3)).tolist()  # layout 0's (D, B, H)
    refused(write_scenario(tmp_path, yaml.safe_dump(data)), "initial_state.initial_h", "B=3 × D=1 × H=3 (layout 1)")


def test_check_finds_the_wrong_row_of_a_layout_1_state(tmp_path: Path) -> None:
    path = fixture_scenario(tmp_path, "lstm_layout1")
    h = lstm_trace.trace(lstm_trace.load(path)).outputs["h"]  # Y_h (B=3, D=1, H=3)
    wrong = h.copy()
    wrong[2, 0, 1] += 0.5
    text = path.read_text(encoding="utf-8") + f"expect:\n  h: {wrong.tolist()}\n"
    result = run_cli("check", str(write_scenario(tmp_path, text, "h.yaml")), "--width", "200")
    assert result.exit_code == 1
    assert "first wrong: h₄[2] (layer 1 forward, batch row 3)" in result.output


def test_hidden_size_may_be_left_to_r(tmp_path: Path) -> None:
    text = SEED_ONNX.replace("  hidden_size: 3\n", "")
    tr = lstm_trace.trace(lstm_trace.load(write_scenario(tmp_path, text)))
    assert tr.outputs["h"].tolist() == [[[0, 4, 0]]]  # R (1, 12, 3) says H = 3


def test_bidirectional_needs_two_directions_of_weights(tmp_path: Path) -> None:
    data = yaml.safe_load(SEED_ONNX)
    config = data["config"]
    config["direction"] = "bidirectional"
    for key in ("activations", "activation_alpha", "activation_beta"):
        config[key] = config[key] * 2
    text = yaml.safe_dump(data, default_flow_style=None)
    refused(write_scenario(tmp_path, text), "weights.W", "shape (2, 12, 2): D=2 × 4·hidden_size=12 × F=2")
