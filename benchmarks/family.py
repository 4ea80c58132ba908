"""Benchmark lookalike's GAN, VAE and diffusion generators against SDV's CTGAN and TVAE (issue 20's targets).

    nice -n 5 python benchmarks/family.py [--tables credit_data ...] [--models gan vae diffusion] [--seeds 1 2 3]

Every generator runs at its default settings on the same 70/30 splits as benchmarks/compare.py
(benchmarks/datasets.py; split seed = generator seed), samples as many rows as it trained on, and is judged by
``lookalike.evaluate.evaluate`` with the table's target. SDV's CTGANSynthesizer and TVAESynthesizer run at their
defaults on the same splits, in the sdv virtualenv, through benchmarks/run_peers.py (their synthetic rows and
timings are cached in benchmarks/.cache/<table>/seed<S>/sdv_*.csv/.json, shared with compare.py) and are judged
here by the same evaluate. Each judged (table, generator, seed) result is cached in benchmarks/.cache/family/
(delete it, or pass --force, to rerun ours). ``--reuse-peers-from OTHER/benchmarks/.cache`` copies SDV runs this cache
lacks from another checkout's cache, only where that checkout's split (train.csv) is byte-identical to ours, so an
SDV CTGAN fit (100-300 CPU s) is not repeated per worktree; the section names every reused run and when and at what
load it ran. Fit time is reported in wall seconds and in CPU seconds (process plus
children): the machine is shared, so CPU seconds are the fair comparison. Writes its own section of
benchmarks/RESULTS.md (``results_sections.update_section``); other sections are left as they are.
"""
from __future__ import annotations

import argparse
import filecmp
import json
import os
import resource
import shutil
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

import datasets  # noqa: E402
import run_peers  # noqa: E402
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

    train, holdout, meta = datasets.load(table, seed)
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


def run_peer(table: str, label: str, seed: int, allowed: bool) -> dict | None:
    """SDV's result on (table, seed): its cached run (made now through run_peers when missing and ``allowed``),
    judged here by the same evaluate as ours. None when it has not run."""
    generator = PEER_FILES[label]
    path = CACHE / table / f"{generator}-seed{seed}.json"
    csv_path, json_path = run_peers.outputs(table, seed, generator)
    if path.exists() and json_path.exists() and path.stat().st_mtime >= json_path.stat().st_mtime:
        return json.loads(path.read_text())
    if not run_peers.is_cached(table, seed, generator):
        if not allowed:
            return None
        print(f"running {label} on {table} seed {seed} ...", flush=True)
        status = run_peers.run_one(table, seed, generator, timeout_s=3600)
        if status["status"] != "ok":
            print(f"{label} failed on {table} seed {seed}: {status.get('error')}", flush=True)
            return None
    import pandas as pd

    from lookalike.evaluate import evaluate

    train, holdout, meta = datasets.load(table, seed)
    run = json.loads(json_path.read_text())
    report = evaluate(train, pd.read_csv(csv_path), holdout, target=meta["target"], seed=0)
    record = {"table": table, "model": label, "seed": seed, "fit_seconds": run["fit_s"],
              "fit_cpu_seconds": run["fit_cpu_s"], "load_at_start": (run.get("machine") or {}).get("loadavg_1m_at_start"),
              "metrics": {k: report.metrics.get(k) for k in KEYS}}
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(record, indent=2, default=float))
    return record


def reuse_peer(table: str, seed: int, generator: str, other_cache: Path) -> bool:
    """Copy ``generator``'s cached run on (table, seed) from another checkout's benchmark cache when this cache lacks
    it and both splits are byte-identical (the run is then exactly the one this script would make). True if copied."""
    if run_peers.is_cached(table, seed, generator):
        return False
    src = other_cache / table / f"seed{seed}"
    csv_path, json_path = run_peers.outputs(table, seed, generator)
    if not ((src / f"{generator}.csv").exists() and (src / f"{generator}.json").exists()):
        return False
    train_path, _ = datasets.prepare(table, seed)
    if not filecmp.cmp(src / "train.csv", train_path, shallow=False):
        print(f"not reusing {src}/{generator}: its train.csv differs from ours", flush=True)
        return False
    for name in (f"{generator}.csv", f"{generator}.json"):
        shutil.copy2(src / name, csv_path.parent / name)
    return True


