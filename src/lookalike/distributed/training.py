"""Data-parallel training of the flagship generator (argn) with Ray Train: ``TorchTrainer``, CPU workers, DDP.

``Synthesizer.fit(folder_or_dataset, ray=...)`` comes here after ``streaming.fit_streaming`` has learned the
schema and merged the codecs' statistics over every partition. Then:

- every worker reads only its own shard: of a Parquet folder, every ``world``-th piece of ``PIECE_ROWS`` rows
  (pieces numbered in file order, so a sorted table is spread over the workers); of a ``ray.data.Dataset``,
  the shard Ray Train hands it (``ray.train.get_dataset_shard``), read by Ray Data tasks that need a CPU of
  their own (so at most one worker fewer than the cluster's CPUs);
- it encodes its pieces with the fitted codecs, shuffles them in a buffer of ``BUFFER_ROWS`` rows and trains
  argn's own network (``argn._Net``, its loss unchanged) wrapped in ``DistributedDataParallel`` (gloo), so
  every step averages the gradients of ``workers`` batches: the global batch is argn's own choice of batch;
- every worker takes the same number of steps (``epochs`` passes over the table's rows at the global batch,
  the learning rate decaying from argn's choice to a sixteenth on a cosine), and rank 0's weights come back
  through a small actor: no shared storage is needed on a cluster of several machines.

No worker and no driver ever holds the table: the driver holds a uniform sample (for the schema) and the
merged counts, a worker one buffer of tokens. No rows are kept apart for validation, so there is no early
stopping: ``max_epochs`` (fractions allowed, default ``DEFAULT_EPOCHS``) and ``max_time`` bound the work.

Reproducible: from a folder, with the same seed and number of workers, the model is the same (each worker
runs one torch thread; the gradients of two workers add up in either order alike). A ``ray.data.Dataset``'s
blocks reach the workers in the order Ray streams them, which is not fixed.
"""
from __future__ import annotations

import math
import shutil
import tempfile
import time
from typing import Iterator

import numpy as np

from lookalike.distributed.cluster import ray_cluster
from lookalike.errors import LookalikeError

DEFAULT_EPOCHS = 1
"""Passes over the table when ``max_epochs`` is not given: a large table teaches in one pass what a small
one needs many for, and there are no held-out rows to stop early on."""
PIECE_ROWS = 16_384
"""Rows per piece of a Parquet folder: the unit handed round-robin to the workers."""
BUFFER_ROWS = 131_072
"""Tokens of this many rows are shuffled together on a worker before they are cut into batches."""
LOG_EVERY = 50
"""Steps between two entries of the loss history."""


def check_model(syn) -> None:
    """Only argn trains data-parallel; refused before any work (auto means argn here)."""
    name = syn._model_name()
    if name not in ("argn", "auto"):
        raise LookalikeError(f"data-parallel training (ray=...) trains model 'argn'; model '{name}' trains in one "
                             "process: fit without ray=, or use model='argn'")


def parquet_pieces(files: list[str], rank: int, world: int, piece_rows: int = PIECE_ROWS) -> Iterator:
    """This worker's pieces of the folder, as pandas: pieces ``rank``, ``rank + world``, ... in file order."""
    import pyarrow.parquet as pq

    k = 0
    for path in files:
        for batch in pq.ParquetFile(path).iter_batches(batch_size=piece_rows):
            if k % world == rank:
                yield batch.to_pandas()
            k += 1


def token_batches(read_epoch, encoder, batch: int, seed: int, rank: int) -> Iterator[np.ndarray]:
    """Endless batches of ``batch`` encoded rows: each pass of ``read_epoch()`` shuffled in buffers; rows left
    over at the end of a pass join the next pass's first buffer."""
    rng = np.random.default_rng([seed, rank, 29])
    carry = None
    while True:
        pending, rows, seen = ([] if carry is None else [carry]), (0 if carry is None else len(carry)), 0
        for part in read_epoch():
            tokens = encoder.encode(part)
            seen += len(tokens)
            pending.append(tokens)
            rows += len(tokens)
            if rows >= BUFFER_ROWS:
                block = np.concatenate(pending)
                block = block[rng.permutation(len(block))]
                cut = len(block) - len(block) % batch
                yield from (block[i:i + batch] for i in range(0, cut, batch))
                pending, rows = [block[cut:]], len(block) - cut
        if not seen:
            raise LookalikeError(f"worker {rank} has no rows to train on (its shard of the data is empty)")
        block = np.concatenate(pending)
        block = block[rng.permutation(len(block))]
        cut = len(block) - len(block) % batch
        yield from (block[i:i + batch] for i in range(0, cut, batch))
        carry = block[cut:]


