"""What a job does, run in its own process (one per job, so cancelling it really stops the work).

Each runner is a thin shell over the library: ``workflow`` for fit and report, ``Synthesizer`` for sample,
``simulate`` for fake data and the simulators, ``relational`` for whole databases (``databases.py``). A runner writes only inside the job's folder (or the new
model's folder) and only through temporary files renamed into place, so a killed worker leaves nothing
half-written. Progress goes to the job's row in SQLite, at most a few times a second.
"""
from __future__ import annotations

import logging
import os
import shutil
import signal
import threading
import time
import zipfile
from pathlib import Path
from typing import Any, Callable

from lookalike.errors import LookalikeError
from lookalike.service.databases import drop_secret, fit_db_job, sample_db_job
from lookalike.service.store import Store, new_id

PRELOAD = ["lookalike.synthesizer", "lookalike.workflow", "lookalike.evaluate", "lookalike.simulate.fake",
           "lookalike.simulate.aml", "lookalike.simulate.market", "lookalike.relational.synthesizer",
           "lookalike.io.sql"]
"""Imported once by the fork server, so each job's process starts in milliseconds, not seconds."""

Progress = Callable[[float, str], None]
NICE = 5
"""How much lower a job's CPU priority is than the server's."""


def run(workspace: str, job_id: str, server_pid: int) -> None:
    """Entry point of a job's process."""
    _die_with(server_pid)
    try:  # the heavy work yields the CPU to the web server, so pages and status polls stay quick
        os.nice(NICE)
    except (AttributeError, OSError):  # not on Windows
        pass
    store = Store(Path(workspace))
    job = store.one("jobs", job_id)
    if job is None or job["status"] != "running":
        return
    progress = _Reporter(store, job_id)
    try:
        result, model_row = RUNNERS[job["type"]](store, job, progress)
    except LookalikeError as exc:
        _fail(store, job_id, str(exc))
        return
    except Exception as exc:  # one line for the user, as the CLI does
        _fail(store, job_id, f"unexpected error: {type(exc).__name__}: {exc}")
        return
    finally:
        drop_secret(store.workspace, job_id)
    db = store.connect()
    db.execute("BEGIN IMMEDIATE")
    done = store.update_job(job_id, only_if=("running",), status="done", progress=1.0, message="done",
                            result=result, finished=time.time())
    if done and model_row:
        store.insert("models", **model_row)
    db.execute("COMMIT")
    if not done and model_row:  # cancelled at the last moment: the model is not kept
        shutil.rmtree(store.model_file(model_row["id"]).parent, ignore_errors=True)


def _fail(store: Store, job_id: str, message: str) -> None:
    store.update_job(job_id, only_if=("running",), status="failed", message=message.splitlines()[0] if message else
                     "failed", finished=time.time())


def _die_with(server_pid: int) -> None:
    """A job must not outlive its server: a restarted server marks it interrupted and removes its files."""
    try:  # Linux: SIGKILL when the fork server (our parent, which exits with the server) goes away
        import ctypes

        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
    except Exception:
        pass

    if os.name != "posix":  # os.kill(pid, 0) would not probe a process there
        return

    def watch() -> None:
        while True:
            try:
                os.kill(server_pid, 0)
            except ProcessLookupError:
                os._exit(3)
            except PermissionError:
                pass
            time.sleep(0.5)

    threading.Thread(target=watch, daemon=True).start()


class _Reporter:
    """The progress callback: (fraction, message) into the job's row, throttled; the latest training loss
    (from the generator's INFO log lines) goes beside it."""

    def __init__(self, store: Store, job_id: str, every: float = 0.25):
        self.store, self.job_id, self.every, self.last = store, job_id, every, 0.0
        self.loss: float | None = None

    def __call__(self, fraction: float, message: str = "") -> None:
        now = time.monotonic()
        if now - self.last < self.every and fraction < 1.0:
            return
        self.last = now
        self.store.update_job(self.job_id, only_if=("running",), progress=min(max(float(fraction), 0.0), 0.999),
                              message=message[:200], loss=self.loss)

    def capture_loss(self) -> logging.Handler:
        reporter = self

        class Handler(logging.Handler):
            def emit(self, record: logging.LogRecord) -> None:
                args = record.args if isinstance(record.args, tuple) else ()
                if record.msg.startswith("argn epoch") and len(args) >= 3:
                    reporter.loss = float(args[2])  # validation loss (train loss when nothing is held out)

        return Handler(level=logging.INFO)


