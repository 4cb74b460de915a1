"""The backward pass in the text views (run --pass), its per-unit arithmetic, and check's expected gradients."""

from __future__ import annotations

import math
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import lstm_trace
from conftest import FIXTURES, ROOT, SCENARIOS, read_fixture, run_cli, write_scenario
from lstm_trace.backward import BackRun
from lstm_trace.check import check
from lstm_trace.render.back_explain import BackExplainer, Line
from lstm_trace.render.back_totals import input_line, total_line
from lstm_trace.render.numbers import Shortest, num, scalar
from lstm_trace.render.selection import Selection
from lstm_trace.render.terminal import render_text

GOLDEN = ROOT / "tests" / "golden"
SEED_BACKWARD = SCENARIOS / "seed_backward.yaml"


def lines_of(text: str) -> list[str]:
    return [line.rstrip() for line in text.rstrip("\n").splitlines()]


# ---- the golden files ------------------------------------------------------------------------------


def test_seed_backward_terminal_matches_the_golden_file() -> None:
    # tests/golden/seed_backward_terminal.txt, read and checked by hand against the Keras values in
    # scenarios/seed_backward.yaml (every gradient an integer, L = -3):
    # - t=3: δh₃ = δh_out₃ = [1 1 1]; δo₃ = δh₃ ⊙ c₃ = [1·0, 1·2, 1·2] = [0 2 2]; δc₃ = δh₃ ⊙ o₃ = [0 -1 0]
    #   (o₃ = [0 -1 0]); δi₃ = δc₃ ⊙ g₃ = [0, -1·(-2), 0] = [0 2 0]; δf₃ = δc₃ ⊙ c₂ = [0 -1 0].
    # - t=2: δh₂[1] = 1 + δz₃·U[1,:] = 1 + ((-1)·2 + 2·1 + 2·1) = 3 (U row 1 = [1 0 0|1 2 1|0 1 2|0 1 0],
    #   δz₃ = [0 2 0|0 -1 0|0 2 0|0 2 2]); δh₂[3] = 1 + (2·1 + 2·1) = 5: δh₂ = [3 3 5], Keras's dL/dh₂.
    #   δc₂[2] = δh₂[2]·o₂[2] + δc₃[2]·f₃[2] = 3·(-1) + (-1)·(-2) = -1: δc₂ = [6 -1 0], Keras's dL/dc₂.
    # - t=1: δh₁ = [1 + 4, 1 + 2, 1 + 4] = [5 3 5]; δc₁[1] = 5·2 + 6·0 = 10; δg₁[1] = δc₁[1]·i₁[1] = 10·2 = 20.
    # - the totals: dW x[2] in c→g unit 1 = x₁[2]·δz₁ = (-1)·20 = -20; db = Σₜ δzₜ, e.g. o unit 3: 2 + 10 = 12;
    #   kernel, recurrent_kernel, bias and inputs [[0 0], [5 2], [6 3]] are Keras's, under Keras's own names.
    result = run_cli("run", str(SEED_BACKWARD), "--pass", "backward", "--width", "100")
    assert result.exit_code == 0
    assert lines_of(result.output) == lines_of((GOLDEN / "seed_backward_terminal.txt").read_text(encoding="utf-8"))


def test_seed_backward_markdown_matches_the_golden_file() -> None:
    # tests/golden/seed_backward.md: the same steps as the terminal golden, checked the same way; every δ row
    # and the totals table hold the same integers, one unit a column, and the gradients by their Keras names
    result = run_cli("run", str(SEED_BACKWARD), "--pass", "backward", "--format", "markdown")
    assert result.exit_code == 0
    assert result.output == (GOLDEN / "seed_backward.md").read_text(encoding="utf-8")
    assert (
        "- `δc₂ = δh₂ ⊙ o₂ ⊙ linear′(c₂) + δc₃ ⊙ f₃ = [3·2·1 + 0·0, 3·(-1)·1 − 1·(-2), 5·0·1 + 0·(-1)] = [6 -1 0]`"
        in (result.output)
    )
    assert (
        "- `dL/d kernel (2, 12)`: `[[0 -3 0 0 1 0 0 -3 0 0 -5 -12], [0 -3 0 0 1 0 -20 -3 0 0 -5 -12]]`" in result.output
    )


