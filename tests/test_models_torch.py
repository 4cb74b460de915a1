"""torch model files read as data: state_dicts (.pt, .pth, .bin; zip and legacy formats) and .safetensors.

Every file in tests/fixtures/models/torch* was written by tools/make_fixtures.py (models-torch) from real
torch runs, with NAME.npz holding what each recurrent module received and returned. These tests never
import torch: each layer read from a file must trace to what torch computed, and each hostile file must
be refused with a ModelError that names the problem, nothing in it having run.
"""

from __future__ import annotations

import json
import pickle
import shutil
import struct
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import lstm_trace
from conftest import FIXTURES, assert_matches
from lstm_trace.errors import ScenarioError, Where
from lstm_trace.models import FoundLayer, ModelError, read_model, torch_pickle
from lstm_trace.models.state_dict import Entry, found_layers
from lstm_trace.models.torch_pickle import StorageRecord, TensorRecord, unpickle_bytes

MODELS = FIXTURES / "models"
MARKER = "lstm_trace_model_file_ran"  # what the hostile files would create in the working directory
READABLE = sorted(p for p in MODELS.glob("torch*") if p.suffix != ".npz" and "hostile" not in p.name)
LAYERS = [(path, name) for path in READABLE for name in sorted({k.split("/")[0] for k in np.load(f"{path}.npz")})]


@pytest.fixture(autouse=True)
def _nothing_runs(tmp_path: Path, monkeypatch: Any) -> Iterator[None]:
    """Every test here runs in an empty folder that must stay empty: where os.system("touch ...") and
    open(...) in a hostile file would leave their marker, had anything in it run."""
    folder = tmp_path / "cwd"
    folder.mkdir()
    monkeypatch.chdir(folder)
    yield
    assert list(folder.iterdir()) == []


def traced(found: FoundLayer, inputs: np.ndarray) -> dict[str, np.ndarray]:
    """What the trace returns for the layer's scenario, fed `inputs`, exactly as a user's scenario would be."""
    return lstm_trace.trace(lstm_trace.Scenario.from_dict(dict(found.scenario, inputs=inputs))).outputs


def test_every_file_is_here() -> None:
    """The generator's files: a test over an empty glob would pass on nothing."""
    names = {p.name for p in READABLE}
    assert names == {
        "torch_model.pt", "torch_model.safetensors", "torch_proj_rnn.pth", "torch_cells.bin",
        "torch_checkpoint.pth", "torch_legacy.pt", "torch_bfloat16.pt", "torch_bfloat16.safetensors",
    }  # fmt: skip
    assert len(LAYERS) == 12


@pytest.mark.parametrize(("path", "name"), LAYERS, ids=[f"{p.name}:{n}" for p, n in LAYERS])
def test_every_layer_traces_to_what_torch_returned(path: Path, name: str) -> None:
    found = read_model(path).select(name)
    reference = np.load(f"{path}.npz")
    outputs = traced(found, reference[f"{name}/inputs"])
    keys = [k for k in reference.files if k.startswith(f"{name}/") and not k.endswith("/inputs")]
    assert {k.split("/")[1] for k in keys} == set(outputs)  # sequence, h, and c for LSTMs: every output checked
    for key in keys:
        assert_matches(outputs[key.split("/")[1]], reference[key], found.dtype, f"{path.name} {key}")


def test_every_file_lists_exactly_its_recurrent_modules() -> None:
    for path in READABLE:
        listed = {layer.name for layer in read_model(path).layers}
        assert listed == {name for p, name in LAYERS if p == path}, path.name


