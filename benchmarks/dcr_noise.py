"""argn's DCR share: candidate causes, and how much of the suite's one figure is the draw (issue 15).

Each run fits argn (Synthesizer defaults, model="argn") with one named setting, samples as many rows as the
training split has (with the fit seed, as the suite does, or with each of ``--sample-seeds``), and judges the
sample as the suite does (``evaluate``, seed 0: one reference draw) and over 20 reference draws
(dcr_regularisation.dcr_draws); every fit also draws a larger sample (up to the 10,000 synthetic rows evaluate
judges) whose 20-draw share has little of the synthetic draw's binomial noise. Runs are appended to
dcr_noise_runs.jsonl; ``--section`` writes RESULTS.md's ``dcr-noise`` section from them, with the per-column
tables of ``dcr_columns.py`` for the suite CSVs named by ``--columns-fingerprint``.

    PYTHONPATH=src python benchmarks/dcr_noise.py --tables Ecdat.Schooling --seeds 42 43 --settings base mr0
    PYTHONPATH=src python benchmarks/dcr_noise.py --tables Ecdat.Males --seeds 1 --sample-seeds 1 101 102
    PYTHONPATH=src python benchmarks/dcr_noise.py --section --columns-fingerprint 8dd66108454a \
        --columns-tables Ecdat.Males Ecdat.Schooling
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import time
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import pandas as pd

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
import dcr_regularisation as reg  # noqa: E402
from dcr_columns import _nn1, _share  # noqa: E402
from results_sections import update_section  # noqa: E402

RUNS = HERE / "dcr_noise_runs.jsonl"
SETTINGS = {
    "base": {},
    "mr0": {"marginal_rounds": 0},
    "lev0": {"codec_max_levels": 0},
    "copula": {"model": "copula"},
    "ep3": {"max_epochs": 3},
    "ep6": {"max_epochs": 6},
    "ep12": {"max_epochs": 12},
}
"""Named settings over the code's defaults (``copula``: the copula generator in argn's place): ARGN parameters (``marginal_rounds``: rounds of output-bias matching
after training, 3 by default); ``codec_max_levels``: NumericCodec's levels (frequent values beyond the heaps
decoded verbatim, 20,000 by default; 0: none)."""
METRICS = ("dcr_share", "dependence_capture", "discriminator_auc", "univariate_accuracy", "exact_copy_share")


@contextmanager
def codec_levels(max_levels: int | None):
    """Every NumericCodec the table encoder makes keeps at most ``max_levels`` levels (None: the default)."""
    from lookalike.encoding.numeric import NumericCodec
    from lookalike.encoding.table import TableEncoder
    original = TableEncoder._make_codec

    def make(self, col, relative):
        codec = original(self, col, relative)
        if max_levels is not None and isinstance(codec, NumericCodec):
            codec.max_levels = int(max_levels)
        return codec
    TableEncoder._make_codec = make
    try:
        yield
    finally:
        TableEncoder._make_codec = original


def run_fit(table: str, seed: int, setting: str, sample_seeds: list[int] | None = None,
            fit_seed: int | None = None) -> list[dict]:
    """One fit on split ``seed`` (with model seed ``fit_seed``, default the split seed, as the suite fits); one run
    per sample seed (default: the fit seed, as the suite samples)."""
    fit_seed = seed if fit_seed is None else fit_seed
    from lookalike import Synthesizer
    params = SETTINGS[setting]
    train, holdout = reg._split(table, seed)
    load = os.getloadavg()[0]
    cpu = time.process_time()
    model_params = {k: v for k, v in params.items() if not k.startswith("codec_") and k != "model"}
    with codec_levels(params.get("codec_max_levels")):
        syn = Synthesizer(model=params.get("model", "argn"), seed=fit_seed,
                          model_params=model_params or None).fit(train)
    fit_cpu = time.process_time() - cpu
    history = getattr(syn.model_, "history_", None) or [{"val_loss": float("nan")}]
    # the DCR share of a larger draw (up to the 10,000 rows evaluate judges): the share of n rows has a
    # binomial sd of sqrt(p(1-p)/n) from the draw alone, 0.011 at the 2,100 training rows of Ecdat.Schooling
    big = syn.sample(min(10_000, 4 * len(train)), seed=10_000 + fit_seed)
    tag = f"{seed}" if fit_seed == seed else f"{seed}.fit{fit_seed}"
    big_path = HERE / ".cache" / "dcr_noise" / f"{table}.{tag}.{setting}.big.csv"
    big_path.parent.mkdir(parents=True, exist_ok=True)
    big.to_csv(big_path, index=False)
    big_shares = reg.dcr_draws(train, holdout, pd.read_csv(big_path))
    out = []
    for sample_seed in sample_seeds or [fit_seed]:
        synthetic = syn.sample(len(train), seed=sample_seed)
        synthetic, m, shares = reg.judge_saved(
            train, holdout, synthetic, HERE / ".cache" / "dcr_noise" / f"{table}.{tag}.{setting}.{sample_seed}.csv")
        out.append({"table": table, "seed": seed, "fit_seed": fit_seed, "sample_seed": sample_seed, "setting": setting, "params": params,
                    "synthetic_rows": len(synthetic),
                    "fit_cpu_s": round(fit_cpu, 1),
                    "epochs": len(history) if params.get("model", "argn") == "argn" else None,
                    "val_loss": round(min(h["val_loss"] for h in history), 4),
                    "temperatures": None if getattr(syn.model_, "temperatures_", None) is None else
                    [round(float(t), 3) for t in syn.model_.temperatures_],
                    **{k: None if m.get(k) is None else round(float(m[k]), 4) for k in METRICS},
                    "univariate_accuracy_holdout": round(float(m["univariate_accuracy_holdout"]), 4),
                    "dcr_mean20": round(float(shares.mean()), 4), "dcr_sd20": round(float(shares.std()), 4),
                    "dcr_big_rows": len(big), "dcr_big_mean20": round(float(big_shares.mean()), 4),
                    **reg._stamp(load)})
    return out


def run_null(table: str, seed: int, halvings: int = 40) -> dict:
    """The metric's null on split ``seed``, over ``halvings`` random halvings of the holdout: half of it stands in
    for the synthetic table, judged against the other half and an equal-sized train sample (one draw each; no
    generator saw either half). Its mean over halvings says how far this split's holdout alone, as a reference,
    sits from 0.5: a split-level part of the suite's figure that no generator can change."""
    train, holdout = reg._split(table, seed)
    e_tr, e_ho, _ = reg.judged(train, holdout, holdout)
    half = len(e_ho) // 2
    shares = []
    for r in range(halvings):
        rng = np.random.default_rng(5000 + r)
        order = rng.permutation(len(e_ho))
        a, b = e_ho[order[:half]], e_ho[order[half:2 * half]]
        da, _ = _nn1(e_tr[rng.choice(len(e_tr), half, replace=False)], a)
        db, _ = _nn1(b, a)
        shares.append(_share(da, db))
    shares = np.array(shares)
    return {"table": table, "seed": seed, "setting": "null", "halvings": halvings,
            "null_mean": round(float(shares.mean()), 4), "null_sd": round(float(shares.std()), 4),
            "null_se": round(float(shares.std() / np.sqrt(halvings)), 4), **reg._stamp(os.getloadavg()[0])}


