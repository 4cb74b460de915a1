"""Every fixture generated from a real framework run must be reproduced to float precision."""

from __future__ import annotations

from pathlib import Path

import pytest

import lstm_trace
from conftest import FIXTURES, assert_matches, fixture_files, read_fixture

FRAMEWORKS = sorted(p.name for p in FIXTURES.iterdir() if p.is_dir())
CASES = [path for fw in FRAMEWORKS for path in fixture_files(fw)]


def test_fixtures_exist() -> None:
    assert set(FRAMEWORKS) == {"keras", "keras2", "torch", "tf1", "onnx"}
    assert all(len(fixture_files(fw)) >= 30 for fw in FRAMEWORKS)


@pytest.mark.parametrize("path", CASES, ids=lambda p: f"{p.parent.name}/{p.stem}")
def test_fixture(path: Path) -> None:
    data, reference = read_fixture(path)
    scenario = lstm_trace.Scenario.from_dict(data, source=path)
    outputs = lstm_trace.trace(scenario).outputs
    for key, want in reference.items():
        if key == "framework":
            continue
        assert_matches(outputs[key], want, scenario.dtype, f"{path.name}: {key}")
