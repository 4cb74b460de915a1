"""Scenario loading: YAML 1.2 numbers, shortcuts, pasted configs, array files, framework names."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

import lstm_trace
from conftest import FIXTURES, SEED, write_scenario
from lstm_trace.yamlio import parse_yaml


@pytest.mark.parametrize(
    ("text", "value"),
    [("1e-3", 0.001), ("5E-1", 0.5), (".5", 0.5), ("-.5e+1", -5.0), ("012", 12), ("0x1f", 31), ("0o17", 15),
     (".inf", float("inf")), ("-.Inf", float("-inf")), ("1_000", "1_000"), ("yes", "yes"), ("on", "on"),
     ("true", True), ("~", None), ('"1"', "1")],
)  # fmt: skip
def test_yaml_1_2_scalars(text: str, value: object) -> None:
    assert parse_yaml(f"v: {text}")["v"] == value


def test_yaml_nan() -> None:
    assert np.isnan(parse_yaml("v: .nan")["v"])


def test_numbers_like_numpy_prints_them(tmp_path: Path) -> None:
    text = SEED.replace("[[[1, 0]]]", "[[[1e-0, 0E+0]]]").replace("[3, 1, 0,", "[3.0e0, 1, .0,")
    tr = lstm_trace.trace(lstm_trace.load(write_scenario(tmp_path, text)))
    np.testing.assert_array_equal(tr.outputs["h"], [[0, 4, 0]])


def test_shortcuts_at_the_top(tmp_path: Path) -> None:
    text = """\
