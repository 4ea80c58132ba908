"""Benchmark lookalike's GAN, VAE and diffusion generators against SDV's CTGAN and TVAE (issue 20's targets).

    nice -n 5 python benchmarks/family.py [--tables credit_data ...] [--models gan vae diffusion] [--seeds 0 1]

Every generator runs at its default settings on the same 70/30 splits as benchmarks/compare.py
(benchmarks/datasets.py), samples as many rows as it trained on, and is judged by ``lookalike.evaluate.evaluate``
with the table's target. Each (table, generator, seed) result is cached in benchmarks/.cache/family/ (delete it, or
pass --force, to rerun). SDV's rows come from benchmarks/compare.py's cached peer runs when they exist
(benchmarks/.cache/<table>/sdv_*.json and .csv, judged here with the same evaluate), otherwise from the numbers
in RESULTS.md's main comparison (same split, same judge); the section says which. Writes its own section of
benchmarks/RESULTS.md (``results_sections.update_section``); other sections are left as they are.
"""
from __future__ import annotations

import argparse
import json
import os
import resource
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

import datasets  # noqa: E402
from results_sections import RESULTS, update_section  # noqa: E402

CACHE = datasets.CACHE_DIR / "family"
OURS = ("gan", "vae", "diffusion")
PEER_OF = {"gan": "SDV CTGAN", "vae": "SDV TVAE"}
PEER_FILES = {"SDV CTGAN": "sdv_ctgan", "SDV TVAE": "sdv_tvae"}
KEYS = ("univariate_accuracy", "bivariate_accuracy", "bivariate_floor", "bivariate_accuracy_holdout",
        "dependence_capture", "discriminator_auc", "discriminator_auc_holdout", "dcr_share", "exact_copy_share",
        "exact_copy_share_holdout", "tstr_score", "trtr_score")


def cpu_seconds() -> float:
    own = resource.getrusage(resource.RUSAGE_SELF)
    kids = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + kids.ru_utime + kids.ru_stime


def run_ours(table: str, model: str, seed: int, force: bool) -> dict:
    path = CACHE / table / f"{model}-seed{seed}.json"
    if path.exists() and not force:
        return json.loads(path.read_text())
    from lookalike import Synthesizer
    from lookalike.evaluate import evaluate

    train, holdout, meta = datasets.load(table)
    load = os.getloadavg()[0]
    wall, cpu = time.perf_counter(), cpu_seconds()
    syn = Synthesizer(model=model, seed=seed).fit(train)
    fit_s, fit_cpu = time.perf_counter() - wall, cpu_seconds() - cpu
    wall = time.perf_counter()
    synthetic = syn.sample(len(train), seed=seed)
    sample_s = time.perf_counter() - wall
    report = evaluate(train, synthetic, holdout, target=meta["target"], seed=0)
    record = {"table": table, "model": model, "seed": seed, "fit_seconds": fit_s, "fit_cpu_seconds": fit_cpu,
              "sample_rows_per_second": len(synthetic) / max(sample_s, 1e-9), "load_at_start": load,
              "epochs": len(getattr(syn.model_, "history_", [])),
              "metrics": {k: report.metrics.get(k) for k in KEYS}}
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(record, indent=2, default=float))
    return record


def peer(table: str, label: str) -> dict | None:
    """SDV's result: judged from compare.py's cached run if present, else read from RESULTS.md's main table."""
    base = datasets.table_dir(table) / PEER_FILES[label]
    if base.with_suffix(".csv").exists() and base.with_suffix(".json").exists():
        import pandas as pd

        from lookalike.evaluate import evaluate

        train, holdout, meta = datasets.load(table)
        run = json.loads(base.with_suffix(".json").read_text())
        report = evaluate(train, pd.read_csv(base.with_suffix(".csv")), holdout, target=meta["target"], seed=0)
        return {"fit_seconds": run.get("fit_seconds"), "fit_cpu_seconds": run.get("fit_cpu_seconds"),
                "metrics": {k: report.metrics.get(k) for k in KEYS}, "source": "cached peer run, judged here"}
    return from_results_md(table, label)


def from_results_md(table: str, label: str) -> dict | None:
    """One generator's row of RESULTS.md's main comparison for ``table`` (written by benchmarks/compare.py)."""
    text = RESULTS.read_text(encoding="utf-8") if RESULTS.exists() else ""
    section = text.split(f"## {table}\n", 1)
    if len(section) < 2:
        return None
    lines = [ln for ln in section[1].split("\n## ", 1)[0].splitlines() if ln.startswith("|")]
    if not lines:
        return None
    head = [c.strip() for c in lines[0].strip("|").split("|")]
    for line in lines[2:]:
        cells = [c.strip() for c in line.strip("|").split("|")]
        if cells[0] != label:
            continue
        row = dict(zip(head, cells))

        def num(prefix):
            key = next((h for h in head if h.startswith(prefix)), None)
            try:
                return float(row[key].replace(",", "")) if key else None
            except ValueError:
                return None

        return {"fit_seconds": num("fit s"), "fit_cpu_seconds": num("fit CPU s"),
                "metrics": {"univariate_accuracy": num("uni"), "bivariate_accuracy": num("bi ("),
                            "dependence_capture": num("dep"), "discriminator_auc": num("AUC"),
                            "dcr_share": num("DCR"), "exact_copy_share": num("exact"), "tstr_score": num("TSTR")},
                "source": "RESULTS.md main comparison (benchmarks/compare.py, same split and judge)"}
    return None


