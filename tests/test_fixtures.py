"""Every fixture generated from a real framework run must be reproduced to float precision."""

from __future__ import annotations

from pathlib import Path

import pytest

import lstm_trace
from conftest import FIXTURES, assert_matches, fixture_files, read_fixture

FRAMEWORKS = ["keras", "keras2", "onnx", "tf1", "torch"]
# the students' answers with a known mistake hold the true layer too, with its per-step states
CASES = [path for fw in [*FRAMEWORKS, "mistakes"] for path in fixture_files(fw)]


def test_fixtures_exist() -> None:
    # gradients: backpropagation through time, tests/test_gradient_fixtures.py; models: saved model files, tests/test_models_*.py
    assert {p.name for p in FIXTURES.iterdir() if p.is_dir()} == {*FRAMEWORKS, "mistakes", "gradients", "models"}
    assert all(len(fixture_files(fw)) >= 30 for fw in [*FRAMEWORKS, "mistakes"])


@pytest.mark.parametrize("path", CASES, ids=lambda p: f"{p.parent.name}/{p.stem}")
def test_fixture(path: Path) -> None:
    data, reference = read_fixture(path)
    scenario = lstm_trace.Scenario.from_dict(data, source=path)
    tr = lstm_trace.trace(scenario)
    for key, want in reference.items():
        if key in ("steps", "steps_reverse"):  # per processing step, from the framework's cell unrolled in a loop
            run = tr.runs[0][key == "steps_reverse"]
            for state, values in want.items():
                if state in ("h", "c"):
                    recorded = run.h[1:] if state == "h" else run.c[1:]  # type: ignore[index]
                    assert_matches(recorded, values, scenario.dtype, f"{path.name}: steps.{state}")
        elif key != "framework":
            assert_matches(tr.outputs[key], want, scenario.dtype, f"{path.name}: {key}")
