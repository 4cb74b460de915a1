"""`lstm-trace convert`: the same layer in another framework's words, proved equal before it is written.

A validated scenario holds the canonical network (model.py). Each target
framework's `express_<name>` module writes that network back in its own
words (layout, gate order, bias split, initial-state shapes) or lists every
option it cannot express. Both scenarios are then traced and every step's h
and c of every layer and direction compared: only an equal pair is written,
and the file says so, with the largest difference found.

What a target cannot express is never approximated: a peephole, a clip or a
projection the target lacks, an activation it cannot spell exactly (checked
by evaluating both functions, so Keras's linear is ONNX's Affine(1, 0) and
Keras 3's hard_sigmoid is ONNX's HardSigmoid(1/6, 0.5), but Keras 2's is no
Keras 3 activation), a direction or layer structure it has no words for.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from .errors import ScenarioError
from .frameworks.express import CannotExpress, Expressed
from .scenario import Scenario
from .trace import Trace

TARGETS = ("keras", "keras2", "torch", "tf1", "onnx")
TOLERANCE = {"float32": (1e-5, 1e-6), "float64": (1e-12, 1e-13)}  # relative, absolute


class NotEqual(Exception):
    """The converted scenario traced to other numbers: a defect in a converter, reported, never written."""


__all__ = ["CannotExpress", "Converted", "NotEqual", "convert"]


# ---- the command ---------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Converted:
    """The target's scenario (inputs included), its largest difference from the source, and what was said."""

    data: Mapping[str, Any]
    difference: float
    compared: int  # the number of values compared
    notes: tuple[str, ...]


def convert(scenario: Scenario, target: str) -> Converted:
    """`scenario` in `target`'s words, traced and compared with the source step by step."""
    from .api import trace

    if scenario.exact:
        raise ScenarioError("convert works on floats: leave out --exact")
    try:
        expressed = _expresser(target)(scenario, target)
    except CannotExpress as exc:
        exc.hint = _others(scenario, target)
        raise
    data: dict[str, Any] = {}
    if scenario.title:
        data["title"] = f"{scenario.title} (in {target}'s words)"
    data |= {"framework": target, **expressed.data, "dtype": scenario.dtype}
    data["inputs"] = scenario.network.inputs
    converted = Scenario.from_dict(data)
    source_trace = trace(scenario)
    difference, compared = _compare(source_trace, trace(converted))
    notes = list(expressed.notes)
    for merge in source_trace.merges:
        if merge.mode != "concat" and target not in ("keras", "keras2"):
            notes.append(f"The source returns its two directions merged by {merge.mode} as {merge.name}; "
                         f"{target} returns them apart, in the runs' h.")  # fmt: skip
            break
    if scenario.expect is not None:
        notes.append("The source's expect block is left out: its values are in the source's names and shapes.")
    if scenario.backward is not None:
        notes.append("The source's backward block is left out: its upstream gradients are in the source's shapes.")
    return Converted(data, difference, compared, tuple(notes))


def _expresser(target: str) -> Callable[[Scenario, str], Expressed]:
    module = importlib.import_module(f".frameworks.express_{'keras' if target == 'keras2' else target}", __package__)
    return module.express  # type: ignore[no-any-return]


def _others(scenario: Scenario, target: str) -> str:
    """Which other targets can express the layer, for the refusal's hint."""
    able = []
    for other in TARGETS:
        if other != target:
            try:
                _expresser(other)(scenario, other)
            except CannotExpress:
                continue
            able.append(other)
    if not able:
        return "no other framework here has words for all of it either"
    return f"--to {' or '.join(able)} can express it"


def _compare(a: Trace, b: Trace) -> tuple[float, int]:
    """The largest relative difference over every step's h and c of every layer and direction (NotEqual beyond
    the dtype's tolerance), and how many values were compared."""
    rtol, atol = TOLERANCE[a.scenario.dtype]
    worst, count = 0.0, 0
    if [len(r) for r in a.runs] != [len(r) for r in b.runs]:
        raise NotEqual(f"the layers differ: {[len(r) for r in a.runs]} directions against {[len(r) for r in b.runs]}")
    for layer, (runs_a, runs_b) in enumerate(zip(a.runs, b.runs, strict=True)):
        for run_a, run_b in zip(runs_a, runs_b, strict=True):
            for name in ("h", "c"):
                x, y = getattr(run_a, name), getattr(run_b, name)
                if x is None and y is None:
                    continue
                if x is None or y is None or x.shape != y.shape:
                    raise NotEqual(f"layer {layer + 1} {run_a.direction}: {name} differs in shape")
                x64, y64 = x.astype(np.float64), y.astype(np.float64)
                gap = np.abs(x64 - y64)
                if not np.all(gap <= atol + rtol * np.abs(x64)):
                    raise NotEqual(f"layer {layer + 1} {run_a.direction}: {name} differs by up to {gap.max():.3g}")
                worst = max(worst, float((gap / np.maximum(np.abs(x64), atol)).max(initial=0.0)))
                count += x.size
    return worst, count
