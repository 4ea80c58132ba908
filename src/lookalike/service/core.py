"""What the REST API and the website both do: store uploads, read and edit schemas, check and queue jobs.

Every check that can fail fast fails here, before a job is queued, with the library's own one-line message
(``ServiceError`` carries it with an HTTP status). Heavy work happens in ``worker.py``.
"""
from __future__ import annotations

import json
import os
import shutil
import time
from pathlib import Path
from typing import Any

from lookalike.errors import LookalikeError
from lookalike.service import databases as dbs
from lookalike.service.jobs import JobRunner
from lookalike.service.store import FINISHED, Store, new_id, valid_id

READ_FORMATS = (".csv", ".parquet", ".pq", ".xlsx", ".xls")
OUTPUT_FORMATS = ("csv", "parquet")
JOB_TYPES = ("fit", "sample", "report", "fake", "simulate", "fit-db", "sample-db")
PREVIEW_ROWS = 20
AML_OPTIONS = {"accounts": "n_accounts", "days": "n_days", "seed": "seed", "laundering_rate": "laundering_rate"}
MARKET_OPTIONS = {"assets": "n_assets", "days": "n_days", "seed": "seed", "intraday": "intraday"}
SIM_LIMITS = {"accounts": 200_000, "assets": 50, "days": 3650}


class ServiceError(Exception):
    def __init__(self, status: int, message: str):
        super().__init__(message)
        self.status = status
        self.message = message


def not_found(what: str, id: str) -> ServiceError:
    return ServiceError(404, f"{what} {id!r} not found" if valid_id(id) else f"{what} id {id!r} is not valid")


