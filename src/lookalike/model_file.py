"""The one container every saved model uses: a zip holding a JSON header and named binary members.

A model file is data, not code: JSON plus raw bytes (safetensors weights, inner model files, Parquet reference
tables). Reading it never executes anything. Writing is atomic and never overwrites without ``force``.
"""
from __future__ import annotations

import json
import zipfile
from pathlib import Path
from typing import Callable

import numpy as np
import pandas as pd

from lookalike import __version__
from lookalike.errors import LookalikeError
from lookalike.io.files import atomic_path

HEADERS = ("model.json", "sequence.json", "database.json")  # one per kind of model, named by its header


def write_model_file(path: str | Path, header: str, fmt: str, version: int, meta: dict,
                     members: dict[str, bytes], force: bool = False) -> Path:
    """Write ``meta`` (stamped with the format, its version and lookalike's version) and ``members``."""
    meta = {"format": fmt, "format_version": version, "lookalike_version": __version__, **meta}
    with atomic_path(path, force=force) as tmp:
        with zipfile.ZipFile(tmp, "w", compression=zipfile.ZIP_DEFLATED) as zf:
            zf.writestr(header, json.dumps(meta, default=json_default))
            for name, data in members.items():
                zf.writestr(name, data)
    return Path(path)


def model_file_header(path: str | Path) -> str | None:
    """Which kind of model file ``path`` is (its JSON header's name), or None if it is not one."""
    try:
        with zipfile.ZipFile(path) as zf:
            names = set(zf.namelist())
    except (zipfile.BadZipFile, OSError):
        return None
    return next((h for h in HEADERS if h in names), None)


def read_model_file(path: str | Path, header: str, fmt: str, version: int, what: str,
                    members: Callable[[str], bool] = lambda name: True) -> tuple[dict, dict[str, bytes]]:
    """The header and the members ``members`` selects; a clear error naming ``path`` for anything else.

    ``what`` names the expected file in errors ("a lookalike model file (fit one with `lookalike fit`)")."""
    path = Path(path)
    if not path.exists():
        raise LookalikeError(f"{path}: model file not found")
    try:
        with zipfile.ZipFile(path) as zf:
            meta = json.loads(zf.read(header))
            blobs = {name: zf.read(name) for name in zf.namelist() if name != header and members(name)}
    except (zipfile.BadZipFile, KeyError, json.JSONDecodeError, UnicodeDecodeError, IsADirectoryError):
        raise LookalikeError(f"{path}: not {what}") from None
    if not isinstance(meta, dict) or meta.get("format") != fmt:
        raise LookalikeError(f"{path}: not {what}")
    if meta.get("format_version", 0) > version:
        raise LookalikeError(f"{path}: written by a newer lookalike ({meta.get('lookalike_version')}); "
                             f"upgrade lookalike to read it")
    return meta, blobs


def json_default(o):
    """NumPy and pandas scalars and arrays in a model file's JSON; anything else is refused."""
    if isinstance(o, np.generic):
        return o.item()
    if isinstance(o, np.ndarray):
        return o.tolist()
    if isinstance(o, pd.Timestamp):
        return o.isoformat()
    raise TypeError(f"cannot store {type(o).__name__} in a model file")
