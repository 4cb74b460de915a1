"""Engine speed: lstm_trace.trace() against a bare numpy loop (and torch, when installed), in one run.

    python benchmarks/engine_speed.py [--repeat 21]

A Keras LSTM with B=32, T=256, F=64, U=128 in float32. trace() records every
product, pre-activation, gate and state; the bare loop computes only the
outputs. The script prints medians and the ratios to the bare loop, and the
peak memory of trace() against the size of the arrays it records.

numpy's OpenBLAS keeps its worker threads spinning for a while after each
matrix product, and on a small machine they take the cores torch's own threads
want. To see torch undisturbed, give numpy one BLAS thread:

    OPENBLAS_NUM_THREADS=1 python benchmarks/engine_speed.py
"""

from __future__ import annotations

import argparse
import statistics
import time
import tracemalloc
from collections.abc import Callable

import numpy as np

import lstm_trace

B, T, F, U = 32, 256, 64, 128


def scenario(rng: np.random.Generator) -> lstm_trace.Scenario:
    data = {
        "framework": "keras",
        "layer": "LSTM",
        "units": U,
        "kernel": rng.uniform(-0.1, 0.1, (F, 4 * U)).astype(np.float32),
        "recurrent_kernel": rng.uniform(-0.1, 0.1, (U, 4 * U)).astype(np.float32),
        "bias": rng.uniform(-0.1, 0.1, 4 * U).astype(np.float32),
        "inputs": rng.normal(size=(B, T, F)).astype(np.float32),
    }
    return lstm_trace.Scenario.from_dict(data)


def bare_loop(x: np.ndarray, w: np.ndarray, u: np.ndarray, b: np.ndarray) -> np.ndarray:
    """The same LSTM written plainly: outputs only, nothing recorded."""
    h = np.zeros((B, U), np.float32)
    c = np.zeros((B, U), np.float32)
    out = np.empty((B, T, U), np.float32)
    xw = x @ w
    for t in range(T):
        z = xw[:, t] + h @ u + b
        i = 1 / (1 + np.exp(-z[:, :U]))
        f = 1 / (1 + np.exp(-z[:, U : 2 * U]))
        g = np.tanh(z[:, 2 * U : 3 * U])
        o = 1 / (1 + np.exp(-z[:, 3 * U :]))
        c = f * c + i * g
        h = o * np.tanh(c)
        out[:, t] = h
    return out


def interleaved(fns: dict[str, Callable[[], object]], repeat: int) -> dict[str, list[float]]:
    """Seconds per call, taking the contenders in turn so that drift on a shared machine hits them alike."""
    for fn in fns.values():
        fn()  # warm up
    times: dict[str, list[float]] = {name: [] for name in fns}
    for _ in range(repeat):
        for name, fn in fns.items():
            start = time.perf_counter()
            fn()
            times[name].append(time.perf_counter() - start)
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeat", type=int, default=21)
    args = parser.parse_args()
    rng = np.random.default_rng(0)
    sc = scenario(rng)
    cell = sc.network.cells[0][0]
    x = sc.network.inputs
    ours = lstm_trace.trace(sc).outputs["sequence"]
    np.testing.assert_allclose(ours, bare_loop(x, cell.kernel, cell.recurrent, cell.bias), rtol=1e-4, atol=1e-6)

    fns: dict[str, Callable[[], object]] = {
        "bare numpy loop": lambda: bare_loop(x, cell.kernel, cell.recurrent, cell.bias),
        "lstm_trace.trace()": lambda: lstm_trace.trace(sc),
    }
    try:
        import torch
    except ImportError:
        torch = None
    else:
        torch.set_grad_enabled(False)
        module = torch.nn.LSTM(F, U, batch_first=True)
        xt = torch.from_numpy(x)
        fns[f"torch.nn.LSTM {torch.__version__}"] = lambda: module(xt)
    times = interleaved(fns, args.repeat)
    base = statistics.median(times["bare numpy loop"])
    print(f"LSTM B={B} T={T} F={F} U={U} float32; {args.repeat} rounds, contenders in turn")
    print(f"  {'':28s} {'median':>9s} {'min':>9s}   median ratio to the bare loop")
    for name, values in times.items():
        med = statistics.median(values)
        print(f"  {name:28s} {med * 1000:6.1f} ms {min(values) * 1000:6.1f} ms   {med / base:.2f}×")
    if torch is None:
        print("  torch.nn.LSTM: not installed (pip install torch to compare)")

    run = lstm_trace.trace(sc).first
    recorded = sum(a.nbytes for a in vars(run).values() if isinstance(a, np.ndarray))
    tracemalloc.start()
    lstm_trace.trace(sc)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    print(
        f"  memory: recorded arrays {recorded / 2**20:.1f} MiB, peak during trace() {peak / 2**20:.1f} MiB "
        f"({peak / recorded:.2f}× the recorded arrays)"
    )


if __name__ == "__main__":
    main()
