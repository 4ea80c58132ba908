"""Differential privacy benchmark: utility at epsilon 1 and 3, and a membership-inference audit.

    nice -n 5 python benchmarks/dp.py [--tables credit_data mlc_churn lending_club] [--audit-runs 20]

Utility: each table's 70% train split (benchmarks/datasets.py) is fitted with ``dp-marginals`` and the DP
flagship (``argn`` with DP-SGD, few epochs to bound CPU) at delta 1e-5, and judged against the 30% holdout:
bivariate accuracy beside the floor (independent marginals) and the holdout's ceiling, and TSTR. Nothing is
declared public: kinds come from dtypes, bounds, bins and categories are all released by mechanisms.
smartnoise-synth's MST and AIM run in their own venv (/work/venvs/smartnoise) when it exists.

Audit: a planted outlier (an extreme, unique row) is added or not to a 1,000-row sample of credit_data;
``runs`` models are fitted on each of the two tables per setting; the attacker scores a model by how close
its nearest synthetic row comes to the outlier (after scaling). From the scores of IN and OUT models we take
the best true-positive rate at false-positive rates 0.05 and 0.1, and compare it with the most any
(eps, delta)-DP mechanism allows: TPR <= e^eps * FPR + delta.

Writes the section ``dp`` of benchmarks/RESULTS.md (see results_sections.py) and prints CPU seconds used.
"""
from __future__ import annotations

import argparse
import json
import math
import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import datasets  # noqa: E402
from results_sections import update_section  # noqa: E402

from lookalike import Synthesizer  # noqa: E402
from lookalike.evaluate import evaluate  # noqa: E402

SMARTNOISE = Path("/work/venvs/smartnoise/bin/python")


def data_dictionary(train: pd.DataFrame, holdout: pd.DataFrame):
    """A declared schema as a data publisher would write it: kinds from dtypes, every category, the bounds and
    decimals of every number. Here it is read from the whole public table (train + holdout), as in NIST's DP
    challenges where the schema came with the task; under DP it is public and costs nothing."""
    from lookalike.privacy.dp import decimals_needed
    from lookalike.schema.infer import public_schema

    full = pd.concat([train, holdout], ignore_index=True)
    schema = public_schema(full)
    for col in schema.columns:
        s = full[col.name]
        if col.kind.categorical_like:
            col.options["categories"] = sorted(s.dropna().unique().tolist(), key=str)
        elif col.kind.name == "NUMERIC":
            v = pd.to_numeric(s, errors="coerce").dropna().to_numpy(float)
            col.options["bounds"] = [float(v.min()), float(v.max())]
            col.options["decimals"] = int(decimals_needed(v, 6).max())
    return schema


def utility(tables, epsilons, argn_epochs, argn_rows, public=("none", "dictionary"), peer_epsilons=(1.0,),
            peers=("mst", "aim")):
    rows = []
    for name in tables:
        train, holdout, spec = datasets.load(name)
        dictionary = data_dictionary(train, holdout)
        for eps in epsilons:
            dp = {"epsilon": eps, "delta": 1e-5}
            runs = {}
            if "none" in public:
                runs["dp-marginals | nothing"] = lambda: Synthesizer(model="dp-marginals", dp=dp).fit(train)
            if "dictionary" in public:
                runs["dp-marginals | data dictionary"] = lambda: Synthesizer(
                    model="dp-marginals", dp=dp, schema=dictionary).fit(train)
            if argn_epochs:
                sub = train.sample(min(argn_rows, len(train)), random_state=0) if argn_rows else train
                runs["argn (DP-SGD) | nothing"] = lambda sub=sub: Synthesizer(
                    model="argn", dp=dp, max_epochs=argn_epochs,
                    model_params={"size": "S", "n_threads": 1}).fit(sub)
            for label, fit in runs.items():
                t0 = time.process_time()
                syn = fit()
                synth = syn.sample(len(train), seed=0)
                cpu = time.process_time() - t0
                rows.append(judge(name, label, eps, train, synth, holdout, spec["target"], cpu, syn.dp_))
                print(json.dumps(rows[-1]), flush=True)
            if SMARTNOISE.exists() and eps in peer_epsilons:
                for peer in peers:
                    synth, cpu = run_smartnoise(name, peer, eps)
                    if synth is not None:
                        rows.append(judge(name, f"smartnoise {peer.upper()} | categories from data", eps, train, synth, holdout,
                                          spec["target"], cpu, None))
                        print(json.dumps(rows[-1]), flush=True)
    return rows


