"""``evaluate``: real train + synthetic (+ real holdout) -> flat metrics and nested details.

Every synthetic score is shown beside the real holdout's own score (the honest ceiling: fresh real data)
and, for dependence, beside the floor (each column shuffled on its own: right marginals, no dependence).
"""
from __future__ import annotations

import numpy as np
import pandas as pd
from threadpoolctl import threadpool_limits

from lookalike.errors import LookalikeError
from lookalike.evaluate import discriminator, fairness, fidelity, granularity, pii, privacy, utility
from lookalike.evaluate.prepare import (CATEGORICAL, NUMERIC, TAIL_NOTE, Binner, _as_text, canonical,
                                        check_columns, evaluation_kind, infer_columns, sample_rows)
from lookalike.schema.columns import Kind, TableSchema
from lookalike.evaluate.report import EvaluationReport, to_plain

MAX_PAIRS = 1000
MAX_TRIPLES = 300
DISCRIMINATOR_ROWS = 20_000
PRIVACY_ROWS = 10_000
MAX_PLOTTED_COLUMNS = 60


def evaluate(train: pd.DataFrame, synthetic: pd.DataFrame, holdout: pd.DataFrame | None = None,
             target: str | None = None, sensitive: str | None = None, seed: int = 0, max_rows: int = 50_000,
             positive_class=None, n_threads: int = 1, schema: TableSchema | dict | None = None,
             dp: dict | None = None, entity: str | None = None, order: str | None = None,
             fairness: dict | None = None, plain: pd.DataFrame | None = None) -> EvaluationReport:
    """Measure fidelity, granularity, utility, privacy and (with ``sensitive``) fairness of ``synthetic``.

    train: the real rows the generator learned from. holdout: real rows it never saw (strongly recommended:
    ceilings, TSTR and every privacy test except exact copies need it). target: column for TSTR/TRTR.
    sensitive: column whose groups fairness compares. positive_class: the target class fairness and binary
    scores treat as positive (default: the rarest real class). Tables above ``max_rows`` are sampled (seeded).
    n_threads: threads for the OpenMP/BLAS pools; 1 by default because OpenMP spin-waiting on a busy machine
    made gradient boosting ~8x slower with 2 threads than with 1 in our measurements.
    entity / order: sequence tables (one sequence per entity; the holdout split by entity): the row-level
    figures are computed without the entity key, and ``sequences`` (``lookalike.evaluate.sequences``) adds
    length, autocorrelation, transition, gap, entity-level discriminator and TSTR figures, and copied sequences.
    schema: the fitted schema (e.g. ``Synthesizer.schema_``) to measure columns by; columns it does not
    describe, or all without it, get their kind from schema inference on ``train``. Numbers and dates become
    numeric and datetime; every other kind is compared as labels (see ``prepare.evaluation_kind``).
    dp: the differential-privacy record of the fit (``Synthesizer.dp_``), shown as given: mechanisms,
    epsilon, delta and the budget split (evaluation reaches no generator, so it comes in as data).
    fairness / plain: the synthetic table was generated fair (``{"target": ..., "sensitive": [...]}``, as given
    to the Synthesizer); ``plain`` is the same generator's sample without it. The report gains the before/after
    section ``fair_synthesis`` (``lookalike.evaluate.fairness.fair_synthesis``).
    """
    if isinstance(schema, dict):
        schema = TableSchema.from_dict(schema)
    with threadpool_limits(limits=n_threads):
        if entity is None:
            report = _evaluate(train, synthetic, holdout, target, sensitive, seed, max_rows, positive_class, schema,
                               fairness, plain)
            return _with_dp(report, dp)
        from lookalike.evaluate.sequences import sequence_metrics

        if entity not in train.columns:
            raise LookalikeError(f"entity column '{entity}' is not in the train table")
        seq = sequence_metrics(train, synthetic, holdout, entity, order, target=target, seed=seed)
        drop = lambda f: None if f is None else f.drop(columns=[entity], errors="ignore")  # noqa: E731
        report = _evaluate(drop(train), drop(synthetic), drop(holdout), target, sensitive, seed, max_rows,
                           positive_class, schema)
        report.details["sequences"] = seq.pop("details")
        report.details["sequences"]["entity"], report.details["sequences"]["order"] = entity, order
        report.metrics.update({f"sequence_{k}": v for k, v in seq.items()})
        return _with_dp(report, dp)