def peer_provenance(table: str, seed: int, label: str) -> str | None:
    """'table/label/seed S: finished <UTC>, load <1-min load at start>, <n> torch threads' from the run's JSON."""
    _, json_path = run_peers.outputs(table, seed, PEER_FILES[label])
    if not json_path.exists():
        return None
    run = json.loads(json_path.read_text())
    load = (run.get("machine") or {}).get("loadavg_1m_at_start")
    threads = (run.get("versions") or {}).get("torch_threads")
    return (f"{table}/{label}/seed {seed}: finished {run.get('finished_at', '?').replace('T', ' ')[:16]} UTC, "
            f"load {'?' if load is None else format(load, '.1f')}, {threads} torch thread{'' if threads == 1 else 's'}")


def compare_demo(force: bool) -> dict:
    """Time ``lookalike.compare`` on the bundled demo table (ANES 1996) at its default settings (issue 20 wants it
    under 3 minutes); cached like the fits."""
    path = CACHE / "compare_demo.json"
    if path.exists() and not force:
        return json.loads(path.read_text())
    import tempfile
    from importlib.resources import files

    import pandas as pd

    from lookalike.compare import compare

    df = pd.read_csv(str(files("lookalike") / "data" / "anes96.csv"))
    load = os.getloadavg()[0]
    wall, cpu = time.perf_counter(), cpu_seconds()
    with tempfile.TemporaryDirectory() as tmp:
        result = compare(df, output=Path(tmp) / "compare")
    record = {"seconds": time.perf_counter() - wall, "cpu_seconds": cpu_seconds() - cpu, "load_at_start": load,
              "rows": len(df), "models": list(result.table["model"])}
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(record, indent=2))
    return record


def values(records: list[dict], key: str, metric: bool = True) -> list[float]:
    found = [(r["metrics"] if metric else r).get(key) for r in records]
    return [v for v in found if isinstance(v, (int, float))]


def mean(records: list[dict], key: str, metric: bool = True):
    found = values(records, key, metric)
    return sum(found) / len(found) if found else None


def fmt(v, spec=".3f") -> str:
    return "–" if v is None else format(v, spec)


def spread(records: list[dict], key: str, metric: bool = True, spec: str = ".3f") -> str:
    """Mean ± half-range over seeds (just the value with one seed)."""
    found = values(records, key, metric)
    if not found:
        return "–"
    centre = sum(found) / len(found)
    if len(found) == 1:
        return format(centre, spec)
    return f"{format(centre, spec)} ± {format((max(found) - min(found)) / 2, spec)}"


def row(label: str, recs: list[dict]) -> str:
    return (f"| {label} | {len(recs)} | {spread(recs, 'fit_seconds', False, '.0f')} | "
            f"{spread(recs, 'fit_cpu_seconds', False, '.0f')} | {spread(recs, 'univariate_accuracy')} | "
            f"{spread(recs, 'bivariate_accuracy')} | {spread(recs, 'dependence_capture', spec='.2f')} | "
            f"{spread(recs, 'discriminator_auc')} | {spread(recs, 'dcr_share')} | {spread(recs, 'exact_copy_share')} | "
            f"{spread(recs, 'tstr_score')} |")


