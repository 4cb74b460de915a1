"""`lstm-trace verify`: the scenario run in its real framework and every output compared.

The first tests run anywhere (no framework needed): a missing framework is faked by hiding its modules,
and the report is checked on given arrays. The tests marked `framework` run the real framework where it
is installed (skipped elsewhere): committed fixtures verify equal, and a trace tampered with after it was
made is caught at the value that was changed.
"""

from __future__ import annotations

import importlib
import importlib.metadata
import importlib.util
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

import lstm_trace
import lstm_trace.api
import lstm_trace.verify as verify
from conftest import FIXTURES, ROOT, read_fixture, run_cli, write_scenario
from lstm_trace.verify import Real, Tolerance, compare, output_place

GOLDEN = ROOT / "tests" / "golden" / "verify_report.txt"


def scenario_file(tmp_path: Path, fixture: str) -> Path:
    """A fixture as a scenario file: everything before its `reference` block (the generator writes it last)."""
    text = (FIXTURES / f"{fixture}.yaml").read_text(encoding="utf-8")
    return write_scenario(tmp_path, text.split("\nreference:")[0] + "\n", Path(fixture).name + ".yaml")


def traced(fixture: str) -> lstm_trace.Trace:
    data, _ = read_fixture(FIXTURES / f"{fixture}.yaml")
    return lstm_trace.trace(lstm_trace.Scenario.from_dict(data))


# ---- without a framework --------------------------------------------------------------------------------
HIDDEN = [  # (fixture, modules hidden, what the message must name)
    ("torch/lstm_default", ["torch"], "pip install torch"),
    ("keras/lstm_default", ["keras"], "pip install keras tensorflow"),
    ("keras2/lstm_default", ["tensorflow", "tf_keras"], "pip install tf-keras tensorflow"),
    ("tf1/lstmcell_default", ["tensorflow", "tf_keras"], "pip install tf-keras tensorflow"),
    ("onnx/lstm_default", ["onnxruntime"], "pip install onnx onnxruntime"),
    ("onnx/lstm_float64", ["onnx"], "pip install onnx onnxruntime"),
]


@pytest.mark.parametrize(("fixture", "modules", "package"), HIDDEN, ids=[h[0] for h in HIDDEN])
def test_a_missing_framework_exits_2_naming_the_package(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, fixture: str, modules: list[str], package: str
) -> None:
    for name in modules:  # None in sys.modules: `import name` raises ImportError, installed or not
        monkeypatch.setitem(sys.modules, name, None)
    monkeypatch.setenv("TF_USE_LEGACY_KERAS", "0")  # restored afterwards: verify sets it for Keras 2 and TF1
    result = run_cli("verify", str(scenario_file(tmp_path, fixture)))
    assert result.exit_code == 2
    assert result.output == ""
    assert f"which is not installed here: {package}\n" in result.stderr
    assert f"runs this scenario in {modules[0]}," in result.stderr
    assert "Traceback" not in result.stderr


def test_a_bad_scenario_exits_2(tmp_path: Path) -> None:
    path = write_scenario(tmp_path, "framework: torch\nlayer: LSTM\nweights: {}\ninputs: [[1, 2]]\nconfg: {}\n")
    result = run_cli("verify", str(path))
    assert result.exit_code == 2
    assert "unknown key 'confg'" in result.stderr and "did you mean 'config'?" in result.stderr
    assert run_cli("verify", str(tmp_path / "absent.yaml")).exit_code == 2