def _worker(config: dict) -> None:
    """One Ray Train worker: its shard, argn's net under DDP, ``config['steps']`` steps; rank 0 sends weights."""
    import os
    import resource

    import ray
    import ray.train
    import torch
    from torch import nn
    from torch.nn.parallel import DistributedDataParallel

    from lookalike.distributed.sampling import _peak_memory
    from lookalike.models.argn import _Net

    class Loss(nn.Module):  # DDP syncs gradients of what its forward computes: argn's training loss
        def __init__(self, net):
            super().__init__()
            self.net = net

        def forward(self, x, keys):
            return self.net.loss(x, keys)

    start, cpu0 = time.monotonic(), time.process_time()
    ctx = ray.train.get_context()
    rank, world = ctx.get_world_rank(), ctx.get_world_size()
    torch.set_num_threads(config["threads"])
    torch.manual_seed(config["seed"])  # the same initial weights everywhere (DDP also copies rank 0's)
    net = _Net(config["cards"], config["groups"], config["hidden"], config["extra"], config["dropout"],
               config["log_freq"])
    model = DistributedDataParallel(Loss(net))
    torch.manual_seed(config["seed"] * 1009 + rank + 1)  # dropout: its own draws on each worker
    keys_gen = torch.Generator().manual_seed(config["seed"] * 1013 + rank)
    opt = torch.optim.AdamW(model.parameters(), lr=config["lr"], weight_decay=config["weight_decay"])
    steps = config["steps"]
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=max(steps, 1), eta_min=config["lr"] / 16)
    if config["files"] is not None:
        files = config["files"]

        def read_epoch():
            return parquet_pieces(files, rank, world)
    else:
        shard = ray.train.get_dataset_shard("train")

        def read_epoch():
            return (b.to_pandas() for b in shard.iter_batches(batch_size=PIECE_ROWS, batch_format="pyarrow"))
    batches = token_batches(read_epoch, config["encoder"], config["batch"], config["seed"], rank)
    n_groups = len(config["groups"])
    history, window, done = [], [], 0
    stop = torch.zeros(1)
    net.train()
    for step in range(steps):
        xb = torch.from_numpy(next(batches))
        keys = torch.rand(len(xb), n_groups, generator=keys_gen)
        loss = model(xb, keys)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        if config["max_grad_norm"] is not None:  # after DDP's all-reduce: every worker clips the same gradients
            torch.nn.utils.clip_grad_norm_(model.parameters(), config["max_grad_norm"])
        opt.step()
        sched.step()
        done = step + 1
        window.append(float(loss.detach()))
        if done % LOG_EVERY == 0 or done == steps:
            history.append({"step": done, "train_loss": float(np.mean(window)),
                            "seconds": round(time.monotonic() - start, 2)})
            window = []
            if rank == 0:
                ray.get(config["box"].progress.remote(done / steps))
        if config["max_time"] is not None:  # every worker stops at the same step: rank 0's clock decides
            stop.fill_(float(rank == 0 and time.time() - config["started"] > config["max_time"]))
            torch.distributed.all_reduce(stop, op=torch.distributed.ReduceOp.MAX)
            if stop.item():
                break
    report = {"rank": rank, "node": ray.get_runtime_context().get_node_id(), "pid": os.getpid(), "steps": done,
              "cpu_s": time.process_time() - cpu0, "peak_rss": _peak_memory(),
              "children_cpu_s": resource.getrusage(resource.RUSAGE_CHILDREN).ru_utime}
    state = None
    if rank == 0:
        state = {k: v.detach().numpy().copy() for k, v in net.state_dict().items()}
    ray.get(config["box"].put.remote(rank, report, state, history if rank == 0 else None))


class _Box:
    """Collects what the workers send back (rank 0's weights and history, every worker's measurements)."""

    def __init__(self):
        self.reports, self.state, self.history, self.fraction = {}, None, None, 0.0

    def put(self, rank, report, state, history):
        self.reports[rank] = report
        if state is not None:
            self.state, self.history = state, history

    def progress(self, fraction):
        self.fraction = fraction

    def get(self):
        return self.reports, self.state, self.history

    def get_progress(self):
        return self.fraction


