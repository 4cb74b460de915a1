"""`lstm-trace convert`: layouts checked against the frameworks' documented ones, every fixture converted or
refused with reasons, and the file written reads back to the same layer.

The layout facts below are the frameworks' own (SCENARIO.md, "Weights, per framework"), checked on the seed,
whose integer weights make every column recognisable: Keras's kernel (F, 4U) has column blocks i f c o;
torch's weight_ih (4U, F) has row blocks i f g o; ONNX's W (1, 4U, F) row blocks i o f c; TF1's kernel
(F + U, 4U) stacks the kernel over the recurrent kernel with column blocks i j f o.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

import lstm_trace
from conftest import FIXTURES, ROOT, read_fixture
from lstm_trace.convert import CannotExpress, convert
from lstm_trace.scenario_text import scenario_text
from lstm_trace.yamlio import parse_yaml

SEED = ROOT / "scenarios" / "seed.yaml"
TARGETS = ("keras", "keras2", "torch", "tf1", "onnx")
FORWARD = sorted(p for fw in ("keras", "keras2", "torch", "tf1", "onnx") for p in (FIXTURES / fw).glob("*.yaml"))


def _seed(**changes: object) -> lstm_trace.Scenario:
    """The seed, its config's activations replaced by `changes`."""
    data = dict(parse_yaml(SEED.read_text(), SEED))
    data["config"] = {**data["config"], **changes}
    return lstm_trace.Scenario.from_dict(data, source=SEED)


def test_seed_to_onnx_reorders_rows_i_o_f_c() -> None:
    source = _seed(activation="tanh", recurrent_activation="sigmoid")
    data = convert(source, "onnx").data
    kernel = np.asarray(source.data["weights"]["kernel"], np.float32)  # (2, 12): i | f | c | o, 3 columns each
    i, f, c, o = (kernel[:, 3 * k : 3 * k + 3].T for k in range(4))
    np.testing.assert_array_equal(data["weights"]["W"][0], np.vstack([i, o, f, c]))
    bias = np.asarray(source.data["weights"]["bias"], np.float32)  # [3 1 0 | 1 1 0 | 0 1 0 | 2 0 0]
    # B = [Wb; Rb] with the bias on the input side, blocks i o f c: [3 1 0, 2 0 0, 1 1 0, 0 1 0] then zeros
    np.testing.assert_array_equal(data["weights"]["B"][0], [3, 1, 0, 2, 0, 0, 1, 1, 0, 0, 1, 0] + [0] * 12)
    assert bias.shape == (12,)
    assert "activations" not in data["config"]  # sigmoid, tanh, tanh: ONNX's defaults, left implicit


def test_seed_linear_to_onnx_is_affine_one_zero() -> None:
    data = convert(_seed(), "onnx").data  # the seed's activations are linear (null)
    assert data["config"]["activations"] == ["Affine", "Affine", "Affine"]
    assert data["config"]["activation_alpha"] == [1.0, 1.0, 1.0]
    assert data["config"]["activation_beta"] == [0.0, 0.0, 0.0]


def test_seed_to_tf1_stacks_kernels_i_j_f_o_with_forget_bias_zero() -> None:
    source = _seed(activation="tanh", recurrent_activation="sigmoid")
    data = convert(source, "tf1").data
    assert data["layer"] == "BasicLSTMCell" and data["config"]["forget_bias"] == 0.0
    w = np.asarray(source.data["weights"]["kernel"], np.float32)
    u = np.asarray(source.data["weights"]["recurrent_kernel"], np.float32)
    both = np.vstack([w, u])  # (5, 12)
    i, f, c, o = (both[:, 3 * k : 3 * k + 3] for k in range(4))
    np.testing.assert_array_equal(data["weights"]["kernel"], np.hstack([i, c, f, o]))


def test_seed_to_torch_transposes_and_keeps_i_f_g_o() -> None:
    source = _seed(activation="tanh", recurrent_activation="sigmoid")
    data = convert(source, "torch").data
    w = np.asarray(source.data["weights"]["kernel"], np.float32)
    np.testing.assert_array_equal(data["weights"]["weight_ih_l0"], w.T)
    np.testing.assert_array_equal(data["weights"]["bias_ih_l0"], source.data["weights"]["bias"])
    np.testing.assert_array_equal(data["weights"]["bias_hh_l0"], np.zeros(12))
    assert data["config"] == {"input_size": 2, "hidden_size": 3, "num_layers": 1, "bias": True, "batch_first": True,
                              "bidirectional": False}  # fmt: skip


