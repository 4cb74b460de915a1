"""ONNX model files: every recurrent node of the committed models traces to onnxruntime's outputs, and hostile
files are refused without reading outside the model's folder.

The .onnx files and their .npz (each node's own X and its Y, Y_h, Y_c from onnxruntime) are written by
`tools/make_fixtures.py models-onnx`; nothing here imports a framework.
"""

from __future__ import annotations

import shutil
import sys
import tracemalloc
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import lstm_trace
from conftest import FIXTURES, assert_matches
from lstm_trace import limits
from lstm_trace.errors import ScenarioError
from lstm_trace.models import ModelError, read_model
from lstm_trace.models.onnx_file import read

MODELS = FIXTURES / "models"
TRACED = ("onnx_torch_stack", "onnx_torch_external", "onnx_constants", "onnx_keras")
OUTPUTS = {"Y": "sequence", "Y_h": "h", "Y_c": "c"}

# Every file opened and every process started while `_watching` records (a hook cannot be removed: one, idle
# unless recording). Reading a model file must open nothing outside its folder and start nothing.
_EVENTS: list[tuple[str, tuple[Any, ...]]] | None = None


def _hook(event: str, args: tuple[Any, ...]) -> None:
    if _EVENTS is not None and (event == "open" or event.startswith(("subprocess.", "os.system", "os.exec"))):
        _EVENTS.append((event, args))


sys.addaudithook(_hook)


def refused(path: Path, match: str) -> tuple[str, set[str]]:
    """read_model(path)'s ModelError (its message must match), and every file opened while it read; no process
    may start."""
    global _EVENTS
    import onnx  # noqa: F401  (imported before recording: its own files are not the model's)

    _EVENTS = []
    try:
        with pytest.raises(ModelError, match=match) as error:
            read_model(path)
        events = _EVENTS
    finally:
        _EVENTS = None
    assert [event for event, _ in events if event != "open"] == []
    return str(error.value), {str(args[0]) for _, args in events if isinstance(args[0], (str, Path))}


def traced_layers() -> list[tuple[str, str]]:
    return [(stem, layer.name) for stem in TRACED for layer in read_model(MODELS / f"{stem}.onnx").layers]


# ---- every node of every model traces to onnxruntime ----------------------------------------
@pytest.mark.parametrize(("stem", "name"), traced_layers())
def test_every_node_traces_to_onnxruntime(stem: str, name: str) -> None:
    path = MODELS / f"{stem}.onnx"
    found = read_model(path).select(name)
    with np.load(MODELS / f"{stem}.onnx.npz") as npz:
        expected = {key.removeprefix(f"{name}/"): npz[key] for key in npz.files if key.startswith(f"{name}/")}
    x = expected.pop("inputs")
    assert x.shape[2] == found.features
    outputs = lstm_trace.trace(lstm_trace.Scenario.from_dict(dict(found.scenario, inputs=x))).outputs
    assert set(expected) == ({"Y", "Y_h", "Y_c"} if found.kind == "ONNX LSTM" else {"Y", "Y_h"})
    for key, want in expected.items():
        assert_matches(outputs[OUTPUTS[key]], want, found.dtype, f"{stem} {name} {key}")


@pytest.mark.parametrize("stem", TRACED)
def test_the_npz_holds_exactly_the_layers_read(stem: str) -> None:
    with np.load(MODELS / f"{stem}.onnx.npz") as npz:
        in_npz = {key.rsplit("/", 1)[0] for key in npz.files}
    assert in_npz == {layer.name for layer in read_model(MODELS / f"{stem}.onnx").layers}


# ---- what is read, and what the scenario says --------------------------------------------
def test_torch_stack_lists_four_nodes_and_wants_one() -> None:
    model = read_model(MODELS / "onnx_torch_stack.onnx")
    assert model.format == "ONNX model (opset 17, from pytorch 2.13.0)"
    # read against the generator: LSTM(3→4, 2 layers, bidirectional) → GRU(8→3) → RNN(3→5): W (D, G·H, F)
    assert model.listing() == (
        "/lstm/LSTM  ONNX LSTM  W (2, 16, 3), R (2, 16, 4), B (2, 32)\n"
        "/lstm/LSTM_1  ONNX LSTM  W (2, 16, 8), R (2, 16, 4), B (2, 32)\n"
        "/gru/GRU  ONNX GRU  W (1, 9, 8), R (1, 9, 3), B (1, 18)\n"
        "/rnn/RNN  ONNX RNN  W (1, 5, 3), R (1, 5, 5), B (1, 10)"
    )
    with pytest.raises(ModelError, match="holds 4 recurrent layers") as error:
        model.select(None)
    assert "/rnn/RNN  ONNX RNN" in str(error.value)
    with pytest.raises(ScenarioError, match="unknown layer") as unknown:
        model.select("/gru/gru")
    assert "did you mean '/gru/GRU'" in str(unknown.value)
    gru = model.select("/gru/GRU")
    assert (gru.kind, gru.features, gru.dtype) == ("ONNX GRU", 8, "float32")
    assert gru.scenario["config"] == {"hidden_size": 3, "linear_before_reset": 1}
    assert "initial_state" not in gru.scenario  # computed from the input's shape: left out, zeros
    assert any(n.startswith("initial_h is computed by the ConstantOfShape node") for n in gru.notes)
    assert any("X is computed by the Reshape node '/lstm/Reshape_1'" in n for n in gru.notes)
    rnn = model.select("/rnn/RNN")
    assert rnn.scenario["config"] == {"hidden_size": 5, "activations": ["Relu"]}
    first = model.select("/lstm/LSTM")
    assert first.scenario["config"] == {"hidden_size": 4, "direction": "bidirectional"}
    assert not any(n.startswith("X is") for n in first.notes)  # the graph's input itself
    assert first.sources["W"].startswith("onnx_torch_stack.onnx: initializer 'onnx::LSTM_")


