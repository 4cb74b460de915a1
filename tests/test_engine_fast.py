"""The GRU and RNN fast loops record exactly what the general step-by-step path records, bit for bit."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import lstm_trace
from conftest import FIXTURES, read_fixture
from lstm_trace import engine
from lstm_trace.diagnose import Variant, variants
from lstm_trace.trace import Run

# every fixture with a GRU or simple RNN in it: named for it, or a Keras Sequential mixing kinds
CASES = sorted(p for p in FIXTURES.glob("*/*.yaml") if re.search(r"gru|rnn|sequential", p.stem, re.IGNORECASE))


def same_bits(got: Any, want: Any, what: str) -> None:
    """Equal dtype, shape and bytes: -0.0 is not 0.0 and every NaN is the same NaN."""
    got, want = np.asarray(got), np.asarray(want)
    assert (got.dtype, got.shape) == (want.dtype, want.shape), what
    assert got.tobytes() == want.tobytes(), what


def same_run(fast: Run, general: Run, what: str) -> None:
    for name, value in vars(general).items():
        if isinstance(value, np.ndarray):
            same_bits(getattr(fast, name), value, f"{what}.{name}")
        elif value is None:
            assert getattr(fast, name) is None, f"{what}.{name}"
    assert fast.blocks.keys() == general.blocks.keys()
    for gate, block in general.blocks.items():
        other = fast.blocks[gate]
        assert [t.key for t in other.terms] == [t.key for t in block.terms], f"{what}.{gate}"
        for a, b in zip(other.terms, block.terms, strict=True):
            same_bits(a.values, b.values, f"{what}.{gate}.{b.key}")
        same_bits(other.pre, block.pre, f"{what}.{gate}.pre")
        assert [(o.kind, o.activation, o.bound) for o in other.ops] == [
            (o.kind, o.activation, o.bound) for o in block.ops
        ]
        for a, b in zip(other.ops, block.ops, strict=True):
            same_bits(a.out, b.out, f"{what}.{gate}.{b.kind}")
    assert [(o.kind, o.activation, o.bound) for o in fast.updates] == [
        (o.kind, o.activation, o.bound) for o in general.updates
    ]
    for a, b in zip(fast.updates, general.updates, strict=True):
        same_bits(a.out, b.out, f"{what}.{b.kind}")


def test_every_gru_and_rnn_fixture_is_here() -> None:
    assert len(CASES) >= 260


@pytest.mark.parametrize("path", CASES, ids=lambda p: f"{p.parent.name}/{p.stem}")
def test_the_fast_loops_are_the_general_path(path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The fixture's network, and every wrong-rule variant `check` runs of it (a swapped GRU update among them)."""
    data, _ = read_fixture(path)
    net = lstm_trace.Scenario.from_dict(data, path).network
    kinds = {cell.kind for layer in net.cells for cell in layer}
    assert {"gru", "rnn"} & kinds, "a GRU or RNN layer"
    fast_runs: list[str] = []
    for kind in ("gru", "rnn"):
        stepper = engine._STEPPERS[kind]

        def spy(*args: Any, _original: Any = stepper.fast_loop, _kind: str = kind) -> None:
            fast_runs.append(_kind)
            _original(*args)

        monkeypatch.setattr(stepper, "fast_loop", spy)
    mixed = len(kinds) > 1  # diagnosis's variants are for one kind of cell
    for variant in [Variant("as given", net), *([] if mixed else variants(net))]:
        kinds = [cell.kind for layer in variant.network.cells for cell in layer]
        fast_runs.clear()
        with np.errstate(all="ignore"):  # some fixtures and variants overflow on purpose
            general = engine.run_network(variant.network, fast=False)
            assert not fast_runs, "fast=False takes the general path"
            fast = engine.run_network(variant.network)
        assert sorted(fast_runs) == sorted(k for k in kinds if k != "lstm"), "each GRU and RNN run took its fast loop"
        for depth, (fast_layer, general_layer) in enumerate(zip(fast, general, strict=True)):
            for d, (a, b) in enumerate(zip(fast_layer, general_layer, strict=True)):
                same_run(a, b, f"{path.stem} ({variant.mistake} {variant.detail}) layer {depth + 1} direction {d}")
