"""`lstm-trace new`: scenarios for hand work, in every framework's own words, that load, trace and regenerate."""

from __future__ import annotations

import shlex
from pathlib import Path

import numpy as np
import pytest

import lstm_trace
from conftest import run_cli
from lstm_trace.frameworks import NAMES, get
from lstm_trace.newscenario import KINDS
from lstm_trace.yamlio import parse_yaml

LAYERS = [(framework, layer) for framework, layers in KINDS.items() for layer in layers]
SIGMOID_GATES = {("torch", "LSTM"), ("torch", "GRU"), ("tf1", "BasicLSTMCell"), ("tf1", "LSTMCell"), ("tf1", "GRUCell")}


def new(*args: str) -> str:
    result = run_cli("new", *args)
    assert result.exit_code == 0, result.stderr
    return result.output


def weights_of(text: str) -> list[float]:
    data = parse_yaml(text)
    return [float(v) for array in data["weights"].values() for v in np.ravel(np.asarray(array, dtype=float))]


def test_every_layer_the_frameworks_list_is_written() -> None:
    assert set(KINDS) == set(NAMES)
    for framework, layers in KINDS.items():
        assert set(layers) <= set(get(framework).layers), framework


@pytest.mark.parametrize(("framework", "layer"), LAYERS, ids=[f"{f}-{layer}" for f, layer in LAYERS])
@pytest.mark.parametrize("integers", [True, False], ids=["integers", "tenths"])
def test_every_framework_and_layer_loads_and_traces(framework: str, layer: str, integers: bool, tmp_path: Path):
    args = ["--framework", framework, "--layer", layer.lower(), "--units", "3", "--features", "2", "--steps", "3"]
    args += ["--batch", "2"] + (["--integers"] if integers else [])
    text = new(*args)
    path = tmp_path / "new.yaml"
    path.write_text(text, encoding="utf-8")
    scenario = lstm_trace.load(path)  # loads: names and shapes are the framework's own
    tr = lstm_trace.trace(scenario)
    run = tr.first
    assert run.h.shape == (4, 2, 3) and run.x.shape == (3, 2, 2) and run.cell.kind == KINDS[framework][layer]
    assert f"#   lstm-trace new --framework {framework} --layer {layer} --units 3" in text and "--seed 1" in text
    weights = weights_of(text)
    states = [run.h] + ([run.c] if run.c is not None else [])
    if integers and (framework, layer) not in SIGMOID_GATES:
        assert all(w == int(w) and abs(w) <= 2 for w in weights)
        assert all(np.array_equal(state, np.round(state)) for state in states)  # h and c are integers
        assert np.array_equal(run.act, np.round(run.act))
        assert np.abs(run.h).max() > 0  # not a trace of zeros
    else:
        assert all(abs(w) <= 0.5 and abs(w * 10 - round(w * 10)) < 1e-9 for w in weights)  # one decimal
        assert any(w != int(w) for w in weights)
        assert not np.array_equal(run.h, np.round(run.h))
    if integers and (framework, layer) in SIGMOID_GATES:
        assert "always σ (sigmoid)" in text
        assert np.array_equal(run.x, np.round(run.x))  # inputs stay integers


def test_integers_are_linear_where_the_framework_lets_us() -> None:
    keras = parse_yaml(new("--integers"))
    assert keras["config"]["activation"] is None and keras["config"]["recurrent_activation"] is None
    onnx = parse_yaml(new("--framework", "onnx", "--layer", "LSTM", "--integers"))
    assert onnx["config"]["activations"] == ["Affine"] * 3 and onnx["config"]["activation_alpha"] == [1] * 3
    assert parse_yaml(new("--framework", "torch", "--layer", "RNN", "--integers"))["config"]["nonlinearity"] == "relu"
    assert "activation" not in parse_yaml(new("--framework", "keras"))["config"]  # defaults without --integers


def test_the_seed_and_the_header_make_the_same_file_again(tmp_path: Path) -> None:
    text = new("--framework", "torch", "--layer", "GRU", "--seed", "7", "--steps", "4")
    command = next(line for line in text.splitlines() if line.startswith("#   lstm-trace new "))
    again = new(*shlex.split(command.removeprefix("#   lstm-trace "))[1:])
    assert again == text
    assert new() == new() and new("--seed", "2") != new()  # a fixed default seed
    assert "--seed 1" in new()


def test_sizes_and_shapes(tmp_path: Path) -> None:
    data = parse_yaml(new("--framework", "tf1", "--layer", "GRUCell", "--units", "3", "--features", "4",
                          "--steps", "5", "--batch", "2"))  # fmt: skip
    assert np.asarray(data["weights"]["gates/kernel"]).shape == (7, 6)  # (F + U, 2U) on concat([x, h])
    assert np.asarray(data["weights"]["candidate/kernel"]).shape == (7, 3)
    assert np.asarray(data["inputs"]).shape == (2, 5, 4)
    torch = parse_yaml(new("--framework", "torch", "--units", "3", "--features", "4"))
    assert np.asarray(torch["weights"]["weight_ih_l0"]).shape == (12, 4)
    onnx = parse_yaml(new("--framework", "onnx", "--units", "3", "--features", "4"))
    assert np.asarray(onnx["weights"]["B"]).shape == (1, 24)
    gru = parse_yaml(new("--layer", "GRU"))
    assert np.asarray(gru["weights"]["bias"]).shape == (2, 6) and gru["config"]["reset_after"] is True


def test_output_file_and_refusals(tmp_path: Path) -> None:
    out = tmp_path / "mine.yaml"
    written = run_cli("new", "--integers", "-o", str(out))
    assert written.exit_code == 0 and written.output == "" and out.read_text() == new("--integers")
    again = run_cli("new", "-o", str(out))
    assert again.exit_code == 2 and "exists" in again.stderr and out.read_text() == new("--integers")
    assert run_cli("new", "-o", str(out), "--force").exit_code == 0 and out.read_text() == new()
    assert run_cli("new", "--force").exit_code == 2
    bad = run_cli("new", "--framework", "tf1", "--layer", "GRUcel")
    assert bad.exit_code == 2 and "did you mean 'GRUCell'?" in bad.stderr and "Traceback" not in bad.stderr
    assert run_cli("new", "--framework", "keras", "--layer", "LSTMCell").exit_code == 2
    assert run_cli("new", "--units", "0").exit_code == 2
    assert run_cli("new", "--framework", "caffe").exit_code == 2


def test_help_teaches() -> None:
    text = run_cli("new", "--help").output
    assert "lstm-trace new --framework torch --layer GRU --units 3 --seed 7 -o gru.yaml" in text
