"""Numbers formatted a span of steps at a time (render/spans.py): which steps go together, and that a view
built that way is the view built one step at a time."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

import lstm_trace
from conftest import read_fixture
from lstm_trace.render.numtext import nums
from lstm_trace.render.spans import LIMIT, Spans
from lstm_trace.render.views import StepBuilder

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = ROOT / "tests" / "fixtures"


def asked(spans: Spans, k: int, values: np.ndarray, state: bool = False) -> tuple[list[str], list[tuple[int, int]]]:
    """Index k's texts, and the slices of indices the spans asked to format."""
    seen: list[tuple[int, int]] = []

    def pieces(ks: slice) -> list[np.ndarray]:
        seen.append((ks.start, ks.stop))
        return [values[ks]]

    return spans.texts("v", k, pieces, state), seen


VALUES = np.arange(200, dtype=np.float64).reshape(100, 2) / 8  # 0, 0.125, 0.25, ...: exact, and some integral


def test_consecutive_planned_steps_are_formatted_together_and_a_gap_starts_a_new_span() -> None:
    spans = Spans(4, [0, 1, 2, 5, 6])
    texts, seen = asked(spans, 0, VALUES)
    assert (texts, seen) == (["0", "0.1250"], [(0, 3)])
    for k in (1, 2):  # kept: nothing formatted again
        texts, seen = asked(spans, k, VALUES)
        assert seen == [] and texts == nums(VALUES[k], 4)
    assert asked(spans, 5, VALUES)[1] == [(5, 7)]
    assert asked(spans, 9, VALUES)[1] == [(9, 10)]  # outside the plan: alone


def test_a_state_is_needed_one_step_past_each_planned_step() -> None:
    # steps 0-2 read h after 0, 1, 2 steps and write h after 1, 2, 3; step 7 reads h after 7, writes after 8
    spans = Spans(4, [0, 1, 2, 7])
    assert asked(spans, 0, VALUES, state=True)[1] == [(0, 4)]
    assert asked(spans, 7, VALUES, state=True)[1] == [(7, 9)]


def test_a_span_is_at_most_LIMIT_steps() -> None:
    spans = Spans(4, range(100))
    assert asked(spans, 0, VALUES)[1] == [(0, LIMIT)]
    assert asked(spans, LIMIT, VALUES)[1] == [(LIMIT, 2 * LIMIT)]


def test_no_plan_formats_each_step_alone() -> None:
    spans = Spans(4)
    assert asked(spans, 3, VALUES)[1] == [(3, 4)]
    assert asked(spans, 3, VALUES, state=True)[1] == []  # the same key and index: kept


CASES = [
    FIXTURES / "keras" / "bidirectional_lstm_masking.yaml",  # masked steps, two directions
    FIXTURES / "torch" / "gru_packed_two_layers_state.yaml",  # lengths, two layers
    FIXTURES / "torch" / "lstm_deep_bidirectional_state_float64.yaml",
    ROOT / "scenarios" / "tf1_peepholes.yaml",
    ROOT / "scenarios" / "simplernn.yaml",
]


@pytest.mark.parametrize("path", CASES, ids=lambda p: p.stem)
def test_a_view_built_with_a_plan_is_the_view_built_step_by_step(path: Path) -> None:
    data = read_fixture(path)[0] if "fixtures" in path.parts else lstm_trace.load(path)
    tr = lstm_trace.trace(lstm_trace.Scenario.from_dict(data) if isinstance(data, dict) else data)
    for run in tr.all_runs():
        steps, rows = run.steps, run.h.shape[1]
        plan = [s for s in range(steps) if s != 1] + [1]  # a gap, and a step out of order
        units = [0, None, run.cell.units - 1] if run.cell.units > 2 else list(range(run.cell.units))
        planned = StepBuilder(run, units, 3, x_limit=2, plan=plan)
        alone = StepBuilder(run, units, 3, x_limit=2)
        for s in plan:
            for b in range(rows):
                assert planned.step(s, b) == alone.step(s, b), (s, b)
