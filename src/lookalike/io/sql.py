"""SQL databases and folders of tables: reflection, the same DDL on the way out, all-or-nothing writes.

- :func:`reflect` reads tables, column types, nullability, primary keys, foreign keys, unique constraints
  and indexes through SQLAlchemy's inspector (SQLite, PostgreSQL, anything SQLAlchemy speaks).
- The DDL travels as plain JSON (``{table: {columns: [{name, type: {name, length, precision, scale}, nullable}],
  primary_key, foreign_keys, unique, indexes}}``): types are reduced to SQLAlchemy's generic types, so a
  SQLite database can be written to PostgreSQL and back. Types are rebuilt from a fixed list, never evaluated.
- :func:`write_database` creates every table and loads every row in **one transaction**. SQLite databases
  are written to a temporary file renamed into place; on PostgreSQL a failure rolls the whole transaction
  back (DDL included), so a failure leaves nothing. An existing target (file, or tables of the same names)
  is never replaced without ``force``.
- :func:`write_folder` writes one file per table into a temporary folder, renamed into place.

IO knows nothing about models.
"""
from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

import pandas as pd
import sqlalchemy as sa
from sqlalchemy import exc as sa_exc

from lookalike.errors import LookalikeError
from lookalike.io.files import READ_FORMATS, check_parent_writable, check_writable, read_table

# generic SQLAlchemy types we rebuild (name -> class); anything else becomes Text
TYPES = {name: getattr(sa.types, name) for name in (
    "Integer", "BigInteger", "SmallInteger", "String", "Text", "Unicode", "UnicodeText", "Numeric", "Float",
    "Double", "Date", "DateTime", "Time", "Boolean", "LargeBinary", "Interval", "Uuid", "JSON")
    if hasattr(sa.types, name)}


def is_url(source) -> bool:
    return isinstance(source, str) and "://" in source


def safe_url(url: str) -> str:
    try:
        return sa.engine.make_url(url).render_as_string(hide_password=True)
    except Exception:
        return "(invalid URL)"


def _sqlite_path(url: sa.engine.URL) -> Path | None:
    if url.get_backend_name() != "sqlite":
        return None
    if not url.database or url.database == ":memory:":
        raise LookalikeError("an in-memory SQLite URL has nothing to read or keep; give a file: sqlite:///path.db")
    return Path(url.database)


def connect(url: str, must_exist: bool = True) -> sa.engine.Engine:
    """An engine that has connected once; one clear line for bad URLs, missing drivers, refused or denied
    connections and missing SQLite files."""
    try:
        parsed = sa.engine.make_url(url)
    except sa_exc.ArgumentError:
        raise LookalikeError(f"{url!r} is not a database URL (e.g. sqlite:///bank.db, "
                             f"postgresql://user:password@host/db)") from None
    path = _sqlite_path(parsed)
    if path is not None and must_exist and not path.exists():
        raise LookalikeError(f"{safe_url(url)}: database file {path} not found")
    try:
        engine = sa.create_engine(parsed)
    except (sa_exc.NoSuchModuleError, ModuleNotFoundError, ImportError) as exc:
        raise LookalikeError(f"{safe_url(url)}: no driver for this database ({exc}); for PostgreSQL "
                             f"install psycopg: pip install 'psycopg[binary]'") from None
    try:
        with engine.connect():
            pass
    except sa_exc.DBAPIError as exc:
        reason = str(getattr(exc, "orig", exc)).strip().splitlines()
        reason = reason[0] if reason else type(exc).__name__
        raise LookalikeError(f"cannot connect to {safe_url(url)}: {reason}") from None
    return engine


# -- reflection -------------------------------------------------------------------------------------
def _type_to_json(t) -> dict:
    try:
        g = t.as_generic()
    except NotImplementedError:
        g = sa.types.Text()
    name = type(g).__name__
    if name not in TYPES:
        name = "Text"
    out = {"name": name}
    for attr in ("length", "precision", "scale", "timezone"):
        v = getattr(g, attr, None)
        if isinstance(v, (int, bool)) and v is not None:
            out[attr] = v
    if name == "Float":
        out.pop("precision", None)
    return out


