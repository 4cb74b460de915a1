"""Shared helpers: fixtures from real framework runs, and a CLI runner that parses output."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest

from lstm_trace.yamlio import parse_yaml

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = ROOT / "tests" / "fixtures"
SCENARIOS = ROOT / "scenarios"
TOLERANCE = {"float32": (1e-5, 1e-6), "float64": (1e-12, 1e-13)}


def fixture_files(framework: str) -> list[Path]:
    return sorted((FIXTURES / framework).glob("*.yaml"))


def read_fixture(path: Path) -> tuple[dict[str, Any], dict[str, Any]]:
    """(scenario mapping, reference outputs) from a generated fixture file."""
    data = parse_yaml(path.read_text(), path)
    reference = data.pop("reference")
    return data, reference


def assert_matches(got: np.ndarray, want: Any, dtype: str, what: str) -> None:
    rtol, atol = TOLERANCE[dtype]
    want_array = np.asarray(want, dtype=np.float64)
    assert got.shape == want_array.shape, f"{what}: shape {got.shape} != {want_array.shape}"
    np.testing.assert_allclose(got.astype(np.float64), want_array, rtol=rtol, atol=atol, err_msg=what)


@pytest.fixture
def seed_path() -> Path:
    return SCENARIOS / "seed.yaml"