def section(tables: list[str], models: list[str], seeds: list[int], results: dict, peers: dict,
            loads: list[float], missing: list[str] = (), demo: dict | None = None) -> str:
    peer_runs = [line for t in tables for label in PEER_FILES for seed in seeds
                 if peers[t].get(label) and any(r["seed"] == seed for r in peers[t][label])
                 for line in [peer_provenance(t, seed, label)] if line]
    from lookalike import __version__

    ours_cpu = sum(r["fit_cpu_seconds"] for t in results.values() for recs in t.values() for r in recs)
    lines = ["## Generator family: GAN, VAE, diffusion vs SDV CTGAN / TVAE (issue 20)", "",
             f"Script: `benchmarks/family.py --tables {' '.join(tables)} --models {' '.join(models)} --seeds "
             f"{' '.join(map(str, seeds))}` (lookalike {__version__}). Split seed = generator seed; cells are mean ± "
             f"half-range over the seeds that ran (column 'seeds'). Written "
             f"{time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}; the fits ran on a 2-core machine shared with "
             f"other work (1-minute load average {min(loads):.1f}–{max(loads):.1f} at the start of the fits), so "
             "wall-clock fit times are inflated and differ from run to run: **compare fit CPU s** (process plus "
             f"children, all threads). Every generator at its defaults; our fits took {ours_cpu:.0f} CPU s in all. "
             "SDV CTGANSynthesizer and TVAESynthesizer (defaults, sdv virtualenv, benchmarks/run_peers.py) ran on the "
             "same splits and are judged by the same evaluate.", "",
             "The GAN is a latent WGAN-GP since commit 333b2a6 (src/lookalike/models/gan.py: the VAE's autoencoder, "
             "then a GAN over its codes); its defaults (learning rate 5e-4, two critic updates, GAN width 128, 100 "
             "epochs, bfloat16 matrix products) were chosen on the seed-42/43/44 splits, not on the reported ones "
             "(benchmarks/gan_tuning_runs.jsonl). The CTGAN-style "
             "GAN over one-hot rows it replaced (tuned on credit_data's seed-1 split) scored, at seeds 1-2 on "
             "credit_data / lending_club / mlc_churn / diamonds: bivariate 0.913 / 0.930 / 0.925 / 0.797, "
             "discriminator AUC 0.819 / 0.977 / 0.663 / 0.991, TSTR 0.747 / 0.608 / 0.553 / 0.523, fit CPU s "
             "28 / 98 / 85 / 101. The diffusion model's within-group tables, dropout, weight decay and batch "
             "size were set on seed-42 splits, its patience (12, since commit 29fd154) on lending_club's seed-42/43/44 "
             "splits. A shorter VAE fit for the CPU target (patience 4) was measured at seeds 1-2 (this section in "
             "commit 5f24471) and not kept: lending_club's bivariate accuracy fell to 0.933, below its 0.935 floor.", "",
             "The VAE trains in bfloat16 since commit f73689f (matrix products only, where the CPU has native "
             "bfloat16; the encoder's input layer a token sum; patience 8, chosen on seed-42 splits). Its fit CPU "
             "seconds before that, at seeds 1-2 on this machine: 9 / 25 / 11 / 27 (credit_data / lending_club / "
             "mlc_churn / diamonds; ratios to SDV TVAE 0.395 / 0.340 / 0.302 / 0.553). The shared flat log-softmax "
             "changed its shift (float rounding only), so the diffusion rows were fitted again then.", "",
             "SDV runs are fitted once and cached. TVAE's CPU seconds barely depend on load or threads (lending_club: "
             "74.2 CPU s with 2 threads at load 5.7, 72.7 with 1 thread at load 1.0); CTGAN's do more: its seed-1 "
             "runs on lending_club, mlc_churn and diamonds (2 threads, load 19-83) took 313 / 158 / 207 CPU s, its "
             "seed-2 runs (1 thread, load 1.5-2.7, another split) 245 / 108 / 155, so a ratio to CTGAN's mean is "
             "uncertain by about that much. Wall seconds depend on load for both. The SDV rows below come from these "
             "cached runs, reused as they are (a run made for an earlier version of this section keeps its date):", ""] + [f"- {line}" for line in peer_runs] + [""]
    verdicts = []
    for table in tables:
        rows = results[table]
        any_rec = next((r for recs in list(rows.values()) + list(peers[table].values()) for r in recs), None)
        if any_rec is None:
            continue
        m = any_rec["metrics"]
        lines += [f"### {table}", "",
                  f"| generator | seeds | fit s | fit CPU s | uni | bi (floor {fmt(m['bivariate_floor'])} / ceiling "
                  f"{fmt(m['bivariate_accuracy_holdout'])}) | dep | AUC (holdout {fmt(m['discriminator_auc_holdout'], '.2f')}) "
                  f"| DCR share | exact copies (holdout {fmt(m['exact_copy_share_holdout'])}) | TSTR (TRTR {fmt(m['trtr_score'])}) |",
                  "|---|---|---|---|---|---|---|---|---|---|---|"]
        for model in models:
            if rows.get(model):
                lines.append(row(f"lookalike {model}", rows[model]))
        for label, recs in peers[table].items():
            lines.append(row(label, recs) if recs else f"| {label} | 0 | not run | | | | | | | | |")
        if len(seeds) > 1:
            lines += ["", f"Floor, ceiling, holdout AUC and TRTR above are seed {any_rec['seed']}'s."]
        lines.append("")
        verdicts += table_verdicts(table, rows, peers[table], m)
    if missing:
        lines += [f"Not run: {', '.join(missing)}.", ""]
    if demo is not None:
        lines += [f"`lookalike compare` on the bundled demo table ({demo['rows']} rows; {', '.join(demo['models'])}; "
                  f"default settings): {demo['seconds']:.0f} s wall, {demo['cpu_seconds']:.0f} CPU s (1-minute load "
                  f"average {demo['load_at_start']:.1f} at its start); target under 3 minutes: "
                  f"{'met' if demo['seconds'] < 180 else 'NOT met'}.", ""]
    lines += ["### Issue 20's targets, checked (means over seeds)", ""] + [f"- {v}" for v in verdicts]
    return "\n".join(lines) + "\n"