def _type_from_json(d: dict):
    cls = TYPES.get(d.get("name"), sa.types.Text)
    kwargs = {k: d[k] for k in ("length", "precision", "scale", "timezone") if k in d}
    try:
        return cls(**kwargs)
    except TypeError:
        return cls()


def reflect(url: str, tables: list[str] | None = None) -> tuple[dict[str, pd.DataFrame], dict, list[str]]:
    """Read ``tables`` (all when None) with their DDL. Returns (data, ddl, notes)."""
    engine = connect(url)
    notes: list[str] = []
    try:
        insp = sa.inspect(engine)
        names = insp.get_table_names()
        if not names:
            raise LookalikeError(f"{safe_url(url)}: the database has no tables")
        if tables:
            unknown = [t for t in tables if t not in names]
            if unknown:
                raise LookalikeError(f"unknown table(s) {', '.join(unknown)} in {safe_url(url)}; "
                                     f"it has: {', '.join(names)}")
            names = [t for t in names if t in tables]
        ddl: dict = {}
        for name in names:
            cols = insp.get_columns(name)
            pk = insp.get_pk_constraint(name).get("constrained_columns") or []
            fks = []
            for fk in insp.get_foreign_keys(name):
                if fk["referred_table"] not in names:
                    notes.append(f"table '{name}': foreign key {fk['constrained_columns']} to "
                                 f"'{fk['referred_table']}' ignored (that table is not selected)")
                    continue
                fks.append({"columns": fk["constrained_columns"], "references": fk["referred_table"],
                            "referenced_columns": fk["referred_columns"], "name": fk.get("name")})
            uniques = [u["column_names"] for u in insp.get_unique_constraints(name)]
            raw = insp.get_indexes(name, include_auto_indexes=True) if engine.dialect.name == "sqlite" else \
                insp.get_indexes(name)
            indexes = []
            for i in raw:
                if any(c is None for c in i["column_names"]) or i.get("duplicates_constraint"):
                    continue
                if str(i["name"]).startswith("sqlite_autoindex"):  # SQLite's inline UNIQUE columns
                    if i["column_names"] != list(pk) and i["column_names"] not in uniques:
                        uniques.append(i["column_names"])
                    continue
                indexes.append({"name": i["name"], "columns": i["column_names"], "unique": bool(i.get("unique"))})
            ddl[name] = {"columns": [{"name": c["name"], "type": _type_to_json(c["type"]),
                                      "nullable": bool(c.get("nullable", True))} for c in cols],
                         "primary_key": list(pk), "foreign_keys": fks, "unique": uniques, "indexes": indexes}
        data = {}
        with engine.connect() as conn:
            for name in names:
                df = pd.read_sql_table(name, conn)
                if len(df) == 0:
                    raise LookalikeError(f"table '{name}' in {safe_url(url)} has no rows; leave it out with --tables")
                for c in ddl[name]["columns"]:  # dates stored as text (SQLite) become dates
                    if c["type"]["name"] in ("Date", "DateTime") and df[c["name"]].dtype == object:
                        df[c["name"]] = pd.to_datetime(df[c["name"]], errors="coerce")
                data[name] = df
    finally:
        engine.dispose()
    return data, ddl, notes


def ddl_from_frames(tables: dict[str, pd.DataFrame], keys: dict[str, dict]) -> dict:
    """DDL for tables that came without one (files, DataFrames): types from dtypes, NOT NULL where no value
    is missing, keys from ``keys`` ({table: {primary_key, foreign_keys}})."""
    ddl = {}
    for name, df in tables.items():
        cols = []
        for c in df.columns:
            s = df[c]
            if pd.api.types.is_bool_dtype(s):
                t = {"name": "Boolean"}
            elif pd.api.types.is_integer_dtype(s):
                t = {"name": "BigInteger"}
            elif pd.api.types.is_float_dtype(s):
                t = {"name": "Float"}
            elif pd.api.types.is_datetime64_any_dtype(s):
                t = {"name": "DateTime"}
            else:
                t = {"name": "Text"}
            cols.append({"name": str(c), "type": t, "nullable": bool(s.isna().any())})
        k = keys.get(name, {})
        ddl[name] = {"columns": cols, "primary_key": list(k.get("primary_key") or []),
                     "foreign_keys": list(k.get("foreign_keys") or []), "unique": [], "indexes": []}
    return ddl


