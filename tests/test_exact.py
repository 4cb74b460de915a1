"""--exact (fractions, every number as written) and --precision auto (the shortest digits that read back).

Every expected number here is worked by hand in the comments, as fractions; none
comes from running the engine.
"""

from __future__ import annotations

import dataclasses
import json
import re
from fractions import Fraction
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import lstm_trace
from conftest import SCENARIOS, run_cli, write_scenario
from lstm_trace import activations as A
from lstm_trace import frameworks
from lstm_trace.engine import run_network
from lstm_trace.exact import exact_network
from lstm_trace.frameworks.keras import FRAMEWORKS as KERAS
from lstm_trace.frameworks.onnx import FUNCTIONS
from lstm_trace.yamlio import NumericList, WrittenFloat, parse_yaml

# The seed example (scenarios/seed.yaml) with every weight divided by 10, written as decimals.
SEED_TENTHS = """\
framework: keras
layer: LSTM
config: {units: 3, activation: null, recurrent_activation: null, return_state: true}
weights:
  kernel: [[0.2, 0.1, 0.1, 0, 0, 0, 0, 0.1, 0.1, 0, 0.1, 0], [0.1, 0.1, 0, 0.1, 0.1, 0, 0, 0.1, 0.1, 0, 0, 0]]
  recurrent_kernel:
    - [0.1, 0, 0, 0.1, 0.2, 0.1, 0, 0.1, 0.2, 0, 0.1, 0]
    - [0.1, 0.1, 0, 0, 0.2, 0.1, 0, 0.1, 0.2, 0.2, 0, 0]
    - [0.1, 0, 0.1, 0.2, 0, 0.1, 0, 0.1, 0.1, 0, 0.1, 0]
  bias: [0.3, 0.1, 0, 0.1, 0.1, 0, 0, 0.1, 0, 0.2, 0, 0]
inputs: [[[1, 0]]]
"""
# By hand, x = [1, 0] and h₀ = c₀ = 0, so x·W is kernel row 1 and h·U = 0:
#   x·W = [1/5 1/10 1/10 | 0 0 0 | 0 1/10 1/10 | 0 1/10 0]
#   b   = [3/10 1/10 0 | 1/10 1/10 0 | 0 1/10 0 | 1/5 0 0]
#   z = x·W + b:  i = [1/2 1/5 1/10]   f = [1/10 1/10 0]   g = [0 1/5 1/10]   o = [1/5 1/10 0]
#   linear activations: each gate is its z
#   c₁ = f ⊙ c₀ + i ⊙ g = [1/2·0, 1/5·1/5, 1/10·1/10] = [0 1/25 1/100]
#   h₁ = o ⊙ c₁ = [1/5·0, 1/10·1/25, 0·1/100] = [0 1/250 0]

# A relu SimpleRNN over two steps.
RELU_RNN = """\
framework: keras
layer: SimpleRNN
config: {units: 2, activation: relu, return_sequences: true}
weights:
  kernel: [[0.5, -0.3]]
  recurrent_kernel: [[0.5, 0.1], [-0.2, 0.3]]
  bias: [0.1, 0.2]
inputs: [[1], [2]]
"""
# By hand:
#   t=1: x·W = [1/2, -3/10], h₀·U = 0, z₁ = [1/2 + 1/10, -3/10 + 1/5] = [3/5, -1/10], h₁ = relu = [3/5, 0]
#   t=2: x·W = 2·[1/2, -3/10] = [1, -3/5]
#        h₁·U = [3/5·1/2 + 0·(-1/5), 3/5·1/10 + 0·3/10] = [3/10, 3/50]
#        z₂ = [1 + 3/10 + 1/10, -3/5 + 3/50 + 1/5] = [7/5, (-30 + 3 + 10)/50] = [7/5, -17/50]
#        h₂ = relu(z₂) = [7/5, 0]

FRACTION_TEXT = re.compile(r"^-?[0-9]+/[0-9]+$")


def _one_unit(framework: str, activation: str, x: str = "1") -> str:
    """A SimpleRNN of one unit whose h is activation(x): kernel 1, recurrent 0, bias 0."""
    return (
        f"framework: {framework}\nlayer: SimpleRNN\nconfig: {{units: 1, activation: {activation}}}\n"
        f"weights: {{kernel: [[1]], recurrent_kernel: [[0]], bias: [0]}}\ninputs: [[{x}]]\n"
    )


