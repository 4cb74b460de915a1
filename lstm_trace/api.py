"""The public entry points: a scenario in, a `Trace` out."""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from . import budget
from .engine import run_network
from .overflow import first_nonfinite
from .scenario import Scenario
from .trace import Trace


def trace(scenario: Scenario, *, max_memory: int | str | None = None) -> Trace:
    """Run the scenario's network, recording every step, and gather what the framework returns.

    The memory the record (and the backward pass) will take is worked out from the shapes first; over
    `max_memory` (bytes, or a size such as "2G"; default half the available memory) the scenario is refused
    with a ScenarioError that gives the estimate, before anything is allocated.
    """
    limit = budget.parse_size(max_memory) if isinstance(max_memory, str) else max_memory
    budget.check(scenario.network, limit, backward=scenario.backward is not None, file=scenario.source)
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
