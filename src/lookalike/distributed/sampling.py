"""Sharded sampling: one Ray task per batch, each writing its own Parquet part.

Batch ``i`` of a sample is a pure function of (model, i, seed) (``Synthesizer.sample_batch``), so tasks need
no coordination: the parts, read in name order, are exactly ``Synthesizer.sample(n, seed=seed)`` whatever
the number of workers. A task writes a temporary file and renames it to a name made from its batch index,
so a task that is retried (a worker died) rewrites the same rows under the same name: no row is lost or
written twice. The driver checks that every part is there and that the parts hold exactly ``n`` rows.
"""
from __future__ import annotations

import os
import resource
import shutil
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

from lookalike.distributed.cluster import ray_cluster, require_ray, task_error
from lookalike.errors import LookalikeError
from lookalike.io.files import check_parent_writable

MAX_RETRIES = 3
BATCH_ROWS = 100_000
"""Rows per batch and per part: the Synthesizer's own batch size, so batch i is the same rows here and there."""


@dataclass
class ShardedSample:
    """What a sharded sample wrote: the folder, its parts, rows, and what each task measured."""

    folder: Path
    rows: int
    parts: list[str]
    seconds: float
    tasks: list[dict] = field(default_factory=list)

    def per_worker(self) -> dict[str, dict]:
        """{worker: batches, rows, CPU seconds, peak resident memory (bytes)} from the tasks' own reports."""
        out: dict[str, dict] = {}
        for t in self.tasks:
            w = out.setdefault(t["worker"], {"batches": 0, "rows": 0, "cpu_s": 0.0, "peak_rss": 0})
            w["batches"] += 1
            w["rows"] += t["rows"]
            w["cpu_s"] += t["cpu_s"]
            w["peak_rss"] = max(w["peak_rss"], t["peak_rss"])
        return out


def part_name(index: int, batches: int) -> str:
    """'part-00042.parquet': names sort in batch order (at least 5 digits, more for more batches)."""
    return f"part-{index:0{max(5, len(str(batches - 1)))}d}.parquet"


