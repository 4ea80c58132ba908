"""Whole databases in the service: a thin shell over ``lookalike.relational``.

- A source is a SQLAlchemy URL (a SQLite file inside the workspace, or a PostgreSQL server) or an uploaded zip
  of CSV/Parquet files, one per table, unpacked here with the checks a zip from a stranger needs (no absolute
  paths, no ``..``, no links, a bounded number of files and of unpacked bytes).
- A password never reaches a job's row, a message or a response: the job keeps the URL with the password masked
  (``***``); the real URL waits in ``WORKSPACE/secrets/<job id>`` (owner-only), which the job's worker reads and
  deletes as it starts, and which a cancel, a delete or a restart removes.
- ``fit_db_job`` and ``sample_db_job`` run in the job's process, as the other runners in ``worker.py``.
"""
from __future__ import annotations

import os
import shutil
import stat
import zipfile
from pathlib import Path, PurePosixPath

from lookalike.errors import LookalikeError

DB_BACKENDS = ("sqlite", "postgresql")
DB_FORMATS = ("csv", "parquet", "sqlite")
TABLE_SUFFIXES = (".csv", ".parquet", ".pq")
MAX_ZIP_FILES = 200
MAX_SCALE = 100.0
UNPACK_FACTOR = 20
"""The tables unpacked from a zip may take at most this many times the upload limit."""


class UnsafeUpload(ValueError):
    """A zip the service refuses to unpack; the message is one line for the user."""


# ------------------------------------------------------------------------------------------------ URLs
def check_url(url, workspace: Path) -> tuple[str, str]:
    """Check a database URL given to the service. Returns (the URL to connect with, the URL with its password
    masked). SQLite files must lie inside the workspace (relative paths are read from it), and may not be the
    service's own database; other backends than SQLite and PostgreSQL are refused. Raises ValueError with a
    message that never holds the password."""
    import sqlalchemy as sa

    if not isinstance(url, str) or "://" not in url:
        raise ValueError("url must be a database URL such as sqlite:///bank.db or postgresql://user:password@host/db")
    try:
        parsed = sa.engine.make_url(url)
    except Exception:
        raise ValueError("url is not a valid database URL (e.g. sqlite:///bank.db, "
                         "postgresql://user:password@host/db)") from None
    backend = parsed.get_backend_name()
    if backend not in DB_BACKENDS:
        raise ValueError(f"url: the service reads SQLite files in its workspace and PostgreSQL servers, "
                         f"not {backend!r}")
    if backend == "sqlite":
        if not parsed.database or parsed.database == ":memory:" or parsed.database.startswith("file:"):
            raise ValueError("url: give a SQLite file inside the workspace, e.g. sqlite:///bank.db")
        path = Path(parsed.database)
        path = (path if path.is_absolute() else workspace / path).resolve()
        root = workspace.resolve()
        if not path.is_relative_to(root):
            raise ValueError(f"url: SQLite files are read only inside the workspace ({root})")
        if path == root / "lookalike.db" or path.name.startswith("lookalike.db-") or path.is_relative_to(root / "secrets"):
            raise ValueError("url: that file is the service's own state, not a database to learn")
        if not path.is_file():
            raise ValueError(f"url: database file {path.relative_to(root)} not found in the workspace")
        parsed = parsed.set(database=str(path))
    real = parsed.render_as_string(hide_password=False)
    return real, mask(real)


def mask(url: str) -> str:
    import sqlalchemy as sa

    try:
        return sa.engine.make_url(url).render_as_string(hide_password=True)
    except Exception:
        return "(a database URL)"


def scrub(message: str, url: str | None) -> str:
    """``message`` with every trace of ``url``'s password replaced by ***."""
    if not url:
        return message
    import sqlalchemy as sa
    from urllib.parse import quote

    message = message.replace(url, mask(url))
    try:
        password = sa.engine.make_url(url).password
    except Exception:
        return message
    if password:
        for form in {str(password), quote(str(password), safe="")}:
            message = message.replace(f":{form}@", ":***@")
            if len(form) >= 4:
                message = message.replace(form, "***")
    return message