def table_verdicts(table: str, rows: dict, peers: dict, ref: dict) -> list[str]:
    out = []
    for model, recs in rows.items():
        if not recs:
            continue
        floor = mean(recs, "bivariate_floor")
        bi, auc, tstr = mean(recs, "bivariate_accuracy"), mean(recs, "discriminator_auc"), mean(recs, "tstr_score")
        fit, fit_cpu = mean(recs, "fit_seconds", False), mean(recs, "fit_cpu_seconds", False)
        dcr, copies = mean(recs, "dcr_share"), mean(recs, "exact_copy_share")
        copies_holdout = mean(recs, "exact_copy_share_holdout") or 0.0
        checks = [f"above floor {'yes' if bi > floor else 'NO'} ({bi:.3f} vs {floor:.3f})",
                  f"DCR ≤ 0.55 {'yes' if dcr <= 0.55 else 'NO'} ({dcr:.3f})",
                  f"copies ≤ holdout's {'yes' if copies <= copies_holdout else 'NO'} ({copies:.4f} vs {copies_holdout:.4f})"]
        label = PEER_OF.get(model)
        precs = peers.get(label) if label else None
        if precs:
            p_bi, p_auc = mean(precs, "bivariate_accuracy"), mean(precs, "discriminator_auc")
            p_tstr, p_cpu = mean(precs, "tstr_score"), mean(precs, "fit_cpu_seconds", False)
            checks[:0] = [f"bi > {label} {'yes' if bi > p_bi else 'NO'} ({bi:.3f} vs {p_bi:.3f})",
                          f"AUC < {label} {'yes' if auc < p_auc else 'NO'} ({auc:.3f} vs {p_auc:.3f})",
                          f"TSTR within 0.02 or better {'yes' if tstr >= p_tstr - 0.02 else 'NO'} ({tstr:.3f} vs {p_tstr:.3f})",
                          f"fit CPU s ≤ 1/3 of {label}'s {'yes' if fit_cpu <= p_cpu / 3 else 'NO'} "
                          f"({fit_cpu:.0f} vs {p_cpu:.0f}, ratio {fit_cpu / p_cpu:.3f})"]
        elif label:
            checks.insert(0, f"{label} did not run on this table: comparison not made")
        if model == "diffusion":
            dep = mean(recs, "dependence_capture")
            checks[:0] = ["dep not defined (the holdout's bivariate accuracy is below the floor: no dependence "
                          "to capture)" if dep is None else f"dep ≥ 0.8 {'yes' if dep >= 0.8 else 'NO'} ({dep:.3f})",
                          f"AUC ≤ 0.75 {'yes' if auc <= 0.75 else 'NO'} ({auc:.3f})",
                          f"fit ≤ 300 s: wall {'yes' if fit <= 300 else 'NO'} ({fit:.0f} s), CPU "
                          f"{'yes' if fit_cpu <= 300 else 'NO'} ({fit_cpu:.0f} CPU s)"]
        out.append(f"{table} / {model}: " + "; ".join(checks))
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tables", nargs="+", default=datasets.names(), choices=datasets.names())
    parser.add_argument("--models", nargs="+", default=list(OURS), choices=list(OURS))
    parser.add_argument("--seeds", nargs="+", type=int, default=list(datasets.SEEDS))
    parser.add_argument("--force", action="store_true", help="rerun cached (table, generator, seed) results of ours")
    parser.add_argument("--cached-only", action="store_true",
                        help="fit nothing: write the section from the cached results, naming the runs missing")
    parser.add_argument("--no-peers", action="store_true", help="do not start SDV runs (use cached ones only)")
    parser.add_argument("--no-write", action="store_true", help="print the section, leave RESULTS.md alone")
    parser.add_argument("--no-demo", action="store_true", help="skip timing `lookalike compare` on the demo table")
    parser.add_argument("--reuse-peers-from", type=Path, metavar="CACHE",
                        help="another checkout's benchmarks/.cache: copy SDV runs missing here from it (same splits only)")
    args = parser.parse_args(argv)
    if 42 in args.seeds:
        parser.error("seed 42 is the split lookalike's defaults were tuned on; report seeds 1, 2, 3")
    results, peers, loads, missing = {}, {}, [], []
    if args.reuse_peers_from:
        for table in args.tables:
            for seed in args.seeds:
                for generator in PEER_FILES.values():
                    if reuse_peer(table, seed, generator, args.reuse_peers_from):
                        print(f"reused {generator} on {table} seed {seed} from {args.reuse_peers_from}", flush=True)
    for table in args.tables:
        results[table], peers[table] = {}, {}
        for seed in args.seeds:
            for model in args.models:
                if args.cached_only and not (CACHE / table / f"{model}-seed{seed}.json").exists():
                    missing.append(f"{table}/{model}/seed{seed}")
                    continue
                record = run_ours(table, model, seed, args.force)
                loads.append(record["load_at_start"])
                results[table].setdefault(model, []).append(record)
                m = record["metrics"]
                print(f"{table}/{model}/seed{seed}: fit {record['fit_seconds']:.0f}s ({record['fit_cpu_seconds']:.0f} "
                      f"CPU s), bi {m['bivariate_accuracy']:.3f} (floor {m['bivariate_floor']:.3f}), dep "
                      f"{fmt(m['dependence_capture'], '.2f')}, AUC {m['discriminator_auc']:.3f}, TSTR "
                      f"{fmt(m['tstr_score'])}", flush=True)
            for label in PEER_FILES:
                record = run_peer(table, label, seed, allowed=not (args.cached_only or args.no_peers))
                peers[table].setdefault(label, [])
                if record is None:
                    missing.append(f"{table}/{label}/seed{seed}")
                    continue
                peers[table][label].append(record)
                m = record["metrics"]
                print(f"{table}/{label}/seed{seed}: fit {record['fit_seconds']:.0f}s ({record['fit_cpu_seconds']:.0f} "
                      f"CPU s), bi {m['bivariate_accuracy']:.3f}, AUC {m['discriminator_auc']:.3f}, TSTR "
                      f"{fmt(m['tstr_score'])}", flush=True)
    demo = None
    if not args.no_demo and (not args.cached_only or (CACHE / "compare_demo.json").exists()):
        demo = compare_demo(args.force)
        print(f"compare on the demo table: {demo['seconds']:.0f} s wall, {demo['cpu_seconds']:.0f} CPU s", flush=True)
    text = section(args.tables, args.models, args.seeds, results, peers, loads or [os.getloadavg()[0]], missing, demo)
    if args.no_write:
        print(text)
    else:
        update_section("family", text)
        print(f"wrote the 'family' section of {RESULTS}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