def load_runs() -> list[dict]:
    return [json.loads(line) for line in RUNS.read_text().splitlines() if line.strip()] if RUNS.exists() else []


def _f(v, spec=".3f") -> str:
    return "–" if v is None else format(v, spec)


def settings_lines(runs: list[dict]) -> list[str]:
    """Every setting's run beside the base run of the same table, split seed and sample seed."""
    runs = [r for r in runs if r["setting"] != "null"]
    base = {(r["table"], r["seed"], r["fit_seed"], r["sample_seed"]): r for r in runs if r["setting"] == "base"}
    out = ["| table | seed | setting | epochs | DCR, suite's draw: base → setting | 20 draws: base → setting | "
           "larger sample, 20 draws: base → setting | capture: base → setting | AUC: base → setting | load | code |",
           "|---|---|---|---|---|---|---|---|---|---|---|"]
    diffs: dict[str, list] = {}
    for r in runs:
        b = base.get((r["table"], r["seed"], r["fit_seed"], r["sample_seed"]))
        if r["setting"] == "base" or b is None:
            continue
        diffs.setdefault(r["setting"], []).append((r["dcr_mean20"] - b["dcr_mean20"],
                                                   r["discriminator_auc"] - b["discriminator_auc"]))
        out.append(f"| {r['table']} | {r['seed']} | {r['setting']} | {_f(r['epochs'], 'd')} | {b['dcr_share']:.3f} → "
                   f"{r['dcr_share']:.3f} | {b['dcr_mean20']:.3f} → {r['dcr_mean20']:.3f} | "
                   f"{_f(b.get('dcr_big_mean20'))} → {_f(r.get('dcr_big_mean20'))} | "
                   f"{_f(b['dependence_capture'], '.2f')} → {_f(r['dependence_capture'], '.2f')} | "
                   f"{b['discriminator_auc']:.3f} → {r['discriminator_auc']:.3f} | {r['load_1m'][0]}-{r['load_1m'][1]} "
                   f"| {r['code']} |")
    summary = [f"{k}: 20-draw DCR share {np.mean([d[0] for d in v]):+.4f} (lower on {sum(d[0] < 0 for d in v)} of "
               f"{len(v)}), AUC {np.mean([d[1] for d in v]):+.4f}" for k, v in diffs.items()]
    return ["Mean change against base per setting: " + "; ".join(summary) + ".", "", *out]


