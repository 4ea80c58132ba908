"""Read and write tables by file extension; writes are atomic and never overwrite unless asked."""
from __future__ import annotations

import os
import tempfile
from contextlib import contextmanager
from pathlib import Path
from typing import Iterable, Iterator

import pandas as pd

from lookalike.errors import LookalikeError
from lookalike.io.dialect import read_csv, write_csv, write_csv_batch

READ_FORMATS = {".csv": "CSV", ".parquet": "Parquet", ".pq": "Parquet", ".xlsx": "Excel", ".xls": "Excel"}
WRITE_FORMATS = {".csv": "CSV", ".parquet": "Parquet", ".pq": "Parquet"}


def read_table(path: str | os.PathLike) -> pd.DataFrame:
    """Read a CSV, Parquet or Excel file; every failure names the file.

    CSV files are read in their sniffed dialect (delimiter, decimal mark, thousands separator, encoding),
    which is attached as ``df.attrs["csv_dialect"]`` so the output can be written the same way.
    """
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in READ_FORMATS:
        raise LookalikeError(
            f"{path}: unsupported file type '{suffix or '(none)'}'; use one of {', '.join(sorted(READ_FORMATS))}"
        )
    if not path.exists():
        raise LookalikeError(f"{path}: file not found")
    if path.is_dir():
        raise LookalikeError(f"{path}: is a directory, expected a {READ_FORMATS[suffix]} file")
    try:
        if suffix == ".csv":
            df = read_csv(path)
        elif suffix in (".parquet", ".pq"):
            df = pd.read_parquet(path)
        else:
            df = pd.read_excel(path)
    except pd.errors.EmptyDataError:
        raise LookalikeError(f"{path}: the file is empty") from None
    except PermissionError:
        raise LookalikeError(f"{path}: permission denied") from None
    except LookalikeError:
        raise
    except Exception as exc:  # parser errors differ by format; keep the file name in front
        raise LookalikeError(f"{path}: cannot read {READ_FORMATS[suffix]} file ({exc})") from None
    if df.shape[1] == 0:
        raise LookalikeError(f"{path}: the file has no columns")
    if len(df) == 0:
        raise LookalikeError(f"{path}: the table has a header but no rows")
    return df


def check_writable(path: str | os.PathLike, force: bool = False, formats: dict = WRITE_FORMATS) -> Path:
    """Fail early (before any expensive work) if ``path`` cannot or must not be written."""
    path = Path(path)
    if formats is not None and path.suffix.lower() not in formats:
        raise LookalikeError(
            f"{path}: unsupported output type '{path.suffix or '(none)'}'; use one of {', '.join(sorted(formats))}"
        )
    if path.exists() and not force:
        raise LookalikeError(f"{path}: already exists; pass --force to overwrite it")
    if path.is_dir():
        raise LookalikeError(f"{path}: is a directory")
    check_parent_writable(path)
    return path


def check_parent_writable(path: Path) -> None:
    """The folder ``path`` would be created in exists and can be written (a file's or an output folder's)."""
    parent = path.parent if str(path.parent) else Path(".")
    if not parent.is_dir():
        raise LookalikeError(f"{path}: folder {parent} does not exist")
    if not os.access(parent, os.W_OK):
        raise LookalikeError(f"{path}: folder {parent} is not writable")


def check_output_folder(folder: str | os.PathLike, names: Iterable[str], fmt: str,
                        force: bool = False) -> dict[str, Path]:
    """Fail early if a folder of tables (``folder/<name>.<fmt>``) cannot or must not be written; its paths."""
    folder = Path(folder)
    if folder.exists():
        if not folder.is_dir():
            raise LookalikeError(f"{folder}: exists and is not a folder")
        if not os.access(folder, os.W_OK):
            raise LookalikeError(f"{folder}: folder is not writable")
    else:
        check_parent_writable(folder)
    paths = {name: folder / f"{name}.{fmt}" for name in names}
    for path in paths.values():
        if path.exists() and not force:
            raise LookalikeError(f"{path}: already exists; pass --force to overwrite it")
    return paths


def temp_beside(path: Path) -> Path:
    """An empty temporary file in ``path``'s folder (same file system, so it can be renamed into place)."""
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(fd)
    umask = os.umask(0)
    os.umask(umask)
    os.chmod(tmp, 0o666 & ~umask)  # mkstemp makes 0600; outputs get the permissions of a normal file
    return Path(tmp)


@contextmanager
def atomic_path(path: str | os.PathLike, force: bool = False) -> Iterator[Path]:
    """Yield a temporary path beside ``path``; rename it into place only if the block succeeds."""
    path = check_writable(path, force=force, formats=None)
    tmp_path = temp_beside(path)
    try:
        yield tmp_path
        if path.exists() and not force:  # appeared while we worked
            raise LookalikeError(f"{path}: already exists; pass --force to overwrite it")
        os.replace(tmp_path, path)
    finally:
        if tmp_path.exists():
            tmp_path.unlink()


def write_table(df: pd.DataFrame, path: str | os.PathLike, force: bool = False, dialect: dict | None = None) -> Path:
    """Write CSV or Parquet atomically (temp file, then rename).

    ``dialect`` (CSV only; e.g. ``df.attrs["csv_dialect"]`` of a table read by ``read_table``) sets the
    delimiter, decimal mark, encoding, BOM and line ends; None writes pandas' default CSV.
    """
    path = check_writable(path, force=force)
    with atomic_path(path, force=force) as tmp:
        if path.suffix.lower() == ".csv":
            write_csv(df, tmp, dialect)
        else:
            df.to_parquet(tmp, index=False)
    return path


def write_batches(batches: Iterable[pd.DataFrame], path: str | os.PathLike, force: bool = False,
                  dialect: dict | None = None) -> Path:
    """Stream DataFrames of one table to CSV or Parquet (bounded memory), atomically like ``write_table``.

    Parquet takes the first batch's schema and casts later batches to it; CSV writes the header once, in
    ``dialect``."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    path = check_writable(path, force=force)
    parquet = path.suffix.lower() in (".parquet", ".pq")
    with atomic_path(path, force=force) as tmp:
        writer = None
        try:
            for i, df in enumerate(batches):
                if parquet:
                    table = pa.Table.from_pandas(df, preserve_index=False)
                    if writer is None:
                        writer = pq.ParquetWriter(tmp, table.schema)
                    writer.write_table(table.cast(writer.schema))
                else:
                    write_csv_batch(df, tmp, first=i == 0, dialect=dialect)
        finally:
            if writer is not None:
                writer.close()
    return path