def test_torch_gru_to_keras_keeps_both_biases_in_keras_rows_z_r_h() -> None:
    data, _ = read_fixture(FIXTURES / "torch" / "gru_batch_first.yaml")
    source = lstm_trace.Scenario.from_dict(data)
    out = convert(source, "keras").data
    b_ih, b_hh = (np.asarray(data["weights"][f"rnn.bias_{k}_l0"], np.float32) for k in ("ih", "hh"))
    r, z, n = (slice(0, 2), slice(2, 4), slice(4, 6))  # torch's rows r | z | n; Keras's columns z | r | h
    np.testing.assert_array_equal(out["weights"]["bias"][0], np.concatenate([b_ih[z], b_ih[r], b_ih[n]]))
    np.testing.assert_array_equal(out["weights"]["bias"][1], np.concatenate([b_hh[z], b_hh[r], b_hh[n]]))
    assert out["config"]["reset_after"] is True


def test_refusal_names_every_option_it_cannot_express() -> None:
    data, _ = read_fixture(FIXTURES / "tf1" / "lstmcell_peepholes_clip_sequence_length.yaml")
    data["config"] = {**data["config"], "num_proj": 3, "proj_clip": 0.5}  # P = U keeps the kernel (F + P, 4U)
    data["weights"] = {**data["weights"], "rnn/lstm_cell/projection/kernel:0": np.eye(3)}
    with pytest.raises(CannotExpress) as caught:
        convert(lstm_trace.Scenario.from_dict(data), "keras")
    message = str(caught.value)
    for option in ("peepholes", "cell_clip", "projection (num_proj, proj_size)", "proj_clip"):
        assert f"- {option}" in message
    assert "keras cannot express this tf1 layer" in message


def test_torch_refuses_reset_before_and_keras2_hard_sigmoid_is_not_keras3() -> None:
    data, _ = read_fixture(FIXTURES / "keras" / "gru_reset_before.yaml")
    with pytest.raises(CannotExpress, match="reset_after: false"):
        convert(lstm_trace.Scenario.from_dict(data), "torch")
    data, _ = read_fixture(FIXTURES / "keras2" / "lstm_hard_sigmoid.yaml")
    with pytest.raises(CannotExpress, match=r"hard_sigmoid \(clip\(0\.2·x \+ 1/2, 0, 1\)\)"):
        convert(lstm_trace.Scenario.from_dict(data), "keras")
    assert convert(lstm_trace.Scenario.from_dict(data), "onnx").data["config"]["activations"][0] == "HardSigmoid"


@pytest.mark.parametrize("path", FORWARD, ids=lambda p: f"{p.parent.name}/{p.stem}")
def test_every_fixture_converts_or_is_refused_with_reasons(path: Path) -> None:
    data, _ = read_fixture(path)
    source = lstm_trace.Scenario.from_dict(data, source=path)
    converted = 0
    for target in TARGETS:
        try:
            result = convert(source, target)  # raises NotEqual if the two traces differ
        except CannotExpress as exc:
            assert exc.problem.count("\n  - ") >= 1
            continue
        converted += 1
        text = scenario_text(result.data)
        again = lstm_trace.Scenario.from_dict(parse_yaml(text, path), source=path)
        ours, theirs = lstm_trace.trace(again), lstm_trace.trace(lstm_trace.Scenario.from_dict(dict(result.data)))
        for name, value in theirs.outputs.items():
            np.testing.assert_array_equal(ours.outputs[name], value, err_msg=f"{target} {name}")
    assert converted >= 1  # every fixture is at least expressible in its own framework's words


# ---- the command ------------------------------------------------------------------------------------------------
def _cli(*args: str) -> tuple[int, str, str]:
    import subprocess
    import sys

    done = subprocess.run([sys.executable, "-m", "lstm_trace", *args], capture_output=True, text=True, timeout=120)
    return done.returncode, done.stdout, done.stderr


def _plain_copy(name: str, tmp_path: Path) -> Path:
    """A fixture without its reference block: a scenario as a user has it."""
    data, _ = read_fixture(FIXTURES / name)
    path = tmp_path / Path(name).name
    path.write_text(scenario_text(data))
    return path


def test_convert_writes_a_file_that_runs_and_says_it_was_proved(tmp_path: Path) -> None:
    out = tmp_path / "seed_onnx.yaml"
    code, _, err = _cli("convert", str(SEED), "--to", "onnx", "-o", str(out))
    assert code == 0, err
    assert f"wrote {out}" in err
    text = out.read_text()
    assert "# Proved equal before writing: every step's h and c" in text
    assert lstm_trace.load(out).framework == "onnx"
    # the seed's h₁ = [0, 4, 0] and c₁ = [0, 4, 1] (README), now as ONNX's Y_h and Y_c: (D=1, B=1, 3)
    outputs = lstm_trace.trace(lstm_trace.load(out)).outputs
    np.testing.assert_array_equal(outputs["h"], [[[0, 4, 0]]])
    np.testing.assert_array_equal(outputs["c"], [[[0, 4, 1]]])