def _with_dp(report: EvaluationReport, dp: dict | None) -> EvaluationReport:
    """The differential-privacy record (mechanism, epsilon, delta, split) shown beside the metrics."""
    if dp:
        report.details["dp"] = to_plain(dp)
        report.metrics.update(to_plain({"dp_epsilon": dp.get("epsilon"), "dp_delta": dp.get("delta"),
                                        "dp_epsilon_spent": dp.get("epsilon_spent")}))
    return report


def _evaluate(train, synthetic, holdout, target, sensitive, seed, max_rows, positive_class,
              schema=None, fair=None, plain=None) -> EvaluationReport:
    _validate(train, synthetic, holdout, target, sensitive, max_rows)
    if fair is not None:
        for col in [fair["target"], *([fair["sensitive"]] if isinstance(fair["sensitive"], str) else fair["sensitive"])]:
            if col not in train.columns:
                raise LookalikeError(f"fairness column '{col}' is not in the table")
        if plain is not None:
            check_columns(train, plain, "plain synthetic")
    rows_in = {"train": len(train), "synthetic": len(synthetic), "holdout": None if holdout is None else len(holdout)}
    train_sample = sample_rows(train, max_rows, seed)
    described = infer_columns(train_sample, schema)
    # Columns replaced as PII are filled with fake values, and keys (unique, or an entity's id repeated over its
    # rows) with fresh ones, not learned: they are left out of every row-level figure below and checked on their
    # own (evaluate.pii). A target or sensitive column is always kept.
    pii_columns = {col: c.options.get("pii", "pii") for col, c in described.items()
                   if c.kind == Kind.PII and col not in (target, sensitive)}
    id_columns = {col: "entity id" if c.options.get("repeated") else "key" for col, c in described.items()
                  if c.kind == Kind.ID and col not in (target, sensitive)}
    replaced = {**pii_columns, **id_columns}
    if len(replaced) == len(described):
        raise LookalikeError(f"every column ({', '.join(map(str, replaced))}) is personal data or a key replaced by "
                             "fresh values; there is nothing learned to evaluate")
    described = {col: c for col, c in described.items() if col not in replaced}
    kinds = {col: evaluation_kind(c.kind) for col, c in described.items()}
    replaced_train, replaced_synth = train[list(replaced)], synthetic[list(replaced)]
    replaced_hold = None if holdout is None else holdout[list(replaced)]
    train, synthetic = train.drop(columns=list(replaced)), synthetic.drop(columns=list(replaced))
    holdout = None if holdout is None else holdout.drop(columns=list(replaced))
    train_sample = train_sample.drop(columns=list(replaced))
    train_c = canonical(train_sample, kinds, described)
    synth_c = canonical(sample_rows(synthetic, max_rows, seed + 1), kinds, described)
    hold_c = None if holdout is None else canonical(sample_rows(holdout, max_rows, seed + 2), kinds, described)
    _check_kinds(train_c, synth_c, kinds)

    columns = list(kinds)
    binner = Binner().fit(train_c, kinds)
    codes_tr, codes_sy = binner.transform(train_c), binner.transform(synth_c)
    codes_ho = None if hold_c is None else binner.transform(hold_c)
    n_bins = [binner.n_bins_[c] for c in columns]
    details: dict = {"meta": {
        "rows_given": rows_in,
        "rows_used": {"train": len(train_c), "synthetic": len(synth_c), "holdout": None if hold_c is None else len(hold_c)},
        "sampled": any(v is not None and v > max_rows for v in rows_in.values()),
        "max_rows": max_rows, "seed": seed, "kinds": kinds, "target": target, "sensitive": sensitive,
        "schema_kinds": {col: c.kind for col, c in described.items()},
        "floor_source": "train",
    }}
    metrics: dict = {}

    # -- personal data: only whether synthetic values equal real ones ------------------------------------
    checked = pii.pii_check(replaced_train, replaced_synth, replaced_hold, replaced)
    details["pii"] = {col: checked[col] for col in pii_columns}
    details["keys"] = {col: checked[col] for col in id_columns}
    details["meta"]["pii_columns"] = list(pii_columns)
    details["meta"]["id_columns"] = list(id_columns)
    metrics["id_columns"] = len(id_columns)
    shares = [p["synthetic_equal_real_share"] for p in details["pii"].values() if p["synthetic_equal_real_share"] is not None]
    metrics["pii_columns"] = len(pii_columns)
    metrics["pii_equal_real_share_worst"] = max(shares) if shares else None

    # -- fidelity --------------------------------------------------------------------------------
    # Univariate accuracy and coverage count a category's tail as one bin (values seen in fewer than k
    # training rows, and values training never had: generated or placeholder ones); see prepare.Binner.
    rare_k = schema.k if schema is not None else 5
    details["meta"]["rare_k"] = rare_k
    details["meta"]["tail_note"] = TAIL_NOTE.format(k=rare_k)
    uni_binner = Binner(rare_k=rare_k).fit(train_c, kinds)
    uni_tr, uni_sy = uni_binner.transform(train_c), uni_binner.transform(synth_c)
    uni_hold = None if hold_c is None else uni_binner.transform(hold_c)
    uni_bins = [uni_binner.n_bins_[c] for c in columns]
    singles = [(j,) for j in range(len(columns))]
    uni = fidelity.accuracy(uni_tr, uni_sy, uni_bins, singles)
    uni_ho = None if uni_hold is None else fidelity.accuracy(uni_tr, uni_hold, uni_bins, singles)
    details["univariate"] = {}
    for j, col in enumerate(columns):
        details["univariate"][col] = {
            "kind": kinds[col], "accuracy": float(uni[j]),
            "accuracy_holdout": None if uni_ho is None else float(uni_ho[j]),
            "labels": uni_binner.labels_[col],
            "real": fidelity._freq(uni_tr[:, j], uni_bins[j]).tolist(),
            "synthetic": fidelity._freq(uni_sy[:, j], uni_bins[j]).tolist(),
            "holdout": None if uni_hold is None else fidelity._freq(uni_hold[:, j], uni_bins[j]).tolist(),
        }
    metrics["univariate_accuracy"] = float(uni.mean())
    metrics["univariate_accuracy_holdout"] = None if uni_ho is None else float(uni_ho.mean())

    pairs = fidelity.column_pairs(len(columns), MAX_PAIRS, seed)
    # The floor (DESIGN.md): what a table with train's marginals and no dependence at all scores, i.e. the
    # training data with each column shuffled on its own.
    floor_codes = fidelity.shuffle_columns(codes_tr, seed)
    if pairs:
        biv = fidelity.accuracy(codes_tr, codes_sy, n_bins, pairs)
        biv_ho = None if codes_ho is None else fidelity.accuracy(codes_tr, codes_ho, n_bins, pairs)
        biv_floor = fidelity.accuracy(codes_tr, floor_codes, n_bins, pairs)
        biv_sy_shuffled = fidelity.accuracy(codes_tr, fidelity.shuffle_columns(codes_sy, seed), n_bins, pairs)
        metrics["bivariate_accuracy"] = float(biv.mean())
        metrics["bivariate_accuracy_holdout"] = None if biv_ho is None else float(biv_ho.mean())
        metrics["bivariate_floor"] = float(biv_floor.mean())
        # Dependence capture (DESIGN.md): (bivariate - floor) / (ceiling - floor); 0 = no dependence learned,
        # 1 = as much as fresh real data. It can exceed 1 when the holdout's own sampling noise lowers the
        # ceiling, so a paired variant is kept too: each table against its own shuffled self, which cancels
        # marginal errors (see the report's methods section).
        ceiling = metrics["bivariate_accuracy_holdout"] if biv_ho is not None else 1.0
        real_gain = ceiling - metrics["bivariate_floor"]
        syn_gain = metrics["bivariate_accuracy"] - float(biv_sy_shuffled.mean())
        metrics["dependence_capture"] = (float((metrics["bivariate_accuracy"] - metrics["bivariate_floor"]) / real_gain)
                                         if real_gain > 1e-9 else None)
        if biv_ho is not None:
            hold_gain = ceiling - float(fidelity.accuracy(codes_tr, fidelity.shuffle_columns(codes_ho, seed),
                                                          n_bins, pairs).mean())
        else:
            hold_gain = real_gain
        metrics["dependence_capture_paired"] = float(syn_gain / hold_gain) if hold_gain > 1e-9 else None
        # A smaller sample scores lower on these accuracies by sampling noise alone, so the holdout's ceiling is
        # fair only against a synthetic sample of the holdout's size: averaged over 5 seeded subsamples.
        if codes_ho is not None and len(codes_ho) < len(codes_sy):
            draws = [np.random.default_rng([seed, 11, i]).choice(len(codes_sy), len(codes_ho), replace=False)
                     for i in range(5)]
            metrics["univariate_accuracy_at_holdout_size"] = float(np.mean(
                [fidelity.accuracy(uni_tr, uni_sy[d], uni_bins, singles).mean() for d in draws]))
            metrics["bivariate_accuracy_at_holdout_size"] = float(np.mean(
                [fidelity.accuracy(codes_tr, codes_sy[d], n_bins, pairs).mean() for d in draws]))
        else:
            metrics["univariate_accuracy_at_holdout_size"] = metrics["univariate_accuracy"]
            metrics["bivariate_accuracy_at_holdout_size"] = metrics["bivariate_accuracy"]
        details["bivariate"] = {"pairs": [
            {"a": columns[a], "b": columns[b], "accuracy": float(biv[k]), "floor": float(biv_floor[k]),
             "accuracy_holdout": None if biv_ho is None else float(biv_ho[k])} for k, (a, b) in enumerate(pairs)],
            "pairs_total": len(columns) * (len(columns) - 1) // 2, "pairs_used": len(pairs),
            "synthetic_shuffled": float(biv_sy_shuffled.mean()),
            "real_dependence_gain": real_gain, "synthetic_dependence_gain": syn_gain,
            "ceiling_source": "holdout" if biv_ho is not None else "none (1.0 used as ceiling)"}
    else:
        metrics.update(bivariate_accuracy=None, bivariate_accuracy_holdout=None, bivariate_floor=None,
                       dependence_capture=None, dependence_capture_paired=None,
                       univariate_accuracy_at_holdout_size=metrics["univariate_accuracy"],
                       bivariate_accuracy_at_holdout_size=None)
        details["bivariate"] = {"pairs": [], "pairs_total": 0, "pairs_used": 0}

    triples = fidelity.column_triples(len(columns), MAX_TRIPLES, seed)
    if triples:
        tri = fidelity.accuracy(codes_tr, codes_sy, n_bins, triples)
        tri_ho = None if codes_ho is None else fidelity.accuracy(codes_tr, codes_ho, n_bins, triples)
        tri_floor = fidelity.accuracy(codes_tr, floor_codes, n_bins, triples)
        metrics["trivariate_accuracy"] = float(tri.mean())
        metrics["trivariate_accuracy_holdout"] = None if tri_ho is None else float(tri_ho.mean())
        details["trivariate"] = {"triples_used": len(triples), "floor": float(tri_floor.mean())}
    else:
        metrics["trivariate_accuracy"] = metrics["trivariate_accuracy_holdout"] = None
        details["trivariate"] = {"triples_used": 0, "floor": None}

    shown = columns[:MAX_PLOTTED_COLUMNS]
    idx = [columns.index(c) for c in shown]
    sub_bins = [n_bins[j] for j in idx]
    details["correlation"] = {
        "columns": shown,
        "cramers_v_real": fidelity.cramers_v_matrix(codes_tr[:, idx], sub_bins).tolist(),
        "cramers_v_synthetic": fidelity.cramers_v_matrix(codes_sy[:, idx], sub_bins).tolist(),
        "cramers_v_holdout": None if codes_ho is None else fidelity.cramers_v_matrix(codes_ho[:, idx], sub_bins).tolist(),
    }
    numeric_cols = fidelity.numeric_columns(kinds)
    if len(numeric_cols) >= 2:
        real_corr = fidelity.numeric_correlations(train_c, numeric_cols)
        syn_corr = fidelity.numeric_correlations(synth_c, numeric_cols)
        details["correlation"]["numeric_columns"] = numeric_cols
        for method in ("pearson", "spearman"):
            details["correlation"][f"{method}_real"] = real_corr[method].tolist()
            details["correlation"][f"{method}_synthetic"] = syn_corr[method].tolist()
            details["correlation"][f"{method}_max_abs_difference"] = float(np.abs(real_corr[method] - syn_corr[method]).max())
    details["coverage"] = fidelity.coverage(train_c, synth_c, kinds, rare_k=rare_k)
    details["missing"] = {"real": fidelity.missing_rates(train_c), "synthetic": fidelity.missing_rates(synth_c),
                          "holdout": None if hold_c is None else fidelity.missing_rates(hold_c)}

    disc = discriminator.discriminator_auc(train_c, synth_c, kinds, seed, DISCRIMINATOR_ROWS)
    details["discriminator"] = disc
    metrics["discriminator_auc"] = disc["auc"]
    if hold_c is not None:
        disc_ho = discriminator.discriminator_auc(train_c, hold_c, kinds, seed, DISCRIMINATOR_ROWS,
                                                  with_importances=False)
        details["discriminator_holdout"] = disc_ho
        metrics["discriminator_auc_holdout"] = disc_ho["auc"]
    else:
        metrics["discriminator_auc_holdout"] = None

    # -- granularity -------------------------------------------------------------------------------
    plain_numeric = [c for c in numeric_cols if kinds[c] == NUMERIC]
    details["granularity"] = granularity.granularity_table(train_c, synth_c, hold_c, plain_numeric, seed)
    metrics["granularity_worst_gap"] = granularity.worst_gap(details["granularity"])
    metrics["granularity_worst_gap_holdout"] = granularity.worst_gap(details["granularity"], "holdout")
    ratios = [g["synthetic_distinct"] / g["real_distinct"] for g in details["granularity"].values()
              if g.get("real_distinct")]
    metrics["distinct_ratio_worst"] = float(max(ratios)) if ratios else None  # issue 10: at most 1.5

    # -- privacy -----------------------------------------------------------------------------------
    priv = privacy.evaluate_privacy(train_c, synth_c, hold_c, kinds, seed, PRIVACY_ROWS)
    for key in ("dcr_share", "dcr_share_holdout", "dcr_mean", "nndr_mean", "exact_copy_share", "exact_copy_share_holdout",
                "membership_advantage", "singling_out_risk", "linkability_risk", "attribute_inference_risk"):
        metrics[key] = priv.get(key)
    metrics["privacy_verdict"], reasons = privacy.verdict(priv)
    priv["verdict_reasons"] = reasons
    details["privacy"] = priv

    # -- utility -----------------------------------------------------------------------------------
    util = None
    if target is not None:
        if hold_c is not None:
            fit_frame, test_frame, test_source = train_c, hold_c, "holdout"
        else:
            rng = np.random.default_rng(seed)
            mask = rng.random(len(train_c)) < 0.8
            fit_frame, test_frame = train_c[mask].reset_index(drop=True), train_c[~mask].reset_index(drop=True)
            test_source = "20% of train (no holdout: the generator saw these rows, so TSTR is optimistic)"
        util = utility.tstr(fit_frame, synth_c, test_frame, kinds, target, seed, positive=positive_class,
                            max_rows=max_rows)
        util["test_source"] = test_source
        util["test_frame"] = test_frame[pd.notna(test_frame[target].to_numpy())].reset_index(drop=True)
        metrics["tstr_score"] = util["tstr"]["score"]
        metrics["trtr_score"] = util["trtr"]["score"]
        metrics["tstr_metric"] = util["metric"]
    else:
        metrics["tstr_score"] = metrics["trtr_score"] = metrics["tstr_metric"] = None

    # -- fairness ----------------------------------------------------------------------------------
    if sensitive is not None:
        if target is None or util["task"] != "classification":
            details["fairness"] = {"note": "Fairness needs a classification target (pass target=...)."}
        else:
            pos = utility.positive_class(train_c[target], positive_class)
            pos = _as_text(pos) if kinds[target] == CATEGORICAL else pos
            details["fairness"] = fairness.evaluate_fairness(binner, train_c, synth_c, hold_c, sensitive, target,
                                                             pos, util)
    if fair is not None:
        sens = [fair["sensitive"]] if isinstance(fair["sensitive"], str) else list(fair["sensitive"])
        plain_c = None if plain is None else canonical(sample_rows(plain, max_rows, seed + 1), kinds, described)
        fs = fairness.fair_synthesis(train_c, synth_c, plain_c, hold_c, kinds, binner, fair["target"], sens, seed,
                                     positive=(_as_text(positive_class) if positive_class is not None and
                                               kinds[fair["target"]] == CATEGORICAL else None),
                                     pairs=pairs)
        details["fair_synthesis"] = fs
        metrics["fair_data_parity_gap"] = fs["data"]["fair"]["gap"]
        metrics["fair_data_parity_gap_real"] = fs["data"]["real"]["gap"]
        if fs["classifier"] is not None:
            for name in ("fair", "plain"):
                if name in fs["classifier"]:
                    metrics[f"fair_classifier_parity_gap_{name}"] = fs["classifier"][name]["parity_gap"]
                    metrics[f"fair_classifier_auc_{name}"] = fs["classifier"][name]["auc"]
    if util is not None:
        util.pop("test_frame")
        for name in ("trtr", "tstr"):
            util[name].pop("predictions")
        details["utility"] = util
    _text_section(train, synthetic, holdout, described, target, seed, details, metrics)
    return EvaluationReport(metrics=metrics, details=details)


