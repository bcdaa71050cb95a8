"""Training keeps the memory it frees, for as long as it trains.

glibc gives every array over its mmap threshold (32 MB at most) fresh pages from the system
and hands them back when the array is freed. The optimiser behind our logistic regressions
makes several such arrays in every step (the intent model's weights and gradient: 19 labels x
250k n-grams x 8 bytes, ~38 MB each), so every step pays again for the system to map and zero
them. Inside `kept_freed_memory()` malloc takes large arrays from its own heap and keeps what
is freed for the next one. Measured (bench/RESULTS.md "Training time"): the intent model's
fits take ~40 % less time; the arithmetic, and so the model, is the same. Elsewhere than glibc
(no `mallopt`) it does nothing.
"""

from __future__ import annotations

import contextlib
import ctypes
from collections.abc import Iterator

# glibc's malloc.h
M_TRIM_THRESHOLD, M_MMAP_MAX = -1, -4
DEFAULT_TRIM_THRESHOLD, DEFAULT_MMAP_MAX = 128 * 1024, 65536
KEEP_UP_TO = 1 << 30  # freed memory kept on the heap (bytes) before any goes back


def _libc():
    try:
        libc = ctypes.CDLL(None)
        return libc if hasattr(libc, "mallopt") and hasattr(libc, "malloc_trim") else None
    except OSError:
        return None


@contextlib.contextmanager
def kept_freed_memory() -> Iterator[bool]:
    """Within: large arrays come from malloc's heap, and freed ones stay there for reuse.
    After: the usual settings again, and the heap's free memory handed back to the system.
    Yields whether the settings could be changed (False off glibc)."""
    libc = _libc()
    changed = bool(
        libc and libc.mallopt(M_MMAP_MAX, 0) and libc.mallopt(M_TRIM_THRESHOLD, KEEP_UP_TO)
    )
    try:
        yield changed
    finally:
        if libc:
            libc.mallopt(M_MMAP_MAX, DEFAULT_MMAP_MAX)
            libc.mallopt(M_TRIM_THRESHOLD, DEFAULT_TRIM_THRESHOLD)
            libc.malloc_trim(0)