def test_convert_refusal_exits_2_naming_the_options(tmp_path: Path) -> None:
    code, out, err = _cli("convert", str(_plain_copy("onnx/lstm_input_forget_peepholes_clip.yaml", tmp_path)),
                          "--to", "torch")  # fmt: skip
    assert code == 2 and out == ""
    assert "torch cannot express this onnx layer:" in err
    for option in ("peepholes", "clip (of every pre-activation)", "input_forget (f = 1 − i)"):
        assert f"  - {option}" in err
    assert "Traceback" not in err


@pytest.mark.parametrize("name", ["gru_batch_first", "lstm_bidirectional"])
def test_weights_out_onnx_computes_what_torch_computed(name: str, tmp_path: Path) -> None:
    """torch's own outputs (the fixture's reference), reproduced by ONNX's reference evaluator on the model
    `convert --to onnx --weights-out` wrote from the torch state_dict."""
    onnx = pytest.importorskip("onnx", reason="the onnx package (lstm-trace[models]) is not installed")
    from onnx.reference import ReferenceEvaluator

    source = _plain_copy(f"torch/{name}.yaml", tmp_path)
    code, _, err = _cli("convert", str(source), "--to", "onnx", "-o", str(tmp_path / "o.yaml"),
                        "--weights-out", str(tmp_path / "o.onnx"))  # fmt: skip
    assert code == 0, err
    data, reference = read_fixture(FIXTURES / "torch" / f"{name}.yaml")
    x = np.asarray(data["inputs"], np.float32).transpose(1, 0, 2)  # layout 0: (T, B, F)
    y, y_h, *_ = ReferenceEvaluator(onnx.load(str(tmp_path / "o.onnx"))).run(None, {"X": x})
    t, d, b, h = y.shape
    sequence = y.transpose(2, 0, 1, 3).reshape(b, t, d * h)  # torch's (B, T, D·H): directions side by side
    np.testing.assert_allclose(sequence, np.asarray(reference["sequence"]), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(y_h, np.asarray(reference["h"]), rtol=1e-5, atol=1e-6)


def test_weights_out_keras_is_the_set_weights_list_and_torch_a_safetensors(tmp_path: Path) -> None:
    code, _, err = _cli("convert", str(SEED), "--to", "keras2", "-o", str(tmp_path / "k.yaml"),
                        "--weights-out", str(tmp_path / "k.npz"))  # fmt: skip
    assert code == 0, err
    arrays = np.load(tmp_path / "k.npz")
    seed = parse_yaml(SEED.read_text(), SEED)["weights"]
    for k, name in enumerate(("kernel", "recurrent_kernel", "bias")):
        np.testing.assert_array_equal(arrays[f"arr_{k}"], seed[name])
    source = _plain_copy("torch/gru_batch_first.yaml", tmp_path)
    code, _, err = _cli("convert", str(source), "--to", "torch", "--weights-out", str(tmp_path / "t.npz"))
    assert code == 2 and "--weights-out for torch writes a .safetensors file" in err
    safetensors = pytest.importorskip("safetensors.numpy", reason="safetensors (lstm-trace[models]) is not installed")
    code, _, err = _cli("convert", str(source), "--to", "torch", "--weights-out", str(tmp_path / "t.safetensors"))
    assert code == 0, err
    state = safetensors.load_file(str(tmp_path / "t.safetensors"))
    data, _ = read_fixture(FIXTURES / "torch" / "gru_batch_first.yaml")
    for name, value in data["weights"].items():  # torch to torch: the state_dict as it was, prefix stripped
        np.testing.assert_array_equal(state[name.removeprefix("rnn.")], np.asarray(value, np.float32))


def test_a_keras_merge_other_than_concat_is_noted_where_the_target_keeps_directions_apart() -> None:
    data, _ = read_fixture(FIXTURES / "keras" / "bidirectional_lstm_sum.yaml")
    result = convert(lstm_trace.Scenario.from_dict(data), "torch")
    assert "The source returns its two directions merged by sum as sequence; torch returns them apart" in " ".join(
        result.notes
    )
    assert result.data["config"]["bidirectional"] is True


def test_model_options_on_a_scenario_are_refused() -> None:
    code, out, err = _cli("run", str(SEED), "--layer", "lstm")
    assert code == 2 and out == ""
    assert "--layer picks from a model file" in err


def test_weights_out_tf1_names_variables_as_dynamic_rnn_does(tmp_path: Path) -> None:
    source = _plain_copy("tf1/basiclstmcell_default.yaml", tmp_path)
    code, _, err = _cli("convert", str(source), "--to", "tf1", "-o", str(tmp_path / "t.yaml"),
                        "--weights-out", str(tmp_path / "t.npz"))  # fmt: skip
    assert code == 0, err
    assert sorted(np.load(tmp_path / "t.npz")) == ["rnn/basic_lstm_cell/bias", "rnn/basic_lstm_cell/kernel"]
