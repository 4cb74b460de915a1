"""The public entry points: a scenario in, a `Trace` out."""

from __future__ import annotations

import numpy as np

from . import frameworks
from .engine import run_network
from .overflow import first_nonfinite
from .scenario import Scenario
from .trace import Trace


def trace(scenario: Scenario) -> Trace:
    """Run the scenario's network, recording every step, and gather what the framework returns."""
    with np.errstate(all="ignore"):
        runs = run_network(scenario.network)
    returned = frameworks.get(scenario.framework).returned(scenario, runs)
    given = bool(scenario.warnings)
    overflows = [w for run in (r for layer in runs for r in layer) if (w := first_nonfinite(run, given))]
    return Trace(
        scenario=scenario,
        runs=runs,
        outputs=returned.outputs,
        returns=returned.returns,
        returns_note=returned.note,
        stacked_states=returned.stacked_states,
        warnings=(*scenario.warnings, *overflows),
    )