def judge(name, label, eps, train, synth, holdout, target, cpu, record):
    rep = evaluate(train, synth, holdout=holdout, target=target, seed=0)
    m = rep.metrics
    return {"table": name, "generator": label, "epsilon": eps, "bivariate": m.get("bivariate_accuracy"),
            "floor": m.get("bivariate_floor"), "ceiling": m.get("bivariate_accuracy_holdout"),
            "tstr": m.get("tstr_score"), "trtr": m.get("trtr_score"), "cpu_s": round(cpu, 1),
            "epsilon_spent": None if record is None else round(record["epsilon_spent"], 4)}


def run_smartnoise(name, peer, eps):
    out = HERE / ".cache" / name / f"smartnoise_{peer}_{eps}.csv"
    done = out.with_suffix(".json")
    if out.exists() and done.exists() and done.read_text().strip():  # a finished run of this table (slow peer)
        return pd.read_csv(out), json.loads(done.read_text()).get("cpu_s")
    if os.environ.get("DP_BENCH_PEERS_CACHED_ONLY"):
        return None, None
    code = HERE / "peers" / "smartnoise_dp.py"
    t0 = time.time()
    try:
        proc = subprocess.run(["nice", "-n", "5", str(SMARTNOISE), str(code), name, peer, str(eps), str(out)],
                              capture_output=True, text=True, timeout=900)
    except subprocess.TimeoutExpired:
        return None, None
    if proc.returncode != 0 or not out.exists():
        print(f"smartnoise {peer} on {name} failed: {proc.stderr[-500:]}", flush=True)
        return None, None
    info = json.loads(proc.stdout.strip().splitlines()[-1])
    return pd.read_csv(out), info.get("cpu_s", time.time() - t0)


# -- audit ---------------------------------------------------------------------------------------------------
def planted(train: pd.DataFrame) -> pd.DataFrame:
    """One row far outside the data in every numeric column, with the rarest category of every other one."""
    row = {}
    for c in train.columns:
        s = train[c]
        if pd.api.types.is_numeric_dtype(s) and not pd.api.types.is_bool_dtype(s):
            row[c] = s.max() + 10 * (s.std() or 1)
            if pd.api.types.is_integer_dtype(s):
                row[c] = int(round(row[c]))
        else:
            row[c] = s.value_counts().index[-1]
    return pd.DataFrame([row])


def score(synth: pd.DataFrame, outlier: pd.DataFrame, base: pd.DataFrame) -> float:
    """Minus the distance (numbers scaled by the base table's spread, categories 0/1) of the synthetic row
    closest to the outlier: high when the model reproduces something near it."""
    d = np.zeros(len(synth))
    for c in base.columns:
        if pd.api.types.is_numeric_dtype(base[c]) and not pd.api.types.is_bool_dtype(base[c]):
            x = pd.to_numeric(synth[c], errors="coerce").to_numpy(float)
            d += np.nan_to_num(np.abs(x - float(outlier[c].iloc[0])) / (base[c].std() or 1), nan=50.0)
        else:
            d += (synth[c].astype(str).to_numpy() != str(outlier[c].iloc[0])).astype(float)
    return -float(d.min())


def tpr_at(scores_in, scores_out, fpr):
    """Best true-positive rate of a threshold attack whose false-positive rate is at most ``fpr``."""
    s_in, s_out = np.asarray(scores_in), np.asarray(scores_out)
    best = 0.0
    for t in np.unique(np.concatenate([s_in, s_out])):
        if (s_out >= t).mean() <= fpr:
            best = max(best, float((s_in >= t).mean()))
    return best