# ---- what is inferred, and said ------------------------------------------------------------
def test_a_model_with_two_recurrent_modules_and_a_head() -> None:
    model = read_model(MODELS / "torch_model.pt")
    assert model.format == "torch.save zip archive (.pt, format version 3)"
    lstm, gru = model.layers
    assert (lstm.name, lstm.kind, gru.name, gru.kind) == ("lstm", "nn.LSTM", "gru", "nn.GRU")
    assert lstm.scenario["config"] == {"input_size": 3, "hidden_size": 4, "num_layers": 2, "bias": True,
                                       "bidirectional": True, "proj_size": 0}  # fmt: skip
    assert gru.scenario["config"] == {"input_size": 8, "hidden_size": 3, "num_layers": 1, "bias": True,
                                      "bidirectional": False}  # fmt: skip
    assert (lstm.features, gru.features, lstm.dtype) == (3, 8, "float32")
    assert lstm.scenario["framework"] == "torch" and lstm.scenario["layer"] == "LSTM"
    assert "inputs" not in lstm.scenario
    assert list(lstm.scenario["weights"])[:5] == ["weight_ih_l0", "weight_hh_l0", "bias_ih_l0", "bias_hh_l0",
                                                   "weight_ih_l0_reverse"]  # fmt: skip
    assert lstm.sources["weight_ih_l0"] == "torch_model.pt: lstm.weight_ih_l0 (torch_model/data/0)"
    assert gru.sources["bias_hh_l0"] == "torch_model.pt: gru.bias_hh_l0 (torch_model/data/19)"
    assert lstm.notes[0] == (
        "nn.LSTM inferred from the shapes: weight_hh_l0 (16, 4) gives hidden_size=4, so weight_ih_l0's 16 rows "
        "are 4 gate blocks (i, f, g, o); input_size=3 is its columns."
    )
    assert "num_layers=2, bidirectional=True and bias=True from the entry names (_l0 … _l1, _reverse)." in lstm.notes
    assert any(note.startswith("batch_first is not stored") for note in lstm.notes)
    assert "not recurrent, not traced: head (2 entries)." in gru.notes
    assert "lstm  nn.LSTM  weight_ih_l0 (16, 3), weight_hh_l0 (16, 4)" in model.listing()


def test_the_same_weights_from_safetensors() -> None:
    pt, st = read_model(MODELS / "torch_model.pt"), read_model(MODELS / "torch_model.safetensors")
    assert st.format == "safetensors"  # safetensors.torch.save_file writes no __metadata__ unless given
    for name in ("lstm", "gru"):
        a, b = pt.select(name), st.select(name)
        assert a.scenario["config"] == b.scenario["config"]
        assert list(a.scenario["weights"]) == list(b.scenario["weights"])  # torch's order, not the file's sorted one
        for key, value in a.scenario["weights"].items():
            np.testing.assert_array_equal(value, b.scenario["weights"][key])
    assert st.select("lstm").sources["weight_ih_l1"] == ("torch_model.safetensors: lstm.weight_ih_l1")


def test_projection_and_a_simple_rnn_in_float64() -> None:
    model = read_model(MODELS / "torch_proj_rnn.pth")
    lstm, rnn = model.layers
    assert lstm.scenario["config"]["proj_size"] == 3 and lstm.scenario["config"]["hidden_size"] == 5
    assert lstm.notes[0].startswith("nn.LSTM inferred from the shapes: weight_hr_l0 (3, 5) gives hidden_size=5, "
                                    "proj_size=3")  # fmt: skip
    assert rnn.scenario["config"] == {"input_size": 3, "hidden_size": 4, "num_layers": 2, "bias": False,
                                      "bidirectional": False, "nonlinearity": "tanh"}  # fmt: skip
    assert any("tanh (nn.RNN's default) is assumed" in note for note in rnn.notes)
    assert (lstm.dtype, lstm.scenario["dtype"], lstm.scenario["weights"]["weight_hr_l0"].dtype) == (
        "float64",
        "float64",
        np.float64,
    )


def test_cells_nested_modules_and_a_bin_file() -> None:
    encoder, decoder = read_model(MODELS / "torch_cells.bin").layers
    assert (encoder.name, encoder.kind, decoder.name, decoder.kind) == (
        "encoder",
        "nn.LSTMCell",
        "decoder.cell",
        "nn.GRUCell",
    )
    assert encoder.scenario["config"] == {"input_size": 3, "hidden_size": 4, "bias": True}
    assert decoder.scenario["config"] == {"input_size": 4, "hidden_size": 3, "bias": False}
    assert list(decoder.scenario["weights"]) == ["weight_ih", "weight_hh"]
    assert "bias=False: no bias_ih or bias_hh is stored." in decoder.notes
    assert "not recurrent, not traced: decoder.out (2 entries)." in encoder.notes
    assert not any("batch_first" in note for note in encoder.notes)  # a cell takes one step's (B, F)