def _base_fits(runs: list[dict]) -> dict[tuple, dict[int, dict]]:
    """(table, split seed, fit seed) -> {sample seed: run} for the default setting (the latest run per key)."""
    out: dict[tuple, dict[int, dict]] = {}
    for r in runs:
        if r["setting"] == "base":
            out.setdefault((r["table"], r["seed"], r["fit_seed"]), {})[r["sample_seed"]] = r
    return out


def noise_lines(runs: list[dict]) -> list[str]:
    """Per (table, split) fitted as the suite fits it and sampled 3+ times: the spread of the suite's figure."""
    out = ["| table | split = fit seed | synthetic rows | samples | suite's figure (one reference draw), per sample "
           "| sd | binomial sd at these rows | 20 draws, per sample | larger sample: rows, 20 draws | capture | AUC "
           "| load | code |", "|---|---|---|---|---|---|---|---|---|---|---|---|---|"]
    for (table, seed, fit_seed), by_sample in sorted(_base_fits(runs).items()):
        rs = [by_sample[k] for k in sorted(by_sample, key=lambda k: (k != fit_seed, k))]  # the suite's sample first
        if fit_seed != seed or len(rs) < 3:
            continue
        fig = np.array([r["dcr_share"] for r in rs])
        n = rs[0]["synthetic_rows"]
        p = float(fig.mean())
        caps = [r["dependence_capture"] for r in rs if r["dependence_capture"] is not None]
        out.append(f"| {table} | {seed} | {n:,} | {len(rs)} | " + ", ".join(f"{v:.3f}" for v in fig)
                   + f" | {fig.std(ddof=1):.4f} | {np.sqrt(p * (1 - p) / n):.4f} | "
                   + ", ".join(f"{r['dcr_mean20']:.3f}" for r in rs)
                   + f" | {rs[-1].get('dcr_big_rows', 0):,}, {_f(rs[-1].get('dcr_big_mean20'))} | "
                   f"{_f(np.mean(caps) if caps else None, '.2f')} | {np.mean([r['discriminator_auc'] for r in rs]):.3f} "
                   f"| {min(r['load_1m'][0] for r in rs)}-{max(r['load_1m'][1] for r in rs)} | {rs[0]['code']} |")
    return out


def split_lines(runs: list[dict]) -> list[str]:
    """Per table and split: the larger sample's 20-draw share of every fit seed, beside the metric's null."""
    nulls = {(r["table"], r["seed"]): r for r in runs if r["setting"] == "null"}
    fits: dict[tuple, dict[int, float]] = {}
    for (table, seed, fit_seed), by_sample in _base_fits(runs).items():
        big = [r.get("dcr_big_mean20") for r in by_sample.values() if r.get("dcr_big_mean20") is not None]
        if big:
            fits.setdefault((table, seed), {})[fit_seed] = big[-1]
    copula = {(r["table"], r["seed"]): r for r in runs if r["setting"] == "copula" and r["fit_seed"] == r["seed"]}
    out = ["| table | split | argn: larger sample's 20-draw DCR share, per fit seed | copula, fit seed = split: "
           "the same | null: mean over 40 halvings (sd of one) |", "|---|---|---|---|---|"]
    for (table, seed) in sorted(set(fits) & set(nulls)):
        cells = ", ".join(f"{v:.3f} (fit {k})" for k, v in sorted(fits[(table, seed)].items()))
        nl = nulls[(table, seed)]
        cop = _f(copula[(table, seed)].get("dcr_big_mean20")) if (table, seed) in copula else "–"
        out.append(f"| {table} | {seed} | {cells} | {cop} | {nl['null_mean']:.3f} ({nl['null_sd']:.3f}) |")
    return out


