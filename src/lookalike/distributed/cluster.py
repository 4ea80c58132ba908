"""Connect to a Ray cluster for one piece of work, and leave it as it was found afterwards."""
from __future__ import annotations

import logging
from contextlib import contextmanager
from typing import Iterator

from lookalike.errors import LookalikeError

INSTALL_HINT = 'pip install "lookalike[ray]"'


def require_ray():
    """The ``ray`` module, or an error that says how to install it."""
    try:
        import ray
    except ImportError:
        raise LookalikeError(f"--ray needs Ray, which is not installed; {INSTALL_HINT}") from None
    return ray


@contextmanager
def ray_cluster(address: str | None = None, **init_kwargs) -> Iterator[object]:
    """Use the Ray session already open in this process, or connect for the block and disconnect after.

    address: ``"auto"`` or ``"host:6379"`` joins a running cluster (``ray start --head``); None joins the
    cluster named by ``RAY_ADDRESS`` or started on this machine with ``ray start``, and otherwise starts a
    local one for the block (Ray's own rule).
    """
    ray = require_ray()
    if ray.is_initialized():
        yield ray
        return
    init_kwargs.setdefault("logging_level", logging.WARNING)
    init_kwargs.setdefault("log_to_driver", False)
    try:
        ray.init(address=address, **init_kwargs)
    except (ConnectionError, RuntimeError, ValueError) as exc:
        raise LookalikeError(f"cannot connect to the Ray cluster at {address or 'the default address'}: {exc}") \
            from None
    try:
        yield ray
    finally:
        ray.shutdown()


def task_error(exc: BaseException) -> BaseException:
    """What a failed Ray task should raise here: the task's own ``LookalikeError`` (its message names the
    table, column or value at fault), any other Ray failure as one line, anything else unchanged."""
    ray = require_ray()
    cause = getattr(exc, "cause", None)
    if isinstance(exc, ray.exceptions.RayTaskError) and isinstance(cause, LookalikeError):
        return LookalikeError(str(cause))
    if isinstance(exc, ray.exceptions.RayError):
        return LookalikeError(f"a Ray task failed: {cause or exc}")
    return exc
