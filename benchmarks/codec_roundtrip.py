"""What the codecs and rules alone lose, with no model (issue 15): fit a table's schema, rules and codecs on the
suite's training split exactly as ``Synthesizer(model="argn", seed=S).fit`` does (only the generator is left out),
encode the real *holdout* rows, decode them, apply the rules, write them through CSV as the suite does, and judge
them with ``lookalike.evaluate.evaluate(train, round_trip, holdout)``, as the suite judges a synthetic table.

A lossless codec stack gives back the holdout, so every figure should match the holdout's own: dependence capture
about 1, discriminator AUC about the holdout's, granularity gap about the holdout's, distinct ratio about the
holdout's. (The DCR share is meaningless here: every round-tripped row has its own original in the holdout.)
Value protection changes some cells on purpose (rare categories, extremes); the per-column share of changed cells
names where. Rules: the share of real holdout rows a checked rule (inequality, range, unique) rejects, and the
share of real holdout cells a constructive rule (formula, combination, scale) rewrites: a rule detected on the
training split that does not hold for fresh rows of the same table.

No generator is fitted and no holdout figure tunes anything: this is a correctness check of the codecs.
benchmarks/distinct_values.py is a before/after table of the suite's cached records, a different job.

    PYTHONPATH=src python benchmarks/codec_roundtrip.py --seeds 1            # every suite table
    PYTHONPATH=src python benchmarks/codec_roundtrip.py --tables ISLR.Caravan --seeds 1
"""
from __future__ import annotations

import argparse
import io
import json
import os
import time

import numpy as np
import pandas as pd

import suite
from results_sections import update_section

import lookalike
from lookalike import Synthesizer
from lookalike.evaluate import evaluate

RUNS = suite.HERE / "codec_roundtrip_runs.jsonl"
"""One JSON line per (table, seed, fingerprint of the generating code, as suite.py computes it)."""
COLUMNS_SHOWN = 3


class CodecsOnly(Synthesizer):
    """``Synthesizer.fit`` with everything but the generator and the text models: schema, rules, codecs."""

    def _fit_generator(self, tokens, n_rows, progress):
        self.model_ = None

    def _fit_text_models(self, df, tokens):
        return {}


def round_trip(syn: Synthesizer, frame: pd.DataFrame, seed: int, shuffle: bool = False) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(decoded rows before the rules, after the rules and a CSV round trip, as the suite reads a sample).
    ``shuffle``: each learned column's tokens (all its sub-columns together) in their own random row order, as a
    model that learned every column's tokens and no dependence would draw them."""
    tokens = syn.encoder_.encode(frame)
    if shuffle:
        rng = np.random.default_rng(seed)
        for group in syn.encoder_.groups_:
            tokens[:, group] = tokens[rng.permutation(len(tokens))][:, group]
    decoded = syn._decode(tokens, seed=seed)
    ruled = syn.rules_.apply(decoded)
    buffer = io.StringIO()
    ruled.to_csv(buffer, index=False)
    buffer.seek(0)
    return decoded, pd.read_csv(buffer)


def changed_cells(real: pd.DataFrame, other: pd.DataFrame) -> dict[str, float]:
    """Per column, the share of cells that differ (numbers to 1e-9 relative, missing equal to missing)."""
    out = {}
    for c in real.columns:
        a, b = real[c].reset_index(drop=True), other[c].reset_index(drop=True)
        na, nb = a.isna().to_numpy(), b.isna().to_numpy()
        x, y = pd.to_numeric(a, errors="coerce").to_numpy(float), pd.to_numeric(b, errors="coerce").to_numpy(float)
        if np.array_equal(np.isnan(x), na) and np.array_equal(np.isnan(y), nb):  # numbers on both sides
            same = (na & nb) | (~na & ~nb & np.isclose(x, y, rtol=1e-9, atol=0))
        else:
            same = (na & nb) | (~na & ~nb & (a.astype(str).to_numpy() == b.astype(str).to_numpy()))
        out[c] = float(1 - same.mean())
    return out


def rule_report(syn: Synthesizer, holdout: pd.DataFrame, train: pd.DataFrame) -> list[dict]:
    """Per rule: rows of the real train / holdout a checked rule rejects, cells a constructive rule rewrites."""
    rules = syn.rules_
    out = []
    for (r, bad), (_, bad_train) in zip(rules._broken(holdout, None), rules._broken(train, None)):
        out.append({"rule": r, "holdout_rows_broken": float(np.mean(bad)), "train_rows_broken": float(np.mean(bad_train))})
    rewritten = changed_cells(holdout, rules.apply(holdout))
    rewritten_train = changed_cells(train, rules.apply(train))
    for r in rules.rules:
        if r["type"] in ("formula", "scale"):
            c = r["column"]
        elif r["type"] == "combination":
            c = r["columns"][-1]
        else:
            continue
        out.append({"rule": r, "holdout_cells_rewritten": rewritten[c], "train_cells_rewritten": rewritten_train[c]})
    return out


