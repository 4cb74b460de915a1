"""Keras's Bidirectional, its mask and Sequential stacks: values worked by hand, what is refused, and the views.

The values against real Keras runs are the fixtures (tests/fixtures/keras*/bidirectional_*, *_mask*,
sequential_*, and their gradients): test_fixtures.py and test_backward.py read them. Here: small layers with
linear activations whose numbers a person can follow, each expected value worked out in a comment.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest

import lstm_trace
from conftest import ROOT, SCENARIOS, run_cli, write_scenario
from lstm_trace.errors import ScenarioError
from lstm_trace.render.markdown import render_markdown
from lstm_trace.render.terminal import render_text

GOLDEN = ROOT / "tests" / "golden"

# forward: h_t = x_t + h_{t-1}; backward: h_t = 2 x_t + 1 (recurrent weight 0); linear, one unit each
BIDIRECTIONAL = """\
title: a Bidirectional by hand
framework: keras
layer: Bidirectional
config:
  merge_mode: sum
  layer: {class_name: SimpleRNN, config: {units: 1, activation: null, return_sequences: true}}
weights:
  forward_simple_rnn/kernel: [[1]]
  forward_simple_rnn/recurrent_kernel: [[1]]
  forward_simple_rnn/bias: [0]
  backward_simple_rnn/kernel: [[2]]
  backward_simple_rnn/recurrent_kernel: [[0]]
  backward_simple_rnn/bias: [1]