def section(runs: list[dict], columns_fp: str | None, columns_tables: list[str]) -> str:
    import dcr_columns
    parts = ["## argn's DCR share: its causes tried, and the suite's one draw (`benchmarks/dcr_noise.py`, "
             "`benchmarks/dcr_columns.py`, issue 15)", ""]
    parts += NOTES + [""]
    parts += ["### One fit, several samples: how much of the suite's figure is the draw", "", NOISE_NOTE, "",
              *noise_lines(runs), ""]
    parts += ["### The split, not the fit", "", SPLIT_NOTE, "", *split_lines(runs), ""]
    parts += ["### Tried changes, paired with the default fit (same split, fit seed and sample seed)", "",
              SETTINGS_NOTE, "", *settings_lines(runs), ""]
    if columns_fp:
        parts += ["### Which columns carry it (suite CSVs, no fit)", "", COLUMNS_NOTE, ""]
        for entry in columns_tables:  # TABLE (its suite CSV at columns_fp, seed 1) or TABLE=CSV PATH
            table, _, path = entry.partition("=")
            parts += dcr_columns.lines(dcr_columns.analyse(table, 1, path or f"lookalike_argn.{columns_fp}.csv")) + [""]
    return "\n".join(parts).rstrip() + "\n"


NOTES = [
    "argn at main 4a4870e (generating code `8dd66108454a`, main's), Synthesizer defaults; one process at a time, "
    "nice 10, one torch thread, on the shared 2-core machine beside two other helpers' runs (1-minute load 2.5-5.5, "
    "per row). *Suite's figure*: the DCR share exactly as the suite judges it (`evaluate`, seed 0: one reference "
    "draw; at split 1 these fits reproduce the suite's records: Males 0.553, Cracker 0.535, ResumeNames 0.538); "
    "*20 draws*: its mean over 20 reference draws; *larger sample*: the same fit's draw of min(10,000, 4 x training) "
    "rows, 20 draws (little of the synthetic draw's binomial noise). Splits 1-3 are reporting-half tables "
    "(Males, Cracker, ResumeNames, wagepan) measured, not tuned on; tried changes ran on tuning-half tables and "
    "seeds 42/43.",
    "",
    "**Reading.** (1) The suite's figure for *one* fitted model moves with the draw of its synthetic rows alone: "
    "sd 0.002-0.020 over 3-5 samples (median 0.007); the binomial floor sqrt(p(1-p)/n) at n = training rows is "
    "0.009-0.011 here. One fit of Schooling gave 0.528-0.560, mathpnl 0.526-0.544, Males 0.537-0.559. At a total "
    "sd of about 0.010 (this and the reference draw's, sd 0.004-0.012 over 20 draws), a table whose share is "
    "really 0.520 shows above 0.53 in about 16% of single runs (0.515: 7%). "
    "(2) Under that noise, part of the level is the split and part the model. The fit seed "
    "moves it little: Males' larger-sample share is 0.533-0.537 for four fit seeds on split 1 and 0.507-0.517 on "
    "split 3 (ResumeNames 0.533-0.541 and 0.522-0.528). The copula, which learns little dependence, moves with the "
    "split too (Males 0.515 on split 1, 0.481 on split 3; 0.481-0.515 over the 12 splits), so a split carries an "
    "offset of up to about 0.02 either way that both generators share and that the metric's null (real holdout "
    "rows in place of synthetic ones: 0.484-0.512) does not show. argn's share is above the copula's on all 12 "
    "splits, by +0.005 to +0.038 (mean +0.022): argn's own excess. (3) It is joint, not one column's or one "
    "value's: leaving any one column out of the distance moves the 20-draw share by at most "
    "0.013; the squared-distance gap sits in combinations of low-cardinality categorical columns (Males: "
    "occupation, residence, industry, union 80% of it; ResumeNames: the job-ad columns industry and wanted 44%; "
    "its 12 job-ad columns take 684 combinations over 4,870 rows, a median of 4 each, split across train and "
    "holdout; Schooling: spread over 15 binary "
    "columns and iqscore). Synthetic categorical values are never train-only beyond the holdout's own rate; "
    "numeric exact matches exceed it only on Schooling's wage76 / lwage76 (+0.045 / +0.037 against the holdout "
    "half's +0.005), and leaving either out moves the share by 0.001-0.002. Rows equal to a train-sample row on all "
    "but one judged column exceed the holdout's rate by +0.024 on ResumeNames (14.3% of synthetic rows; the "
    "holdout half's own excess -0.009) and +0.008 on Males. (4) Neither suspect of the brief is the cause: "
    "marginal rounds off and NumericCodec levels off leave the 20-draw share unchanged beyond noise (below). The "
    "share grows with training while AUC falls (3, 6, 12 epochs, below): a trade-off of the fit, which dropout, "
    "weight decay, model size and validation share did not move either (dcr-regularisation). Temperature scaling "
    "per head on the validation rows (an uncommitted patch, reverted) made AUC worse (0.520 -> 0.600) and the share "
    "higher. No generator change is proposed here.",
]
"""The section's reading of the runs (written after they were made)."""
NOISE_NOTE = ("Each row: one fit at the split's seed (as the suite fits), sampled with 3-5 seeds (the first is "
              "the suite's own sample seed), as many rows as the training split has.")
