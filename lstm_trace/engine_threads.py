"""The BLAS threads a run's products take: x·W for all steps, and h·U in the step loop.

A step's product is small ((B, H)·(H, G·H)) and the next step waits for it:
handing half of it to a second thread gains little on a quiet machine and
loses a lot when the other core is busy, as the worker waits its turn for
every step's share. After any threaded product OpenBLAS's worker also spins
for a while, holding a core that the rest of the machine could use.
benchmarks/engine_bound.py measures each setting quiet and with a core busy;
the defaults are what it chose.
"""

from __future__ import annotations

import functools
from contextlib import AbstractContextManager, nullcontext
from typing import Any

PRODUCT_THREADS: int | None = 1
"""BLAS threads for x·W, one product for all steps; None leaves BLAS as it is."""

STEP_THREADS: int | None = 1
"""BLAS threads for the step loop's h·U products; None leaves BLAS as it is."""

_MIN_WORK = 4 * 65536
"""m·n·k below which OpenBLAS takes one thread anyway: small traces never import threadpoolctl."""


@functools.cache
def _blas() -> Any:
    """numpy's BLAS, found once: finding it walks every loaded library."""
    from threadpoolctl import ThreadpoolController

    return ThreadpoolController().select(user_api="blas")


def blas_threads(threads: int | None, work: int) -> AbstractContextManager[object]:
    """BLAS on `threads` threads while the block runs products of m·n·k = `work` (0: none through BLAS)."""
    if threads is None or work < _MIN_WORK:
        return nullcontext()
    limiter: AbstractContextManager[object] = _blas().limit(limits=threads)
    return limiter