def test_a_checkpoint_is_searched_by_dotted_paths() -> None:
    model = read_model(MODELS / "torch_checkpoint.pth")
    (layer,) = model.layers
    assert layer.name == "model_state_dict.rnn"
    assert model.select(None) is layer  # the only recurrent module, found without --layer
    assert layer.scenario["config"]["bidirectional"] is True
    assert layer.sources["weight_ih_l0"].startswith("torch_checkpoint.pth: model_state_dict.rnn.weight_ih_l0 (")
    assert any(note.startswith("the file is a checkpoint: module names begin with the key that holds them "
                               "(model_state_dict, optimizer_state_dict)") for note in layer.notes)  # fmt: skip
    untraced = next(note for note in layer.notes if note.startswith("not recurrent"))
    assert "model_state_dict.fc (2 entries)" in untraced and "optimizer_state_dict.state.0 (3 entries)" in untraced


def test_the_legacy_format_is_read_with_the_same_allow_list() -> None:
    model = read_model(MODELS / "torch_legacy.pt")
    assert model.format == "torch.save legacy format (.pt, before torch 1.6)"
    (rnn,) = model.layers
    assert rnn.kind == "nn.RNN" and rnn.scenario["config"]["bidirectional"] is True
    assert rnn.sources["weight_ih_l0"].startswith("torch_legacy.pt: rnn.weight_ih_l0 (legacy storage ")


@pytest.mark.parametrize("name", ["torch_bfloat16.pt", "torch_bfloat16.safetensors"])
def test_bfloat16_weights_are_widened_exactly(name: str) -> None:
    (gru,) = read_model(MODELS / name).layers
    assert gru.dtype == "float32" and gru.scenario["weights"]["weight_ih_l0"].dtype == np.float32
    assert "stored as bfloat16: read exactly as float32, which the trace computes in." in gru.notes
    bits = gru.scenario["weights"]["weight_hh_l0"].view(np.uint32)
    assert bits.any() and not (bits & 0xFFFF).any()  # a bfloat16 is a float32's high half: the low half is zero


# ---- inference from names and shapes alone (state_dict.py, on entries made here) ---------------
def _entries(shapes: dict[str, tuple[int, ...]], dtype: str = "float32") -> dict[str, Entry]:
    return {key: Entry(shape, dtype, "", lambda shape=shape: np.zeros(shape)) for key, shape in shapes.items()}


@pytest.mark.parametrize(
    ("hh", "kind", "hidden"), [((12, 3), "nn.LSTM", 3), ((12, 4), "nn.GRU", 4), ((12, 12), "nn.RNN", 12)]
)
def test_twelve_rows_are_told_apart_by_weight_hh(hh: tuple[int, int], kind: str, hidden: int) -> None:
    """12 rows are 4 blocks of 3, 3 of 4 or 1 of 12: weight_hh's columns say which."""
    (layer,) = found_layers(_entries({"weight_ih_l0": (12, 5), "weight_hh_l0": hh}), Path("m.pt"))
    assert (layer.name, layer.kind, layer.scenario["config"]["hidden_size"]) == ("(no prefix)", kind, hidden)
    assert layer.scenario["config"]["bias"] is False
    assert "num_layers=1, bidirectional=False and bias=False from the entry names (_l0, no bias_ih/bias_hh)." in (
        layer.notes
    )