def _check_options(syn, n, batch_size, kwargs) -> tuple[int, int]:
    """Everything that can be refused before any task runs: the model, n, and a unique rule over batches."""
    if hasattr(syn, "entity"):
        raise LookalikeError("--ray samples single-table models; a sequence model (fitted with --entity) samples "
                             "in one process")
    if kwargs.get("seed_data") is not None:
        raise LookalikeError("--ray cannot complete seed data (--seed-data); sample it in one process")
    unknown = set(kwargs) - {"conditions", "rebalance", "no_missing", "seed_data"}
    if unknown:
        raise LookalikeError(f"unknown sampling option(s) for --ray: {sorted(unknown)}")
    syn._check_fitted()
    if not isinstance(batch_size, int) or batch_size <= 0:
        raise LookalikeError(f"batch_size must be a positive integer, got {batch_size!r}")
    n = syn._sample_size(n)
    syn.check_batches_independent(n, batch_size)
    syn.sample_batch(0, min(n, 1), batch_size=1, **_options(kwargs))  # conditions and values fail here, early
    return n, -(-n // batch_size)


def _options(kwargs: dict) -> dict:
    return {k: v for k, v in kwargs.items() if k in ("conditions", "rebalance", "no_missing") and v is not None}


def _write_part(syn, index: int, n: int, seed: int, batch_size: int, folder: str, batches: int, options: dict,
                schema_ref: list) -> dict:
    """Task body: draw batch ``index``, write it to ``folder`` under its own name (temp file, then rename).

    The first part's Arrow schema is every part's schema (as ``io.files.write_batches`` does for one file):
    part 0 returns it, the others wait for it (``schema_ref``) after drawing their rows."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    cpu0 = time.process_time()
    _reset_peak_memory()
    _threads_as_given(syn)
    df = syn.sample_batch(index, n, seed=seed, batch_size=batch_size, **options)
    table = pa.Table.from_pandas(df, preserve_index=False)
    if schema_ref:
        ray = require_ray()
        table = table.cast(ray.get(schema_ref[0])["schema"])
    path = Path(folder) / part_name(index, batches)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=folder)
    os.close(fd)
    try:
        pq.write_table(table, tmp)
        os.replace(tmp, path)  # a retried task writes the same rows under the same name
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
    return {"index": index, "rows": table.num_rows, "worker": f"{os.uname().nodename}:{os.getpid()}",
            "cpu_s": time.process_time() - cpu0, "peak_rss": _peak_memory(),
            "schema": table.schema if not schema_ref else None}


def _reset_peak_memory() -> None:
    """Start a fresh peak resident-memory count for this task (Linux: a worker process runs many tasks)."""
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")
    except OSError:  # not Linux, or not allowed: the peak is then over the worker's life
        pass


def _peak_memory() -> int:
    """Peak resident memory (bytes) since ``_reset_peak_memory`` (VmHWM), else over the process's life."""
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


def _threads_as_given(syn) -> None:
    """Torch threads in a task: as many as the CPUs Ray gave it, not the machine's cores (tasks side by side
    would otherwise each use every core). argn draws the same rows with any thread count (checked by
    tests/test_distributed_sampling.py against the one-process sample); for the other torch generators this
    is not tested: fix their ``n_threads`` when the rows must match a one-process sample exactly."""
    model = getattr(syn, "model_", None)
    if model is not None and hasattr(model, "n_threads") and model.n_threads is None:
        cpus = require_ray().get_runtime_context().get_assigned_resources().get("CPU", 1)
        model.n_threads = max(1, int(cpus))


def sample_to_folder(syn, n: int | None, folder: str | Path, seed: int | None = None, address: str | None = None,
                     batch_size: int = BATCH_ROWS, force: bool = False, progress=None, max_workers: int | None = None,
                     **kwargs) -> ShardedSample:
    """Write ``syn.sample(n, seed=seed)`` as Parquet parts in ``folder``, one Ray task per batch.

    max_workers: at most this many tasks at a time (None: as many as the cluster has CPUs for).

    The parts are written into a temporary folder beside ``folder`` and renamed into place once all are
    there and hold exactly ``n`` rows, so a failed run leaves nothing behind. On a cluster of several
    machines ``folder`` must be on storage every node sees (NFS, a shared volume).
    """
    folder = Path(folder)
    _check_folder(folder, force)
    n, batches = _check_options(syn, n, batch_size, kwargs)
    seed = syn._sample_seed(seed)
    options = _options(kwargs)
    work = Path(tempfile.mkdtemp(prefix=f".{folder.name}.", suffix=".partial", dir=folder.parent))
    started = time.perf_counter()
    try:
        with ray_cluster(address) as ray:
            task = ray.remote(max_retries=MAX_RETRIES)(_write_part)
            model = ray.put(syn)
            first = task.remote(model, 0, n, seed, batch_size, str(work), batches, options, [])
            waiting = list(range(batches - 1, 0, -1))  # popped from the end: batch 1 first
            pending, reports = [first], []
            while True:
                while waiting and (not max_workers or len(pending) < max_workers):
                    i = waiting.pop()
                    pending.append(task.remote(model, i, n, seed, batch_size, str(work), batches, options, [first]))
                if not pending:
                    break
                done, pending = ray.wait(pending, num_returns=1)
                reports.extend(ray.get(done))
                if progress:
                    progress(len(reports) / batches, f"{len(reports):,} of {batches:,} parts")
        parts = _verify(work, n, batches, reports)
        if folder.exists():  # --force: checked above
            shutil.rmtree(folder)
        os.replace(work, folder)
    except BaseException as exc:
        shutil.rmtree(work, ignore_errors=True)
        raise task_error(exc) from None
    for r in reports:
        r.pop("schema", None)
    return ShardedSample(folder, n, parts, time.perf_counter() - started, sorted(reports, key=lambda r: r["index"]))


def _check_folder(folder: Path, force: bool) -> None:
    if folder.exists() and not folder.is_dir():
        raise LookalikeError(f"{folder}: exists and is not a folder; --ray writes a folder of Parquet parts")
    if folder.exists() and any(folder.iterdir()) and not force:
        raise LookalikeError(f"{folder}: already exists and is not empty; pass --force to replace it")
    check_parent_writable(folder)


def _verify(work: Path, n: int, batches: int, reports: list[dict]) -> list[str]:
    """Every part present once, no stray file, and exactly ``n`` rows in the files themselves."""
    import pyarrow.parquet as pq

    for stray in work.glob(".*.tmp"):  # left by an attempt killed before its rename
        stray.unlink()
    expected = [part_name(i, batches) for i in range(batches)]
    found = sorted(p.name for p in work.iterdir())
    if found != expected:
        missing, extra = sorted(set(expected) - set(found)), sorted(set(found) - set(expected))
        raise LookalikeError(f"sharded sample incomplete: missing parts {missing[:5]}, unexpected files {extra[:5]}")
    rows = sum(pq.ParquetFile(work / name).metadata.num_rows for name in expected)
    if rows != n or sorted(r["index"] for r in reports) != list(range(batches)):
        raise LookalikeError(f"sharded sample holds {rows:,} rows in {batches} parts; expected {n:,}")
    return expected


def sample_to_ray(syn, n: int | None = None, seed: int | None = None, batch_size: int = BATCH_ROWS, **kwargs):
    """``syn.sample(n, seed=seed)`` as a lazy ``ray.data.Dataset``: one block per batch, drawn by Ray tasks when
    the dataset is consumed (``write_parquet``, ``iter_batches``, ``to_pandas``...). Needs a Ray session
    (``ray.init``; Ray Data starts a local one if there is none). Blocks come in batch order when the
    ``DataContext``'s ``execution_options.preserve_order`` is set; the rows are the same either way."""
    require_ray()  # a clear error when Ray is not installed
    import ray.data  # the submodule (the Data extra); binds ``ray`` too

    n, batches = _check_options(syn, n, batch_size, kwargs)
    seed = syn._sample_seed(seed)
    options = _options(kwargs)
    model = ray.put(syn) if ray.is_initialized() else syn

    def draw(batch: dict) -> "object":
        import pandas as pd

        local = ray.get(model) if isinstance(model, ray.ObjectRef) else model
        return pd.concat([local.sample_batch(int(i), n, seed=seed, batch_size=batch_size, **options)
                          for i in batch["id"]], ignore_index=True)

    return ray.data.range(batches, override_num_blocks=batches).map_batches(draw, batch_size=1,
                                                                            batch_format="pandas")
