"""Fresh arrays for a run's record, each starting on a huge-page boundary.

A trace writes every step into fresh memory, and the kernel's work of finding
and zeroing those pages costs about half as much as the products themselves.
numpy asks for transparent huge pages (2 MiB) for any array of 4 MiB or more,
but an array starts wherever malloc put it, so the 2 MiB before its first
huge-page boundary fall back to 4 KiB pages: up to 512 faults an array.
Starting each large array on a 2 MiB boundary of an allocation up to 2 MiB
larger makes it huge pages from its first byte; a trace of the engine
benchmarks took 0.87 (LSTM), 0.87 (GRU) and 0.71 (simple RNN) of the time.
The slack before the boundary is never touched, so it is address space, not
memory in use, though tracemalloc counts it.
"""

from __future__ import annotations

import numpy as np

_HUGE = 2 << 20
_MIN_BYTES = 4 << 20  # numpy's own threshold for asking for huge pages


def empty(shape: tuple[int, ...], dtype: np.dtype) -> np.ndarray:
    """np.empty(shape, dtype), a large one starting on a 2 MiB boundary."""
    dtype = np.dtype(dtype)
    nbytes = int(np.prod(shape, dtype=np.int64)) * dtype.itemsize
    if nbytes < _MIN_BYTES or dtype.hasobject:
        return np.empty(shape, dtype)
    raw = np.empty(nbytes + _HUGE, np.uint8)
    start = -raw.ctypes.data % _HUGE
    return raw[start : start + nbytes].view(dtype).reshape(shape)


def empty_like(array: np.ndarray) -> np.ndarray:
    return empty(array.shape, array.dtype)
