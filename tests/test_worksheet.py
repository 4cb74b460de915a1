"""Worksheets: blanks where the chosen quantities are printed, an expect block that check marks, the key."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import yaml

import lstm_trace
from conftest import FIXTURES, SCENARIOS, read_fixture, run_cli
from lstm_trace.expect import step_names
from lstm_trace.render.numbers import num
from lstm_trace.render.selection import Selection
from lstm_trace.render.worksheet import BLANK, Worksheet, blank_names
from lstm_trace.yamlio import parse_yaml

THREE = SCENARIOS / "seed_three_steps.yaml"


def sheet(path: Path, *args: str) -> str:
    result = run_cli("worksheet", str(path), *args)
    assert result.exit_code == 0, result.stderr
    return result.output


def answer_key(text: str) -> dict[tuple[int, str], str]:
    """(step, name) → the value text, read from the printed answer key table."""
    table = text.split("## answer key", 1)[1].strip().splitlines()
    names = [cell.strip() for cell in table[0].strip("|").split("|")][1:]
    key = {}
    for line in table[2:]:
        if not line.startswith("|"):
            break
        step, *cells = (cell.strip() for cell in line.strip("|").split("|"))
        for name, cell in zip(names, cells, strict=True):
            key[int(step), name] = cell.strip("`")
    return key


def skeleton(text: str) -> list[str]:
    return text.split("```yaml\n", 1)[1].split("\n```", 1)[0].splitlines()


def filled(text: str) -> str:
    """The printed expect skeleton with each `[..., ...]` replaced by the key's value, as a student writes it."""
    key, step, out = answer_key(text), 0, []
    for line in skeleton(text):
        if match := re.fullmatch(r"    (\d+):", line):
            step = int(match.group(1))
        elif match := re.fullmatch(r"      (\w+): (\[.*\])", line):
            assert "..." in match.group(2) and re.fullmatch(r"[\[\]., ]+", match.group(2))
            line = f"      {match.group(1)}: {key[step, match.group(1)]}"
        out.append(line)
    return "\n".join(out) + "\n"


def scenario_with(data: dict[str, Any], expect_block: str, tmp_path: Path) -> Path:
    plain = json.loads(json.dumps({k: v for k, v in data.items() if k != "expect"}))
    path = tmp_path / "answers.yaml"
    path.write_text(yaml.safe_dump(plain, sort_keys=False) + expect_block, encoding="utf-8")
    return path


def test_seed_three_steps_blanks_and_key() -> None:
    text = sheet(THREE, "--blank", "h,c,o")
    body = text.split("## how to check")[0]
    # blanked: o's cells in the gate row, the state updates, the next step's given state, h·U, the returns
    assert "| = gate | 7 | 4 | 1 | 3 | 3 | 0 | 0 | 4 | 3 | ____ | ____ | ____ |" in body
    assert "- `c₁ = f ⊙ c₀ + i ⊙ g = [____ ____ ____]`" in body
    assert "- `h₂ = o ⊙ linear(c₂) = [____ ____ ____]`" in body
    assert "`x₂ = [2 3]` · `h₁ = [____ ____ ____]` · `c₁ = [____ ____ ____]`" in body
    assert "| + h₁·U | " + " | ".join([BLANK] * 12) + " |" in body
    assert "- `h` (1, 3): `____`" in body and "- `sequence` (1, 3, 3): `____`" in body
    # shown: inputs, weights, the sums the student starts from (z₁ = x₁·W + b, x₁ = [1 2])
    assert "| = z₁ | 7 | 4 | 1 | 3 | 3 | 0 | 0 | 4 | 3 | 2 | 1 | 0 |" in body
    assert "`x₁ = [1 2]` · `h₀ = [0 0 0]` · `c₀ = [0 0 0]`" in body
    # worked by hand: o₁ = z₁'s o block = [2 1 0]; c₁ = i ⊙ g = [7·0, 4·4, 1·3] = [0 16 3]; h₁ = o ⊙ c₁ = [0 16 0];
    # z₂ = x₂·W + h₁·U + b with h₁·U = 16 × row 2 of U: o₂ = 0 + 32 + 2, 2 + 0 + 0, 0 = [34 2 0];
    # c₂ = f ⊙ c₁ + i ⊙ g = [4·0 + 26·0, 36·16 + 22·22, 16·3 + 2·37] = [0 1060 122]; h₂ = o₂ ⊙ c₂ = [0 2120 0]
    key = answer_key(text)
    assert key[1, "o"] == "[2, 1, 0]" and key[1, "c"] == "[0, 16, 3]" and key[1, "h"] == "[0, 16, 0]"
    assert key[2, "o"] == "[34, 2, 0]" and key[2, "c"] == "[0, 1060, 122]" and key[2, "h"] == "[0, 2120, 0]"
    assert key[3, "h"] == "[0, 27084252, 0]" and len(key) == 9
    assert skeleton(text)[:5] == [
        "expect:",
        "  steps:",
        "    1:",
        "      h: [..., ..., ...]",
        "      c: [..., ..., ...]",
    ]
    assert skeleton(text)[-1] == "  tolerance: 0.0005"
    for value in ("1060", "27084252", "9028084", "271381"):  # the key (2120 is also f₃[3])
        assert value not in body