inputs: [[1], [2], [3]]
"""

# h_t = x_t + h_{t-1}, h₀ = 5; the mask skips steps 1 and 3
MASKED = """\
framework: keras
layer: SimpleRNN
config: {units: 1, activation: null}
weights: {kernel: [[1]], recurrent_kernel: [[1]], bias: [0]}
initial_state: {h0: [5]}
inputs: [[1], [2], [3]]
mask: [[false, true, false]]
"""


def _trace(tmp_path: Path, text: str, **changes: Any) -> lstm_trace.Trace:
    path = write_scenario(tmp_path, text)
    data = lstm_trace.load(path).data
    return lstm_trace.trace(lstm_trace.Scenario.from_dict({**data, **changes}, path))


# ---- values worked by hand ------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("mode", "sequence"),
    [
        # forward h = [1, 3, 6]; backward reads 3, 2, 1: h = [7, 5, 3], in input time [3, 5, 7]
        ("sum", [4, 8, 13]),
        ("mul", [3, 15, 42]),
        ("ave", [2, 4, 6.5]),
        ("concat", [[1, 3], [3, 5], [6, 7]]),
    ],
)
def test_each_merge_mode_by_hand(tmp_path: Path, mode: str, sequence: Any) -> None:
    text = BIDIRECTIONAL.replace("merge_mode: sum", f"merge_mode: {mode}")
    tr = lstm_trace.trace(lstm_trace.load(write_scenario(tmp_path, text)))
    want = np.array(sequence, float).reshape(1, 3, -1)
    assert tr.outputs["sequence"].tolist() == want.tolist()
    assert tr.outputs["forward_h"].tolist() == [[6]] and tr.outputs["backward_h"].tolist() == [[3]]
    assert [m.name for m in tr.merges] == ["sequence"] and tr.merges[0].mode == mode


def test_merge_mode_null_returns_both_and_the_last_outputs(tmp_path: Path) -> None:
    text = BIDIRECTIONAL.replace("merge_mode: sum", "merge_mode: null").replace(", return_sequences: true", "")
    tr = lstm_trace.trace(lstm_trace.load(write_scenario(tmp_path, text)))
    assert tr.outputs["forward_sequence"].tolist() == [[[1], [3], [6]]]
    assert tr.outputs["backward_sequence"].tolist() == [[[3], [5], [7]]]  # flipped back to input time
    # the last outputs, each in its own processing order: the backward layer's is of x₁
    assert tr.outputs["forward_output"].tolist() == [[6]] and tr.outputs["backward_output"].tolist() == [[3]]
    assert tr.returns == (("forward output", "forward_output"), ("backward output", "backward_output"))
    assert tr.merges == ()


def test_return_sequences_false_merges_the_last_outputs(tmp_path: Path) -> None:
    text = BIDIRECTIONAL.replace("return_sequences: true", "return_sequences: false, return_state: true")
    tr = lstm_trace.trace(lstm_trace.load(write_scenario(tmp_path, text)))
    assert tr.outputs["output"].tolist() == [[9]]  # forward's last, 6, plus backward's last (of x₁), 3
    assert [label for label, _ in tr.returns] == ["output", "forward_h", "backward_h"]


def test_a_masked_step_carries_the_state_and_repeats_the_output(tmp_path: Path) -> None:
    tr = _trace(tmp_path, MASKED)
    # step 1 masked: h stays 5, output 0 (no used step yet); step 2: h = 2 + 5 = 7; step 3 masked: h 7, output 7
    assert tr.first.h[1:, 0, 0].tolist() == [5, 7, 7]
    assert tr.outputs["sequence"].tolist() == [[[0], [7], [7]]] and tr.outputs["h"].tolist() == [[7]]
    assert tr.outputs["output"].tolist() == [[7]] and tr.returns == (("output", "output"),)


def test_zero_output_for_mask_gives_zeros_at_masked_steps(tmp_path: Path) -> None:
    tr = _trace(tmp_path, MASKED.replace("activation: null", "activation: null, zero_output_for_mask: true"))
    assert tr.outputs["sequence"].tolist() == [[[0], [7], [0]]]
    assert tr.outputs["output"].tolist() == [[0]] and tr.outputs["h"].tolist() == [[7]]
    assert "zero_output_for_mask" not in dict(tr.scenario.inert)  # with a mask it acts


def test_a_masked_bidirectional_outputs_zeros_where_it_returns_sequences(tmp_path: Path) -> None:
    tr = _trace(tmp_path, BIDIRECTIONAL + "mask: [[true, false, true]]\n")
    # forward: h = [1, 1 (held), 4]; backward reads 3, 2 (masked), 1: h = [7, 7 (held), 3]
    assert tr.runs[0][0].h[1:, 0, 0].tolist() == [1, 1, 4] and tr.runs[0][1].h[1:, 0, 0].tolist() == [7, 7, 3]
    # Bidirectional sets zero_output_for_mask to return_sequences: masked outputs are 0; input time [1+3, 0, 4+7]
    assert tr.outputs["sequence"].tolist() == [[[4], [0], [11]]]


def test_a_masking_layer_masks_steps_that_hold_mask_value(tmp_path: Path) -> None:
    text = MASKED.replace("mask: [[false, true, false]]", "masking: {mask_value: 1}")
    text = text.replace("inputs: [[1], [2], [3]]", "inputs: [[1], [2], [1]]")
    tr = _trace(tmp_path, text, initial_state=None)
    # steps 1 and 3 hold 1 = mask_value: skipped, no initial state: h = [0, 2, 2], outputs [0, 2, 2]
    assert tr.outputs["sequence"].tolist() == [[[0], [2], [2]]] and tr.warnings == ()


def test_keras3_drops_a_masking_layers_mask_with_initial_state_and_says_why(tmp_path: Path) -> None:
    text = MASKED.replace("mask: [[false, true, false]]", "masking: {mask_value: 1}")
    text = text.replace("inputs: [[1], [2], [3]]", "inputs: [[1], [2], [1]]")
    tr = _trace(tmp_path, text)
    # every step computed, on the Masking layer's output x ⊙ mask = [0, 2, 0]: h = 5, 7, 7
    assert tr.scenario.network.mask is None and tr.outputs["sequence"].tolist() == [[[5], [7], [7]]]
    assert tr.warnings[0].startswith("Keras 3 drops the Masking(mask_value=1) mask here: layer 1 is called with "
                                     "initial_state")  # fmt: skip
    keras2 = _trace(tmp_path, text.replace("framework: keras", "framework: keras2"))
    assert keras2.warnings == () and keras2.outputs["sequence"].tolist() == [[[0], [7], [7]]]  # Keras 2 keeps it


def test_the_masking_layers_zeros_pass_no_gradient_back(tmp_path: Path) -> None:
    text = MASKED.replace("mask: [[false, true, false]]", "masking: {mask_value: 1}")
    text = text.replace("inputs: [[1], [2], [3]]", "inputs: [[1], [2], [1]]")
    tr = _trace(tmp_path, text + "backward: {loss: sum, of: h}\n")
    g = tr.gradients
    assert g is not None
    # h₃ = x₃' + x₂' + x₁' + 5 with x' = x ⊙ mask: dL/dx = mask = [0, 1, 0]; the mask is the one x made, kept
    assert g.inputs.tolist() == [[[0], [1], [0]]] and g.initial_state["h0"].tolist() == [1]


# ---- stacks -------------------------------------------------------------------------------------------------------
STACK = """\
framework: keras
layers:
  - layer: SimpleRNN
    config: {units: 2, activation: null, return_sequences: true}
    weights: {kernel: [[1, 2]], recurrent_kernel: [[0, 0], [0, 0]], bias: [0, 0]}
    initial_state: {h0: [1, 1]}
  - layer: keras.layers.Bidirectional
    config:
      merge_mode: sum
      layer: {class_name: SimpleRNN, config: {units: 1, activation: null}}
    weights: [[[1], [1]], [[0]], [0], [[1], [0]], [[0]], [0]]
