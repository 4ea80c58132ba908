"""Unit tests for lookalike.evaluate on small seeded tables, with a second, independent implementation of
univariate/bivariate accuracy and DCR share to check the main one against."""
import json
from itertools import combinations

import numpy as np
import pandas as pd
import pytest

from lookalike.errors import LookalikeError
from lookalike.evaluate import evaluate
from lookalike.evaluate.granularity import main_unit

REQUIRED_KEYS = {
    "univariate_accuracy", "univariate_accuracy_holdout", "bivariate_accuracy", "bivariate_accuracy_holdout",
    "bivariate_floor", "dependence_capture", "trivariate_accuracy", "trivariate_accuracy_holdout",
    "discriminator_auc", "discriminator_auc_holdout", "dcr_share", "dcr_mean", "nndr_mean", "exact_copy_share",
    "exact_copy_share_holdout", "membership_advantage", "singling_out_risk", "linkability_risk",
    "attribute_inference_risk", "privacy_verdict", "tstr_score", "trtr_score", "tstr_metric",
    "granularity_worst_gap", "dcr_share_holdout",
}


def make_table(n, seed):
    """Income depends on age and job, amounts are whole hundreds, default depends on income."""
    rng = np.random.default_rng(seed)
    age = rng.integers(18, 80, n)
    job = rng.choice(["clerk", "nurse", "driver", "engineer"], n, p=[0.4, 0.3, 0.2, 0.1])
    base = {"clerk": 30, "nurse": 40, "driver": 35, "engineer": 70}
    income = np.array([base[j] for j in job]) * 1000 + age * 300 + rng.normal(0, 3000, n)
    amount = np.round(rng.gamma(2, 20, n)) * 100
    default = np.where(income + rng.normal(0, 8000, n) < 45000, "yes", "no")
    df = pd.DataFrame({"age": age, "job": job, "income": income.round(2), "amount": amount, "default": default})
    df.loc[rng.random(n) < 0.05, "income"] = np.nan
    return df


@pytest.fixture(scope="module")
def tables():
    return make_table(1200, 0), make_table(600, 1), make_table(600, 2)


# ---------------------------------------------------------------- independent reference implementation
def ref_bins(train_col, col):
    """Deciles / top-10 + other / missing, written independently of lookalike.evaluate.prepare."""
    if pd.api.types.is_numeric_dtype(train_col):
        edges = sorted(set(np.nanquantile(train_col.astype(float), [i / 10 for i in range(1, 10)])))
        out = []
        for v in col.astype(float):
            out.append("missing" if np.isnan(v) else sum(v >= e for e in edges))
        return out
    top = train_col.value_counts().index[:10].tolist()
    return ["missing" if pd.isna(v) else (v if v in top else "other") for v in col]


def ref_accuracy(a_labels, b_labels):
    pa = pd.Series(a_labels).value_counts(normalize=True)
    pb = pd.Series(b_labels).value_counts(normalize=True)
    keys = set(pa.index) | set(pb.index)
    return 1 - 0.5 * sum(abs(pa.get(k, 0) - pb.get(k, 0)) for k in keys)


def ref_dcr_share(train_s, hold_s, syn):
    """Brute force with the documented distance: numbers / (q95 - q05) of train, mismatch 1, missing mismatch 1."""
    def dist(x, y):
        total = 0.0
        for c in x.index:
            if isinstance(x[c], str) or isinstance(y[c], str):
                total += float(x[c] != y[c])
            else:
                xm, ym = pd.isna(x[c]), pd.isna(y[c])
                if xm or ym:
                    total += float(xm != ym)
                else:
                    total += ((x[c] - y[c]) / scales[c]) ** 2
        return np.sqrt(total)
    scales = {c: np.subtract(*np.nanquantile(train_all[c], [0.95, 0.05])) for c in train_all if
              pd.api.types.is_numeric_dtype(train_all[c])}
    shares = []
    for _, s in syn.iterrows():
        dt = min(dist(s, r) for _, r in train_s.iterrows())
        dh = min(dist(s, r) for _, r in hold_s.iterrows())
        shares.append(1.0 if dt < dh - 1e-9 else 0.5 if abs(dt - dh) <= 1e-9 else 0.0)
    return np.mean(shares)