def test_external_data_inside_the_folder_is_read_with_where_it_came_from() -> None:
    layer = read_model(MODELS / "onnx_torch_external.onnx").select(None)
    assert layer.sources["W"].endswith("(external data onnx_torch_external.onnx.data, bytes 0..320)")
    assert layer.sources["initial_h"] == "onnx_torch_external.onnx: initializer 'h0'"  # small: kept inline
    assert layer.scenario["initial_state"]["initial_c"].shape == (1, 2, 5)
    assert layer.scenario["weights"]["W"].shape == (1, 20, 4)


def test_constants_identity_sequence_lens_and_unnamed_nodes() -> None:
    model = read_model(MODELS / "onnx_constants.onnx")
    assert [layer.name for layer in model.layers] == ["LSTM_1", "gru_reverse"]
    lstm = model.select("LSTM_1")
    assert "The node has no name: it is called LSTM_1 here." in lstm.notes
    # float32 attributes as their shortest decimals, as the generator wrote them (0.45, not 0.44999998...)
    assert lstm.scenario["config"] == {
        "hidden_size": 3,
        "activations": ["Sigmoid", "Tanh", "Tanh", "HardSigmoid", "Softsign", "Tanh"],
        "activation_alpha": [0.25],
        "activation_beta": [0.45],
        "clip": 2.5,
        "direction": "bidirectional",
        "sequence_lens": [5, 2, 4],
    }
    assert lstm.sources["W"] == "onnx_constants.onnx: Constant node 'W_constant'"
    assert lstm.sources["R"] == "onnx_constants.onnx: initializer 'lstm_R_stored' through Identity node 'R_identity'"
    assert sorted(lstm.scenario["weights"]) == ["B", "P", "R", "W"]
    gru = model.select("gru_reverse")
    assert sorted(gru.scenario["weights"]) == ["R", "W"]  # B is given at run time: left out (zeros)
    assert "B is the graph input 'gru_bias', given at run time: left out, so no bias (zeros)" in " ".join(gru.notes)


def test_keras_export_reads_tf2onnx_names() -> None:
    model = read_model(MODELS / "onnx_keras.onnx")
    assert [(layer.name, layer.kind) for layer in model.layers] == [("LSTM__42", "ONNX LSTM"), ("GRU__60", "ONNX GRU")]
    assert model.select("GRU__60").scenario["config"]["linear_before_reset"] == 1  # Keras 2's reset_after


# ---- refused ------------------------------------------------------------------------------
def test_truncated_file() -> None:
    with pytest.raises(ModelError, match="not a readable ONNX model: it is truncated or damaged"):
        read_model(MODELS / "onnx_truncated.onnx")


def test_garbage_and_empty_files(tmp_path: Path) -> None:
    garbage = tmp_path / "garbage.onnx"
    garbage.write_bytes(b"\xff" * 64)
    with pytest.raises(ModelError, match="truncated or damaged"):
        read_model(garbage)
    empty = tmp_path / "empty.onnx"
    empty.write_bytes(b"")  # a valid, empty ModelProto: no node at all
    with pytest.raises(ModelError, match="no recurrent layer in this file"):
        read_model(empty).select(None)


def test_a_directory_is_refused(tmp_path: Path) -> None:
    folder = tmp_path / "model.onnx"
    folder.mkdir()
    with pytest.raises(ModelError, match="is a directory"):
        read(folder)


def test_w_computed_by_another_node() -> None:
    with pytest.raises(ModelError, match="W of the GRU node '/GRU' is not stored in the file") as error:
        read_model(MODELS / "onnx_computed_w.onnx")
    assert "computed by the Unsqueeze node '/Unsqueeze'" in str(error.value)
    assert "do_constant_folding=True" in str(error.value)


