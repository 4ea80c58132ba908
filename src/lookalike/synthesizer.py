"""The user-facing object: schema + codecs + model, with scikit-learn's contract.

Parameters go in the constructor, work happens in ``fit``, learned state lives in attributes ending in ``_``.
A saved model is a zip of JSON and safetensors: data, not code, and no training rows.
"""
from __future__ import annotations

import copy
import logging
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, Callable

import numpy as np
import pandas as pd
from safetensors.numpy import load as load_tensors
from safetensors.numpy import save as save_tensors

from lookalike.encoding.table import TableEncoder
from lookalike.errors import LookalikeError
from lookalike.fairness import REFERENCE_ROWS, FairTarget, check_fairness
from lookalike.fairness import check_columns as fair_columns
from lookalike.io.files import write_batches
from lookalike.model_file import model_file_header, read_model_file, write_model_file
from lookalike.models import check_settings, choose_model, make_model, model_class, model_settings
from lookalike.models.constrained import sample_tokens
from lookalike.rules import RuleSet
from lookalike.schema.columns import Kind, TableSchema
from lookalike.schema.infer import infer_schema

FORMAT = "lookalike-model"
FORMAT_VERSION = 1
BATCH_ROWS = 100_000
MONOTONE_CHECK_ROWS = 2_000  # rows of the model's own drawn to see whether it keeps a monotone rule's pair
PROFILE_ROUNDS = 8
"""Draws of a hidden entity's profile token for rows that fix some of its columns, before a row whose draws
all landed on profiles that disagree with its cells gets one picked uniformly (``_fix_profiles``)."""
Progress = Callable[[float, str], None]
log = logging.getLogger(__name__)
_PARAMS = ("model", "seed", "max_epochs", "max_time", "schema", "value_protection", "k", "verbose", "model_params",
           "rare", "dp", "fairness", "text_model", "text_params", "given", "hidden_entities")
RARE_CHOICES = ("generate", "placeholder", "drop")


