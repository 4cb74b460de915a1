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
import tracemalloc
from collections.abc import Callable
from typing import Any

import numpy as np
from timing import interleaved  # benchmarks/timing.py, beside this script

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


def bare_bptt(x: np.ndarray, w: np.ndarray, u: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, ...]:
    """Forward and backpropagation through time written plainly, L = Σ outputs: (dW, dU, db, dx)."""
    h = np.zeros((T + 1, B, U), np.float32)
    c = np.zeros((T + 1, B, U), np.float32)
    gates = np.empty((T, B, 4 * U), np.float32)
    tc = np.empty((T, B, U), np.float32)
    xt = np.ascontiguousarray(x.transpose(1, 0, 2))
    xw = xt @ w
    for t in range(T):
        z = xw[t] + h[t] @ u + b
        a = gates[t]
        a[:, : 2 * U] = 1 / (1 + np.exp(-z[:, : 2 * U]))
        a[:, 2 * U : 3 * U] = np.tanh(z[:, 2 * U : 3 * U])
        a[:, 3 * U :] = 1 / (1 + np.exp(-z[:, 3 * U :]))
        c[t + 1] = a[:, U : 2 * U] * c[t] + a[:, :U] * a[:, 2 * U : 3 * U]
        tc[t] = np.tanh(c[t + 1])
        h[t + 1] = a[:, 3 * U :] * tc[t]
    dz = np.empty_like(gates)
    dh_next = np.zeros((B, U), np.float32)
    dc_next = np.zeros((B, U), np.float32)
    for t in reversed(range(T)):
        a = gates[t]
        i, f, g, o = a[:, :U], a[:, U : 2 * U], a[:, 2 * U : 3 * U], a[:, 3 * U :]
        dh = 1 + dh_next
        dc = dh * o * (1 - tc[t] ** 2) + dc_next
        d = dz[t]
        d[:, :U] = dc * g * i * (1 - i)
        d[:, U : 2 * U] = dc * c[t] * f * (1 - f)
        d[:, 2 * U : 3 * U] = dc * i * (1 - g * g)
        d[:, 3 * U :] = dh * tc[t] * o * (1 - o)
        dh_next = d @ u.T
        dc_next = dc * f
    flat = dz.reshape(-1, 4 * U)
    return xt.reshape(-1, F).T @ flat, h[:-1].reshape(-1, U).T @ flat, flat.sum(axis=0), dz @ w.T


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
    report(interleaved(fns, args.repeat), "bare numpy loop", f"forward, {args.repeat} rounds")
    if torch is None:
        print("  torch.nn.LSTM: not installed (pip install torch to compare)")

    backward(sc, x, cell, args.repeat)

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


def backward(sc: lstm_trace.Scenario, x: np.ndarray, cell: Any, repeat: int) -> None:
    """Forward + backward (L = Σ of the sequence), recording every δ, against a bare numpy BPTT and torch."""
    with_block = lstm_trace.Scenario.from_dict(dict(sc.data, backward={"loss": "sum", "of": "sequence"}))
    grads = lstm_trace.trace(with_block).gradients
    assert grads is not None
    bare = bare_bptt(x, cell.kernel, cell.recurrent, cell.bias)
    np.testing.assert_allclose(grads.weights["kernel"], bare[0], rtol=1e-3, atol=1e-3)
    fns: dict[str, Callable[[], object]] = {
        "bare numpy forward+BPTT": lambda: bare_bptt(x, cell.kernel, cell.recurrent, cell.bias),
        "trace() with backward": lambda: lstm_trace.trace(with_block),
    }
    try:
        import torch
    except ImportError:
        torch = None
    else:
        torch.set_grad_enabled(True)
        module = torch.nn.LSTM(F, U, batch_first=True)
        xt = torch.from_numpy(x).requires_grad_(True)

        def torch_step() -> None:
            module.zero_grad()
            module(xt)[0].sum().backward()

        fns[f"torch {torch.__version__} backward()"] = torch_step
    report(interleaved(fns, repeat), "bare numpy forward+BPTT", "forward + backward, L = Σ sequence")


def report(times: dict[str, list[float]], base_name: str, what: str) -> None:
    base = statistics.median(times[base_name])
    print(f"LSTM B={B} T={T} F={F} U={U} float32, {what}; contenders in turn")
    print(f"  {'':28s} {'min':>9s} {'median':>9s} {'max':>9s}   median ratio to the {base_name}")
    for name, values in times.items():
        lo, med, hi = min(values), statistics.median(values), max(values)
        ratios = f"{med / base:.2f}× (min {min(values) / base:.2f}×)"
        print(f"  {name:28s} {lo * 1000:6.1f} ms {med * 1000:6.1f} ms {hi * 1000:6.1f} ms   {ratios}")


if __name__ == "__main__":
    main()