def test_a_module_that_fits_no_torch_layer_is_left_out_and_said() -> None:
    """A custom cell storing its kernels transposed, (F, 4H), beside a real nn.GRU."""
    shapes = {"custom.weight_ih": (5, 16), "custom.weight_hh": (4, 16), "gru.weight_ih_l0": (9, 2),
              "gru.weight_hh_l0": (9, 3)}  # fmt: skip
    (gru,) = found_layers(_entries(shapes), Path("m.pt"))
    assert gru.name == "gru"
    assert "not read: custom: the shapes fit no nn.LSTM, nn.GRU or nn.RNN" in gru.notes
    with pytest.raises(ModelError, match="the shapes fit no nn") as error:
        found_layers(_entries({k: v for k, v in shapes.items() if k.startswith("custom")}), Path("m.pt"))
    assert "weight_ih (5, 16), weight_hh (4, 16)" in str(error.value)


@pytest.mark.parametrize(
    ("shapes", "problem"),
    [
        ({"rnn.weight_ih_l0": (3, 2)}, "no weight_hh_l0: the module's kind and sizes cannot be told"),
        ({"rnn.weight_ih": (3, 2), "rnn.weight_hh": (3, 3), "rnn.weight_ih_l0": (3, 2)}, "a cell's entries"),
        ({"rnn.weight_ih_l0": (9, 2), "rnn.weight_hh_l0": (9, 2), "rnn.weight_hr_l0": (2, 3)}, "fit no nn.LSTM"),
        ({"rnn.weight_ih_l0": (9,), "rnn.weight_hh_l0": (9, 3)}, "fit no nn.LSTM"),
    ],
)
def test_modules_whose_entries_cannot_be_a_torch_layer(shapes: dict[str, tuple[int, ...]], problem: str) -> None:
    with pytest.raises(ModelError, match=problem):
        found_layers(_entries(shapes), Path("m.pt"))


def test_weights_that_are_not_floats_are_refused_and_mixed_floats_said() -> None:
    shapes = {"rnn.weight_ih_l0": (3, 2), "rnn.weight_hh_l0": (3, 3)}
    with pytest.raises(ModelError, match=r"rnn\.weight_ih_l0 is not floating point"):
        found_layers(_entries(shapes, "int64"), Path("m.pt"))
    mixed = {**_entries(shapes, "float64"), **_entries({"rnn.bias_ih_l0": (3,), "rnn.bias_hh_l0": (3,)})}
    (rnn,) = found_layers(mixed, Path("m.pt"))
    assert rnn.dtype == "float32"
    assert "stored as float32, float64: read rounded as float32, which the trace computes in." in rnn.notes


# ---- choosing a layer ------------------------------------------------------------------------
def test_several_layers_need_a_name_and_a_wrong_name_gets_the_closest() -> None:
    model = read_model(MODELS / "torch_model.pt")
    with pytest.raises(ModelError) as error:
        model.select(None)
    assert "this file holds 2 recurrent layers: say which with --layer NAME" in str(error.value)
    assert "    gru  nn.GRU  weight_ih_l0 (9, 8)" in str(error.value)
    with pytest.raises(ScenarioError, match="did you mean 'lstm'"):  # the interface's unknown_name
        model.select("lsmt")
    assert model.select("gru").kind == "nn.GRU"


def test_a_file_without_recurrent_modules(tmp_path: Path) -> None:
    """A state_dict of a Linear only: read, and then no layer to select."""
    path = tmp_path / "head.pt"
    _zip_with(path, _pickle_of({"head.weight": _tensor(0, (2, 3), (3, 1))}), b"\0" * 48)
    model = read_model(path)
    assert model.layers == ()
    with pytest.raises(ModelError, match="no recurrent layer in this file"):
        model.select(None)