def _exact_json(path: Path, *extra: str) -> Any:
    result = run_cli("run", str(path), "--exact", "--format", "json", *extra)
    assert result.exit_code == 0, result.stderr
    return result.json


# ---- the numbers ------------------------------------------------------------------------------------


def test_seed_in_tenths_is_exact_in_json(tmp_path: Path) -> None:
    doc = _exact_json(write_scenario(tmp_path, SEED_TENTHS))
    assert doc["scenario"]["exact"] is True
    step = doc["steps"][0]
    assert step["xW"] == [["1/5", "1/10", "1/10", 0, 0, 0, 0, "1/10", "1/10", 0, "1/10", 0]]
    assert step["pre"] == [["1/2", "1/5", "1/10", "1/10", "1/10", 0, 0, "1/5", "1/10", "1/5", "1/10", 0]]
    assert step["gates"]["i"]["act"] == [["1/2", "1/5", "1/10"]]
    assert step["gates"]["o"]["act"] == [["1/5", "1/10", 0]]
    assert step["c"] == [[0, "1/25", "1/100"]]
    assert doc["outputs"] == {"sequence": [[[0, "1/250", 0]]], "h": [[0, "1/250", 0]], "c": [[0, "1/25", "1/100"]]}


def test_seed_in_tenths_terminal_and_markdown(tmp_path: Path) -> None:
    path = write_scenario(tmp_path, SEED_TENTHS)
    out = run_cli("run", str(path), "--exact").output
    assert "inputs (1, 1, 2): batch 1 · 1 step · 2 features · exact fractions" in out
    assert re.search(r"= z₁\s+│\s+1/2\s+1/5\s+1/10 │ 1/10\s+1/10\s+0 │ 0\s+1/5\s+1/10 │ 1/5\s+1/10\s+0", out)
    assert "unit 2: 1/10·0 + 1/5·1/5 = 1/25" in out
    assert "h₁ = o ⊙ linear(c₁) = [1/5·0, 1/10·1/25, 0·1/100] = [0 1/250 0]" in out
    assert "h = [[0 1/250 0]]" in out
    md = run_cli("run", str(path), "--exact", "--format", "markdown").output
    assert "inputs (1, 1, 2) · exact fractions" in md and "| = z₁ | 1/2 | 1/5 | 1/10 |" in md
    plain = run_cli("run", str(path)).output  # without --exact, float32: 1/25 is not a float
    assert "exact fractions" not in plain and "1/25" not in plain and "· float32" in plain


def test_relu_rnn_two_steps(tmp_path: Path) -> None:
    doc = _exact_json(write_scenario(tmp_path, RELU_RNN))
    first, second = doc["steps"]
    assert first["pre"] == [["3/5", "-1/10"]] and first["h"] == [["3/5", 0]]
    assert second["xW"] == [[1, "-3/5"]] and second["hU"] == [["3/10", "3/50"]]
    assert second["pre"] == [["7/5", "-17/50"]] and second["h"] == [["7/5", 0]]
    assert doc["outputs"]["sequence"] == [[["3/5", 0], ["7/5", 0]]]


def test_json_holds_only_integers_and_fraction_strings(tmp_path: Path) -> None:
    doc = _exact_json(write_scenario(tmp_path, SEED_TENTHS.replace("[[[1, 0]]]", "[[[1, 0], [0.5, -1.5]]]")))
    leaves: list[Any] = []

    def walk(node: Any) -> None:
        if isinstance(node, list):
            for item in node:
                walk(item)
        else:
            leaves.append(node)

    walk(list(doc["outputs"].values()))
    for step in doc["steps"]:
        walk([step[key] for key in ("x", "h_prev", "c_prev", "xW", "hU", "pre", "c", "c_act", "h")])
        walk([[gate["pre"], gate["act"]] for gate in step["gates"].values()])
    assert len(leaves) > 50
    for leaf in leaves:
        assert (type(leaf) is int) or (isinstance(leaf, str) and FRACTION_TEXT.match(leaf)), leaf
    assert any(isinstance(leaf, str) for leaf in leaves)


