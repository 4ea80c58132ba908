"""The report's free-text figures: copies are caught, real text scores like real text, garbage is told apart."""
import numpy as np
import pandas as pd

from lookalike import evaluate
from lookalike.evaluate.text import longest_shared_span, text_metrics

WORDS = ("card loan app payment failed declined twice blocked crash login screen rate interest balance refund "
         "please my the was is not again today").split()


def table(n: int, seed: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    product = rng.choice(["card", "loan"], size=n)
    texts = [" ".join([p, *rng.choice(WORDS, size=rng.integers(4, 12))]) for p in product]
    return pd.DataFrame({"product": product, "text": texts})


def test_longest_shared_span_counts_consecutive_words():
    train = pd.Series(["the quick brown fox jumps", "a lazy dog sleeps"])
    spans = longest_shared_span(train, pd.Series(["quick brown fox", "the dog", "Lazy Dog Sleeps here", "nothing"]))
    assert spans.tolist() == [3, 1, 3, 0]


def test_copies_real_text_and_garbage_are_told_apart():
    train, holdout = table(240, 1), table(120, 2)
    copies = train.sample(120, random_state=0).reset_index(drop=True)
    garbage = holdout.assign(text=["zz " * 3 + "qq"] * len(holdout))
    real = text_metrics(train, holdout, holdout, "text", target="product")
    copied = text_metrics(train, copies, holdout, "text", target="product")
    bad = text_metrics(train, garbage, holdout, "text", target="product")
    assert real["holdout"]["discriminator_auc_tfidf"] < 0.65
    assert bad["synthetic"]["discriminator_auc_tfidf"] > 0.95 and bad["synthetic"]["word_similarity"] < 0.1
    assert copied["synthetic"]["memorisation"]["exact_copy_share"] == 1.0
    assert copied["synthetic"]["memorisation"]["mean"] > 2 * real["holdout"]["memorisation"]["mean"]
    assert real["trtr_auc"] > 0.85 and copied["tstr_auc"] > 0.85  # the first word names the product
    assert bad["tstr_auc"] is None or bad["tstr_auc"] < 0.6


def test_report_has_a_free_text_section(tmp_path):
    train, synth, holdout = table(120, 1), table(120, 3), table(60, 2)
    schema = {"columns": [{"name": "product", "kind": "categorical"}, {"name": "text", "kind": "text"}]}
    report = evaluate(train, synth, holdout, schema=schema)
    assert report.metrics["text_discriminator_auc_tfidf"] is not None
    assert report.metrics["text_longest_shared_span_mean_holdout"] is not None
    report.to_html(tmp_path / "r.html")
    html = (tmp_path / "r.html").read_text()
    assert "Free text" in html and "memorisation" in html