def audit(runs: int, eps: float, rows: int = 1000):
    train, _, _ = datasets.load("credit_data")
    base = train.sample(rows, random_state=1).reset_index(drop=True)
    outlier = planted(base)
    with_outlier = pd.concat([base, outlier], ignore_index=True)
    dp = {"epsilon": eps, "delta": 1e-5}
    settings = {
        "argn, no DP": lambda seed: Synthesizer(model="argn", seed=seed, max_epochs=30,
                                                model_params={"size": "S", "n_threads": 1}),
        "argn, no DP, no value protection": lambda seed: Synthesizer(model="argn", seed=seed, max_epochs=30,
                                                                     value_protection=False,
                                                                     model_params={"size": "S", "n_threads": 1}),
        f"dp-marginals, eps={eps:g}": lambda seed: Synthesizer(model="dp-marginals", seed=seed, dp=dp),
    }
    out = []
    for label, make in settings.items():
        t0 = time.process_time()
        s_in, s_out = [], []
        for r in range(runs):
            s_in.append(score(make(r).fit(with_outlier).sample(rows, seed=r), outlier, base))
            s_out.append(score(make(r).fit(base).sample(rows, seed=r), outlier, base))
        res = {"setting": label, "runs": runs, "cpu_s": round(time.process_time() - t0, 1)}
        for fpr in (0.05, 0.1):
            res[f"tpr@{fpr}"] = tpr_at(s_in, s_out, fpr)
            res[f"bound@{fpr}"] = min(1.0, math.exp(eps) * fpr + 1e-5) if "dp" in label.split(",")[0] else None
        res["mean_score_in"], res["mean_score_out"] = float(np.mean(s_in)), float(np.mean(s_out))
        out.append(res)
        print(json.dumps(res), flush=True)
    return out


def previous_audit() -> str:
    """The audit subsection of the current RESULTS.md, kept (and marked) when a run skips the audit."""
    text = (HERE / "RESULTS.md").read_text()
    start = text.find("### Membership-inference audit", text.find("<!-- begin dp -->"))
    end = text.find("<!-- end dp -->")
    if start < 0 or end < start:
        return ""
    block = text[start:end].strip()
    note = ("(not rerun by this command: kept from the previous run, made before the statistics block and "
            "dp-marginals changed)")
    return block if note in block else block.replace("\n", f" {note}\n", 1)


