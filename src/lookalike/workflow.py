"""The workflow: hold out real rows, fit, sample, judge. One module that the command line, the REST service
and a notebook call alike.

>>> from lookalike import workflow
>>> result = workflow.synthesize(df, model="copula", holdout_share=0.2, target="vote")
>>> result.synthetic.head(); result.summary["bivariate_accuracy"]
>>> result.report.to_html("report.html")

Nothing here prints, logs to a handler of its own or touches global state. Progress goes to a callback
``progress(fraction, message)``: ``fraction`` runs from 0 to 1 over the whole call, ``message`` names the
stage first (``"fitting: epoch 3"``, ``"sampling: 2,000 of 5,000 rows"``, ``"judging"``); ``stage_spans``
says which share of the run each stage covers, for a caller that wants one bar per stage.
"""
from __future__ import annotations

import numbers
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable

import pandas as pd

from lookalike.errors import LookalikeError

if TYPE_CHECKING:  # the heavy parts load only when a function needs them
    from lookalike.evaluate.report import EvaluationReport
    from lookalike.schema.columns import TableSchema
    from lookalike.synthesizer import Synthesizer

Progress = Callable[[float, str], None]

MIN_ROWS_FOR_HOLDOUT = 50
"""Fewer rows leave too few on either side of a holdout split for the report's ceilings to mean anything."""

SUMMARY_KEYS = (
    "univariate_accuracy", "univariate_accuracy_holdout",
    "bivariate_accuracy", "bivariate_accuracy_holdout", "bivariate_accuracy_at_holdout_size", "bivariate_floor",
    "dependence_capture",
    "discriminator_auc", "discriminator_auc_holdout",
    "tstr_metric", "tstr_score", "trtr_score",
    "dcr_share", "exact_copy_share", "exact_copy_share_holdout",
    "privacy_verdict",
)
"""The headline numbers of a report, each beside its reference; ``summary`` returns them as a plain dict."""


@dataclass
class SynthesisResult:
    """What ``synthesize`` returns.

    synthesizer: the fitted Synthesizer (save it, sample more). train / holdout: the real rows it learned
    from and the ones kept away from it (holdout is None without a split). synthetic: the generated rows, or
    None when they were streamed to ``output``. report: the evaluation, or None when not judged.
    """

    synthesizer: "Synthesizer"
    train: pd.DataFrame
    holdout: pd.DataFrame | None
    synthetic: pd.DataFrame | None
    output: Path | None = None
    report: "EvaluationReport | None" = None
    fit_seconds: float = 0.0
    sample_seconds: float = 0.0
    judge_seconds: float | None = None
    summary: dict[str, Any] = field(default_factory=dict)


def split_holdout(df: pd.DataFrame, share: float = 0.2, seed: int = 0) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Keep a random ``share`` of the rows away from training, so a report has an honest ceiling.

    Returns (train, holdout), both with a fresh 0..n-1 index; the same table, share and seed give the same
    split. Rows are told apart by position, so a table whose index repeats splits correctly too.
    """
    if not isinstance(df, pd.DataFrame):
        raise LookalikeError(f"split_holdout expects a pandas DataFrame, got {type(df).__name__}")
    if not 0 < share < 1:
        raise LookalikeError(f"the holdout share must be between 0 and 1 (exclusive), got {share}")
    if len(df) < MIN_ROWS_FOR_HOLDOUT:
        raise LookalikeError(f"holding rows out needs at least {MIN_ROWS_FOR_HOLDOUT} rows, the data has {len(df)}")
    rows = df.reset_index(drop=True)
    holdout = rows.sample(frac=share, random_state=seed)
    return rows.drop(index=holdout.index).reset_index(drop=True), holdout.reset_index(drop=True)


def split_holdout_entities(df: pd.DataFrame, entity: str, share: float = 0.2,
                           seed: int = 0) -> tuple[pd.DataFrame, pd.DataFrame]:
    """A sequence table's holdout: a random ``share`` of the *entities*, each with all its rows (a split by
    rows would leak every entity into both sides). Returns (train, holdout) with fresh indexes."""
    if entity not in df.columns:
        raise LookalikeError(f"entity column '{entity}' is not in the table")
    if not 0 < share < 1:
        raise LookalikeError(f"the holdout share must be between 0 and 1 (exclusive), got {share}")
    keys = df[entity].astype(str)
    unique = keys.drop_duplicates()
    if len(unique) < 4:
        raise LookalikeError(f"holding entities out needs at least 4 entities, the data has {len(unique)}")
    held = set(unique.sample(frac=share, random_state=seed))
    mask = keys.isin(held).to_numpy()
    return df.loc[~mask].reset_index(drop=True), df.loc[mask].reset_index(drop=True)


def stage_spans(judging: bool = False) -> dict[str, tuple[float, float]]:
    """The share of ``synthesize``'s overall progress each stage covers: {stage: (start, end)}."""
    if judging:
        return {"fitting": (0.0, 0.85), "sampling": (0.85, 0.95), "judging": (0.95, 1.0)}
    return {"fitting": (0.0, 0.9), "sampling": (0.9, 1.0)}