def test_hard_sigmoid_keras2_and_keras3(tmp_path: Path) -> None:
    # x = 1: Keras 3 clip(1/6 + 1/2, 0, 1) = 4/6 = 2/3; Keras 2 clip(1/5 + 1/2, 0, 1) = 7/10 (0.2 taken as 1/5)
    k3 = _exact_json(write_scenario(tmp_path, _one_unit("keras", "hard_sigmoid"), "k3.yaml"))
    k2 = _exact_json(write_scenario(tmp_path, _one_unit("keras2", "hard_sigmoid"), "k2.yaml"))
    assert k3["outputs"]["h"] == [["2/3"]]
    assert k2["outputs"]["h"] == [["7/10"]]


@pytest.mark.parametrize(
    ("activation", "x", "want"),
    [
        ("leaky_relu", "-0.5", "-1/10"),  # Keras: 1/5 · (-1/2)
        ("hard_tanh", "-1.5", -1),  # clip(-3/2, -1, 1)
        ("relu6", "6.5", 6),
        ("softsign", "0.5", "1/3"),  # (1/2) / (1 + 1/2)
        ("sparse_sigmoid", "0.5", "3/4"),  # (1/2 + 1) / 2
        ("sparse_plus", "0.5", "9/16"),  # (1/2 + 1)² / 4
        ("soft_shrink", "-0.75", "-1/4"),  # -3/4 + 1/2
        ("hard_shrink", "0.25", 0),  # |1/4| ≤ 1/2
        ("hard_silu", "3", 3),  # 3 · clip(3/6 + 1/2, 0, 1) = 3 · 1
        ("hard_silu", "1", "2/3"),  # 1 · (1/6 + 1/2)
    ],
)
def test_keras_exact_activations(tmp_path: Path, activation: str, x: str, want: Any) -> None:
    doc = _exact_json(write_scenario(tmp_path, _one_unit("keras", activation, x)))
    assert doc["outputs"]["h"] == [[want]]


def test_onnx_clip_and_hard_sigmoid_parameters_are_exact(tmp_path: Path) -> None:
    # clip 0.5 cuts 0.7 to 1/2; HardSigmoid(alpha 0.3, beta 0.4) = 3/10 · 1/2 + 2/5 = 3/20 + 8/20 = 11/20
    text = """\
framework: onnx
layer: RNN
config: {hidden_size: 1, activations: [HardSigmoid], activation_alpha: [0.3], activation_beta: [0.4], clip: 0.5}
weights: {W: [[[1]]], R: [[[0]]], B: [[0, 0]]}
inputs: [[0.7]]
"""
    doc = _exact_json(write_scenario(tmp_path, text))
    gate = doc["steps"][0]["gates"]["h"]
    assert gate["pre"] == [["7/10"]] and gate["clipped"] == [["1/2"]] and gate["act"] == [["11/20"]]
    out = run_cli("run", str(write_scenario(tmp_path, text)), "--exact").output
    assert "clip ±1/2" in out


def test_onnx_coupled_forget_peepholes_and_lengths_are_exact(tmp_path: Path) -> None:
    # One unit, input_forget: f = 1 − i. W rows i, o, f, c = 1/2, 1, 1, 1; R = 0; no bias; P (i, o, f) = 1/2, 0, 0.
    # Affine(1, 0) is linear; i = HardSigmoid(0.2, 0.5). Two rows; row 2 has length 1.
    # t=1, x = 1: i = 1/5 · (1/2 + 1/2 · c₀) + 1/2 with c₀ = 0 → 1/10 + 1/2 = 3/5; f = 1 − 3/5 = 2/5
    #   g = 1, c₁ = 2/5 · 0 + 3/5 · 1 = 3/5; o = HardSigmoid(1) = 1/5 + 1/2 = 7/10; h₁ = 7/10 · 3/5 = 21/50
    # t=2, x = 0 (row 1): i = 1/5 · (0 + 1/2 · 3/5) + 1/2 = 3/50 + 25/50 = 14/25; f = 11/25; g = 0
    #   c₂ = 11/25 · 3/5 = 33/125; o = 1/2 (HardSigmoid(0)); h₂ = 1/2 · 33/125 = 33/250
    text = """\
framework: onnx
layer: LSTM
config:
  hidden_size: 1
  activations: [HardSigmoid, Affine, Affine]
  activation_alpha: [0.2, 1, 1]
  activation_beta: [0.5, 0, 0]
  input_forget: 1
  sequence_lens: [2, 1]
weights: {W: [[[0.5], [1], [1], [1]]], R: [[[0], [0], [0], [0]]], P: [[0.5, 0, 0]]}
inputs: [[[1], [0]], [[1], [5]]]
"""
    doc = _exact_json(write_scenario(tmp_path, text))
    assert doc["outputs"]["h"] == [[["33/250"], ["21/50"]]]  # (D, B, H): row 2 stopped after t=1
    assert doc["outputs"]["c"] == [[["33/125"], ["3/5"]]]
    # Y is (T, D, B, H); past its length row 2's output is 0
    assert doc["outputs"]["sequence"] == [[[["21/50"], ["21/50"]]], [[["33/250"], [0]]]]


