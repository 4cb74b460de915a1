"""Hard to break: every invalid input is exit 2 with one clear message, never a traceback; quietly wrong
answers are refused; nothing from a file or the input reaches the terminal raw.

Each class of the hardening work has its own test. The seed scenario (conftest.SEED) is a Keras LSTM(3)
with integer weights and linear activations whose final h is [0 4 0] and c is [0 4 1] (README, seed.yaml):
where a hardened input must still be read right, the test checks those numbers.
"""

from __future__ import annotations

import os
import subprocess
import sys
import zipfile
from pathlib import Path

import numpy as np
import pytest

from conftest import ROOT, SEED, run_cli, write_scenario
from lstm_trace.output import fallback
from lstm_trace.yamlio import parse_yaml

SEED_H = [[0.0, 4.0, 0.0]]
INPUTS = "inputs: [[[1, 0]]]"
BIAS = "bias: [3, 1, 0, 1, 1, 0, 0, 1, 0, 2, 0, 0]"
TORCH_RNN = """\
framework: torch
layer: RNN
config: {hidden_size: 1}
weights: {npz: w.npz}
inputs: [[1]]
"""


def refused(path: Path, *parts: str, command: str = "run") -> str:
    """Exit 2, one `error:` message holding every part, nothing on stdout, no traceback."""
    result = run_cli(command, str(path))
    assert result.exit_code == 2, result.stderr + result.output
    assert result.stderr.startswith("error: "), result.stderr
    assert "Traceback" not in result.stderr + result.output
    assert result.output == ""
    for part in parts:
        assert part in result.stderr, f"{part!r} not in:\n{result.stderr}"
    return result.stderr


def traced_h(path: Path) -> list[list[float]]:
    result = run_cli("run", str(path), "--format", "json")
    assert result.exit_code == 0, result.stderr
    h: list[list[float]] = result.json["outputs"]["h"]
    return h


def with_inputs(tmp_path: Path, value: str) -> Path:
    return write_scenario(tmp_path, SEED.replace(INPUTS, f"inputs: {value}"))


def cli(
    *args: str, env: dict[str, str] | None = None, shell_suffix: str = "", encoding: str = "utf-8"
) -> subprocess.CompletedProcess[str]:
    """lstm-trace in a real process (bash), where the environment and the file descriptors matter."""
    command = " ".join([sys.executable, "-m", "lstm_trace", *(f"'{a}'" for a in args)]) + shell_suffix
    full_env = {**os.environ, "PYTHONPATH": str(ROOT), "NO_COLOR": "1", **(env or {})}
    return subprocess.run(
        command, shell=True, executable="/bin/bash", env=full_env, capture_output=True, encoding=encoding, timeout=120
    )


def one_line_error(stderr: str, *parts: str) -> None:
    lines = stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), stderr
    assert "Traceback" not in stderr
    for part in parts:
        assert part in lines[0], stderr


# ---- tracebacks that are messages now ---------------------------------------------------------------------------


def _npz_bytes(tmp_path: Path) -> bytes:
    np.savez(tmp_path / "good.npz", x=np.array([[[1.0, 0.0]]]))
    return (tmp_path / "good.npz").read_bytes()