def _text_section(train, synthetic, holdout, described, target, seed, details, metrics) -> None:
    """Free-text columns judged as text (``evaluate.text``); the first one's figures also go in the metrics."""
    columns = [c for c, s in described.items() if s.kind == Kind.TEXT]
    if not columns:
        return
    from lookalike.evaluate.text import text_metrics

    details["text"] = {c: text_metrics(train, synthetic, holdout, c, target=None if target == c else target,
                                       seed=seed) for c in columns}
    first = details["text"][columns[0]]
    for source, suffix in (("synthetic", ""), ("holdout", "_holdout")):
        for key in ("discriminator_auc_tfidf", "discriminator_auc_lengths", "word_similarity", "bigram_similarity",
                    "length_accuracy"):
            metrics[f"text_{key}{suffix}"] = first.get(source, {}).get(key)
        metrics[f"text_longest_shared_span_mean{suffix}"] = first.get(source, {}).get("memorisation", {}).get("mean")
    metrics["text_tstr_auc"], metrics["text_trtr_auc"] = first.get("tstr_auc"), first.get("trtr_auc")


def _validate(train, synthetic, holdout, target, sensitive, max_rows):
    for name, frame in (("train", train), ("synthetic", synthetic), ("holdout", holdout)):
        if frame is None and name == "holdout":
            continue
        if not isinstance(frame, pd.DataFrame):
            raise LookalikeError(f"{name} must be a pandas DataFrame, got {type(frame).__name__}")
    if len(train) < 2:
        raise LookalikeError("train table needs at least 2 rows")
    if train.columns.duplicated().any():
        dup = train.columns[train.columns.duplicated()].tolist()
        raise LookalikeError(f"train table has duplicated column name(s) {dup}")
    check_columns(train, synthetic, "synthetic")
    if holdout is not None:
        check_columns(train, holdout, "holdout")
    for role, col in (("target", target), ("sensitive", sensitive)):
        if col is not None and col not in train.columns:
            raise LookalikeError(f"{role} column '{col}' is not in the table; columns are: {', '.join(map(str, train.columns))}")
    if target is not None and train[target].nunique(dropna=True) < 2:
        raise LookalikeError(f"target column '{target}' has fewer than 2 distinct values in train")
    if max_rows < 10:
        raise LookalikeError(f"max_rows must be at least 10, got {max_rows}")


def _check_kinds(train_c, synth_c, kinds):
    """A numeric training column whose synthetic values are mostly not numbers is a user error worth naming."""
    for col, kind in kinds.items():
        if kind != CATEGORICAL:
            real_missing = np.isnan(train_c[col].to_numpy()).mean()
            syn_missing = np.isnan(synth_c[col].to_numpy()).mean()
            if syn_missing > 0.5 and syn_missing > real_missing + 0.4:
                raise LookalikeError(f"synthetic column '{col}': {syn_missing:.0%} of values are not {kind} "
                                     f"(train has {real_missing:.0%} missing); wrong column or format?")
