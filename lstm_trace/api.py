"""The public entry points: a scenario in, a `Trace` out."""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from .engine import run_network
from .overflow import first_nonfinite
from .scenario import Scenario
from .trace import Trace


def trace(scenario: Scenario) -> Trace:
    """Run the scenario's network, recording every step, and gather what the framework returns."""
    flagged: list[str] = []
    # numpy reports floating-point trouble to this callback instead of warning; a clean run skips the scan
    with np.errstate(all="call", call=lambda kind, flag: flagged.append(kind)):
        runs = run_network(scenario.network)
    returned = scenario.returns(runs)
    given = bool(scenario.warnings)
    overflows = []
    if flagged or given:
        overflows = [w for run in (r for layer in runs for r in layer) if (w := first_nonfinite(run, given))]
    tr = Trace(
        scenario=scenario,
        runs=runs,
        outputs=returned.outputs,
        returns=returned.returns,
        returns_note=returned.note,
        states_axis=returned.states_axis,
        merges=returned.merges,
        warnings=(*scenario.warnings, *overflows),
    )
    if scenario.backward is None:
        return tr
    from .gradients import gradients  # only scenarios with a backward block pay for it

    return replace(tr, gradients=gradients(tr, scenario.backward))
