"""check names a student's mistake: misconceptions carried through every step, slips with follow-through, rounding.

The students' answers with a misconception come from real framework runs on
transformed weights (tests/fixtures/mistakes, written by tools/make_fixtures.py:
the output gate saturated open, a bias zeroed, blocks permuted, ...); the
others are worked by hand below.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest

import lstm_trace
from conftest import FIXTURES, SEED, read_fixture, run_cli, write_scenario
from lstm_trace.check import check
from lstm_trace.diagnose import MISTAKES
from lstm_trace.yamlio import parse_yaml

MISTAKE_FILES = sorted((FIXTURES / "mistakes").glob("*.yaml"))


def _student_expect(student: dict[str, Any]) -> dict[str, Any]:
    """The student's answer as an expect block: every step's h and c, and the final outputs."""
    if student["mistake"] == "reversed_sequence":  # the arithmetic is right; only the order of the outputs is not
        return {"sequence": student["sequence"]}
    steps = student["steps"]
    expect: dict[str, Any] = {
        "steps": {t + 1: {q: steps[q][t] for q in steps} for t in range(len(steps["h"]))},
    }
    for q in ("h", "c"):
        if q in student:
            expect[q] = student[q]
    return expect


@pytest.mark.parametrize("path", MISTAKE_FILES, ids=lambda p: p.stem)
def test_each_mistake_carried_through_every_step_is_named(path: Path) -> None:
    data = parse_yaml(path.read_text(encoding="utf-8"), path)
    data.pop("reference")
    student = data.pop("student")
    data["expect"] = _student_expect(student)
    report = check(lstm_trace.trace(lstm_trace.Scenario.from_dict(data)))
    wrong = [r for r in report.results if not r.ok]
    assert wrong, "the student's answer must differ from the layer's"
    assert {r.diagnosis.mistake if r.diagnosis else None for r in wrong} == {student["mistake"]}
    assert all(r.status == "wrong" for r in wrong)


def test_every_mistake_id_has_a_case() -> None:
    covered = {parse_yaml(p.read_text(encoding="utf-8"), p)["student"]["mistake"] for p in MISTAKE_FILES}
    frameworks = {p.stem.split("_")[0] for p in MISTAKE_FILES}
    assert {"keras", "torch", "tf1"} <= frameworks
    assert any("_gru_" in p.stem for p in MISTAKE_FILES)
    # old_cell_state cannot be made by a framework: it is worked by hand below
    assert set(MISTAKES) - covered == {"old_cell_state"}


SEED_TWO_STEPS = SEED.replace("inputs: [[[1, 0]]]", "inputs: [[[1, 0], [0, 1]]]")


def _report(tmp_path: Path, text: str, *args: str) -> Any:
    result = run_cli("check", str(write_scenario(tmp_path, text)), "--format", "json", *args)
    assert result.exit_code == 1, result.output
    return result.json


def test_old_cell_state_worked_by_hand(tmp_path: Path) -> None:
    # The seed weights (Keras LSTM(3), linear activations) with c₀ = [1 1 1], h₀ = 0, x = [1 0], [0 1].
    # Step 1: z = [5 2 1 | 1 1 0 | 0 2 1 | 2 1 0], so i = [5 2 1], f = [1 1 0], g = [0 2 1], o = [2 1 0];
    #   c₁ = f⊙c₀ + i⊙g = [1+0, 1+4, 0+1] = [1 5 1]; the student's h₁ = o⊙c₀ = [2 1 0] (the layer's o⊙c₁ = [2 5 0]).
    # Step 2 from the student's h₁: h₁·U = 2·U[1] + 1·U[2] = [3 1 0 | 2 6 3 | 0 3 6 | 2 2 0],
    #   x₂·W + b = [4 2 0 | 2 2 0 | 0 2 1 | 2 0 0], so i = [7 3 0], f = [4 8 3], g = [0 5 7], o = [4 2 0];
    #   c₂ = [4·1 + 7·0, 8·5 + 3·5, 3·1 + 0·7] = [4 55 3]; h₂ = o⊙c₁ = [4 10 0].
    text = SEED_TWO_STEPS + (
        "initial_state: {c0: [[1, 1, 1]]}\n"
        "expect:\n  steps:\n    1: {c: [1, 5, 1], h: [2, 1, 0]}\n    2: {c: [4, 55, 3], h: [4, 10, 0]}\n"
    )
    report = _report(tmp_path, text)
    statuses = [(r["quantity"], r["step"], r["status"]) for r in report["results"]]
    assert statuses == [("c", 1, "right"), ("h", 1, "wrong"), ("c", 2, "wrong"), ("h", 2, "wrong")]
    assert {r["diagnosis"]["mistake"] for r in report["results"] if r["status"] == "wrong"} == {"old_cell_state"}
    h1 = report["results"][1]
    assert h1["first_wrong"] == {"step": 1, "batch": 1, "unit": 2}
    assert "h₁[2] = o₁[2] · c₁[2] = 1 · 5 = 5" in h1["diagnosis"]["text"]


def test_a_slip_is_marked_with_follow_through(tmp_path: Path) -> None:
    # The seed weights over x = [1 0], [0 1]. Right: i₁ = [5 2 1], c₁ = [0 4 1], h₁ = [0 4 0].
    # The student slips once, i₁[2] = 3 (1 + 0 + 1 written as 3), then works correctly from it:
    #   c₁ = f⊙c₀ + i⊙g = [0, 3·2, 1·1] = [0 6 1]; h₁ = o⊙c₁ = [2·0, 1·6, 0·1] = [0 6 0];
    #   step 2: h₁·U = 6·U[2] = [6 6 0 | 0 12 6 | 0 6 12 | 12 0 0], + x₂·W + b = [4 2 0 | 2 2 0 | 0 2 1 | 2 0 0]
    #   gives i = [10 8 0], f = [2 14 6], g = [0 8 13], o = [14 0 0]; c₂ = [0, 14·6 + 8·8, 6·1 + 0] = [0 148 6];
    #   h₂ = o⊙c₂ = [0 0 0], which is also the right h₂ (from h₁ = [0 4 0]: o₂ = [10 0 0], c₂ = [0 76 4]).
    text = SEED_TWO_STEPS + (
        "expect:\n  steps:\n    1: {i: [5, 3, 1], c: [0, 6, 1], h: [0, 6, 0]}\n    2: {c: [0, 148, 6], h: [0, 0, 0]}\n"
    )
    report = _report(tmp_path, text)
    statuses = [(r["quantity"], r["step"], r["status"]) for r in report["results"]]
    assert statuses == [
        ("i", 1, "wrong"),
        ("c", 1, "carried"),
        ("h", 1, "carried"),
        ("c", 2, "carried"),
        ("h", 2, "right"),
    ]
    slip = report["results"][0]
    assert slip["first_wrong"] == {"step": 1, "batch": 1, "unit": 2}
    assert slip["diagnosis"]["mistake"] == "arithmetic_slip"
    assert "follows correctly from your earlier i₁[2]" in report["results"][1]["diagnosis"]["text"]
    terminal = run_cli("check", str(write_scenario(tmp_path, text)), "--width", "120").output
    assert "i₁[2] = x₁·W_i[:,2] + h₀·U_i[:,2] + b_i[2] = 1 + 0 + 1 = 2" in terminal
    assert terminal.splitlines()[-1] == "1 of 5 values wrong, 3 carried forward from an earlier one (tolerance 0.0005)"


def test_a_second_slip_is_wrong_not_carried(tmp_path: Path) -> None:
    # As above, but h₁ is written [0 7 0]: o₁[2] · c₁[2] = 1 · 6 = 6 from the student's own c₁, so it is a new slip.
    text = SEED_TWO_STEPS + "expect:\n  steps:\n    1: {i: [5, 3, 1], c: [0, 6, 1], h: [0, 7, 0]}\n"
    report = _report(tmp_path, text)
    assert [r["status"] for r in report["results"]] == ["wrong", "carried", "wrong"]
    assert "they give 6" in report["results"][2]["diagnosis"]["text"]


def test_values_rounded_too_far_say_so(tmp_path: Path) -> None:
    # A real Keras run's final h, written to two decimals: right to 2 decimals, not to the default 0.0005
    _, reference = read_fixture(FIXTURES / "keras" / "defaults_ten_steps.yaml")
    h = np.round(np.asarray(reference["h"], dtype=np.float64), 2)
    path = FIXTURES / "keras" / "defaults_ten_steps.yaml"
    text = path.read_text(encoding="utf-8").split("reference:")[0] + f"expect:\n  h: {h.tolist()}\n"
    report = _report(tmp_path, text)
    (result,) = report["results"]
    assert result["diagnosis"]["mistake"] == "rounded"
    assert "right to 2 decimals" in result["diagnosis"]["text"]
    assert "expect.tolerance: 0.005" in result["diagnosis"]["text"]
    loose = text.replace("expect:\n", "expect:\n  tolerance: 0.005\n")
    assert run_cli("check", str(write_scenario(tmp_path, loose, "loose.yaml"))).exit_code == 0


def test_unexplained_final_value_has_no_diagnosis(tmp_path: Path) -> None:
    # h₁ = [0 4 0] in the seed; [0 4 7] is no known mistake and there are no step values to follow
    report = _report(tmp_path, SEED + "expect:\n  h: [0, 4, 7]\n")
    assert report["results"][0]["diagnosis"] is None
    assert report["results"][0]["first_wrong"] == {"step": 1, "batch": 1, "unit": 3}


def test_a_passing_wide_check_is_short(tmp_path: Path) -> None:
    _, reference = read_fixture(FIXTURES / "keras" / "lstm_default.yaml")
    path = FIXTURES / "keras" / "lstm_default.yaml"
    sequence = np.asarray(reference["sequence"]).tolist()  # (2, 4, 4): more values than a passing line prints
    text = path.read_text(encoding="utf-8").split("reference:")[0] + f"expect:\n  sequence: {sequence}\n"
    result = run_cli("check", str(write_scenario(tmp_path, text)))
    assert result.exit_code == 0
    assert result.output.splitlines() == ["✓ sequence all 32 values right", "all 1 values right (tolerance 0.0005)"]


def test_keras_pre_c_is_the_candidate_with_a_note(tmp_path: Path) -> None:
    # seed step 1: the candidate's sum is x₁·W_g + h₀·U_g + b_g = [0 1 1] + 0 + [0 1 0] = [0 2 1]
    result = run_cli(
        "check",
        str(write_scenario(tmp_path, SEED + "expect:\n  steps:\n    1: {pre_c: [0, 2, 1]}\n")),
        "--width",
        "200",
    )
    assert result.exit_code == 0
    assert "pre_c is read as the sum of the block this framework calls c, canonically pre_g" in result.output


def test_json_names_the_terms_each_gate_summed(tmp_path: Path) -> None:
    # TF1 BasicLSTMCell: forget_bias is added to f alone; a Keras GRU with reset_after sums r⊙(h·U + b_rec) into n
    def scenario(path: Path) -> str:
        return str(write_scenario(tmp_path, path.read_text(encoding="utf-8").split("reference:")[0], path.name))

    tf1 = run_cli("run", scenario(FIXTURES / "tf1" / "basiclstmcell_default.yaml"), "--format", "json")
    gates = tf1.json["steps"][0]["gates"]
    assert gates["f"]["terms"] == ["xW", "hU", "b", "forget_bias"]
    assert gates["i"]["terms"] == ["xW", "hU", "b"]
    gru = run_cli("run", scenario(FIXTURES / "keras" / "gru_reset_after.yaml"), "--format", "json").json
    assert gru["steps"][0]["gates"]["n"]["terms"] == ["xW", "b", "reset"]
    assert gru["steps"][0]["gates"]["z"]["terms"] == ["xW", "hU", "b", "b_rec"]