def test_accuracy_agrees_with_independent_implementation(tables):
    train, holdout, synth = tables
    rep = evaluate(train, synth, holdout, seed=0)
    cols = list(train.columns)
    labels_tr = {c: ref_bins(train[c], train[c]) for c in cols}
    labels_sy = {c: ref_bins(train[c], synth[c]) for c in cols}
    uni = [ref_accuracy(labels_tr[c], labels_sy[c]) for c in cols]
    assert rep.metrics["univariate_accuracy"] == pytest.approx(np.mean(uni), abs=1e-9)
    for c, u in zip(cols, uni):
        assert rep.details["univariate"][c]["accuracy"] == pytest.approx(u, abs=1e-9)
    biv = [ref_accuracy(list(zip(labels_tr[a], labels_tr[b])), list(zip(labels_sy[a], labels_sy[b])))
           for a, b in combinations(cols, 2)]
    assert rep.metrics["bivariate_accuracy"] == pytest.approx(np.mean(biv), abs=1e-9)


def test_dcr_share_agrees_with_brute_force():
    global train_all
    train_all = make_table(100, 3)
    hold = make_table(100, 4)
    synth = pd.concat([train_all.iloc[:30], make_table(30, 5)], ignore_index=True)  # 30 copies, 30 fresh
    rep = evaluate(train_all, synth, hold, seed=0)
    expected = ref_dcr_share(train_all, hold, synth)
    assert rep.metrics["dcr_share"] == pytest.approx(expected, abs=1e-9)
    assert rep.metrics["exact_copy_share"] == pytest.approx(0.5)


def test_the_holdouts_own_dcr_share_is_the_reference_a_copy_exceeds():
    train, hold = make_table(1000, 6), make_table(600, 7)
    fresh = evaluate(train, make_table(600, 8), hold, seed=0).metrics
    copied = evaluate(train, train.sample(600, random_state=0), hold, seed=0).metrics
    assert 0.45 < fresh["dcr_share_holdout"] < 0.55  # fresh real rows against train: about half closer
    assert copied["dcr_share_holdout"] == fresh["dcr_share_holdout"]  # it does not look at the synthetic rows
    assert copied["dcr_share"] > 0.75 > 0.6 > fresh["dcr_share"]


def test_all_required_keys_and_holdout_variants_none(tables):
    train, holdout, synth = tables
    with_h = evaluate(train, synth, holdout, target="default", seed=0)
    assert REQUIRED_KEYS <= set(with_h.metrics)
    assert with_h.metrics["tstr_metric"] == "auc"
    assert with_h.metrics["privacy_verdict"] in {"pass", "review", "fail"}
    without = evaluate(train, synth, None, target="income", seed=0)
    assert REQUIRED_KEYS <= set(without.metrics)
    for key in REQUIRED_KEYS:
        if key.endswith("_holdout"):
            assert without.metrics[key] is None, key
    assert without.metrics["tstr_metric"] == "r2"
    assert "optimistic" in without.details["utility"]["test_source"]


def test_seeded_and_reproducible(tables):
    train, holdout, synth = tables
    a = evaluate(train, synth, holdout, target="default", seed=3)
    b = evaluate(train, synth, holdout, target="default", seed=3)
    assert a.to_json() == b.to_json()