def code_fingerprint() -> str:
    """suite.py's fingerprint of the generating code, of the ``lookalike`` package imported here."""
    from pathlib import Path

    src = Path(lookalike.__file__).resolve().parent.parent
    return suite.generation_fingerprint(type("Source", (), {"src_dir": src})())


def run_table(table: suite.SuiteTable, seed: int) -> dict:
    train_path, holdout_path = suite.prepare(table, seed)
    train, holdout = pd.read_csv(train_path), pd.read_csv(holdout_path)
    cpu = time.process_time()
    syn = CodecsOnly(model="argn", seed=seed).fit(train)
    fit_cpu = time.process_time() - cpu
    decoded, back = round_trip(syn, holdout, seed)
    changed = changed_cells(holdout, back)
    cpu = time.process_time()
    report = evaluate(train=train, synthetic=back, holdout=holdout, seed=0)
    m = report.metrics
    gran = report.details.get("granularity", {})
    ho_ratios = [g["holdout_distinct"] / g["real_distinct"] for g in gran.values()
                 if g.get("real_distinct") and g.get("holdout_distinct") is not None]
    worst_ratio_col = max(gran, key=lambda c: (gran[c].get("synthetic_distinct") or 0) / (gran[c].get("real_distinct") or 1),
                          default=None)
    worst_gap_col = max(gran, key=lambda c: gran[c].get("gap") or 0, default=None)
    keys = ("dependence_capture", "bivariate_accuracy", "bivariate_accuracy_holdout", "bivariate_floor",
            "discriminator_auc", "discriminator_auc_holdout", "granularity_worst_gap", "granularity_worst_gap_holdout",
            "distinct_ratio_worst", "univariate_accuracy", "univariate_accuracy_holdout")
    # the shuffled variant: every decoded value should still be one the column holds (distinct ratio, granularity)
    _, shuffled = round_trip(syn, holdout, seed, shuffle=True)
    shuffled_report = evaluate(train=train, synthetic=shuffled, holdout=holdout, seed=0)
    sm, sgran = shuffled_report.metrics, shuffled_report.details.get("granularity", {})
    shuffled_metrics = {k: sm.get(k) for k in ("dependence_capture", "univariate_accuracy", "granularity_worst_gap",
                                                "distinct_ratio_worst", "discriminator_auc")}
    shuffled_metrics["granularity_worst_column"] = max(sgran, key=lambda c: sgran[c].get("gap") or 0, default=None)
    codecs = {c: type(syn.encoder_.codecs_[c]).__name__ + (f"(base={syn.encoder_.relative_[c]})"
                                                          if c in syn.encoder_.relative_ else "")
              for c in syn.encoder_.codecs_}
    ties = {c: (None if getattr(syn.encoder_.codecs_[c], "tie_values_", None) is None
                else syn.encoder_.codecs_[c].tie_values_.tolist()) for c in syn.encoder_.relative_}
    unrounded = [syn.rules_.rules[int(key.split(":")[0])].get("column") for key in syn.rules_.lookups_
                 if key.endswith(":unrounded")]
    return {"table": table.name, "seed": seed, "fingerprint": code_fingerprint(), "rows": table.rows,
            "relative_tie_values": ties, "unrounded_formula_columns": unrounded, "columns": table.columns,
            "metrics": {k: m.get(k) for k in keys}, "shuffled": shuffled_metrics,
            "distinct_ratio_worst_holdout": max(ho_ratios) if ho_ratios else None,
            "distinct_ratio_worst_column": worst_ratio_col, "granularity_worst_column": worst_gap_col,
            "discriminator_top_features": dict(list((report.details.get("discriminator", {}).get("importances") or {}).items())[:5]),
            "changed_cells": {c: v for c, v in sorted(changed.items(), key=lambda kv: -kv[1]) if v > 0},
            "codecs": codecs, "rules": rule_report(syn, holdout, train),
            "fit_cpu_s": round(fit_cpu, 1), "judge_cpu_s": round(time.process_time() - cpu, 1),
            "loadavg_1m_at_end": os.getloadavg()[0]}


def _f(v, d=3):
    return "–" if v is None else f"{v:.{d}f}"