# -- writing ----------------------------------------------------------------------------------------
def _metadata(ddl: dict, order: list[str]) -> sa.MetaData:
    md = sa.MetaData()
    for name in order:
        spec = ddl[name]
        pk = set(spec.get("primary_key") or [])
        items = [sa.Column(c["name"], _type_from_json(c["type"]), nullable=c["nullable"] and c["name"] not in pk,
                           primary_key=c["name"] in pk, autoincrement=False) for c in spec["columns"]]
        for fk in spec.get("foreign_keys", []):
            ref = fk.get("referenced_columns") or ddl[fk["references"]]["primary_key"]
            items.append(sa.ForeignKeyConstraint(fk["columns"], [f"{fk['references']}.{c}" for c in ref]))
        for u in spec.get("unique", []):
            items.append(sa.UniqueConstraint(*u))
        sa.Table(name, md, *items)
        for ix in spec.get("indexes", []):
            sa.Index(ix["name"], *[md.tables[name].c[c] for c in ix["columns"]], unique=ix["unique"])
    return md


def _prepared(df: pd.DataFrame, spec: dict) -> pd.DataFrame:
    df = df.copy()
    for c in spec["columns"]:
        t = c["type"]["name"]
        if c["name"] not in df.columns:
            continue
        s = df[c["name"]]
        if t in ("Date", "DateTime"):
            s = pd.to_datetime(s, errors="coerce")
            df[c["name"]] = s.dt.date if t == "Date" else s
            df[c["name"]] = df[c["name"]].astype(object).where(s.notna(), None)
        elif t == "Boolean":
            df[c["name"]] = s.map(lambda v: None if pd.isna(v) else str(v).lower() in ("true", "1", "1.0", "yes"))
        elif t in ("Integer", "BigInteger", "SmallInteger"):
            num = pd.to_numeric(s, errors="coerce")
            if num.notna().sum() == s.notna().sum():
                df[c["name"]] = num.round().astype("Int64")
        elif t in ("String", "Text", "Unicode", "UnicodeText"):
            df[c["name"]] = s.astype(object).where(s.notna(), None).map(
                lambda v: v if v is None or isinstance(v, str) else str(v))
    return df


def _items(tables):
    """``(name, DataFrame)`` pairs from a dict or from a stream of pairs (each table used once, then freed)."""
    return tables.items() if isinstance(tables, dict) else tables


def _load(conn, md: sa.MetaData, tables, ddl: dict, order: list[str]) -> None:
    md.create_all(conn)
    for name, frame in _items(tables):  # parents first: as the stream comes, or in ``order`` for a dict
        if name not in ddl:
            raise LookalikeError(f"table '{name}' is not one of the tables to write ({', '.join(order)})")
        df = _prepared(frame, ddl[name])
        columns = [c["name"] for c in ddl[name]["columns"]]
        records = df[columns].astype(object).where(df[columns].notna(), None).to_dict("records")
        for start in range(0, len(records), 10_000):
            chunk = records[start:start + 10_000]
            if chunk:
                conn.execute(md.tables[name].insert(), chunk)


