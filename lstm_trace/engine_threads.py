"""The BLAS threads a run's products take: one, for x·W and for the step loop.

A step's product is small ((B, H)·(H, G·H)) and the next step waits for it.
On a quiet 2-core machine two threads made an LSTM's trace no faster (0.96
to 1.04 times the time; a bare simple-RNN loop, whose step is little else, a
third faster); with the other core busy they made it 3 to 40 times slower,
as BLAS's worker waits its turn for every step's share. x·W, one large
product for all steps, gained 4 to 8% on two threads with traces back to back
but lost 40 to 80% with traces half a second apart, as a person runs them:
BLAS's worker has gone to sleep by then. benchmarks/engine_bound.py measures
each of these. (OpenBLAS's thread count belongs to the process: two traces
in two threads at once can leave it at one.)
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
