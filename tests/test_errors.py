"""Every class of bad input: exit 2, one clear message (file, line, field, expected, found, hint), no traceback."""

from __future__ import annotations

import tracemalloc
from pathlib import Path

import numpy as np
import pytest

from conftest import SCENARIOS, SEED, run_cli, write_scenario


def refused(path: Path, *parts: str) -> str:
    result = run_cli("run", str(path))
    assert result.exit_code == 2, result.output
    message = result.stderr
    assert message.startswith("error: "), message
    assert "Traceback" not in message + result.output
    assert result.output == ""  # nothing traced, nothing written
    for part in parts:
        assert part in message, f"{part!r} not in:\n{message}"
    return message


def test_yaml_syntax_error_has_line_and_column(tmp_path: Path) -> None:
    path = write_scenario(tmp_path, "framework: keras\ninputs: [[1, 2]\nweights: {}\n")
    refused(path, str(path), "line 3", "column", "YAML syntax error")


def test_empty_file(tmp_path: Path) -> None:
    refused(write_scenario(tmp_path, ""), "the scenario is empty")


def test_not_a_mapping(tmp_path: Path) -> None:
    refused(write_scenario(tmp_path, "- 1\n- 2\n"), "a scenario is a YAML mapping", "found:    a list")


def test_python_tags_are_refused_not_run(tmp_path: Path) -> None:
    marker = tmp_path / "pwned"
    text = f"inputs: !!python/object/apply:os.system ['touch {marker}']\n"
    refused(write_scenario(tmp_path, text), "tags that construct objects are not allowed", "python/object/apply")
    assert not marker.exists()


def test_alias_bomb_refused_by_count(tmp_path: Path) -> None:
    """Ten levels of ten aliases describe 10^11 numbers in eleven lines; refused before any array is built."""
    lines = ["  a0: &a0 [1, 1, 1, 1, 1, 1, 1, 1, 1, 1]"]
    lines += [f"  a{k}: &a{k} [{', '.join([f'*a{k - 1}'] * 10)}]" for k in range(1, 10)]
    text = "framework: keras\nconfig:\n  units: 3\nweights:\n" + "\n".join(lines)
    text += "\ninputs: [" + ", ".join(["*a9"] * 10) + "]\n"
    tracemalloc.start()
    # a7 is the first to stand for more than MAX_ELEMENTS numbers: refused where it is written, while parsing
    refused(write_scenario(tmp_path, text), "array too large", "line 12: weights.a7[", "elements")
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert peak < 20 * 2**20  # refused before any of the 10^11 elements was built


def test_ragged_array(tmp_path: Path) -> None:
    path = write_scenario(tmp_path, SEED.replace("[[[1, 0]]]", "[[1, 0], [1]]"))
    refused(path, "ragged array", "inputs[1]", "line 8")


@pytest.mark.parametrize(
    ("value", "found"),
    [('[[[1, "0"]]]', "the string '0'"), ("[[[1, true]]]", "a boolean"), ("[[[1, abc]]]", "the string 'abc'")],
)
def test_non_numbers(tmp_path: Path, value: str, found: str) -> None:
    refused(write_scenario(tmp_path, SEED.replace("[[[1, 0]]]", value)), "not a number", found, "inputs[0][0][1]")


def test_wrong_number_of_dimensions(tmp_path: Path) -> None:
    refused(write_scenario(tmp_path, SEED.replace("[[[1, 0]]]", "[1, 0]")), "inputs", "(T, F)", "shape (2,)")


def test_kernel_shape_mismatch_says_what_is_expected(tmp_path: Path) -> None:
    text = SEED.replace(
        "[[2, 1, 1, 0, 0, 0, 0, 1, 1, 0, 1, 0], [1, 1, 0, 1, 1, 0, 0, 1, 1, 0, 0, 0]]",
        "[[2, 1, 1, 0, 0, 0, 0, 1], [1, 1, 0, 1, 1, 0, 0, 1]]",
    )
    refused(write_scenario(tmp_path, text), "weights.kernel", "line 5", "shape (2, 12)", "units=3", "shape (2, 8)")


def test_inputs_features_disagree_with_kernel(tmp_path: Path) -> None:
    path = write_scenario(tmp_path, SEED.replace("[[[1, 0]]]", "[[[1, 0, 2]]]"))
    refused(path, "weights.kernel", "shape (3, 12)", "F=3 input features", "found:    shape (2, 12)")


def test_initial_state_shape(tmp_path: Path) -> None:
    path = write_scenario(tmp_path, SEED + "initial_state: {h0: [[1, 2]]}\n")
    refused(path, "initial_state.h0", "shape (1, 3)", "shape (1, 2)")