def test_what_the_framework_refuses_exits_2_with_its_words(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def refuses(words: object) -> Real:
        raise RuntimeError("Expected hidden[0] size (1, 2, 3), got [1, 3, 3]\n\x1b[31mred\x1b[0m\n3\n4\n5\n6\n7\n8")

    monkeypatch.setattr(importlib.import_module("lstm_trace.verify.torch"), "run", refuses)
    result = run_cli("verify", str(scenario_file(tmp_path, "torch/lstm_default")))
    assert result.exit_code == 2
    assert result.stderr.startswith(
        "error: torch could not run this scenario: RuntimeError: Expected hidden[0] size (1, 2, 3), got [1, 3, 3]\n"
        "  �[31mred�[0m\n"  # an escape sequence from the framework's message does not reach the terminal
    )
    assert result.stderr.endswith("  6\n  …\n")  # six lines of it at most
    assert "Traceback" not in result.stderr


def test_the_cli_starts_without_importing_a_framework() -> None:
    code = (
        "import sys, lstm_trace.cli; "
        "print([m for m in ('torch', 'keras', 'tensorflow', 'tf_keras', 'onnx', 'onnxruntime', 'lstm_trace.verify')"
        " if m in sys.modules])"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=ROOT)
    assert out.stdout.strip() == "[]"


def given_real(trace: lstm_trace.Trace) -> Real:
    """What a framework might have given for the torch bidirectional LSTM: our numbers, with the sequence at
    [1, 2, 4] (0-based: batch row 2, input time 3, column 5, the reverse half's unit 2) 0.5 higher, c_n left
    out, and layer 1 forward's c after step 3 (batch row 1, unit 2) 0.25 lower."""
    sequence = np.array(trace.outputs["sequence"], np.float32)
    sequence[1, 2, 4] += np.float32(0.5)
    forward, reverse = trace.runs[0]
    c_forward = np.array(forward.c[1:], np.float32)
    c_forward[2, 0, 1] -= np.float32(0.25)
    steps = {(0, 0): {"h": forward.h[1:], "c": c_forward}, (0, 1): {"h": reverse.h[1:], "c": reverse.c[1:]}}
    return Real("torch 9.9 nn.LSTM", "torch", {"sequence": sequence, "h": trace.outputs["h"]}, steps,
                ("a note from the framework's side",))  # fmt: skip


def test_the_report_on_given_arrays_matches_the_golden_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # Golden file read and verified by hand: T = 4, so the reverse direction (reads 4, 3, 2, 1) reads input time 3 at
    # step 2, and the changed sequence value, column 5 = the reverse half's unit 2, is its h₂[2] in batch row 2:
    # ours -0.0670547, torch's 0.5 above it, 0.4329453. c_n is reported missing. Layer 1 forward's c₃[2] in batch
    # row 1: ours -0.30135956, torch's 0.25 below it, -0.55135953 after float32 rounding (largest difference
    # 0.24999997, shown 0.25). h_n, h forward and the reverse states are equal (largest difference 0): 3 of 7 differ.
    trace = traced("torch/lstm_bidirectional")
    monkeypatch.setattr(verify, "run_real", lambda words: given_real(trace))
    result = run_cli("verify", str(scenario_file(tmp_path, "torch/lstm_bidirectional")), "--width", "120")
    assert result.exit_code == 1
    got = [line.rstrip() for line in result.output.splitlines()]
    assert got == GOLDEN.read_text(encoding="utf-8").splitlines()


def test_tolerance_decides_what_is_equal(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    trace = traced("torch/lstm_default")
    nudged = np.array(trace.outputs["h"], np.float64)
    nudged[0, 1, 2] *= 1 + 3e-4  # relatively 3e-4 off: outside 1e-5, inside 1e-3
    real = Real("torch", "torch", {**trace.outputs, "h": nudged})
    monkeypatch.setattr(verify, "run_real", lambda words: real)
    path = scenario_file(tmp_path, "torch/lstm_default")
    strict = run_cli("verify", str(path))
    assert strict.exit_code == 1
    assert "✗ h " in strict.output and "first different: h[1, 2, 3]: h₄[3] (batch row 2)" in strict.output
    loose = run_cli("verify", str(path), "--tolerance", "1e-3")
    assert loose.exit_code == 0
    assert "all 3 equal within |ours − torch| ≤ 0.0001 + 0.001·|torch| (float32)" in loose.output


def test_tolerance_is_relative_with_a_tenth_absolute() -> None:
    tol = Tolerance.of("float64")
    assert (tol.relative, tol.absolute) == (1e-12, 1e-13)
    close = tol.close(
        np.array([1.0, 1.0, 0.0, np.nan, np.inf]), np.array([1 + 5e-13, 1 + 5e-12, 2e-13, np.nan, np.inf])
    )
    assert close.tolist() == [True, False, False, True, True]


def test_a_shape_that_differs_is_reported_not_compared() -> None:
    trace = traced("torch/gru_default")
    real = Real("torch", "torch", {**trace.outputs, "h": np.zeros((2, 3))})
    report = compare(trace, real, Tolerance.of("float32"))
    bad = [row for row in report.rows if not row.ok]
    assert [(row.name, row.problem) for row in bad] == [("h", "shape (1, 2, 3) here, (2, 3) in torch")]


PLACES = [  # (fixture, output, 0-based index, where the report says it is)
    # go_backwards: Keras returns the sequence in processing order, so index t is step t
    ("keras/lstm_go_backwards", "sequence", (0, 1, 2), "sequence[1, 2, 3]: h₂[3] (batch row 1)"),
    # a sum of both directions is no single state
    ("keras/bidirectional_lstm_sum", "sequence", (1, 0, 0), "sequence[2, 1, 1]: batch row 2, unit 1, t = 1"),
    ("keras/bidirectional_lstm_sum", "backward_c", (1, 2), "backward_c[2, 3]: c₄[3] (layer 1 reverse, batch row 2)"),
    # ONNX layout 1: Y_h is (B, D, H)
    ("onnx/lstm_layout1", "h", (1, 0, 2), "h[2, 1, 3]: h₄[3] (batch row 2)"),
    # ONNX layout 0: Y is (T, D, B, H); the reverse direction reads input time 1 at its last step
    ("onnx/lstm_bidirectional", "sequence", (0, 1, 2, 0), "sequence[1, 2, 3, 1]: h₄[1] (layer 1 reverse, batch row 3)"),
    # torch's bidirectional sequence: columns 1-3 forward, 4-6 reverse
    ("torch/lstm_bidirectional", "sequence", (0, 1, 1), "sequence[1, 2, 2]: h₂[2] (layer 1 forward, batch row 1)"),
    # pad_packed_sequence's total_length 6 pads beyond the 5 steps given: no step made it
    ("torch/lstm_packed_total_length", "sequence", (0, 5, 0), "sequence[1, 6, 1]: batch row 1, unit 1, t = 6"),
    # packed rows of lengths 5, 3, 2: row 3's h_n was made at its step 2
    ("torch/lstm_packed", "h", (0, 2, 0), "h[1, 3, 1]: h₂[1] (batch row 3)"),
    # torch h_n rows are layer by layer, forward before reverse
    ("torch/lstm_deep_bidirectional_state_float64", "c", (3, 0, 1), "c[4, 1, 2]: c₄[2] (layer 2 reverse, batch row 1)"),
    # dynamic_rnn sequence_length 0: the row's state is its initial state
    ("tf1/basiclstmcell_sequence_length", "h", (2, 0), "h[3, 1]: h₀[1] (batch row 3)"),
]  # fmt: skip


@pytest.mark.parametrize(("fixture", "name", "index", "where"), PLACES)
def test_a_value_is_placed_in_the_trace_notation(fixture: str, name: str, index: tuple[int, ...], where: str) -> None:
    assert output_place(traced(fixture), name, index) == where


# ---- with the framework -----------------------------------------------------------------------------------
def installed(*modules: str) -> bool:
    return all(importlib.util.find_spec(m) is not None for m in modules)


def keras3() -> bool:
    return installed("keras") and int(importlib.metadata.version("keras").split(".")[0]) >= 3


AVAILABLE = {
    "torch": installed("torch"),
    "keras": keras3(),
    "keras2": installed("tensorflow", "tf_keras"),
    "tf1": installed("tensorflow", "tf_keras"),
    "onnx": installed("onnx", "onnxruntime"),
    "onnx reference": installed("onnx"),  # float64 and layout 1: the onnx package's reference evaluator
}
CASES = {  # fixture: what it needs
    **{f"torch/{n}": "torch" for n in (
        "lstm_bidirectional", "lstm_packed_bidirectional", "gru_packed_deep_bidirectional_float64",
        "rnn_packed_relu_bidirectional", "lstmcell_state_float64", "grucell_no_bias_state", "rnncell_relu_float64",
        "state_dict_module_gru", "lstm_two_layer_bidirectional_proj", "lstm_unbatched")},
    **{f"keras/{n}": "keras" for n in (
        "bidirectional_lstm_masking", "bidirectional_gru_none_last", "bidirectional_gru_weights_list",
        "bidirectional_lstm_variable_paths", "lstm_mask_zero_output", "lstm_masking_initial_state",
        "sequential_mixed_masking", "sequential_bidirectionals_last", "gru_reset_before_float64", "lstm_hard_sigmoid")},
    **{f"keras2/{n}": "keras2" for n in (
        "bidirectional_lstm_masking", "sequential_lstm_gru", "lstm_hard_sigmoid", "gru_reset_after_backwards_state",
        "lstm_masking_initial_state")},
    **{f"tf1/{n}": "tf1" for n in (
        "lstmcell_peepholes_clip_sequence_length", "lstmcell_everything_float64", "lstmcell_everything_time_major",
        "grucell_sequence_length", "basicrnncell_relu", "basiclstmcell_forget_bias_2_5")},
    **{f"onnx/{n}": "onnx" for n in (
        "lstm_bidirectional", "gru_linear_before_reset_bidirectional_clip", "lstm_input_forget_peepholes_clip",
        "rnn_affine_bidirectional", "lstm_bidirectional_sequence_lens", "lstm_activations")},
    "onnx/lstm_layout1": "onnx reference",
    "onnx/gru_bidirectional_state_float64": "onnx reference",
}  # fmt: skip


def needs(what: str) -> pytest.MarkDecorator:
    return pytest.mark.skipif(
        not AVAILABLE[what], reason=f"{what} is not installed: {verify.PACKAGES[what.split()[0]]}"
    )


@pytest.mark.framework
@pytest.mark.parametrize("fixture", [pytest.param(f, marks=needs(w)) for f, w in CASES.items()])
def test_a_fixture_verifies_equal(tmp_path: Path, fixture: str) -> None:
    result = run_cli("verify", str(scenario_file(tmp_path, fixture)), "--width", "160")
    assert result.exit_code == 0, result.output + result.stderr
    lines = result.output.splitlines()
    rows = [line for line in lines if line.startswith("  ✓ ")]
    assert lines[-1].startswith(f"all {len(rows)} equal within")
    assert "✗" not in result.output
    assert any(" sequence" in row for row in rows) or any("_sequence" in row for row in rows)
    if "proj" not in fixture and "sequence_lens" not in fixture:  # where the framework gives them, each step too
        assert any("h each step" in row for row in rows)


TAMPERED = {  # fixture: (output, 0-based index, the position the report must give)
    "torch/lstm_packed_bidirectional": ("c", (1, 2, 0), "c[2, 3, 1]: c₅[1] (layer 1 reverse, batch row 3)"),
    "keras/bidirectional_lstm_masking": ("forward_h", (1, 0), "forward_h[2, 1]: h₃[1] (layer 1 forward, batch row 2)"),
    "keras2/sequential_lstm_gru": ("sequence", (0, 3, 1), "sequence[1, 4, 2]: h₄[2] (layer 2 forward, batch row 1)"),
    "tf1/lstmcell_peepholes_clip_sequence_length": ("h", (1, 2), "h[2, 3]: h₁[3] (batch row 2)"),
    "onnx/gru_linear_before_reset_bidirectional_clip": (
        "sequence", (0, 1, 2, 1), "sequence[1, 2, 3, 2]: h₄[2] (layer 1 reverse, batch row 3)"),
}  # fmt: skip


@pytest.mark.framework
@pytest.mark.parametrize("fixture", [pytest.param(f, marks=needs(f.split("/")[0])) for f in TAMPERED])
def test_a_value_changed_after_tracing_is_caught(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, fixture: str) -> None:
    name, index, where = TAMPERED[fixture]
    untouched = lstm_trace.api.trace

    def tampered(scenario: lstm_trace.Scenario, **kwargs: object) -> lstm_trace.Trace:
        tr = untouched(scenario, **kwargs)  # type: ignore[arg-type]
        changed = np.array(tr.outputs[name], copy=True)
        changed[index] += 0.5
        return replace(tr, outputs={**tr.outputs, name: changed})

    monkeypatch.setattr(lstm_trace.api, "trace", tampered)
    result = run_cli("verify", str(scenario_file(tmp_path, fixture)), "--width", "160")
    assert result.exit_code == 1, result.output + result.stderr
    assert f"first different: {where}: ours " in result.output
    wrong = [line for line in result.output.splitlines() if line.startswith("  ✗ ")]
    assert len(wrong) == 1 and wrong[0].split()[1] == name and wrong[0].endswith("largest difference 0.50")
    assert result.output.splitlines()[-1].startswith("1 of ")


@pytest.mark.framework
@needs("onnx reference")
def test_the_reference_evaluator_is_not_trusted_with_what_it_ignores(tmp_path: Path) -> None:
    text = (FIXTURES / "onnx" / "lstm_layout1.yaml").read_text(encoding="utf-8").split("\nreference:")[0]
    path = write_scenario(tmp_path, text.replace("layout: 1}", "layout: 1, clip: 0.5}", 1) + "\n")
    result = run_cli("verify", str(path))
    assert result.exit_code == 2
    assert "the onnx reference evaluator, which does, ignores clip" in result.stderr
