"""Keras model files (.keras, .h5) read as data: every layer against the framework's own numbers, and hostile files.

The files and their .npz references are made by tools/make_fixtures.py (groups models-keras, models-keras2) from
Keras 3.15.1 and tf_keras 2.21.0; each NAME.EXT.npz holds, per recurrent layer L (and per chain "a,b"),
L/inputs (what L received in the model), L/mask where a Masking layer further back masks it, and L's outputs
from the framework. No framework is imported here.
"""

from __future__ import annotations

import builtins
import marshal
import pickle
import shutil
import zipfile
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import lstm_trace
from conftest import FIXTURES, assert_matches
from lstm_trace.models import ModelError, read_model

h5py = pytest.importorskip("h5py")

MODELS = FIXTURES / "models"
LAMBDA_MARKER = Path("/tmp/lstm-trace-keras-lambda-ran")  # the hostile Lambda's code would create it
# where extracting the archives would write, and what running keras_hostile_config.h5's model_config would create
WRITTEN = (Path("/tmp/lstm-trace-escaped.txt"), FIXTURES / "lstm-trace-escaped.txt", Path("/tmp/lstm-trace-config-ran"))

# every good file: its format and its layers (name, kind) in the order read offers them
LISTINGS: dict[str, tuple[str, list[tuple[str, str]]]] = {
    "keras3_sequential.keras": ("Keras 3.15.1 .keras", [("lstm", "LSTM"), ("gru", "GRU"), ("lstm,gru", "stack: LSTM → GRU")]),
    "keras3_sequential.h5": ("Keras 3.15.1 .h5", [("lstm", "LSTM"), ("gru", "GRU"), ("lstm,gru", "stack: LSTM → GRU")]),
    "keras3_functional.keras": ("Keras 3.15.1 .keras", [
        ("bi", "Bidirectional(LSTM)"), ("rnn", "SimpleRNN"), ("zeta", "LSTM"), ("alpha", "LSTM"),
        ("bi,rnn,zeta", "stack: Bidirectional(LSTM) → SimpleRNN → LSTM")]),
    "keras3_functional.h5": ("Keras 3.15.1 .h5", [
        ("bi", "Bidirectional(LSTM)"), ("rnn", "SimpleRNN"), ("zeta", "LSTM"), ("alpha", "LSTM"),
        ("bi,rnn,zeta", "stack: Bidirectional(LSTM) → SimpleRNN → LSTM")]),
    "keras_hostile_lambda.keras": ("Keras 3.15.1 .keras", [("lstm", "LSTM")]),
    "tf_keras_sequential.h5": ("Keras 2.21.0 .h5", [("lstm", "LSTM"), ("gru", "GRU"), ("lstm,gru", "stack: LSTM → GRU")]),
    "tf_keras_functional.keras": ("Keras 2.21.0 .keras", [
        ("bi", "Bidirectional(GRU)"), ("zed", "LSTM"), ("rnn", "SimpleRNN"), ("abc", "LSTM"),
        ("bi,rnn", "stack: Bidirectional(GRU) → SimpleRNN"), ("zed,abc", "stack: LSTM → LSTM")]),
    "tf_keras_functional.h5": ("Keras 2.21.0 .h5", [
        ("bi", "Bidirectional(GRU)"), ("zed", "LSTM"), ("rnn", "SimpleRNN"), ("abc", "LSTM"),
        ("bi,rnn", "stack: Bidirectional(GRU) → SimpleRNN"), ("zed,abc", "stack: LSTM → LSTM")]),
}  # fmt: skip
CASES = [(file, name) for file, (_, layers) in LISTINGS.items() for name, _ in layers]


def _trace(file: str, name: str, masked: bool = True, **changes: Any) -> tuple[lstm_trace.Trace, Any]:
    """The layer `name` of `file` traced on the inputs (and, unless not `masked`, the mask) it received in the model."""
    found = read_model(MODELS / file).select(name)
    reference = np.load(MODELS / f"{file}.npz")
    data = dict(found.scenario, inputs=reference[f"{name}/inputs"], **changes)
    if masked and f"{name}/mask" in reference:
        data["mask"] = reference[f"{name}/mask"].tolist()  # a mask is written as true and false
    return lstm_trace.trace(lstm_trace.Scenario.from_dict(data)), reference