def write_database(tables, url: str, schema=None, ddl: dict | None = None,
                   force: bool = False, order: list[str] | None = None) -> str:
    """Create the tables with ``ddl`` and load every row in one transaction; all or nothing. ``tables``:
    {name: DataFrame}, or a stream of (name, DataFrame) pairs, parents first (then ``ddl`` and ``order`` are
    needed), written as they come."""
    if not isinstance(tables, dict) and (ddl is None or order is None):
        raise LookalikeError("writing a stream of tables needs their DDL and order")
    order = order or list(tables)
    ddl = ddl or ddl_from_frames(tables, _keys_of(schema) if schema is not None else {})
    if isinstance(tables, dict):
        tables = {name: tables[name] for name in order}  # parents first
    try:
        parsed = sa.engine.make_url(url)
    except sa_exc.ArgumentError:
        raise LookalikeError(f"{url!r} is not a database URL") from None
    path = _sqlite_path(parsed)
    md = _metadata(ddl, order)
    if path is not None:
        check_writable(path, force=force, formats=None)
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
        os.close(fd)
        os.unlink(tmp)
        engine = sa.create_engine(parsed.set(database=tmp))
        try:
            with engine.begin() as conn:
                _load(conn, md, tables, ddl, order)
            engine.dispose()
            if path.exists() and not force:
                raise LookalikeError(f"{path}: already exists; pass --force to overwrite it")
            os.replace(tmp, path)
        except sa_exc.DBAPIError as exc:
            raise LookalikeError(f"writing {path} failed, nothing was written: {str(exc.orig).splitlines()[0]}") from None
        finally:
            engine.dispose()
            if os.path.exists(tmp):
                os.unlink(tmp)
        return str(path)
    engine = connect(url)
    try:
        existing = set(sa.inspect(engine).get_table_names())
        clash = [t for t in order if t in existing]
        if clash and not force:
            raise LookalikeError(f"{safe_url(url)} already has table(s) {', '.join(clash)}; pass --force to "
                                 f"replace them")
        try:
            with engine.begin() as conn:  # one transaction: DDL and rows (PostgreSQL's DDL is transactional)
                if clash:
                    old = sa.MetaData()
                    old.reflect(conn, only=clash)
                    old.drop_all(conn)
                _load(conn, md, tables, ddl, order)
        except sa_exc.DBAPIError as exc:
            raise LookalikeError(f"writing to {safe_url(url)} failed and was rolled back, nothing was written: "
                                 f"{str(exc.orig).strip().splitlines()[0]}") from None
    finally:
        engine.dispose()
    return safe_url(url)


def _keys_of(schema) -> dict:
    out = {}
    for name, t in schema.tables.items():
        out[name] = {"primary_key": t.primary_key or [],
                     "foreign_keys": [{"columns": fk.columns, "references": fk.references,
                                       "referenced_columns": fk.referenced_columns} for fk in t.foreign_keys]}
    return out


# -- folders ----------------------------------------------------------------------------------------
def read_folder(path: str | os.PathLike, tables: list[str] | None = None) -> dict[str, pd.DataFrame]:
    """One table per CSV/Parquet file (named by the file's stem)."""
    path = Path(path)
    if not path.is_dir():
        raise LookalikeError(f"{path}: not a folder, a database URL or a model file")
    files = sorted(p for p in path.iterdir() if p.suffix.lower() in READ_FORMATS and not p.name.startswith("."))
    if not files:
        raise LookalikeError(f"{path}: no CSV or Parquet files in this folder")
    found = {p.stem: p for p in files}
    if tables:
        unknown = [t for t in tables if t not in found]
        if unknown:
            raise LookalikeError(f"unknown table(s) {', '.join(unknown)} in {path}; it has: {', '.join(found)}")
        found = {t: found[t] for t in tables}
    return {name: read_table(p) for name, p in found.items()}


def write_folder(tables, path: str | os.PathLike, force: bool = False, fmt: str = "csv") -> Path:
    """One file per table, written into a temporary folder that is renamed into place. ``tables``: {name:
    DataFrame} or a stream of (name, DataFrame) pairs, each written as it comes."""
    path = Path(path)
    if fmt not in ("csv", "parquet"):
        raise LookalikeError(f"format must be csv or parquet, got {fmt!r}")
    if path.exists() and not force:
        raise LookalikeError(f"{path}: already exists; pass --force to overwrite it")
    check_parent_writable(path)
    parent = path.parent if str(path.parent) else Path(".")
    tmp = Path(tempfile.mkdtemp(prefix=f".{path.name}.", dir=parent))
    try:
        for name, df in _items(tables):
            target = tmp / f"{name}.{fmt}"
            if fmt == "csv":
                df.to_csv(target, index=False)
            else:
                df.to_parquet(target, index=False)
        if path.exists():
            old = Path(tempfile.mkdtemp(prefix=f".{path.name}.old.", dir=parent))
            os.replace(path, old / path.name)
            os.replace(tmp, path)
            shutil.rmtree(old, ignore_errors=True)
        else:
            os.replace(tmp, path)
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)
    return path