# ------------------------------------------------------------------------------------------------ runners
def _dataset(store: Store, id: str):
    from lookalike.io import read_table
    from lookalike.schema.columns import TableSchema

    row = store.one("datasets", id)
    if row is None:
        raise LookalikeError(f"dataset {id} not found")
    folder = store.dataset_dir(id)
    df = read_table(folder / row["file"])
    return row, df, TableSchema.read(folder / "schema.yaml")


def fit_job(store: Store, job: dict, progress: _Reporter):
    from lookalike import workflow

    p = job["params"]
    row, df, schema = _dataset(store, p["dataset"])
    handler = progress.capture_loss()
    log = logging.getLogger("lookalike.models")
    log.addHandler(handler)
    log.setLevel(logging.INFO)
    settings = dict(model=p.get("model", "auto"), seed=p.get("seed", 0), max_epochs=p.get("max_epochs"),
                    max_time=p.get("max_time"), schema=schema, model_params=p.get("model_params"), verbose=True)
    result: dict[str, Any] = {}
    if p.get("holdout"):
        out = workflow.synthesize(df, holdout_share=p["holdout"], target=p.get("target"), report=True,
                                  progress=progress, **settings)
        syn = out.synthesizer
        folder = store.job_dir(job["id"])
        folder.mkdir(exist_ok=True)
        out.report.to_html(folder / "report.html", force=False)
        result.update(report="report.html", summary=out.summary)
    else:
        syn = workflow.make_synthesizer(**settings).fit(df, progress=progress)
    progress(0.999, "saving the model")
    model_id = new_id()
    target = store.model_file(model_id)
    target.parent.mkdir(parents=True)
    syn.save(target)
    result.update(model=model_id, generator=syn.model_.name, rows=len(df), columns=df.shape[1])
    model_row = dict(id=model_id, name=f"{row['name']} ({syn.model_.name})", generator=syn.model_.name,
                     dataset=row["id"], job=job["id"],
                     info={"rows": len(df), "columns": list(df.columns), "holdout": p.get("holdout"),
                           "seed": p.get("seed", 0), "target": p.get("target")})
    return result, model_row


def _load_model(store: Store, id: str):
    from lookalike.synthesizer import Synthesizer

    row = store.one("models", id)
    if row is None:
        raise LookalikeError(f"model {id} not found")
    return row, Synthesizer.load(store.model_file(id))


def _typed(syn, column: str, value):
    """Values from a form or JSON: text is read the way the CLI reads --where (known category, number)."""
    return syn.parse_value(column, value) if isinstance(value, str) else value


def sample_job(store: Store, job: dict, progress: _Reporter):
    p = job["params"]
    _, syn = _load_model(store, p["model"])
    conditions = {c: _typed(syn, c, v) for c, v in (p.get("conditions") or {}).items()} or None
    rebalance = {c: {_typed(syn, c, v): float(s) for v, s in shares.items()}
                 for c, shares in (p.get("rebalance") or {}).items()} or None
    folder = store.job_dir(job["id"])
    folder.mkdir(exist_ok=True)
    name = f"synthetic.{p.get('format', 'csv')}"
    syn.sample_to_file(p.get("n"), folder / name, seed=p.get("seed", 0), progress=progress,
                       conditions=conditions, rebalance=rebalance)
    return {"output": name, "rows": p.get("n") or syn.n_rows_}, None


