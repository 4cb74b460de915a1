"""Shared helpers: fixtures from real framework runs, and a CLI runner that parses output."""

from __future__ import annotations

from collections.abc import Iterator
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
    data.pop("student", None)  # a student's answer with a known mistake (tests/fixtures/mistakes)
    return data, reference


def assert_matches(got: np.ndarray, want: Any, dtype: str, what: str) -> None:
    rtol, atol = TOLERANCE[dtype]
    want_array = np.asarray(want, dtype=np.float64)
    assert got.shape == want_array.shape, f"{what}: shape {got.shape} != {want_array.shape}"
    np.testing.assert_allclose(got.astype(np.float64), want_array, rtol=rtol, atol=atol, err_msg=what)


@pytest.fixture
def seed_path() -> Path:
    return SCENARIOS / "seed.yaml"


class CLIResult:
    """What a CLI run gave: exit code, output, and the output parsed as JSON when it is JSON."""

    def __init__(self, exit_code: int, output: str, stderr: str) -> None:
        self.exit_code = exit_code
        self.output = output
        self.stderr = stderr

    @property
    def json(self) -> Any:
        import json

        return json.loads(self.output)


def run_cli(*args: str, env: dict[str, str] | None = None) -> CLIResult:
    """Run `lstm-trace ARGS` in-process with a fixed-width, colourless console."""
    from click.testing import CliRunner

    from lstm_trace.cli import main

    runner = CliRunner()
    base = {"COLUMNS": "80", "NO_COLOR": "1", "TERM": "dumb"}
    result = runner.invoke(main, list(args), env={**base, **(env or {})}, catch_exceptions=False)
    return CLIResult(result.exit_code, result.stdout, result.stderr)


def write_scenario(tmp_path: Path, text: str, name: str = "s.yaml") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


SEED = """\
framework: keras
layer: LSTM
config: {units: 3, activation: null, recurrent_activation: null}
weights:
  kernel: [[2, 1, 1, 0, 0, 0, 0, 1, 1, 0, 1, 0], [1, 1, 0, 1, 1, 0, 0, 1, 1, 0, 0, 0]]
  recurrent_kernel: [[1, 0, 0, 1, 2, 1, 0, 1, 2, 0, 1, 0], [1, 1, 0, 0, 2, 1, 0, 1, 2, 2, 0, 0], [1, 0, 1, 2, 0, 1, 0, 1, 1, 0, 1, 0]]
  bias: [3, 1, 0, 1, 1, 0, 0, 1, 0, 2, 0, 0]
inputs: [[[1, 0]]]
"""


# ---- a headless Debian chromium driven by Playwright, for the tests that see the page as a reader does

CHROMIUM = Path("/usr/bin/chromium")
# without the background-networking flags chromium tries to reach Google's hosts at start-up
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--disable-sync",
    "--disable-quic",
]


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    """One chromium per test module; skipped with the reason where playwright or chromium is absent.

    Per module, not per session: Playwright's sync API keeps an event loop running while it is open,
    and the presenter's tests (Textual's pilot) need to start their own.
    """
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        pytest.skip("playwright is not installed: pip install '.[test]'")
    if not CHROMIUM.exists():
        pytest.skip("Debian's chromium is not installed at /usr/bin/chromium: apt-get install -y chromium")
    with sync_playwright() as p:
        launched = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield launched
        launched.close()