def test_exact_fractions_give_the_same_backward_pass() -> None:
    plain = run_cli("run", str(SEED_BACKWARD), "--pass", "backward", "--width", "100").output
    exact = run_cli("run", str(SEED_BACKWARD), "--pass", "backward", "--width", "100", "--exact").output
    assert exact.replace("exact fractions", "float32") == plain


# ---- --pass -------------------------------------------------------------------------------------------------


def test_both_passes_by_default_where_the_scenario_has_a_backward_block() -> None:
    out = run_cli("run", str(SEED_BACKWARD), "--width", "100").output
    forward, backward = out.index("step t=1 · reads x₁"), out.index("backward pass")
    assert (
        forward
        < out.index("returns (")
        < backward
        < out.index("backward · step t=3")
        < out.index("backward · step t=1")
    )
    only = run_cli("run", str(SEED_BACKWARD), "--pass", "forward", "--width", "100").output
    assert "backward pass" not in only and "δh" not in only and "step t=3 · reads x₃" in only
    back = run_cli("run", str(SEED_BACKWARD), "--pass", "backward", "--width", "100").output
    assert "reads x₁" not in back and "returns (" not in back


def test_backward_pass_without_a_block_is_refused_with_the_block_to_add() -> None:
    for option in ("backward", "both"):
        result = run_cli("run", str(SCENARIOS / "seed.yaml"), "--pass", option)
        assert result.exit_code == 2
        assert "no backward block" in result.stderr
        assert "backward: {loss: sum, of: sequence}" in result.stderr
    assert run_cli("run", str(SCENARIOS / "seed.yaml"), "--pass", "forward").exit_code == 0
    assert run_cli("run", str(SCENARIOS / "seed.yaml"), "--pass", "sideways").exit_code == 2


def test_backward_steps_follow_the_selection() -> None:
    out = run_cli("run", str(SEED_BACKWARD), "--pass", "backward", "--steps", "2", "--units", "2", "--width", "100")
    assert out.exit_code == 0
    assert "backward · step t=2" in out.output and "backward · step t=3" not in out.output
    assert "δh₂ = δh_out₂ + δz₃·Uᵀ = [1 + 2] = [3]" in out.output  # unit 2 alone


def test_explain_writes_every_backward_equation() -> None:
    out = run_cli("run", str(SEED_BACKWARD), "--pass", "backward", "--explain", "--steps", "1", "--width", "120")
    text = out.output
    assert "δh₁[1] = δh_out₁[1] + Σⱼ δz₂[j]·U[1,j] = 1 + (1·1 + 3·1) = 5" in text
    assert "δc₁[1] = δh₁[1]·o₁[1]·linear′(c₁[1]) + δc₂[1]·f₂[1] = 5·2·1 + 6·0 = 10" in text
    assert "δg₁[1] = δc₁[1]·i₁[1] = 10·2 = 20" in text
    assert "dW_g[:,1] += x₁ᵀ·δpre_g₁[1] = [0 -1]ᵀ·20 = [0 -20]" in text


def fixture_with_backward(framework: str, name: str) -> lstm_trace.Trace:
    """A fixture traced with upstream gradients of ones on every output it returns."""
    data, _ = read_fixture(FIXTURES / framework / f"{name}.yaml")
    data.pop("expect", None)
    outputs = lstm_trace.trace(lstm_trace.Scenario.from_dict(data)).outputs
    data["backward"] = {key: np.ones(value.shape).tolist() for key, value in outputs.items()}
    return lstm_trace.trace(lstm_trace.Scenario.from_dict(data))


