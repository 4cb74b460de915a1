"""Engine against this machine's lower bound: what trace() cannot avoid doing, measured here, in one run.

    python benchmarks/engine_bound.py [--repeat 15] [--kinds lstm,gru,rnn] [--no-choices]

Keras LSTM, GRU and SimpleRNN layers with B=32, T=256, F=64, U=128 in float32
(the LSTM of engine_speed.py, and a GRU and a SimpleRNN of the same size).
Any trace of them must at least

- take the products: x·W once for all steps, h·U once per step (timed on
  this machine on one BLAS thread and on all of them: the faster counts);
- write the record: every byte of the arrays the run holds, into fresh
  memory (timed by filling fresh arrays of the same shapes, from np.empty
  and on huge pages from their first byte: the faster counts);
- evaluate its exponentials and tanh: the count a cell needs (an LSTM's
  σ(i), σ(f), σ(o), tanh(g), tanh(c); a GRU's σ(z), σ(r), tanh(n); an RNN's
  tanh(h)) at the throughput numpy reaches on a cache-resident array.

The bound is the sum of the three, so it leaves out every elementwise sum and
product and all of Python's per-step cost. Each round times trace() and each
part of the bound in turn, so that drift on a shared machine hits them alike;
the script prints min/median/max of each and of trace() / bound within a
round (target: a median of at most 1.3), and the same ratio in the main
thread's CPU time, which a busy machine disturbs less. engine_speed.py's bare
numpy loop, which records nothing, is timed beside them for scale: the bound
leaves out what it spends too.

Then it times trace() of the LSTM with x·W and the step loop each on one
BLAS thread or on all of them: calls back to back, calls half a second apart,
and back to back with a process spinning on the last core, printing how busy
other processes kept the machine meanwhile.
"""

from __future__ import annotations

import argparse
import contextlib
import ctypes
import mmap
import os
import resource
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from typing import Any

import engine_speed  # benchmarks/engine_speed.py, beside this script: the layers and their bare loops
import numpy as np
from threadpoolctl import ThreadpoolController

import lstm_trace

B, T, F, U = 32, 256, 64, 128
TARGET = 1.3
LAYERS = {"lstm": ("LSTM", 4), "gru": ("GRU", 3), "rnn": ("SimpleRNN", 1)}
# exponentials and tanh per step, batch row and unit
TRANSCENDENTALS = {"lstm": {"exp": 3, "tanh": 2}, "gru": {"exp": 2, "tanh": 1}, "rnn": {"exp": 0, "tanh": 1}}
BLAS = ThreadpoolController()  # found once: threadpool_limits() would walk the loaded libraries every call
HUGE = 2 << 20
HOT = 1 << 14  # elements of the cache-resident array the transcendental throughput is measured on


def scenario(kind: str, rng: np.random.Generator) -> lstm_trace.Scenario:
    """engine_speed.py's Keras layer of this kind."""
    return engine_speed.scenario(rng, LAYERS[kind][0])


def bare(kind: str, sc: lstm_trace.Scenario) -> Callable[[], object]:
    """engine_speed.py's bare numpy loop for this kind (outputs only, nothing recorded), on one BLAS thread."""
    cell, x = sc.network.cells[0][0], sc.network.inputs
    if kind == "gru":
        return engine_speed.one_thread(
            lambda: engine_speed.bare_gru(x, cell.kernel, cell.recurrent, cell.bias, cell.recurrent_bias)
        )
    loop = engine_speed.bare_loop if kind == "lstm" else engine_speed.bare_rnn
    return engine_speed.one_thread(lambda: loop(x, cell.kernel, cell.recurrent, cell.bias))


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