class Service:
    def __init__(self, workspace: str | Path, token: str, max_upload_bytes: int = 200 * 2**20, workers: int = 1):
        self.workspace = Path(workspace).resolve()
        self.workspace.mkdir(parents=True, exist_ok=True)
        self.token = token
        self.max_upload_bytes = int(max_upload_bytes)
        self.store = Store(self.workspace)
        self.runner = JobRunner(self.store, workers=workers)

    def start(self) -> None:
        self.runner.recover()
        self.runner.start()

    def stop(self) -> None:
        self.runner.stop()

    # ------------------------------------------------------------------------------------------ uploads
    async def receive(self, request, field: str = "file", fields: dict | None = None) -> tuple[str, Path]:
        """Stream a multipart upload's ``field`` to a file in ``uploads/``, never more than the size limit.
        Returns (the file name as sent, the path). With ``fields``, the form's other (text) fields go into it,
        each cut at 4 KiB."""
        from python_multipart.multipart import MultipartParser, parse_options_header

        ctype, options = parse_options_header(request.headers.get("content-type", ""))
        if ctype != b"multipart/form-data" or b"boundary" not in options:
            raise ServiceError(400, f"send the file as multipart/form-data in a field named '{field}'")
        length = request.headers.get("content-length")
        if length and length.isdigit() and int(length) > self.max_upload_bytes + 65536:
            raise ServiceError(413, f"the upload is {int(length):,} bytes; the limit is {self.max_upload_bytes:,}")
        dest = self.workspace / "uploads" / new_id()
        state: dict[str, Any] = {"headers": {}, "field": b"", "value": b"", "name": None, "out": None, "size": 0,
                                 "found": None}

        def on_header_field(data, start, end):
            state["field"] += data[start:end]

        def on_header_value(data, start, end):
            state["value"] += data[start:end]

        def on_header_end():
            state["headers"][state["field"].decode("latin-1").lower()] = state["value"]
            state["field"], state["value"] = b"", b""

        def on_headers_finished():
            _, disp = parse_options_header(state["headers"].get("content-disposition", b""))
            name = disp.get(b"name", b"").decode("utf-8", "replace")
            if name == field and state["found"] is None:
                state["found"] = disp.get(b"filename", b"").decode("utf-8", "replace")
                state["out"] = open(dest, "wb")
            elif fields is not None and b"filename" not in disp and len(fields) < 50:
                state["text"], state["buf"] = name, b""

        def on_part_data(data, start, end):
            if state["out"] is not None:
                state["size"] += end - start
                if state["size"] > self.max_upload_bytes:
                    raise ServiceError(413, f"the upload is over the limit of {self.max_upload_bytes:,} bytes")
                state["out"].write(data[start:end])
            elif state.get("text") is not None and len(state["buf"]) < 4096:
                state["buf"] += data[start:end][:4096 - len(state["buf"])]

        def on_part_end():
            if state["out"] is not None:
                state["out"].close()
                state["out"] = None
            if state.get("text") is not None:
                fields[state["text"]] = state["buf"].decode("utf-8", "replace")
                state["text"] = None
            state["headers"] = {}

        parser = MultipartParser(options[b"boundary"], callbacks={
            "on_header_field": on_header_field, "on_header_value": on_header_value, "on_header_end": on_header_end,
            "on_headers_finished": on_headers_finished, "on_part_data": on_part_data, "on_part_end": on_part_end})
        try:
            async for chunk in request.stream():
                parser.write(chunk)
            parser.finalize()
        except ServiceError:
            _close_and_remove(state, dest)
            raise
        except Exception as exc:  # a malformed multipart body
            _close_and_remove(state, dest)
            raise ServiceError(400, f"malformed multipart upload ({exc})") from None
        if state["found"] is None:
            _close_and_remove(state, dest)
            raise ServiceError(400, f"no file in the upload; send it in a multipart field named '{field}'")
        return state["found"], dest

    # ------------------------------------------------------------------------------------------ datasets
    def add_dataset(self, filename: str, upload: Path) -> dict:
        """Read an uploaded table as ``lookalike schema`` would; on failure the message is the CLI's, naming
        the file as uploaded."""
        from lookalike.io import read_table
        from lookalike.schema.infer import infer_schema

        try:
            name = check_filename(filename)
            if Path(name).suffix.lower() not in READ_FORMATS:
                raise ServiceError(400, f"{name}: unsupported file type '{Path(name).suffix or '(none)'}'; "
                                        f"use one of {', '.join(sorted(READ_FORMATS))}")
            id = new_id()
            folder = self.store.dataset_dir(id)
            folder.mkdir()
            path = folder / name
            os.replace(upload, path)
            try:
                df = read_table(path)
                schema = infer_schema(df, source=name)
            except LookalikeError as exc:
                shutil.rmtree(folder, ignore_errors=True)
                raise ServiceError(400, str(exc).replace(str(path), name)) from None
            schema.dialect = df.attrs.get("csv_dialect")
            (folder / "schema.yaml").write_text(schema.to_yaml(), encoding="utf-8")
            (folder / "inferred.yaml").write_text(schema.to_yaml(), encoding="utf-8")
            head = df.head(PREVIEW_ROWS).astype(object).where(df.head(PREVIEW_ROWS).notna(), None)
            preview = {"columns": [str(c) for c in df.columns],
                       "rows": [[_cell(v) for v in row] for row in head.itertuples(index=False)]}
            (folder / "preview.json").write_text(json.dumps(preview), encoding="utf-8")
            return self.store.insert("datasets", id=id, name=name, file=name, rows=len(df), columns=df.shape[1])
        finally:
            if upload.exists():
                upload.unlink()

    def _row(self, table: str, what: str, id: str) -> dict:
        """The stored record, or a 404 that says what was not found."""
        row = self.store.one(table, id)
        if row is None:
            raise not_found(what, id)
        return row

    def dataset(self, id: str) -> dict:
        return self._row("datasets", "dataset", id)

    def preview(self, id: str) -> dict:
        self.dataset(id)
        return json.loads((self.store.dataset_dir(id) / "preview.json").read_text(encoding="utf-8"))

    def schema(self, id: str, which: str = "schema"):
        from lookalike.schema.columns import TableSchema

        self.dataset(id)
        return TableSchema.read(self.store.dataset_dir(id) / f"{which}.yaml")

    def put_schema(self, id: str, data: Any, source: str = "schema"):
        """Replace a dataset's schema (a dict, or YAML text); it must describe exactly the table's columns."""
        from lookalike.schema.columns import TableSchema, from_yaml_text

        row = self.dataset(id)
        try:
            if isinstance(data, str):
                schema = from_yaml_text(data, source, lambda d: TableSchema.from_dict(d))
            else:
                schema = TableSchema.from_dict(data)
        except LookalikeError as exc:
            raise ServiceError(400, str(exc)) from None
        columns = self.preview(id)["columns"]
        missing = [c for c in columns if c not in schema.names]
        extra = [c for c in schema.names if c not in columns]
        if extra:
            raise ServiceError(400, f"the schema names columns the data lacks: {extra}")
        if missing:
            raise ServiceError(400, f"the data has columns the schema does not describe: {missing}")
        if schema.dialect is None:
            schema.dialect = self.schema(id).dialect
        path = self.store.dataset_dir(row["id"]) / "schema.yaml"
        from lookalike.io import atomic_path

        with atomic_path(path, force=True) as tmp:
            tmp.write_text(schema.to_yaml(), encoding="utf-8")
        return schema

    def delete_dataset(self, id: str) -> None:
        self.dataset(id)
        self.store.delete("datasets", id)
        shutil.rmtree(self.store.dataset_dir(id), ignore_errors=True)

    # ------------------------------------------------------------------------------------------ databases
    def add_database(self, filename: str, upload: Path) -> dict:
        """Keep an uploaded zip of tables (one CSV/Parquet file per table), unpacked safely and read once as
        ``lookalike fit-db FOLDER`` would read it; refusals are 400 with one line."""
        from lookalike.io.sql import read_folder

        try:
            name = check_filename(filename or "database.zip")
            if Path(name).suffix.lower() != ".zip":
                raise ServiceError(400, f"{name}: upload a .zip of CSV or Parquet files, one per table")
            id = new_id()
            folder = self.store.database_dir(id)
            try:
                dbs.unpack_tables(upload, folder, max_bytes=dbs.UNPACK_FACTOR * self.max_upload_bytes)
            except dbs.UnsafeUpload as exc:
                raise ServiceError(400, f"{name}: {exc}") from None
            try:
                frames = read_folder(folder)
            except LookalikeError as exc:
                shutil.rmtree(folder, ignore_errors=True)
                raise ServiceError(400, f"{name}: {str(exc).replace(str(folder) + os.sep, '').replace(str(folder), name)}") from None
            tables = {t: int(len(df)) for t, df in frames.items()}
            return self.store.insert("databases", id=id, name=name, info={"tables": tables,
                                                                          "rows": sum(tables.values())})
        finally:
            if upload.exists():
                upload.unlink()

    def database(self, id: str) -> dict:
        return self._row("databases", "database", id)

    def delete_database(self, id: str) -> None:
        self.database(id)
        self.store.delete("databases", id)
        shutil.rmtree(self.store.database_dir(id), ignore_errors=True)

    # ------------------------------------------------------------------------------------------ models
    def add_model(self, filename: str, upload: Path) -> dict:
        """Keep an uploaded model file only if it loads as data (JSON + safetensors); anything else is refused."""
        from lookalike.synthesizer import Synthesizer

        try:
            name = check_filename(filename or "model.lookalike")
            whole = dbs.is_database_model(upload)
            try:
                syn = dbs.load_database_model(upload) if whole else Synthesizer.load(upload)
            except LookalikeError as exc:
                raise ServiceError(400, str(exc).replace(str(upload), name)) from None
            except Exception as exc:  # a zip that claims to be a model but is not one
                raise ServiceError(400, f"{name}: not a lookalike model file ({type(exc).__name__})") from None
            id = new_id()
            target = self.store.model_file(id)
            target.parent.mkdir()
            os.replace(upload, target)
            if whole:
                tables = {t: int(syn.plans_[t].n_rows) for t in syn.order_}
                return self.store.insert("models", id=id, name=name, generator=f"database ({syn.model})", dataset=None,
                                         job=None, info={"kind": "database", "tables": tables,
                                                         "rows": sum(tables.values()), "uploaded": True})
            return self.store.insert("models", id=id, name=name, generator=syn.model_.name, dataset=None, job=None,
                                     info={"rows": syn.n_rows_, "columns": syn.columns_, "uploaded": True})
        finally:
            if upload.exists():
                upload.unlink()

    def model(self, id: str) -> dict:
        return self._row("models", "model", id)

    def check_model_kind(self, id: str, kind: str, database: bool) -> dict:
        row = self.model(id)
        if is_database_model_row(row) != database:
            hint = "a sample-db job" if is_database_model_row(row) else "a sample or report job"
            raise ServiceError(400, f"{kind} job: model {id} is {'a database' if is_database_model_row(row) else 'a table'} "
                                    f"model; use {hint}")
        return row

    def delete_model(self, id: str) -> None:
        self.model(id)
        self.store.delete("models", id)
        shutil.rmtree(self.store.model_file(id).parent, ignore_errors=True)

    # ------------------------------------------------------------------------------------------ jobs
    def create_job(self, body: dict) -> dict:
        params = self.check_job(body)
        real = params.pop("_url", None)  # a database URL with its password: kept out of the job's row
        id = new_id()
        if real is not None and real != params.get("url"):
            dbs.put_secret(self.workspace, id, real)
        job = self.store.insert("jobs", id=id, type=params.pop("type"), params=params, status="queued",
                                progress=0.0, message="queued")
        self.runner.submit()
        return job

    def check_job(self, body: Any) -> dict:
        """Validate a job request before queuing it; raises ServiceError(400/404) with one line."""
        if not isinstance(body, dict):
            raise ServiceError(400, "a job is a JSON object such as {\"type\": \"fit\", \"dataset\": ID}")
        kind = body.get("type")
        if kind not in JOB_TYPES:
            raise ServiceError(400, f"unknown job type {kind!r}; choose one of: {', '.join(JOB_TYPES)}")
        p = {k: v for k, v in body.items() if v is not None}
        allowed = {"fit": {"dataset", "model", "max_time", "max_epochs", "seed", "model_params", "holdout", "target"},
                   "sample": {"model", "n", "format", "seed", "conditions", "rebalance"},
                   "report": {"model", "n", "seed", "dataset", "synthetic", "holdout", "target"},
                   "fake": {"spec", "n", "seed"},
                   "simulate": {"simulator", "options", "format"},
                   "fit-db": {"url", "database", "model", "max_time", "max_epochs", "seed", "tables", "orphans"},
                   "sample-db": {"model", "scale", "seed", "format"}}[kind] | {"type"}
        unknown = sorted(set(p) - allowed)
        if unknown:
            raise ServiceError(400, f"{kind} job: unknown field(s) {unknown}; accepted: {', '.join(sorted(allowed))}")
        for key in ("seed",):
            if key in p:
                _integer(p, key, kind, low=0)
        if kind == "fit":
            self.dataset(_id(p, "dataset", kind))
            from lookalike.models import REGISTRY

            p.setdefault("model", "auto")
            if p["model"] != "auto" and p["model"] not in REGISTRY:
                raise ServiceError(400, f"unknown model '{p['model']}'; choose one of: auto, {', '.join(sorted(REGISTRY))}")
            if "max_time" in p:
                _number(p, "max_time", kind)
            if "max_epochs" in p:
                _integer(p, "max_epochs", kind, low=1)
            if "holdout" in p:
                _number(p, "holdout", kind)
                if not 0 < p["holdout"] < 1:
                    raise ServiceError(400, f"fit job: holdout must be a share between 0 and 1, got {p['holdout']}")
                from lookalike.workflow import MIN_ROWS_FOR_HOLDOUT

                rows = self.dataset(p["dataset"])["rows"]
                if rows < MIN_ROWS_FOR_HOLDOUT:
                    raise ServiceError(400, f"holding rows out needs at least {MIN_ROWS_FOR_HOLDOUT} rows, "
                                            f"the data has {rows}")
            if "target" in p and p["target"] not in self.preview(p["dataset"])["columns"]:
                raise ServiceError(400, f"target: unknown column '{p['target']}'")
            if "model_params" in p and not isinstance(p["model_params"], dict):
                raise ServiceError(400, "fit job: model_params must be an object such as {\"dropout\": 0.1}")
        elif kind == "sample":
            self.check_model_kind(_id(p, "model", kind), kind, database=False)
            if "n" in p:
                _integer(p, "n", kind, low=1)
            p.setdefault("format", "csv")
            if p["format"] not in OUTPUT_FORMATS:
                raise ServiceError(400, f"format must be csv or parquet, got {p['format']!r}")
            for key in ("conditions", "rebalance"):
                if key in p and not isinstance(p[key], dict):
                    raise ServiceError(400, f"sample job: {key} must be an object keyed by column")
            for col, shares in (p.get("rebalance") or {}).items():
                if not isinstance(shares, dict) or not all(isinstance(s, (int, float)) for s in shares.values()):
                    raise ServiceError(400, f"rebalance: '{col}' must map values to shares, e.g. {{\"yes\": 0.3}}")
        elif kind == "report":
            if "model" in p:
                self.check_model_kind(_id(p, "model", kind), kind, database=False)
            else:
                for key in ("dataset", "synthetic"):
                    self.dataset(_id(p, key, kind, hint="give 'model', or 'dataset' and 'synthetic'"))
                if "holdout" in p:
                    self.dataset(_id(p, "holdout", kind))
            if "n" in p:
                _integer(p, "n", kind, low=1)
        elif kind == "fake":
            from lookalike.simulate.spec import parse_spec

            if not isinstance(p.get("spec"), str) or not p["spec"].strip():
                raise ServiceError(400, "fake job: 'spec' must be the spec's YAML text")
            try:
                parse_spec(p["spec"], source="spec")
            except LookalikeError as exc:
                raise ServiceError(400, str(exc)) from None
            p.setdefault("n", 1000)
            _integer(p, "n", kind, low=1)
            if p["n"] > 10_000_000:
                raise ServiceError(400, "fake job: n is limited to 10,000,000 rows per table")
        elif kind == "fit-db":
            if ("url" in p) == ("database" in p):
                raise ServiceError(400, "fit-db job: give either 'url' (a database URL) or 'database' (the id of an "
                                        "uploaded zip of tables)")
            if "url" in p:
                try:
                    p["_url"], p["url"] = dbs.check_url(p["url"], self.workspace)
                except ValueError as exc:
                    raise ServiceError(400, f"fit-db job: {exc}") from None
            else:
                self.database(_id(p, "database", kind))
            from lookalike.models import REGISTRY

            p.setdefault("model", "auto")
            if p["model"] != "auto" and p["model"] not in REGISTRY:
                raise ServiceError(400, f"unknown model '{p['model']}'; choose one of: auto, {', '.join(sorted(REGISTRY))}")
            if "max_time" in p:
                _number(p, "max_time", kind)
            if "max_epochs" in p:
                _integer(p, "max_epochs", kind, low=1)
            if "tables" in p and (not isinstance(p["tables"], list) or not p["tables"]
                                  or not all(isinstance(t, str) and t.strip() for t in p["tables"])):
                raise ServiceError(400, "fit-db job: tables must be a list of table names")
            if p.get("orphans", "keep") not in ("keep", "drop"):
                raise ServiceError(400, f"fit-db job: orphans must be keep or drop, got {p['orphans']!r}")
        elif kind == "sample-db":
            self.check_model_kind(_id(p, "model", kind), kind, database=True)
            p.setdefault("scale", 1.0)
            _number(p, "scale", kind)
            if p["scale"] > dbs.MAX_SCALE:
                raise ServiceError(400, f"sample-db job: scale is limited to {dbs.MAX_SCALE:g}")
            p.setdefault("format", "csv")
            if p["format"] not in dbs.DB_FORMATS:
                raise ServiceError(400, f"sample-db job: format must be one of {', '.join(dbs.DB_FORMATS)}, "
                                        f"got {p['format']!r}")
        elif kind == "simulate":
            names = {"aml": AML_OPTIONS, "market": MARKET_OPTIONS}
            if p.get("simulator") not in names:
                raise ServiceError(400, f"simulate job: simulator must be aml or market, got {p.get('simulator')!r}")
            p.setdefault("format", "csv")
            if p["format"] not in OUTPUT_FORMATS:
                raise ServiceError(400, f"format must be csv or parquet, got {p['format']!r}")
            given = p.get("options") or {}
            if not isinstance(given, dict):
                raise ServiceError(400, "simulate job: options must be an object")
            mapping = names[p["simulator"]]
            bad = sorted(set(given) - set(mapping))
            if bad:
                raise ServiceError(400, f"simulate {p['simulator']}: unknown option(s) {bad}; "
                                        f"accepted: {', '.join(mapping)}")
            options = {}
            for key, value in given.items():
                if key == "laundering_rate":
                    _number(given, key, "simulate")
                    if not 0 < value < 0.5:
                        raise ServiceError(400, f"simulate aml: laundering_rate must be in (0, 0.5), got {value}")
                elif key == "intraday":
                    if not isinstance(value, bool):
                        raise ServiceError(400, "simulate market: intraday must be true or false")
                else:
                    _integer(given, key, "simulate", low=0 if key == "seed" else 1)
                    if key in SIM_LIMITS and value > SIM_LIMITS[key]:
                        raise ServiceError(400, f"simulate {p['simulator']}: {key} is limited to {SIM_LIMITS[key]:,}")
                options[mapping[key]] = value
            p["options"] = options
        return p

    def job(self, id: str) -> dict:
        return self._row("jobs", "job", id)

    def delete_job(self, id: str) -> dict | None:
        """A queued or running job is cancelled (its row kept, returned); a finished one is removed with its
        files (returns None)."""
        job = self.job(id)
        if job["status"] not in FINISHED and self.runner.cancel(id):
            return self.job(id)
        self.store.delete("jobs", id)
        shutil.rmtree(self.store.job_dir(id), ignore_errors=True)
        return None

    def job_file(self, id: str, name: str | None = None) -> Path:
        """A finished job's output (``name`` None: its main output); names are plain file names."""
        job = self.job(id)
        if job["status"] != "done":
            raise ServiceError(409, f"job {id} is {job['status']}; its output exists once it is done")
        result = job.get("result") or {}
        if name is None:
            name = result.get("output") or result.get("report")
            if name is None:
                raise ServiceError(404, f"job {id} ({job['type']}) has no output file; its result is "
                                        f"{json.dumps(result)}")
        name = check_filename(name)
        files = {result.get("output"), result.get("report")}
        if name not in files:
            raise ServiceError(404, f"job {id} has no file {name!r}")
        path = self.store.job_dir(id) / name
        if not path.is_file():
            raise ServiceError(404, f"job {id}: file {name!r} is gone")
        return path