def make_synthesizer(*, model: str = "auto", seed: int = 0, max_epochs: int | None = None,
                     max_time: float | None = None, schema: "TableSchema | dict | str | Path | None" = None,
                     model_params: dict[str, Any] | None = None, verbose: bool = False,
                     rare: str | None = None, dp: dict | None = None, entity: str | None = None,
                     order: str | None = None, fairness: dict | None = None,
                     text_model: str = "lm", text_params: dict[str, Any] | None = None,
                     hidden_entities: bool = False) -> "Synthesizer":
    """An unfitted Synthesizer from the workflow's settings (``model_params`` go to the generator; ``rare``:
    what a category's tail becomes, see ``Synthesizer``; ``dp``: differential privacy,
    ``{"epsilon": 1.0, "delta": 1e-5}``); with ``entity`` a sequence model (one sequence of rows per entity,
    ordered by ``order``); ``fairness``: ``{"target": ..., "sensitive": [...]}``, the target generated with
    statistical parity across the sensitive groups (see ``lookalike.fairness``);
    ``text_model``: "lm" (a language model per free-text column), "chain" or the directory of a local
    pretrained Hugging Face causal LM; ``text_params``: that model's settings (temperature, max_time, ...);
    ``hidden_entities``: keep a group of columns fixed by an unnamed entity as joint profiles (see ``Synthesizer``)."""
    from lookalike.synthesizer import Synthesizer

    kwargs: dict[str, Any] = {}
    if entity is not None and fairness is not None:
        raise LookalikeError("fairness covers single tables only; sequence models (entity=...) do not take it")
    if fairness is not None:
        kwargs["fairness"] = fairness
    if entity is not None:
        if dp is not None or rare is not None or hidden_entities:
            raise LookalikeError("sequence models (entity=...) take neither dp, rare nor hidden_entities yet: "
                                 "differential privacy, the long-tail choice and hidden entities cover single "
                                 "tables only")
        kwargs.update(entity=entity, order=order)
    else:
        kwargs.update(rare=rare, dp=dict(dp) if dp is not None else None, hidden_entities=bool(hidden_entities))
    kwargs.update(text_model=text_model, text_params=dict(text_params) if text_params else None)
    return Synthesizer(model=model, seed=seed, max_epochs=max_epochs, max_time=max_time, schema=schema,
                       verbose=verbose, model_params=dict(model_params) if model_params else None, **kwargs)