def secret_file(workspace: Path, job_id: str) -> Path:
    return Path(workspace) / "secrets" / job_id


def put_secret(workspace: Path, job_id: str, url: str) -> None:
    folder = Path(workspace) / "secrets"
    folder.mkdir(mode=0o700, exist_ok=True)
    fd = os.open(secret_file(workspace, job_id), os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        f.write(url)


def take_secret(workspace: Path, job_id: str) -> str | None:
    path = secret_file(workspace, job_id)
    try:
        url = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return None
    drop_secret(workspace, job_id)
    return url


def drop_secret(workspace: Path, job_id: str) -> None:
    try:
        secret_file(workspace, job_id).unlink()
    except FileNotFoundError:
        pass


# ------------------------------------------------------------------------------------------------ zips
def unpack_tables(archive: Path, dest: Path, max_bytes: int, max_files: int = MAX_ZIP_FILES) -> list[str]:
    """Unpack the CSV/Parquet files of a zip flat into ``dest`` (which must not exist); returns their names.
    Refuses (UnsafeUpload) absolute paths, ``..``, links, device files, too many entries, duplicate table
    names, other file types and more than ``max_bytes`` unpacked. Folders inside the zip are flattened;
    macOS's ``__MACOSX`` and hidden files are skipped. Nothing is left behind on refusal."""
    try:
        zf = zipfile.ZipFile(archive)
    except (zipfile.BadZipFile, OSError):
        raise UnsafeUpload("not a zip file: upload a .zip of CSV or Parquet files, one per table") from None
    with zf:
        infos = zf.infolist()
        if len(infos) > max_files:
            raise UnsafeUpload(f"the zip has {len(infos)} entries; at most {max_files} are accepted")
        wanted: dict[str, zipfile.ZipInfo] = {}
        for info in infos:
            raw = info.filename
            name = raw.replace("\\", "/")
            parts = PurePosixPath(name).parts
            if name.startswith("/") or (len(name) > 1 and name[1] == ":") or "\x00" in name:
                raise UnsafeUpload(f"zip entry {raw!r}: absolute paths are refused")
            if ".." in parts:
                raise UnsafeUpload(f"zip entry {raw!r}: '..' in a path is refused")
            mode = (info.external_attr >> 16) & 0xFFFF
            if stat.S_ISLNK(mode):
                raise UnsafeUpload(f"zip entry {raw!r}: links are refused")
            if info.is_dir():
                continue
            if stat.S_IFMT(mode) not in (0, stat.S_IFREG):  # no type bits: a plain file, as most zips write
                raise UnsafeUpload(f"zip entry {raw!r}: only plain files are accepted")
            if not parts or parts[0] == "__MACOSX" or any(p.startswith(".") for p in parts):
                continue
            base = parts[-1]
            if Path(base).suffix.lower() not in TABLE_SUFFIXES:
                raise UnsafeUpload(f"zip entry {raw!r}: not a CSV or Parquet file; the zip holds one table per file")
            if base in wanted:
                raise UnsafeUpload(f"zip entry {raw!r}: two files named {base!r}")
            wanted[base] = info
        if not wanted:
            raise UnsafeUpload("the zip holds no CSV or Parquet files")
        if sum(i.file_size for i in wanted.values()) > max_bytes:
            raise UnsafeUpload(f"the zip's tables unpack to more than {max_bytes:,} bytes")
        dest.mkdir(parents=True)
        total = 0
        try:
            for base, info in wanted.items():
                with zf.open(info) as src, open(dest / base, "wb") as out:
                    while chunk := src.read(1 << 20):
                        total += len(chunk)
                        if total > max_bytes:  # sizes in the zip's directory may lie
                            raise UnsafeUpload(f"the zip's tables unpack to more than {max_bytes:,} bytes")
                        out.write(chunk)
        except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, EOFError, NotImplementedError) as exc:
            shutil.rmtree(dest, ignore_errors=True)
            raise UnsafeUpload(f"the zip cannot be read ({type(exc).__name__})") from None
        except BaseException:
            shutil.rmtree(dest, ignore_errors=True)
            raise
    return sorted(wanted)


