"""torch as pasted: cells stepped by a loop, packed sequences, whole state_dicts (one module picked), weights from
one .npz, and the refusals that say what is wrong in torch's own words.

The numbers themselves are held to real torch runs by the fixtures (tests/fixtures/torch/*cell*, *packed*,
state_dict_module_*, and their gradients in tests/fixtures/gradients/torch_*); here each behaviour around them.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import lstm_trace
from conftest import FIXTURES, SCENARIOS, read_fixture, run_cli, write_scenario


def fixture(name: str, folder: str = "torch") -> dict[str, Any]:
    data, _ = read_fixture(FIXTURES / folder / f"{name}.yaml")
    return data


def as_yaml(data: dict[str, Any]) -> str:
    return json.dumps(data)  # JSON is YAML


def traced(data: dict[str, Any], source: Path | None = None) -> lstm_trace.Trace:
    return lstm_trace.trace(lstm_trace.Scenario.from_dict(data, source))


def refusal(data: dict[str, Any]) -> str:
    with pytest.raises(lstm_trace.ScenarioError) as err:
        lstm_trace.Scenario.from_dict(data)
    return str(err.value)


def with_config(data: dict[str, Any], **changes: Any) -> dict[str, Any]:
    return dict(data, config={**data["config"], **changes})


# ---- cells ---------------------------------------------------------------------------------------
def test_a_cell_loop_says_it_is_one() -> None:
    result = run_cli("run", str(SCENARIOS / "torch_lstmcell_loop.yaml"), "--width", "200")
    assert result.exit_code == 0, result.stderr
    assert "torch nn.LSTMCell(input_size=2, hidden_size=2) stepped by a Python loop over t" in result.output
    assert "nn.LSTMCell stepped by a Python loop over t: for t in range(T): h, c = cell(x[:, t], (h, c))" in (
        result.output
    )
    assert "[torch.stack(outputs, dim=1) (2, 3, 2), h (2, 2), c (2, 2)]" in result.output


def test_the_bundled_cell_loop_checks_against_torch() -> None:
    result = run_cli("check", str(SCENARIOS / "torch_lstmcell_loop.yaml"))
    assert result.exit_code == 0 and "all 3 values right" in result.output


def test_a_cell_is_a_one_layer_forward_run_of_the_module() -> None:
    """nn.LSTMCell's weights are nn.LSTM's layer 0 without the suffix: the same numbers, the same trace."""
    cell = fixture("lstmcell_loop")
    module = dict(
        cell,
        layer="LSTM",
        config={"hidden_size": 3, "batch_first": True},
        weights={k.replace("cell.", "rnn.") + "_l0": v for k, v in cell["weights"].items()},
    )
    a, b = traced(cell), traced(module)
    assert np.array_equal(a.outputs["sequence"], b.outputs["sequence"])
    assert np.array_equal(a.outputs["h"], b.outputs["h"][0]) and np.array_equal(a.outputs["c"], b.outputs["c"][0])


def test_an_unbatched_state_only_for_one_row() -> None:
    data = fixture("lstmcell_loop")  # B = 2
    text = refusal(dict(data, initial_state={"h0": [0.1, 0.2, 0.3]}))
    assert "initial_state.h0: wrong shape" in text and "expected: shape (2, 3)" in text
    assert "input batch size 2 doesn't match hidden0 batch size 3" in text
    one = dict(data, inputs=data["inputs"][0], initial_state={"h0": [0.1, 0.2, 0.3], "c0": [[0, 0, 0]]})
    assert traced(one).first.h[0].tolist() == [pytest.approx([0.1, 0.2, 0.3])]


@pytest.mark.parametrize(
    ("layer", "weights", "says"),
    [
        ("LSTMCell", {"weight_ih_l0": [[1]]}, ("'weight_ih_l0' is an nn.LSTM's weight name", "hint: layer: LSTM")),
        ("LSTM", {"lstm.weight_ih": [[1]]}, ("'lstm.weight_ih' is an nn.LSTMCell's weight name", "layer: LSTMCell")),
        ("GRUCell", {"weight_ih": [[1]], "wieght_hh": [[1]]}, ("unknown torch weight 'wieght_hh'", "'weight_hh'")),
    ],
)
def test_a_cells_names_and_a_layers_names_are_told_apart(layer: str, weights: dict[str, Any], says: tuple) -> None:
    text = refusal({"framework": "torch", "layer": layer, "config": {"hidden_size": 1}, "weights": weights,
                    "inputs": [[1]]})  # fmt: skip
    assert all(s in text for s in says), text


def test_a_cell_takes_only_its_own_arguments() -> None:
    data = fixture("lstmcell_loop")
    assert "unknown nn.LSTMCell argument 'batch_first'" in refusal(with_config(data, batch_first=True))
    assert "unknown nn.LSTMCell argument 'nonlinearity'" in refusal(with_config(data, nonlinearity="relu"))
    packed = with_config(data, pack_padded_sequence={"lengths": [4, 4]})
    assert "unknown nn.LSTMCell argument 'pack_padded_sequence'" in refusal(packed)
    assert "config.bias: wrong type" in refusal(with_config(data, bias=1))


@pytest.mark.parametrize(
    "key", ["bias", "batch_first", "bidirectional", "num_layers", "hidden_size", "input_size", "proj_size", "dropout"]
)
def test_booleans_are_booleans_and_numbers_are_numbers(key: str) -> None:
    data = fixture("lstm_default")
    flags = {"bias", "batch_first", "bidirectional"}
    wrong = 1 if key in flags else True  # a number for a flag; a flag for a number
    text = refusal(with_config(data, **{key: wrong}))
    assert f"config.{key}" in text and ("expected: bool" in text if key in flags else "True" in text), text


# ---- packed sequences ----------------------------------------------------------------------------
def test_the_trace_says_which_steps_each_row_skips_and_why() -> None:
    tr = traced(fixture("lstm_packed_bidirectional"))  # lengths [3, 5, 2], T = 5, enforce_sorted false
    notes = tr.scenario.notes
    assert "row 1: steps 4–5 are padding, skipped: length 3; row 3: steps 3–5 are padding, skipped: length 2." in notes
    assert any("starts at its own last valid step (row 1 at step 3, row 2 at step 5, row 3 at step 2)" in n
               for n in notes)  # fmt: skip
    assert any("torch sorts the rows by length and gives every result back in the order" in n for n in notes)
    forward, reverse = tr.runs[0]
    assert forward.active is not None and reverse.active is not None
    assert forward.active[:, 2].tolist() == [True, True, False, False, False]  # row 3 runs steps 1 and 2 only
    assert reverse.active[:, 2].tolist() == [False, False, False, True, True]  # reading x₅ … x₁: from x₂
    assert tr.outputs["sequence"][2, 2:].tolist() == [[0.0] * 6] * 3


def test_padding_is_never_read() -> None:
    data = fixture("lstm_packed_deep_bidirectional_state_float64")  # lengths [3, 5, 2]
    inputs = np.asarray(data["inputs"], dtype=np.float64)
    inputs[0, 3:] = 1e3
    inputs[2, 2:] = -7.5
    a, b = traced(data), traced(dict(data, inputs=inputs))
    for name in ("sequence", "h", "c"):
        assert np.array_equal(a.outputs[name], b.outputs[name]), name


def test_the_output_is_as_long_as_the_longest_row_or_total_length() -> None:
    short = fixture("lstm_packed_shorter_than_inputs")  # lengths [2, 3] of T = 5
    assert traced(short).outputs["sequence"].shape == (2, 3, 6)
    assert "pad_packed_sequence: `sequence` is (B, 3, ...), the longest length," in " ".join(
        lstm_trace.Scenario.from_dict(short).notes
    )
    longer = traced(fixture("lstm_packed_total_length"))  # lengths [3, 2] of T = 5, total_length 6
    assert longer.outputs["sequence"].shape == (2, 6, 3) and not longer.outputs["sequence"][:, 3:].any()
    assert longer.returns[0] == ("pad_packed_sequence(output)[0]", "sequence")


@pytest.mark.parametrize(
    ("pack", "pad", "says"),
    [
        ({"lengths": [2, 4]}, None, "`lengths` array must be sorted in decreasing order when `enforce_sorted` is True"),
        ({"lengths": [4, 0], "enforce_sorted": False}, None, "Length of all samples has to be greater than 0"),
        ({"lengths": [4, 2, 1]}, None, "Expected `len(lengths)` to be equal to batch_size, but got 3 (batch_size=2)"),
        ({"lengths": [5, 2]}, None, "a length is longer than the inputs' 4 steps"),
        ({"lengths": [4, 2.5]}, None, "lengths are whole numbers"),
        ({"lengths": [4, True]}, None, "lengths are whole numbers"),
        ({"lengths": [3, 2]}, {"total_length": 2}, "Expected total_length to be at least the length of the longest"),
        ({"lengths": [3, 2]}, {"total_length": True}, "pad_packed_sequence.total_length: wrong type"),
        ({"lengths": [4, 2], "enforce_sorted": "no"}, None, "pack_padded_sequence.enforce_sorted: wrong type"),
        ({"lengths": [4, 2], "batch_first": 1}, None, "pack_padded_sequence.batch_first: wrong type"),
        ({"lengths": [4, 2]}, {"batch_first": None}, "pad_packed_sequence.batch_first: wrong type"),
        ({"length": [4, 2]}, None, "did you mean 'lengths'?"),
        ({"lengths": [4, 2]}, {"padding_value": 1.0}, "unknown pad_packed_sequence argument 'padding_value'"),
        (None, {"total_length": 4}, "pad_packed_sequence pads a PackedSequence, and the input was not packed"),
        ([4, 2], None, "pack_padded_sequence must be a mapping of its arguments"),
    ],
)
def test_packing_is_refused_as_torch_refuses_it(pack: Any, pad: Any, says: str) -> None:
    data = fixture("gru_default")  # B = 2, T = 4
    changes = {k: v for k, v in (("pack_padded_sequence", pack), ("pad_packed_sequence", pad)) if v is not None}
    assert says in refusal(with_config(data, **changes))


def test_a_packed_run_in_the_cli_exits_cleanly_on_a_bad_length(tmp_path: Path) -> None:
    data = with_config(fixture("gru_default"), pack_padded_sequence={"lengths": [2, 4]})
    result = run_cli("run", str(write_scenario(tmp_path, as_yaml(data))))
    assert result.exit_code == 2 and "enforce_sorted" in result.stderr and "Traceback" not in result.stderr


# ---- whole state_dicts ---------------------------------------------------------------------------
def test_several_recurrent_modules_without_module_are_listed(tmp_path: Path) -> None:
    data = fixture("state_dict_module_gru")
    del data["module"]
    result = run_cli("run", str(write_scenario(tmp_path, as_yaml(data))))
    assert result.exit_code == 2 and "Traceback" not in result.stderr
    assert "the state_dict holds 2 recurrent modules: say which one to trace with module" in result.stderr
    assert "expected: module: lstm or module: gru" in result.stderr
    assert "found:    lstm (nn.LSTM), gru (nn.GRU)" in result.stderr


def test_module_picks_one_and_the_rest_are_listed_as_not_traced() -> None:
    data = fixture("state_dict_module_lstm")
    scenario = lstm_trace.Scenario.from_dict(data)
    assert scenario.network.cells[0][0].units == 4
    assert (
        "state_dict: module 'lstm' is traced; not part of this layer, and not traced: gru (8 entries), "
        "head (2 entries)." in scenario.notes
    )
    assert "no recurrent module 'lstn'" in refusal(dict(data, module="lstn"))
    head = refusal(dict(data, module="head"))  # a module, but no recurrent one: only those are listed
    assert "no recurrent module 'head'" in head and "expected: a recurrent module of the weights: lstm, gru" in head


def test_one_recurrent_module_among_others_needs_no_module() -> None:
    data = fixture("state_dict_module_lstm")
    del data["module"]
    data["weights"] = {k: v for k, v in data["weights"].items() if not k.startswith("gru.")}
    assert traced(data).outputs["h"].shape == (1, 2, 4)


def test_nn_sequential_modules_are_numbers() -> None:
    data = fixture("rnn_default")
    data["weights"] = {k.replace("rnn.", "0."): v for k, v in data["weights"].items()}
    data["weights"]["1.weight"] = [[1.0, 2.0, 3.0]]
    assert np.array_equal(traced(dict(data, module=0)).outputs["h"], traced(fixture("rnn_default")).outputs["h"])


def test_module_is_torchs_alone() -> None:
    data = {"framework": "keras", "module": "lstm", "units": 1, "kernel": [[1, 1, 1, 1]],
            "recurrent_kernel": [[1, 1, 1, 1]], "bias": [0, 0, 0, 0], "inputs": [[1]]}  # fmt: skip
    assert "module picks a module of a torch state_dict; framework keras has none" in refusal(data)


def test_proj_size_0_is_what_gru_and_rnn_print_and_nothing_else() -> None:
    gru = fixture("state_dict_module_gru")
    assert gru["config"]["proj_size"] == 0
    assert traced(gru).outputs["h"].shape == (2, 2, 3)
    rnn = with_config(fixture("rnn_default"), proj_size=0)
    assert np.array_equal(traced(rnn).outputs["h"], traced(fixture("rnn_default")).outputs["h"])
    text = refusal(with_config(gru, proj_size=2))
    assert "proj_size argument is only supported for LSTM, not RNN or GRU" in text
    assert "expected: proj_size: 0, as every nn.GRU prints it" in text
    assert "proj_size: wrong type" in refusal(with_config(gru, proj_size=False))
    assert "proj_size should be a positive integer or zero" in refusal(
        with_config(fixture("lstm_default"), proj_size=-1)
    )


@pytest.mark.parametrize(
    ("source", "layer", "config", "fits"),
    [
        ("lstm_default", "GRU", {}, ("shaped for an nn.LSTM, not an nn.GRU", "4 blocks (i, f, g, o) of hidden_size=3",
                                     "hint: layer: LSTM traces it; an nn.GRU stacks 3 blocks (r, z, n)")),
        ("gru_default", "LSTM", {"hidden_size": 3}, ("shaped for an nn.GRU, not an nn.LSTM", "layer: GRU")),
        ("rnn_default", "GRU", {}, ("shaped for an nn.RNN, not an nn.GRU", "1 block (h)")),
        ("lstmcell_loop", "GRUCell", {}, ("shaped for an nn.LSTMCell, not an nn.GRUCell", "layer: LSTMCell")),
    ],
)  # fmt: skip
def test_an_entry_shaped_for_another_kind_says_which(source: str, layer: str, config: dict, fits: tuple) -> None:
    data = dict(fixture(source), layer=layer, config=config)
    text = refusal(data)
    assert all(f in text for f in fits), text


# ---- weights: {npz: file} ------------------------------------------------------------------------
def _saved(tmp_path: Path, name: str, folder: str = "torch") -> tuple[dict[str, Any], Path]:
    """A fixture with its weights saved as one .npz, as np.savez(path, **state_dict) writes them."""
    data = fixture(name, folder)
    arrays = {k: np.asarray(v, dtype=data["dtype"]) for k, v in data["weights"].items()}
    np.savez(tmp_path / "model.npz", **arrays)
    return dict(data, weights={"npz": "model.npz"}), tmp_path / "s.yaml"


def test_a_whole_npz_is_the_state_dict(tmp_path: Path) -> None:
    data, source = _saved(tmp_path, "state_dict_module_gru")
    _, reference = read_fixture(FIXTURES / "torch" / "state_dict_module_gru.yaml")
    tr = traced(data, source)
    for name in ("sequence", "h"):
        np.testing.assert_allclose(tr.outputs[name], reference[name], rtol=1e-5, atol=1e-6)
    result = run_cli("run", str(write_scenario(tmp_path, as_yaml(data))), "--format", "json")
    assert result.exit_code == 0, result.stderr
    np.testing.assert_allclose(result.json["outputs"]["h"], reference["h"], rtol=1e-5, atol=1e-6)


def test_gradients_land_on_the_npz_keys(tmp_path: Path) -> None:
    data, source = _saved(tmp_path, "torch_state_dict_module_gru", "gradients")
    _, reference = read_fixture(FIXTURES / "gradients" / "torch_state_dict_module_gru.yaml")
    g = traced(data, source).gradients
    assert g is not None and list(g.weights) == list(reference["gradients"]["weights"])
    for name, want in reference["gradients"]["weights"].items():
        np.testing.assert_allclose(g.weights[name], want, rtol=1e-5, atol=1e-6, err_msg=name)
    assert not g.weights["head.weight"].any() and not g.weights["lstm.weight_ih_l0"].any()  # not traced: zero


def test_a_whole_npz_is_bounded_and_checked(tmp_path: Path) -> None:
    data, source = _saved(tmp_path, "gru_default")
    assert "array file does not exist" in refusal(dict(data, weights={"npz": "nothing.npz"}))
    assert "unknown key for a whole-file npz reference 'kee'" in refusal(dict(data, weights={"npz": "model.npz",
                                                                                             "kee": "x"}))  # fmt: skip
    np.savez(tmp_path / "text.npz", words=np.array(["a", "b"]))
    with pytest.raises(lstm_trace.ScenarioError, match="array file holds no numbers"):
        lstm_trace.Scenario.from_dict(dict(data, weights={"npz": "text.npz"}), source)
    np.save(tmp_path / "one.npy", np.zeros(3))
    (tmp_path / "one.npz").write_bytes((tmp_path / "one.npy").read_bytes())
    with pytest.raises(lstm_trace.ScenarioError, match=r"not a readable \.npz array file"):
        lstm_trace.Scenario.from_dict(dict(data, weights={"npz": "one.npz"}), source)


def test_the_mode_and_training_attributes_torch_prints_are_read(tmp_path: Path) -> None:
    """vars(nn.GRU(...)) holds mode: 'GRU' and training: True besides proj_size: 0; pasted whole, they are read:
    mode is checked against the layer, training has no effect here and says so."""
    base = (SCENARIOS / "torch_bilstm.yaml").read_text()
    good = base.replace("bidirectional: true}", "bidirectional: true, mode: LSTM, training: true}", 1)
    result = run_cli("run", str(write_scenario(tmp_path, good)), "--format", "json")
    assert result.exit_code == 0, result.stderr
    assert result.json["scenario"]["no_effect"]["training"] == "only dropout reads it"
    bad = base.replace("bidirectional: true}", "bidirectional: true, mode: GRU}", 1)
    result = run_cli("run", str(write_scenario(tmp_path, bad, "bad.yaml")))
    assert result.exit_code == 2 and "mode 'GRU' is not this layer's" in result.stderr
    assert "mode: LSTM, as nn.LSTM holds it" in result.stderr