def synthesize(df: pd.DataFrame, *, n: int | None = None, output: str | Path | None = None, force: bool = False,
               model: str = "auto", seed: int = 0, max_epochs: int | None = None, max_time: float | None = None,
               schema: "TableSchema | dict | str | Path | None" = None, model_params: dict[str, Any] | None = None,
               holdout_share: float | None = None, target: str | None = None, report: bool | None = None,
               verbose: bool = False, progress: Progress | None = None, rare: str | None = None,
               dp: dict | None = None, entity: str | None = None, order: str | None = None,
               context: pd.DataFrame | None = None, fairness: dict | None = None,
               text_model: str = "lm", text_params: dict[str, Any] | None = None,
               hidden_entities: bool = False) -> SynthesisResult:
    """Split off a holdout (when ``holdout_share`` is set), fit, sample and judge: the whole workflow.

    n: rows to generate (default: as many as the rows trained on). output: a .csv or .parquet path to stream
    the rows to in batches (bounded memory; refused if it exists unless ``force``); without it the rows come
    back in ``result.synthetic``. model, seed, max_epochs, max_time, schema, model_params, verbose: the
    Synthesizer's settings; ``seed`` also seeds the split and the sample, so the same table and settings give
    the same result. holdout_share: share of rows kept away from training to judge against (0.2 is a good
    choice; None trains on every row). target: the column the report's utility test predicts.
    report: whether to evaluate the result (default: when there is a holdout). rare: what a category's tail
    becomes (generate, placeholder or drop; None: as the schema says, else generate). dp: fit with differential
    privacy (``{"epsilon": 1.0, "delta": 1e-5}``); the report then records the budget.
    entity / order / context: a sequence table (one sequence per entity, ordered by ``order``; ``context`` the
    optional entity table): ``n`` then counts entities, the holdout is a share of the entities, and the report
    gains its sequences section. fairness: ``{"target": ..., "sensitive": [...]}`` generates the target with
    statistical parity across the sensitive groups; the report then compares the fair rows with the same
    generator's plain sample (same seed) in its fair-synthesis section.
    text_model: how free-text columns are written ("lm", "chain" or a local pretrained model's directory);
    text_params: that text model's settings. hidden_entities: see ``make_synthesizer``.
    """
    if not isinstance(df, pd.DataFrame):
        raise LookalikeError(f"synthesize expects a pandas DataFrame, got {type(df).__name__}")
    if n is not None and (isinstance(n, bool) or not isinstance(n, numbers.Integral) or n <= 0):
        raise LookalikeError(f"n must be a positive number of rows, got {n!r}")
    if target is not None and target not in df.columns:
        raise LookalikeError(f"target: unknown column '{target}'; the table has: {', '.join(map(str, df.columns))}")
    judging = holdout_share is not None if report is None else bool(report)
    spans = stage_spans(judging)
    syn = make_synthesizer(model=model, seed=seed, max_epochs=max_epochs, max_time=max_time, schema=schema,
                           model_params=model_params, verbose=verbose, rare=rare, dp=dp, entity=entity,
                           order=order, fairness=fairness,
                           text_model=text_model, text_params=text_params, hidden_entities=hidden_entities)
    if holdout_share is None:
        train, holdout = df, None
    elif entity is not None:
        train, holdout = split_holdout_entities(df, entity, holdout_share, seed)
    else:
        train, holdout = split_holdout(df, holdout_share, seed)

    started = time.perf_counter()
    if entity is not None:
        syn.fit(train, context=context, progress=_stage(progress, "fitting", spans))
    else:
        syn.fit(train, progress=_stage(progress, "fitting", spans))
    fit_seconds = time.perf_counter() - started

    started = time.perf_counter()
    sampling = _stage(progress, "sampling", spans)
    synthetic, path = None, None
    if output is not None:
        path = syn.sample_to_file(n, output, seed=seed, force=force, progress=sampling)
    else:
        synthetic = syn.sample(n, seed=seed, progress=sampling)
    sample_seconds = time.perf_counter() - started

    result = SynthesisResult(synthesizer=syn, train=train, holdout=holdout, synthetic=synthetic, output=path,
                             fit_seconds=fit_seconds, sample_seconds=sample_seconds)
    if judging:
        started = time.perf_counter()
        judged = synthetic if synthetic is not None else _read_back(path)
        options = {"entity": entity, "order": order} if entity is not None else {}
        if getattr(syn, "dp_", None):
            options["dp"] = syn.dp_
        if fairness is not None:
            options.update(fairness_options(syn, len(judged), seed))
        result.report = judge(train, judged, holdout, target, progress=_stage(progress, "judging", spans), **options)
        result.judge_seconds = time.perf_counter() - started
        result.summary = summary(result.report)
    if progress is not None:
        progress(1.0, "done")
    return result


def fairness_options(syn: "Synthesizer", n: int, seed: int) -> dict[str, Any]:
    """What the report's fair-synthesis section needs: the setting, and the plain sample of the same generator
    and seed (the same rows but the target) to compare the fair rows with."""
    from lookalike.fairness import check_fairness

    return {"fairness": check_fairness(syn.fairness), "plain": syn.sample(n, seed=seed, fair=False)}


def judge(train: pd.DataFrame, synthetic: pd.DataFrame, holdout: pd.DataFrame | None = None,
          target: str | None = None, *, progress: Progress | None = None, **options: Any) -> "EvaluationReport":
    """Evaluate ``synthetic`` against the real ``train`` rows (and the ``holdout`` it never saw).

    ``options`` go to ``lookalike.evaluate.evaluate`` (sensitive, seed, max_rows, ...). ``summary(report)``
    gives the headline numbers as a plain dict.
    """
    from lookalike.evaluate import evaluate

    if progress is not None:
        progress(0.0, "fidelity, utility and privacy")
    report = evaluate(train=train, synthetic=synthetic, holdout=holdout, target=target, **options)
    if progress is not None:
        progress(1.0, "judged")
    return report


def summary(report: "EvaluationReport") -> dict[str, Any]:
    """The report's headline numbers (``SUMMARY_KEYS``) as a plain dict; a number the report lacks is None."""
    return {key: report.metrics.get(key) for key in SUMMARY_KEYS}


def _stage(progress: Progress | None, stage: str, spans: dict[str, tuple[float, float]]) -> Progress | None:
    """A callback for one stage that reports into the overall run, announcing the stage as it starts."""
    if progress is None:
        return None
    low, high = spans[stage]
    progress(low, stage)

    def update(fraction: float, message: str = "") -> None:
        fraction = min(max(float(fraction), 0.0), 1.0)
        progress(low + (high - low) * fraction, f"{stage}: {message}" if message else stage)

    return update


def _read_back(path: Path) -> pd.DataFrame:
    from lookalike.io import read_table

    return read_table(path)