def _outputs(reference: Any, name: str) -> dict[str, np.ndarray]:
    keys = [key for key in reference.files if key.startswith(f"{name}/")]
    return {key.split("/", 1)[1]: reference[key] for key in keys if key.split("/", 1)[1] not in ("inputs", "mask")}


def test_every_file_is_covered() -> None:
    made = {p.name for p in MODELS.glob("*") if p.suffix in (".keras", ".h5") and "hostile" not in p.name}
    assert made | {"keras_hostile_lambda.keras"} == set(LISTINGS)


@pytest.mark.parametrize("file", list(LISTINGS))
def test_listing(file: str) -> None:
    model = read_model(MODELS / file)
    fmt, layers = LISTINGS[file]
    assert model.format == fmt
    assert [(layer.name, layer.kind) for layer in model.layers] == layers


@pytest.mark.parametrize(("file", "name"), CASES)
def test_layer_traces_to_the_framework(file: str, name: str) -> None:
    trace, reference = _trace(file, name)
    found = read_model(MODELS / file).select(name)
    outputs = _outputs(reference, name)
    want = {"LSTM": {"sequence", "h", "c"}, "GRU": {"sequence", "h"}, "SimpleRNN": {"sequence", "h"},
            "Bidirectional(LSTM)": {"sequence", "forward_h", "forward_c", "backward_h", "backward_c"},
            "Bidirectional(GRU)": {"sequence", "forward_h", "backward_h"}}  # fmt: skip
    assert set(outputs) == want[found.kind.rsplit(" → ", 1)[-1].removeprefix("stack: ")]
    assert found.features == reference[f"{name}/inputs"].shape[-1]
    for key, value in outputs.items():
        assert_matches(trace.outputs[key], value, found.dtype, f"{file} {name} {key}")


def test_archive_and_legacy_files_hold_the_same_weights() -> None:
    """The .keras (matched by class and order) and the .h5 (by name) of one model agree on every array."""
    for stem in ("keras3_sequential", "keras3_functional", "tf_keras_functional"):
        archive, legacy = read_model(MODELS / f"{stem}.keras"), read_model(MODELS / f"{stem}.h5")
        assert [layer.name for layer in archive.layers] == [layer.name for layer in legacy.layers]
        for a, b in zip(archive.layers, legacy.layers, strict=True):
            assert a.shapes == b.shapes
            weights_a, weights_b = a.scenario.get("weights"), b.scenario.get("weights")
            if weights_a is not None:
                assert all(np.array_equal(weights_a[key], weights_b[key]) for key in weights_a), f"{stem} {a.name}"


def test_archive_weights_are_matched_by_class_and_order_not_by_name() -> None:
    # zeta is the model's first LSTM, alpha its second: Keras files them as lstm, lstm_1, whatever their names
    keras3 = read_model(MODELS / "keras3_functional.keras")
    assert keras3.select("zeta").sources["kernel"] == "model.weights.h5: layers/lstm/cell/vars/0"
    assert keras3.select("alpha").sources["bias"] == "model.weights.h5: layers/lstm_1/cell/vars/2"
    assert keras3.select("bi").sources["backward_enc/recurrent_kernel"] == (
        "model.weights.h5: layers/bidirectional/backward_layer/cell/vars/1"
    )
    # tf_keras writes no layer names beside the weights: class and order alone (zed first, abc second)
    tf_keras = read_model(MODELS / "tf_keras_functional.keras")
    assert tf_keras.select("zed").sources["kernel"] == "model.weights.h5: layers/lstm/cell/vars/0"
    assert tf_keras.select("abc").sources["kernel"] == "model.weights.h5: layers/lstm_1/cell/vars/0"
    assert tf_keras.select("zed").scenario["weights"]["kernel"].shape == (3, 12)  # zed: 3 units, F = 3
    assert tf_keras.select("abc").scenario["weights"]["kernel"].shape == (3, 8)  # abc: 2 units reading zed's 3