def test_filled_skeleton_passes_check_and_one_slip_fails(tmp_path: Path) -> None:
    text = sheet(THREE, "--blank", "h,c,o,pre_i")
    block = filled(text)
    path = scenario_with(parse_yaml(THREE.read_text()), block, tmp_path)
    assert run_cli("check", str(path)).exit_code == 0
    wrong = block.replace("c: [0, 1060, 122]", "c: [0, 1061, 122]")
    assert wrong != block
    path.write_text(path.read_text().replace(block, wrong))
    result = run_cli("check", str(path))
    assert result.exit_code == 1 and "✗ c₂" in result.output


CASES = [
    (SCENARIOS / "keras_defaults.yaml", "h,c,i,f,g,o", ()),  # sigmoid and tanh: four-digit answers
    (SCENARIOS / "gru.yaml", "h,z,r,n,pre_n", ()),
    (SCENARIOS / "simplernn.yaml", "h,pre_h", ()),
    (SCENARIOS / "onnx_seed.yaml", "h,c,pre_c", ()),  # ONNX's own block name c is the candidate's sum
    (SCENARIOS / "tf1_peepholes.yaml", "h,c,j,o", ("--steps", "2-4")),  # batch of three, peepholes, clip
    (FIXTURES / "keras" / "gru_reset_before.yaml", "h,r,n", ()),  # (r ⊙ h)·U
    (FIXTURES / "tf1" / "lstmcell_num_proj.yaml", "h,c,o", ()),  # h is the projection of m
]


def _data(path: Path) -> dict[str, Any]:
    if path.is_relative_to(FIXTURES):
        return read_fixture(path)[0]
    return parse_yaml(path.read_text(), path)


@pytest.mark.parametrize(("path", "names", "args"), CASES, ids=[p.stem for p, _, _ in CASES])
def test_every_kind_fills_into_a_passing_expect_block(path: Path, names: str, args: tuple[str, ...], tmp_path: Path):
    data = {key: value for key, value in _data(path).items() if key != "expect"}
    source = tmp_path / "sheet.yaml"
    source.write_text(yaml.safe_dump(json.loads(json.dumps(data)), sort_keys=False), encoding="utf-8")
    text = sheet(source, "--blank", names, *args)
    block = filled(text)
    answers = scenario_with(data, block, tmp_path)
    report = run_cli("check", str(answers), "--format", "json").json
    assert report["ok"], report
    assert len(report["results"]) == len(answer_key(text))  # one checked value per key entry, all right
    assert {(r["step"], r["quantity"]) for r in report["results"]} == set(answer_key(text))


def _numbers(*arrays: Any) -> set[str]:
    return {num(v) for array in arrays if array is not None for v in np.ravel(array)}


@pytest.mark.parametrize(
    "path",
    [
        SCENARIOS / "keras_defaults.yaml",
        SCENARIOS / "gru.yaml",
        FIXTURES / "keras" / "gru_reset_before.yaml",
        SCENARIOS / "tf1_peepholes.yaml",
        FIXTURES / "tf1" / "lstmcell_num_proj.yaml",
        FIXTURES / "onnx" / "lstm_peepholes.yaml",
        SCENARIOS / "simplernn.yaml",
    ],
    ids=lambda path: path.stem,
)
def test_no_blanked_value_shows_before_the_key(path: Path) -> None:
    """Blank everything a student computes: no value of it is printed above the key.

    Only numbers the student is given may coincide with one: inputs, weights, x·W, h₀·U, clip bounds.
    """
    tr = lstm_trace.trace(lstm_trace.Scenario.from_dict(_data(path)))
    run, cell = tr.first, tr.first.cell
    every = [name for name, canonical in step_names(tr.scenario.network).items() if canonical != "x"]
    names = blank_names(tr.scenario.network, every)
    worksheet = Worksheet(tr, names, Selection(batch=tuple(range(run.h.shape[1]))), "s.yaml")
    body, key = "\n".join(worksheet.lines()).split("## answer key")
    given = _numbers(run.x, run.xw, run.hu[0], run.h[0], None if run.c is None else run.c[0])
    given |= _numbers(cell.kernel, cell.recurrent, cell.bias, cell.recurrent_bias, cell.runtime_bias)
    given |= _numbers(cell.peepholes, cell.projection, cell.cell_clip, cell.proj_clip, cell.pre_clip)
    hidden = _numbers(*(run.quantity(name, s) for s in range(run.steps) for name in names)) - given
    hidden = {text for text in hidden if len(text.lstrip("-")) >= 6}  # 0.1234: no chance matches
    assert len(hidden) > 5
    assert hidden & set(re.findall(r"-?\d+(?:\.\d+)?", body)) == set()  # numbers, not digits inside numbers
    assert all(text in key for text in hidden)