def mean(records: list[dict], key: str, metric: bool = True):
    values = [(r["metrics"] if metric else r).get(key) for r in records]
    values = [v for v in values if isinstance(v, (int, float))]
    return sum(values) / len(values) if values else None


def fmt(v, spec=".3f") -> str:
    return "–" if v is None else format(v, spec)


def section(tables: list[str], models: list[str], seeds: list[int], results: dict, peers: dict, seconds: float,
            cpu: float, loads: list[float], missing: list[str] = ()) -> str:
    from lookalike import __version__

    lines = ["## Generator family: GAN, VAE, diffusion vs SDV CTGAN / TVAE (issue 20)", "",
             f"Script: `benchmarks/family.py --tables {' '.join(tables)} --models {' '.join(models)} --seeds "
             f"{' '.join(map(str, seeds))}` (lookalike {__version__}); {len(seeds)} seed(s) per generator, numbers "
             f"are means over seeds. Run {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())} on a shared 2-core "
             f"machine (1-minute load average {min(loads):.1f}–{max(loads):.1f} at the start of the fits), "
             f"defaults throughout; up to two of our fits ran at once; the fits took "
             f"{sum(r['fit_cpu_seconds'] for t in results.values() for recs in t.values() for r in recs):.0f} CPU s "
             "in all. "
             "Wall-clock fit times on this busy machine are inflated (compare fit CPU s). Same splits and judge as the "
             "main comparison; SDV rows: see 'source' under each table.", ""]
    verdicts = []
    for table in tables:
        rows = results[table]
        any_rec = next((r for recs in rows.values() for r in recs), None)
        if any_rec is None:
            continue
        m = any_rec["metrics"]
        lines += [f"### {table}", "",
                  f"| generator | fit s | fit CPU s | uni | bi (floor {fmt(m['bivariate_floor'])} / ceiling "
                  f"{fmt(m['bivariate_accuracy_holdout'])}) | dep | AUC (holdout {fmt(m['discriminator_auc_holdout'], '.2f')}) "
                  f"| DCR share | exact copies (holdout {fmt(m['exact_copy_share_holdout'])}) | TSTR (TRTR {fmt(m['trtr_score'])}) |",
                  "|---|---|---|---|---|---|---|---|---|---|"]
        for model in models:
            recs = rows.get(model, [])
            if not recs:
                continue
            lines.append(f"| lookalike {model} | {fmt(mean(recs, 'fit_seconds', False), '.0f')} | "
                         f"{fmt(mean(recs, 'fit_cpu_seconds', False), '.0f')} | {fmt(mean(recs, 'univariate_accuracy'))} | "
                         f"{fmt(mean(recs, 'bivariate_accuracy'))} | {fmt(mean(recs, 'dependence_capture'), '.2f')} | "
                         f"{fmt(mean(recs, 'discriminator_auc'))} | {fmt(mean(recs, 'dcr_share'))} | "
                         f"{fmt(mean(recs, 'exact_copy_share'))} | {fmt(mean(recs, 'tstr_score'))} |")
        sources = []
        for label, p in peers[table].items():
            if p is None:
                lines.append(f"| {label} | not run | | | | | | | | |")
                continue
            pm = p["metrics"]
            lines.append(f"| {label} | {fmt(p['fit_seconds'], '.0f')} | {fmt(p['fit_cpu_seconds'], '.0f')} | "
                         f"{fmt(pm.get('univariate_accuracy'))} | {fmt(pm.get('bivariate_accuracy'))} | "
                         f"{fmt(pm.get('dependence_capture'), '.2f')} | {fmt(pm.get('discriminator_auc'))} | "
                         f"{fmt(pm.get('dcr_share'))} | {fmt(pm.get('exact_copy_share'))} | {fmt(pm.get('tstr_score'))} |")
            sources.append(f"{label}: {p['source']}")
        lines += ["", "Source of the SDV rows: " + ("; ".join(sources) if sources else "none available") + ".", ""]
        verdicts += table_verdicts(table, rows, peers[table], m)
    if missing:
        lines += [f"Not run (CPU budget): {', '.join(missing)}.", ""]
    lines += ["### Issue 20's targets, checked", ""] + [f"- {v}" for v in verdicts]
    return "\n".join(lines) + "\n"