def test_legacy_sources_with_and_without_the_tensorflow_suffix() -> None:
    keras3 = read_model(MODELS / "keras3_sequential.h5").select("lstm")
    assert keras3.sources == {
        "kernel": "model_weights/lstm/sequential/lstm/lstm_cell/kernel",
        "recurrent_kernel": "model_weights/lstm/sequential/lstm/lstm_cell/recurrent_kernel",
        "bias": "model_weights/lstm/sequential/lstm/lstm_cell/bias",
    }
    tf_keras = read_model(MODELS / "tf_keras_functional.h5").select("bi")
    assert tf_keras.sources["forward_enc/kernel"] == "model_weights/bi/bi/forward_enc/gru_cell/kernel:0"
    assert tf_keras.sources["backward_enc/bias"] == "model_weights/bi/bi/backward_enc/gru_cell/bias:0"


def test_scenarios_are_what_a_user_would_write() -> None:
    lstm = read_model(MODELS / "tf_keras_sequential.h5").select("lstm")
    scenario = lstm.scenario
    assert scenario["framework"] == "keras2" and scenario["layer"] == "LSTM" and scenario["dtype"] == "float32"
    assert scenario["config"]["recurrent_activation"] == "hard_sigmoid" and scenario["config"]["units"] == 4
    assert scenario["masking"] == {"mask_value": 0.0}
    assert set(scenario["weights"]) == {"kernel", "recurrent_kernel", "bias"} and "inputs" not in scenario
    gru = read_model(MODELS / "tf_keras_sequential.h5").select("gru").scenario
    assert gru["config"]["reset_after"] is False and gru["weights"]["bias"].shape == (9,) and "masking" not in gru
    stack = read_model(MODELS / "keras3_sequential.keras").select("lstm,gru").scenario
    assert [entry["layer"] for entry in stack["layers"]] == ["LSTM", "GRU"] and stack["masking"] == {"mask_value": 0.0}
    assert stack["framework"] == "keras" and stack["layers"][1]["weights"]["bias"].shape == (2, 9)  # reset_after
    bi = read_model(MODELS / "keras3_functional.keras").select("bi").scenario
    assert bi["layer"] == "Bidirectional" and bi["config"]["layer"]["config"]["name"] == "forward_enc"
    assert sorted(bi["weights"]) == sorted(f"{side}_enc/{w}" for side in ("forward", "backward")
                                           for w in ("kernel", "recurrent_kernel", "bias"))  # fmt: skip


def test_keras2_files_trace_keras2s_hard_sigmoid() -> None:
    """The same weights read as Keras 3 (hard_sigmoid x/6 + 1/2) miss tf_keras's numbers (0.2x + 1/2) by far."""
    _, reference = _trace("tf_keras_sequential.h5", "lstm")
    config = read_model(MODELS / "tf_keras_sequential.h5").select("lstm").scenario["config"]
    keras3 = {key: value for key, value in config.items() if key not in ("time_major", "implementation")}  # Keras 2's
    wrong, _ = _trace("tf_keras_sequential.h5", "lstm", framework="keras", config=keras3)
    assert np.abs(wrong.outputs["h"] - reference["lstm/h"]).max() > 0.01


def test_a_mask_from_further_back_is_named_and_matters() -> None:
    gru = read_model(MODELS / "keras3_sequential.keras").select("gru")
    assert gru.notes[0] == ("In the model a mask from masking (Masking) reaches this layer; traced alone no mask is "
                            "applied unless one is given; the stack lstm,gru applies it.")  # fmt: skip
    unmasked, reference = _trace("keras3_sequential.keras", "gru", masked=False)
    assert np.abs(unmasked.outputs["h"] - reference["gru/h"]).max() > 0.01  # the fixture's mask does change h