def record_writes(run: Any, aligned: bool) -> tuple[Callable[[], None], int]:
    """Fresh arrays shaped like every array the run holds, each written once; and the bytes that is.

    `aligned`: each in its own private mapping, on huge pages from its first byte (the best this machine
    does with fresh memory); else from np.empty, wherever malloc puts it.
    """
    shapes = [(a.shape, a.dtype) for a in vars(run).values() if isinstance(a, np.ndarray)]

    def fresh(shape: tuple[int, ...], dtype: np.dtype) -> np.ndarray:
        nbytes = int(np.prod(shape)) * dtype.itemsize
        if not aligned:
            return np.empty(shape, dtype)
        size = -(-nbytes // HUGE) * HUGE + HUGE
        region = mmap.mmap(-1, size, flags=mmap.MAP_PRIVATE | mmap.MAP_ANONYMOUS)
        region.madvise(mmap.MADV_HUGEPAGE)
        raw = np.frombuffer(region, np.uint8)
        start = -raw.ctypes.data % HUGE
        return raw[start : start + nbytes].view(dtype).reshape(shape)

    def go() -> None:
        for shape, dtype in shapes:
            fresh(shape, dtype).fill(1)

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


def timed(
    fns: dict[str, Callable[[], object]], repeat: int, gap: float = 0.0
) -> tuple[dict[str, list[float]], dict[str, list[float]]]:
    """Wall seconds and main-thread CPU seconds per call of each contender, taken in turn, after a warm-up each;
    `gap` seconds of sleep before each call."""
    for fn in fns.values():
        fn()
    wall: dict[str, list[float]] = {name: [] for name in fns}
    cpu: dict[str, list[float]] = {name: [] for name in fns}
    for _ in range(repeat):
        for name, fn in fns.items():
            time.sleep(gap)
            w, c = time.perf_counter(), time.thread_time()
            fn()
            cpu[name].append(time.thread_time() - c)
            wall[name].append(time.perf_counter() - w)
    return wall, cpu


def bound_one(kind: str, repeat: int) -> float:
    """trace() against the bound for one kind of layer; returns the median ratio within a round."""
    sc = scenario(kind, np.random.default_rng(0))
    run = lstm_trace.trace(sc).first
    plain, nbytes = record_writes(run, aligned=False)
    fns: dict[str, Callable[[], object]] = {
        "trace()": lambda: lstm_trace.trace(sc),
        "bare numpy loop (records nothing)": bare(kind, sc),
        "products, 1 BLAS thread": products(run, 1),
        "products, all BLAS threads": products(run, None),
        f"write {nbytes / 2**20:.0f} MiB fresh": plain,
        "  … on aligned huge pages": record_writes(run, aligned=True)[0],
        "exp and tanh": transcendentals(kind),
    }
    wall, cpu = timed(fns, repeat)
    _, _, gemm1, gemm_all, writes, writes_huge, exps = wall.values()
    bound = [
        min(g1, ga) + min(w, wh) + e
        for g1, ga, w, wh, e in zip(gemm1, gemm_all, writes, writes_huge, exps, strict=True)
    ]
    _, _, c_gemm, _, c_writes, c_huge, c_exps = cpu.values()
    cpu_bound = [g + min(w, wh) + e for g, w, wh, e in zip(c_gemm, c_writes, c_huge, c_exps, strict=True)]
    print(f"{LAYERS[kind][0]} B={B} T={T} F={F} U={U} float32, {repeat} rounds, contenders in turn")
    print(f"  {'wall time':38s} {'min':>9s} {'median':>9s} {'max':>9s}   main thread's CPU, median")
    rows = [*wall.items(), ("bound: the faster of each + exp/tanh", bound)]
    cpu_rows = [*cpu.values(), cpu_bound]
    for (name, values), cpu_values in zip(rows, cpu_rows, strict=True):
        cells = " ".join(f"{v * 1000:6.2f} ms" for v in spread(values))
        print(f"  {name:38s} {cells}   {statistics.median(cpu_values) * 1000:6.2f} ms")
    medians = {}
    for name, key in (("trace()", "trace()"), ("the bare loop", "bare numpy loop (records nothing)")):
        lo, med, hi = spread([t / b for t, b in zip(wall[key], bound, strict=True)])
        clo, cmed, chi = spread([t / b for t, b in zip(cpu[key], cpu_bound, strict=True)])
        medians[name] = med
        spread_text = f"{med:.2f}× median (min {lo:.2f}×, max {hi:.2f}×)"
        print(f"  {name} / bound: {spread_text}; in main-thread CPU {cmed:.2f}× ({clo:.2f}–{chi:.2f}×)")
    print(f"  target for trace(): ≤ {TARGET}×")
    return medians["trace()"]


def fresh_mappings() -> None:
    """Every large array a fresh mapping, as in a process's first trace: glibc's malloc otherwise learns to
    keep freed arrays of a size it has seen, and a benchmark that calls trace() again and again would then
    write into memory already faulted in, which a real run never does."""
    try:
        ctypes.CDLL(None).mallopt(-3, 1 << 20)  # M_MMAP_THRESHOLD, fixed at 1 MiB
    except (OSError, AttributeError):
        print("(not glibc: malloc may reuse memory between calls, making writes cheaper than in a real run)")


@contextlib.contextmanager
def busy_core() -> Iterator[None]:
    """A process spinning on the last core while the block runs: another user of a shared machine."""
    code = f"import os; os.sched_setaffinity(0, {{{os.cpu_count() - 1}}})\nwhile True: pass"
    spinner = subprocess.Popen([sys.executable, "-c", code])
    try:
        time.sleep(0.2)
        yield
    finally:
        spinner.kill()
        spinner.wait()


def setting(product: int | None, step: int | None) -> Callable[[], object]:
    """trace() of the LSTM with x·W on `product` BLAS threads and the step loop on `step` (None: all of them)."""
    from lstm_trace import engine_threads

    sc = scenario("lstm", np.random.default_rng(0))

    def go() -> object:
        engine_threads.PRODUCT_THREADS, engine_threads.STEP_THREADS = product, step
        try:
            return lstm_trace.trace(sc)
        finally:
            engine_threads.PRODUCT_THREADS, engine_threads.STEP_THREADS = 1, 1

    return go


def others_busy(run: Callable[[], object]) -> float:
    """Run `run`; the share of the machine's CPU time that other processes kept busy meanwhile (Linux), else nan."""

    def ticks() -> tuple[int, int]:
        with open("/proc/stat") as f:
            values = [int(v) for v in f.readline().split()[1:]]
        return values[3] + values[4], sum(values)

    def ours() -> float:
        usage = resource.getrusage(resource.RUSAGE_SELF)
        return usage.ru_utime + usage.ru_stime

    try:
        (idle0, total0), mine0 = ticks(), ours()
    except OSError:
        run()
        return float("nan")
    run()
    (idle1, total1), mine1 = ticks(), ours()
    hz = os.sysconf("SC_CLK_TCK")
    total = max(1, total1 - total0)
    return max(0.0, (total - (idle1 - idle0) - (mine1 - mine0) * hz) / total)


def choices(repeat: int) -> None:
    """BLAS threads for x·W and for the step loop: calls back to back, calls 0.5 s apart (as when a person
    runs one now and then: BLAS's worker has gone to sleep), and back to back with a core busy."""
    name = {1: "1", None: "all"}
    pairs = ((1, 1), (None, 1), (1, None), (None, None))
    fns = {f"x·W on {name[p]}, steps on {name[s]}": setting(p, s) for p, s in pairs}
    conditions = (
        ("back to back", contextlib.nullcontext(), 0.0),
        ("0.5 s apart", contextlib.nullcontext(), 0.5),
        ("back to back, one core busy", busy_core(), 0.0),
    )
    for condition, context, gap in conditions:
        found: list[dict[str, list[float]]] = []
        with context:
            busy = others_busy(lambda: found.append(timed(fns, repeat, gap)[0]))  # noqa: B023
        times = found[0]
        base = times[next(iter(fns))]
        print(f"LSTM trace(), BLAS threads per product, {condition}, {repeat} rounds in turn")
        print(f"  (other processes kept {busy:.0%} of the machine's CPU time busy meanwhile)")
        print(f"  {'':26s} {'min':>9s} {'median':>9s} {'max':>9s}   to the first in a round, min/median/max")
        for label, values in times.items():
            ratios = spread([v / b for v, b in zip(values, base, strict=True)])
            cells = " ".join(f"{v * 1000:6.1f} ms" for v in spread(values))
            print(f"  {label:26s} {cells}   " + "/".join(f"{r:.2f}" for r in ratios) + "×")


def spread(values: list[float]) -> tuple[float, float, float]:
    return min(values), statistics.median(values), max(values)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeat", type=int, default=15)
    parser.add_argument("--kinds", default="lstm,gru,rnn", help="which of lstm, gru, rnn (comma-separated)")
    parser.add_argument("--no-choices", action="store_true", help="skip the comparison of BLAS thread counts")
    args = parser.parse_args()
    fresh_mappings()
    start = time.perf_counter()
    for kind in [k for k in args.kinds.split(",") if k]:
        bound_one(kind, args.repeat)
    if not args.no_choices:
        choices(args.repeat)
    print(f"({time.perf_counter() - start:.0f} s)")


if __name__ == "__main__":
    main()