units: 3
activation: null
recurrent_activation: linear
kernel: [[2, 1, 1, 0, 0, 0, 0, 1, 1, 0, 1, 0], [1, 1, 0, 1, 1, 0, 0, 1, 1, 0, 0, 0]]
recurrent_kernel: [[1, 0, 0, 1, 2, 1, 0, 1, 2, 0, 1, 0], [1, 1, 0, 0, 2, 1, 0, 1, 2, 2, 0, 0], [1, 0, 1, 2, 0, 1, 0, 1, 1, 0, 1, 0]]
bias: [3, 1, 0, 1, 1, 0, 0, 1, 0, 2, 0, 0]
inputs: [[1, 0]]
"""
    sc = lstm_trace.load(write_scenario(tmp_path, text))
    assert sc.framework == "keras" and sc.layer == "LSTM" and sc.dtype == "float32"
    np.testing.assert_array_equal(lstm_trace.trace(sc).outputs["h"], [[0, 4, 0]])


def test_shortcut_conflicting_with_config(tmp_path: Path) -> None:
    with pytest.raises(lstm_trace.ScenarioError, match="units is given twice"):
        lstm_trace.load(write_scenario(tmp_path, SEED + "units: 4\n"))


def test_units_inferred_from_recurrent_kernel(tmp_path: Path) -> None:
    sc = lstm_trace.load(write_scenario(tmp_path, SEED.replace("units: 3, ", "")))
    assert sc.network.cells[0][0].units == 3


def test_layer_name_forms(tmp_path: Path) -> None:
    for name in ("lstm", "keras.layers.LSTM", "tf.keras.layers.lstm"):
        sc = lstm_trace.load(write_scenario(tmp_path, SEED.replace("layer: LSTM", f"layer: {name}")))
        assert sc.layer == "LSTM"


def test_get_weights_list_and_scoped_names(tmp_path: Path) -> None:
    data = parse_yaml(SEED)
    w = data["weights"]
    as_list = dict(data, weights=[w["kernel"], w["recurrent_kernel"], w["bias"]])
    scoped = dict(
        data,
        weights={
            "lstm/lstm_cell/kernel:0": w["kernel"],
            "lstm/lstm_cell/recurrent_kernel:0": w["recurrent_kernel"],
            "lstm/lstm_cell/bias:0": w["bias"],
        },
    )
    for variant in (as_list, scoped):
        np.testing.assert_array_equal(
            lstm_trace.trace(lstm_trace.Scenario.from_dict(variant)).outputs["c"], [[0, 4, 1]]
        )


def test_arrays_from_npy_npz_csv(tmp_path: Path) -> None:
    data = parse_yaml(SEED)
    np.save(tmp_path / "k.npy", np.array(data["weights"]["kernel"], dtype=np.float64))
    np.savez(tmp_path / "w.npz", rk=np.array(data["weights"]["recurrent_kernel"]), other=np.zeros(1))
    (tmp_path / "b.csv").write_text("# bias\n" + ",".join(map(str, data["weights"]["bias"])) + "\n")
    text = SEED.split("weights:")[0] + (
        "weights:\n  kernel: {npy: k.npy}\n  recurrent_kernel: {npz: w.npz, key: rk}\n  bias: {csv: b.csv}\n"
        "inputs: [[[1, 0]]]\n"
    )
    tr = lstm_trace.trace(lstm_trace.load(write_scenario(tmp_path, text)))
    np.testing.assert_array_equal(tr.outputs["h"], [[0, 4, 0]])


def test_initial_state_row_is_broadcast_over_the_batch(tmp_path: Path) -> None:
    text = SEED.replace("[[[1, 0]]]", "[[[1, 0]], [[1, 0]]]") + "initial_state: {h0: [0, 0, 0], c0: [1, 1, 1]}\n"
    tr = lstm_trace.trace(lstm_trace.load(write_scenario(tmp_path, text)))
    # c = f ⊙ c0 + i ⊙ g with f = [1 1 0], i = [5 2 1], g = [0 2 1]: worked by hand
    np.testing.assert_array_equal(tr.outputs["c"], [[1, 5, 1], [1, 5, 1]])


def test_pasted_keras3_and_keras2_configs_whole() -> None:
    k3 = parse_yaml((FIXTURES / "keras" / "lstm_default.yaml").read_text())
    k2 = parse_yaml((FIXTURES / "keras2" / "gru_reset_before.yaml").read_text())
    assert isinstance(k3["config"]["dtype"], dict) and k3["config"]["kernel_initializer"]["class_name"]
    assert k2["config"]["dtype"] == "float32" and "time_major" in k2["config"]
    for data in (k3, k2):
        data.pop("reference")
        data.pop("dtype")
        sc = lstm_trace.Scenario.from_dict(data)
        assert sc.dtype == "float32"
        inert = dict(sc.inert)
        assert inert["kernel_initializer"] == "sets starting weights; these weights are given"
        assert inert["dropout"] == "acts only in training"
        assert inert["unroll"] == "changes speed, not numbers"
        assert inert["stateful"].startswith("carries state between calls")
    assert dict(lstm_trace.Scenario.from_dict(k3).inert)["unit_forget_bias"].startswith("only initialises")


def test_dtype_policy_float64_sets_the_precision() -> None:
    data = parse_yaml((FIXTURES / "keras" / "lstm_float64.yaml").read_text())
    data.pop("reference")
    data.pop("dtype")
    sc = lstm_trace.Scenario.from_dict(data)
    assert sc.dtype == "float64"
    assert lstm_trace.trace(sc).outputs["h"].dtype == np.float64


def test_hard_sigmoid_differs_between_keras_versions(tmp_path: Path) -> None:
    # one SimpleRNN unit, kernel 1, x = 1: keras gives 1/6 + 1/2, keras2 gives 0.2 + 1/2
    text = (
        "layer: SimpleRNN\nunits: 1\nactivation: hard_sigmoid\nkernel: [[1]]\nrecurrent_kernel: [[0]]\n"
        "bias: [0]\ninputs: [[1]]\ndtype: float64\n"
    )
    k3 = lstm_trace.trace(lstm_trace.load(write_scenario(tmp_path, text))).outputs["h"]
    k2 = lstm_trace.trace(lstm_trace.load(write_scenario(tmp_path, "framework: keras2\n" + text))).outputs["h"]
    assert k3[0, 0] == pytest.approx(1 / 6 + 1 / 2, abs=1e-15)
    assert k2[0, 0] == pytest.approx(0.7, abs=1e-15)


def big_text(rows: int = 150, ragged: bool = False, extra: str = "") -> str:
    """A scenario of a few thousand numbers in flow sequences, big enough for the fast path."""
    rng = np.random.default_rng(3)
    x = rng.normal(size=(rows, 2)).round(6).tolist()
    if ragged:
        x[40] = [1.0]
    rows_text = ",\n  ".join(str(r) for r in x)
    return (
        "framework: keras\nlayer: SimpleRNN\nunits: 1\n"
        "kernel: [[0.5], [0.25]]\nrecurrent_kernel: [[0.5]]\nbias: [0.125]\n"
        f"inputs: [\n  {rows_text}\n]  # {rows} steps\n" + extra
    )


def test_fast_path_reads_the_same_values() -> None:
    import yaml

    from lstm_trace.yamlio import _Loader

    text = big_text()
    fast = parse_yaml(text)
    slow = yaml.load(text, Loader=_Loader)  # the module's safe loader
    assert type(fast["inputs"]).__name__ == "NumericList"
    assert fast == slow


def test_fast_path_keeps_line_numbers(tmp_path: Path) -> None:
    text = big_text(extra="expect: {hh: [1]}\n")
    line = text.count("\n")  # expect is the last line
    with pytest.raises(lstm_trace.ScenarioError) as err:
        lstm_trace.load(write_scenario(tmp_path, text))
    assert f"line {line}" in str(err.value) and "did you mean 'h'" in str(err.value)


def test_fast_path_ragged_rows_are_reported(tmp_path: Path) -> None:
    with pytest.raises(lstm_trace.ScenarioError, match="ragged array") as err:
        lstm_trace.load(write_scenario(tmp_path, big_text(ragged=True)))
    assert "inputs[40]" in str(err.value)


def test_fast_path_leaves_yaml_only_numbers_to_yaml() -> None:
    text = big_text().replace("[0.5], [0.25]", "[.5], [0.25]")  # .5 is YAML 1.2, not JSON
    assert parse_yaml(text)["kernel"] == [[0.5], [0.25]]


def test_framework_aliases(tmp_path: Path) -> None:
    for alias, name in (("tf.keras", "keras2"), ("PyTorch", "torch"), ("Keras3", "keras")):
        data = parse_yaml(SEED.replace("framework: keras", f"framework: {alias}"))
        if name == "torch":
            data = {"framework": alias, "layer": "RNN", "config": {"hidden_size": 1},
                    "weights": {"weight_ih_l0": [[1, 1]], "weight_hh_l0": [[0]], "bias_ih_l0": [0], "bias_hh_l0": [0]},
                    "inputs": [[1, 0]]}  # fmt: skip
        assert lstm_trace.Scenario.from_dict(data).framework == name