def test_granularity_finds_rounding_unit_and_gap(tables):
    train, holdout, synth = tables
    assert main_unit(train["amount"].to_numpy(dtype=float)) == 100
    assert main_unit(np.array([0.5 * k for k in range(1, 41)] + [0.05 + 0.5 * k for k in range(40)])) == 0.5  # half on 0.5
    assert main_unit(np.array([0.05, 0.15, 0.35, 1.25])) == 0.05
    assert main_unit(np.random.default_rng(0).normal(size=100)) is None
    counts = np.random.default_rng(0).integers(1, 40, size=1000).astype(float)  # about half even, by chance
    assert main_unit(counts) == 1
    wide = np.arange(1.0, 101.0)
    assert main_unit(np.concatenate([np.repeat(wide[wide % 2 == 1], 77), np.repeat(wide[wide % 2 == 0], 123)])) == 1  # 61.5% even: under the 70% evens need
    assert main_unit(np.array([10.0 * k for k in range(1, 91)] + [5.0 + 10 * k for k in range(10)])) == 10  # 90% tens among fives
    few_evens = np.array([2.0 * k for k in range(1, 15)] + [3.0, 7.0, 11.0, 15.0, 19.0])  # 74% even; 14 of 19 happens by chance 3% of the time
    assert main_unit(few_evens) == 1
    assert main_unit(np.tile(few_evens, 10)) == 2  # the same shares on ten times the values are a unit
    schooling = np.array([12.0] * 500 + [16.0] * 250 + [8.0] * 50 + [10, 11, 13, 14, 15, 17, 18, 20] * 25)
    assert main_unit(schooling) == 1  # 85% even, but 8-20 holds 2 only six times: a distribution, not rounding
    loans = np.array([1000.0 * k for k in range(1, 36)] * 20 + [1234.0 + 37 * k for k in range(700)])
    assert main_unit(loans) == 1000  # half on thousands over 1,000-35,000: rounding
    noisy = synth.assign(amount=synth["amount"] + np.random.default_rng(0).normal(0, 3, len(synth)))
    rep = evaluate(train, noisy, holdout, seed=0)
    g = rep.details["granularity"]["amount"]
    assert g["unit"] == 100 and g["real_share"] == 1.0 and g["holdout_share"] == 1.0
    assert g["synthetic_share"] < 0.05
    assert rep.metrics["granularity_worst_gap"] > 0.95
    assert g["synthetic_distinct"] > 5 * g["real_distinct"]


def test_sampling_is_reported(tables):
    train, holdout, synth = tables
    rep = evaluate(train, synth, holdout, max_rows=300, seed=0)
    assert rep.details["meta"]["sampled"] is True
    assert rep.details["meta"]["rows_used"] == {"train": 300, "synthetic": 300, "holdout": 300}
    assert "were sampled" in rep.to_html()


def test_fairness_reports_parity_for_groups(tables):
    train, holdout, synth = tables
    rep = evaluate(train, synth, holdout, target="default", sensitive="job", seed=0)
    f = rep.details["fairness"]
    assert f["positive_class"] == "yes"  # the rarer class
    rates = f["demographic_parity_real"]["rates"]
    assert rates["engineer"] < rates["clerk"]  # engineers earn more, default less
    assert f["demographic_parity_real"]["difference"] == pytest.approx(max(rates.values()) - min(rates.values()))
    assert f["equal_opportunity_tstr"]["difference"] is not None


@pytest.mark.parametrize("kwargs, message", [
    (dict(target="nope"), "target column 'nope'"),
    (dict(sensitive="gender"), "sensitive column 'gender'"),
])
def test_bad_column_names_are_named(tables, kwargs, message):
    train, holdout, synth = tables
    with pytest.raises(LookalikeError, match=message):
        evaluate(train, synth, holdout, **kwargs)


def test_mismatched_columns_are_named(tables):
    train, holdout, synth = tables
    with pytest.raises(LookalikeError, match="missing column.*'amount'.*unexpected column.*'amt'"):
        evaluate(train, synth.rename(columns={"amount": "amt"}), holdout)
    with pytest.raises(LookalikeError, match="holdout table"):
        evaluate(train, synth, holdout.drop(columns="age"))
    with pytest.raises(LookalikeError, match="synthetic column 'age'"):
        evaluate(train, synth.assign(age="x"), holdout)


def test_json_and_html_written_atomically(tables, tmp_path):
    train, holdout, synth = tables
    rep = evaluate(train, synth, holdout, target="default", seed=0)
    text = rep.to_json(tmp_path / "m.json")
    loaded = json.loads((tmp_path / "m.json").read_text())
    assert loaded == json.loads(text) and set(loaded) == {"metrics", "details"}
    html = rep.to_html(tmp_path / "r.html")
    assert (tmp_path / "r.html").read_text(encoding="utf-8") == html
    assert html.count("<script src") == 0 and "fonts.googleapis" not in html
    assert html.count("Plotly.newPlot") >= len(train.columns)
    assert [p.name for p in tmp_path.iterdir()] and not list(tmp_path.glob(".*.tmp"))
    with pytest.raises(LookalikeError, match="already exists"):
        rep.to_html(tmp_path / "r.html", force=False)