def test_layers_are_undone_top_first_and_ended_rows_pass_their_gradient_back() -> None:
    tr = fixture_with_backward("torch", "lstm_two_layer_bidirectional_proj")
    text = render_text(tr, Selection(steps=(0,)), width=200, passes=("backward",))
    assert text.index("layer 2 · backward · step t=1") < text.index("layer 1 · backward · step t=1")
    assert "(reverse direction)" in text
    masked = fixture_with_backward("tf1", "lstmcell_peepholes_clip_sequence_length")  # row 2 has length 1
    text = render_text(masked, Selection(steps=(2,), batch=(1,)), width=200, passes=("backward",))
    # its last active step is t=1: at t=3, δh₃ = δh_out₃ + δh₄ passed through step 4 unchanged
    assert "δh₃ = δh_out₃ + δh₄ (step 4 held this row's state) = [0 + 1, 0 + 1, 0 + 1] = [1 1 1]" in text
    flat = " ".join(text.split())
    assert "batch row 2 has ended" in flat and "Going back, its δh and δc pass to step 2 unchanged." in flat
    assert "step t=3 adds" not in text  # nothing computed, nothing added


# ---- every equation adds up to the recorded value ---------------------------------------------------------

ARITHMETIC = set("0123456789.e+-*() ")


def evaluate(numbers: str) -> float:
    """The numbers part of an equation, evaluated as written: ·, −, ² and parentheses."""
    text = numbers.replace("·", "*").replace("−", "-").replace("²", "**2")
    assert set(text) <= ARITHMETIC, numbers
    return float(eval(text))  # digits and arithmetic only, checked above


def recorded(back: BackRun, line: Line, s: int, b: int, k: int) -> float:
    """The value the backward pass recorded for a line, looked up by its quantity, not taken from the line."""
    return float(back.quantity(line.quantity, max(s, 0))[b, k])


def step_lines(back: BackRun) -> Iterator[tuple[int, int, int, Line]]:
    run = back.run
    width = max(run.cell.units, run.h.shape[-1])
    for s in range(-1, run.steps):
        for b in range(run.h.shape[1]):
            for k in range(width):
                for line in BackExplainer(back, s, b, Shortest()).lines(k):
                    yield s, b, k, line


CASES = [
    ("tf1", "lstmcell_peepholes_clip_sequence_length"),  # peepholes, cell clip, rows that end early
    ("tf1", "lstmcell_everything_float64"),  # and a projection with its clip
    ("torch", "lstm_proj"),  # a projection
    ("torch", "lstm_two_layer_bidirectional_proj"),  # δh_out from the layer above, a reverse direction
    ("onnx", "lstm_input_forget_peepholes_clip"),  # f = 1 − i, every sum clipped
    ("keras", "gru_reset_before"),
    ("keras", "gru_reset_after"),
    ("keras", "simplernn_default"),
    ("keras", "lstm_softmax"),  # an activation over the block's units
]


@pytest.mark.parametrize(("framework", "name"), CASES)
def test_every_backward_equation_adds_up_to_the_recorded_value(framework: str, name: str) -> None:
    tr = fixture_with_backward(framework, name)
    assert tr.gradients is not None
    count = 0
    for back in (b for layer in tr.gradients.runs for b in layer):
        for s, b, k, line in step_lines(back):
            want = recorded(back, line, s, b, k)
            assert math.isclose(evaluate(line.numbers), want, rel_tol=1e-5, abs_tol=1e-5), str(line)
            assert str(line).endswith(f" = {num(want, Shortest())}"), str(line)
            count += 1
        for key, grad in back.grads.items():
            for index in np.ndindex(grad.shape):
                line = total_line(back, key, index, Shortest())
                assert math.isclose(evaluate(line.numbers), float(grad[index]), rel_tol=1e-5, abs_tol=1e-5), line
        run = back.run
        for s in range(run.steps):
            for f in range(run.cell.features):
                line = input_line(back, s, 0, f, Shortest())
                assert math.isclose(evaluate(line.numbers), float(back.dx[s, 0, f]), rel_tol=1e-5, abs_tol=1e-5)
    assert count > 50


def test_the_arithmetic_is_checked_against_the_record_not_the_line() -> None:
    # a line whose pieces do not add up is caught: the evaluation is of the pieces, the result is the record's
    tr = fixture_with_backward("keras", "gru_reset_after")
    back = tr.gradients.first  # type: ignore[union-attr]
    line = BackExplainer(back, 1, 0, Shortest()).h(0)
    assert not math.isclose(evaluate(line.numbers.replace(" + ", " - ", 1)), recorded(back, line, 1, 0, 0))


