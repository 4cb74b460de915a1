"""Where the engine's record lives and how many BLAS threads its products take."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from threadpoolctl import threadpool_info, threadpool_limits

import lstm_trace
from lstm_trace import engine, engine_memory, engine_threads


def blas_threads_now() -> int:
    return next(lib["num_threads"] for lib in threadpool_info() if lib["user_api"] == "blas")


@pytest.mark.parametrize(("shape", "dtype"), [((257, 32, 128), np.float32), ((64, 4, 4096), np.float64)])
def test_a_large_array_starts_on_a_huge_page(shape: tuple[int, ...], dtype: type) -> None:
    array = engine_memory.empty(shape, np.dtype(dtype))
    assert array.nbytes >= 4 << 20
    assert array.shape == shape and array.dtype == dtype
    assert array.ctypes.data % (2 << 20) == 0
    assert array.flags.c_contiguous and array.flags.writeable
    array[...] = 1.5  # every byte of it is the array's own
    assert float(array.sum()) == 1.5 * array.size


def test_small_and_object_arrays_are_plain() -> None:
    small = engine_memory.empty((10, 3), np.dtype(np.float32))
    assert small.base is None and small.shape == (10, 3)
    fractions = engine_memory.empty((2048, 1024), np.dtype(object))  # 16 MiB of pointers, all None
    assert fractions.base is None and fractions[0, 0] is None


def test_the_record_of_a_large_run_is_on_huge_pages() -> None:
    rng = np.random.default_rng(0)
    data = {
        "framework": "keras",
        "layer": "GRU",
        "units": 64,
        "kernel": rng.uniform(-0.1, 0.1, (8, 192)).astype(np.float32),
        "recurrent_kernel": rng.uniform(-0.1, 0.1, (64, 192)).astype(np.float32),
        "bias": rng.uniform(-0.1, 0.1, (2, 192)).astype(np.float32),
        "inputs": rng.normal(size=(32, 600, 8)).astype(np.float32),
    }
    run = lstm_trace.trace(lstm_trace.Scenario.from_dict(data)).first
    for name in ("xw", "hu", "pre", "act", "h", "gated"):
        array = getattr(run, name)
        assert array.nbytes >= 4 << 20, name
        assert array.ctypes.data % (2 << 20) == 0, name


def test_a_large_step_product_runs_on_one_blas_thread(monkeypatch: pytest.MonkeyPatch) -> None:
    """Counted inside the step loop: one thread there, BLAS as it was after; with STEP_THREADS None, left alone."""
    seen: list[int] = []
    stepper = engine._STEPPERS["rnn"]
    original = stepper.fast_loop

    def watch(*args: object) -> None:
        seen.append(blas_threads_now())
        original(*args)  # type: ignore[arg-type]

    monkeypatch.setattr(stepper, "fast_loop", watch)
    rng = np.random.default_rng(0)
    data = {
        "framework": "keras",
        "layer": "SimpleRNN",
        "units": 256,  # (8, 256)·(256, 256): m·n·k = 2¹⁹, where OpenBLAS would take more than one thread
        "kernel": rng.uniform(-0.1, 0.1, (3, 256)).astype(np.float32),
        "recurrent_kernel": rng.uniform(-0.1, 0.1, (256, 256)).astype(np.float32),
        "bias": np.zeros(256, np.float32),
        "inputs": rng.normal(size=(8, 5, 3)).astype(np.float32),
    }
    with threadpool_limits(2, user_api="blas"):
        lstm_trace.trace(lstm_trace.Scenario.from_dict(data))
        after = blas_threads_now()
    assert seen == [1] and after == 2
    monkeypatch.setattr(engine_threads, "STEP_THREADS", None)
    seen.clear()
    with threadpool_limits(2, user_api="blas"):
        lstm_trace.trace(lstm_trace.Scenario.from_dict(data))
    assert seen == [2]


def test_a_small_trace_leaves_blas_alone(monkeypatch: pytest.MonkeyPatch, seed_path: Path) -> None:
    """The seed's products are far below where OpenBLAS threads: no limit is set, threadpoolctl is not consulted."""
    monkeypatch.setattr(engine_threads, "_blas", lambda: pytest.fail("threadpoolctl consulted"))
    assert lstm_trace.trace(lstm_trace.load(seed_path)).outputs
