"""The command line through click's runner: exit codes, formats, and the terminal conventions."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import ROOT, SCENARIOS, SEED, run_cli, write_scenario

COLOUR = re.compile(r"\x1b\[(?:\d+;)*(?:3[0-7]|38|9[0-7])[;m]")  # a foreground colour, not just bold


def test_run_seed_exit_0(seed_path: Path) -> None:
    result = run_cli("run", str(seed_path))
    assert result.exit_code == 0
    assert result.output.startswith("lstm-trace · keras LSTM(units=3)")
    assert "= z₁" in result.output and result.stderr == ""


def test_help_teaches() -> None:
    out = run_cli("--help").output
    assert "lstm-trace run scenarios/seed.yaml" in out and "check" in out
    run_help = run_cli("run", "--help").output
    for option in ("--format", "--steps", "--batch", "--units", "--precision", "--full", "--width"):
        assert option in run_help
    assert "counted from 1" in run_help


def test_version() -> None:
    assert run_cli("--version").output.strip().startswith("lstm-trace, version ")


def test_columns_are_honoured(seed_path: Path) -> None:
    for columns in (50, 70):
        out = run_cli("run", str(SCENARIOS / "keras_defaults.yaml"), env={"COLUMNS": str(columns)}).output
        assert max(len(line) for line in out.splitlines()) <= columns


def test_no_colour_when_not_a_tty_or_no_color(seed_path: Path) -> None:
    plain = run_cli("run", str(seed_path), env={"NO_COLOR": ""}).output
    assert "\x1b[" not in plain  # not a terminal: no escape codes at all
    forced = run_cli("run", str(seed_path), env={"FORCE_COLOR": "1", "NO_COLOR": "", "TERM": "xterm-256color"})
    assert COLOUR.search(forced.output)
    no_color = run_cli("run", str(seed_path), env={"FORCE_COLOR": "1", "NO_COLOR": "1", "TERM": "xterm-256color"})
    assert not COLOUR.search(no_color.output)


def test_markdown_and_json_formats(seed_path: Path) -> None:
    md = run_cli("run", str(seed_path), "--format", "markdown")
    assert md.exit_code == 0 and "| = z₁ | 5 | 2 | 1 |" in md.output
    doc = run_cli("run", str(SCENARIOS / "keras_defaults.yaml"), "--format", "json", "--steps", "2,4-5").json
    assert [step["t"] for step in doc["steps"]] == [2, 4, 5]


def test_html_and_svg_exports(seed_path: Path) -> None:
    page = run_cli("run", str(SCENARIOS / "keras_defaults.yaml"), "--format", "terminal-html", "--steps", "1")
    assert page.exit_code == 0 and page.output.startswith("<!DOCTYPE html>")
    assert "h₁ = o ⊙ tanh(c₁) = [0.5449·(-0.3544), 0.5744·(-0.4791), 0.3058·(-0.0794)]" in page.output
    assert re.search(r'<span style="color: #[0-9a-f]{6}[^"]*">\s*i input', page.output)  # coloured despite NO_COLOR
    picture = run_cli("run", str(seed_path), "--format", "svg")
    assert picture.exit_code == 0 and picture.output.startswith("<svg")
    title = "lstm-trace · The seed example: one LSTM step by hand".replace(" ", "&#160;")  # the window title
    assert title in picture.output
    assert (
        "h₁&#160;=&#160;o&#160;⊙&#160;linear(c₁)&#160;=&#160;[2·0,&#160;1·4,&#160;0·1]&#160;=&#160;[0&#160;4&#160;0]"
        in picture.output
    )
    box = [float(v) for v in re.search(r'viewBox="([^"]+)"', picture.output).group(1).split()]  # type: ignore[union-attr]
    assert box[2] / box[3] == pytest.approx(16 / 9)  # a 16:9 slide
    assert 'url("https://' not in picture.output  # rich's web fonts left out: a slide asks nothing of the network
    assert "weights: x rows" not in picture.output and not picture.stderr  # readable: no note that it is too small


def test_an_svg_slide_holds_one_step_unless_asked(tmp_path: Path) -> None:
    three = str(SCENARIOS / "seed_three_steps.yaml")
    one = run_cli("run", three, "--format", "svg").output
    assert "t=1" in one and "t=2" not in one and "returns" not in one
    both = run_cli("run", three, "--format", "svg", "--steps", "2-3", "--weights")
    assert "t=1" not in both.output and "t=2" in both.output and "t=3" in both.output
    assert "weights:&#160;x&#160;rows" in both.output  # --weights asks for the panel
    small = run_cli("run", three, "--format", "svg", "--steps", "all", "--weights", "--width", "200")
    assert "note: the text of this slide is" in small.stderr and "--out-dir DIR" in small.stderr


def test_precision_option(tmp_path: Path) -> None:
    out = run_cli("run", str(SCENARIOS / "gru.yaml"), "--precision", "2", "--width", "120").output
    assert re.search(r"\b0\.\d\d\b", out) and not re.search(r"\b0\.\d{3,}\b", out)


def test_check_passes_with_exit_0(tmp_path: Path) -> None:
    path = write_scenario(tmp_path, SEED + "expect:\n  h: [0, 4, 0]\n  steps:\n    1: {i: [5, 2, 1], o: [2, 1, 0]}\n")
    result = run_cli("check", str(path))
    assert result.exit_code == 0
    assert result.output.splitlines()[-1] == "all 3 values right (tolerance 0.0005)"
    assert result.output.count("✓") == 3


def test_check_explains_a_wrong_gate(tmp_path: Path) -> None:
    path = write_scenario(tmp_path, SEED + "expect:\n  steps:\n    1: {pre_f: [1, 1, 1]}\n")
    result = run_cli("check", str(path), "--width", "120")
    assert result.exit_code == 1
    assert "first wrong: pre_f₁[3]" in result.output
    assert "pre_f₁[3] = x₁·W_f[:,3] + h₀·U_f[:,3] + b_f[3] = 0 + 0 + 0 = 0" in result.output


def test_python_dash_m(seed_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "lstm_trace", "run", str(seed_path)],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env={"COLUMNS": "80", "PATH": ""},
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert "[0 4 0]" in done.stdout


def test_invalid_scenario_exit_2_without_traceback(tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "lstm_trace", "run", str(tmp_path / "none.yaml")],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 2
    assert "Traceback" not in done.stderr and "does not exist" in done.stderr