# ---- check: expected gradients --------------------------------------------------------------------------


def seed_backward_with(tmp_path: Path, old: str, new: str) -> Path:
    text = SEED_BACKWARD.read_text(encoding="utf-8")
    assert old in text
    return write_scenario(tmp_path, text.replace(old, new))


def test_the_bundled_gradients_check_clean() -> None:
    result = run_cli("check", str(SEED_BACKWARD), "--format", "json")
    assert result.exit_code == 0
    quantities = [(r["quantity"], r["step"], r["status"]) for r in result.json["results"]]
    assert ("gradients.kernel", None, "right") in quantities
    assert ("gradients.loss", None, "right") in quantities
    assert ("gradients.per_step.c", 2, "right") in quantities
    text = run_cli("check", str(SEED_BACKWARD)).output
    assert "✓ dL/d recurrent_kernel all 36 values right" in text
    assert "✓ δh₂      [3 3 5]" in text


def test_a_wrong_weight_gradient_shows_where_and_the_sum_over_the_steps(tmp_path: Path) -> None:
    # kernel[2, 7] (from 1) is Keras's c block, unit 1, input feature 2: only step 1 adds to it,
    # x₁[2]·δz_g₁[1] = (-1)·20 = -20; the student wrote -2
    path = seed_backward_with(
        tmp_path, "- [0, -3, 0,  0, 1, 0,  -20, -3, 0,  0, -5, -12]", "- [0, -3, 0,  0, 1, 0,  -2, -3, 0,  0, -5, -12]"
    )
    result = run_cli("check", str(path), "--width", "200")
    assert result.exit_code == 1
    assert "✗ dL/d kernel yours" in result.output
    assert "first wrong: dL/d kernel[2, 7]" in result.output
    assert "dW_g[2,1] = Σₜ xₜ[2]·δpre_gₜ[1] = -1·20 = -20" in result.output
    assert "1 of 14 values wrong (tolerance 0)" in result.output
    doc = run_cli("check", str(path), "--format", "json").json
    wrong = next(r for r in doc["results"] if r["status"] == "wrong")
    assert wrong["quantity"] == "gradients.kernel" and wrong["first_wrong"] == {"index": [2, 7]}
    assert wrong["diagnosis"] is None


def test_a_wrong_per_step_gradient_shows_its_arithmetic(tmp_path: Path) -> None:
    path = seed_backward_with(tmp_path, "2: {h: [3, 3, 5]", "2: {h: [3, 4, 5]")
    result = run_cli("check", str(path), "--width", "200")
    assert result.exit_code == 1
    assert "✗ δh₂      yours [3 4 5]   right [3 3 5]   first wrong: δh₂[2]" in result.output
    # δz₃ = [0 2 0|0 -1 0|0 2 0|0 2 2], U row 2 = [1 1 0|0 2 1|0 1 2|2 0 0]: 2·1 − 1·2 + 2·1 = 2
    assert "δh₂[2] = δh_out₂[2] + Σⱼ δz₃[j]·U[2,j] = 1 + (2·1 − 1·2 + 2·1) = 3" in result.output
    doc = run_cli("check", str(path), "--format", "json").json
    wrong = next(r for r in doc["results"] if r["status"] == "wrong")
    assert wrong["quantity"] == "gradients.per_step.h" and wrong["step"] == 2
    assert wrong["first_wrong"] == {"step": 2, "batch": 1, "unit": 2}


def test_wrong_inputs_and_loss_show_their_arithmetic(tmp_path: Path) -> None:
    path = seed_backward_with(tmp_path, "inputs: [[0, 0], [5, 2], [6, 3]]", "inputs: [[0, 0], [5, 2], [6, 4]]")
    result = run_cli("check", str(path), "--width", "200")
    assert "first wrong: dL/d inputs[1, 3, 2]" in result.output
    assert "δx₃[2] = Σⱼ δz₃[j]·W[2,j] = (2·1 − 1·1 + 2·1) = 3" in result.output  # W row 2 = [1 1 0|1 1 0|0 1 1|0 0 0]
    path = seed_backward_with(tmp_path, "loss: -3", "loss: -2")
    result = run_cli("check", str(path), "--width", "200")
    assert "✗ L        yours -2   right -3   first wrong: L" in result.output
    assert "L = Σ sequence = 0 + 0 + 0 + 0 − 1 + 0 + 0 − 2 + 0 = -3" in result.output


