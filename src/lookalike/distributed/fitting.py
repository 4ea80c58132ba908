"""Independent pieces of work (the fits of a database's tables, the generators of a comparison) run at the
same time as Ray tasks, one CPU each, with their results returned in order.

Each piece is a plain callable that holds its own inputs; it is shipped to a worker, called there, and its
result (a fitted model, a row of numbers) comes back. Training inside a task keeps the thread count the
same call would use in one process, so a seed gives the same model either way.
"""
from __future__ import annotations

from typing import Any, Callable, Sequence

from lookalike.distributed.cluster import ray_cluster, task_error


def _call(fn: Callable[[], Any]) -> Any:
    return fn()


def run_parallel(calls: Sequence[Callable[[], Any]], address: str | None = None,
                 progress: Callable[[float, str], None] | None = None, labels: Sequence[str] | None = None) -> list:
    """``[call() for call in calls]``, every call a Ray task started at once. A ``LookalikeError`` raised by a
    call is raised here unchanged (the first to fail); the other tasks are cancelled."""
    labels = list(labels) if labels is not None else [str(i) for i in range(len(calls))]
    with ray_cluster(address) as ray:
        task = ray.remote(num_cpus=1)(_call)
        refs = [task.remote(fn) for fn in calls]
        order = {ref: i for i, ref in enumerate(refs)}
        results: list = [None] * len(refs)
        pending = list(refs)
        try:
            while pending:
                done, pending = ray.wait(pending, num_returns=1)
                i = order[done[0]]
                results[i] = ray.get(done[0])
                if progress:
                    progress((len(refs) - len(pending)) / len(refs), f"{labels[i]} done")
        except ray.exceptions.RayError as exc:
            for ref in pending:
                ray.cancel(ref, force=True)
            raise task_error(exc) from None
    return results