SPLIT_NOTE = ("Larger-sample 20-draw share per fit seed on the same split (fit 1 = the suite's fit at split 1, "
              "etc.), the copula's (lookalike's copula generator at its defaults, fit seed = split) beside it, and the "
              "metric's null: half of the holdout as the synthetic table against the other half "
              "and an equal train sample, 40 random halvings (no fit).")
SETTINGS_NOTE = ("mr0: `marginal_rounds=0`; lev0: NumericCodec `max_levels=0` (no levels; the table's codecs are "
                 "otherwise unchanged); ep3/ep6/ep12: `max_epochs`; headtemp: per-head temperatures fitted on the "
                 "validation rows (uncommitted patch on 4a4870e, reverted: code `+dirty`). Sample seed = fit seed.")
COLUMNS_NOTE = ("`dcr_columns.py` on the suite's seed-1 CSVs (Males, Schooling at `8dd66108454a`) and on this "
                "script's seed-1 sample of ResumeNames (the suite's: same fit, same sample seed). *Gap part*: the "
                "column's share of sum over synthetic rows of d(train nn)^2 - d(holdout nn)^2 (negative: towards "
                "train), 5 draws; *exact*: share of synthetic values found in an equal-sized train sample minus "
                "the share found in the holdout, beside the same for half the holdout against the other half.")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tables", nargs="+", default=[])
    parser.add_argument("--seeds", nargs="+", type=int, default=[42, 43])
    parser.add_argument("--settings", nargs="+", default=["base"], choices=list(SETTINGS))
    parser.add_argument("--sample-seeds", nargs="+", type=int, default=None,
                        help="sample each fit with these seeds (default: the fit seed, as the suite does)")
    parser.add_argument("--fit-seeds", nargs="+", type=int, default=None,
                        help="model seeds to fit each split with (default: the split seed, as the suite does)")
    parser.add_argument("--null", action="store_true", help="the metric's null per table and split (no fit)")
    parser.add_argument("--section", action="store_true", help="write RESULTS.md's dcr-noise section from the runs")
    parser.add_argument("--columns-fingerprint", default=None)
    parser.add_argument("--columns-tables", nargs="+", default=[])
    args = parser.parse_args(argv)
    if args.section:
        text = section(load_runs(), args.columns_fingerprint, args.columns_tables)
        update_section("dcr-noise", text)
        print(text)
        return 0
    for table in args.tables:
        for seed in args.seeds:
            if args.null:
                run = run_null(table, seed)
                with RUNS.open("a") as fh:
                    fh.write(json.dumps(run) + "\n")
                print(json.dumps(run), flush=True)
                continue
            for setting in args.settings:
                for fit_seed in args.fit_seeds or [seed]:
                    for run in run_fit(table, seed, setting, args.sample_seeds, fit_seed):
                        with RUNS.open("a") as fh:
                            fh.write(json.dumps(run) + "\n")
                        print(json.dumps(run), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