def table_verdicts(table: str, rows: dict, peers: dict, ref: dict) -> list[str]:
    out = []
    floor = ref["bivariate_floor"]
    for model, recs in rows.items():
        if not recs:
            continue
        bi, auc, tstr = mean(recs, "bivariate_accuracy"), mean(recs, "discriminator_auc"), mean(recs, "tstr_score")
        fit = mean(recs, "fit_seconds", False)
        dcr, copies = mean(recs, "dcr_share"), mean(recs, "exact_copy_share")
        checks = [f"above floor {'yes' if bi > floor else 'NO'} ({bi:.3f} vs {floor:.3f})",
                  f"DCR ≤ 0.55 {'yes' if dcr <= 0.55 else 'NO'} ({dcr:.3f})",
                  f"copies ≤ holdout's {'yes' if copies <= (ref['exact_copy_share_holdout'] or 0) else 'NO'}"]
        label = PEER_OF.get(model)
        p = peers.get(label) if label else None
        if p is not None:
            pm = p["metrics"]
            checks.insert(0, f"bi > {label} {'yes' if bi > pm['bivariate_accuracy'] else 'NO'} "
                             f"({bi:.3f} vs {pm['bivariate_accuracy']:.3f})")
            checks.insert(1, f"AUC < {label} {'yes' if auc < pm['discriminator_auc'] else 'NO'} "
                             f"({auc:.3f} vs {pm['discriminator_auc']:.3f})")
            if pm.get("tstr_score") is not None:
                checks.insert(2, f"TSTR within 0.02 or better {'yes' if tstr >= pm['tstr_score'] - 0.02 else 'NO'} "
                                 f"({tstr:.3f} vs {pm['tstr_score']:.3f})")
            if p.get("fit_seconds"):
                fit_cpu, peer_cpu = mean(recs, "fit_cpu_seconds", False), p.get("fit_cpu_seconds")
                cpu_note = (f"; in CPU s {'yes' if fit_cpu <= peer_cpu / 3 else 'NO'} ({fit_cpu:.0f} vs {peer_cpu:.0f})"
                            if peer_cpu else "")
                checks.insert(3, f"fit ≤ 1/3 of {label}'s: wall {'yes' if fit <= p['fit_seconds'] / 3 else 'NO'} "
                                 f"({fit:.0f} s vs {p['fit_seconds']:.0f} s){cpu_note}")
        elif label:
            checks.insert(0, f"{label} not available for this table: comparison not made")
        if model == "diffusion":
            dep = mean(recs, "dependence_capture")
            checks.insert(0, "dep not defined (the holdout's bivariate accuracy is below the floor: no dependence "
                             "to capture)" if dep is None else f"dep ≥ 0.8 {'yes' if dep >= 0.8 else 'NO'} ({dep:.3f})")
            checks.insert(1, f"AUC ≤ 0.75 {'yes' if auc <= 0.75 else 'NO'} ({auc:.3f})")
            checks.insert(2, f"fit ≤ 300 s {'yes' if fit <= 300 else 'NO'} ({fit:.0f} s)")
        out.append(f"{table} / {model}: " + "; ".join(checks))
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tables", nargs="+", default=datasets.names(), choices=datasets.names())
    parser.add_argument("--models", nargs="+", default=list(OURS), choices=list(OURS))
    parser.add_argument("--seeds", nargs="+", type=int, default=[0])
    parser.add_argument("--force", action="store_true", help="rerun cached (table, generator, seed) results")
    parser.add_argument("--cached-only", action="store_true",
                        help="fit nothing: write the section from the cached results, naming the runs missing")
    parser.add_argument("--no-write", action="store_true", help="print the section, leave RESULTS.md alone")
    args = parser.parse_args(argv)
    started, cpu0 = time.perf_counter(), cpu_seconds()
    results, peers, loads, missing = {}, {}, [], []
    for table in args.tables:
        results[table] = {}
        for model in args.models:
            results[table][model] = []
            for seed in args.seeds:
                if args.cached_only and not (CACHE / table / f"{model}-seed{seed}.json").exists():
                    missing.append(f"{table}/{model}/seed{seed}")
                    continue
                record = run_ours(table, model, seed, args.force)
                loads.append(record["load_at_start"])
                results[table][model].append(record)
                m = record["metrics"]
                print(f"{table}/{model}/seed{seed}: fit {record['fit_seconds']:.0f}s ({record['fit_cpu_seconds']:.0f} "
                      f"CPU s), bi {m['bivariate_accuracy']:.3f} (floor {m['bivariate_floor']:.3f}), dep "
                      f"{fmt(m['dependence_capture'], '.2f')}, AUC {m['discriminator_auc']:.3f}, TSTR "
                      f"{fmt(m['tstr_score'])}", flush=True)
        peers[table] = {label: peer(table, label) for label in PEER_FILES}
    text = section(args.tables, args.models, args.seeds, results, peers, time.perf_counter() - started,
                   cpu_seconds() - cpu0, loads or [os.getloadavg()[0]], missing)
    if args.no_write:
        print(text)
    else:
        update_section("family", text)
        print(f"wrote the 'family' section of {RESULTS}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
