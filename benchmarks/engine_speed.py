"""Engine speed: lstm_trace.trace() against a bare numpy loop (and torch, when installed), in one run.

    python benchmarks/engine_speed.py [--repeat 21] [--only lstm|others|backward]

A Keras LSTM with B=32, T=256, F=64, U=128 in float32, then a GRU and a
SimpleRNN of the same size. trace() records every product, pre-activation,
gate and state; the bare loop computes only the outputs. The script prints
medians and the ratios to the bare loop, and the peak memory of trace()
against the size of the arrays it records.

trace() takes its products on one BLAS thread (benchmarks/engine_bound.py
measures why), so each bare forward loop runs on one too, the baseline the
ratios are taken to; the same loop with BLAS as it is is shown beside it.

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
from threadpoolctl import ThreadpoolController
from timing import interleaved  # benchmarks/timing.py, beside this script

import lstm_trace

B, T, F, U = 32, 256, 64, 128
BLAS = ThreadpoolController()  # found once: threadpool_limits() would walk the loaded libraries every call


def scenario(rng: np.random.Generator, layer: str = "LSTM") -> lstm_trace.Scenario:
    """A Keras layer with small random weights, as Keras 3 builds it by default (a GRU: reset_after, two biases)."""
    blocks = {"LSTM": 4, "GRU": 3, "SimpleRNN": 1}[layer]
    data = {
        "framework": "keras",
        "layer": layer,
        "units": U,
        "kernel": rng.uniform(-0.1, 0.1, (F, blocks * U)).astype(np.float32),
        "recurrent_kernel": rng.uniform(-0.1, 0.1, (U, blocks * U)).astype(np.float32),
        "bias": rng.uniform(-0.1, 0.1, (2, blocks * U) if layer == "GRU" else blocks * U).astype(np.float32),
        "inputs": rng.normal(size=(B, T, F)).astype(np.float32),
    }
    return lstm_trace.Scenario.from_dict(data)


def one_thread(fn: Callable[[], object]) -> Callable[[], object]:
    """`fn` with numpy's BLAS on one thread while it runs."""

    def run() -> object:
        with BLAS.limit(limits=1, user_api="blas"):
            return fn()

    return run


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


def bare_gru(x: np.ndarray, w: np.ndarray, u: np.ndarray, b: np.ndarray, b_rec: np.ndarray) -> np.ndarray:
    """A Keras GRU (reset_after: r scales h·U_n + b_rec_n) written plainly: outputs only, nothing recorded."""
    h = np.zeros((B, U), np.float32)
    out = np.empty((B, T, U), np.float32)
    xw = x @ w
    for t in range(T):
        xt = xw[:, t] + b
        ht = h @ u + b_rec
        z = 1 / (1 + np.exp(-(xt[:, :U] + ht[:, :U])))
        r = 1 / (1 + np.exp(-(xt[:, U : 2 * U] + ht[:, U : 2 * U])))
        n = np.tanh(xt[:, 2 * U :] + r * ht[:, 2 * U :])
        h = z * h + (1 - z) * n
        out[:, t] = h
    return out


def bare_rnn(x: np.ndarray, w: np.ndarray, u: np.ndarray, b: np.ndarray) -> np.ndarray:
    """A simple RNN written plainly: outputs only, nothing recorded."""
    h = np.zeros((B, U), np.float32)
    out = np.empty((B, T, U), np.float32)
    xw = x @ w
    for t in range(T):
        h = np.tanh(xw[:, t] + h @ u + b)
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
    parser.add_argument(
        "--only",
        choices=("lstm", "others", "backward"),
        help="one section in a fresh process: the LSTM forward, the GRU and SimpleRNN, or forward + backward "
        "(each section's traces allocate their records after the sections before have freed theirs, which "
        "changes where malloc puts them)",
    )
    args = parser.parse_args()
    rng = np.random.default_rng(0)
    sc = scenario(rng)
    cell = sc.network.cells[0][0]
    x = sc.network.inputs
    ours = lstm_trace.trace(sc).outputs["sequence"]
    np.testing.assert_allclose(ours, bare_loop(x, cell.kernel, cell.recurrent, cell.bias), rtol=1e-4, atol=1e-6)

    fns: dict[str, Callable[[], object]] = {
        "bare numpy loop": one_thread(lambda: bare_loop(x, cell.kernel, cell.recurrent, cell.bias)),
        "  … BLAS as it is": lambda: bare_loop(x, cell.kernel, cell.recurrent, cell.bias),
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
    if args.only == "others":
        other_kinds(args.repeat)
        return
    if args.only == "backward":
        backward(sc, x, cell, args.repeat)
        return
    report(interleaved(fns, args.repeat), "bare numpy loop", f"forward, {args.repeat} rounds")
    if torch is None:
        print("  torch.nn.LSTM: not installed (pip install torch to compare)")
    if args.only == "lstm":
        return

    other_kinds(args.repeat)
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


def other_kinds(repeat: int) -> None:
    """A GRU and a simple RNN of the same size against their bare loops (target: trace() within 1.2×)."""
    rng = np.random.default_rng(0)
    gru, rnn = scenario(rng, "GRU"), scenario(rng, "SimpleRNN")
    g, r = gru.network.cells[0][0], rnn.network.cells[0][0]
    assert g.bias is not None and g.recurrent_bias is not None and r.bias is not None
    xg, xr = gru.network.inputs, rnn.network.inputs
    fns: dict[str, Callable[[], object]] = {
        "bare numpy GRU loop": one_thread(lambda: bare_gru(xg, g.kernel, g.recurrent, g.bias, g.recurrent_bias)),
        "  … BLAS as it is": lambda: bare_gru(xg, g.kernel, g.recurrent, g.bias, g.recurrent_bias),
        "trace() of the GRU": lambda: lstm_trace.trace(gru),
        "bare numpy RNN loop": one_thread(lambda: bare_rnn(xr, r.kernel, r.recurrent, r.bias)),
        "  … BLAS as it is ": lambda: bare_rnn(xr, r.kernel, r.recurrent, r.bias),
        "trace() of the SimpleRNN": lambda: lstm_trace.trace(rnn),
    }
    expected = (fns["bare numpy GRU loop"](), fns["bare numpy RNN loop"]())
    for sc, want in zip((gru, rnn), expected, strict=True):
        np.testing.assert_allclose(lstm_trace.trace(sc).outputs["sequence"], want, rtol=1e-4, atol=1e-6)
    times = interleaved(fns, repeat)
    names = list(times)
    for kind, group in (("GRU", names[:3]), ("SimpleRNN", names[3:])):
        report({k: times[k] for k in group}, group[0], "forward", kind)


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


def report(times: dict[str, list[float]], base_name: str, what: str, layer: str = "LSTM") -> None:
    base = statistics.median(times[base_name])
    print(f"{layer} B={B} T={T} F={F} U={U} float32, {what}; contenders in turn")
    print(f"  {'':28s} {'min':>9s} {'median':>9s} {'max':>9s}   median ratio to the {base_name}")
    for name, values in times.items():
        lo, med, hi = min(values), statistics.median(values), max(values)
        ratios = f"{med / base:.2f}× (min {min(values) / base:.2f}×)"
        print(f"  {name:28s} {lo * 1000:6.1f} ms {med * 1000:6.1f} ms {hi * 1000:6.1f} ms   {ratios}")


if __name__ == "__main__":
    main()