def report_job(store: Store, job: dict, progress: _Reporter):
    from lookalike import workflow

    p = job["params"]
    if p.get("model"):
        model_row, syn = _load_model(store, p["model"])
        info = model_row.get("info") or {}
        if not model_row.get("dataset") or store.one("datasets", model_row["dataset"]) is None:
            raise LookalikeError(f"model {p['model']}: its training dataset is not in this workspace; "
                                 "give 'dataset' and 'synthetic' instead")
        _, df, _ = _dataset(store, model_row["dataset"])
        if info.get("holdout"):
            train, holdout = workflow.split_holdout(df, info["holdout"], info.get("seed", 0))
        else:
            train, holdout = df, None
        progress(0.05, "sampling")
        synthetic = syn.sample(p.get("n") or len(train), seed=p.get("seed", 0))
    else:
        _, train, _ = _dataset(store, p["dataset"])
        _, synthetic, _ = _dataset(store, p["synthetic"])
        holdout = _dataset(store, p["holdout"])[1] if p.get("holdout") else None
    from lookalike.evaluate.prepare import check_columns

    check_columns(train, synthetic, "synthetic")
    report = workflow.judge(train, synthetic, holdout, p.get("target"),
                            progress=lambda f, m: progress(0.3 + 0.7 * f, f"judging: {m}"))
    folder = store.job_dir(job["id"])
    folder.mkdir(exist_ok=True)
    report.to_html(folder / "report.html", force=False)
    return {"output": "report.html", "summary": workflow.summary(report)}, None


def fake_job(store: Store, job: dict, progress: _Reporter):
    from lookalike.simulate.fake import generate, write_tables
    from lookalike.simulate.spec import parse_spec

    p = job["params"]
    spec = parse_spec(p["spec"], source="spec")
    progress(0.1, f"generating {len(spec.tables)} table(s)")
    tables = generate(spec, int(p.get("n", 1000)), seed=int(p.get("seed", 0)))
    progress(0.8, "writing")
    return _write_outputs(store, job, "fake", lambda folder: write_tables(tables, folder, fmt=spec.format)), None


def simulate_job(store: Store, job: dict, progress: _Reporter):
    p = job["params"]
    options = dict(p.get("options") or {})
    fmt = p.get("format", "csv")
    if p["simulator"] == "aml":
        from lookalike.simulate.aml import AMLSimulator

        sim = AMLSimulator(**options)
        on_day = lambda d, _n: progress(min(d / sim.n_days, 0.95), f"day {d} of {sim.n_days}")  # noqa: E731
    else:
        from lookalike.simulate.market import MarketSimulator

        sim = MarketSimulator(**options)
        on_day = lambda d: progress(min(d / sim.n_days, 0.95), f"day {d} of {sim.n_days}")  # noqa: E731
    return _write_outputs(store, job, p["simulator"],
                          lambda folder: list(sim.write(folder, fmt=fmt, on_day=on_day).values())), None


def _write_outputs(store: Store, job: dict, stem: str, write: Callable[[Path], list]) -> dict:
    """Tables into a scratch folder of the job, then one file (a table, or a zip of several) renamed into
    place; the scratch folder goes away."""
    from lookalike.io import atomic_path

    folder = store.job_dir(job["id"])
    scratch = folder / ".tables"
    shutil.rmtree(scratch, ignore_errors=True)
    scratch.mkdir(parents=True)
    try:
        paths = [Path(x) for x in write(scratch)]
        if len(paths) == 1:
            name = paths[0].name
            os.replace(paths[0], folder / name)
        else:
            name = f"{stem}.zip"
            with atomic_path(folder / name) as tmp:
                with zipfile.ZipFile(tmp, "w", compression=zipfile.ZIP_DEFLATED) as zf:
                    for path in paths:
                        zf.write(path, path.name)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    return {"output": name, "tables": [x.stem for x in paths]}


RUNNERS = {"fit": fit_job, "sample": sample_job, "report": report_job, "fake": fake_job,
           "simulate": simulate_job, "fit-db": fit_db_job, "sample-db": sample_db_job}