def test_multiclass_target_uses_macro_auc_and_detects_useless_synthetic(tables):
    train, holdout, synth = tables
    good = evaluate(train, synth, holdout, target="job", seed=0)
    rng = np.random.default_rng(0)
    noise = synth.assign(job=rng.permutation(synth["job"].to_numpy()))  # job no longer tied to income
    bad = evaluate(train, noise, holdout, target="job", seed=0)
    assert good.metrics["tstr_metric"] == "auc" and good.details["utility"]["task"] == "classification"
    assert good.metrics["tstr_score"] > 0.7
    assert bad.metrics["tstr_score"] < 0.6 < good.metrics["tstr_score"]
    assert bad.metrics["dependence_capture"] < good.metrics["dependence_capture"]


def test_evaluation_never_imports_generator_code():
    import subprocess
    import sys
    code = ("import sys, lookalike.evaluate, lookalike.evaluate.cli; "
            "print([m for m in sys.modules if m.startswith(('lookalike.models', 'lookalike.synthesizer', 'torch'))])")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.strip()
    assert out == "[]"


def test_utility_scores_a_target_with_a_class_seen_once():
    """A many-valued target often has classes seen in one row; the utility model must still train and score."""
    rng = np.random.default_rng(0)
    df = pd.DataFrame({"x": rng.normal(size=400), "c": rng.choice(list("abc"), 400)})
    df["y"] = np.where(df["x"] > 0, "pos", "neg")
    df.loc[5, "y"] = "once"
    train, holdout = df.iloc[:300], df.iloc[300:]
    report = evaluate(train=train, synthetic=train.sample(frac=1, random_state=1), holdout=holdout, target="y")
    assert report.details["utility"]["task"] == "classification"
    assert report.metrics["tstr_score"] > 0.9  # x decides y: the model learned it despite the singleton class


def test_utility_scores_a_whole_number_score_target_with_missing_values():
    """A 0-10 score stored as float with gaps (carData's GSSvocab vocab) is a class target: TSTR trains on
    numeric labels (an object array of numbers made scikit-learn fail with 'Unknown label type'), and a
    few-valued number with fractions is a regression target."""
    rng = np.random.default_rng(0)
    df = pd.DataFrame({"x": rng.normal(size=600), "c": rng.choice(list("abc"), 600)})
    df["score"] = np.clip(np.round(5 + 2 * df["x"]), 0, 10).astype(float)
    df.loc[rng.choice(600, 30, replace=False), "score"] = np.nan
    train, holdout = df.iloc[:400], df.iloc[400:]
    report = evaluate(train=train, synthetic=train.sample(frac=1, random_state=1), holdout=holdout, target="score")
    assert report.details["utility"]["task"] == "classification"
    assert report.metrics["tstr_score"] > 0.9  # x decides the score
    halves = df.assign(score=df["score"] / 2)  # 0, 0.5, ..., 5: few values, not whole
    report = evaluate(train=halves.iloc[:400], synthetic=halves.iloc[:400], holdout=halves.iloc[400:], target="score")
    assert report.details["utility"]["task"] == "regression"


def test_utility_scores_a_synthetic_target_whose_values_the_holdout_never_has():
    """A generator that writes a 0-10 score with fractions (5.3) trains a model on classes the holdout lacks:
    TSTR is uninformative (macro AUC 0.5), not a crash."""
    rng = np.random.default_rng(0)
    df = pd.DataFrame({"x": rng.normal(size=600)})
    df["score"] = np.clip(np.round(5 + 2 * df["x"]), 0, 10).astype(float)
    train, holdout = df.iloc[:400], df.iloc[400:]
    synth = train.assign(score=train["score"] + 0.3)
    report = evaluate(train=train, synthetic=synth, holdout=holdout, target="score")
    assert report.details["utility"]["task"] == "classification"
    assert report.metrics["tstr_score"] == pytest.approx(0.5)
    assert report.metrics["trtr_score"] > 0.9