def test_notes_name_what_is_not_traced_and_what_was_inferred() -> None:
    assert (
        "Not traced (not recurrent): cat (Concatenate), head (Dense)."
        in read_model(MODELS / "keras3_functional.keras").select("alpha").notes
    )
    lambda_lstm = read_model(MODELS / "keras_hostile_lambda.keras").select(None)
    assert lambda_lstm.notes == ("Not traced (not recurrent): lambda (Lambda).",)
    # Keras 3 .keras records each layer's input shape; a tf_keras functional .h5 does not: F from the kernel
    assert not any(
        note.startswith("F =") for note in read_model(MODELS / "keras3_functional.keras").select("rnn").notes
    )
    assert read_model(MODELS / "tf_keras_functional.h5").select("rnn").notes[0] == (
        "F = 4, the kernel's rows (the config records no input shape)."
    )


def test_layer_selection() -> None:
    model = read_model(MODELS / "keras3_sequential.keras")
    with pytest.raises(ModelError, match="this file holds 3 recurrent layers: say which with --layer NAME") as info:
        model.select(None)
    assert "lstm,gru  stack: LSTM → GRU  layers[0].kernel (3, 16)" in str(info.value)
    with pytest.raises(Exception, match="grru") as unknown:
        model.select("grru")
    assert "gru" in str(unknown.value)
    assert model.select("lstm,gru").kind == "stack: LSTM → GRU"


# ---- hostile and damaged files ------------------------------------------------------------------------------

HOSTILE = {
    "keras_hostile_traversal.keras": r"\.\./lstm-trace-escaped\.txt: a member's name points outside the archive",
    "keras_hostile_absolute.keras": r"/tmp/lstm-trace-escaped\.txt: a member's name points outside the archive",
    "keras_hostile_duplicate.keras": r"config\.json: the archive names a member twice",
    "keras_hostile_bomb.keras": r"model\.weights\.h5: a member decompresses to far more than it holds, as a zip bomb",
    "keras_hostile_size.keras": r"model\.weights\.h5: a member declares more data than any Keras model holds",
    "keras_hostile_truncated.keras": r"not a readable zip archive: a \.keras file is a zip \(truncated or damaged\?\)",
    "keras_hostile_truncated.h5": r"the HDF5 data is damaged or not what Keras writes(.|\n)*truncated file",
    "keras_hostile_config.h5": r"model_config: not valid JSON",
    "keras_hostile_external.h5": r"lstm_cell/kernel: the dataset's data lives in another file: refused",
    "keras_hostile_link.h5": r"lstm_cell/kernel: the file links outside itself \(or by name\): refused(.|\n)*ExternalLink",
}


@pytest.mark.parametrize("file", list(HOSTILE))
def test_hostile_files_are_refused(file: str) -> None:
    with pytest.raises(ModelError, match=HOSTILE[file]):
        read_model(MODELS / file)
    assert not any(path.exists() for path in WRITTEN)


def test_every_hostile_file_is_tested() -> None:
    made = {p.name for p in MODELS.glob("keras_hostile_*") if p.suffix != ".npz"}
    assert made == set(HOSTILE) | {"keras_hostile_lambda.keras"}


@pytest.mark.parametrize("file", ["keras_hostile_bomb.keras", "keras_hostile_size.keras"])
def test_sizes_are_refused_before_anything_is_decompressed(file: str, monkeypatch: pytest.MonkeyPatch) -> None:
    def never(*args: Any, **kwargs: Any) -> Any:
        raise AssertionError("a member was opened")

    monkeypatch.setattr(zipfile.ZipFile, "open", never)
    with pytest.raises(ModelError, match="refused before decompressing"):
        read_model(MODELS / file)