def test_an_equation_that_would_give_a_blank_away_keeps_only_its_symbols() -> None:
    text = sheet(SCENARIOS / "keras_defaults.yaml", "--blank", "o", "--steps", "2")
    # c₂ uses no blank: its working shows; h₂ = o ⊙ tanh(c₂) would show o₂ in its products: the result only
    assert "- `c₂ = f ⊙ c₁ + i ⊙ g = [0.0677·(-0.3704) + 0.3575·(-0.9910), " in text
    assert "- `h₂ = o ⊙ tanh(c₂) = [-0.2299 -0.5158 -0.0005]`" in text
    assert answer_key(text) == {(2, "o"): "[0.6348, 0.7126, 0.1128]"}  # o₂ as `run` shows it
    body = text.split("## answer key")[0]
    assert "0.6348" not in body and "0.7126" not in body and "| = gate | " in body
    gru = Worksheet(
        lstm_trace.trace(lstm_trace.Scenario.from_dict(_data(FIXTURES / "keras" / "gru_reset_before.yaml"))),
        ("r",),
        Selection(steps=(1,)),
        "s.yaml",
    )
    lines = list(gru.lines())
    assert "*r ⊙ h₁ = [____ ____ ____]; the h block's h₁·U row is (r ⊙ h₁)·U: r resets h before the product.*" in lines
    assert "| + h₁·U | -0.0704 | -0.3489 | 0.0887 | -0.2205 | 0.0771 | 0.1800 | ____ | ____ | ____ |" in lines


def test_only_the_chosen_steps_are_blank() -> None:
    text = sheet(THREE, "--blank", "h", "--steps", "2")
    assert "### step t=1" not in text and "`h₁ = [0 16 0]`" in text  # step 2 starts from a given h₁
    assert "- `h₂ = o ⊙ linear(c₂) = [____ ____ ____]`" in text
    assert "- `h` (1, 3): `[[0 27084252 0]]`" in text  # h₃ is not blank: the final h shows
    assert "- `sequence` (1, 3, 3): `____`" in text  # it holds h₂
    assert answer_key(text) == {(2, "h"): "[0, 2120, 0]"}


def test_fewer_units_shown_than_expect_takes() -> None:
    text = sheet(THREE, "--blank", "c", "--units", "2", "--steps", "1")
    assert "| = gate | 4 | 3 | 4 | 1 |" in text  # one unit per block
    assert "`expect` takes every unit, also those this worksheet does not show." in text
    assert answer_key(text) == {(1, "c"): "[0, 16, 3]"}


def test_framework_names_are_taken_and_unknown_ones_refused(tmp_path: Path) -> None:
    tf1 = sheet(SCENARIOS / "tf1_peepholes.yaml", "--blank", "j", "--steps", "1")
    assert "| t | g |" in tf1  # TF1's j is the candidate, g
    bad = run_cli("worksheet", str(THREE), "--blank", "h,cc")
    assert bad.exit_code == 2 and "unknown quantity to blank 'cc'" in bad.stderr
    assert "did you mean 'c'?" in bad.stderr and "Traceback" not in bad.stderr
    assert run_cli("worksheet", str(THREE), "--blank", "x").exit_code == 2  # the input is given, never blank
    assert run_cli("worksheet", str(THREE), "--blank", " , ").exit_code == 2
    assert run_cli("worksheet", str(THREE), "--blank", "h", "--steps", "4").exit_code == 2
    assert run_cli("worksheet", str(THREE)).exit_code == 2  # --blank is required
    two = run_cli("worksheet", str(SCENARIOS / "torch_bilstm.yaml"), "--blank", "h")
    assert two.exit_code == 2 and "one layer in one direction" in two.stderr


def test_html_is_printable_escaped_and_holds_the_same_content(tmp_path: Path) -> None:
    data = parse_yaml(THREE.read_text())
    data["title"] = "<script>alert(1)</script> & *stars*"
    path = tmp_path / "evil.yaml"
    path.write_text(yaml.safe_dump(json.loads(json.dumps(data)), sort_keys=False), encoding="utf-8")
    page = sheet(path, "--blank", "h,c", "--format", "html")
    assert page.startswith("<!DOCTYPE html>") and "<style>" in page and "@media print" in page
    assert "<script" not in page and "&lt;script&gt;alert(1)&lt;/script&gt; &amp;" in page
    assert "http" not in page and "src=" not in page  # self-contained
    assert page.count('<span class="blank"></span>') == sheet(path, "--blank", "h,c").count(BLANK)
    assert "<td>= z₂</td>" in page and '<td class="num">26</td>' in page
    assert "<pre>expect:\n  steps:\n    1:\n      h: [..., ..., ...]" in page
    assert '<hr class="break">' in page and page.index("<h2>how to check") < page.index("<h2>answer key")


def test_help_teaches() -> None:
    result = run_cli("worksheet", "--help")
    assert "lstm-trace worksheet scenarios/seed_three_steps.yaml --blank h,c,o" in result.output
