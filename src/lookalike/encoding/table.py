"""A whole table <-> one integer token matrix, using one codec per column as the schema says.

This is the boundary between data and models: models see only tokens, cardinalities and column groups.
Decoding restores dtypes, integer-ness, decimals, datetime formats, spellings and missing values, and
fills PII columns with fake values generated row-consistently.
"""
from __future__ import annotations

import zlib

import numpy as np
import pandas as pd

from lookalike.encoding.categorical import PLACEHOLDER, CategoricalCodec
from lookalike.encoding.datetime import DatetimeCodec
from lookalike.encoding.identifiers import ConstantCodec, IdCodec
from lookalike.encoding.numeric import NumericCodec
from lookalike.encoding.profiles import Profiles
from lookalike.encoding.relative import RelativeCodec
from lookalike.encoding.text import TextCodec
from lookalike.errors import LookalikeError
from lookalike.schema.columns import ColumnSchema, Kind, TableSchema

CODECS = {
    Kind.NUMERIC: NumericCodec, Kind.CATEGORICAL: CategoricalCodec, Kind.BOOLEAN: CategoricalCodec,
    Kind.DATETIME: DatetimeCodec, Kind.ID: IdCodec, Kind.CONSTANT: ConstantCodec, Kind.TEXT: TextCodec,
}