def flags(rec: dict) -> list[str]:
    """What the round trip loses beyond the holdout's own figures (thresholds: the suite's done-when margins)."""
    m, out = rec["metrics"], []
    if m["dependence_capture"] is not None and m["dependence_capture"] < 0.9:
        out.append("capture")
    if m["discriminator_auc"] is not None and m["discriminator_auc"] > (m["discriminator_auc_holdout"] or 0.5) + 0.03:
        out.append("AUC")
    if (m["granularity_worst_gap"] or 0) > max(0.08, (m["granularity_worst_gap_holdout"] or 0) + 0.03):
        out.append("granularity")
    if (m["distinct_ratio_worst"] or 0) > max(1.5, (rec["distinct_ratio_worst_holdout"] or 1) + 0.1):
        out.append("distinct")
    sh = rec.get("shuffled") or {}
    if (sh.get("distinct_ratio_worst") or 0) > max(1.5, (rec["distinct_ratio_worst_holdout"] or 1) + 0.1):
        out.append("shuffled-distinct")
    if (sh.get("granularity_worst_gap") or 0) > max(0.08, (m["granularity_worst_gap_holdout"] or 0) + 0.03):
        out.append("shuffled-granularity")
    if any(r.get("holdout_rows_broken", 0) > 0 or r.get("holdout_cells_rewritten", 0) > 0 for r in rec["rules"]):
        out.append("rule")
    return out


def section(records: list[dict], halves: dict[str, str], fingerprint: str) -> str:
    lines = ["## Codec and rule round trip, no model (issue 15)\n",
             f"Code `{fingerprint}` (suite.py's fingerprint of the generating code); one process, one thread, under nice.\n",
             "`benchmarks/codec_roundtrip.py`: schema, rules and codecs fitted on the suite's training split as "
             "`Synthesizer(model='argn')` fits them, the real holdout encoded, decoded, ruled and read back through "
             "CSV, then judged by `evaluate(train, round trip, holdout)`. A lossless stack scores the holdout's own "
             "figures (in brackets). *changed*: the columns whose cells the round trip changes most (share of "
             "cells). *rules*: a rule rejecting (rows) or rewriting (cells) real holdout rows. *flags*: capture < 0.9, "
             "AUC > holdout + 0.03, gap > max(0.08, holdout + 0.03), distinct ratio > max(1.5, holdout + 0.1), "
             "a rule that does not hold for the holdout; *shuffled-*: the same two limits for the *shuffled* variant "
             "(each column's tokens in their own random row order, as a model that learned no dependence draws them: "
             "decoding must still write only values the column holds), whose univariate accuracy / distinct ratio / "
             "granularity gap are shown.\n",
             "| table | half | seed | capture | AUC (holdout) | gran gap (holdout) | distinct ratio (holdout) | changed "
             "| rules | shuffled: univariate (holdout) / distinct / gap | flags | fit CPU s | load |", "|" + "---|" * 13]
    for rec in records:
        if "error" in rec:
            lines.append(f"| {rec['table']} | {halves.get(rec['table'], '')} | {rec['seed']} | failed: "
                         f"{rec['error'][:120]} |" + " |" * 9)
            continue
        m, sh = rec["metrics"], rec.get("shuffled") or {}
        changed = ", ".join(f"{c} {v:.2f}" for c, v in list(rec["changed_cells"].items())[:COLUMNS_SHOWN]) or "none"
        broken = [r for r in rec["rules"] if r.get("holdout_rows_broken", 0) > 0 or r.get("holdout_cells_rewritten", 0) > 0]
        rules = "; ".join(f"{_rule_name(r['rule'])} {r.get('holdout_rows_broken', r.get('holdout_cells_rewritten')):.3f}"
                          for r in broken[:COLUMNS_SHOWN]) + (f" (+{len(broken) - COLUMNS_SHOWN})" if len(broken) > COLUMNS_SHOWN else "")
        lines.append(
            f"| {rec['table']} | {halves.get(rec['table'], '')} | {rec['seed']} | {_f(m['dependence_capture'], 2)} | "
            f"{_f(m['discriminator_auc'])} ({_f(m['discriminator_auc_holdout'])}) | {_f(m['granularity_worst_gap'], 2)} "
            f"({_f(m['granularity_worst_gap_holdout'], 2)}) | {_f(m['distinct_ratio_worst'], 2)} "
            f"({_f(rec['distinct_ratio_worst_holdout'], 2)}) {rec['distinct_ratio_worst_column'] or ''} | {changed} | "
            f"{rules or 'none'} | {_f(sh.get('univariate_accuracy'))} ({_f(m['univariate_accuracy_holdout'])}) / "
            f"{_f(sh.get('distinct_ratio_worst'), 2)} / {_f(sh.get('granularity_worst_gap'), 2)} | {' '.join(flags(rec)) or 'ok'} | {rec['fit_cpu_s']:.0f} | {rec['loadavg_1m_at_end']:.1f} |")
    return "\n".join(lines) + "\n"


