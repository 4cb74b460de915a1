"""Engine against this machine's lower bound: what trace() cannot avoid doing, measured here, in one run.

    python benchmarks/engine_bound.py [--repeat 15] [--kinds lstm,gru,rnn]

Keras LSTM, GRU and SimpleRNN layers with B=32, T=256, F=64, U=128 in float32
(the LSTM of engine_speed.py, and a GRU and a SimpleRNN of the same size).
Any trace of them must at least

- take the products: x·W once for all steps, h·U once per step (timed on
  this machine, on one BLAS thread and on all of them; the faster counts);
- write the record: every byte of the arrays the run holds, into fresh
  memory (timed by filling arrays of the same shapes, freshly allocated);
- evaluate its exponentials and tanh: the count a cell needs (an LSTM's
  σ(i), σ(f), σ(o), tanh(g), tanh(c); a GRU's σ(z), σ(r), tanh(n); an RNN's
  tanh(h)) at the throughput numpy reaches on a cache-resident array.

The bound is the sum of the three, so it leaves out every elementwise sum and
product and all of Python's per-step cost. Each round times trace() and
each part of the bound in turn, so that drift on a shared machine hits them
alike; the script prints min/median/max of each and of trace() / bound
within a round. The target is a median ratio of at most 1.3.
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable
from typing import Any

import numpy as np
from threadpoolctl import ThreadpoolController
from timing import interleaved  # benchmarks/timing.py, beside this script

import lstm_trace

B, T, F, U = 32, 256, 64, 128
TARGET = 1.3
LAYERS = {"lstm": ("LSTM", 4), "gru": ("GRU", 3), "rnn": ("SimpleRNN", 1)}
# exponentials and tanh per step, batch row and unit
TRANSCENDENTALS = {"lstm": {"exp": 3, "tanh": 2}, "gru": {"exp": 2, "tanh": 1}, "rnn": {"exp": 0, "tanh": 1}}
BLAS = ThreadpoolController()
HOT = 1 << 14  # elements of the cache-resident array the transcendental throughput is measured on


def scenario(kind: str, rng: np.random.Generator) -> lstm_trace.Scenario:
    """A Keras layer of `kind` with small random weights (float32), as Keras 3 builds it by default."""
    layer, blocks = LAYERS[kind]
    bias_shape = (2, blocks * U) if kind == "gru" else (blocks * U,)  # Keras 3's GRU: reset_after, two biases
    data = {
        "framework": "keras",
        "layer": layer,
        "units": U,
        "kernel": rng.uniform(-0.1, 0.1, (F, blocks * U)).astype(np.float32),
        "recurrent_kernel": rng.uniform(-0.1, 0.1, (U, blocks * U)).astype(np.float32),
        "bias": rng.uniform(-0.1, 0.1, bias_shape).astype(np.float32),
        "inputs": rng.normal(size=(B, T, F)).astype(np.float32),
    }
    return lstm_trace.Scenario.from_dict(data)


def products(run: Any, threads: int | None) -> Callable[[], None]:
    """x·W for all steps, then h·U for each step, into preallocated (warm) arrays."""
    x = run.x.reshape(-1, F)
    kernel, recurrent = run.cell.kernel, run.cell.recurrent
    xw = np.empty((x.shape[0], kernel.shape[1]), np.float32)
    hs = run.h[:-1].copy()
    hu = np.empty((B, recurrent.shape[1]), np.float32)

    def go() -> None:
        with BLAS.limit(limits=threads, user_api="blas"):
            np.matmul(x, kernel, out=xw)
            for s in range(T):
                np.matmul(hs[s], recurrent, out=hu)

    return go


def record_writes(run: Any) -> tuple[Callable[[], None], int]:
    """Allocate arrays shaped like every array the run holds and write each once; and the bytes that is."""
    shapes = [(a.shape, a.dtype) for a in vars(run).values() if isinstance(a, np.ndarray)]

    def go() -> None:
        for shape, dtype in shapes:
            np.empty(shape, dtype).fill(1)

    return go, sum(int(np.prod(shape)) * np.dtype(dtype).itemsize for shape, dtype in shapes)


def transcendentals(kind: str) -> Callable[[], None]:
    """The cell's count of exp and tanh over all steps, taken a cache-resident array at a time."""
    counts = TRANSCENDENTALS[kind]
    hot = np.random.default_rng(1).uniform(-3, 3, HOT).astype(np.float32)
    out = np.empty_like(hot)
    calls = {np.exp: counts["exp"] * T * B * U // HOT, np.tanh: counts["tanh"] * T * B * U // HOT}

    def go() -> None:
        for fn, n in calls.items():
            for _ in range(n):
                fn(hot, out=out)

    return go


def bound_one(kind: str, repeat: int) -> None:
    sc = scenario(kind, np.random.default_rng(0))
    run = lstm_trace.trace(sc).first
    writes, nbytes = record_writes(run)
    fns: dict[str, Callable[[], object]] = {
        "trace()": lambda: lstm_trace.trace(sc),
        "products, 1 BLAS thread": products(run, 1),
        "products, all BLAS threads": products(run, None),
        f"write the record ({nbytes / 2**20:.0f} MiB)": writes,
        "exp and tanh": transcendentals(kind),
    }
    times = interleaved(fns, repeat)
    names = list(times)
    gemm = [min(a, b) for a, b in zip(times[names[1]], times[names[2]], strict=True)]
    bound = [g + w + e for g, w, e in zip(gemm, times[names[3]], times[names[4]], strict=True)]
    ratios = [t / b for t, b in zip(times["trace()"], bound, strict=True)]
    print(f"{LAYERS[kind][0]} B={B} T={T} F={F} U={U} float32, {repeat} rounds, contenders in turn")
    print(f"  {'':34s} {'min':>9s} {'median':>9s} {'max':>9s}")
    for name, values in [*times.items(), ("bound (faster products + writes + exp/tanh)", bound)]:
        print(f"  {name:34s} " + " ".join(f"{v * 1000:6.2f} ms" for v in spread(values)))
    lo, med, hi = spread(ratios)
    print(f"  trace() / bound: {med:.2f}× median (min {lo:.2f}×, max {hi:.2f}×); target ≤ {TARGET}×")


def spread(values: list[float]) -> tuple[float, float, float]:
    return min(values), statistics.median(values), max(values)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeat", type=int, default=15)
    parser.add_argument("--kinds", default="lstm,gru,rnn", help="which of lstm, gru, rnn (comma-separated)")
    args = parser.parse_args()
    start = time.perf_counter()
    for kind in args.kinds.split(","):
        bound_one(kind, args.repeat)
    print(f"({time.perf_counter() - start:.0f} s)")


if __name__ == "__main__":
    main()