# ---- hostile files ---------------------------------------------------------------------------
HOSTILE = {
    "torch_hostile_os_system.pt": "the pickle names posix.system, code that unpickling would run",
    "torch_hostile_exec.pt": "the pickle names builtins.exec, code that unpickling would run",
    "torch_hostile_eval.pth": "the pickle names builtins.eval, code that unpickling would run",
    "torch_hostile_legacy.pt": "the pickle names posix.system, code that unpickling would run",
    "torch_hostile_module.pt": "the pickle names torch.nn.modules.container.Sequential, a class whose code",
    "torch_hostile_torchscript.pt": "this is a TorchScript archive (torch.jit.save)",
    "torch_hostile_build.pt": "the pickle sets an object's state, as a pickled class instance does",
    "torch_hostile_overrun.pt": "a tensor reaches past the end of its storage",
    "torch_hostile_short_storage.pt": "storage 0 declares more bytes than the file holds for it",
    "torch_hostile_header.safetensors": "the header length reaches beyond the file",
    "torch_hostile_overlap.safetensors": "tensors lstm.weight_ih_l0 and lstm.weight_hh_l0 overlap",
    "torch_hostile_offsets.safetensors": "a tensor's bytes lie outside the data, or do not fit its shape",
}


def test_every_hostile_file_is_tested() -> None:
    assert {p.name for p in MODELS.glob("torch_hostile_*")} == set(HOSTILE)


@pytest.mark.parametrize("name", sorted(HOSTILE))
def test_hostile_files_are_refused_and_nothing_runs(name: str) -> None:
    with pytest.raises(ModelError) as error:
        read_model(MODELS / name)
    message = str(error.value)
    assert HOSTILE[name] in message
    assert message.startswith(str(MODELS / name))
    assert not Path(MARKER).exists()  # and _nothing_runs checks that the working directory stays empty


@pytest.mark.parametrize("name", ["torch_hostile_os_system.pt", "torch_hostile_module.pt", "torch_hostile_exec.pt"])
def test_code_in_a_pickle_is_refused_with_the_advice_that_works(name: str) -> None:
    with pytest.raises(ModelError) as error:
        read_model(MODELS / name)
    assert error.value.hint is not None and "torch.save(model.state_dict(), path)" in error.value.hint
    assert "safetensors.torch.save_file" in error.value.hint
    assert error.value.where.path.endswith("/data.pkl")
    assert "nothing was run" in error.value.problem