def before_after(records: list[dict], done: dict, before: str, halves: dict[str, str]) -> str:
    """The tables whose flags or main figures moved against the runs of code ``before``."""
    lines = [f"\nAgainst code `{before}` (tables whose flags or figures changed; capture / AUC / distinct ratio / gap, "
             "before → after):\n", "| table | half | seed | flags | capture | AUC | distinct ratio | gran gap |",
             "|---|---|---|---|---|---|---|---|"]
    for rec in records:
        old = done.get((rec["table"], rec["seed"], before))
        if old is None or "error" in old or "error" in rec:
            continue
        keys = ("dependence_capture", "discriminator_auc", "distinct_ratio_worst", "granularity_worst_gap")
        moved = [k for k in keys if old["metrics"].get(k) is not None and rec["metrics"].get(k) is not None
                 and abs(old["metrics"][k] - rec["metrics"][k]) > 0.005]
        if not moved and flags(old) == flags(rec):
            continue
        cells = [f"{_f(old['metrics'].get(k))} → {_f(rec['metrics'].get(k))}" for k in keys]
        lines.append(f"| {rec['table']} | {halves.get(rec['table'], '')} | {rec['seed']} | "
                     f"{' '.join(flags(old)) or 'ok'} → {' '.join(flags(rec)) or 'ok'} | " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def _rule_name(r: dict) -> str:
    if r["type"] == "inequality":
        return f"{r['left']} {r['op']} {r['right']}"
    if r["type"] in ("formula",):
        return f"{r['column']} = {r['expression']}"
    if r["type"] == "scale":
        return f"{r['column']} = {r['base']} × f({r['by']})"
    if r["type"] == "range":
        return f"{r['column']} in [{r.get('min')}, {r.get('max')}]"
    return f"{r['type']} {r.get('columns')}"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--tables", nargs="+", help="default: every suite table")
    ap.add_argument("--seeds", nargs="+", type=int, default=[1])
    ap.add_argument("--half", choices=("tuning", "reporting"))
    ap.add_argument("--force", action="store_true", help="redo (table, seed) runs already in the JSON-lines file")
    ap.add_argument("--report-only", action="store_true")
    ap.add_argument("--fingerprint", help="report the runs of this code (default: the code imported here)")
    ap.add_argument("--before", help="also list, per table, the flags of the runs of this earlier fingerprint")
    ap.add_argument("--note", action="append", default=[], help="a paragraph under the table (repeatable)")
    args = ap.parse_args()
    tables = suite.select_tables()
    halves = suite.halves(tables)
    chosen = [t for t in tables if (not args.tables or t.name in args.tables)
              and (args.half is None or halves[t.name] == args.half)]
    fingerprint = args.fingerprint or code_fingerprint()
    done = {}
    if RUNS.exists():
        for line in RUNS.read_text().splitlines():
            rec = json.loads(line)
            done[(rec["table"], rec["seed"], rec.get("fingerprint"))] = rec
    for table in [] if args.report_only else chosen:
        for seed in args.seeds:
            if (table.name, seed, fingerprint) in done and not args.force:
                continue
            print(f"{table.name} seed {seed} ...", flush=True)
            try:
                rec = run_table(table, seed)
            except Exception as exc:  # a table the codecs cannot take is a finding
                import traceback
                traceback.print_exc()
                rec = {"table": table.name, "seed": seed, "fingerprint": fingerprint,
                       "error": f"{type(exc).__name__}: {exc}"}
            done[(table.name, seed, fingerprint)] = rec
            with RUNS.open("a") as f:
                f.write(json.dumps(rec, default=str) + "\n")
            if "error" not in rec:
                print(f"  capture {_f(rec['metrics']['dependence_capture'])} AUC {_f(rec['metrics']['discriminator_auc'])}"
                      f" ({_f(rec['metrics']['discriminator_auc_holdout'])}) flags {flags(rec)}", flush=True)
            else:
                print("  " + rec["error"], flush=True)
    records = [done[(t.name, s, fingerprint)] for t in chosen for s in args.seeds if (t.name, s, fingerprint) in done]
    text = section(records, halves, fingerprint)
    if args.before:
        text += before_after(records, done, args.before, halves)
    text += "".join("\n" + n + "\n" for n in args.note)
    if not args.tables:
        update_section("codec-roundtrip", text)
    print(text)


if __name__ == "__main__":
    main()