def test_an_unknown_gradient_name_is_refused_with_the_closest(tmp_path: Path) -> None:
    path = seed_backward_with(tmp_path, "    recurrent_kernel:\n      - [0,  0", "    recurent_kernel:\n      - [0,  0")
    result = run_cli("check", str(path))
    assert result.exit_code == 2
    assert "expect.gradients.recurent_kernel: unknown gradient 'recurent_kernel'" in result.stderr
    assert "did you mean 'recurrent_kernel'?" in result.stderr
    assert "line 34" in result.stderr
    path = seed_backward_with(tmp_path, "3: {h: [1, 1, 1]", "3: {g: [1, 1, 1]")
    result = run_cli("check", str(path))
    assert result.exit_code == 2 and "unknown per-step gradient 'g'" in result.stderr
    path = seed_backward_with(tmp_path, "3: {h: [1, 1, 1]", "4: {h: [1, 1, 1]")
    assert "a step number runs from 1 to T" in run_cli("check", str(path)).stderr


def test_expected_gradients_need_a_backward_block(tmp_path: Path) -> None:
    path = seed_backward_with(tmp_path, "backward: {loss: sum, of: sequence}", "")
    result = run_cli("check", str(path))
    assert result.exit_code == 2
    assert "expect.gradients: the scenario has no backward block" in result.stderr
    assert "backward: {loss: sum, of: sequence}" in result.stderr


def test_gradients_rounded_too_far_are_named_as_rounding() -> None:
    data: dict[str, Any]
    data, _ = read_fixture(FIXTURES / "keras" / "simplernn_default.yaml")
    data.pop("expect", None)
    data["backward"] = {"loss": "sum", "of": "sequence"}
    right = lstm_trace.trace(lstm_trace.Scenario.from_dict(data)).gradients
    assert right is not None
    bias = right.weights["bias"]
    data["expect"] = {"gradients": {"bias": np.round(bias.astype(np.float64), 2).tolist()}}
    report = check(lstm_trace.trace(lstm_trace.Scenario.from_dict(data)))
    (result,) = report.results
    assert result.status == "wrong" and result.diagnosis is not None
    assert result.diagnosis.mistake == "rounded"
    assert "right to 2 decimals" in result.diagnosis.text
    assert scalar(result.got[0]) == pytest.approx(float(bias[0]))


def test_readme_backward_excerpt_is_what_run_prints() -> None:
    # the README's excerpt is trimmed with "..."; every line it keeps is a line of the real output, in order
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    command = "$ lstm-trace run scenarios/seed_backward.yaml --pass backward\n"
    start = readme.index(command) + len(command)
    excerpt = [line for line in readme[start : readme.index("```", start)].splitlines() if line != "..."]
    output = lines_of(run_cli("run", str(SEED_BACKWARD), "--pass", "backward", "--width", "100").output)
    position = 0
    for line in excerpt:
        position = output.index(line.rstrip(), position) + 1


def test_a_held_state_keeps_its_whole_gradient() -> None:
    # row 2 has sequence length 1: c₂, c₃, c₄ are c₁ held, and L = Σ c (the final state) is c₄ = c₁ for it,
    # so dL/dc_t = 1 at every step (TF's sequence_length copy-through gives the same)
    data, _ = read_fixture(FIXTURES / "tf1" / "lstmcell_peepholes_clip_sequence_length.yaml")
    data["backward"] = {"loss": "sum", "of": "c"}
    tr = lstm_trace.trace(lstm_trace.Scenario.from_dict(data))
    assert tr.gradients is not None
    assert tr.gradients.per_step()["c"][1].tolist() == [[1, 1, 1]] * 4
    text = render_text(tr, Selection(steps=(1,), batch=(1,)), width=200, passes=("backward",))
    assert "δc₂ = δc_out₂ + δc₃ (step 3 held this row's state) = [0 + 1, 0 + 1, 0 + 1] = [1 1 1]" in text