# ---- corrupt files, made here from the committed ones ------------------------------------------
def test_truncated_and_foreign_files(tmp_path: Path) -> None:
    whole = (MODELS / "torch_model.pt").read_bytes()
    cases = {
        "truncated.pt": (whole[: len(whole) // 2], "the zip archive cannot be read: truncated or corrupt"),
        "text.pth": (b"not a model at all", "this is not a file torch.save writes"),
        "empty.bin": (b"", "this is not a file torch.save writes"),
        "pickle.pt": (pickle.dumps({"a": 1}, protocol=2), "this is a pickle, but not one torch.save writes"),
        "short.safetensors": (b"\x08\0\0", "the file is too short to be safetensors"),
        "json.safetensors": (b"\x04\0\0\0\0\0\0\0{{{{", "the header is not JSON"),
        "list.safetensors": (b"\x02\0\0\0\0\0\0\0[]", "the header is not a JSON object"),
        "dtype.safetensors": (_safetensors({"a": {"dtype": "F99", "shape": [1], "data_offsets": [0, 4]}}, 4),
                              "a tensor of unknown dtype"),
        "shape.safetensors": (_safetensors({"a": {"dtype": "F32", "shape": [-1], "data_offsets": [0, 4]}}, 4),
                              "a tensor's shape or data_offsets are not sizes"),
    }  # fmt: skip
    for name, (data, problem) in cases.items():
        (tmp_path / name).write_bytes(data)
        with pytest.raises(ModelError) as error:
            read_model(tmp_path / name)
        assert problem in str(error.value), name


@pytest.mark.parametrize("path", READABLE, ids=lambda p: p.name)
def test_damaged_files_fail_only_with_a_model_error(path: Path, tmp_path: Path) -> None:
    """Seeded damage (a few bytes changed, the end cut off): read, or refused with a message; no traceback."""
    rng = np.random.default_rng(len(path.name))
    whole = np.frombuffer(path.read_bytes(), dtype=np.uint8)
    damaged = tmp_path / f"damaged{path.suffix}"
    outcomes = set()
    for _ in range(40):
        data = whole.copy()
        data[rng.integers(0, data.size, rng.choice([1, 4, 16]))] = rng.integers(0, 256, dtype=np.uint8)
        damaged.write_bytes(data[: rng.integers(data.size // 2, data.size + 1)].tobytes())
        try:
            read_model(damaged)
            outcomes.add("read")
        except ModelError:
            outcomes.add("refused")
    assert "refused" in outcomes


def test_a_zip_that_torch_did_not_write(tmp_path: Path) -> None:
    path = tmp_path / "other.pt"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("readme.txt", "hello")
    with pytest.raises(ModelError, match="this zip archive is not one torch"):
        read_model(path)


def test_a_storage_missing_from_the_archive(tmp_path: Path) -> None:
    path = tmp_path / "missing.pt"
    _zip_with(path, _pickle_of({"rnn.weight_ih_l0": _tensor(0, (3, 2), (2, 1), key="7")}), b"\0" * 24)
    with pytest.raises(ModelError, match="storage 7 is not in the archive"):
        read_model(path)


def test_an_oversized_pickle_is_refused_before_it_is_read(tmp_path: Path, monkeypatch: Any) -> None:
    monkeypatch.setattr(torch_pickle, "MAX_PICKLE_BYTES", 100)
    with pytest.raises(ModelError, match="the archive member is larger than it can be"):
        read_model(MODELS / "torch_model.pt")
    shutil.copy(MODELS / "torch_legacy.pt", tmp_path / "legacy.pt")
    with pytest.raises(ModelError, match="a pickle in the file is larger than a state_dict's"):
        read_model(tmp_path / "legacy.pt")


def test_an_archive_listing_too_many_members_is_refused_before_zipfile_reads_the_list(monkeypatch: Any) -> None:
    from lstm_trace.models import torch_file

    monkeypatch.setattr(torch_file, "MAX_CENTRAL_DIRECTORY", 1000)  # torch_model.pt lists 30 members in 2,000+ bytes
    with pytest.raises(ModelError, match="the archive lists more members than a torch"):
        read_model(MODELS / "torch_model.pt")


def test_tensors_nested_deeper_than_a_checkpoint_are_not_searched(tmp_path: Path) -> None:
    """200,000 lists, each in the one before, in the last {"weight_ih": tensor}: a walk whose every level makes
    a longer name would take seconds, or hours for a longer pickle; past 16 levels nothing is searched (had it
    been found, the module rnn.0.0.….0 would be refused for its missing weight_hh)."""
    depth = 200_000
    innermost = b"}" + _op("weight_ih") + bytes(_tensor(0, (4, 1), (1, 1))) + b"s"
    nested = b"]" * depth + innermost + b"a" * depth
    data = b"\x80\x02}(" + _op("rnn") + nested + b"u."
    _zip_with(tmp_path / "deep.pt", data, b"\0" * 48)
    assert read_model(tmp_path / "deep.pt").layers == ()


def test_a_corrupt_legacy_storage(tmp_path: Path) -> None:
    whole = (MODELS / "torch_legacy.pt").read_bytes()
    (tmp_path / "cut.pt").write_bytes(whole[:-10])
    with pytest.raises(ModelError, match="is truncated or corrupt"):
        read_model(tmp_path / "cut.pt")


# ---- the unpickler on hand-made pickles --------------------------------------------------------
STORAGE = StorageRecord("0", "float32", 48, "archive/data/0")
WHERE = Where(Path("model.pt"), None, "archive/data.pkl")


def _load(data: bytes) -> Any:
    return unpickle_bytes(data, lambda pid: STORAGE, WHERE)


def _refusal(data: bytes) -> str:
    with pytest.raises(ModelError) as error:
        _load(data)
    return str(error.value)


def test_a_state_dict_pickle_builds_records_only() -> None:
    data = _pickle_of({"w": _tensor(2, (2, 3), (3, 1))})
    (key, record), = _load(data).items()  # fmt: skip
    assert key == "w" and isinstance(record, TensorRecord)
    assert (record.offset, record.shape, record.stride, record.dtype) == (2, (2, 3), (3, 1), "float32")
    assert record.span == (8, 32)  # elements 2 to 7 of the storage, 4 bytes each: only those are read
    storage = np.arange(12, dtype="<f4").tobytes()
    np.testing.assert_array_equal(torch_pickle.values(record, storage[8:32], True), [[2, 3, 4], [5, 6, 7]])
    big_endian = np.arange(12, dtype=">f4").tobytes()[8:32]
    np.testing.assert_array_equal(torch_pickle.values(record, big_endian, False), [[2, 3, 4], [5, 6, 7]])


def test_a_tensor_of_a_dtype_without_a_legacy_storage_class() -> None:
    """torch pickles uint16, float8, ... through _rebuild_tensor_v3: an untyped storage, and the dtype apart."""
    pid = b"(" + _op("storage") + _global("torch.storage", "UntypedStorage") + _op("0") + _op("cpu") + _op(48) + b"tQ"
    hooks = _global("collections", "OrderedDict") + b")R"

    def v3(dtype: str) -> bytes:
        args = (_Ops(pid), 1, (4,), (1,), False, _Ops(hooks), _Ops(_global("torch", dtype)))
        return b"\x80\x02" + _global("torch._utils", "_rebuild_tensor_v3") + _op(args) + b"R."

    untyped = StorageRecord("0", None, 48, "archive/data/0")
    record = unpickle_bytes(v3("uint16"), lambda pid: untyped, WHERE)
    assert (record.dtype, record.span) == ("uint16", (2, 10))
    data = np.arange(24, dtype="<u2").tobytes()[2:10]
    np.testing.assert_array_equal(torch_pickle.values(record, data, True), [1, 2, 3, 4])
    assert "rebuilds from an untyped storage, not a typed one" in _refusal(v3("float32"))  # _load's is typed


def test_a_key_nested_deep_enough_to_crash_hashing_is_refused() -> None:
    """hash() of a tuple nested 300,000 deep overflows the C stack (a segfault, not an exception)."""
    depth = 500_000
    data = b"\x80\x02}q\x00)" + b"\x85" * depth + b"K\x01s."
    assert "the pickle uses a structured value as a dict key" in _refusal(data)


def test_opcodes_that_build_objects_or_name_code_are_refused() -> None:
    cases = {
        b"\x80\x02cposix\nsystem\nX\x04\x00\x00\x00trueq\x00\x85R.": "the pickle names posix.system",
        b"\x80\x04\x8c\x08builtins\x8c\x04eval\x93.": "the pickle names builtins.eval",
        b"\x80\x02ccollections\nOrderedDict\n)\x81.": "the pickle builds an instance of a class",
        b"\x80\x02\x82\x01.": "the pickle names code through the copyreg extension registry",
        b"\x80\x02]}b.": "the pickle sets an object's state",
        b"\x80\x02ccollections\nOrderedDict\n)R}X\x01\x00\x00\x00xK\x01sb.": "the pickle sets an object's state",
        b"\x80\x02ccollections\nOrderedDict\n]\x85R.": "OrderedDict is called with arguments",
        b"\x80\x02]K\x01K\x02s.": "the pickle sets items of something that is not a dict",
        b"\x80\x05\x96\x00\x00\x00\x00\x00\x00\x00\x10.": "out-of-band or preallocated buffers",
        b"\x80\x02ctorch\nFloatStorage\n)R.": "is not callable",
    }
    for data, problem in cases.items():
        assert problem in _refusal(data), data


def test_metadata_built_onto_an_ordered_dict_is_ignored() -> None:
    data = b"\x80\x02ccollections\nOrderedDict\n)R}X\t\x00\x00\x00_metadata}sb."
    assert _load(data) == {}


def test_the_opcode_budget(monkeypatch: Any) -> None:
    monkeypatch.setattr(torch_pickle, "MAX_PICKLE_OPS", 1000)
    assert "the pickle is larger than a state_dict's" in _refusal(b"\x80\x02" + b"N0" * 600 + b"N.")


@pytest.mark.parametrize(
    ("offset", "size", "stride", "problem"),
    [
        (10, (2, 3), (3, 1), "a tensor reaches past the end of its storage"),
        (0, (4, 4), (4, 1), "a tensor reaches past the end of its storage"),
        (0, (1000, 1000), (0, 0), "a tensor reaches past the end of its storage"),  # stride 0: one value, repeated
        (0, (2, 3), (3,), "a tensor's size and stride differ in length"),
        (-1, (2,), (1,), "a tensor's storage offset is not a size"),
        (0, (2**60,), (1,), "a tensor's size is not a size"),
    ],
)
def test_tensor_views_are_checked_against_their_storage(
    offset: int, size: tuple[int, ...], stride: tuple[int, ...], problem: str
) -> None:
    assert problem in _refusal(_pickle_of({"w": _tensor(offset, size, stride)}))


def test_a_tensor_with_hooks_or_view_metadata_is_refused() -> None:
    hooks = _pickle_of({"w": _tensor(0, (2,), (1,), hooks={"h": 1})})
    assert "a tensor carries backward hooks" in _refusal(hooks)
    metadata = _pickle_of({"w": _tensor(0, (2,), (1,), metadata={"neg": True})})
    assert "a tensor carries view metadata" in _refusal(metadata)


# ---- helpers that write torch's formats by hand, opcode by opcode (no torch, no module named) ----
class _Ops(bytes):
    """Pickle opcodes written out, placed as they are."""


def _global(module: str, name: str) -> bytes:
    return f"c{module}\n{name}\n".encode()


def _op(value: Any) -> bytes:
    """The opcodes that push `value` (plain data, tuples, dicts, or _Ops as they are)."""
    if isinstance(value, _Ops):
        return bytes(value)
    if value is None or isinstance(value, bool):
        return {None: b"N", True: b"\x88", False: b"\x89"}[value]
    if isinstance(value, int):
        if -(2**31) <= value < 2**31:
            return b"J" + struct.pack("<i", value)
        raw = value.to_bytes(value.bit_length() // 8 + 1, "little", signed=True)
        return b"\x8a" + bytes([len(raw)]) + raw
    if isinstance(value, str):
        return b"X" + struct.pack("<I", len(value.encode())) + value.encode()
    if isinstance(value, tuple):
        return b"(" + b"".join(map(_op, value)) + b"t"
    assert isinstance(value, dict)
    return b"}(" + b"".join(_op(k) + _op(v) for k, v in value.items()) + b"u"


def _tensor(
    offset: int, size: tuple[int, ...], stride: tuple[int, ...], key: str = "0", hooks: Any = None, metadata: Any = None
) -> _Ops:
    """torch's own pickling of a float32 tensor viewing storage `key` of 12 elements."""
    pid = b"(" + _op("storage") + _global("torch", "FloatStorage") + _op(key) + _op("cpu") + _op(12) + b"tQ"
    ordered = _global("collections", "OrderedDict") + b")R"
    if hooks:
        ordered += _op(hooks)[1:]  # SETITEMS onto the OrderedDict: the dict's items without EMPTY_DICT
    args = b"".join(
        _op(a) for a in (_Ops(pid), offset, size, stride, False, _Ops(ordered), *([metadata] * bool(metadata)))
    )
    return _Ops(_global("torch._utils", "_rebuild_tensor_v2") + b"(" + args + b"tR")


def _pickle_of(state: dict[str, Any]) -> bytes:
    return b"\x80\x02" + _op(state) + b"."


def _zip_with(path: Path, data: bytes, storage: bytes) -> None:
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("archive/data.pkl", data)
        archive.writestr("archive/byteorder", "little")
        archive.writestr("archive/data/0", storage)
        archive.writestr("archive/version", "3\n")


def _safetensors(header: dict[str, Any], size: int) -> bytes:
    text = json.dumps(header).encode()
    return len(text).to_bytes(8, "little") + text + bytes(size)