def test_the_lambdas_code_never_runs(monkeypatch: pytest.MonkeyPatch) -> None:
    """The LSTM imports; nothing unmarshals, unpickles, evals or execs while the file is read; no marker."""
    LAMBDA_MARKER.unlink(missing_ok=True)
    read_model(MODELS / "keras_hostile_lambda.keras")  # every module the reader needs is imported now

    def refuse(*args: Any, **kwargs: Any) -> Any:
        raise AssertionError("the file's content was run")

    for target, name in (
        (marshal, "loads"),
        (pickle, "loads"),
        (pickle, "load"),
        (builtins, "eval"),
        (builtins, "exec"),
    ):
        monkeypatch.setattr(target, name, refuse)
    model = read_model(MODELS / "keras_hostile_lambda.keras")
    monkeypatch.undo()
    assert [layer.name for layer in model.layers] == ["lstm"]
    assert not LAMBDA_MARKER.exists()
    assert "marshal" not in repr(model.layers[0].scenario["config"])  # the LSTM's config, not the Lambda's code


# ---- damaged in other ways, made here from the committed files (zipfile and h5py only) ------------------------


def _rezip(tmp_path: Path, name: str, **replace: bytes) -> Path:
    path = tmp_path / name
    with zipfile.ZipFile(MODELS / "keras3_sequential.keras") as source, zipfile.ZipFile(path, "w") as out:
        for member in source.namelist():
            out.writestr(member, replace.get(member.replace(".", "_"), source.read(member)))
    return path


def test_archive_members_that_break_the_rules(tmp_path: Path) -> None:
    with pytest.raises(ModelError, match="the Keras version the file was saved by is not stated"):
        read_model(_rezip(tmp_path, "a.keras", metadata_json=b'{"date_saved": "today"}'))
    with pytest.raises(ModelError, match=r"config\.json: not valid JSON"):
        read_model(_rezip(tmp_path, "b.keras", config_json=b'{"class_name": ' + b"[" * 100_000))
    subclassed = b'{"class_name": "MyModel", "config": {"units": 3}}'
    with pytest.raises(ModelError, match="a subclassed model's config does not say what it computes"):
        read_model(_rezip(tmp_path, "c.keras", config_json=subclassed))
    with zipfile.ZipFile(MODELS / "keras3_sequential.keras") as source:
        config = source.read("config.json").replace(b'"class_name": "LSTM"', b'"class_name": "GRU"')
    with pytest.raises(ModelError, match=r"config\.json and model\.weights\.h5 disagree on which layer this is"):
        read_model(_rezip(tmp_path, "d.keras", config_json=config))  # its first GRU is now lstm, filed as gru


def test_declared_dataset_sizes_are_checked_before_reading(tmp_path: Path) -> None:
    path = tmp_path / "big.h5"
    shutil.copy(MODELS / "keras3_sequential.h5", path)
    with h5py.File(path, "r+") as f:  # a billion numbers declared, none written: a few KB on disk
        group = f["model_weights/lstm/sequential/lstm/lstm_cell"]
        del group["kernel"]
        group.create_dataset("kernel", shape=(100_000, 10_000), dtype="float32", chunks=(100, 100), compression="gzip")
    with pytest.raises(ModelError, match=r"a weight declares more data than the file can hold(.|\n)*100000, 10000"):
        read_model(path)


def test_weights_only_h5_is_named_as_such(tmp_path: Path) -> None:
    path = tmp_path / "w.h5"
    with h5py.File(path, "w") as f:
        f.attrs["layer_names"] = [b"lstm"]
    with pytest.raises(ModelError, match=r"holds weights only \(model.save_weights\)"):
        read_model(path)


def test_a_model_inside_the_model_is_named_as_not_read(tmp_path: Path) -> None:
    with zipfile.ZipFile(MODELS / "keras3_sequential.keras") as source:
        config = source.read("config.json")
    nested = config.replace(
        b'"class_name": "Dense", "config": {', b'"class_name": "Sequential", "config": {"layers": [], '
    )
    assert nested != config
    lstm = read_model(_rezip(tmp_path, "n.keras", config_json=nested)).select("lstm")
    assert (
        lstm.notes[-1]
        == "Not traced (not recurrent): dense (Sequential, a model inside the model: its layers are not read)."
    )
