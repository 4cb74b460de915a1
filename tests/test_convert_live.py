"""Optional: every conversion of a sample of fixtures, run in the target framework itself (skipped where it is
not installed).

`convert` proves a converted layer equal to its source on our own engine; this runs the written scenario in
the real target framework (`verify`), so a layout the engine and the converter both got wrong would show.
Run it in each framework's virtualenv, e.g. `/tmp/torch/bin/python -m pytest tests/test_convert_live.py`.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

import lstm_trace
from conftest import FIXTURES, read_fixture
from lstm_trace.convert import CannotExpress, convert
from lstm_trace.scenario_text import scenario_text
from lstm_trace.yamlio import parse_yaml

pytestmark = pytest.mark.framework
NEEDS = {"keras": ("keras", "tensorflow"), "keras2": ("tf_keras", "tensorflow"), "tf1": ("tf_keras", "tensorflow"),
         "torch": ("torch",), "onnx": ("onnx", "onnxruntime")}  # fmt: skip
SOURCES = [
    "keras/seed",
    "keras/gru_reset_after_backwards_state",
    "keras/bidirectional_lstm_sum",
    "keras/sequential_lstm_gru",
    "keras2/lstm_hard_sigmoid",
    "torch/gru_batch_first",
    "torch/lstm_two_layer_bidirectional_proj",
    "torch/rnn_packed_relu_bidirectional",
    "tf1/lstmcell_peepholes_clip_sequence_length",
    "tf1/grucell_initial_state",
    "onnx/lstm_input_forget_peepholes_clip",
    "onnx/gru_linear_before_reset_bidirectional_clip",
    "onnx/rnn_affine_bidirectional",
]
CASES = [(source, target) for source in SOURCES for target in NEEDS]


def _installed(target: str) -> bool:
    return all(importlib.util.find_spec(module) is not None for module in NEEDS[target])


@pytest.mark.parametrize(("source", "target"), CASES, ids=[f"{s}->{t}" for s, t in CASES])
def test_a_converted_layer_computes_the_same_in_its_target_framework(source: str, target: str) -> None:
    if not _installed(target):
        pytest.skip(f"{target} is not installed here ({' and '.join(NEEDS[target])})")
    from lstm_trace.verify import verify_scenario

    path = FIXTURES / f"{source}.yaml"
    data, _ = read_fixture(path)
    try:
        converted = convert(lstm_trace.Scenario.from_dict(data, source=path), target)
    except CannotExpress:
        pytest.skip(f"{target} cannot express {source}")
    written = scenario_text(converted.data)  # as the user gets it: the file, read back
    scenario = lstm_trace.Scenario.from_dict(parse_yaml(written, Path("converted.yaml")))
    report = verify_scenario(scenario)
    assert report.ok, f"{source} in {target}'s words differs from {target} itself"
