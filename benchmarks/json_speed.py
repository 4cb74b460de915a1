"""JSON speed: `run --format json` against trace() alone, in one run.

    python benchmarks/json_speed.py [--repeat 9]

A Keras LSTM with B=4, T=1000, F=8, U=64, in float32 and again in float64.
Each round times trace() alone, then trace() followed by the whole JSON
document written to /dev/null (as `run --format json > /dev/null` writes it),
taking the contenders in turn so that drift on a shared machine hits them
alike. It prints min/median/max of each, the ratio of the medians, and the
min/max of the ratios within a round. The target is a ratio of at most 15.

A third contender is a floor for any writer of this text: trace() and then
every array the document holds numbers from, each put through orjson once with
", " after each comma (as json.dumps separates them), and nothing else: no
structure, no special values, nothing written.
"""

from __future__ import annotations

import argparse
import os
import statistics
from collections.abc import Callable

import numpy as np
import orjson
from timing import interleaved  # benchmarks/timing.py, beside this script

import lstm_trace
from lstm_trace.render.jsonout import iter_json

B, T, F, U = 4, 1000, 8, 64
TARGET = 15.0


def scenario(dtype: str, rng: np.random.Generator) -> lstm_trace.Scenario:
    data = {
        "framework": "keras",
        "layer": "LSTM",
        "units": U,
        "dtype": dtype,
        "kernel": rng.uniform(-0.3, 0.3, (F, 4 * U)).astype(dtype),
        "recurrent_kernel": rng.uniform(-0.3, 0.3, (U, 4 * U)).astype(dtype),
        "bias": rng.uniform(-0.3, 0.3, 4 * U).astype(dtype),
        "inputs": rng.normal(size=(B, T, F)).astype(dtype),
    }
    return lstm_trace.Scenario.from_dict(data)


def write_json(sc: lstm_trace.Scenario, out: object) -> int:
    """trace() and the whole JSON written to `out`, chunk by chunk as the CLI writes it; the characters written."""
    n = 0
    for chunk in iter_json(lstm_trace.trace(sc)):
        out.write(chunk)  # type: ignore[attr-defined]
        n += len(chunk)
    return n


def numbers_only(sc: lstm_trace.Scenario) -> int:
    """trace() and the floor: every recorded array's numbers as orjson writes them, ", " between them."""
    run = lstm_trace.trace(sc).first
    arrays = [run.x, run.h, run.c, run.c_act, run.xw, run.hu, run.pre, run.act]
    return sum(len(orjson.dumps(a, option=orjson.OPT_SERIALIZE_NUMPY).replace(b",", b", ")) for a in arrays)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeat", type=int, default=9)
    args = parser.parse_args()
    rng = np.random.default_rng(0)
    with open(os.devnull, "w") as devnull:
        for dtype in ("float32", "float64"):
            sc = scenario(dtype, rng)
            size = write_json(sc, devnull)
            fns: dict[str, Callable[[], object]] = {
                "trace()": lambda sc=sc: lstm_trace.trace(sc),
                "trace() + JSON": lambda sc=sc: write_json(sc, devnull),
                "trace() + floor": lambda sc=sc: numbers_only(sc),
            }
            times = interleaved(fns, args.repeat)
            base, full, floor = times["trace()"], times["trace() + JSON"], times["trace() + floor"]
            print(f"LSTM B={B} T={T} F={F} U={U} {dtype}, JSON {size / 1e6:.0f} MB; {args.repeat} rounds, in turn")
            print(f"  {'':16s} {'min':>9s} {'median':>9s} {'max':>9s}")
            for name, values in times.items():
                lo, med, hi = min(values), statistics.median(values), max(values)
                print(f"  {name:16s} {lo * 1000:6.0f} ms {med * 1000:6.0f} ms {hi * 1000:6.0f} ms")
            rounds = [f / b for f, b in zip(full, base, strict=True)]
            ratio = statistics.median(full) / statistics.median(base)
            print(
                f"  ratio (trace() + JSON) / trace(): {ratio:.1f}× of the medians, "
                f"per round min {min(rounds):.1f}× median {statistics.median(rounds):.1f}× max {max(rounds):.1f}× "
                f"(target ≤ {TARGET:.0f}×)"
            )
            print(f"  the floor / trace(): {statistics.median(floor) / statistics.median(base):.1f}× of the medians")


if __name__ == "__main__":
    main()