class Synthesizer:
    """Learn a table, then sample lookalike rows from it.

    >>> syn = Synthesizer(model="auto", seed=0).fit(df)
    >>> fake = syn.sample(1_000, seed=7)

    rare: what rows holding a category seen in fewer than k rows become -- "generate" (new values that look
    like the column's and are never a real one), "placeholder" (one string, "(other)" unless the schema names
    another) or "drop" (the tail's rows get frequent categories). Either way the real rare values never
    appear. None: as the schema says (``value_protection: {rare: ...}`` or a column's ``rare``), else generate.

    fairness: ``{"target": "income", "sensitive": ["race", "sex"]}`` draws the target with statistical parity
    across the sensitive groups (``bins``: quantile classes of a numeric target, default: every value token of
    its codec); every other
    column is sampled as without it. What changes and why: ``lookalike.fairness``. Needs model 'argn'.

    text_model: how free-text columns are written -- "lm" (default: a small language model trained on the
    column and conditioned on the row, ``lookalike.models.text_lm``), "chain" (the protected word chain of
    ``encoding.text``) or the path of a local directory holding a pretrained Hugging Face causal language
    model, fine-tuned on the column and prompted with the row's values (``lookalike.models.text_hf``; needs
    ``lookalike[text-hf]``; the directory is read at fit only, the model file carries the weights).
    text_params: settings of the language model (``TextLM`` or ``PretrainedTextLM``: temperature, top_p,
    max_time, ...).

    given: columns that every sampling call fixes (a context: a child row's parent attributes, a sequence step's
    window). The argn generator then learns the other columns given all of these and never these themselves:
    the conditional it will be asked for, at the cost of the other columns' heads only. Other generators
    learn every column, as without it.

    hidden_entities: find a group of columns that is a function of an entity the table does not name (a zip
    code's demographics on each of its customers, ``lookalike.encoding.profiles``) and draw it as one joint
    profile: a profile seen in at least k rows is written verbatim, any other is generated. Off by default: it
    lowers the discriminator AUC where such a group exists (ISLR.Caravan 0.86 -> 0.57-0.60) but raises the DCR
    share (Caravan by 0.029 on average over three seeds, AER.STAR 0.016: benchmarks/RESULTS.md, hidden-entity).
    Not with a folder or Ray Dataset, dp, given or fairness (an error at fit). Conditions, rebalance and
    imputation that fix some of the group's columns draw a kept profile that agrees with them (``_fix_profiles``).
    """

    def __new__(cls, *args, entity: str | None = None, order: str | None = None, **kwargs):
        """``Synthesizer(entity="account_id", order="timestamp")`` is a sequence model: one sequence of rows per
        entity (see :class:`lookalike.sequential.SequenceSynthesizer`); ``sample(n)`` then counts entities."""
        if cls is Synthesizer and entity is not None:
            from lookalike.sequential import SequenceSynthesizer

            if kwargs.get("fairness") is not None:
                raise LookalikeError("fairness covers single tables only; sequence models (entity=...) do not "
                                     "take it")

            return SequenceSynthesizer(entity, order, *args, **kwargs)
        if order is not None:
            raise LookalikeError("order needs entity too: the column naming whose sequence each row belongs to")
        return super().__new__(cls)

    def __init__(self, model: str = "auto", seed: int = 0, max_epochs: int | None = None,
                 max_time: float | None = None, schema: TableSchema | dict | str | Path | None = None,
                 value_protection: bool = True, k: int = 5, verbose: bool = False,
                 model_params: dict[str, Any] | None = None, rare: str | None = None, dp: dict | None = None,
                 fairness: dict | None = None, text_model: str = "lm", text_params: dict[str, Any] | None = None,
                 given: list[str] | None = None, hidden_entities: bool = False, entity: None = None,
                 order: None = None):
        self.model = model
        self.seed = seed
        self.max_epochs = max_epochs
        self.max_time = max_time
        self.schema = schema
        self.value_protection = value_protection
        self.k = k
        self.verbose = verbose
        self.model_params = model_params
        self.rare = rare
        self.dp = dp
        self.fairness = fairness
        self.text_model = text_model
        self.text_params = text_params
        self.given = None if given is None else [str(c) for c in given]
        self.hidden_entities = bool(hidden_entities)
        _check_rare(rare)
        _check_text_model(text_model, text_params)
        if check_fairness(fairness) is not None and self._model_name() != "argn":
            raise LookalikeError(f"fairness needs model='argn' (it reads the generator's conditional distribution "
                                 f"of the target), not '{self.model}'")
        model_class(self._model_name())  # unknown names fail here, before any work
        if self._model_name() != "auto":  # and unknown settings (auto keeps only those its pick accepts)
            check_settings(self._model_name(), model_params)
        if dp is not None:
            from lookalike.privacy.dp import check_dp

            check_dp(dp)
            if not getattr(model_class(self._model_name()), "supports_dp", False):
                raise LookalikeError(f"model '{self._model_name()}' has no differentially private training; "
                                     "use model='dp-marginals', 'argn', 'vae', 'diffusion' or 'gan' with dp")

    def _model_name(self) -> str:
        """'auto' under differential privacy is dp-marginals (the better choice at small epsilon); with fairness
        it is argn, the generator that gives the target's conditional distribution."""
        if self.model == "auto" and self.fairness is not None:
            return "argn"
        return "dp-marginals" if self.model == "auto" and self.dp is not None else self.model

    # -- scikit-learn's estimator contract (sklearn.base.clone works) ------------------------------
    def get_params(self, deep: bool = True) -> dict[str, Any]:
        """The constructor's parameters, as given (never the fitted state)."""
        return {name: getattr(self, name) for name in _PARAMS}

    def set_params(self, **params) -> "Synthesizer":
        unknown = [name for name in params if name not in _PARAMS]
        if unknown:
            raise LookalikeError(f"unknown Synthesizer parameter(s) {unknown}; valid: {', '.join(_PARAMS)}")
        if "model" in params:
            model_class(params["model"])
        if "rare" in params:
            _check_rare(params["rare"])
        if "fairness" in params:
            check_fairness(params["fairness"])
        for name, value in params.items():
            setattr(self, name, value)
        return self

    # -- fit --------------------------------------------------------------------------------------
    def fit(self, df: pd.DataFrame, progress: Progress | None = None, *, ray: bool | str | None = None,
            workers: int | None = None) -> "Synthesizer":
        """``df``: a DataFrame, or data read one partition at a time (a folder of Parquet files or a
        ``ray.data.Dataset``; see ``lookalike.distributed.streaming``).

        ray: with a folder or Dataset, train argn data-parallel with Ray Train (True: Ray's default cluster, or
        ``"host:6379"``) on ``workers`` workers (default: one per CPU of the cluster); see
        ``lookalike.distributed.training``."""
        self._check_hidden_entities(streaming=not isinstance(df, pd.DataFrame) and _partitioned(df))
        if not isinstance(df, pd.DataFrame):
            if _partitioned(df):
                from lookalike.distributed.streaming import fit_streaming

                return fit_streaming(self, df, progress=progress, ray=ray or None, workers=workers)
            raise LookalikeError(f"fit expects a pandas DataFrame, a folder of Parquet files or a ray.data.Dataset, "
                                 f"got {type(df).__name__}")
        if ray:
            raise LookalikeError("ray= trains data-parallel from a folder of Parquet files or a ray.data.Dataset; "
                                 "a DataFrame is fitted in this process (fit without ray=)")
        self._check_rows(len(df))
        df = df.copy(deep=False)  # never mutate the caller's table (columns may be replaced below, not edited)
        fair = check_fairness(self.fairness)
        if self.dp is not None:
            return self._fit_dp(df, progress)
        self.dp_ = None
        unknown = [c for c in self.given or () if c not in df.columns]
        if unknown:
            raise LookalikeError(f"given: unknown column(s) {', '.join(map(repr, unknown))}; the table has: "
                                 f"{', '.join(map(str, df.columns))}")
        self.schema_ = self._resolve_schema(df)
        self._check_text_model_dir()
        if fair is not None:
            fair_columns(fair, self.schema_, list(df.columns))
        if df.attrs.get("csv_dialect") and not self.schema_.dialect:  # read from CSV: write samples back alike
            self.schema_.dialect = dict(df.attrs["csv_dialect"])  # schema_ is our own copy (_resolve_schema)
        if progress:
            progress(0.02, "encoding columns")
        self.rules_ = RuleSet(self.schema_.rules, self.schema_).fit(df, k=self.schema_.k)
        self.encoder_ = TableEncoder(self.schema_, seed=self.seed, profile_columns=self._profile_columns(df, fair)).fit(df)
        tokens = self.encoder_.encode(df)
        self._fit_generator(tokens, len(df), progress)
        self._drop_pairs_the_model_keeps(df)
        self.text_models_ = self._fit_text_models(df, tokens)
        self.n_rows_ = len(df)
        self.columns_ = list(df.columns)
        return self

    def _check_hidden_entities(self, streaming: bool = False) -> None:
        """``hidden_entities`` with a setting it does not cover is an error at the start of fit, before any work
        (it was ignored silently): a folder or Ray Dataset (the profiles need every row's joint values, the
        partitions are read one at a time), differential privacy (kept profiles are exact counts), a context
        (``given``) or fairness (both read single columns' sub-columns in the generator's groups)."""
        if not self.hidden_entities:
            return
        for clash, what in ((streaming, "a fit from a folder of Parquet files or a ray.data.Dataset (fit a "
                                        "DataFrame)"),
                            (self.dp is not None, "differential privacy (dp=...)"),
                            (bool(self.given), f"given= (a context: {self.given})"),
                            (check_fairness(self.fairness) is not None, "fairness")):
            if clash:
                raise LookalikeError(f"hidden_entities cannot be combined with {what}; fit without "
                                     "hidden_entities (--hidden-entities)")

    def _profile_columns(self, df: pd.DataFrame, fair) -> list[str]:
        """With ``hidden_entities``: a hidden entity's columns (``encoding.profiles``), kept as joint profiles;
        none with value protection off (profiles are kept only when k rows share them). A context or fairness
        never gets here (:meth:`_check_hidden_entities`)."""
        if not self.hidden_entities or not self.value_protection or self.given or fair is not None:
            return []
        from lookalike.encoding.profiles import entity_columns

        columns = entity_columns(df, self.schema_)
        if columns:
            log.info("hidden entity: %d columns kept as joint profiles: %s", len(columns), columns)
        return columns

    def _check_rows(self, n: int) -> None:
        min_rows = max(10, 2 * self.k) if self.value_protection else 2
        if n < min_rows:
            raise LookalikeError(
                f"the table has {n} rows; at least {min_rows} are needed to learn from it while keeping "
                f"every value that appears in fewer than {self.k} rows private")

    def _fit_generator(self, tokens: np.ndarray, n_rows: int, progress: Progress | None) -> None:
        """Pick (model='auto') and train the generator on the encoded rows."""
        name = self.model
        self.model_reason_ = f"asked for '{name}'"
        if name == "auto" and check_fairness(self.fairness) is not None:
            name, self.model_reason_ = "argn", "fairness reads argn's conditional distribution of the target"
        elif name == "auto":
            name, self.model_reason_ = choose_model(n_rows, len(self.encoder_.cardinalities_), self.max_time)
            log.info("model auto: picked %s (%s)", name, self.model_reason_)
        if self.encoder_.cardinalities_:
            params = self._auto_params(name) if self.model == "auto" else self.model_params
            if self.given and name == "argn":
                learned = self.encoder_.group_columns_
                params = {**(params or {}), "given_groups": [learned.index(c) for c in self.given if c in learned]}
            self.model_ = make_model(name, seed=self.seed, max_epochs=self.max_epochs,
                                     max_time=self.max_time, verbose=self.verbose, params=params)
        else:  # only keys, constants and PII: nothing to learn, every column is generated
            self.model_ = make_model("copula", seed=self.seed)
            self.model_reason_ = "only keys, constants and PII columns: nothing to learn"
        sub = (lambda f, msg: progress(0.05 + 0.95 * f, msg)) if progress else None
        self.model_.fit(tokens, self.encoder_.cardinalities_, self.encoder_.model_groups(), progress=sub)
        self._fit_fairness()

    def _drop_pairs_the_model_keeps(self, df: pd.DataFrame) -> None:
        """Drop the detected monotone rules whose pair the fitted model's own rows already hold
        (``rules.MONOTONE_MODEL_RHO``): rebuilding such a column from its base would break its relations with the
        other columns, which the model keeps. Measured on ``MONOTONE_CHECK_ROWS`` rows drawn with a seed of the
        synthesizer's own (a fresh one when it is unseeded), before any rule; ``df`` (the training rows) refits the remaining rules."""
        from lookalike.rules import monotone_rules_the_model_keeps

        detected = [r for r in self.schema_.rules if r["type"] == "monotone" and r.get("source") == "detected"]
        if not detected or not self.encoder_.cardinalities_:
            return
        seed = int(np.random.default_rng(None if self.seed is None else [self.seed, 20250]).integers(2**31))
        suppress = self.encoder_.blocked_tokens()
        tokens = sample_tokens(self.model_, min(len(df), MONOTONE_CHECK_ROWS), seed=seed, suppress=suppress or None)
        drop = monotone_rules_the_model_keeps(detected, self.encoder_.decode(tokens, seed=seed))
        if drop:
            log.info("the model keeps the pair of %d monotone rule(s); dropped: %s", len(drop), drop)
            self.schema_.rules = [r for r in self.schema_.rules if r not in drop]
            self.rules_ = RuleSet(self.schema_.rules, self.schema_).fit(df, k=self.schema_.k)

    def _fit_fairness(self) -> None:
        """The fair target's reference, from the generator's own sample (no real row is read)."""
        self.fairness_ = None
        spec = check_fairness(self.fairness)
        if spec is None:
            return
        fair = FairTarget(spec, self.encoder_, self.schema_)
        suppress = self.encoder_.blocked_tokens()
        seed = int(np.random.default_rng([self.seed, 20211]).integers(2**31))
        reference = sample_tokens(self.model_, REFERENCE_ROWS, seed=seed, suppress=suppress or None)

        def draw(rows: int, i: int) -> np.ndarray:  # further reference rows for small groups' references
            return sample_tokens(self.model_, rows, seed=seed + 1 + i, suppress=suppress or None)

        self.fairness_ = fair.fit(self.model_, reference, suppress.get(fair.column, ()), draw)

    def _fit_text_models(self, df: pd.DataFrame, tokens: np.ndarray) -> dict:
        """One language model per free-text column, conditioned on the row: 'lm' trains one from scratch on the
        row's tabular tokens, a directory fine-tunes that pretrained model on the row's values as a prompt."""
        if self.text_model == "chain":
            return {}
        text_columns = [c.name for c in self.schema_.columns if c.kind == Kind.TEXT]
        if not text_columns:
            return {}
        params = {"seed": self.seed, "k": self.schema_.k, "verbose": self.verbose, **(self.text_params or {})}
        text_class, pretrained = _text_model_class(self.text_model)
        context = tokens
        if pretrained:
            params["path"] = str(self.text_model)
            seed = int(np.random.default_rng([self.seed, 5]).integers(2**31))
            context = self._text_context(self.encoder_.decode(tokens, seed=seed))
        values = {} if pretrained else {"value_columns": text_value_columns(self.schema_, self.encoder_)}
        return {name: text_class(**params).fit(df[name], context, self.encoder_.cardinalities_, **values)
                for name in text_columns}

    def _text_context(self, decoded: pd.DataFrame) -> pd.DataFrame:
        """What a pretrained text model's prompt spells out: the row's learned columns (no text, key or PII
        column), as the model decodes them -- protected values, the same at training and at sampling."""
        columns = [c for c in self.encoder_.group_columns_ if self.schema_[c].kind != Kind.TEXT]
        return decoded[columns]

    def _check_text_model_dir(self) -> None:
        """text_model=PATH: the directory is checked before any training (the weights are read at fit)."""
        if self.text_model in ("lm", "chain") or not any(c.kind == Kind.TEXT for c in self.schema_.columns):
            return
        from lookalike.models.text_hf import check_model_dir

        check_model_dir(self.text_model)

    def _decode(self, tokens: np.ndarray, seed: int, **kwargs) -> pd.DataFrame:
        """Tokens to rows; free-text columns written by their language model, given the row's tokens (or, for
        a pretrained model, the row's decoded values)."""
        df = self.encoder_.decode(tokens, seed=seed, **kwargs)
        models = getattr(self, "text_models_", {})
        values = any(getattr(m, "reads_values", False) for m in models.values())
        context = self._text_context(df) if values else None
        for name, lm in models.items():
            present = df[name].notna().to_numpy()
            given = context[present] if getattr(lm, "reads_values", False) else tokens[present]
            texts = pd.Series([None] * len(df), dtype=object)
            texts[present] = lm.generate(given, seed=int(np.random.default_rng([seed, 3]).integers(2**31)))
            df[name] = texts.to_numpy()
        return df

    def _auto_params(self, name: str) -> dict | None:
        """``model_params`` given with model='auto' apply only to the settings the picked generator accepts."""
        if not self.model_params:
            return None
        accepted = model_settings(name)
        dropped = sorted(k for k in self.model_params if k not in accepted)
        if dropped:
            log.warning("model auto picked %s, which has no setting %s; ignored", name, ", ".join(map(repr, dropped)))
        return {k: v for k, v in self.model_params.items() if k in accepted} or None

    def _fit_dp(self, df: pd.DataFrame, progress: Progress | None) -> "Synthesizer":
        """Differentially private fit (see ``lookalike.privacy.dp``): every check first, then every statistic
        through a mechanism charged to the budget, then the generator's own private training."""
        from lookalike.privacy import dp as privacy
        from lookalike.privacy.dp_rules import private_rate_rules
        from lookalike.schema.infer import public_schema

        settings = privacy.check_dp(self.dp)
        privacy.check_rows(settings, len(df))
        name = self._model_name()
        zcdp = bool(getattr(model_class(name), "dp_zcdp", False))  # the generator composes in zCDP (dp-marginals)
        budget = privacy.Budget(settings, seed=self.dp.get("noise_seed") if isinstance(self.dp, dict) else None,
                                zcdp=zcdp)
        params = dict(self.model_params or {})
        if zcdp:
            params.update({"dp_epsilon": self.dp["epsilon"], "dp_delta": budget.delta / 2, "dp_rho": budget.rho_model})
        else:
            params.update({"dp_epsilon": budget.eps_model, "dp_delta": budget.delta_model})
        # the generator's noise: secret (OS entropy), never the public ``seed``, unless a test fixes it
        params["dp_noise_seed"] = self.dp.get("noise_seed", int(np.random.SeedSequence().generate_state(1)[0]))
        epochs = self.max_epochs
        if epochs is None and hasattr(model_class(name), "DP_DEFAULT_EPOCHS"):  # DP-SGD trains fixed epochs
            epochs = model_class(name).DP_DEFAULT_EPOCHS
        model = make_model(name, seed=self.seed, max_epochs=epochs, max_time=self.max_time, verbose=self.verbose,
                           params=params)
        if hasattr(model, "dp_plan"):
            model.dp_plan(len(df))  # a budget too small for the epochs fails here, before any work
        declared = self.schema is not None
        schema = self._resolve_schema(df) if declared else public_schema(df, k=self.k)
        if check_fairness(self.fairness) is not None:
            fair_columns(check_fairness(self.fairness), schema, list(df.columns))
        if not self.value_protection:
            schema.value_protection = {"enabled": False, "k": 1}
        budget.public_bins = bool(getattr(model, "dp_measures_marginals", False))
        budget.plan(*privacy.plan_units(schema, budget.public_bins, rules=True))
        schema.rules = list(schema.rules) + private_rate_rules(budget, df, schema)
        budget.plan(*privacy.plan_units(schema, budget.public_bins))  # the rest, without the derived columns
        for col in schema.columns:  # decimals of float columns (only when inferred from the dtype)
            if "decimals" in col.options and col.options["decimals"] is None:
                col.options["decimals"] = privacy.private_decimals(budget, col.name, self._floats(df[col.name]))
        if df.attrs.get("csv_dialect") and not schema.dialect:
            schema.dialect = dict(df.attrs["csv_dialect"])
        self.schema_ = schema
        if progress:
            progress(0.02, "encoding columns (differentially private statistics)")
        self.rules_ = RuleSet(schema.rules, schema).fit(df, k=schema.k, learn=False)
        self.n_rows_ = budget.rows = privacy.noisy_rows(budget, len(df))  # first: privatise reads it
        self.encoder_ = TableEncoder(schema, seed=self.seed).fit(df, dp=budget)
        tokens = self.encoder_.encode(df)
        if not self.encoder_.cardinalities_:
            raise LookalikeError("under differential privacy at least one column must be learned")
        if hasattr(model, "dp_rows"):
            model.dp_rows = self.n_rows_
        sub = (lambda f, msg: progress(0.05 + 0.95 * f, msg)) if progress else None
        model.fit(tokens, self.encoder_.cardinalities_, self.encoder_.groups_, progress=sub)
        if hasattr(model, "marginals_"):  # its released 1-way marginals shape values inside bins (post-processing)
            privacy.shape_bins(self.encoder_, model.marginals_)
        self.model_ = model
        self.model_reason_ = (f"asked for '{name}' under differential privacy" if self.model != "auto" else
                              "auto under differential privacy: dp-marginals, the better choice at small epsilon")
        budget.model_entry = dict(model.dp_record_)
        self.dp_ = budget.record()
        self.dp_["schema"] = "declared (public)" if declared else "from column names and dtypes (public) only"
        self.columns_ = list(df.columns)
        self._fit_fairness()
        return self

    @staticmethod
    def _floats(s: pd.Series) -> np.ndarray:
        return pd.to_numeric(s, errors="coerce").to_numpy(float)

    def _resolve_schema(self, df: pd.DataFrame) -> TableSchema:
        schema = self.schema
        if schema is None:
            schema = infer_schema(df, k=self.k)
        elif isinstance(schema, (str, Path)):
            schema = TableSchema.read(schema)
        elif isinstance(schema, dict):
            schema = TableSchema.from_dict(schema)
        else:  # the user's object stays as it was given: fitting works on a copy
            schema = TableSchema.from_dict(copy.deepcopy(schema.to_dict()))
        unknown = [c for c in schema.names if c not in df.columns]
        if unknown:
            raise LookalikeError(f"the schema names columns the data lacks: {unknown}")
        extra = [c for c in df.columns if c not in schema.names]
        if extra:
            raise LookalikeError(f"the data has columns the schema does not describe: {extra}")
        if not self.value_protection:
            schema.value_protection = {"enabled": False, "k": 1}
        elif self.rare is not None:  # the table default; a column's own 'rare' option still wins
            schema.value_protection["rare"] = self.rare
        return schema

    # -- sample -----------------------------------------------------------------------------------
    def sample(self, n: int | None = None, seed: int | None = None, conditions: dict[str, Any] | None = None,
               rebalance: dict[str, dict[Any, float]] | None = None, seed_data: pd.DataFrame | None = None,
               progress: Progress | None = None, no_missing: bool = False, strict: bool = True,
               fair: bool = True) -> pd.DataFrame:
        """``n`` rows (default: as many as the training data).

        conditions: {column: value} fixed in every row. rebalance: {column: {value: share}} sets category
        shares. seed_data: a table of known cells (NaN = to be generated); one output row per seed row.
        fair: with ``fairness`` set, False samples as without it (the same rows except the target: the
        "before" of a before/after comparison).
        """
        self._check_fitted()
        chunks = list(self.sample_batches(n, seed=seed, conditions=conditions, rebalance=rebalance,
                                          seed_data=seed_data, progress=progress, no_missing=no_missing,
                                          strict=strict, fair=fair))
        return pd.concat(chunks, ignore_index=True)

    def sample_batches(self, n: int | None = None, seed: int | None = None, conditions=None, rebalance=None,
                       seed_data: pd.DataFrame | None = None, batch_size: int = BATCH_ROWS,
                       progress: Progress | None = None, no_missing: bool = False, strict: bool = True,
                       fair: bool = True, _prefetch: bool = False):
        """Yield the sample in DataFrames of at most ``batch_size`` rows, so millions of rows fit in memory.

        ``sample`` and this generator give the same rows for the same seed: batches always have the same
        boundaries and seeds, and batch ``i`` is :meth:`sample_batch` ``(i, ...)``.

        ``_prefetch`` (for our own sinks, such as :meth:`sample_to_file`): the next batch's tokens are drawn in a
        background thread while this one is decoded and written (see :meth:`_prefetches`). The rows are the same.
        """
        self._check_fitted()
        if seed_data is not None:
            n = len(seed_data)
        n, seed = self._sample_size(n), self._sample_seed(seed)
        suppress = self._suppressed(no_missing)
        rule_state: dict = {}  # unique keys already emitted: uniqueness holds across batches
        starts = list(range(0, n, batch_size))

        def first_draw(start: int):
            size = min(batch_size, n - start)
            part = seed_data.iloc[start:start + size] if seed_data is not None else None
            return self._first_draw(start, size, seed, conditions, rebalance, part, suppress, strict, fair)

        pool = ThreadPoolExecutor(1, thread_name_prefix="lookalike-prefetch") \
            if _prefetch and len(starts) > 1 and self._prefetches(fair) else None
        try:
            ahead = pool.submit(first_draw, starts[0]) if pool is not None else None
            for i, start in enumerate(starts):
                size = min(batch_size, n - start)
                if ahead is not None:
                    batch_seed, fixed, tokens = ahead.result()
                    ahead = pool.submit(first_draw, starts[i + 1]) if i + 1 < len(starts) else None
                else:
                    batch_seed, fixed, tokens = first_draw(start)
                yield self._sample_with_rules(size, batch_seed, fixed, suppress, start, seed, rule_state, fair=fair,
                                              first=tokens)
                if progress:
                    progress((start + size) / n, f"{start + size:,} of {n:,} rows")
        finally:
            if pool is not None:
                pool.shutdown(wait=True, cancel_futures=True)

    def _prefetches(self, fair: bool) -> bool:
        """Whether the next batch's tokens may be drawn in a background thread while this one is decoded: only
        for a generator whose sampling is safe to run beside other work (``thread_safe_sampling``: its draws
        depend on nothing process-wide, such as torch's global RNG or thread count), and only when decoding
        runs no model of its own (free-text models, fairness) that could share torch's process-wide settings."""
        return (bool(getattr(self.model_, "thread_safe_sampling", False))
                and not getattr(self, "text_models_", None)
                and not (fair and getattr(self, "fairness_", None) is not None))

    def sample_batch(self, index: int, n: int | None = None, seed: int | None = None, conditions=None,
                     rebalance=None, batch_size: int = BATCH_ROWS, no_missing: bool = False,
                     fair: bool = True) -> pd.DataFrame:
        """Batch ``index`` of ``sample(n, seed=seed)`` (rows ``index * batch_size`` onwards), drawn on its own.

        A pure function of (model, index, seed and the options): workers can each draw their own batches, in
        any order and any number of times, and together they give exactly ``sample(n, seed=seed)``. The one
        exception, refused here, is a ``unique`` rule over several batches: the keys of earlier batches are
        then needed, so only ``sample`` and ``sample_batches`` can honour it.
        """
        self._check_fitted()
        n, seed = self._sample_size(n), self._sample_seed(seed)
        self.check_batches_independent(n, batch_size)
        if not isinstance(index, (int, np.integer)) or not 0 <= index * batch_size < n:
            raise LookalikeError(f"batch index {index!r} is outside the {-(-n // batch_size)} batches of {n:,} rows")
        start = int(index) * batch_size
        size = min(batch_size, n - start)
        suppress = self._suppressed(no_missing)
        batch_seed, fixed, tokens = self._first_draw(start, size, seed, conditions, rebalance, None, suppress, True,
                                                     fair)
        return self._sample_with_rules(size, batch_seed, fixed, suppress, start, seed, {}, fair=fair, first=tokens)

    def check_batches_independent(self, n: int, batch_size: int = BATCH_ROWS) -> None:
        """Raise unless every batch of an ``n``-row sample can be drawn without the others (see sample_batch)."""
        unique = [r for r in self.rules_.rules if r["type"] == "unique"]
        if unique and n > batch_size:
            raise LookalikeError(
                f"the rule {unique[0]} needs the keys of every earlier batch, so a sample of {n:,} rows "
                f"(more than one batch of {batch_size:,}) cannot be drawn in independent batches; sample it in "
                "one process (without --ray), or remove the rule from the schema")

    def _sample_size(self, n) -> int:
        n = self.n_rows_ if n is None else n
        if not isinstance(n, (int, np.integer)) or isinstance(n, bool) or n <= 0:
            raise LookalikeError(f"the number of rows must be a positive integer, got {n!r}")
        return int(n)

    def _sample_seed(self, seed) -> int:
        return self.seed if seed is None else int(seed)

    def _suppressed(self, no_missing: bool) -> dict:
        suppress = self.encoder_.blocked_tokens()
        if no_missing:
            for group, token in self.encoder_.null_tokens().items():
                suppress.setdefault(group, []).append(token)
        return suppress

    def _first_draw(self, start, size, seed, conditions, rebalance, seed_part, suppress, strict, fair=True):
        """Rows ``start .. start+size`` of the sample with ``seed``, as tokens before any rule: (the batch's seed,
        its fixed tokens, the tokens). A pure function of its arguments (see :meth:`sample_batch`)."""
        batch_seed = int(np.random.default_rng([seed, start]).integers(2**31))
        fixed = self._fixed_tokens(size, batch_seed, conditions, rebalance, seed_part, strict, fair)
        return batch_seed, fixed, self._draw_tokens(size, batch_seed, fixed, suppress, fair)

    def _draw_tokens(self, count, seed, fixed, suppress, fair=True):
        """Tokens from the generator: directly, or by bounded rejection (fairness)."""
        fair = getattr(self, "fairness_", None) if fair else None
        tokens = sample_tokens(self.model_, count, seed=seed, fixed=fixed, suppress=suppress or None)
        if fair is None:
            return tokens
        redraw = lambda ask, s: sample_tokens(self.model_, len(ask), seed=s, fixed=ask,  # noqa: E731
                                              suppress=suppress or None)
        return fair.apply(self.model_, tokens, seed, fixed, (suppress or {}).get(fair.column, ()), redraw)

    def _sample_with_rules(self, size, seed, fixed, suppress, start, sample_seed, rule_state=None,
                           max_rounds: int = 50, fair: bool = True, first: np.ndarray | None = None):
        """Sample, enforce constructive rules, resample rows that break the others, repair what is left;
        a row that still breaks a rule is an error, never output. ``first``: the first draw's tokens, when
        they were drawn already (:meth:`_first_draw`)."""
        rule_state = {} if rule_state is None else rule_state

        def draw(count, round_seed, fixed_part):
            return self._draw_tokens(count, round_seed, fixed_part, suppress, fair)

        df = self._decode(draw(size, seed, fixed) if first is None else first, seed=seed, row_offset=start,
                          id_key=sample_seed)
        df = self.rules_.apply(df)
        bad = self.rules_.violations(df, rule_state)
        keep_ids = [c for c in df.columns if self.schema_[c].kind == Kind.ID]
        for round_ in range(max_rounds):
            if not bad.any():
                break
            rows = np.flatnonzero(bad)
            round_seed = int(np.random.default_rng([seed, round_ + 1]).integers(2**31))
            fresh = self._decode(draw(len(rows), round_seed, None if fixed is None else fixed[rows]), seed=round_seed)
            fresh = self.rules_.apply(fresh)
            fresh.index = df.index[rows]
            fresh[keep_ids] = df.loc[df.index[rows], keep_ids]
            df.loc[df.index[rows]] = fresh[df.columns]
            bad = self.rules_.violations(df, rule_state)
        if bad.any():
            df = self.rules_.apply(self.rules_.repair(df))
            self.rules_.check(df, rule_state)
        self.rules_.remember(df, rule_state)
        return df

    def sample_to_file(self, n: int | None, path: str | Path, seed: int | None = None, force: bool = False,
                       progress: Progress | None = None, **kwargs) -> Path:
        """Stream the sample to CSV or Parquet in batches (bounded memory); atomic, like every write.

        CSV is written in the dialect of the training file (``schema_.dialect``) when it was a CSV file."""
        return write_batches(self.sample_batches(n, seed=seed, progress=progress, _prefetch=True, **kwargs), path,
                             force=force, dialect=self.schema_.dialect)

    def sample_to_ray(self, n: int | None = None, seed: int | None = None, batch_size: int = BATCH_ROWS, **kwargs):
        """``sample(n, seed=seed)`` as a lazy ``ray.data.Dataset`` drawn by Ray tasks, one block per batch
        (needs ``pip install "lookalike[ray]"``; see ``lookalike.distributed.sampling``)."""
        from lookalike.distributed.sampling import sample_to_ray

        return sample_to_ray(self, n, seed=seed, batch_size=batch_size, **kwargs)

    def sample_to_folder_ray(self, n: int | None, folder: str | Path, seed: int | None = None,
                             address: str | None = None, batch_size: int = BATCH_ROWS, force: bool = False,
                             progress: Progress | None = None, **kwargs):
        """Write ``sample(n, seed=seed)`` to ``folder`` as Parquet parts, one Ray task per batch, identical rows
        whatever the number of workers (see ``lookalike.distributed.sampling.sample_to_folder``)."""
        from lookalike.distributed.sampling import sample_to_folder

        return sample_to_folder(self, n, folder, seed=seed, address=address, batch_size=batch_size, force=force,
                                progress=progress, **kwargs)

    def parse_value(self, column: str, text: str):
        """Turn a command-line string into the column's value (a known category, a number, a date string)."""
        self._check_fitted()
        col = self.schema_[column]
        if col.kind.categorical_like and self.encoder_.group_of(column) is not None:
            for c in self.encoder_.labels(column)[0]:
                if str(c) == text or str(c).lower() == text.lower():
                    return c
            raise LookalikeError(
                f"column '{column}': value {text!r} was never seen in training (or in fewer than "
                f"{self.schema_.k} rows, so it is protected)")
        if col.kind == Kind.NUMERIC:
            try:
                return float(text.replace(",", ""))
            except ValueError:
                raise LookalikeError(f"column '{column}': {text!r} is not a number") from None
        return text

    def impute(self, df: pd.DataFrame, seed: int | None = None) -> pd.DataFrame:
        """Fill the missing cells of a real table with values drawn given the row's known cells.

        Known cells are returned untouched; only learned columns can be imputed.
        """
        self._check_fitted()
        unknown = [c for c in df.columns if c not in self.schema_.names]
        if unknown:
            raise LookalikeError(f"impute: columns {unknown} are not in the model's schema")
        learned = [c for c in df.columns if self.encoder_.group_of(c) is not None]
        filled = self.sample(seed=seed, seed_data=df[learned].reset_index(drop=True), no_missing=True,
                             strict=False)
        out = df.copy()
        for c in learned:
            missing = out[c].isna().to_numpy()
            if missing.any():
                out.loc[missing, c] = filled.loc[missing, c].to_numpy()
        return out

    def _fixed_tokens(self, n, seed, conditions, rebalance, seed_data, strict=True,
                      fair: bool = True) -> np.ndarray | None:
        if not conditions and not rebalance and seed_data is None:
            return None
        spec = check_fairness(self.fairness) if fair else None
        if spec is not None and spec["target"] in {**(conditions or {}), **(rebalance or {})}:
            raise LookalikeError(f"column '{spec['target']}' is generated fairly (fairness); it cannot also be "
                                 "fixed by conditions or rebalanced")
        enc = self.encoder_
        fixed = np.full((n, len(enc.cardinalities_)), -1, dtype=np.int64)
        profiles = enc.profiles_ if enc.profile_sub_ is not None else None
        if profiles is not None:  # the fixed cells of a hidden entity's columns, as values
            place = {c: j for j, c in enumerate(profiles.columns)}
            values = np.empty((n, len(place)), dtype=object)
            known_cells = np.zeros((n, len(place)), dtype=bool)

        def learned_group(col: str) -> list[int]:
            if col not in self.schema_.names:
                raise LookalikeError(f"unknown column '{col}'; the table has: {', '.join(self.schema_.names)}")
            group = enc.group_of(col)
            if group is None:
                raise LookalikeError(
                    f"column '{col}' is {self.schema_[col].kind} and is generated, not learned; it cannot be fixed")
            return group

        if seed_data is not None:
            for col in seed_data.columns:
                group = learned_group(col)
                known = seed_data[col].notna().to_numpy()
                if self._missing_is_given(col):  # a context's missing cell is given as missing, not generated
                    known = np.ones(len(seed_data), dtype=bool)
                if strict:  # imputation conditions on real rows, extremes and rare values included
                    self._check_values(col, seed_data[col][known])
                fixed[np.ix_(known, group)] = enc.encode_column(col, seed_data[known])
                if profiles is not None and col in place:
                    values[known, place[col]] = seed_data[col].to_numpy(dtype=object)[known]
                    known_cells[known, place[col]] = True
        if conditions:
            row = pd.DataFrame({c: [v] for c, v in conditions.items()})  # one row: bases of relative columns too
            for col in conditions:
                group = learned_group(col)
                self._check_values(col, row[col])
                fixed[:, group] = enc.encode_column(col, row)[0]
                if profiles is not None and col in place:
                    values[:, place[col]] = [conditions[col]] * n
                    known_cells[:, place[col]] = True
        for col, shares in (rebalance or {}).items():
            group = learned_group(col)
            tokens, labels = self._rebalanced_tokens(col, shares, n, seed)
            fixed[:, group[0]] = tokens
            if profiles is not None and col in place:
                values[:, place[col]] = labels
                known_cells[:, place[col]] = True
        if profiles is not None and known_cells.any():
            named = strict and any(c in place for c in conditions or ())
            self._fix_profiles(fixed, values, known_cells, seed, named)
        return fixed

    def _fix_profiles(self, fixed: np.ndarray, values: np.ndarray, known: np.ndarray, seed: int,
                      named: bool) -> None:
        """The profile token of each row that fixes cells of a hidden entity's columns (``values``, where
        ``known``), written into ``fixed``: the profile draws a kept profile's values whole, so it must agree
        with those cells. All columns fixed: that profile's token. Some: a kept profile that agrees with them,
        drawn by the generator with every other profile suppressed (the profile token comes before its columns,
        so the generator cannot condition it on them), row by row: a draw that lands on a profile another row
        allowed is drawn again, ``PROFILE_ROUNDS`` times, then picked uniformly among the agreeing ones.

        No kept profile agrees: with ``named`` (strict conditions on these columns) an error naming the cells;
        else the 'other' token, the row's free columns drawn around its fixed cells, as the generator learned
        the rows of rare profiles (a real row being imputed whose own profile is a rare one; a category that
        rebalance assigns and that only rare profiles hold)."""
        enc = self.encoder_
        profiles, sub = enc.profiles_, enc.profile_sub_
        rows = np.flatnonzero(known.any(axis=1))
        masks, inverse = profiles.agreeing(values[rows], known[rows])
        some = masks.any(axis=1)[inverse]
        if named and not some.all():
            i = rows[np.flatnonzero(~some)[0]]
            cells = ", ".join(f"{c}={values[i, j]!r}" for j, c in enumerate(profiles.columns) if known[i, j])
            raise LookalikeError(
                f"conditions {cells}: no profile of the hidden entity {profiles.columns} seen in at least "
                f"{profiles.k} training rows has them, and with hidden_entities a condition on these columns "
                "draws only such profiles; fit without hidden_entities to condition on them")
        full = known[rows].all(axis=1) & some
        fixed[rows[~some], sub] = 0
        fixed[rows[full], sub] = masks[inverse[full]].argmax(axis=1) + 1
        todo, pattern = rows[some & ~full], inverse[some & ~full]
        suppress = enc.blocked_tokens()
        for round_ in range(PROFILE_ROUNDS):
            if not len(todo):
                break
            allowed = masks[np.unique(pattern)].any(axis=0)  # the profiles some row still drawing agrees with
            suppress[sub] = [0] + (np.flatnonzero(~allowed) + 1).tolist()
            draw_seed = int(np.random.default_rng([seed, 11, round_]).integers(2**31))
            drawn = sample_tokens(self.model_, len(todo), seed=draw_seed, fixed=fixed[todo],
                                  suppress=suppress)[:, sub]
            ok = (drawn > 0) & masks[pattern, np.maximum(drawn - 1, 0)]
            fixed[todo[ok], sub] = drawn[ok]
            todo, pattern = todo[~ok], pattern[~ok]
        rng = np.random.default_rng([seed, 12])
        for i, u in zip(todo, pattern):
            fixed[i, sub] = rng.choice(np.flatnonzero(masks[u])) + 1

    def _missing_is_given(self, col: str) -> bool:
        """A ``given`` column whose codec learned missing values (it has a token that decodes as missing)."""
        return (col in (self.given or ()) and col not in self.encoder_.relative_
                and self.encoder_.codecs_[col].null_token is not None)

    def _check_values(self, col: str, values: pd.Series) -> None:
        """A value the model never saw (or only in too few rows to publish) is an error, not a fallback."""
        kind = self.schema_[col].kind
        if kind.categorical_like:
            known = self.encoder_.labels(col)[0]
            names = {str(c) for c in known}
            for v in values.dropna().unique():
                if v not in known and str(v) not in names:
                    raise LookalikeError(
                        f"column '{col}': value {v!r} was never seen in training (or in fewer than "
                        f"{self.schema_.k} rows, so it is protected); known values: {sorted(names)[:20]}")
        elif kind == Kind.NUMERIC:
            x = self.encoder_.prepare(col, values)
            lo, hi = self.encoder_.value_range(col)
            bad = x[(x < lo) | (x > hi)]
            if len(bad):
                raise LookalikeError(f"column '{col}': value {bad[0]!r} is outside the learned range [{lo}, {hi}]")

    def _rebalanced_tokens(self, col: str, shares: dict, n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
        """The first-sub-column tokens of ``n`` rows drawn with ``shares``, and their categories."""
        if not self.schema_[col].kind.categorical_like:
            raise LookalikeError(f"rebalance needs a categorical or boolean column; '{col}' is {self.schema_[col].kind}")
        self._check_values(col, pd.Series(list(shares)))
        total = sum(shares.values())
        if any(s < 0 for s in shares.values()) or total > 1 + 1e-9:
            raise LookalikeError(f"rebalance shares for '{col}' must be >= 0 and sum to at most 1, got {shares}")
        labels, weights = self.encoder_.labels(col)
        names = [str(v) for v in labels]
        chosen = {names.index(str(v)): share for v, share in shares.items()}
        probs = np.zeros(len(labels))
        for i, share in chosen.items():
            probs[i] = share
        rest = [i for i in range(len(labels)) if i not in chosen]
        if rest:
            w = np.asarray(weights, dtype=float)[rest]
            probs[rest] = (1 - total) * w / w.sum()
        probs = probs / probs.sum()
        tokens = self.encoder_.label_tokens(col, labels)
        chosen = np.random.default_rng([seed, 7]).choice(len(probs), size=n, p=probs)
        return tokens[chosen], np.asarray(list(labels), dtype=object)[chosen]

    def _check_fitted(self) -> None:
        if not hasattr(self, "model_"):
            raise LookalikeError("this Synthesizer is not fitted yet; call fit(df) or Synthesizer.load(path)")

    # -- save / load ----------------------------------------------------------------------------------
    def save(self, path: str | Path, force: bool = False) -> Path:
        self._check_fitted()
        enc_cfg, enc_tensors = self.encoder_.get_state()
        model_cfg, model_tensors = self.model_.get_state()
        meta = {
            "params": {"model": self.model, "seed": self.seed, "max_epochs": self.max_epochs,
                       "max_time": self.max_time, "value_protection": self.value_protection, "k": self.k,
                       "model_params": self.model_params, "rare": self.rare, "dp": self.dp,
                       "fairness": self.fairness, "text_model": str(self.text_model),
                       "text_params": self.text_params, "given": self.given,
                       "hidden_entities": self.hidden_entities},
            "dp": getattr(self, "dp_", None),
            "model_name": self.model_.name, "model_reason": getattr(self, "model_reason_", None),
            "n_rows": self.n_rows_, "columns": self.columns_,
            "schema": self.schema_.to_dict(), "encoder": enc_cfg, "model": model_cfg,
            "rules": self.rules_.get_state(),
        }
        tensors = {f"encoder.{k}": np.ascontiguousarray(v) for k, v in enc_tensors.items()}
        tensors.update({f"model.{k}": np.ascontiguousarray(v) for k, v in model_tensors.items()})
        meta["text"] = {}
        for i, (name, lm) in enumerate(getattr(self, "text_models_", {}).items()):
            cfg, weights = lm.get_state()
            meta["text"][name] = {**cfg, "prefix": f"text{i}."}
            tensors.update({f"text{i}.{k}": np.ascontiguousarray(v) for k, v in weights.items()})
        return write_model_file(path, "model.json", FORMAT, FORMAT_VERSION, meta,
                                {"weights.safetensors": save_tensors(tensors) if tensors else b""}, force=force)

    @classmethod
    def load(cls, path: str | Path) -> "Synthesizer":
        """Read a model file. Only JSON and raw tensors are read: nothing in the file is executed."""
        if model_file_header(path) == "sequence.json":  # a sequence model: the same verbs, entities counted
            from lookalike.sequential import SequenceSynthesizer

            return SequenceSynthesizer.load(path)
        meta, blobs = read_model_file(path, "model.json", FORMAT, FORMAT_VERSION,
                                      "a lookalike model file (fit one with `lookalike fit`)")
        if "weights.safetensors" not in blobs:
            raise LookalikeError(f"{path}: not a lookalike model file (no weights)")
        raw = blobs["weights.safetensors"]
        tensors = load_tensors(raw) if raw else {}
        params = meta["params"]
        # a pretrained model's directory is not needed to load (nor checked), nor are its settings re-checked
        syn = cls(**{**params, "text_model": "lm", "text_params": None})
        syn.text_model, syn.text_params = params.get("text_model", "lm"), params.get("text_params")
        syn.schema_ = TableSchema.from_dict(meta["schema"])
        syn.encoder_ = TableEncoder.from_state(
            syn.schema_, meta["encoder"],
            {k[len("encoder."):]: v for k, v in tensors.items() if k.startswith("encoder.")})
        syn.model_ = model_class(meta["model_name"]).from_state(
            meta["model"], {k[len("model."):]: v for k, v in tensors.items() if k.startswith("model.")})
        syn.rules_ = RuleSet.from_state(meta["rules"], syn.schema_)
        syn.n_rows_, syn.columns_ = meta["n_rows"], meta["columns"]
        syn.model_reason_ = meta.get("model_reason") or f"asked for '{meta['model_name']}'"
        syn.dp_ = meta.get("dp")
        syn.text_models_ = {}
        for name, cfg in (meta.get("text") or {}).items():
            pre = cfg["prefix"]
            if cfg.get("kind") == "pretrained":
                from lookalike.models.text_hf import PretrainedTextLM as text_class
            else:
                from lookalike.models.text_lm import TextLM as text_class
            try:
                syn.text_models_[name] = text_class.from_state(
                    cfg, {k[len(pre):]: v for k, v in tensors.items() if k.startswith(pre)})
            except (LookalikeError, ImportError) as err:  # name the file and the column, not only the model
                raise LookalikeError(f"{path}: text column '{name}': {err}") from err
        syn._fit_fairness()
        return syn


def _partitioned(data) -> bool:
    """A folder (of Parquet files) or a ray.data.Dataset: read one partition at a time, never whole."""
    if isinstance(data, (str, Path)):
        return Path(data).is_dir()
    return type(data).__module__.startswith("ray.data")


def _check_rare(rare) -> None:
    if rare is not None and rare not in RARE_CHOICES:
        raise LookalikeError(f"rare must be one of {', '.join(RARE_CHOICES)} (or None: as the schema says), "
                             f"got {rare!r}")


def _text_model_class(text_model) -> tuple[type, bool]:
    """The class that writes free text for ``text_model`` ('lm' or a pretrained model's directory), and
    whether it is the pretrained one."""
    if text_model in ("lm", "chain"):
        from lookalike.models.text_lm import TextLM

        return TextLM, False
    from lookalike.models.text_hf import PretrainedTextLM, require_transformers

    require_transformers()
    return PretrainedTextLM, True


def text_value_columns(schema, encoder) -> list[int]:
    """The sub-columns holding a categorical or boolean column's value (its first token), not a number's finer
    bins: a text model trained from scratch gives each of their values its own shift of the text's scores
    (``TextLM``'s value_bias) and, when asked, weighs their rare values' rows more (rare_weight)."""
    kinds = {c.name: c.kind for c in schema.columns}
    return [group[0] for name, group in zip(encoder.group_columns_, encoder.groups_)
            if kinds.get(name) in (Kind.CATEGORICAL, Kind.BOOLEAN)]


def _check_text_model(text_model, text_params) -> None:
    """'lm', 'chain' or a directory. A path is checked for existence here only when it is a bare name (most
    likely a mistyped 'lm'); a path with a separator must exist when fitting (fit checks it before any work),
    not when a fitted model that carries the weights is loaded."""
    if isinstance(text_model, Path):
        text_model = str(text_model)
    if not isinstance(text_model, str) or not text_model:
        raise LookalikeError(f"text_model must be 'lm', 'chain' or the path of a local directory holding a Hugging "
                             f"Face causal language model, got {text_model!r}")
    if text_model not in ("lm", "chain") and not Path(text_model).is_dir() and not any(
            sep in text_model for sep in ("/", "\\")):
        raise LookalikeError(f"text_model must be 'lm' (a language model trained on the column), 'chain' (the "
                             f"protected word chain) or the path of a local directory holding a Hugging Face "
                             f"causal language model; {text_model!r} is none of these (no such directory)")
    if text_model not in ("lm", "chain"):
        _text_model_class(text_model)  # transformers missing: say which extra to install
    if text_params is not None:
        import inspect

        text_class, _ = _text_model_class("lm" if text_model in ("lm", "chain") else text_model)
        # k and seed are the synthesizer's (the schema's protection threshold, the model's seed), not the text's
        accepted = set(inspect.signature(text_class).parameters) - {"path", "k", "seed"}
        unknown = sorted(set(text_params) - accepted)
        if unknown:
            raise LookalikeError(f"unknown text_params {unknown}; valid: {', '.join(sorted(accepted))}")