@pytest.mark.parametrize(
    ("old", "new", "parts"),
    [
        ("framework: keras", "framework: kears", ("unknown framework 'kears'", "did you mean 'keras'", "keras2")),
        ("layer: LSTM", "layer: LTSM", ("unknown layer 'LTSM'", "did you mean 'LSTM'", "SimpleRNN")),
        ("activation: null,", "activation: tanhh,", ("unknown keras activation 'tanhh'", "did you mean 'tanh'")),
        ("units: 3", "unitz: 3, units: 3", ("config.unitz", "unknown LSTM option 'unitz'", "did you mean 'units'")),
        ("  bias:", "  biass:", ("weights.biass", "unknown LSTM weight", "did you mean 'bias'")),
        ("inputs:", "input:", ("unknown key 'input'", "did you mean 'inputs'")),
    ],
)
def test_unknown_names_suggest_the_closest(tmp_path: Path, old: str, new: str, parts: tuple[str, ...]) -> None:
    assert old in SEED
    refused(write_scenario(tmp_path, SEED.replace(old, new, 1)), *parts)


def test_keras3_only_activation_in_keras2(tmp_path: Path) -> None:
    text = SEED.replace("framework: keras", "framework: keras2").replace("activation: null,", "activation: hard_silu,")
    refused(write_scenario(tmp_path, text), "unknown keras2 activation 'hard_silu'", "only in Keras 3")


def test_enum_lists_valid_values(tmp_path: Path) -> None:
    refused(write_scenario(tmp_path, SEED + "dtype: float16\n"), "unknown dtype 'float16'", "float32, float64")


def test_wrong_option_type(tmp_path: Path) -> None:
    text = SEED.replace("units: 3,", "units: 3, go_backwards: 'yes',")
    refused(write_scenario(tmp_path, text), "config.go_backwards", "expected: bool", "'yes'")


def test_missing_array_file(tmp_path: Path) -> None:
    refused(
        write_scenario(tmp_path, SEED.replace("[[[1, 0]]]", "{npy: nowhere.npy}")),
        "array file does not exist",
        "nowhere.npy",
    )


def test_array_file_that_is_not_an_array(tmp_path: Path) -> None:
    (tmp_path / "bad.npy").write_text("not numpy")
    refused(write_scenario(tmp_path, SEED.replace("[[[1, 0]]]", "{npy: bad.npy}")), "not a readable .npy")


def test_array_file_with_wrong_dtype(tmp_path: Path) -> None:
    np.save(tmp_path / "words.npy", np.array(["a", "b"]))
    refused(write_scenario(tmp_path, SEED.replace("[[[1, 0]]]", "{npy: words.npy}")), "holds no numbers", "<U1")


def test_npz_needs_a_key(tmp_path: Path) -> None:
    np.savez(tmp_path / "w.npz", a=np.zeros(2), b=np.ones(2))
    refused(write_scenario(tmp_path, SEED.replace("[[[1, 0]]]", "{npz: w.npz}")), "say which with key", "a, b")


def test_non_utf8_file(tmp_path: Path) -> None:
    path = tmp_path / "latin1.yaml"
    path.write_bytes("title: caf\xe9\n".encode("latin-1"))
    refused(path, "not UTF-8", "byte 0xe9")


def test_binary_file(tmp_path: Path) -> None:
    path = tmp_path / "blob.yaml"
    path.write_bytes(b"\x00\x01\x02binary")
    refused(path, "binary file")


def test_directory_given_as_file(tmp_path: Path) -> None:
    refused(tmp_path, "is a directory")


def test_missing_file(tmp_path: Path) -> None:
    refused(tmp_path / "nope.yaml", "does not exist")


def test_bias_given_with_use_bias_false(tmp_path: Path) -> None:
    text = SEED.replace("units: 3,", "units: 3, use_bias: false,")
    refused(write_scenario(tmp_path, text), "use_bias is false, but a bias is given", "weights.bias")


def test_duplicate_key(tmp_path: Path) -> None:
    refused(write_scenario(tmp_path, SEED + "framework: keras2\n"), "appears twice")


def test_mixed_precision_policy(tmp_path: Path) -> None:
    text = SEED.replace("units: 3,", "units: 3, dtype: mixed_float16,")
    refused(write_scenario(tmp_path, text), "unsupported dtype policy", "mixed_float16")


def test_selection_out_of_range(seed_path: Path) -> None:
    result = run_cli("run", str(seed_path), "--steps", "2")
    assert result.exit_code == 2
    assert "--steps: 2 is beyond the last (1)" in result.stderr


def test_selection_that_does_not_parse(seed_path: Path) -> None:
    result = run_cli("run", str(seed_path), "--units", "a-b")
    assert result.exit_code == 2
    assert "--units takes numbers and ranges" in result.stderr


def test_check_without_expect(tmp_path: Path) -> None:
    result = run_cli("check", str(write_scenario(tmp_path, SEED)))
    assert result.exit_code == 2
    assert "no expect block" in result.stderr


def test_expect_with_wrong_shape(tmp_path: Path) -> None:
    result = run_cli("check", str(write_scenario(tmp_path, SEED + "expect: {h: [1, 2]}\n")))
    assert result.exit_code == 2
    assert "expect.h" in result.stderr and "3 values" in result.stderr


