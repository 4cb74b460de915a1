"""View speed: the terminal and Markdown views against trace() alone, in one run.

    python benchmarks/view_speed.py [--repeat 5] [--width 80]

A Keras LSTM with B=4, T=1000, F=8, U=64 in float32 (the scenario of
json_speed.py). Each round times trace() alone, then trace() followed by each
view written to /dev/null as `lstm-trace run` writes it (a Console of --width
columns, 80 being what rich gives a pipe): the default terminal view, the
terminal view with --steps all, the same in colour (as on a terminal, for
comparison: no target), and --format markdown (every step). The contenders
are taken in turn, so that drift on a shared machine hits them alike. It
prints min/median/max of each, and per view the ratio to trace(): of the
medians, and min/median/max of the ratios within a round. Targets: terminal
≤ 2×, --steps all ≤ 20×, Markdown ≤ 10×.

A last contender is a floor for the Markdown: trace() and then the numbers
its tables and equations show (x·W, h·U, the sums, the gates, c, tanh(c), h
and x of every step), each array formatted by one call of numtext.nums,
joined into nothing.

Then a 256-unit layer (T=1000, B=4): its trace() and, on that trace, the
default terminal view alone, whose target is well under a second.
"""

from __future__ import annotations

import argparse
import os
import statistics
from collections.abc import Callable
from typing import IO

import numpy as np
from rich.console import Console
from timing import interleaved  # benchmarks/timing.py, beside this script

import lstm_trace
from lstm_trace.render.markdown import render_markdown
from lstm_trace.render.numtext import nums
from lstm_trace.render.selection import Selection
from lstm_trace.render.terminal import TraceView, batched

B, T, F, U, WIDE = 4, 1000, 8, 64, 256
TARGETS = {
    "terminal": 2.0,
    "terminal --steps all": 20.0,
    "terminal --steps all, colour": None,
    "markdown": 10.0,
    "markdown's numbers alone": None,
}


def scenario(units: int, rng: np.random.Generator) -> lstm_trace.Scenario:
    data = {
        "framework": "keras",
        "layer": "LSTM",
        "units": units,
        "dtype": "float32",
        "kernel": rng.uniform(-0.3, 0.3, (F, 4 * units)).astype(np.float32),
        "recurrent_kernel": rng.uniform(-0.3, 0.3, (units, 4 * units)).astype(np.float32),
        "bias": rng.uniform(-0.3, 0.3, 4 * units).astype(np.float32),
        "inputs": rng.normal(size=(B, T, F)).astype(np.float32),
    }
    return lstm_trace.Scenario.from_dict(data)


def view(tr: lstm_trace.Trace, sel: Selection, out: IO[str], width: int, colour: bool = False) -> None:
    """The terminal view of `tr`, in groups of parts as `run` prints it (in colour: as on a terminal)."""
    console = Console(file=out, width=width, highlight=False, soft_wrap=False, force_terminal=colour or None,
                      color_system="truecolor" if colour else "auto")  # fmt: skip
    for parts in batched(TraceView(tr, sel).parts(console.width)):
        console.print(parts, crop=False)


def terminal(sc: lstm_trace.Scenario, sel: Selection, out: IO[str], width: int, colour: bool = False) -> None:
    """trace() and its terminal view."""
    view(lstm_trace.trace(sc), sel, out, width, colour)


def markdown(sc: lstm_trace.Scenario, out: IO[str]) -> None:
    """trace() and its Markdown, line by line as `run --format markdown` writes it."""
    for line in render_markdown(lstm_trace.trace(sc), Selection()):
        out.write(line + "\n")


def numbers_only(sc: lstm_trace.Scenario) -> int:
    """trace() and the Markdown's floor: the numbers it shows, one nums call per array."""
    run = lstm_trace.trace(sc).first
    rows = [run.x[:, 0], run.xw[:, 0], run.hu[:, 0], run.pre[:, 0], run.act[:, 0], run.h[:, 0], run.c[:, 0]]
    rows.append(run.c_act[:, 0])
    return sum(len(nums(a.reshape(-1), 4)) for a in rows)


def report(times: dict[str, list[float]], base: str = "trace()") -> None:
    """min/median/max of each contender, and each view's ratios to trace()."""
    print(f"  {'':30s} {'min':>9s} {'median':>9s} {'max':>9s}")
    for name, values in times.items():
        lo, med, hi = min(values), statistics.median(values), max(values)
        print(f"  {name:30s} {lo * 1000:6.0f} ms {med * 1000:6.0f} ms {hi * 1000:6.0f} ms")
    for name, target in TARGETS.items():
        full = times.get(f"trace() + {name}")
        if full is None:
            continue
        rounds = [f / b for f, b in zip(full, times[base], strict=True)]
        ratio = statistics.median(full) / statistics.median(times[base])
        goal = f"target ≤ {target:.0f}×" if target is not None else "no target"
        print(
            f"  (trace() + {name}) / trace(): {ratio:.1f}× of the medians, per round min {min(rounds):.1f}× "
            f"median {statistics.median(rounds):.1f}× max {max(rounds):.1f}× ({goal})"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--width", type=int, default=80)
    args = parser.parse_args()
    rng = np.random.default_rng(0)
    every = Selection(steps=tuple(range(T)))  # --steps all, as the CLI resolves it
    with open(os.devnull, "w") as devnull:
        sc = scenario(U, rng)
        fns: dict[str, Callable[[], object]] = {
            "trace()": lambda: lstm_trace.trace(sc),
            "trace() + terminal": lambda: terminal(sc, Selection(), devnull, args.width),
            "trace() + terminal --steps all": lambda: terminal(sc, every, devnull, args.width),
            "trace() + terminal --steps all, colour": lambda: terminal(sc, every, devnull, args.width, True),
            "trace() + markdown": lambda: markdown(sc, devnull),
            "trace() + markdown's numbers alone": lambda: numbers_only(sc),
        }
        times = interleaved(fns, args.repeat)
        print(f"LSTM B={B} T={T} F={F} U={U} float32, width {args.width}; {args.repeat} rounds, in turn")
        report(times)
        wide = scenario(WIDE, rng)
        traced = lstm_trace.trace(wide)
        times = interleaved(
            {
                "trace()": lambda: lstm_trace.trace(wide),
                "terminal view of that trace": lambda: view(traced, Selection(), devnull, args.width),
            },
            args.repeat,
        )
        print(f"LSTM B={B} T={T} F={F} U={WIDE} float32, width {args.width}; {args.repeat} rounds, in turn")
        report(times)
        print("  target for the view alone: well under a second")


if __name__ == "__main__":
    main()
