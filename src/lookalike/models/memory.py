"""Training's large tensors without page faults: glibc malloc keeps freed memory for the next step.

glibc serves every allocation above its mmap threshold (which grows with use, but never past 32 MiB) with a fresh
mmap and unmaps it again on free, so a training step whose tensors are larger, as a wide table's are (a batch's
contexts and hidden layers, 60-180 MiB each), has the kernel fault in and zero every page of them again, step
after step. On the 100-column benchmark table (benchmarks/column_scaling.py) that system time was 0.6 of 1.9 CPU
seconds per step, and 1.2 of 3.2 at the code before the projected contexts' own backward.
``reuse_freed_memory`` raises the mmap and trim thresholds for the block (a fit), so the freed blocks stay in
malloc's heap and the next step reuses them, and on leaving it puts the thresholds at glibc's own ceiling and hands
the heap's free pages back (``malloc_trim``). Only allocation changes, never a value; a no-op where the C library is
not glibc, or where the user tunes malloc through the environment.
Where glibc has moved the fitting thread to a secondary arena (threads contended for malloc earlier in a
long-lived process), tensors over 64 MiB still come from fresh mmaps: such arenas' heaps are at most 64 MiB.
Where the main heap cannot grow in place (another mapping right above it), glibc maps such blocks anyway: the
gain depends on the process's address-space layout (a page-fault count in a test process was flaky).
"""
from __future__ import annotations

import ctypes
import os
import platform
import threading
from contextlib import contextmanager
from typing import Iterator

M_TRIM_THRESHOLD, M_MMAP_THRESHOLD = -1, -3
"""glibc's ``mallopt`` parameters."""
HELD_BYTES = 2**30
"""During a block: allocations up to this size come from the heap, and up to this much free heap is kept."""
CEILING_BYTES = 32 * 2**20
"""glibc's largest dynamic mmap threshold (64-bit), set when the last block ends (trim at twice it, as glibc does):
a process that ever freed a large block runs at these values anyway."""
_ENV = ("MALLOC_MMAP_THRESHOLD_", "MALLOC_TRIM_THRESHOLD_", "MALLOC_TOP_PAD_", "GLIBC_TUNABLES")

_lock = threading.Lock()
_depth = 0


def _libc():
    if platform.system() != "Linux" or platform.libc_ver()[0] != "glibc" or any(v in os.environ for v in _ENV):
        return None
    try:
        libc = ctypes.CDLL("libc.so.6")
        return libc if hasattr(libc, "mallopt") and hasattr(libc, "malloc_trim") else None
    except OSError:  # pragma: no cover - a glibc without the usual soname
        return None


@contextmanager
def reuse_freed_memory() -> Iterator[bool]:
    """A block whose freed large allocations are kept for reuse; yields whether the thresholds were raised.
    Blocks may nest or overlap (threads): the thresholds come down when the last one ends."""
    global _depth
    libc = _libc()
    if libc is None:
        yield False
        return
    with _lock:
        if _depth == 0:
            libc.mallopt(M_MMAP_THRESHOLD, HELD_BYTES)
            libc.mallopt(M_TRIM_THRESHOLD, HELD_BYTES)
        _depth += 1
    try:
        yield True
    finally:
        with _lock:
            _depth -= 1
            if _depth == 0:
                libc.mallopt(M_MMAP_THRESHOLD, CEILING_BYTES)
                libc.mallopt(M_TRIM_THRESHOLD, 2 * CEILING_BYTES)
                libc.malloc_trim(0)