TORCH_RNN = """\
framework: torch
layer: RNN
config: {hidden_size: 1, OPTION}
weights: {weight_ih_l0: [[1]], weight_hh_l0: [[1]], bias_ih_l0: [0], bias_hh_l0: [0]}
inputs: [[1]]
"""
TF1_CELL = """\
framework: tf1
layer: LAYER
config: {num_units: 1, OPTION}
weights: {kernel: [[1, 1, 1, 1], [1, 1, 1, 1]], bias: [0, 0, 0, 0]}
inputs: [[1]]
"""


@pytest.mark.parametrize(
    ("option", "found"),
    [
        ("return_sequences: 'no'", "'no'"),
        ("return_sequences: no", "'no'"),  # YAML 1.2: a string, not false
        ("return_sequences: 'false'", "'false'"),
        ("return_sequences: 0", "0"),
        ("return_state: 1", "1"),
        ("return_state: null", "None"),
        ("go_backwards: 'no'", "'no'"),
        ("use_bias: 'yes'", "'yes'"),
        ("stateful: 'false'", "'false'"),
        ("unroll: 0", "0"),
        ("trainable: 'true'", "'true'"),
        ("unit_forget_bias: 1", "1"),
        ("zero_output_for_mask: off", "'off'"),
    ],
)
def test_keras_booleans_are_booleans(tmp_path: Path, option: str, found: str) -> None:
    field = "config." + option.split(":")[0]
    text = SEED.replace("units: 3,", f"units: 3, {option},")
    refused(write_scenario(tmp_path, text), f"line 3: {field}: wrong type", "expected: bool", f"found:    {found}")


@pytest.mark.parametrize(
    ("framework", "layer", "option"),
    [("keras2", "LSTM", "time_major: 'no'"), ("keras", "GRU", "reset_after: 'no'")],
)
def test_keras_layer_booleans_are_booleans(tmp_path: Path, framework: str, layer: str, option: str) -> None:
    text = f"framework: {framework}\nlayer: {layer}\nconfig: {{units: 1, {option}}}\n" + (
        "weights: {kernel: [[1, 1, 1]], recurrent_kernel: [[1, 1, 1]], bias: [[0, 0, 0], [0, 0, 0]]}\ninputs: [[1]]\n"
    )
    field = "config." + option.split(":")[0]
    refused(write_scenario(tmp_path, text), f"line 3: {field}: wrong type", "expected: bool", "found:    'no'")


@pytest.mark.parametrize(
    ("option", "found"),
    [("batch_first: 'yes'", "'yes'"), ("batch_first: 1", "1"), ("bias: 'false'", "'false'"), ("bidirectional: 0", "0")],
)
def test_torch_booleans_are_booleans(tmp_path: Path, option: str, found: str) -> None:
    field = "config." + option.split(":")[0]
    text = TORCH_RNN.replace("OPTION", option)
    refused(write_scenario(tmp_path, text), f"line 3: {field}: wrong type", "expected: bool", f"found:    {found}")


@pytest.mark.parametrize(
    ("layer", "option", "field", "found"),
    [
        ("LSTMCell", "use_peepholes: 'yes'", "config.use_peepholes", "'yes'"),
        ("BasicLSTMCell", "state_is_tuple: 1", "config.state_is_tuple", "1"),
        ("BasicLSTMCell", "dynamic_rnn: {time_major: 'no'}", "config.dynamic_rnn.time_major", "'no'"),
        ("BasicLSTMCell", "dynamic_rnn: {swap_memory: 0}", "config.dynamic_rnn.swap_memory", "0"),
    ],
)
def test_tf1_booleans_are_booleans(tmp_path: Path, layer: str, option: str, field: str, found: str) -> None:
    text = TF1_CELL.replace("LAYER", layer).replace("OPTION", option)
    refused(write_scenario(tmp_path, text), f"line 3: {field}: wrong type", "expected: bool", f"found:    {found}")


@pytest.mark.parametrize(
    ("attribute", "found"),
    [("layout: 1.0", "1.0"), ("layout: 'no'", "'no'"), ("input_forget: false", "False"), ("input_forget: 0.0", "0.0")],
)
def test_onnx_flags_are_0_or_1(tmp_path: Path, attribute: str, found: str) -> None:
    """ONNX's flags are int attributes: 0 or 1, never a boolean or a float."""
    key = attribute.split(":")[0]
    text = (SCENARIOS / "onnx_seed.yaml").read_text(encoding="utf-8")
    text = text.replace("  hidden_size: 3\n", f"  hidden_size: 3\n  {attribute}\n", 1)
    refused(write_scenario(tmp_path, text), f"config.{key}: {key} must be 0 or 1", f"found:    {found}")


def test_a_title_cannot_send_escape_sequences_to_the_terminal(tmp_path: Path) -> None:
    text = (SCENARIOS / "seed.yaml").read_text()
    path = tmp_path / "s.yaml"
    path.write_text(
        'title: "Seed \\e[31mred\\e]0;owned\\a"\n'
        + "\n".join(line for line in text.splitlines() if not line.startswith("title:"))
    )
    result = run_cli("run", str(path))
    assert result.exit_code == 0
    assert "\x1b" not in result.output and "\x07" not in result.output
    assert "Seed �[31mred�]0;owned�" in result.output