def test_dims_claiming_more_than_the_file_holds_allocate_nothing() -> None:
    path = MODELS / "onnx_hostile_dims.onnx"
    assert path.stat().st_size < 1000
    tracemalloc.start()
    try:
        with pytest.raises(ModelError, match=r"dims \(1, 4000000, 2\) claim 32,000,000 bytes, but the file holds 16"):
            read_model(path)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 4_000_000, peak  # the claim is 32 MB


def test_element_cap(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(limits, "MAX_ELEMENTS", 40)  # the first W is (2, 16, 3): 96 numbers
    with pytest.raises(ModelError, match="too large: its dims") as error:
        read_model(MODELS / "onnx_torch_stack.onnx")
    assert "at most 40" in str(error.value)


def test_external_data_past_the_end_of_its_file() -> None:
    with pytest.raises(ModelError, match="external data runs past the end of its file") as error:
        read_model(MODELS / "onnx_hostile_external_size.onnx")
    assert "offset 4,096, length 16" in str(error.value)


def _inside(tmp_path: Path, stem: str) -> tuple[Path, Path]:
    """The hostile model copied into tmp_path/model/, and tmp_path/outside.bin holding exactly the 16 bytes
    its W wants: a reader that followed the location would succeed."""
    folder = tmp_path / "model"
    folder.mkdir()
    model = folder / f"{stem}.onnx"
    shutil.copyfile(MODELS / f"{stem}.onnx", model)
    outside = tmp_path / "outside.bin"
    outside.write_bytes(np.array([1.5, -2.0, 0.25, 3.0], "<f4").tobytes())
    return model, outside


def test_location_with_parent_escape(tmp_path: Path) -> None:
    model, _ = _inside(tmp_path, "onnx_hostile_parent")
    message, opened = refused(model, "external data leads outside the model's folder")
    assert "../outside.bin" in message
    assert opened == {str(model)}  # the model, and nothing else: not outside.bin


def test_absolute_location() -> None:
    path = MODELS / "onnx_hostile_absolute.onnx"
    message, opened = refused(path, "external data is at an absolute location")
    assert "/etc/passwd" in message
    assert opened == {str(path)}


def test_symlink_leading_out(tmp_path: Path) -> None:
    model, _ = _inside(tmp_path, "onnx_hostile_symlink")
    (model.parent / "onnx_hostile_symlink.weights").symlink_to(Path("..") / "outside.bin")
    message, opened = refused(model, "external data leads outside the model's folder")
    assert "onnx_hostile_symlink.weights" in message
    assert opened == {str(model)}


def test_the_same_file_inside_the_folder_is_read(tmp_path: Path) -> None:
    """The symlink test's control: the same bytes as a regular file inside the folder are W."""
    model, outside = _inside(tmp_path, "onnx_hostile_symlink")
    shutil.copyfile(outside, model.parent / "onnx_hostile_symlink.weights")
    layer = read_model(model).select("lstm")
    np.testing.assert_array_equal(layer.scenario["weights"]["W"].ravel(), [1.5, -2.0, 0.25, 3.0])
    assert layer.sources["W"].endswith("(external data onnx_hostile_symlink.weights, bytes 0..16)")


def test_symlink_inside_the_folder_is_followed(tmp_path: Path) -> None:
    model, outside = _inside(tmp_path, "onnx_hostile_symlink")
    shutil.copyfile(outside, model.parent / "real.bin")
    (model.parent / "onnx_hostile_symlink.weights").symlink_to("real.bin")
    assert read_model(model).select("lstm").scenario["weights"]["W"].shape == (1, 4, 1)


def test_missing_external_file(tmp_path: Path) -> None:
    model, _ = _inside(tmp_path, "onnx_hostile_symlink")
    with pytest.raises(ModelError, match="external data cannot be read: No such file"):
        read_model(model)


def test_without_the_onnx_package(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "onnx", None)  # import onnx now raises ImportError
    with pytest.raises(ModelError, match="needs the onnx package") as error:
        read_model(MODELS / "onnx_torch_stack.onnx")
    assert "lstm-trace[models]" in str(error.value)


def test_attributes_and_weights_that_disagree_name_the_node() -> None:
    with pytest.raises(
        ModelError, match="the ONNX LSTM node 'lstm' is not one lstm-trace can read: wrong shape"
    ) as error:
        read_model(MODELS / "onnx_bad_shape.onnx")
    assert "node 'lstm': weights.W" in str(error.value)
    assert "shape (1, 8, 1): D=1 × 4·hidden_size=8 × F=1" in str(error.value)  # hidden_size 2, W made for 1
