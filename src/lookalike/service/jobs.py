"""Runs queued jobs, each in its own process, at most ``workers`` at a time; cancels them for real.

Processes come from a fork server that has imported the library once (``worker.PRELOAD``): a job starts in
milliseconds, and no job inherits the web server's threads. A job's state lives only in SQLite, so the
page and the REST API read it without asking this object.
"""
from __future__ import annotations

import multiprocessing
import os
import shutil
import threading
import time
from pathlib import Path

from lookalike.service.store import Store, valid_id


class JobRunner:
    def __init__(self, store: Store, workers: int = 1):
        self.store = store
        self.workers = max(1, int(workers))
        self.procs: dict[str, multiprocessing.process.BaseProcess] = {}
        self._lock = threading.Lock()
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._ctx = None

    # -- lifecycle
    def recover(self) -> list[str]:
        """After a restart: jobs left running failed (interrupted); files no row owns, and temporary files of
        writes that never finished, are removed."""
        interrupted = self.store.mark_interrupted()
        ws = self.store.workspace
        for table, folder in (("jobs", "jobs"), ("models", "models"), ("datasets", "datasets"),
                              ("databases", "databases")):
            for path in (ws / folder).iterdir():
                row = self.store.one(table, path.name)
                if row is None or (table == "jobs" and row["status"] in ("failed", "cancelled")):
                    _remove(path)
        for path in (ws / "uploads").iterdir():
            _remove(path)
        if (ws / "secrets").is_dir():  # a password waits only for a queued job
            for path in (ws / "secrets").iterdir():
                row = self.store.one("jobs", path.name)
                if row is None or row["status"] != "queued":
                    _remove(path)
        for tmp in ws.rglob(".*.tmp"):
            _remove(tmp)
        return interrupted

    def start(self) -> None:
        if self._thread is None:
            self._thread = threading.Thread(target=self._loop, name="lookalike-jobs", daemon=True)
            self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
        with self._lock:
            procs = list(self.procs.items())
        for job_id, proc in procs:
            self.store.update_job(job_id, only_if=("running",), status="failed", finished=time.time(),
                                  message="interrupted: the server was stopped while this job ran")
            _kill(proc)
            self._cleanup(job_id)

    def submit(self) -> None:
        self._wake.set()

    def cancel(self, job_id: str) -> bool:
        """Cancel a queued or running job; returns False when it had already finished."""
        changed = self.store.update_job(job_id, only_if=("queued", "running"), status="cancelled",
                                        message="cancelled", finished=time.time())
        with self._lock:
            proc = self.procs.get(job_id)
        if proc is not None:
            _kill(proc)
        if valid_id(job_id):
            from lookalike.service.databases import drop_secret

            drop_secret(self.store.workspace, job_id)
        self._wake.set()
        return changed

    # -- the loop
    def _loop(self) -> None:
        self._warm_up()
        while not self._stop.is_set():
            self._reap()
            self._launch()
            self._wake.wait(0.2)
            self._wake.clear()

    def _reap(self) -> None:
        with self._lock:
            ended = [(j, p) for j, p in self.procs.items() if p.exitcode is not None]
            for job_id, _ in ended:
                del self.procs[job_id]
        for job_id, proc in ended:
            proc.join()
            self.store.update_job(job_id, only_if=("running",), status="failed", finished=time.time(),
                                  message=f"the job's process stopped unexpectedly (exit code {proc.exitcode})")
            job = self.store.one("jobs", job_id)
            if job is not None and job["status"] != "done":
                self._cleanup(job_id)

    def _launch(self) -> None:
        while True:
            with self._lock:
                if len(self.procs) >= self.workers:
                    return
            job = self.store.next_queued()
            if job is None:
                return
            if not self.store.update_job(job["id"], only_if=("queued",), status="running", started=time.time(),
                                         message="starting"):
                continue
            proc = self._context().Process(target=_entry, args=(str(self.store.workspace), job["id"], os.getpid()),
                                           name=f"lookalike-job-{job['id'][:8]}", daemon=False)
            proc.start()
            with self._lock:
                self.procs[job["id"]] = proc
            self.store.update_job(job["id"], pid=proc.pid)

    def _warm_up(self) -> None:
        """Start the fork server now, so the library is imported before the first job asks for it."""
        ctx = self._context()
        if ctx.get_start_method() == "forkserver":
            from multiprocessing import forkserver

            try:
                forkserver.ensure_running()
            except Exception:  # the first job will try again, and say why if it cannot start
                pass

    def _context(self):
        if self._ctx is None:
            if "forkserver" in multiprocessing.get_all_start_methods():
                from lookalike.service.worker import PRELOAD

                self._ctx = multiprocessing.get_context("forkserver")
                self._ctx.set_forkserver_preload(PRELOAD)
            else:
                self._ctx = multiprocessing.get_context("spawn")
        return self._ctx

    def _cleanup(self, job_id: str) -> None:
        if valid_id(job_id):
            _remove(self.store.job_dir(job_id))

    def running(self) -> int:
        with self._lock:
            return len(self.procs)


def _entry(workspace: str, job_id: str, server_pid: int) -> None:
    from lookalike.service.worker import run

    run(workspace, job_id, server_pid)


def _kill(proc, grace: float = 2.0) -> None:
    if proc.exitcode is not None:
        return
    proc.terminate()
    proc.join(grace)
    if proc.exitcode is None:
        proc.kill()
        proc.join(grace)


def _remove(path: Path) -> None:
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path, ignore_errors=True)
    else:
        try:
            path.unlink()
        except FileNotFoundError:
            pass

