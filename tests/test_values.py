"""NaN and inf: traced with a warning that names where they are; overflow named at its first step and gate."""

from __future__ import annotations

from pathlib import Path

import numpy as np

import lstm_trace
from conftest import SEED, run_cli, write_scenario

EXPONENTIAL = """\
layer: SimpleRNN
units: 2
activation: exponential
kernel: [[30, 1]]
recurrent_kernel: [[1, 0], [0, 1]]
bias: [0, 0]
inputs: [[1], [2], [3]]
"""


def test_nan_in_weights_is_traced_with_a_warning(tmp_path: Path) -> None:
    path = write_scenario(tmp_path, SEED.replace("bias: [3, 1, 0,", "bias: [3, .nan, 0,"))
    tr = lstm_trace.trace(lstm_trace.load(path))
    assert tr.warnings[0].startswith("weights.bias (line 7) holds 1 NaN value(s), the first at weights.bias[1]")
    assert (
        "the NaN or inf given reaches the run: layer 1 forward, step t=1: the i gate's pre-activation is NaN at unit 2"
        in tr.warnings[1]
    )
    assert np.isnan(tr.outputs["h"][0, 1]) and tr.outputs["h"][0, 0] == 0  # unit 1 is untouched: its o is 2, c 0
    result = run_cli("run", str(path))
    assert result.exit_code == 0 and "⚠ weights.bias (line 7) holds 1 NaN" in result.output


def test_inf_in_inputs(tmp_path: Path) -> None:
    tr = lstm_trace.trace(lstm_trace.load(write_scenario(tmp_path, SEED.replace("[[[1, 0]]]", "[[[1, -.inf]]]"))))
    assert tr.warnings[0].startswith("inputs (line 8) holds 1 inf value(s), the first at inputs[0][0][1]")


def test_overflow_is_named_at_its_first_step_and_gate(tmp_path: Path) -> None:
    path = write_scenario(tmp_path, EXPONENTIAL)
    tr = lstm_trace.trace(lstm_trace.load(path))
    # step 1: e^30 is finite in float32; step 2: z = 60 + e^30 overflows e^z to inf
    assert tr.warnings == (
        "overflow: layer 1 forward, step t=2: h's activation is inf at unit 1 (batch row 1); "
        "what depends on it is not meaningful",
    )
    doc = run_cli("run", str(path), "--format", "json").json
    assert doc["warnings"] == list(tr.warnings)
    assert doc["outputs"]["h"] == [[None, None]]  # non-finite values are null in JSON
    assert doc["nonfinite"] == ["sequence", "h"]


def test_no_warnings_for_finite_runs(seed_path: Path) -> None:
    assert lstm_trace.trace(lstm_trace.load(seed_path)).warnings == ()