def test_every_state_and_clip_works_on_fractions() -> None:
    """TF1 LSTMCell's peepholes, cell_clip, projection, proj_clip, forget_bias and sequence_length on Fractions.

    TF1 fixes sigmoid gates, so --exact refuses this layer; here its gates are swapped for Keras 3's
    hard_sigmoid to run every LSTM path of the engine on object arrays.
    """
    d = {
        "framework": "tf1",
        "layer": "LSTMCell",
        "config": {
            "num_units": 2,
            "use_peepholes": True,
            "cell_clip": 0.3,
            "num_proj": 1,
            "proj_clip": 0.2,
            "forget_bias": 0.5,
            "activation": "relu",
            "dynamic_rnn": {"sequence_length": [3, 1]},
        },
        "weights": {  # columns i i | j j | f f | o o; rows x₁, x₂, h
            "kernel": [
                [0.5, -0.4, 1.5, 0.2, 0.25, 0.6, -0.7, 0.8],
                [0.25, 0.5, -0.5, 0.75, 0.1, -0.2, 0.9, -0.3],
                [0.4, 0.3, 0.2, 0.1, -0.6, 0.5, 0.7, 0.2],
            ],
            "bias": [0.1, -0.1, 0.2, 0, 0.3, -0.2, 0.1, 0.05],
            "w_i_diag": [0.5, -0.5],
            "w_f_diag": [0.25, 0.1],
            "w_o_diag": [1, -1],
            "projection/kernel": [[0.5], [-1.5]],
        },
        "inputs": [[[1, 0.5], [2, -1], [0.5, 0.5]], [[1, 1], [1, 1], [1, 1]]],
        "dtype": "float64",
    }
    net = lstm_trace.Scenario.from_dict(d).network
    swapped = dataclasses.replace(
        net, cells=tuple(tuple(dataclasses.replace(c, recurrent_activation=A.HARD_SIGMOID_K3) for c in layer)
                         for layer in net.cells)
    )  # fmt: skip
    exact = exact_network(swapped)
    cell = exact.cells[0][0]
    assert cell.cell_clip == Fraction(3, 10) and cell.proj_clip == Fraction(1, 5)
    assert cell.runtime_bias is not None and cell.runtime_bias[2] == Fraction(1, 2)
    [[got]] = run_network(exact)
    for name in ("xw", "hu", "pre", "act", "h", "c", "c_act", "c_unclipped", "peep", "m"):
        values = getattr(got, name)
        assert values.dtype == object and all(type(v) is Fraction for v in values.reshape(-1)), name
    # By hand, batch row 2 at t=1: x = [1, 1], h₀ = c₀ = 0 (the peepholes on c₀ add 0)
    #   i: z = [1/2 + 1/4 + 1/10, -2/5 + 1/2 - 1/10] = [17/20, 0] → hard_sigmoid: [17/120 + 1/2, 1/2] = [77/120, 1/2]
    #   j: z = [3/2 - 1/2 + 1/5, 1/5 + 3/4 + 0] = [6/5, 19/20] → relu: the same
    #   c = i ⊙ j = [77/120 · 6/5, 1/2 · 19/20] = [77/100, 19/40], clipped to ±3/10: [3/10, 3/10]
    #   o: z = [-7/10 + 9/10 + 1/10 + 1 · 3/10, 4/5 - 3/10 + 1/20 - 1 · 3/10] = [3/5, 1/4]
    #      → [3/5 / 6 + 1/2, 1/4 / 6 + 1/2] = [3/5, 13/24]
    #   m = o ⊙ relu(c) = [3/5 · 3/10, 13/24 · 3/10] = [9/50, 13/80]
    #   h = m · [1/2, -3/2] = 9/100 - 39/160 = (72 - 195)/800 = -123/800, inside ±1/5
    assert got.c_unclipped[0, 1].tolist() == [Fraction(77, 100), Fraction(19, 40)]
    assert got.c[1, 1].tolist() == [Fraction(3, 10), Fraction(3, 10)]
    assert got.m[0, 1].tolist() == [Fraction(9, 50), Fraction(13, 80)]
    assert got.h[1:, 1, 0].tolist() == [Fraction(-123, 800)] * 3  # row 2 has length 1: its state is held
    assert Fraction(-1, 5) in got.h[1:, 0, 0].tolist()  # proj_clip bites on row 1