@pytest.mark.parametrize(
    ("damage", "why"),
    [
        ("truncated", "not a readable zip archive"),
        ("crc", "fails its checksum"),
        ("not zip", "not a readable zip archive"),
        ("empty", "it is empty"),
    ],
)
def test_damaged_npz_files_are_messages(tmp_path: Path, damage: str, why: str) -> None:
    good = _npz_bytes(tmp_path)
    if damage == "truncated":
        bad = good[: len(good) // 2]
    elif damage == "crc":  # one byte of the stored array's data flipped: the zip's CRC-32 no longer matches
        data = bytearray(good)
        data[good.index(b"\x93NUMPY") + 130] ^= 0xFF
        bad = bytes(data)
    elif damage == "not zip":
        bad = b"PK\x03\x04" + b"garbage" * 20
    else:
        bad = b""
    (tmp_path / "w.npz").write_bytes(bad)
    refused(with_inputs(tmp_path, "{npz: w.npz}"), "inputs", "not a readable .npz array file", why)
    refused(write_scenario(tmp_path, TORCH_RNN, "torch.yaml"), "weights", "not a readable .npz array file", why)


def test_the_crc_damage_is_real(tmp_path: Path) -> None:
    """The flipped byte lies inside the stored member, so zipfile itself reports the CRC (the test above is real)."""
    good = bytearray(_npz_bytes(tmp_path))
    good[good.index(b"\x93NUMPY") + 130] ^= 0xFF
    (tmp_path / "bad.npz").write_bytes(bytes(good))
    with zipfile.ZipFile(tmp_path / "bad.npz") as archive:
        assert archive.testzip() == "x.npy"


@pytest.mark.parametrize("levels", [33, 70])
def test_nesting_deeper_than_an_array_is_refused(tmp_path: Path, levels: int) -> None:
    """70 levels once reached numpy's 64-dimension limit; a long row takes the fast path (json) too."""
    deep = "[" * levels + "1" + "]" * levels
    refused(with_inputs(tmp_path, deep), "inputs[0]", "nested lists too deep", "at most 32 levels")
    long_row = "[" * levels + ", ".join(["1"] * 1200) + "]" * levels  # > 2000 characters: the fast path reads it
    refused(with_inputs(tmp_path, long_row), "nested lists too deep")


def test_nesting_of_a_hundred_thousand_levels(tmp_path: Path) -> None:
    """Once a RecursionError in the fast path's json; now YAML's own limit, with the line."""
    refused(with_inputs(tmp_path, "[" * 100_000 + "1" + "]" * 100_000), "line 8", "exceeded maximum nesting depth")


@pytest.mark.parametrize(
    ("value", "tag", "expected"),
    [
        ("!!timestamp 2001-13-45", "!!timestamp", "a date or time"),
        ("!!float abc", "!!float", "a number: 1.5"),
        ("!!int 1.5", "!!int", "a whole number"),
        ("!!bool maybe", "!!bool", "true or false"),
        ("!!int ١", "!!int", "a whole number"),  # int() would read the Arabic-Indic digit as 1
        ("!!float 1_0", "!!float", "a number: 1.5"),  # float() would read 10
    ],
)
def test_explicit_tags_with_bad_values(tmp_path: Path, value: str, tag: str, expected: str) -> None:
    path = with_inputs(tmp_path, f"[[[1, {value}]]]")
    refused(path, "line 8", f"the value is not what the tag {tag} says", "(column 15)", expected, f"found:    {value}")


def test_explicit_tags_with_good_values_are_read() -> None:
    data = parse_yaml("a: !!int 0x1F\nb: !!float 2\nc: !!bool true\nd: !!float .inf\n")
    assert (data["a"], data["b"], data["c"], data["d"]) == (31, 2.0, True, float("inf"))


BIG = "9" * 400  # an integer beyond float range (about 1.8e308)


@pytest.mark.parametrize(
    ("old", "new", "where"),
    [
        ("bias: [3, 1,", f"bias: [{BIG}, 1,", "weights.bias[0]"),
        (INPUTS, f"inputs: [[[1, {BIG}]]]", "inputs[0][0][1]"),
        (INPUTS, f"{INPUTS}\ninitial_state: {{h0: [[0, {BIG}, 0]]}}", "initial_state.h0[0][1]"),
        (INPUTS, f"{INPUTS}\nexpect: {{h: [0, {BIG}, 0]}}", "expect.h[1]"),
        (INPUTS, f"{INPUTS}\nbackward: {{h: [[0, {BIG}, 0]]}}", "backward.h[0][1]"),
    ],
)
def test_integers_beyond_float_range(tmp_path: Path, old: str, new: str, where: str) -> None:
    path = write_scenario(tmp_path, SEED.replace(old, new))
    refused(path, where, "number beyond float range", "an integer of 400 digits")


def test_integers_beyond_float_range_in_the_fast_path(tmp_path: Path) -> None:
    row = ", ".join(["1"] * 1200)
    refused(with_inputs(tmp_path, f"[[{row}, {BIG}]]"), "inputs[0][1200]", "number beyond float range")


def test_integers_beyond_float_range_as_tolerance_and_config(tmp_path: Path) -> None:
    refused(write_scenario(tmp_path, SEED + f"expect: {{tolerance: {BIG}, h: [0, 4, 0]}}\n"), "expect.tolerance",
            "finite number", "an integer of 400 digits", command="check")  # fmt: skip
    tf1 = f"framework: tf1\nlayer: BasicLSTMCell\nconfig: {{num_units: 1, forget_bias: {BIG}}}\n"
    tf1 += "weights: {kernel: [[1, 1, 1, 1], [1, 1, 1, 1]], bias: [0, 0, 0, 0]}\ninputs: [[1]]\n"
    refused(write_scenario(tmp_path, tf1, "tf1.yaml"), "config.forget_bias", "must be a finite number", "400 digits")


def test_integers_beyond_the_digit_limit(tmp_path: Path) -> None:
    """Python refuses to read integers of more than 4300 digits: said with the line, before anything else."""
    path = with_inputs(tmp_path, f"[[[1, {'9' * 5000}]]]")
    refused(path, "line 8", "an integer of 5,000 digits is too long to read", "(5,000 digits)")
    refused(write_scenario(tmp_path, SEED + f"expect: {{tolerance: {'1' * 5000}}}\n", "t.yaml"), "line 9",
            "5,000 digits", command="check")  # fmt: skip


def test_file_names_too_long_for_the_system(tmp_path: Path) -> None:
    long_name = "a" * 300
    refused(with_inputs(tmp_path, f"{{npy: {long_name}.npy}}"), "inputs", "array file cannot be opened",
            "File name too long")  # fmt: skip
    refused(tmp_path / f"{long_name}.yaml", "the scenario file cannot be read: File name too long")
    result = run_cli("new", "-o", str(tmp_path / long_name))
    assert result.exit_code == 2 and "-o: cannot write" in result.stderr and "File name too long" in result.stderr


@pytest.mark.parametrize(
    ("text", "parts"),
    [
        (SEED.replace("units: 3", "units: 0"), ("config.units", "positive whole number", "found:    0")),
        ("framework: torch\nlayer: RNN\nconfig: {hidden_size: 0}\nweights: {weight_ih_l0: [], weight_hh_l0: []}\n"
         "inputs: [[1]]\n", ("config.hidden_size", "positive whole number")),
        ("framework: onnx\nlayer: RNN\nconfig: {hidden_size: 0}\nweights: {W: [[]], R: [[]]}\ninputs: [[[1]]]\n",
         ("config.hidden_size", "positive whole number")),
        ("framework: keras\nlayer: SimpleRNN\nweights: {kernel: 2, recurrent_kernel: 3, bias: 1}\ninputs: [[1]]\n",
         ("weights.recurrent_kernel", "a 2-D recurrent_kernel", "shape ()")),
        (SEED.replace("kernel: [[2, 1, 1, 0, 0, 0, 0, 1, 1, 0, 1, 0], [1, 1, 0, 1, 1, 0, 0, 1, 1, 0, 0, 0]]",
                      "kernel: 5"), ("weights.kernel", "shape (2, 12)", "found:    shape ()")),
    ],
)  # fmt: skip
def test_zero_units_and_scalars_where_matrices_belong(tmp_path: Path, text: str, parts: tuple[str, ...]) -> None:
    refused(write_scenario(tmp_path, text), *parts)


# ---- output that cannot be written ------------------------------------------------------------------------------


@pytest.mark.skipif(not Path("/dev/full").exists(), reason="needs /dev/full")
@pytest.mark.parametrize(
    "args",
    [
        ("run", "{path}"),
        ("run", "{path}", "--format", "json"),
        ("run", "{path}", "--format", "markdown"),
        ("check", "{path}"),
        ("new",),
        ("run", "--help"),
        ("--version",),
    ],
)
def test_a_full_disk_is_one_message(tmp_path: Path, args: tuple[str, ...]) -> None:
    path = write_scenario(tmp_path, SEED + "expect: {h: [0, 4, 0]}\n")
    done = cli(*(a.replace("{path}", str(path)) for a in args), shell_suffix=" > /dev/full")
    assert done.returncode == 2
    one_line_error(done.stderr, "cannot write to standard output: No space left on device")


def test_a_closed_stdout_is_one_message(tmp_path: Path) -> None:
    path = write_scenario(tmp_path, SEED)
    for fmt in ("terminal", "json"):
        done = cli("run", str(path), "--format", fmt, shell_suffix=" >&-")
        assert done.returncode == 2
        one_line_error(done.stderr, "standard output is closed")
    done = cli("present", str(path), shell_suffix=" >&-")  # Python has no sys.stdout at all to ask isatty()
    assert done.returncode == 2
    one_line_error(done.stderr, "present needs a terminal")


def test_a_reader_that_goes_away_is_one_message(tmp_path: Path) -> None:
    """`| head -c 10`: the pipe closes after ten bytes of a long trace (400 steps, far more than a pipe holds)."""
    steps = ", ".join(["[1, 0]"] * 400)
    path = write_scenario(tmp_path, SEED.replace(INPUTS, f"inputs: [[{steps}]]").replace(", activation: null", ""))
    done = cli("run", str(path), "--steps", "all", shell_suffix=" | head -c 10 > /dev/null; exit ${PIPESTATUS[0]}")
    one_line_error(done.stderr, "broken pipe")


def test_an_ascii_terminal_gets_ascii_stand_ins(tmp_path: Path) -> None:
    """The seed's unit 2 at step 1: h₁[2] = o₁[2]·c₁[2] = 1·4 = 4 (o = [2 1 0], c = [0 4 1]), in ASCII."""
    path = write_scenario(tmp_path, SEED)
    done = cli("run", str(path), "--explain", env={"PYTHONIOENCODING": "ascii"})
    assert done.returncode == 0, done.stderr
    assert done.stdout.isascii()
    assert "h_1[2] = o_1[2] * c_1[2] = 1 * 4 = 4" in done.stdout
    assert "c_1[3] = f_1[3] * c_0[3] + i_1[3] * g_1[3] = 0 * 0 + 1 * 1 = 1" in done.stdout
    markdown = cli("run", str(path), "--format", "markdown", env={"PYTHONIOENCODING": "ascii"})
    assert markdown.returncode == 0 and markdown.stdout.isascii(), markdown.stderr


def test_a_latin1_terminal_keeps_what_latin1_has(tmp_path: Path) -> None:
    path = write_scenario(tmp_path, SEED)
    done = cli("run", str(path), "--explain", env={"PYTHONIOENCODING": "latin-1"}, encoding="latin-1")
    assert done.returncode == 0, done.stderr
    assert "h_1[2] = o_1[2] · c_1[2] = 1 · 4 = 4" in done.stdout  # · is Latin-1; the subscripts are not


def test_a_page_is_utf8_whatever_the_terminal(tmp_path: Path) -> None:
    """The page says charset="utf-8": it is written in UTF-8 even where the terminal is ASCII."""
    path = write_scenario(tmp_path, 'title: "σ of café"\n' + SEED)
    done = subprocess.run(
        [sys.executable, "-m", "lstm_trace", "run", str(path), "--format", "html"],
        env={**os.environ, "PYTHONPATH": str(ROOT), "PYTHONIOENCODING": "ascii"},
        capture_output=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    assert b'charset="utf-8"' in done.stdout
    assert "σ of café".encode() in done.stdout


def test_ascii_stand_ins() -> None:
    assert fallback("h₁₂[3] = σ(x₁·W) ⊙ c₀ … ≥ 0", "ascii") == "h_12[3] = sigma(x_1*W) (.) c_0 ... >= 0"
    assert fallback("δh₁ ✓ ✗ ⚠ é", "ascii") == "dh_1 ok X ! e"
    assert fallback("x₁·W", "utf-8") == "x₁·W"
    assert fallback("x₁·W", "iso8859-1") == "x_1·W"


# ---- quietly wrong answers, refused ----------------------------------------------------------------------------


@pytest.mark.parametrize("tolerance", [".nan", ".inf", "-1"])
def test_tolerance_must_be_finite(tmp_path: Path, tolerance: str) -> None:
    """A NaN tolerance made every value wrong with an invented explanation (exit 1)."""
    path = write_scenario(tmp_path, SEED + f"expect: {{tolerance: {tolerance}, h: [0, 4, 0]}}\n")
    refused(path, "expect.tolerance", "tolerance must be a finite number ≥ 0", command="check")


@pytest.mark.parametrize(
    ("framework", "config", "where"),
    [
        ("tf1", "{num_units: 1, forget_bias: .nan}", "config.forget_bias"),
        ("tf1", "{num_units: 1, forget_bias: -.inf}", "config.forget_bias"),
        ("tf1", "{num_units: 1, cell_clip: .inf}", "config.cell_clip"),
        ("onnx", "{hidden_size: 1, clip: .inf}", "config.clip"),
        ("onnx", "{hidden_size: 1, activations: [LeakyRelu, Tanh, Tanh], activation_alpha: [.nan]}",
         "config.activation_alpha[0]"),
        ("torch", "{hidden_size: 1, dropout: .nan}", "config.dropout"),
    ],
)  # fmt: skip
def test_nan_and_inf_in_config_numbers(tmp_path: Path, framework: str, config: str, where: str) -> None:
    """Every state turned NaN with exit 0 and no warning."""
    weights = {
        "tf1": "{kernel: [[1, 1, 1, 1], [1, 1, 1, 1]], bias: [0, 0, 0, 0]}",
        "onnx": "{W: [[[1], [1], [1], [1]]], R: [[[1], [1], [1], [1]]]}",
        "torch": "{weight_ih_l0: [[1], [1], [1], [1]], weight_hh_l0: [[1], [1], [1], [1]], bias_ih_l0: [0, 0, 0, 0],"
        " bias_hh_l0: [0, 0, 0, 0]}",
    }[framework]
    layer = {"tf1": "LSTMCell", "onnx": "LSTM", "torch": "LSTM"}[framework]
    inputs = "[[[1]]]" if framework == "onnx" else "[[1]]"
    text = f"framework: {framework}\nlayer: {layer}\nconfig: {config}\nweights: {weights}\ninputs: {inputs}\n"
    refused(write_scenario(tmp_path, text), where, "must be a finite number")


def test_finite_config_numbers_still_trace(tmp_path: Path) -> None:
    """A finite forget_bias (0.5) is taken: two steps of a BasicLSTMCell(1) whose weights are all 1 and biases 0,
    worked by hand: every block's sum is z = x + h_prev, f = σ(z + 0.5)."""
    text = "framework: tf1\nlayer: BasicLSTMCell\nconfig: {num_units: 1, forget_bias: 0.5}\n"
    text += "weights: {kernel: [[1, 1, 1, 1], [1, 1, 1, 1]], bias: [0, 0, 0, 0]}\ninputs: [[1], [1]]\n"
    result = run_cli("run", str(write_scenario(tmp_path, text)), "--format", "json")
    assert result.exit_code == 0, result.stderr

    def sigma(v: float) -> float:
        return float(1 / (1 + np.exp(-v)))

    c1 = sigma(1) * np.tanh(1)  # c₀ = 0: the forget gate has nothing to keep at step 1
    h1 = sigma(1) * np.tanh(c1)
    z = 1 + h1
    c2 = sigma(z + 0.5) * c1 + sigma(z) * np.tanh(z)
    h2 = sigma(z) * np.tanh(c2)
    assert np.allclose(result.json["outputs"]["c"], [[c2]], atol=1e-6)
    assert np.allclose(result.json["outputs"]["h"], [[h2]], atol=1e-6)


def test_get_weights_list_plus_a_top_level_shortcut(tmp_path: Path) -> None:
    """The top-level kernel used to be ignored without a word."""
    text = SEED.replace("weights:\n  kernel: ", "kernel: [[9]]\nweights:\n  - ")
    text = text.replace("  recurrent_kernel: ", "  - ").replace("  bias: ", "  - ")
    refused(write_scenario(tmp_path, text), "line 4", "kernel at the top cannot be added to a get_weights() list")
    plain = write_scenario(tmp_path, text.replace("kernel: [[9]]\n", ""), "plain.yaml")
    assert traced_h(plain) == SEED_H  # the list alone is the seed's weights


@pytest.mark.parametrize("value", ["[]", "false", "0", "''"])
def test_initial_state_that_is_not_a_mapping(tmp_path: Path, value: str) -> None:
    """`initial_state: []` or `false` was read as no initial state."""
    refused(write_scenario(tmp_path, SEED + f"initial_state: {value}\n"), "initial_state must be a mapping")


def test_expected_state_written_as_a_column(tmp_path: Path) -> None:
    """h is (1, 3); (3, 1) has as many values, and was compared as if it were the row."""
    path = write_scenario(tmp_path, SEED + "expect: {h: [[0], [4], [0]]}\n")
    refused(path, "expect.h", "wrong shape", "3 units along the last axis", "shape (3, 1)", command="check")
    for good in ("[0, 4, 0]", "[[0, 4, 0]]"):
        result = run_cli("check", str(write_scenario(tmp_path, SEED + f"expect: {{h: {good}}}\n", "ok.yaml")))
        assert result.exit_code == 0, result.stderr + result.output


@pytest.mark.parametrize(
    ("cell", "why"),
    [
        ("١", "digits other than ASCII 0-9"),
        ("1_0", "an underscore"),
        ("", "an empty cell"),
        ("0x10", "text that is not a number"),
    ],
)
def test_csv_cells_only_ascii_numbers(tmp_path: Path, cell: str, why: str) -> None:
    """float() reads ١ as 1 and 1_0 as 10: the trace would have used numbers the file does not show."""
    (tmp_path / "b.csv").write_text(f"3,1,0,1,1,0,0,1,0,2,0,{cell}\n", encoding="utf-8")
    path = write_scenario(tmp_path, SEED.replace(BIAS, "bias: {csv: b.csv}"))
    refused(path, "weights.bias", "a CSV cell is not a number", f"b.csv, line 1, column 12: {why}")


def test_csv_with_a_byte_order_mark_is_read(tmp_path: Path) -> None:
    (tmp_path / "b.csv").write_text("\ufeff3,1,0,1,1,0,0,1,0,2,0,0\n", encoding="utf-8")
    assert traced_h(write_scenario(tmp_path, SEED.replace(BIAS, "bias: {csv: b.csv}"))) == SEED_H


def test_csv_real_causes(tmp_path: Path) -> None:
    (tmp_path / "u16.csv").write_bytes("3,1,0,1,1,0,0,1,0,2,0,0\n".encode("utf-16"))
    refused(write_scenario(tmp_path, SEED.replace(BIAS, "bias: {csv: u16.csv}")),
            "the CSV file u16.csv is UTF-16 text, which is not supported", "save it as UTF-8")  # fmt: skip
    (tmp_path / "b.csv").write_text("3,1,0,1,1,0,0,1,0,2,0,0\n", encoding="utf-8")
    for delimiter in ('""', "5", "'.'"):
        path = write_scenario(tmp_path, SEED.replace(BIAS, f"bias: {{csv: b.csv, delimiter: {delimiter}}}"))
        refused(path, "weights.bias.delimiter", "a CSV delimiter is one or more characters")
    semicolons = tmp_path / "s.csv"
    semicolons.write_text("3;1;0;1;1;0;0;1;0;2;0;0\n", encoding="utf-8")
    assert traced_h(write_scenario(tmp_path, SEED.replace(BIAS, "bias: {csv: s.csv, delimiter: ';'}"))) == SEED_H


def test_utf16_scenario_is_named(tmp_path: Path) -> None:
    path = tmp_path / "s.yaml"
    path.write_bytes(SEED.encode("utf-16"))
    refused(path, "the scenario is UTF-16 text, which is not supported", "save it as UTF-8")
    path.write_bytes(SEED.encode("utf-16-le"))  # without a byte order mark
    refused(path, "UTF-16 text")


NUMBERS = "[" + ", ".join(["0.5"] * 600) + "]"  # > 2000 characters: the fast path's size


@pytest.mark.parametrize(
    ("text", "want"),
    [
        (f"description: |\n  A long text\n  {NUMBERS}\n", f"A long text\n{NUMBERS}\n"),
        (f"description: |-\n  {NUMBERS}\n", NUMBERS),
        (f'description: "a\n  {NUMBERS}\n  b"\n', f"a {NUMBERS} b"),
        ("title: __lstm_trace_array_0__\n", "__lstm_trace_array_0__"),
    ],
)
def test_fast_path_leaves_text_alone(text: str, want: str) -> None:
    """A line of numbers inside a string is the string's; a title equal to the placeholder stays the title."""
    data = parse_yaml(text + f"inputs: [{NUMBERS}]\n")
    key = "description" if "description" in data else "title"
    assert data[key] == want
    assert data["inputs"] == [[0.5] * 600]


def test_merge_keys_are_yaml_merges(tmp_path: Path) -> None:
    """`<<:` then an override is legal YAML (the override wins); the same key twice in one mapping is not."""
    data = parse_yaml("defaults: &d {units: 2, activation: null}\nconfig:\n  <<: *d\n  units: 3\n")
    assert data["config"] == {"units": 3, "activation": None}
    assert data["config"].line_of("units") == 4 and data["config"].line_of("activation") == 1
    data = parse_yaml("a: &a {x: 1, y: 2}\nb: &b {x: 3, z: 4}\nc:\n  <<: [*a, *b]\n  y: 5\n")
    assert data["c"] == {"x": 1, "z": 4, "y": 5}  # the first merged mapping gives x; the own key gives y
    merged = SEED.replace(
        "config: {units: 3, activation: null, recurrent_activation: null}",
        "config:\n  <<: {units: 2, activation: null, recurrent_activation: null}\n  units: 3",
    )
    assert traced_h(write_scenario(tmp_path, merged)) == SEED_H
    twice = SEED.replace("units: 3,", "units: 3, units: 3,")
    refused(write_scenario(tmp_path, twice, "twice.yaml"), "the key 'units' appears twice in one mapping")


def test_json_says_which_options_do_not_apply(tmp_path: Path) -> None:
    path = write_scenario(tmp_path, SEED)
    result = run_cli("run", str(path), "--format", "json", "--units", "1", "--batch", "1", "--precision", "2")
    assert result.exit_code == 0
    assert "note: --units, --batch, --precision do not apply to --format json" in result.stderr
    assert result.json["outputs"]["h"] == SEED_H  # every unit, in full
    quiet = run_cli("run", str(path), "--format", "json", "--steps", "1")
    assert quiet.exit_code == 0 and quiet.stderr == ""
    checked = run_cli("check", str(write_scenario(tmp_path, SEED + "expect: {h: [0, 4, 0]}\n", "e.yaml")),
                      "--format", "json", "--precision", "2")  # fmt: skip
    assert checked.exit_code == 0 and "note: --precision does not apply to --format json" in checked.stderr


@pytest.mark.parametrize("columns", ["1", "0", "39"])
def test_narrow_columns_draw_40(tmp_path: Path, columns: str) -> None:
    path = write_scenario(tmp_path, SEED)
    narrow = run_cli("run", str(path), env={"COLUMNS": columns})
    at_40 = run_cli("run", str(path), "--width", "40")
    assert narrow.exit_code == 0
    assert narrow.output == at_40.output
    assert max(len(line) for line in narrow.output.splitlines()) <= 40


# ---- nothing leaked, nothing injected ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("old", "new"),
    [
        ("framework: keras", 'framework: keras\n"\\e]0;owned\\a\\e[31mX": 1'),  # a key: the field path
        ("framework: keras", 'framework: "\\e[2Jkeras"'),  # a value: the message
        ("units: 3", 'units: 3, "\\e[31mx\\0": 1'),  # a config key
        (INPUTS, f'{INPUTS}\nbackward: {{loss: sum, of: "\\e[31mh"}}'),  # the backward block
        ("layer: LSTM", 'layer: "LSTM\\u202e"'),  # a bidi override reorders what follows it on screen
    ],
)
def test_control_characters_never_reach_the_terminal(tmp_path: Path, old: str, new: str) -> None:
    message = refused(write_scenario(tmp_path, SEED.replace(old, new)))
    assert "\x1b" not in message and "\x00" not in message and "\x07" not in message and "\u202e" not in message
    assert "�" in message or "\\x1b" in message or "\\u202e" in message  # shown, not obeyed


def test_control_characters_in_command_line_selectors(tmp_path: Path) -> None:
    result = run_cli("run", str(write_scenario(tmp_path, SEED)), "--steps", "\x1b[31m1")
    assert result.exit_code == 2 and "\x1b" not in result.stderr and "--steps" in result.stderr


def test_a_file_that_is_not_csv_is_never_quoted(tmp_path: Path) -> None:
    secret = "root:x:0:0:SECRET-TOKEN-123:/root:/bin/bash"
    (tmp_path / "passwd").write_text(secret + "\n", encoding="utf-8")
    message = refused(with_inputs(tmp_path, "{csv: passwd}"), "a CSV cell is not a number", "line 1, column 1")
    assert "SECRET" not in message and "bin/bash" not in message


@pytest.mark.skipif(not Path("/proc/self/environ").exists(), reason="needs /proc")
def test_the_environment_is_never_quoted(tmp_path: Path) -> None:
    path = with_inputs(tmp_path, "{csv: /proc/self/environ}")
    done = cli("run", str(path), env={"LSTM_TRACE_TEST_SECRET": "hunter2-do-not-print"})
    assert done.returncode == 2
    assert "hunter2" not in done.stderr + done.stdout
    one_line_error(done.stderr, "the CSV file environ is a binary file, not text")


def test_pickles_are_named_without_numpys_advice(tmp_path: Path) -> None:
    np.save(tmp_path / "obj.npy", np.array([[1, None]], dtype=object), allow_pickle=True)
    np.savez(tmp_path / "w.npz", x=np.array([[1, None]], dtype=object))
    for ref, path in (("{npy: obj.npy}", with_inputs(tmp_path, "{npy: obj.npy}")),
                      ("weights", write_scenario(tmp_path, TORCH_RNN, "torch.yaml"))):  # fmt: skip
        message = refused(path, "it holds Python objects (pickled), which are never loaded")
        assert "allow_pickle" not in message, ref


def test_numpy_messages_never_quote_the_file(tmp_path: Path) -> None:
    """numpy's own 'magic string' message quotes the file's first bytes."""
    (tmp_path / "x.npy").write_text("PASSWORD=abc\n", encoding="utf-8")
    message = refused(with_inputs(tmp_path, "{npy: x.npy}"), "not a readable .npy array file", "not a numpy file")
    assert "PASSWORD" not in message


def test_long_found_values_are_cut_short(tmp_path: Path) -> None:
    lengths = "[" + ", ".join(["1"] * 2000) + "]"
    text = (
        f"framework: tf1\nlayer: BasicRNNCell\nconfig: {{num_units: 1, dynamic_rnn: {{sequence_length: {lengths}}}}}\n"
    )
    text += "weights: {kernel: [[1], [1]], bias: [0]}\ninputs: [[1]]\n"
    message = refused(write_scenario(tmp_path, text), "sequence_length must give each batch row's length")
    found = next(line for line in message.splitlines() if "found:" in line)
    assert found.endswith("...]") and len(found) < 250 and len(message) < 1000  # the list's first items
