"""The seed example, worked by hand: integer weights and linear activations, so every value is exact."""

from __future__ import annotations

from pathlib import Path

import numpy as np

import lstm_trace
from conftest import ROOT, SCENARIOS, run_cli

SEED_Z = [5, 2, 1, 1, 1, 0, 0, 2, 1, 2, 1, 0]


def test_seed_every_number(seed_path: Path) -> None:
    tr = lstm_trace.trace(lstm_trace.load(seed_path))
    run = tr.first
    np.testing.assert_array_equal(run.xw[0, 0], [2, 1, 1, 0, 0, 0, 0, 1, 1, 0, 1, 0])
    np.testing.assert_array_equal(run.hu[0, 0], np.zeros(12))
    np.testing.assert_array_equal(run.pre[0, 0], SEED_Z)
    np.testing.assert_array_equal(run.act[0, 0], SEED_Z)  # linear activations
    np.testing.assert_array_equal(tr.outputs["c"], [[0, 4, 1]])
    np.testing.assert_array_equal(tr.outputs["h"], [[0, 4, 0]])
    np.testing.assert_array_equal(tr.outputs["sequence"], [[[0, 4, 0]]])


def test_seed_three_steps_exact() -> None:
    tr = lstm_trace.trace(lstm_trace.load(SCENARIOS / "seed_three_steps.yaml"))
    np.testing.assert_array_equal(tr.outputs["h"], [[0, 27084252, 0]])
    np.testing.assert_array_equal(tr.outputs["c"], [[0, 9028084, 271381]])
    np.testing.assert_array_equal(tr.first.h[1:, 0], [[0, 16, 0], [0, 2120, 0], [0, 27084252, 0]])


def test_seed_trace_shows_the_board_work(seed_path: Path) -> None:
    out = run_cli("run", str(seed_path)).output
    assert "x₁·W = 1 × [2 1 1 │ 0 0 0 │ 0 1 1 │ 0 1 0]" in out
    assert "+ 0 × [1 1 0 │ 1 1 0 │ 0 1 1 │ 0 0 0]" in out
    z_row = next(line for line in out.splitlines() if line.startswith("= z₁"))
    assert [cell.strip() for cell in z_row.split("│")[1:]] == ["5  2  1", "1  1  0", "0  2  1", "2  1  0"]
    assert "c₁ = f ⊙ c₀ + i ⊙ g = [1·0 + 5·0, 1·0 + 2·2, 0·0 + 1·1] = [0 4 1]" in out
    assert "h₁ = o ⊙ linear(c₁) = [2·0, 1·4, 0·1] = [0 4 0]" in out
    assert "i input" in out and "c→g candidate" in out and "f forget" in out and "o output" in out


def test_three_steps_print_exact_integers() -> None:
    out = run_cli("run", str(SCENARIOS / "seed_three_steps.yaml"), "--width", "120").output
    assert "[0 27084252 0]" in out
    assert "[0 9028084 271381]" in out
    assert "e+" not in out


def test_check_catches_the_homework_slip() -> None:
    # golden file read and verified by hand: at step 1 unit 3, o = 0 + 0 + 0 = 0 and c = 0·0 + 1·1 = 1,
    # so h = o·c = 0; the homework's 1 is c itself, the output gate left out
    result = run_cli("check", str(SCENARIOS / "seed_homework.yaml"), "--width", "120")
    assert result.exit_code == 1
    got = [line.rstrip() for line in result.output.splitlines()]
    assert got == (ROOT / "tests" / "golden" / "seed_homework_check.txt").read_text(encoding="utf-8").splitlines()


def test_bundled_scenarios_check_clean() -> None:
    for path in sorted(SCENARIOS.glob("*.yaml")):
        if path.stem == "seed_homework":
            continue
        result = run_cli("check", str(path))
        assert result.exit_code == 0, (path, result.output)
        assert path.read_text().startswith("#"), f"{path.name} needs a header saying what it teaches"


def test_readme_seed_trace_is_what_run_prints() -> None:
    # the README's seed trace was read and checked by hand: z = [5 2 1 | 1 1 0 | 0 2 1 | 2 1 0], c₁ = [0 4 1], h₁ = [0 4 0]
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    start = readme.index("$ lstm-trace run scenarios/seed.yaml\n") + len("$ lstm-trace run scenarios/seed.yaml\n")
    golden = readme[start : readme.index("```", start)].rstrip("\n").splitlines()
    result = run_cli("run", str(SCENARIOS / "seed.yaml"), "--width", "86")
    assert [line.rstrip() for line in result.output.rstrip("\n").splitlines()] == golden