# ---- activations ------------------------------------------------------------------------------------


def _exact_activations() -> list[A.Activation]:
    table = {**A.COMMON, **A.KERAS3_ONLY}
    found = [act for act in table.values() if act.exact is not None]
    found += [A.HARD_SIGMOID_K2, A.affine(0.5, -0.25), A.hard_sigmoid(0.3, 0.4), A.leaky_relu(0.01)]
    return [*found, A.thresholded_relu(0.5)]


@pytest.mark.parametrize("act", _exact_activations(), ids=lambda a: f"{a.name}:{a.formula}")
def test_exact_forms_agree_with_the_float_forms(act: A.Activation) -> None:
    grid = [Fraction(k, 8) for k in range(-24, 25)] + [Fraction(1, 3), Fraction(-7, 6)]
    exact = act(np.array(grid, dtype=object))
    assert all(type(v) is Fraction for v in exact)
    floats = act(np.array([float(v) for v in grid], dtype=np.float64))
    np.testing.assert_allclose(exact.astype(np.float64), floats, rtol=1e-14, atol=1e-15)


def test_which_activations_are_exact() -> None:
    exact = {name for name, act in {**A.COMMON, **A.KERAS3_ONLY}.items() if act.exact is not None}
    assert exact == {
        "linear", "relu", "relu6", "softsign", "leaky_relu", "hard_sigmoid", "hard_silu", "hard_tanh",
        "soft_shrink", "hard_shrink", "sparse_plus", "sparse_sigmoid",
    }  # fmt: skip
    assert A.scaled_tanh(1.0, 1.0).exact is None and A.elu(1.0).exact is None
    assert A.affine(float("nan"), 0.0).exact is None  # NaN has no fraction: such a layer is refused


def test_help_lists_the_exact_activations() -> None:
    text = " ".join(run_cli("run", "--help").output.split())
    for name in frameworks.get("keras").exact_activations() + frameworks.get("onnx").exact_activations():
        assert name.split(" (")[0] in text, name
    inexact = {"Sigmoid", "Tanh", "Softplus", "ScaledTanh", "Elu"}
    onnx_exact = {spelling for spelling, *_ in FUNCTIONS.values()} - inexact
    assert set(frameworks.get("onnx").exact_activations()) == onnx_exact
    assert (
        "hard_silu (or hard_swish)" in frameworks.get("keras").exact_activations()
        and "hard_silu" not in frameworks.get("keras2").exact_activations()
    )
    assert set(frameworks.get("keras2").exact_activations()) <= set(KERAS["keras2"].activations)


# ---- refusals ---------------------------------------------------------------------------------------


def test_sigmoid_gates_are_refused_naming_the_field(tmp_path: Path) -> None:
    result = run_cli("run", str(SCENARIOS / "keras_defaults.yaml"), "--exact")
    assert result.exit_code == 2 and result.output == ""
    assert "config.recurrent_activation" in result.stderr
    assert "this layer's recurrent_activation is sigmoid (the default; transcendental)" in result.stderr
    assert "Exact activations: linear, relu" in result.stderr


def test_tanh_is_refused(tmp_path: Path) -> None:
    path = write_scenario(tmp_path, _one_unit("keras", "tanh"))
    result = run_cli("run", str(path), "--exact", "--format", "json")
    assert result.exit_code == 2 and result.output == ""
    assert "--exact needs activations computable with fractions; this layer's activation is tanh" in result.stderr
    with pytest.raises(lstm_trace.ScenarioError, match="tanh"):
        lstm_trace.load(path, exact=True)  # refused while loading: nothing has run
    assert lstm_trace.load(path).exact is False  # without exact the same layer is fine