class TableEncoder:
    """Fit codecs on a DataFrame; encode it to tokens; decode tokens to a DataFrame shaped like the input."""

    def __init__(self, schema: TableSchema, seed: int = 0, profile_columns: list[str] | None = None):
        """``profile_columns``: a hidden entity's columns (``encoding.profiles``), learned after one more
        sub-column, their joint profile; rows drawn with a kept profile take its values."""
        self.schema = schema
        self.seed = seed
        self.profile_columns = None if not profile_columns else list(profile_columns)

    # -- fit: analyse (the only step that reads data), then reduce -----------------------------------
    def fit(self, df: pd.DataFrame, dp=None) -> "TableEncoder":
        """``dp``: a ``lookalike.privacy.dp.Budget``. Under DP the exact statistics are replaced, in this one
        place, by released ones (``dp.privatise``) before value protection and the codecs see them."""
        self.profiles_ = None
        if dp is None:
            if self.profile_columns:  # never under DP: the kept profiles are exact counts
                self.profiles_ = Profiles(self.profile_columns, self.schema.k).fit(df)
            return self.reduce(self.analyse(df))
        from lookalike.privacy.dp import privatise

        return self.reduce(privatise(self.analyse(df, relative=False), self.schema, dp))

    def analyse(self, df: pd.DataFrame, relative: bool | dict = True, pii: bool = True) -> dict:
        """Every column's statistics (see ``encoding.base``), plus which numbers are learned as differences
        (``relative=False``: none, as under differential privacy; a dict: these pairs, as decided once for all
        the partitions of a table). ``pii=False`` leaves PII columns out (their formats are shares, not
        counts, so partitions cannot merge them)."""
        missing = [c for c in self.schema.names if c not in df.columns]
        if missing:
            raise LookalikeError(f"the schema names columns the data lacks: {missing}")
        if not isinstance(relative, dict):
            relative = relative_pairs(df, self.schema, self._prepare) if relative else {}
        stats: dict = {"relative": dict(relative), "columns": {}}
        for col in self.schema.columns:
            try:
                if col.kind == Kind.PII and not pii:
                    continue
                if col.kind == Kind.PII:
                    from lookalike.privacy.pii import learn_pii_format

                    stats["columns"][col.name] = {"format": learn_pii_format(col.options.get("pii"), df[col.name])}
                    continue
                codec = self._make_codec(col, relative)
                stats["columns"][col.name] = codec.analyse(self._codec_input(col, df, relative))
            except LookalikeError:
                raise
            except Exception as exc:
                raise LookalikeError(f"column '{col.name}' ({col.kind}): cannot be encoded ({exc})") from exc
        return stats

    def reduce(self, stats: dict) -> "TableEncoder":
        """Value protection and the codecs' learned state, from the statistics alone."""
        self.relative_: dict[str, str] = dict(stats["relative"])
        self.codecs_: dict[str, object] = {}
        self.pii_: dict[str, tuple[str, dict]] = {}
        for col in self.schema.columns:
            column_stats = stats["columns"][col.name]
            if col.kind == Kind.PII:
                self.pii_[col.name] = (col.options.get("pii"), column_stats["format"])
                continue
            try:
                if "state" in column_stats:  # learnt under DP from released statistics (privacy.dp.privatise)
                    by_type = {c.__name__: c for c in CODECS.values()}
                    self.codecs_[col.name] = by_type[column_stats["type"]].from_dict(column_stats["state"])
                    continue
                self.codecs_[col.name] = self._make_codec(col, self.relative_).reduce(column_stats)
            except LookalikeError:
                raise
            except Exception as exc:
                raise LookalikeError(f"column '{col.name}' ({col.kind}): cannot be encoded ({exc})") from exc
        self._layout()
        return self

    def _make_codec(self, col: ColumnSchema, relative: dict[str, str]):
        """An unfitted codec for the column, as its schema options say."""
        o, k = col.options, self.schema.k
        if col.name in relative:
            base = self.schema[relative[col.name]]
            decimals = max(int(o.get("decimals", 0)), int(base.options.get("decimals", 0)))
            return RelativeCodec(base=base.name, decimals=decimals, k=k)
        if col.kind == Kind.NUMERIC:
            bounds = o.get("bounds")
            decimals = int(o.get("decimals", 0))
            return NumericCodec(decimals=decimals, k=k, bounds=tuple(bounds) if bounds else None,
                                written=bool(o.get("full_precision") or o.get("float32")),
                                step=10 ** (decimals - min(int(o.get("grid", decimals)), decimals)))
        if col.kind.categorical_like:  # the tail: the column's 'rare' option, else the table's (generate)
            vp = self.schema.value_protection
            rare = "drop" if col.kind == Kind.BOOLEAN else o.get("rare", vp.get("rare", "generate"))
            placeholder = o.get("placeholder", vp.get("placeholder", PLACEHOLDER))
            return CategoricalCodec(k=k, seed=self.seed, name=col.name, rare=rare, placeholder=placeholder)
        if col.kind == Kind.DATETIME:
            return DatetimeCodec(formats=o.get("formats"), k=k)
        if col.kind == Kind.ID:
            return IdCodec(id_type=o.get("id_type", "integer"), k=k)
        if col.kind == Kind.CONSTANT:
            return ConstantCodec(o.get("value"))
        if col.kind == Kind.TEXT:
            return TextCodec(k=k)
        raise LookalikeError(f"column '{col.name}': no codec for kind '{col.kind}'")

    def _codec_input(self, col: ColumnSchema, df: pd.DataFrame, relative: dict[str, str]):
        """What the column's codec reads: the prepared column, with its base for a relative number."""
        x = self._prepare(col, df[col.name])
        if col.name not in relative:
            return x
        base = relative[col.name]
        if base not in df.columns:
            raise LookalikeError(f"column '{col.name}' is generated relative to '{base}' (a rule keeps "
                                 f"{col.name} >= {base}); give a value for '{base}' too")
        return x, self._prepare(self.schema[base], df[base])

    def _layout(self) -> None:
        self.cardinalities_: list[int] = []
        self.groups_: list[list[int]] = []
        self.group_columns_: list[str] = []
        for name, codec in self.codecs_.items():
            cards = codec.cardinalities
            if cards:
                start = len(self.cardinalities_)
                self.cardinalities_.extend(int(c) for c in cards)
                self.groups_.append(list(range(start, start + len(cards))))
                self.group_columns_.append(name)
        self.profile_sub_ = None
        if getattr(self, "profiles_", None) is not None:  # the profile's sub-column comes last in the tokens
            self.profile_sub_ = len(self.cardinalities_)
            self.cardinalities_.append(self.profiles_.cardinality)

    def model_groups(self) -> list[list[int]]:
        """The column groups a generator learns: ``groups_``, except that a hidden entity's columns are one
        group led by their profile's sub-column, so the profile is drawn first and its columns right after it."""
        if self.profile_sub_ is None:
            return [list(g) for g in self.groups_]
        members = set(self.profiles_.columns)
        merged = [self.profile_sub_]
        out, placed = [], False
        for name, group in zip(self.group_columns_, self.groups_):
            if name not in members:
                out.append(list(group))
                continue
            merged.extend(group)
            if not placed:
                out.append(merged)
                placed = True
        return out

    # -- what a caller may ask: the Synthesizer reads these, never a codec's internals ------------------
    def blocked_tokens(self) -> dict[int, list[int]]:
        """{sub-column: tokens a generator must never emit} (placeholders such as the rare-category token)."""
        out = {}
        for name, group in zip(self.group_columns_, self.groups_):
            blocked = self.codecs_[name].blocked_tokens
            if blocked:
                out[group[0]] = list(blocked)
        return out

    def null_tokens(self) -> dict[int, int]:
        """{sub-column: the token meaning 'missing'} for every learned column that has missing values."""
        out = {}
        for name, group in zip(self.group_columns_, self.groups_):
            token = self.codecs_[name].null_token
            if token is not None:
                out[group[0]] = token
        return out

    def group_of(self, name: str) -> list[int] | None:
        """The sub-columns of a learned column; None for a column that is generated, not learned."""
        return dict(zip(self.group_columns_, self.groups_)).get(name)

    def labels(self, name: str) -> tuple[list, list[float]]:
        """The publishable categories of a categorical or boolean column and their shares."""
        return self.codecs_[name].labels()

    def label_tokens(self, name: str, values) -> np.ndarray:
        """First-sub-column tokens of known categories of ``name``."""
        return self.codecs_[name].tokens_of(values)

    def value_range(self, name: str) -> tuple[float, float]:
        """The protected range a numeric column is generated in."""
        return self.codecs_[name].value_range()

    def prepare(self, name: str, values: pd.Series):
        """Values as the column's codec reads them (numbers written as strings become floats)."""
        return self._prepare(self.schema[name], values)

    # -- encode / decode -----------------------------------------------------------------------------
    def _prepare(self, col: ColumnSchema, s: pd.Series):
        """The representation the codec expects (floats for numbers, raw series otherwise)."""
        if col.kind == Kind.NUMERIC:
            if col.options.get("stored_as") == "string" or not pd.api.types.is_numeric_dtype(s.dtype):
                s = pd.to_numeric(s.astype("string").str.replace(",", "", regex=False), errors="coerce")
            return s.astype(float).to_numpy()
        return s.reset_index(drop=True)

    def encode(self, df: pd.DataFrame) -> np.ndarray:
        parts = [np.zeros((len(df), 0), dtype=np.int64)]
        for name in self.group_columns_:
            parts.append(self.encode_column(name, df))
        if self.profile_sub_ is not None:
            parts.append(self.profiles_.encode(df)[:, None])
        return np.concatenate(parts, axis=1)

    def encode_column(self, name: str, df: pd.DataFrame) -> np.ndarray:
        """Tokens of one learned column; a column learned relative to another needs that one in ``df`` too."""
        return self.codecs_[name].encode(self._codec_input(self.schema[name], df, self.relative_))

    def decode(self, tokens: np.ndarray, seed: int, row_offset: int = 0, id_key: int = 0) -> pd.DataFrame:
        """``row_offset`` (the rows of the sample before this batch) and ``id_key`` (the sample's seed) keep
        generated keys unique across the batches of one sample without any state shared between them."""
        n = len(tokens)
        rng = np.random.default_rng(seed)
        out, numbers = {}, {}
        group_of = dict(zip(self.group_columns_, self.groups_))
        pending = [c for c in self.schema.columns if c.kind != Kind.PII]
        while pending:  # relative columns wait for their base
            col = pending.pop(0)
            if col.name in self.relative_ and self.relative_[col.name] not in numbers:
                pending.append(col)
                continue
            codec = self.codecs_[col.name]
            sub = tokens[:, group_of[col.name]] if col.name in group_of else np.zeros((n, 0), np.int64)
            if col.kind == Kind.ID:
                key = (int(id_key), zlib.crc32(col.name.encode()))
                values = codec.decode(sub, rng, start=row_offset + 1, key=key)
            elif col.name in self.relative_:
                values = codec.decode(sub, rng, base=numbers[self.relative_[col.name]])
            else:
                values = codec.decode(sub, rng)
            if col.kind == Kind.NUMERIC:
                numbers[col.name] = np.asarray(values, dtype=float)
            out[col.name] = self._restore(col, values, codec)
            if col.name in self.relative_ and col.kind == Kind.NUMERIC:
                out[col.name] = self._tied_to_base(col, out[col.name], numbers, out)
        if self.pii_:
            from lookalike.privacy.pii import generate_pii

            fake = generate_pii(self.pii_, n, seed=int(rng.integers(2**31)))
            for name in self.pii_:
                out[name] = fake[name].reset_index(drop=True)
        df = pd.DataFrame({c: out[c] for c in self.schema.names})
        if self.profile_sub_ is not None:
            df = self.profiles_.apply(df, tokens[:, self.profile_sub_])
        return df

    def _tied_to_base(self, col: ColumnSchema, restored: pd.Series, numbers: dict, out: dict) -> pd.Series:
        """A relative column's values equal to its base's, where the base was written as the exact float the
        input held (``NumericCodec.as_written``): that float too, so ``base <= column`` still holds (labsup's
        faminc = nonmomi where labinc is 0, both float32 numbers held as 16-digit decimals)."""
        base = self.schema[self.relative_[col.name]]
        if not len(getattr(self.codecs_[base.name], "written_keys_", ())):
            return restored
        on_grid = self._restore(base, numbers[base.name]).to_numpy(float)  # the base before as_written
        written = pd.to_numeric(out[base.name], errors="coerce").to_numpy(float)
        x = pd.to_numeric(restored, errors="coerce").to_numpy(float)
        tie = (x == on_grid) & (written != on_grid) & ~np.isnan(written)
        if not tie.any():
            return restored
        return restored.mask(pd.Series(tie, index=restored.index), pd.Series(written, index=restored.index))

    def _restore(self, col: ColumnSchema, values, codec=None) -> pd.Series:
        """Back to the input's dtype and spelling."""
        dtype = col.dtype
        if col.kind == Kind.NUMERIC:
            x = np.asarray(values, dtype=float)
            d = int(col.options.get("decimals", 0))
            x = np.round(x, d)
            # heaps and levels as the exact floats the input held (full_precision and float32 columns)
            exact = codec.as_written(x) if hasattr(codec, "as_written") else x
            if col.options.get("float32"):  # written back as the float32 numbers the input held
                x = x.astype(np.float32).astype(float)
            if exact is not x:
                x = np.where(exact != np.round(exact, d), exact, x)  # a written float is off the grid
            null = np.isnan(x)
            if col.options.get("stored_as") == "string":
                pattern = "{:,.%df}" % d if col.options.get("thousands") else "{:.%df}" % d
                return pd.Series([None if m else pattern.format(v) for v, m in zip(x, null)], dtype=object)
            if dtype.lower().startswith(("int", "uint")):
                if null.any() or dtype[0] == "I" or dtype[0] == "U":
                    return pd.Series(pd.array(np.where(null, 0, x).astype(np.int64), dtype="Int64")).mask(null)
                return pd.Series(x.astype(dtype))
            return pd.Series(x, dtype=dtype if dtype.startswith("float") else "float64")
        s = pd.Series(values)
        if col.kind == Kind.DATETIME:
            return s
        if col.kind in (Kind.BOOLEAN, Kind.CATEGORICAL, Kind.CONSTANT):
            if dtype == "bool" and not s.isna().any():
                return s.astype(bool)
            if dtype == "boolean":
                return s.astype("boolean")
            if dtype == "category":
                return s.astype("category")
            if dtype.startswith(("int", "float")) and not s.isna().any():
                return s.astype(dtype)
            if dtype.startswith(("int", "Int")):
                return s.astype("Int64")
            if dtype.startswith("float"):
                return s.astype(float)
            return s.astype(object)
        if col.kind == Kind.ID and dtype.lower().startswith("int"):
            return s.astype("Int64") if s.isna().any() or dtype[0] == "I" else s.astype(dtype)
        return s

    # -- persistence ---------------------------------------------------------------------------------
    def get_state(self) -> tuple[dict, dict[str, np.ndarray]]:
        tensors = {}
        config = {
            "seed": self.seed,
            "codecs": {name: {"type": type(c).__name__, **c.to_dict()} for name, c in self.codecs_.items()},
            "pii": {name: [kind, fmt] for name, (kind, fmt) in self.pii_.items()},
            "relative": self.relative_,
        }
        if getattr(self, "profiles_", None) is not None:
            config["profiles"] = self.profiles_.to_dict()
        return config, tensors

    @classmethod
    def from_state(cls, schema: TableSchema, config: dict, tensors: dict[str, np.ndarray]) -> "TableEncoder":
        enc = cls(schema, seed=config["seed"])
        by_type = {c.__name__: c for c in (*CODECS.values(), RelativeCodec)}
        enc.codecs_ = {}
        enc.relative_ = dict(config["relative"])
        for name, d in config["codecs"].items():
            d = dict(d)
            codec_type = d.pop("type")
            if name in enc.relative_ and codec_type == "NumericCodec":  # model files before RelativeCodec
                lo, hi = config["ranges"][name]
                d = {"base": enc.relative_[name], "decimals": d["decimals"], "k": d["k"], "range": [lo, hi],
                     "difference": d}
                codec_type = "RelativeCodec"
            enc.codecs_[name] = by_type[codec_type].from_dict(d)
        enc.pii_ = {name: (kind, fmt) for name, (kind, fmt) in config["pii"].items()}
        enc.profiles_ = Profiles.from_dict(config["profiles"]) if config.get("profiles") else None
        enc.profile_columns = None if enc.profiles_ is None else list(enc.profiles_.columns)
        enc._layout()
        return enc


