"""Free-text columns judged as text, each figure beside the real holdout's own (the ceiling).

- length: 1 - total variation distance of word counts (binned at the training deciles);
- words and bigrams: 1 - Jensen-Shannon distance (base 2) of lower-cased word and word-pair frequencies;
- discriminators: real-train vs synthetic texts told apart by TF-IDF (words and word pairs) + logistic
  regression, and by gradient boosting on lengths alone (characters, words, mean word length, digits,
  capitals, punctuation); 5-fold cross-validated AUC, 0.5 = indistinguishable;
- text-to-column consistency: TF-IDF + logistic regression predicting another column from the text, trained on
  synthetic (TSTR) or real train (TRTR), scored on the holdout (macro one-vs-rest AUC);
- memorisation: per text, the longest run of consecutive words it shares with any training text (capped at
  ``MAX_SPAN`` words), for synthetic texts and for holdout texts (what fresh text of the same kind shares).
"""
from __future__ import annotations

import re

import numpy as np
import pandas as pd
from scipy.spatial.distance import jensenshannon
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import roc_auc_score
from sklearn.model_selection import StratifiedKFold, cross_val_predict
from sklearn.pipeline import make_pipeline
from threadpoolctl import threadpool_limits

WORD = re.compile(r"\w+")
MAX_SPAN = 32
MAX_CLASSES = 10


def _words(texts: pd.Series) -> list[list[str]]:
    return [WORD.findall(str(t).lower()) for t in texts]


def length_accuracy(train: pd.Series, other: pd.Series) -> float:
    """1 - TVD of word counts, binned at the training deciles."""
    a = np.array([len(w) for w in _words(train)], float)
    b = np.array([len(w) for w in _words(other)], float)
    edges = np.unique(np.quantile(a, np.linspace(0, 1, 11)[1:-1]))
    fa = np.bincount(np.searchsorted(edges, a, side="right"), minlength=len(edges) + 1) / len(a)
    fb = np.bincount(np.searchsorted(edges, b, side="right"), minlength=len(edges) + 1) / max(len(b), 1)
    return float(1 - 0.5 * np.abs(fa - fb).sum())


def ngram_similarity(train: pd.Series, other: pd.Series, n: int) -> float:
    """1 - Jensen-Shannon distance (base 2) of word n-gram frequencies."""
    def counts(texts):
        grams = [" ".join(w[i:i + n]) for w in _words(texts) for i in range(len(w) - n + 1)]
        return pd.Series(grams, dtype=object).value_counts()

    a, b = counts(train), counts(other)
    if not len(a) or not len(b):
        return 0.0
    a, b = a.align(b, fill_value=0)
    return float(1 - jensenshannon(a.to_numpy(float), b.to_numpy(float), base=2))


def _length_features(texts: pd.Series) -> np.ndarray:
    s = texts.astype(str)
    words = s.str.split().str.len().to_numpy(float)
    chars = s.str.len().to_numpy(float)
    return np.column_stack([chars, words, chars / np.maximum(words, 1), s.str.count(r"\d").to_numpy(float),
                            s.str.count(r"[A-Z]").to_numpy(float), s.str.count(r"[^\w\s]").to_numpy(float)])


def discriminator_auc(real: pd.Series, other: pd.Series, seed: int = 0) -> dict[str, float]:
    """Cross-validated AUC of telling ``real`` from ``other`` (equal sizes): TF-IDF + logistic regression, and
    gradient boosting on length features."""
    n = min(len(real), len(other))
    if n < 10:
        return {"tfidf": None, "lengths": None}
    rng = np.random.default_rng(seed)
    a = real.iloc[rng.permutation(len(real))[:n]].astype(str).reset_index(drop=True)
    b = other.iloc[rng.permutation(len(other))[:n]].astype(str).reset_index(drop=True)
    x = pd.concat([a, b], ignore_index=True)
    y = np.r_[np.zeros(n), np.ones(n)]
    cv = StratifiedKFold(5, shuffle=True, random_state=seed)
    tfidf = make_pipeline(TfidfVectorizer(ngram_range=(1, 2), min_df=2, sublinear_tf=True),
                          LogisticRegression(C=1.0, max_iter=1000))
    try:
        p_text = cross_val_predict(tfidf, x, y, cv=cv, method="predict_proba")[:, 1]
    except ValueError:  # no word seen in two texts: TF-IDF has nothing to work with
        p_text = None
    gb = HistGradientBoostingClassifier(max_iter=100, random_state=seed)
    p_len = cross_val_predict(gb, _length_features(x), y, cv=cv, method="predict_proba")[:, 1]
    return {"tfidf": None if p_text is None else float(roc_auc_score(y, p_text)),
            "lengths": float(roc_auc_score(y, p_len))}


def _top_classes(y: pd.Series, reference: pd.Series) -> pd.Series:
    top = reference.astype(str).value_counts().index[:MAX_CLASSES]
    return y.astype(str).where(y.astype(str).isin(top), "(other)")


def text_to_column_auc(fit_x: pd.Series, fit_y: pd.Series, test_x: pd.Series, test_y: pd.Series,
                       reference: pd.Series) -> float | None:
    """Macro one-vs-rest AUC on the test rows of a TF-IDF + logistic regression fitted on (fit_x, fit_y);
    the classes are ``reference``'s ten most frequent plus '(other)'."""
    per_class = text_to_column_class_aucs(fit_x, fit_y, test_x, test_y, reference)
    aucs = [a for a in (per_class or {}).values() if a is not None]
    return float(np.mean(aucs)) if aucs else None