def test_fixed_gates_and_onnx_roles_are_named() -> None:
    torch = run_cli("check", str(SCENARIOS / "torch_bilstm.yaml"), "--exact")
    assert torch.exit_code == 2
    assert "gate activation (fixed in torch nn.LSTM) is sigmoid" in torch.stderr and "nn.RNN" in torch.stderr
    tf1 = run_cli("run", str(SCENARIOS / "tf1_peepholes.yaml"), "--exact")
    assert tf1.exit_code == 2 and "fixed in tf1 LSTMCell" in tf1.stderr


def test_onnx_role_is_named(tmp_path: Path) -> None:
    text = """\
framework: onnx
layer: GRU
config: {hidden_size: 1, activations: [HardSigmoid, Tanh]}
weights: {W: [[[1], [1], [1]]], R: [[[0], [0], [0]]]}
inputs: [[1]]
"""
    result = run_cli("run", str(write_scenario(tmp_path, text)), "--exact")
    assert result.exit_code == 2
    assert "config.activations: --exact needs" in result.stderr
    assert "activations g (the candidate) is tanh" in result.stderr


def test_nan_is_refused_under_exact(tmp_path: Path) -> None:
    path = write_scenario(tmp_path, _one_unit("keras", "relu", ".nan"))
    result = run_cli("run", str(path), "--exact")
    assert result.exit_code == 2 and "NaN and inf have no fraction" in result.stderr
    assert run_cli("run", str(path)).exit_code == 0  # traced with a warning without --exact


# ---- where numbers come from ------------------------------------------------------------------------


def test_numbers_from_files(tmp_path: Path) -> None:
    # .csv by its text: 0.1 is 1/10; .npy float32 by its shortest float32 decimal: 0.1 again, 1/10
    (tmp_path / "k.csv").write_text("0.1, -2.5e-1\n1, 0.5\n")
    np.save(tmp_path / "u.npy", np.array([[0.1, 0.0], [0.0, 0.1]], dtype=np.float32))
    text = """\
framework: keras
layer: SimpleRNN
config: {units: 2, activation: linear}
weights: {kernel: {csv: k.csv}, recurrent_kernel: {npy: u.npy}, bias: [0, 0]}
inputs: [[3, 2]]
"""
    scenario = lstm_trace.load(write_scenario(tmp_path, text), exact=True)
    cell = scenario.network.cells[0][0]
    assert cell.kernel.tolist() == [[Fraction(1, 10), Fraction(-1, 4)], [1, Fraction(1, 2)]]
    assert cell.recurrent.tolist() == [[Fraction(1, 10), 0], [0, Fraction(1, 10)]]
    assert all(type(v) is Fraction for v in cell.recurrent.reshape(-1))
    # h = 3 · [1/10, -1/4] + 2 · [1, 1/2] = [3/10 + 2, -3/4 + 1] = [23/10, 1/4]
    assert lstm_trace.trace(scenario).outputs["h"].tolist() == [[Fraction(23, 10), Fraction(1, 4)]]


def test_api_exact_scenario_from_dict() -> None:
    # Python floats count as their shortest decimal: 0.1 is 1/10; 1e-3 is 1/1000
    d = {"framework": "keras", "layer": "SimpleRNN", "units": 1, "activation": "linear",
         "kernel": [[0.1]], "recurrent_kernel": [[0]], "bias": [1e-3], "inputs": [[1], [1]]}  # fmt: skip
    scenario = lstm_trace.Scenario.from_dict(d, exact=True)
    assert scenario.exact and scenario.network.inputs.dtype == object
    assert scenario.network.cells[0][0].bias.tolist() == [Fraction(1, 1000)]  # type: ignore[union-attr]
    # h₁ = 1/10 + 1/1000 = 101/1000; h₂ = 1/10 + 0·h₁ + 1/1000 = 101/1000
    assert lstm_trace.trace(scenario).outputs["h"].tolist() == [[Fraction(101, 1000)]]