def train_argn(syn, files: list[str] | None, dataset, n_rows: int, sample_tokens: np.ndarray, address=None,
               workers: int | None = None, progress=None):
    """Train ``syn``'s argn data-parallel on a Parquet folder's ``files`` or else a ``ray.data.Dataset`` with the
    fitted ``syn.encoder_``; returns the fitted ARGN. ``sample_tokens``: the uniform sample's tokens, for the
    output layers' initial biases (token frequencies). Each worker's measurements: ``model.workers_``."""
    from lookalike.models import make_model
    from lookalike.models.argn import _SIZES

    model = make_model("argn", seed=syn.seed, max_time=syn.max_time, verbose=syn.verbose,
                       params=syn._auto_params("argn") if syn.model == "auto" else syn.model_params)
    if model.dp_epsilon is not None:
        raise LookalikeError("data-parallel training has no differential privacy; fit in one process")
    started = time.monotonic()
    cards, groups = syn.encoder_.cardinalities_, syn.encoder_.groups_
    size = model._resolved_size(n_rows)
    hidden, extra = _SIZES[size]
    batch = model.batch_size or int(np.clip(2 ** round(math.log2(max(n_rows, 1) / 12)), 32, 1024))
    epochs = syn.max_epochs if syn.max_epochs is not None else DEFAULT_EPOCHS
    if not epochs > 0:
        raise LookalikeError(f"max_epochs must be positive, got {epochs}")
    with ray_cluster(address) as ray:
        import ray.train
        from ray.train.torch import TorchConfig, TorchTrainer

        cpus = int(ray.cluster_resources().get("CPU", 1))
        if workers is None:  # a Dataset's read tasks need a CPU the training workers do not hold
            workers = max(1, cpus - (files is None))
        if workers < 1:
            raise LookalikeError(f"workers must be at least 1, got {workers}")
        if files is None and workers >= cpus:
            raise LookalikeError(f"a ray.data.Dataset is read by Ray Data tasks, which need a CPU the {workers} "
                                 f"training worker(s) do not hold; the cluster has {cpus}: ask for at most "
                                 f"{max(cpus - 1, 0)} workers, or fit from a folder of Parquet files")
        per_worker = max(1, batch // workers)
        lr = model.learning_rate or 1e-2 * math.sqrt(per_worker * workers / 512)
        steps = max(1, math.ceil(epochs * n_rows / (per_worker * workers)))
        log_freq = [np.log((np.bincount(sample_tokens[:, j], minlength=c) + 1.0) / (len(sample_tokens) + c))
                    for j, c in enumerate(cards)]
        box = ray.remote(num_cpus=0)(_Box).remote()
        config = {"cards": cards, "groups": groups, "hidden": hidden, "extra": extra, "dropout": model.dropout,
                  "weight_decay": model.weight_decay, "max_grad_norm": model.max_grad_norm,
                  "log_freq": log_freq, "lr": lr, "batch": per_worker,
                  "steps": steps, "seed": int(model.seed), "threads": 1, "encoder": syn.encoder_, "files": files,
                  "box": box, "max_time": model.max_time, "started": time.time() - (time.monotonic() - started)}
        storage = tempfile.mkdtemp(prefix="lookalike-train-")
        try:
            trainer = TorchTrainer(
                _worker, train_loop_config=config,
                scaling_config=ray.train.ScalingConfig(num_workers=workers, use_gpu=False,
                                                       resources_per_worker={"CPU": 1}),
                torch_config=TorchConfig(backend="gloo"),
                run_config=ray.train.RunConfig(storage_path=storage, name="argn"),
                datasets=None if files is not None else {"train": dataset})
            _fit_watching(trainer, box, ray, progress)
            reports, state, history = ray.get(box.get.remote())
        finally:
            shutil.rmtree(storage, ignore_errors=True)
    if state is None:
        raise LookalikeError("data-parallel training ended without rank 0's weights")
    import torch

    from lookalike.models.argn import _Net

    net = _Net(cards, groups, hidden, extra, model.dropout, [np.zeros(c) for c in cards])
    net.load_state_dict({k: torch.from_numpy(np.array(v)) for k, v in state.items()})
    net.eval()
    model.net_, model.cardinalities_, model.groups_, model.size_ = net, list(cards), groups, size
    model.history_ = history
    model.precision_ = "float32"  # the workers train argn's loss in float32
    model.fit_seconds_ = time.monotonic() - started
    model.workers_ = [reports[r] for r in sorted(reports)]
    model.training_ = {"workers": workers, "batch": per_worker * workers, "steps": steps,
                       "steps_done": min(r["steps"] for r in model.workers_), "epochs": epochs, "lr": lr}
    return model


def _fit_watching(trainer, box, ray, progress) -> None:
    """``trainer.fit()``, passing rank 0's progress on; a worker's failure as one ``LookalikeError``."""
    import threading

    failure: list[BaseException] = []

    def fit():
        try:
            trainer.fit()
        except BaseException as exc:  # noqa: BLE001 (re-raised below, in the caller's thread)
            failure.append(exc)

    thread = threading.Thread(target=fit, daemon=True)
    thread.start()
    last = None
    while thread.is_alive():
        thread.join(1.0)
        if progress is not None and thread.is_alive():
            fraction = ray.get(box.get_progress.remote())
            if fraction != last:
                progress(fraction, "training data-parallel")
                last = fraction
    if failure:
        raise LookalikeError(f"data-parallel training failed: {_reason(failure[0])}") from None


def _reason(exc: BaseException) -> str:
    """The worker's own error message when one is there (a LookalikeError names the file or value)."""
    text = str(exc)
    for line in reversed(text.splitlines()):
        if "LookalikeError:" in line:
            return line.split("LookalikeError:", 1)[1].strip()
    lines = [line for line in text.splitlines() if line.strip()]
    return lines[-1].strip() if lines else type(exc).__name__
