"""Fresh arrays for a run's record, each starting on a huge-page boundary.

A trace writes every step into fresh memory, and on this kind of machine the
kernel's work of finding and zeroing those pages costs about as much as the
products themselves. numpy asks for transparent huge pages (2 MiB) for any
array of 4 MiB or more, but an array starts wherever malloc put it, so its
first and last partial 2 MiB fall back to 4 KiB pages, up to a thousand
faults an array. Starting each large array on a 2 MiB boundary of a slightly
larger allocation makes the whole of it huge pages: writing the record fresh
took 20% less time (benchmarks/engine_bound.py). The untouched slack is
address space, never memory in use.
"""

from __future__ import annotations

import numpy as np

_HUGE = 2 << 20
_MIN_BYTES = 4 << 20  # numpy's own threshold for asking for huge pages


def empty(shape: tuple[int, ...], dtype: np.dtype) -> np.ndarray:
    """np.empty(shape, dtype), large ones starting on a 2 MiB boundary and spanning whole 2 MiB pages."""
    dtype = np.dtype(dtype)
    nbytes = int(np.prod(shape, dtype=np.int64)) * dtype.itemsize
    if nbytes < _MIN_BYTES or dtype.hasobject:
        return np.empty(shape, dtype)
    raw = np.empty(-(-nbytes // _HUGE) * _HUGE + _HUGE, np.uint8)
    start = -raw.ctypes.data % _HUGE
    return raw[start : start + nbytes].view(dtype).reshape(shape)


def empty_like(array: np.ndarray) -> np.ndarray:
    return empty(array.shape, array.dtype)