def text_to_column_class_aucs(fit_x: pd.Series, fit_y: pd.Series, test_x: pd.Series, test_y: pd.Series,
                              reference: pd.Series) -> dict[str, float | None] | None:
    """``text_to_column_auc``'s classifier, each test class's one-vs-rest AUC kept apart (None for a class the
    fit rows never hold); None when nothing can be learned (fewer than two classes, no shared words)."""
    fy, ty = _top_classes(fit_y, reference), _top_classes(test_y, reference)
    if fy.nunique() < 2 or ty.nunique() < 2:
        return None
    model = make_pipeline(TfidfVectorizer(ngram_range=(1, 2), min_df=2, sublinear_tf=True),
                          LogisticRegression(C=3.0, max_iter=2000))
    try:
        model.fit(fit_x.astype(str), fy)
    except ValueError:  # no word seen in two texts
        return None
    proba = model.predict_proba(test_x.astype(str))
    classes = list(model.classes_)
    out = {}
    for c in sorted(set(ty)):
        truth = (ty == c).to_numpy()
        out[c] = (float(roc_auc_score(truth, proba[:, classes.index(c)]))
                  if c in classes and 0 < truth.sum() < len(truth) else None)
    return out


def _hashes(docs: list[list[int]], n_max: int) -> tuple[list[np.ndarray], list[np.ndarray]]:
    """For n = 1..n_max: 64-bit hashes of every n-word window inside one text, and the text it lies in."""
    ids = np.array([w for d in docs for w in d], dtype=np.uint64)
    doc = np.repeat(np.arange(len(docs)), [len(d) for d in docs])
    out_h, out_d = [], []
    h = ids.copy()
    with np.errstate(over="ignore"):
        for n in range(1, n_max + 1):
            if n > 1:
                h = h[:-1] * np.uint64(1_000_003) + ids[n - 1:]
            valid = doc[: len(h)] == doc[n - 1: n - 1 + len(h)]
            out_h.append(h[valid])
            out_d.append(doc[: len(h)][valid])
    return out_h, out_d


def longest_shared_span(train: pd.Series, texts: pd.Series, max_span: int = MAX_SPAN) -> np.ndarray:
    """Per text, the most consecutive words (lower-cased) it shares with any one training text."""
    vocab: dict[str, int] = {}
    encode = lambda ws: [vocab.setdefault(w, len(vocab) + 1) for w in ws]  # noqa: E731
    train_h, _ = _hashes([encode(w) for w in _words(train)], max_span)
    query_h, query_d = _hashes([encode(w) for w in _words(texts)], max_span)
    best = np.zeros(len(texts), dtype=int)
    for n in range(1, max_span + 1):
        known = np.isin(query_h[n - 1], np.unique(train_h[n - 1]))
        if not known.any():
            break
        best[np.unique(query_d[n - 1][known])] = n
    return best


def _span_summary(spans: np.ndarray, exact: float) -> dict:
    return {"mean": float(spans.mean()), "p95": float(np.quantile(spans, 0.95)), "max": int(spans.max()),
            "share_8_or_more": float((spans >= 8).mean()), "exact_copy_share": exact}


def text_metrics(train: pd.DataFrame, synthetic: pd.DataFrame, holdout: pd.DataFrame | None, column: str,
                 target: str | None = None, seed: int = 0, max_texts: int = 5000, n_threads: int = 1) -> dict:
    """Every text figure for ``column``; with a holdout, the holdout's own figure beside each. n_threads: for
    the OpenMP/BLAS pools (1: spin-waiting threads on a busy machine cost more than they give)."""
    with threadpool_limits(limits=n_threads):
        return _text_metrics(train, synthetic, holdout, column, target, seed, max_texts)


def _text_metrics(train, synthetic, holdout, column, target, seed, max_texts) -> dict:
    def texts(df, offset):
        s = df[column].dropna().astype(str)
        s = s[s.str.strip() != ""]
        return s.sample(min(len(s), max_texts), random_state=seed + offset) if len(s) > max_texts else s

    tr, sy = texts(train, 0), texts(synthetic, 1)
    ho = None if holdout is None else texts(holdout, 2)
    out: dict = {"column": column, "texts": {"train": len(tr), "synthetic": len(sy),
                                             "holdout": None if ho is None else len(ho)}}
    if not len(tr):
        return out
    for name, other in (("synthetic", sy), ("holdout", ho)):
        if other is None or not len(other):
            continue
        out[name] = {
            "length_accuracy": length_accuracy(tr, other),
            "mean_words": float(np.mean([len(w) for w in _words(other)])),
            "word_similarity": ngram_similarity(tr, other, 1),
            "bigram_similarity": ngram_similarity(tr, other, 2),
            **{f"discriminator_auc_{k}": v for k, v in discriminator_auc(tr, other, seed).items()},
        }
        train_set = set(tr.str.strip().str.lower())
        exact = float(other.str.strip().str.lower().isin(train_set).mean())
        out[name]["memorisation"] = _span_summary(longest_shared_span(tr, other), exact)
    out["train_mean_words"] = float(np.mean([len(w) for w in _words(tr)]))
    if target is not None and ho is not None and target in holdout.columns:
        real = train.loc[tr.index]
        hold = holdout.loc[ho.index]
        syn = synthetic.loc[sy.index]
        out["target"] = target
        out["tstr_auc"] = text_to_column_auc(syn[column], syn[target], hold[column], hold[target], real[target])
        out["trtr_auc"] = text_to_column_auc(real[column], real[target], hold[column], hold[target], real[target])
    return out
