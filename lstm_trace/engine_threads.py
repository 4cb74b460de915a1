"""The BLAS threads the per-step product h·U runs on: one.

A step's product is small ((B, H)·(H, G·H)), and the next step waits for it.
On two threads it was at most 13% faster on a quiet 2-core machine, and
3.6 times slower (median; 12 times at the tail) with the other core busy: the
BLAS worker waits its turn for every step's share. benchmarks/engine_bound.py
measures both conditions. One thread is never far from the best and never far
from the worst, so the step loop runs on one; x·W for all steps, one large
product taken before the loop, keeps every thread.
"""

from __future__ import annotations

import functools
from contextlib import AbstractContextManager, nullcontext
from typing import Any

STEP_THREADS: int | None = 1
"""BLAS threads for the step loop; None leaves BLAS as it is (the benchmark compares the two)."""

_MIN_WORK = 4 * 65536
"""m·n·k below which OpenBLAS takes one thread anyway: small traces never import threadpoolctl."""


@functools.cache
def _blas() -> Any:
    """numpy's BLAS, found once: finding it walks every loaded library."""
    from threadpoolctl import ThreadpoolController

    return ThreadpoolController().select(user_api="blas")


def step_threads(work: int) -> AbstractContextManager[object]:
    """Around a step loop whose products are m·n·k = `work` each: BLAS on STEP_THREADS while it runs."""
    if STEP_THREADS is None or work < _MIN_WORK:
        return nullcontext()
    limiter: AbstractContextManager[object] = _blas().limit(limits=STEP_THREADS)
    return limiter
