"""The service's memory: datasets, models and jobs in one SQLite file inside the workspace.

Every process (the server and each job's worker) opens its own connection; WAL mode lets status polls read
while a worker writes its progress. Files live beside the database, one folder per object:

    WORKSPACE/lookalike.db
    WORKSPACE/datasets/<id>/<file name as uploaded>, schema.yaml
    WORKSPACE/models/<id>/model.lookalike
    WORKSPACE/jobs/<id>/<outputs>
    WORKSPACE/databases/<id>/<one CSV/Parquet file per table>   (an uploaded zip, unpacked)
    WORKSPACE/secrets/<job id>   (a database URL with its password, until the job's worker reads it)

Ids are 32 lowercase hex digits; anything else is refused before a path is built from it.
"""
from __future__ import annotations

import json
import re
import sqlite3
import threading
import time
import uuid
from pathlib import Path
from typing import Any

ID = re.compile(r"^[0-9a-f]{32}$")
STATUSES = ("queued", "running", "done", "failed", "cancelled")
FINISHED = ("done", "failed", "cancelled")
INTERRUPTED = "interrupted: the server stopped while this job ran; no output was kept"

SCHEMA = """
CREATE TABLE IF NOT EXISTS datasets (
    id TEXT PRIMARY KEY, name TEXT NOT NULL, file TEXT NOT NULL, rows INTEGER, columns INTEGER,
    created REAL NOT NULL);
CREATE TABLE IF NOT EXISTS models (
    id TEXT PRIMARY KEY, name TEXT NOT NULL, generator TEXT, dataset TEXT, job TEXT, info TEXT,
    created REAL NOT NULL);
CREATE TABLE IF NOT EXISTS databases (
    id TEXT PRIMARY KEY, name TEXT NOT NULL, info TEXT, created REAL NOT NULL);
CREATE TABLE IF NOT EXISTS jobs (
    id TEXT PRIMARY KEY, type TEXT NOT NULL, params TEXT NOT NULL, status TEXT NOT NULL,
    progress REAL NOT NULL DEFAULT 0, message TEXT NOT NULL DEFAULT '', result TEXT,
    loss REAL, created REAL NOT NULL, started REAL, finished REAL, pid INTEGER);
"""


def new_id() -> str:
    return uuid.uuid4().hex


def valid_id(value: str) -> bool:
    return isinstance(value, str) and bool(ID.match(value))


class Store:
    """Thin helpers over the SQLite file; one connection per thread (sqlite3 objects are not shared)."""

    def __init__(self, workspace: Path):
        self.workspace = Path(workspace)
        self.path = self.workspace / "lookalike.db"
        self._local = threading.local()
        for sub in ("datasets", "models", "jobs", "uploads", "databases"):
            (self.workspace / sub).mkdir(parents=True, exist_ok=True)
        with self.connect() as db:
            db.executescript(SCHEMA)

    def connect(self) -> sqlite3.Connection:
        db = getattr(self._local, "db", None)
        if db is None:
            db = sqlite3.connect(self.path, timeout=30, isolation_level=None)  # autocommit; BEGIN when needed
            db.row_factory = sqlite3.Row
            db.execute("PRAGMA journal_mode=WAL")
            db.execute("PRAGMA synchronous=NORMAL")
            self._local.db = db
        return db

    # -- folders
    def dataset_dir(self, id: str) -> Path:
        return self.workspace / "datasets" / id

    def database_dir(self, id: str) -> Path:
        return self.workspace / "databases" / id

    def model_file(self, id: str) -> Path:
        return self.workspace / "models" / id / "model.lookalike"

    def job_dir(self, id: str) -> Path:
        return self.workspace / "jobs" / id

    # -- rows
    def one(self, table: str, id: str) -> dict | None:
        if not valid_id(id):
            return None
        row = self.connect().execute(f"SELECT * FROM {table} WHERE id = ?", (id,)).fetchone()
        return _row(row)

    def all(self, table: str) -> list[dict]:
        return [_row(r) for r in self.connect().execute(f"SELECT * FROM {table} ORDER BY created DESC")]

    def insert(self, table: str, **values: Any) -> dict:
        values.setdefault("created", time.time())
        values = {k: json.dumps(v) if k in ("params", "result", "info") and v is not None else v
                  for k, v in values.items()}
        cols = ", ".join(values)
        marks = ", ".join("?" for _ in values)
        self.connect().execute(f"INSERT INTO {table} ({cols}) VALUES ({marks})", tuple(values.values()))
        return self.one(table, values["id"])

    def delete(self, table: str, id: str) -> None:
        self.connect().execute(f"DELETE FROM {table} WHERE id = ?", (id,))

    # -- jobs
    def update_job(self, id: str, *, only_if: tuple[str, ...] | None = None, **values: Any) -> bool:
        """Set columns of a job; with ``only_if``, only while its status is one of those (returns whether
        the row changed), so a worker's late write never overrides a cancel."""
        if "result" in values and values["result"] is not None:
            values["result"] = json.dumps(values["result"])
        sets = ", ".join(f"{k} = ?" for k in values)
        sql = f"UPDATE jobs SET {sets} WHERE id = ?"
        args: tuple = (*values.values(), id)
        if only_if:
            sql += f" AND status IN ({', '.join('?' for _ in only_if)})"
            args += tuple(only_if)
        return self.connect().execute(sql, args).rowcount > 0

    def next_queued(self) -> dict | None:
        row = self.connect().execute(
            "SELECT * FROM jobs WHERE status = 'queued' ORDER BY created LIMIT 1").fetchone()
        return _row(row)

    def mark_interrupted(self) -> list[str]:
        """Jobs left 'running' by a server that died: failed (interrupted). Returns their ids."""
        db = self.connect()
        ids = [r["id"] for r in db.execute("SELECT id FROM jobs WHERE status = 'running'")]
        for id in ids:
            db.execute("UPDATE jobs SET status = 'failed', message = ?, finished = ?, pid = NULL WHERE id = ?",
                       (INTERRUPTED, time.time(), id))
        return ids


def _row(row: sqlite3.Row | None) -> dict | None:
    if row is None:
        return None
    d = dict(row)
    for key in ("params", "result", "info"):
        if d.get(key) is not None:
            d[key] = json.loads(d[key])
    return d
