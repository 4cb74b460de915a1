"""`lstm-trace import` and `run MODEL`: the commands over the model readers, on the committed model files.

The ground truth is each file's .npz: the layer's own inputs and what the framework returned for them
(tools/make_fixtures.py models-*). Importing with those inputs and tracing must give those outputs.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import lstm_trace
from conftest import FIXTURES

MODELS = FIXTURES / "models"
STACK = MODELS / "onnx_torch_stack.onnx"
pytest.importorskip("onnx", reason="the onnx package (lstm-trace[models]) is not installed")


def _cli(*args: str) -> tuple[int, str, str]:
    done = subprocess.run([sys.executable, "-m", "lstm_trace", *args], capture_output=True, text=True, timeout=120)
    return done.returncode, done.stdout, done.stderr


def _inputs(tmp_path: Path, layer: str) -> Path:
    x = np.load(str(STACK) + ".npz")[f"{layer}/inputs"]
    path = tmp_path / "x.npy"
    np.save(path, x)
    return path


def test_list_names_every_recurrent_layer() -> None:
    code, out, err = _cli("import", str(STACK), "--list")
    assert code == 0, err
    assert out.splitlines() == [
        "onnx_torch_stack.onnx: ONNX model (opset 17, from pytorch 2.13.0)",
        "/lstm/LSTM  ONNX LSTM  W (2, 16, 3), R (2, 16, 4), B (2, 32)",
        "/lstm/LSTM_1  ONNX LSTM  W (2, 16, 8), R (2, 16, 4), B (2, 32)",
        "/gru/GRU  ONNX GRU  W (1, 9, 8), R (1, 9, 3), B (1, 18)",
        "/rnn/RNN  ONNX RNN  W (1, 5, 3), R (1, 5, 5), B (1, 10)",
    ]


def test_several_layers_without_layer_exit_2_listing_them() -> None:
    code, out, err = _cli("import", str(STACK))
    assert code == 2 and out == ""
    assert "this file holds 4 recurrent layers: say which with --layer NAME" in err
    assert "    /gru/GRU  ONNX GRU  W (1, 9, 8)" in err
    code, _, err = _cli("import", str(STACK), "--layer", "/gru/GRX")
    assert code == 2 and "/gru/GRU" in err  # the closest name


def test_imported_file_traces_to_onnxruntime(tmp_path: Path) -> None:
    out = tmp_path / "gru.yaml"
    code, _, err = _cli("import", str(STACK), "--layer", "/gru/GRU", "--inputs", str(_inputs(tmp_path, "/gru/GRU")),
                        "-o", str(out))  # fmt: skip
    assert code == 0, err
    assert f"wrote {out}: run it with lstm-trace run {out}" in err
    text = out.read_text()
    assert text.startswith("# ONNX GRU '/gru/GRU', imported from onnx_torch_stack.onnx: ONNX model")
    assert "# inputs: read from x.npy" in text
    assert "  # from onnx_torch_stack.onnx: initializer" in text  # each weight's source, above it
    reference = np.load(str(STACK) + ".npz")
    outputs = lstm_trace.trace(lstm_trace.load(out)).outputs
    np.testing.assert_allclose(outputs["sequence"], reference["/gru/GRU/Y"], rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(outputs["h"], reference["/gru/GRU/Y_h"], rtol=1e-5, atol=1e-6)


def test_run_reads_a_model_file_directly(tmp_path: Path) -> None:
    code, out, err = _cli("run", str(STACK), "--layer", "/rnn/RNN", "--inputs", str(_inputs(tmp_path, "/rnn/RNN")),
                          "--format", "json")  # fmt: skip
    assert code == 0, err
    got = json.loads(out)["outputs"]
    reference = np.load(str(STACK) + ".npz")
    np.testing.assert_allclose(np.asarray(got["sequence"]), reference["/rnn/RNN/Y"], rtol=1e-5, atol=1e-6)


def test_random_inputs_are_seeded_and_sized(tmp_path: Path) -> None:
    a = _cli("import", str(STACK), "--layer", "/rnn/RNN", "--random", "4", "--seed", "7")[1]
    b = _cli("import", str(STACK), "--layer", "/rnn/RNN", "--random", "4", "--seed", "7")[1]
    c = _cli("import", str(STACK), "--layer", "/rnn/RNN", "--random", "4", "--seed", "8")[1]
    assert a == b != c
    assert "inputs:  # shape (1, 4, 3)" in a


def test_inputs_of_the_wrong_width_exit_2(tmp_path: Path) -> None:
    path = tmp_path / "x.csv"
    path.write_text("1,2\n3,4\n")
    code, out, err = _cli("import", str(STACK), "--layer", "/rnn/RNN", "--inputs", str(path))
    assert code == 2 and out == ""
    assert "inputs of the wrong shape for this layer" in err and "(T, 3) or (B, T, 3)" in err
    assert "Traceback" not in err


def test_an_unknown_suffix_names_the_formats(tmp_path: Path) -> None:
    path = tmp_path / "model.ckpt"
    path.write_bytes(b"\0" * 16)
    code, _, err = _cli("import", str(path))
    assert code == 2
    assert (
        "unknown model file type '.ckpt'" in err
        and "one of .bin, .h5, .hdf5, .keras, .onnx, .pt, .pth, .safetensors" in err
    )


def _readable() -> list[Path]:
    from lstm_trace.errors import ScenarioError
    from lstm_trace.models import is_model_file, read_model

    files = []
    for path in sorted(MODELS.iterdir()):
        if is_model_file(path):
            try:
                read_model(path)
            except ScenarioError:  # the hostile and damaged files: their refusals are tested beside their readers
                continue
            files.append(path)
    return files


@pytest.mark.parametrize("path", _readable(), ids=lambda p: p.name)
def test_every_layer_of_every_model_file_imports_and_converts_or_is_refused(path: Path) -> None:
    from lstm_trace.convert import CannotExpress, convert
    from lstm_trace.models import read_model
    from lstm_trace.models.importing import Inputs, scenario_of

    for layer in read_model(path).layers:
        source = lstm_trace.Scenario.from_dict(scenario_of(layer, Inputs(batch=2, steps=4)), source=path)
        expressed = 0
        for target in ("keras", "keras2", "torch", "tf1", "onnx"):
            try:
                convert(source, target)  # NotEqual if the converted layer computes anything else
            except CannotExpress as exc:
                assert "\n  - " in exc.problem and exc.hint
                continue
            expressed += 1
        assert expressed >= 1, f"{path.name} {layer.name}"


def test_a_constant_initial_state_fixes_the_batch_of_made_up_inputs() -> None:
    code, out, err = _cli("import", str(MODELS / "onnx_constants.onnx"), "--layer", "LSTM_1")
    assert code == 0, err
    assert "inputs:  # shape (3, 5, " in out  # B = 3 from initial_h (2, 3, H); T = 5, the longest sequence_lens


def test_made_up_inputs_beyond_the_element_cap_are_refused_before_they_are_drawn(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from lstm_trace import limits
    from lstm_trace.errors import ScenarioError
    from lstm_trace.models import read_model
    from lstm_trace.models.importing import Inputs

    layer = read_model(STACK).select("/rnn/RNN")  # F = 3
    monkeypatch.setattr(limits, "MAX_ELEMENTS", 100)
    assert Inputs(steps=33).make(layer).shape == (1, 33, 3)  # 99 numbers: drawn
    with pytest.raises(ScenarioError, match="array too large to trace"):
        Inputs(steps=34).make(layer)  # 102


def test_a_layer_too_large_for_a_scenario_file_is_refused_before_its_text_is_made(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from lstm_trace import limits
    from lstm_trace.errors import ScenarioError
    from lstm_trace.models.importing import Inputs, import_layer

    monkeypatch.setattr(limits, "MAX_VALUES", 60)  # /rnn/RNN: W 15, R 25, B 10, inputs 1 × 3 × 3 = 59 numbers
    assert import_layer(STACK, "/rnn/RNN", Inputs(), "test").found.name == "/rnn/RNN"
    with pytest.raises(ScenarioError, match="more numbers than a scenario file may") as caught:
        import_layer(STACK, "/rnn/RNN", Inputs(steps=4), "test")  # 62
    assert "62 numbers" in str(caught.value)
