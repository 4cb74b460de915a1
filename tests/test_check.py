"""check's explanations: the terms it writes out add up to what the engine recorded, for every framework."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

import lstm_trace
from conftest import FIXTURES, SEED, fixture_files, read_fixture, run_cli, write_scenario
from lstm_trace.render.explain import Explainer

CASES = [p for fw in ("keras", "keras2", "torch", "tf1", "onnx") for p in fixture_files(fw)]


@pytest.mark.parametrize("path", CASES, ids=lambda p: f"{p.parent.name}/{p.stem}")
def test_explained_terms_sum_to_the_recorded_pre_activation(path: Path) -> None:
    data, _ = read_fixture(path)
    run = lstm_trace.trace(lstm_trace.Scenario.from_dict(data)).first
    for gate in run.cell.gates:
        for s in {0, run.steps - 1}:
            _, parts = Explainer(run, s, 0).terms(gate, 0)
            z = float(run.gate(gate, "pre")[s, 0, 0])
            if np.isfinite(z):
                assert sum(parts) == pytest.approx(z, rel=1e-4, abs=1e-5), (gate, s)


def test_gru_candidate_is_explained_with_its_reset_term() -> None:
    data, _ = read_fixture(FIXTURES / "keras" / "gru_reset_after.yaml")
    run = lstm_trace.trace(lstm_trace.Scenario.from_dict(data)).first
    labels, _ = Explainer(run, 1, 0).terms("n", 0)
    assert labels == ["x₂·W_n[:,1]", "b_n[1]", "r₂[1]·(h₁·U_n[:,1] + b_rec_n[1])"]


def test_check_names_a_forgotten_activation(tmp_path: Path) -> None:
    # tanh and sigmoid: a student who wrote the pre-activation of o is told so
    text = SEED.replace("activation: null, recurrent_activation: null", "activation: tanh")
    run = lstm_trace.trace(lstm_trace.load(write_scenario(tmp_path, text))).first
    pre_o = run.gate("o", "pre")[0, 0].tolist()
    result = run_cli(
        "check", str(write_scenario(tmp_path, text + f"expect:\n  steps:\n    1: {{o: {pre_o}}}\n")), "--width", "160"
    )
    assert result.exit_code == 1
    assert "You used the sums of the gates as their values: the activation (σ) was left out." in result.output


def test_a_wrong_final_h_of_a_keras_stack_is_explained_by_its_last_layer(tmp_path: Path) -> None:
    """Sequential LSTM → GRU: h is the GRU's; the diagnosis tries its wrong rules on the LSTM only (a GRU has no
    i, f, g, o to reorder) and the arithmetic shown is the GRU's update."""
    from lstm_trace.scenario_text import scenario_text

    data, reference = read_fixture(FIXTURES / "keras" / "sequential_lstm_gru.yaml")
    data["expect"] = {"h": (np.asarray(reference["h"]) + 0.5).tolist()}
    path = tmp_path / "stack.yaml"
    path.write_text(scenario_text(data))
    result = run_cli("check", str(path), "--width", "200")
    assert result.exit_code == 1, result.output
    assert "h₄[1] = z₄[1] · h₃[1] + (1 − z₄[1]) · n₄[1]" in result.output
