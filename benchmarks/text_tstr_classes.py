"""Where text-to-column TSTR loses against TRTR, class by class, on the tuning split (never text.py's holdout).

text.py's TSTR is a macro one-vs-rest AUC over the target's ten most frequent values plus '(other)'; on
trump_tweets several of those classes have 1-7 holdout rows, so one class can move the mean a lot. This script
fits the lm row's Synthesizer on the tuning split's first part (``text_tuning.tune_split``), samples as many
rows, and prints per class: its rows in the real fit part, in the synthetic table and in the judged part, and
the one-vs-rest AUC of the TF-IDF classifier trained on
- real: the real fit part (TRTR),
- rules: the real fit part's texts rewritten by the text model's privacy rules (what any model may write),
- lm-text: the real fit part's rows with texts written by the fitted text model from their REAL tabular tokens
  (the class column is real: the text model alone),
- synthetic: the synthetic table (TSTR: the table model's class column and the text model together).
Run: ``OMP_NUM_THREADS=1 nice -n 10 python benchmarks/text_tstr_classes.py --table trump_tweets --seed 5``.
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from results_sections import update_section  # noqa: E402
from text import TABLES, TABULAR_SECONDS, schema_for  # noqa: E402
from text_tuning import tune_split  # noqa: E402

from lookalike import Synthesizer  # noqa: E402
from lookalike.evaluate.text import _top_classes, text_to_column_class_aucs  # noqa: E402


def per_class(fit_x, fit_y, test_x, test_y, reference) -> dict:
    """The report's text-to-column classifier (``text_to_column_class_aucs``), each class's rows and AUC."""
    aucs = text_to_column_class_aucs(fit_x, fit_y, test_x, test_y, reference) or {}
    fy, ty = _top_classes(fit_y, reference), _top_classes(test_y, reference)
    return {c: {"fit_rows": int((fy == c).sum()), "test_rows": int((ty == c).sum()), "auc": aucs.get(c)}
            for c in sorted(set(ty))}


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--table", default="trump_tweets")
    p.add_argument("--seed", type=int, default=5)
    p.add_argument("--params", default="{}", help="JSON text_params for the text model")
    args = p.parse_args()
    text, target = TABLES[args.table]
    fit_part, judge = tune_split(args.table)
    syn = Synthesizer(model="argn", seed=args.seed, max_time=TABULAR_SECONDS, schema=schema_for(fit_part, text),
                      text_params=json.loads(args.params) or None).fit(fit_part)
    synth = syn.sample(len(fit_part), seed=args.seed)
    lm = syn.text_models_[text]
    present = fit_part[text].notna().to_numpy()
    rules = fit_part.copy()
    rules.loc[present, text] = lm.rewrite(fit_part.loc[present, text].astype(str).tolist(), seed=args.seed)
    lm_text = fit_part.copy()
    lm_text.loc[present, text] = lm.generate(syn.encoder_.encode(fit_part)[present], seed=args.seed)
    judged = judge[judge[text].notna()]
    table = {}
    for name, df in (("real", fit_part), ("rules", rules), ("lm-text", lm_text), ("synthetic", synth)):
        df = df[df[text].notna()]
        table[name] = per_class(df[text], df[target], judged[text], judged[target], fit_part[target])
    lines = [f"## Text-to-column TSTR class by class ({args.table}, target `{target}`)", "",
             f"Written by `benchmarks/text_tstr_classes.py` (seed {args.seed}, text params "
             f"{json.loads(args.params) or 'default'}) on the tuning split of `benchmarks/text_tuning.py`, never "
             "the reported holdout: per class, its rows in each training set and the one-vs-rest AUC on the "
             f"{len(judged)} judged rows. *real*: the real fit part (TRTR); *rules*: its texts after the text "
             "model's privacy rules; *lm-text*: texts written by the fitted text model for the real rows (real "
             "class column); *synthetic*: the synthetic table (TSTR).", "",
             "| class | judged rows | " + " | ".join(f"{n} rows | {n} AUC" for n in table) + " |",
             "|---|---|" + "---|---|" * len(table)]
    for c in table["real"]:
        cells = []
        for n in table:
            r = table[n].get(c, {})
            cells += [str(r.get("fit_rows", 0)), "–" if r.get("auc") is None else f"{r['auc']:.3f}"]
        lines.append(f"| {c} | {table['real'][c]['test_rows']} | " + " | ".join(cells) + " |")
    macro = {n: [r["auc"] for r in table[n].values() if r["auc"] is not None] for n in table}
    lines += ["", "Macro AUC (the benchmark's TSTR/TRTR figure): " + "; ".join(
        f"{n} {np.mean(a):.3f} over {len(a)} classes" for n, a in macro.items()) + ". Synthetic "
        f"`{target}` values: " + ", ".join(f"{k} {v}" for k, v in synth[target].astype(str).value_counts().items())]
    print("\n".join(lines))
    update_section("text_tstr_classes", "\n".join(lines))


if __name__ == "__main__":
    main()