# ------------------------------------------------------------------------------------------------ runners
def fit_db_job(store, job: dict, progress):
    """Learn a database (a URL, or an uploaded folder of tables) and keep its model."""
    from lookalike.relational.synthesizer import DatabaseSynthesizer
    from lookalike.service.store import new_id

    p = job["params"]
    real = None
    if p.get("database"):
        row = store.one("databases", p["database"])
        if row is None:
            raise LookalikeError(f"database {p['database']} not found")
        source, label = str(store.database_dir(row["id"])), row["name"]
    else:
        real = take_secret(store.workspace, job["id"]) or p["url"]
        source, label = real, p["url"]
    model = p.get("model", "auto")
    try:
        progress(0.01, "reading the database")
        db = DatabaseSynthesizer(model=model, seed=p.get("seed", 0), max_time=p.get("max_time"),
                                 max_epochs=p.get("max_epochs"), orphans=p.get("orphans", "keep"))
        db.fit(source, tables=p.get("tables"), progress=lambda f, m: progress(0.02 + 0.95 * f, m))
        progress(0.98, "saving the model")
        model_id = new_id()
        target = store.model_file(model_id)
        target.parent.mkdir(parents=True)
        db.save(target)
    except LookalikeError as exc:
        raise LookalikeError(scrub(str(exc).replace(source, label) if not real else str(exc), real)) from None
    except Exception as exc:  # one line, and never the password
        raise LookalikeError(scrub(f"unexpected error: {type(exc).__name__}: {exc}", real)) from None
    tables = {name: int(db.plans_[name].n_rows) for name in db.order_}
    notes = [scrub(n, real) for n in db.notes_]
    result = {"model": model_id, "tables": tables, "rows": sum(tables.values()), "notes": notes}
    model_row = dict(id=model_id, name=f"{label} (database, {model})", generator=f"database ({model})",
                     dataset=None, job=job["id"],
                     info={"kind": "database", "tables": tables, "rows": sum(tables.values()), "source": label,
                           "seed": p.get("seed", 0)})
    return result, model_row


def load_database_model(path: Path):
    from lookalike.relational.synthesizer import DatabaseSynthesizer

    return DatabaseSynthesizer.load(path)


def is_database_model(path: Path) -> bool:
    from lookalike.model_file import model_file_header

    return model_file_header(path) == "database.json"


def sample_db_job(store, job: dict, progress):
    """A synthetic database from a database model: a zip of CSV (or Parquet) files, or one SQLite file."""
    from lookalike.io import atomic_path
    from lookalike.io.sql import write_database, write_folder

    p = job["params"]
    if store.one("models", p["model"]) is None:
        raise LookalikeError(f"model {p['model']} not found")
    progress(0.02, "loading the model")
    db = load_database_model(store.model_file(p["model"]))
    progress(0.1, f"sampling {len(db.order_)} tables")
    tables = db.sample(scale=float(p.get("scale", 1.0)), seed=p.get("seed"))
    progress(0.8, "writing")
    folder = store.job_dir(job["id"])
    folder.mkdir(exist_ok=True)
    fmt = p.get("format", "csv")
    if fmt == "sqlite":
        name = "synthetic.db"
        write_database(tables, f"sqlite:///{folder / name}", db.schema_, db.ddl_, order=db.order_)
    else:
        name = "synthetic.zip"
        scratch = folder / ".tables"
        shutil.rmtree(scratch, ignore_errors=True)
        try:
            write_folder(tables, scratch, fmt=fmt)
            with atomic_path(folder / name) as tmp:
                with zipfile.ZipFile(tmp, "w", compression=zipfile.ZIP_DEFLATED) as zf:
                    for table in db.order_:
                        zf.write(scratch / f"{table}.{fmt}", f"{table}.{fmt}")
        finally:
            shutil.rmtree(scratch, ignore_errors=True)
    counts = {t: int(len(df)) for t, df in tables.items()}
    return {"output": name, "tables": counts, "rows": sum(counts.values()), "format": fmt}, None
