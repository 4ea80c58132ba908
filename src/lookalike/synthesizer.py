"""The user-facing object: schema + codecs + model, with scikit-learn's contract.

Parameters go in the constructor, work happens in ``fit``, learned state lives in attributes ending in ``_``.
A saved model is a zip of JSON and safetensors: data, not code, and no training rows.
"""
from __future__ import annotations

import io
import json
import zipfile
from pathlib import Path
from typing import Any, Callable

import numpy as np
import pandas as pd
from safetensors.numpy import load as load_tensors
from safetensors.numpy import save as save_tensors

from lookalike import __version__
from lookalike.encoding.table import TableEncoder
from lookalike.errors import LookalikeError
from lookalike.io.files import atomic_path
from lookalike.models import make_model, model_class
from lookalike.schema.columns import TableSchema
from lookalike.schema.infer import infer_schema

FORMAT = "lookalike-model"
FORMAT_VERSION = 1
Progress = Callable[[float, str], None]


class Synthesizer:
    """Learn a table, then sample lookalike rows from it.

    >>> syn = Synthesizer(model="auto", seed=0).fit(df)
    >>> fake = syn.sample(1_000, seed=7)
    """

    def __init__(self, model: str = "auto", seed: int = 0, max_epochs: int | None = None,
                 max_time: float | None = None, schema: TableSchema | dict | str | Path | None = None,
                 value_protection: bool = True, k: int = 5, verbose: bool = False):
        self.model = model
        self.seed = seed
        self.max_epochs = max_epochs
        self.max_time = max_time
        self.schema = schema
        self.value_protection = value_protection
        self.k = k
        self.verbose = verbose
        model_class(model)  # unknown names fail here, before any work

    # -- fit --------------------------------------------------------------------------------------
    def fit(self, df: pd.DataFrame, progress: Progress | None = None) -> "Synthesizer":
        if not isinstance(df, pd.DataFrame):
            raise LookalikeError(f"fit expects a pandas DataFrame, got {type(df).__name__}")
        self.schema_ = self._resolve_schema(df)
        if progress:
            progress(0.02, "encoding columns")
        self.encoder_ = TableEncoder(self.schema_, seed=self.seed).fit(df)
        tokens = self.encoder_.encode(df)
        self.model_ = make_model(self.model, seed=self.seed, max_epochs=self.max_epochs,
                                 max_time=self.max_time, verbose=self.verbose)
        sub = (lambda f, msg: progress(0.05 + 0.95 * f, msg)) if progress else None
        self.model_.fit(tokens, self.encoder_.cardinalities_, self.encoder_.groups_, progress=sub)
        self.n_rows_ = len(df)
        self.columns_ = list(df.columns)
        return self

    def _resolve_schema(self, df: pd.DataFrame) -> TableSchema:
        schema = self.schema
        if schema is None:
            schema = infer_schema(df, k=self.k)
        elif isinstance(schema, (str, Path)):
            schema = TableSchema.read(schema)
        elif isinstance(schema, dict):
            schema = TableSchema.from_dict(schema)
        unknown = [c for c in schema.names if c not in df.columns]
        if unknown:
            raise LookalikeError(f"the schema names columns the data lacks: {unknown}")
        extra = [c for c in df.columns if c not in schema.names]
        if extra:
            raise LookalikeError(f"the data has columns the schema does not describe: {extra}")
        if not self.value_protection:
            schema.value_protection = {"enabled": False, "k": 1}
        return schema

    # -- sample -----------------------------------------------------------------------------------
    def sample(self, n: int | None = None, seed: int | None = None, conditions: dict[str, Any] | None = None,
               rebalance: dict[str, dict[Any, float]] | None = None, seed_data: pd.DataFrame | None = None,
               progress: Progress | None = None) -> pd.DataFrame:
        """``n`` rows (default: as many as the training data).

        conditions: {column: value} fixed in every row. rebalance: {column: {value: share}} sets category
        shares. seed_data: a table of known cells (NaN = to be generated); one output row per seed row.
        """
        self._check_fitted()
        if seed_data is not None:
            n = len(seed_data)
        n = self.n_rows_ if n is None else n
        if not isinstance(n, (int, np.integer)) or isinstance(n, bool) or n <= 0:
            raise LookalikeError(f"the number of rows must be a positive integer, got {n!r}")
        seed = self.seed if seed is None else seed
        fixed = self._fixed_tokens(int(n), seed, conditions, rebalance, seed_data)
        kwargs = {"seed": seed, "fixed": fixed, "progress": progress}
        suppress = self._rare_tokens()
        if suppress:
            kwargs["suppress"] = suppress
        tokens = self.model_.sample(int(n), **kwargs)
        return self.encoder_.decode(tokens, seed=seed)

    def _rare_tokens(self) -> dict[int, list[int]]:
        """Sub-columns whose 'rare category' token must not be sampled (it would decode to a random category)."""
        out = {}
        for name, group in zip(self.encoder_.group_columns_, self.encoder_.groups_):
            rare = getattr(self.encoder_.codecs_[name], "rare_token", None)
            if rare is not None and self.encoder_.codecs_[name].cardinalities[0] > 1:
                out[group[0]] = [rare]
        return out

    def _fixed_tokens(self, n, seed, conditions, rebalance, seed_data) -> np.ndarray | None:
        if not conditions and not rebalance and seed_data is None:
            return None
        enc = self.encoder_
        fixed = np.full((n, len(enc.cardinalities_)), -1, dtype=np.int64)
        group_of = dict(zip(enc.group_columns_, enc.groups_))

        def learned_group(col: str) -> list[int]:
            if col not in self.schema_.names:
                raise LookalikeError(f"unknown column '{col}'; the table has: {', '.join(self.schema_.names)}")
            if col not in group_of:
                raise LookalikeError(
                    f"column '{col}' is {self.schema_[col].kind} and is generated, not learned; it cannot be fixed")
            return group_of[col]

        if seed_data is not None:
            for col in seed_data.columns:
                group = learned_group(col)
                known = seed_data[col].notna().to_numpy()
                self._check_values(col, seed_data[col][known])
                fixed[np.ix_(known, group)] = enc.codecs_[col].encode(
                    enc._prepare(self.schema_[col], seed_data[col][known]))
        for col, value in (conditions or {}).items():
            group = learned_group(col)
            values = pd.Series([value] * 1)
            self._check_values(col, values)
            fixed[:, group] = enc.codecs_[col].encode(enc._prepare(self.schema_[col], values))[0]
        for col, shares in (rebalance or {}).items():
            group = learned_group(col)
            fixed[:, group[0]] = self._rebalanced_tokens(col, shares, n, seed)
        return fixed

    def _check_values(self, col: str, values: pd.Series) -> None:
        """A value the model never saw (or only in too few rows to publish) is an error, not a fallback."""
        codec = self.encoder_.codecs_[col]
        kind = self.schema_[col].kind
        if kind in ("categorical", "boolean"):
            known = set(codec.categories_)
            for v in values.dropna().unique():
                if v not in known and str(v) not in {str(c) for c in known}:
                    raise LookalikeError(
                        f"column '{col}': value {v!r} was never seen in training (or in fewer than "
                        f"{self.schema_.k} rows, so it is protected); known values: {sorted(map(str, known))[:20]}")
        elif kind == "numeric":
            x = self.encoder_._prepare(self.schema_[col], values)
            lo, hi = codec.lo_ / codec.scale, codec.hi_ / codec.scale
            bad = x[(x < lo) | (x > hi)]
            if len(bad):
                raise LookalikeError(f"column '{col}': value {bad[0]!r} is outside the learned range [{lo}, {hi}]")

    def _rebalanced_tokens(self, col: str, shares: dict, n: int, seed: int) -> np.ndarray:
        codec = self.encoder_.codecs_[col]
        if self.schema_[col].kind not in ("categorical", "boolean"):
            raise LookalikeError(f"rebalance needs a categorical or boolean column; '{col}' is {self.schema_[col].kind}")
        self._check_values(col, pd.Series(list(shares)))
        total = sum(shares.values())
        if any(s < 0 for s in shares.values()) or total > 1 + 1e-9:
            raise LookalikeError(f"rebalance shares for '{col}' must be >= 0 and sum to at most 1, got {shares}")
        offset = int(codec.has_null_)
        probs = np.zeros(codec.cardinalities[0])
        names = [str(c) for c in codec.categories_]
        chosen = set()
        for value, share in shares.items():
            idx = names.index(str(value))
            probs[offset + idx] = share
            chosen.add(offset + idx)
        rest = [offset + i for i in range(len(names)) if offset + i not in chosen]
        weights = np.asarray(codec.weights_)
        if rest:
            w = weights[[r - offset for r in rest]]
            probs[rest] = (1 - total) * w / w.sum()
        probs = probs / probs.sum()
        return np.random.default_rng([seed, 7]).choice(len(probs), size=n, p=probs)

    def _check_fitted(self) -> None:
        if not hasattr(self, "model_"):
            raise LookalikeError("this Synthesizer is not fitted yet; call fit(df) or Synthesizer.load(path)")

    # -- save / load ----------------------------------------------------------------------------------
    def save(self, path: str | Path, force: bool = False) -> Path:
        self._check_fitted()
        enc_cfg, enc_tensors = self.encoder_.get_state()
        model_cfg, model_tensors = self.model_.get_state()
        meta = {
            "format": FORMAT, "format_version": FORMAT_VERSION, "lookalike_version": __version__,
            "params": {"model": self.model, "seed": self.seed, "max_epochs": self.max_epochs,
                       "max_time": self.max_time, "value_protection": self.value_protection, "k": self.k},
            "model_name": self.model_.name, "n_rows": self.n_rows_, "columns": self.columns_,
            "schema": self.schema_.to_dict(), "encoder": enc_cfg, "model": model_cfg,
        }
        tensors = {f"encoder.{k}": np.ascontiguousarray(v) for k, v in enc_tensors.items()}
        tensors.update({f"model.{k}": np.ascontiguousarray(v) for k, v in model_tensors.items()})
        with atomic_path(path, force=force) as tmp:
            with zipfile.ZipFile(tmp, "w", compression=zipfile.ZIP_DEFLATED) as zf:
                zf.writestr("model.json", json.dumps(meta, default=_json_default))
                zf.writestr("weights.safetensors", save_tensors(tensors) if tensors else b"")
        return Path(path)

    @classmethod
    def load(cls, path: str | Path) -> "Synthesizer":
        """Read a model file. Only JSON and raw tensors are read: nothing in the file is executed."""
        path = Path(path)
        if not path.exists():
            raise LookalikeError(f"{path}: model file not found")
        try:
            with zipfile.ZipFile(path) as zf:
                meta = json.loads(zf.read("model.json"))
                raw = zf.read("weights.safetensors")
        except (zipfile.BadZipFile, KeyError, json.JSONDecodeError, IsADirectoryError):
            raise LookalikeError(f"{path}: not a lookalike model file") from None
        if meta.get("format") != FORMAT:
            raise LookalikeError(f"{path}: not a lookalike model file")
        if meta.get("format_version", 0) > FORMAT_VERSION:
            raise LookalikeError(f"{path}: written by a newer lookalike ({meta.get('lookalike_version')})")
        tensors = load_tensors(raw) if raw else {}
        params = meta["params"]
        syn = cls(**params)
        syn.schema_ = TableSchema.from_dict(meta["schema"])
        syn.encoder_ = TableEncoder.from_state(
            syn.schema_, meta["encoder"],
            {k[len("encoder."):]: v for k, v in tensors.items() if k.startswith("encoder.")})
        syn.model_ = model_class(meta["model_name"]).from_state(
            meta["model"], {k[len("model."):]: v for k, v in tensors.items() if k.startswith("model.")})
        syn.n_rows_, syn.columns_ = meta["n_rows"], meta["columns"]
        return syn


def _json_default(o):
    if isinstance(o, np.generic):
        return o.item()
    if isinstance(o, np.ndarray):
        return o.tolist()
    if isinstance(o, (pd.Timestamp,)):
        return o.isoformat()
    raise TypeError(f"cannot store {type(o).__name__} in a model file")