def view_job(job: dict) -> dict:
    """A job as the API shows it: the contract's fields plus timings (elapsed, an estimate of what remains)."""
    now = time.time()
    started, finished = job.get("started"), job.get("finished")
    elapsed = None if started is None else (finished or now) - started
    remaining = None
    if job["status"] == "running" and elapsed and 0.02 < job["progress"] < 1:
        remaining = elapsed * (1 - job["progress"]) / job["progress"]
        budget = (job.get("params") or {}).get("max_time")
        if budget and job["type"] == "fit" and not (job.get("params") or {}).get("holdout"):
            remaining = max(0.0, min(remaining, budget + 5 - elapsed))
    return {"id": job["id"], "type": job["type"], "status": job["status"],
            "progress": 1.0 if job["status"] == "done" else round(job["progress"], 4),
            "message": job["message"], "result": job.get("result"), "params": job.get("params"),
            "loss": job.get("loss"), "created": job["created"], "elapsed": elapsed, "remaining": remaining}


def is_database_model_row(row: dict) -> bool:
    return (row.get("info") or {}).get("kind") == "database"


def check_filename(name: str) -> str:
    """An uploaded or requested file name: a plain name, never a path."""
    if (not isinstance(name, str) or not name or name in (".", "..") or name.startswith(".")
            or any(c in name for c in "/\\\x00") or len(name) > 200):
        raise ServiceError(400, f"file name {name!r} is not allowed: give a plain name, not a path")
    return name


def _id(p: dict, key: str, kind: str, hint: str = "") -> str:
    value = p.get(key)
    if value is None:
        raise ServiceError(400, f"{kind} job: '{key}' is required" + (f" ({hint})" if hint else ""))
    if not valid_id(value):
        raise ServiceError(404 if isinstance(value, str) else 400, f"{key} id {value!r} is not valid")
    return value


def _integer(p: dict, key: str, kind: str, low: int) -> None:
    value = p[key]
    if isinstance(value, bool) or not isinstance(value, int) or value < low:
        raise ServiceError(400, f"{kind} job: {key} must be a whole number >= {low}, got {value!r}")


def _number(p: dict, key: str, kind: str) -> None:
    value = p[key]
    if isinstance(value, bool) or not isinstance(value, (int, float)) or value <= 0:
        raise ServiceError(400, f"{kind} job: {key} must be a number > 0, got {value!r}")


def _cell(value):
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    return str(value)


def _close_and_remove(state: dict, dest: Path) -> None:
    if state.get("out") is not None:
        state["out"].close()
    if dest.exists():
        dest.unlink()

