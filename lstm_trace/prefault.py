"""Fault in the pages of the recorded arrays on the other core while the engine runs.

A trace writes every step into large fresh arrays; the first write to each
page makes the kernel find and zero it, and that alone cost a long run about
half again the time of a loop that records nothing. MADV_POPULATE_WRITE
(Linux 5.14+) faults pages in without touching their contents, so a helper
thread can do it concurrently with the engine writing into the same arrays.
Elsewhere this does nothing.
"""

from __future__ import annotations

import functools
import sys
import threading
from collections.abc import Callable, Sequence

import numpy as np

_POPULATE_WRITE = 23
_MIN_BYTES = 4 << 20


@functools.cache
def _madvise() -> Callable[[int, int, int], int] | None:
    """libc's madvise, looked up on first use: small traces never pay for importing ctypes."""
    if not sys.platform.startswith("linux"):
        return None
    import ctypes

    try:
        fn = ctypes.CDLL(None, use_errno=True).madvise
    except (OSError, AttributeError):
        return None
    fn.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int]
    fn.restype = ctypes.c_int
    return fn  # type: ignore[no-any-return]


def _populate(arrays: Sequence[np.ndarray], madvise: Callable[[int, int, int], int], chunks: int) -> None:
    """Populate every array a slice of steps at a time, in the order the engine will reach them."""
    import mmap

    page = mmap.PAGESIZE
    for k in range(chunks):
        for array in arrays:
            size = array.nbytes // chunks
            lo = array.ctypes.data + k * size
            hi = array.ctypes.data + (array.nbytes if k == chunks - 1 else (k + 1) * size)
            lo -= lo % page
            if hi > lo and madvise(lo, hi - lo, _POPULATE_WRITE) != 0:
                return  # an older kernel: the engine's own writes fault the pages in as usual


def prefault(arrays: Sequence[np.ndarray], chunks: int = 16) -> threading.Thread | None:
    """Start faulting in `arrays` (all indexed by step first) on another thread; join it when done with them."""
    if any(a.dtype == object for a in arrays):  # --exact: pointers to Fractions, small and slow to fill anyway
        return None
    if sum(a.nbytes for a in arrays) < _MIN_BYTES:
        return None
    madvise = _madvise()
    if madvise is None:
        return None
    thread = threading.Thread(target=_populate, args=(list(arrays), madvise, chunks), daemon=True)
    thread.start()
    return thread