inputs: [[1], [2]]
backward: {loss: sum, of: output}
"""


def test_a_stack_feeds_each_layer_the_one_before(tmp_path: Path) -> None:
    tr = lstm_trace.trace(lstm_trace.load(write_scenario(tmp_path, STACK)))
    # layer 1: h_t = [x, 2x] = [1 2], [2 4]; layer 2 forward sums them: 3, 6; backward reads the first unit:
    # of x₂ then x₁, last 1; output = forward's last 6 + backward's last 1
    assert tr.runs[1][0].x[:, 0].tolist() == [[1, 2], [2, 4]]
    assert tr.outputs["output"].tolist() == [[7]]
    assert (
        tr.scenario.header == "keras Sequential: SimpleRNN(units=2) → Bidirectional(SimpleRNN(units=1), merge_mode=sum)"
    )
    summary = [n for n in tr.scenario.notes if n.startswith("model.summary()")]
    # SimpleRNN(2) on 1 feature: 1·2 + 2·2 + 2 = 8; Bidirectional: 2 × (2·1 + 1·1 + 1) = 8
    assert summary == [
        "model.summary(): layer 1 simple_rnn (SimpleRNN) · output shape (None, 2, 2) · 8 params",
        "model.summary(): layer 2 bidirectional (Bidirectional) · output shape (None, 1) · 8 params",
        "model.summary(): total params 16",
    ]
    g = tr.gradients
    assert g is not None
    # L = (x₁ + 2x₁) + (x₂ + 2x₂) + x₁ ... the forward sums every h of layer 1 at step 2 only: 6 = x₂ + 2x₂
    assert g.inputs.tolist() == [[[1], [3]]]  # x₁ reaches only the backward's last (1), x₂ the forward's (3)
    assert g.weights["layers[1].weights[0]"].tolist() == [[2], [4]]  # forward kernel: the h it read last
    assert g.initial_state["layers[0].h0"].tolist() == [0, 0]  # the recurrent weights are zero


def test_layers_each_name_its_initial_state_as_a_state(tmp_path: Path) -> None:
    tr = lstm_trace.trace(lstm_trace.load(write_scenario(tmp_path, STACK.replace("recurrent_kernel: [[0, 0], [0, 0]]",
                                                                                 "recurrent_kernel: [[1, 0], [0, 1]]"))))  # fmt: skip
    g = tr.gradients
    assert g is not None and set(g.initial_state) == {"layers[0].h0"}
    # layer 1: h₁ = x₁·[1 2] + h₀, h₂ = x₂·[1 2] + h₁; L = (h₂[1] + h₂[2]) (the forward's last, kernel [1 1])
    # + h₁[1] (the backward's last, of x₁, kernel [1 0]): dL/dh₀ = [1 1] + [1 0]
    assert g.initial_state["layers[0].h0"].tolist() == [2, 1]


# ---- what is refused, and how -------------------------------------------------------------------------------------
def _error(tmp_path: Path, text: str) -> ScenarioError:
    with pytest.raises(ScenarioError) as caught:
        lstm_trace.load(write_scenario(tmp_path, text))
    return caught.value


@pytest.mark.parametrize(("value", "found"), [("'no'", "'no'"), ("'false'", "'false'"), ("0", "0"), ("null", "None")])
@pytest.mark.parametrize("key", ["return_sequences", "return_state", "go_backwards", "zero_output_for_mask"])
def test_booleans_are_booleans_everywhere(tmp_path: Path, key: str, value: str, found: str) -> None:
    """return_sequences: 'no' is refused as go_backwards: 'no' is, in a layer, a Bidirectional's and a stack's."""
    plain = _error(tmp_path, MASKED.replace("activation: null", f"activation: null, {key}: {value}"))
    inner = _error(tmp_path, BIDIRECTIONAL.replace("return_sequences: true", f"{key}: {value}"))
    options = f"{key}: {value}" if key == "return_sequences" else f"return_sequences: true, {key}: {value}"
    stack = _error(tmp_path, STACK.replace("return_sequences: true", options))
    assert (plain.problem, plain.expected, plain.found) == ("wrong type", "bool", found)
    for error in (inner, stack):
        assert (error.problem, error.expected, error.found) == (plain.problem, plain.expected, plain.found)
    assert inner.where.path == f"config.layer.config.{key}" and stack.where.path == f"layers[0].config.{key}"


@pytest.mark.parametrize(
    ("edit", "problem"),
    [
        (("merge_mode: sum", "merge_mode: average"), "unknown merge_mode 'average'"),
        (("forward_simple_rnn/bias", "simple_rnn/bias"), "a Bidirectional's weight names say which layer"),
        (
            ("forward_simple_rnn/bias: [0]", "forward_simple_rnn/bias: [0]\n  forward_simple_rnn/cell/bias: [1]"),
            "weight 'bias' of forward_simple_rnn given twice",
        ),
        (("class_name: SimpleRNN", "class_name: Dense"), "unknown layer for Bidirectional 'Dense'"),
        (("config: {units: 1,", "config: {units: 1, go_backwards: true,"), "the wrapped layer has go_backwards=True"),
        (("backward_simple_rnn/kernel: [[2]]", "backward_simple_rnn/kernel: [[2, 1]]"), "wrong shape"),
    ],
)
def test_a_bad_bidirectional_is_refused(tmp_path: Path, edit: tuple[str, str], problem: str) -> None:
    assert problem in _error(tmp_path, BIDIRECTIONAL.replace(*edit)).problem


def test_the_weights_list_is_six_arrays(tmp_path: Path) -> None:
    error = _error(tmp_path, STACK.replace("[[[1], [1]], [[0]], [0], ", "[[[1], [1]], [[0]], "))
    assert (
        error.where.path == "layers[1].weights" and error.expected == "6 arrays: kernel, recurrent_kernel, bias twice"
    )


@pytest.mark.parametrize(
    ("edit", "problem", "path"),
    [
        (("mask: [[false, true, false]]", "mask: [[0, 1, 0]]"), "a mask is true or false", "mask"),
        (("mask: [[false, true, false]]", "mask: [[false, true]]"), "wrong shape", "mask"),
        (("mask: [[false, true, false]]", "mask: [[true]]\nmasking: {}"), "mask and masking are both given", "masking"),
        (("mask: [[false, true, false]]", "masking: {mask_value: true}"), "wrong type", "masking.mask_value"),
        (("mask: [[false, true, false]]", "masking: {value: 0}"), "unknown Masking option 'value'", "masking.value"),
        (("framework: keras", "framework: torch"), "mask is not read by framework torch", "mask"),
    ],
)
def test_a_bad_mask_is_refused(tmp_path: Path, edit: tuple[str, str], problem: str, path: str) -> None:
    error = _error(tmp_path, MASKED.replace(*edit))
    assert problem in error.problem and error.where.path == path


@pytest.mark.parametrize(
    ("edit", "problem", "path"),
    [
        (
            ("return_sequences: true}", "return_sequences: false}"),
            "layer 1 returns no sequence, but layer 2 reads one",
            "layers[0].config",
        ),
        (
            ("return_sequences: true}", "return_sequences: true, go_backwards: true}"),
            "layer 1 reads backwards outside a Bidirectional",
            "layers[0].config",
        ),
        (("framework: keras", "framework: keras\nweights: {}"), "weights belongs in an entry of layers", "weights"),
        (("- layer: SimpleRNN", "- layer: Dense"), "unknown layer 'Dense'", "layers[0].layer"),
        (
            ("initial_state: {h0: [1, 1]}", "initial_state: {h0: [1, 1], c0: [1, 1]}"),
            "unknown initial state 'c0'",
            "layers[0].initial_state.c0",
        ),
    ],
)
def test_a_bad_stack_is_refused(tmp_path: Path, edit: tuple[str, str], problem: str, path: str) -> None:
    error = _error(tmp_path, STACK.replace(*edit))
    assert problem in error.problem and error.where.path == path


def test_keras2s_sequential_refuses_a_last_layer_with_several_outputs(tmp_path: Path) -> None:
    text = STACK.replace("framework: keras", "framework: keras2").replace("units: 1,", "units: 1, return_state: true,")
    assert "Keras 2's Sequential refuses" in _error(tmp_path, text).problem
    keras3 = STACK.replace("units: 1,", "units: 1, return_state: true,")
    assert lstm_trace.load(write_scenario(tmp_path, keras3)).layer == "Sequential"


def test_keras3_gives_no_mask_to_a_later_layer_called_with_initial_state(tmp_path: Path) -> None:
    text = STACK.replace("    initial_state: {h0: [1, 1]}\n", "").replace("backward: {loss: sum, of: output}", "")
    text = text.replace("    weights: [[[1], [1]]", "    initial_state: {forward_h0: [1]}\n    weights: [[[1], [1]]")
    error = _error(tmp_path, text + "mask: [[true, false]]\n")
    assert error.problem.startswith("Keras 3 gives layer 2 no mask (it is called with initial_state)")
    keras2 = lstm_trace.load(write_scenario(tmp_path, text.replace("keras\n", "keras2\n") + "mask: [[true, false]]\n"))
    assert keras2.network.mask is not None  # Keras 2 passes the mask on either way


def test_cli_refuses_with_exit_2(tmp_path: Path) -> None:
    result = run_cli("run", str(write_scenario(tmp_path, MASKED.replace("[[false, true, false]]", "[[0, 1, 0]]"))))
    assert result.exit_code == 2 and "a mask is true or false" in result.stderr and "Traceback" not in result.stderr


# ---- the views ----------------------------------------------------------------------------------------------------
def test_the_returns_section_writes_out_the_merge(tmp_path: Path) -> None:
    # golden read and checked against the JSON trace: forward h₁ = [-0.1042 -0.0609], the backward layer's h after
    # reading x₁ (its step 3) = [0.1952 0.1836]; (−0.1042 + 0.1952)/2 = 0.0455 and (−0.0609 + 0.1836)/2 = 0.0614,
    # Keras 3's own sequence₁ in the scenario's expect block
    text = render_text(lstm_trace.trace(lstm_trace.load(SCENARIOS / "keras_bidirectional.yaml")), width=100)
    returns = text[text.index("returns (") : text.index("no effect on this trace")]
    got = [line.rstrip() for line in returns.rstrip().splitlines()]
    assert got == (GOLDEN / "keras_bidirectional_returns.txt").read_text(encoding="utf-8").splitlines()


def test_a_bidirectional_with_a_mask_in_the_terminal(tmp_path: Path) -> None:
    # golden read and checked by hand (see BIDIRECTIONAL): forward h = 1, 1 (held: step 2 masked), 4; backward reads
    # 3, 2 (masked), 1: h = 7, 7, 3; sequence = [1 + 3, 0 (masked: zeros), 4 + 7] = [4, 0, 11]
    tr = _trace(tmp_path, BIDIRECTIONAL + "mask: [[true, false, true]]\n")
    got = [line.rstrip() for line in render_text(tr, width=100).splitlines()]
    assert got == (GOLDEN / "keras_bidirectional_masked.txt").read_text(encoding="utf-8").splitlines()


def test_masked_steps_are_shown_in_markdown(tmp_path: Path) -> None:
    md = "\n".join(render_markdown(_trace(tmp_path, MASKED)))
    assert "### step t=1 · reads x₁ · masked: the state is carried" in md
    assert "*the mask skips x₁ for batch row 1: nothing is computed at this step, and h is carried through " \
           "unchanged.*" in md  # fmt: skip
    assert "### step t=2 · reads x₂\n" in md and "masked" not in md.split("### step t=2")[1].split("###")[0]


def test_the_merge_in_markdown_and_json(tmp_path: Path) -> None:
    path = write_scenario(tmp_path, BIDIRECTIONAL)
    md = "\n".join(render_markdown(lstm_trace.trace(lstm_trace.load(path))))
    assert "- `sequence₁[1] = f + b = 1 + 3 = 4`" in md
    doc = run_cli("run", str(path), "--format", "json").json
    assert doc["outputs"]["sequence"] == [[[4], [8], [13]]] and doc["returns"] == [
        {"name": "sequence", "output": "sequence"}
    ]


def test_exact_bidirectional_average(tmp_path: Path) -> None:
    text = BIDIRECTIONAL.replace("merge_mode: sum", "merge_mode: ave")
    tr = lstm_trace.trace(lstm_trace.load(write_scenario(tmp_path, text), exact=True))
    assert [str(v) for v in tr.outputs["sequence"].ravel()] == ["2", "4", "13/2"]


def test_the_readmes_merge_line_is_what_the_bundled_scenario_prints() -> None:
    line = "sequence₁[1] = (f + b) / 2 = (-0.1042 + 0.1952) / 2 = 0.0455"
    assert line in (ROOT / "README.md").read_text(encoding="utf-8")
    assert line in render_text(lstm_trace.trace(lstm_trace.load(SCENARIOS / "keras_bidirectional.yaml")), width=100)


def test_the_diagram_of_a_masked_step_names_the_mask(tmp_path: Path) -> None:
    from lstm_trace.render.diagram import render_diagram

    svg = render_diagram(_trace(tmp_path, MASKED), step=0)
    assert "the mask skips this step for it" in svg and "is masked: its state is carried through" in svg
    assert "sequence length" not in svg


def test_json_names_each_merge_of_the_two_directions() -> None:
    doc = run_cli("run", str(SCENARIOS / "keras_bidirectional.yaml"), "--format", "json").json
    assert doc["merges"] and {m["output"] for m in doc["merges"]} <= set(doc["outputs"])
    assert all(m["formula"] == {"concat": "[f, b]", "sum": "f + b", "mul": "f ⊙ b", "ave": "(f + b) / 2"}[m["mode"]]
               for m in doc["merges"])  # fmt: skip
    plain = run_cli("run", str(SCENARIOS / "seed.yaml"), "--format", "json").json
    assert plain["merges"] == []
