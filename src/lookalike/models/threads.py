"""Torch's intra-op thread count, set for one block of work and put back afterwards.

``torch.set_num_threads`` is process-wide, yet a generator needs a fixed count while it works: float sums
depend on how the work is split between threads, so the same seed gives the same model only with the same
thread count (see ``auto_threads``). ``torch_threads(n)`` sets the count for a block and restores the
caller's setting when the block ends, also when blocks nest or overlap (several fits in one process, a
sampling generator left suspended while another model fits).

Overlapping blocks in different Python threads share the one process-wide setting: while both run, the
most recent block's count applies, so give concurrent work the same ``n`` when it must be reproducible.
When the last block ends, the count is the one the caller had before the first began.
"""
from __future__ import annotations

import os
import threading
from contextlib import contextmanager
from typing import Iterator

MAX_AUTO_THREADS = 8
OPENMP_SPIN = "1000"
"""GOMP_SPINCOUNT set by ``bound_openmp_spin``: turns an idle OpenMP thread spins before it sleeps."""

_lock = threading.Lock()
_active: list[list] = []
"""One [block, count before it began] per block now inside ``torch_threads``, oldest first."""


def bound_openmp_spin() -> None:
    """For this process, before torch or scikit-learn load: OpenMP threads spin briefly, then sleep. Spinning
    without end made both up to 100x slower on a busy 2-core machine; sleeping at once (OMP_WAIT_POLICY=PASSIVE)
    halved sampling speed on an idle one (mlc_churn, model only: 38-46k rows/s against 79-80k with the short
    spin; with two busy processes beside it 27-30k, the default 3-20k). A value the user set for either variable
    wins. The ``lookalike`` command calls it; importing lookalike never does (a library leaves the environment
    alone)."""
    if "OMP_WAIT_POLICY" not in os.environ and "GOMP_SPINCOUNT" not in os.environ:
        os.environ["GOMP_SPINCOUNT"] = OPENMP_SPIN


def available_cores() -> int:
    """Cores this process may run on (its CPU affinity), at least 1."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # pragma: no cover - non-Linux
        return max(1, os.cpu_count() or 1)


def auto_threads() -> int:
    """The machine's cores (at most 8), never the momentary load: float sums depend on the thread count, so a
    load-dependent choice made the same seed give different models from one run to the next."""
    return int(min(available_cores(), MAX_AUTO_THREADS))


@contextmanager
def torch_threads(n: int | None = None) -> Iterator[int]:
    """Run the block with ``n`` torch intra-op threads (None: ``auto_threads()``), then restore the caller's.

    Yields the count in use. Safe to nest and to overlap with other blocks (see the module docstring).
    """
    import torch

    count = max(1, int(n if n is not None else auto_threads()))
    entry = [object(), 0]
    with _lock:
        entry[1] = torch.get_num_threads()
        _active.append(entry)
        if count != entry[1]:
            torch.set_num_threads(count)
    try:
        yield count
    finally:
        with _lock:
            i = next(k for k, e in enumerate(_active) if e[0] is entry[0])
            if i == len(_active) - 1:  # the newest block: what it replaced comes back
                if torch.get_num_threads() != entry[1]:
                    torch.set_num_threads(entry[1])
            else:  # an older block ends first: the newer one will restore what this one found
                _active[i + 1][1] = entry[1]
            del _active[i]