def write(util, aud, cpu, argv, old_audit=""):
    lines = ["## Differential privacy (benchmarks/dp.py)", "",
             f"Command: `python benchmarks/dp.py {' '.join(argv)}`; CPU time of the whole run: {cpu:.0f} s "
             f"(on a shared 2-core machine; smartnoise runs that had finished before were read from the cache). "
             "delta = 1e-5 everywhere.", "",
             "Column *public* says what the generator was given for free. **nothing**: kinds from dtypes only; "
             "bounds, bins, decimals and categories released by mechanisms (dp-marginals: the whole fit composed "
             "in zCDP, 30% of rho for these statistics, 70% for the generator; argn: 20% / 80% of epsilon). "
             "**data dictionary**: categories, bounds and decimals of every column declared in a schema (read from "
             "the whole public table, train + holdout, as a challenge's published schema would be); then the "
             "statistics block only releases the row count and a null count per number (bins follow from the "
             "declared bounds). **categories from "
             "data**: smartnoise's transformer reads each categorical column's categories from the training data "
             "without a mechanism (its behaviour when none are given) and spends 30% of epsilon on the bounds of "
             "numbers (columns with more than 20 distinct values; the rest are categorical). One fit per row "
             "(noise from the operating system): single draws, not averages.",
             "", "### Utility (70/30 split; bivariate accuracy beside floor and holdout ceiling; TSTR on the holdout)",
             "", "| table | generator | public | epsilon | bivariate | floor | ceiling | TSTR | TRTR | eps spent | CPU s |",
             "|---|---|---|---|---|---|---|---|---|---|---|"]
    f = lambda v: "-" if v is None else f"{v:.3f}"  # noqa: E731
    for r in util:
        gen, _, public = r["generator"].partition(" | ")
        lines.append(f"| {r['table']} | {gen} | {public or '-'} | {r['epsilon']:g} | {f(r['bivariate'])} | "
                     f"{f(r['floor'])} | {f(r['ceiling'])} | {f(r['tstr'])} | {f(r['trtr'])} | "
                     f"{r['epsilon_spent'] or '-'} | {r['cpu_s']} |")
    ran = {(r["table"], r["generator"].partition(" | ")[0]) for r in util}
    missing = sorted({f"{g} on {t}" for t in {r["table"] for r in util}
                      for g in ("smartnoise MST", "smartnoise AIM") if (t, g) not in ran})
    if missing and SMARTNOISE.exists():
        lines += ["", "Not in the table (no finished run in the cache; smartnoise 1.0.8 with mbi 1.1.0, numbers "
                      "binned by its transformer, took 41-160 CPU s per fit here): " + ", ".join(missing) + "."]
    if not any(r["generator"].startswith("argn") for r in util):
        lines += ["", "The DP flagship (argn with DP-SGD) was not rerun (`--argn-epochs 0`)."]
    if not SMARTNOISE.exists():
        lines += ["", "smartnoise-synth (MST, AIM) did not run: no venv at /work/venvs/smartnoise "
                      "(its pins, opacus<0.15 and mbi<2, could not be installed here)."]
    if aud:
        lines += ["", "### Membership-inference audit (planted outlier, credit_data, 1,000-row sample)", "",
                  "| setting | runs per side | TPR at FPR 0.05 | DP bound | TPR at FPR 0.1 | DP bound | mean score IN | mean score OUT |",
                  "|---|---|---|---|---|---|---|---|"]
        for r in aud:
            lines.append(f"| {r['setting']} | {r['runs']} | {r['tpr@0.05']:.2f} | {f(r['bound@0.05'])} | "
                         f"{r['tpr@0.1']:.2f} | {f(r['bound@0.1'])} | {r['mean_score_in']:.2f} | {r['mean_score_out']:.2f} |")
        lines += ["", "Score: minus the scaled distance of the closest synthetic row to the outlier. With few runs "
                      "per side the TPR estimates are coarse (steps of 1/runs)."]
    elif old_audit:
        lines += ["", old_audit]
    update_section("dp", "\n".join(lines))


def main(argv=None):
    argv = list(sys.argv[1:] if argv is None else argv)
    p = argparse.ArgumentParser()
    p.add_argument("--tables", nargs="+", default=["credit_data", "mlc_churn", "lending_club"])
    p.add_argument("--epsilons", nargs="+", type=float, default=[1.0, 3.0])
    p.add_argument("--argn-epochs", type=int, default=2)
    p.add_argument("--argn-rows", type=int, default=3000, help="DP-SGD trains on a sample of this many rows")
    p.add_argument("--audit-runs", type=int, default=20)
    p.add_argument("--audit-epsilon", type=float, default=1.0)
    p.add_argument("--public", nargs="+", default=["none", "dictionary"], choices=["none", "dictionary"],
                   help="dp-marginals with nothing public, with a declared data dictionary, or both")
    p.add_argument("--peers", nargs="*", default=["mst", "aim"], help="smartnoise-synth synthesizers to run")
    p.add_argument("--peer-epsilons", nargs="+", type=float, default=[1.0])
    args = p.parse_args(argv)
    os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
    t0 = time.process_time()
    old_audit = "" if args.audit_runs else previous_audit()
    util = utility(args.tables, args.epsilons, args.argn_epochs, args.argn_rows, args.public, args.peer_epsilons,
                   args.peers)
    aud = audit(args.audit_runs, args.audit_epsilon) if args.audit_runs else []
    cpu = time.process_time() - t0
    write(util, aud, cpu, argv, old_audit)
    print(f"CPU seconds: {cpu:.0f}")


if __name__ == "__main__":
    main()