def test_large_arrays_keep_their_text(tmp_path: Path) -> None:
    # long flow sequences take the fast JSON path; under --exact they keep their decimals too
    kernel = "[" + ", ".join(["[0.1]"] * 700) + "]"
    inputs = "[[" + ", ".join(["1"] * 700) + "]]"
    text = (
        "framework: keras\nlayer: SimpleRNN\nconfig: {units: 1, activation: linear}\nweights:\n"
        f"  kernel: {kernel}\n  recurrent_kernel: [[0]]\n  bias: [0.1]\ninputs: {inputs}\n"
    )
    data = parse_yaml(text, exact=True)
    assert isinstance(data["weights"]["kernel"], NumericList)  # the fast path read it
    assert isinstance(data["weights"]["kernel"][0][0], WrittenFloat)
    scenario = lstm_trace.load(write_scenario(tmp_path, text), exact=True)
    assert set(scenario.network.cells[0][0].kernel.reshape(-1).tolist()) == {Fraction(1, 10)}
    # h = 700 · (1 · 1/10) + 1/10 = 701/10
    assert lstm_trace.trace(scenario).outputs["h"].tolist() == [[Fraction(701, 10)]]


# ---- check --exact ----------------------------------------------------------------------------------


def test_check_exact_compares_exactly(tmp_path: Path) -> None:
    # h₂ = [7/5, 0] and h₁ = [3/5, 0] (worked above)
    right = RELU_RNN + "expect:\n  h: [1.4, 0]\n  steps: {1: {h: [0.6, 0]}}\n  tolerance: 0\n"
    result = run_cli("check", str(write_scenario(tmp_path, right, "right.yaml")), "--exact")
    assert result.exit_code == 0, result.output
    assert "✓ h₂       [7/5 0]" in result.output
    # 0.6000001 is not 3/5: an exact comparison with tolerance 0 says so, where float32 rounding cannot
    near = right.replace("[0.6, 0]", "[0.6000001, 0]")
    path = write_scenario(tmp_path, near, "near.yaml")
    exact = run_cli("check", str(path), "--exact")
    assert exact.exit_code == 1 and "yours [6000001/10000000 0]   right [3/5 0]" in exact.output
    assert run_cli("check", str(path)).exit_code == 0  # float32 cannot tell them apart
    # the tolerance as written: |3/5 − 0.6000001| = 1/10000000 ≤ 1e-7
    within = near.replace("tolerance: 0", "tolerance: 1e-7")
    assert run_cli("check", str(write_scenario(tmp_path, within, "within.yaml")), "--exact").exit_code == 0


# ---- --precision auto -------------------------------------------------------------------------------


def test_precision_auto_shortest_for_the_dtype(tmp_path: Path) -> None:
    text = _one_unit("keras", "linear", "0.5").replace("bias: [0]", "bias: [0.1]").replace("[[1]], rec", "[[0.2]], rec")
    # z = 0.5 · 0.2 + 0.1 = 0.2 exactly written; in float32 0.5·0.2f + 0.1f lands on float32(0.2)
    path = write_scenario(tmp_path, text)
    auto = run_cli("run", str(path), "--precision", "auto").output
    assert "x₁ = [0.5]" in auto and re.search(r"\+ b +│ +0\.1\n", auto) and re.search(r"= z₁ +│ +0\.2\n", auto)
    four = run_cli("run", str(path)).output
    assert "x₁ = [0.5000]" in four and re.search(r"\+ b +│ +0\.1000\n", four)
    # float64: 0.1 + 0.2 is 0.30000000000000004, and auto shows it; 1 stays an integer
    f64 = _one_unit("keras", "linear", "1").replace("[[1]], rec", "[[0.1]], rec").replace("bias: [0]", "bias: [0.2]")
    out = run_cli("run", str(write_scenario(tmp_path, f64 + "dtype: float64\n", "f64.yaml")), "--precision", "auto")
    assert "x₁ = [1]" in out.output and "0.30000000000000004" in out.output
    # the same in fractions: 1/10 + 1/5 = 3/10
    assert re.search(r"= z₁ +│ +3/10\n", run_cli("run", str(tmp_path / "f64.yaml"), "--exact").output)


def test_precision_auto_float32_tenth_and_check(tmp_path: Path) -> None:
    # float32 0.1 is 0.100000001490116…; auto prints it 0.1, the shortest that reads back as that float32
    path = write_scenario(tmp_path, _one_unit("keras", "linear", "0.1") + "expect: {h: [0.1]}\n")
    out = run_cli("run", str(path), "--precision", "auto").output
    assert "output = [[0.1]]" in out
    check = run_cli("check", str(path), "--precision", "auto")
    assert check.exit_code == 0 and "✓ h₁       [0.1]" in check.output