def relative_pairs(df: pd.DataFrame, schema: TableSchema, prepare, max_ratio: float = 20.0) -> dict[str, str]:
    """{column: base} for numeric inequality rules ``base <= column`` worth learning as a difference.

    Only pairs on a similar scale qualify (a count below a balance stays a resampled rule), each column gets
    at most one base, the closest in scale, and chains never loop. Formula columns are left alone.
    """
    derived = {r["column"] for r in schema.rules if r.get("type") == "formula"}
    kinds = {c.name: c.kind for c in schema.columns}
    candidates = []
    for r in schema.rules:
        if r.get("type") != "inequality" or r.get("op") not in ("<=", ">="):
            continue
        small, big = (r["left"], r["right"]) if r["op"] == "<=" else (r["right"], r["left"])
        if kinds.get(small) != Kind.NUMERIC or kinds.get(big) != Kind.NUMERIC or {small, big} & derived:
            continue
        a, b = prepare(schema[small], df[small]), prepare(schema[big], df[big])
        if np.isnan(a).any() != np.isnan(b).any() or (np.isnan(a) != np.isnan(b)).any():
            continue  # the difference is defined only when both are present in the same rows
        ma, mb = np.nanmedian(np.abs(a)), np.nanmedian(np.abs(b))
        ratio = mb / ma if ma > 0 else np.inf
        if ratio <= max_ratio:
            candidates.append((ratio, big, small))
    relative: dict[str, str] = {}
    for _, big, small in sorted(candidates):
        if big in relative:
            continue
        chain = small
        while chain in relative and chain != big:
            chain = relative[chain]
        if chain != big:
            relative[big] = small
    return relative