def test_precision_option_parsing(tmp_path: Path) -> None:
    path = str(SCENARIOS / "seed.yaml")
    assert run_cli("run", path, "--precision", "AUTO").exit_code == 0
    assert run_cli("run", path, "--precision", "0").exit_code == 0
    for bad in ("18", "-1", "fast"):
        result = run_cli("run", path, "--precision", bad)
        assert result.exit_code == 2 and "auto" in result.stderr, bad
    assert "DIGITS|AUTO" in run_cli("check", "--help").output


def test_exact_options_in_help() -> None:
    for command in ("run", "check"):
        text = " ".join(run_cli(command, "--help").output.split())
        assert "--exact" in text and "0.1 is 1/10" in text and "refused with exit 2" in text


def test_seed_json_is_unchanged_by_exact_where_integers() -> None:
    plain = run_cli("run", str(SCENARIOS / "seed.yaml"), "--format", "json").json
    exact = run_cli("run", str(SCENARIOS / "seed.yaml"), "--format", "json", "--exact").json
    assert exact["outputs"] == plain["outputs"] == {"sequence": [[[0, 4, 0]]], "h": [[0, 4, 0]], "c": [[0, 4, 1]]}
    assert json.dumps(exact["steps"]) == json.dumps(plain["steps"])


def test_long_exact_run_is_summarised(tmp_path: Path) -> None:
    # 14 steps of the relu RNN above: more than 12, so steps 1, 2 and 14 in full and a strip per row
    inputs = "[" + ", ".join(["[1]", "[2]"] * 7) + "]"
    result = run_cli("run", str(write_scenario(tmp_path, RELU_RNN.replace("[[1], [2]]", inputs))), "--exact")
    assert result.exit_code == 0, result.stderr
    assert "all 14 steps at a glance" in result.output
    assert re.search(r"= z₂ +│ +7/5 +-17/50\n", result.output)  # worked above


def test_readme_exact_example_is_real() -> None:
    readme = (SCENARIOS.parent / "README.md").read_text(encoding="utf-8")
    command = "$ lstm-trace run scenarios/seed_tenths.yaml --exact --no-weights\n"
    block = readme[readme.index(command) + len(command) :]
    block = block[: block.index("```")]
    path = str(SCENARIOS / "seed_tenths.yaml")
    out = run_cli("run", path, "--exact", "--no-weights", env={"COLUMNS": "86"}).output
    out = out.replace(path, "scenarios/seed_tenths.yaml")
    assert [line.rstrip() for line in out.rstrip("\n").splitlines()] == block.rstrip("\n").splitlines()


def test_check_exact_names_the_mistake_in_fractions(tmp_path: Path) -> None:
    # seed_tenths (worked in its header): c₁ = [0 1/25 1/100], o₁ = [1/5 1/10 0], h₁ = o⊙c₁ = [0 1/250 0].
    # Writing h = c is the output gate left out; with it, h₁[2] = 1/10 · 1/25 = 1/250.
    text = (SCENARIOS / "seed_tenths.yaml").read_text(encoding="utf-8").split("\nexpect:")[0]
    wrong = text + "\nexpect:\n  h: [0, 0.04, 0.01]\n  tolerance: 0\n"
    result = run_cli("check", str(write_scenario(tmp_path, wrong)), "--exact", "--format", "json")
    assert result.exit_code == 1
    (report,) = result.json["results"]
    assert report["expected"] == [[0, "1/25", "1/100"]] and report["got"] == [[0, "1/250", 0]]
    assert report["diagnosis"]["mistake"] == "output_gate_left_out"
    assert "h₁[2] = o₁[2] · c₁[2] = 1/10 · 1/25 = 1/250" in report["diagnosis"]["text"]
    # a value no wrong rule explains: the rules that need σ or tanh are not tried with fractions
    other = text + "\nexpect:\n  h: [0, 0.5, 0]\n  tolerance: 0\n"
    result = run_cli("check", str(write_scenario(tmp_path, other, "other.yaml")), "--exact", "--format", "json")
    assert result.exit_code == 1 and result.json["results"][0]["diagnosis"] is None
