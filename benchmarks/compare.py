"""Judge every generator on every benchmark table and seed with one metric code path and write benchmarks/RESULTS.md.

Seeds: every table is split with seeds 1, 2 and 3 (datasets.SEEDS), and each generator is seeded with the
seed of the split it trains on. A cell is the mean ± half-range over the seeds. Seed 42 is refused (unless
--allow-tuning-seed): lookalike's defaults were tuned on that split, so scoring on it would flatter us.

Rows per table:
- lookalike's own generators (copula, argn), fitted through the public API ``Synthesizer(model=M, seed=S)``
  in a fresh process (benchmarks/peers/run_lookalike.py), like the peers, so fit time and peak memory are
  measured the same way for everyone. The code comes from the importable lookalike, from --lookalike-src DIR,
  or from a git revision (--lookalike-rev REV, extracted into .cache/src/); outputs are cached per source
  fingerprint, so the same code is never fitted twice and older code's outputs are never judged as newer;
- the peers' cached outputs from benchmarks/run_peers.py (SDV GaussianCopula/TVAE/CTGAN, TabularARGN);
- "independent marginals": every training column shuffled on its own (right marginals, no dependence);
- "real holdout": the reference that no generator can honestly beat, read from the ``*_holdout`` metrics.
Every synthetic table goes through a CSV round trip before it is judged, and every number comes from
``lookalike.evaluate.evaluate``; this script computes no metric of its own.

    PYTHONPATH=src python benchmarks/compare.py                   # all tables x seeds 1-3, writes benchmarks/RESULTS.md
    PYTHONPATH=src python benchmarks/compare.py --tables credit_data --no-lookalike
    PYTHONPATH=src python benchmarks/compare.py --lookalike-rev main  # fit and judge with lookalike as committed on main
"""
from __future__ import annotations

import argparse
import hashlib
import json
import math
import os
import platform
import shutil
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

import numpy as np
import pandas as pd

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
import datasets  # noqa: E402
from run_peers import PEERS, job_environment, timed_job_lock  # noqa: E402

RESULTS_MD = HERE / "RESULTS.md"
LOOKALIKE_MODELS = {"lookalike_argn": "lookalike argn", "lookalike_copula": "lookalike copula"}
BASELINE = "independent_marginals"
LABELS = {**LOOKALIKE_MODELS, **{name: peer.label for name, peer in PEERS.items()},
          BASELINE: "independent marginals", "real_holdout": "real holdout (reference)"}
ROW_ORDER = [*LOOKALIKE_MODELS, "tabular_argn", "sdv_tvae", "sdv_ctgan", "sdv_gaussian_copula", BASELINE]
ARGN_PEER = "tabular_argn"


# -- the one metric source --------------------------------------------------------------------------------
def load_evaluate():
    """Return lookalike.evaluate.evaluate, or stop with a message that says what to do."""
    try:
        from lookalike.evaluate import evaluate
    except ImportError as exc:
        raise SystemExit(
            f"compare.py needs lookalike.evaluate.evaluate, which is not importable here ({exc}).\n"
            "Run from the repository root with PYTHONPATH=src, on a branch where the evaluate module has landed "
            "(check `git log main --oneline`)."
        ) from None
    return evaluate


def _source_fingerprint(package_dir: Path) -> str:
    digest = hashlib.sha1()
    for path in sorted(package_dir.rglob("*.py")):
        digest.update(str(path.relative_to(package_dir)).encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()[:16]


def _file_sha1(path: Path) -> str:
    return hashlib.sha1(path.read_bytes()).hexdigest()[:16]


def _lookalike_dir() -> Path | None:
    try:
        import lookalike
    except ImportError:
        return None
    return Path(lookalike.__file__).resolve().parent


# -- which lookalike code is fitted and judges -------------------------------------------------------------
@dataclass(frozen=True)
class LookalikeSource:
    """A directory holding the `lookalike` package (fitted and used as the judge), with a fingerprint of its code."""

    src_dir: Path
    fingerprint: str
    label: str


def _git(*args: str, cwd: Path) -> str:
    return subprocess.run(["git", *args], cwd=cwd, capture_output=True, text=True, check=True).stdout.strip()


def _short(text: str, limit: int = 80) -> str:
    return text if len(text) <= limit else text[: limit - 2].rstrip() + "…)"


def resolve_source(src: Path | None, rev: str | None) -> LookalikeSource:
    """The lookalike code to fit and to judge with: a git revision (extracted, clean), a source tree, or the
    importable package. The judge comes from the same tree, so one RESULTS.md has one metric code path."""
    if rev:
        commit = _git("rev-parse", "--verify", f"{rev}^{{commit}}", cwd=HERE)
        dest = datasets.CACHE_DIR / "src" / commit[:12]
        if not (dest / "src" / "lookalike").is_dir():
            tmp = dest.with_name(dest.name + ".tmp")
            shutil.rmtree(tmp, ignore_errors=True)
            tmp.mkdir(parents=True)
            archive = subprocess.run(["git", "archive", commit, "src/lookalike"], cwd=HERE.parent, capture_output=True, check=True)
            subprocess.run(["tar", "-x", "-C", str(tmp)], input=archive.stdout, check=True)
            shutil.rmtree(dest, ignore_errors=True)
            tmp.replace(dest)
        subject = _git("log", "-1", "--format=%h (%s)", commit, cwd=HERE)
        src_dir, label = dest / "src", f"git revision `{rev}` = {_short(subject)}"
    elif src is not None:
        src_dir = src.resolve()
        if src_dir.name == "lookalike" and (src_dir / "__init__.py").exists():
            src_dir = src_dir.parent
        if not (src_dir / "lookalike" / "__init__.py").exists():
            raise SystemExit(f"--lookalike-src {src}: no lookalike package there (give the folder that holds lookalike/)")
        label = f"source tree `{src_dir}`"
        try:
            head = _git("log", "-1", "--format=%h (%s)", cwd=src_dir)
            dirty = _git("status", "--porcelain", "--", ".", cwd=src_dir)
            label += f" at {_short(head)}" + (" plus uncommitted changes" if dirty else "")
        except (subprocess.CalledProcessError, FileNotFoundError):
            pass
    else:
        package_dir = _lookalike_dir()
        if package_dir is None:
            raise SystemExit("lookalike is not importable: run with PYTHONPATH=src, or pass --lookalike-src / --lookalike-rev")
        src_dir = package_dir.parent
        label = f"source tree `{src_dir}`"
        try:
            head = _git("log", "-1", "--format=%h (%s)", cwd=src_dir)
            dirty = _git("status", "--porcelain", "--", ".", cwd=src_dir)
            label += f" at {_short(head)}" + (" plus uncommitted changes" if dirty else "")
        except (subprocess.CalledProcessError, FileNotFoundError):
            pass
    sys.path.insert(0, str(src_dir))  # the judge (lookalike.evaluate) comes from the same tree
    for name in [m for m in sys.modules if m == "lookalike" or m.startswith("lookalike.")]:
        del sys.modules[name]
    return LookalikeSource(src_dir, _source_fingerprint(src_dir / "lookalike"), label)


# -- where each generator's outputs live ----------------------------------------------------------------
def output_paths(table: str, seed: int, generator: str, source: LookalikeSource | None) -> tuple[Path, Path, Path]:
    """(synthetic CSV, run JSON, metrics cache) of one generator on one table and seed. lookalike's own
    outputs are kept per source fingerprint, so outputs of older code stay cached and are never judged as newer."""
    folder = datasets.table_dir(table, seed)
    if generator in LOOKALIKE_MODELS:
        if source is None:
            raise ValueError("lookalike outputs need a source")
        base = folder / "lookalike" / source.fingerprint
        return base / f"{generator}.csv", base / f"{generator}.json", base / "metrics" / f"{generator}.json"
    return folder / f"{generator}.csv", folder / f"{generator}.json", folder / "metrics" / f"{generator}.json"


# -- making the synthetic tables that are not peers ----------------------------------------------------
def run_lookalike(table: str, seed: int, generator: str, source: LookalikeSource, force: bool, timeout_s: float) -> dict:
    """Fit one lookalike model (seeded with the split seed) in a fresh process, holding the timed-job lock;
    reuse its cached output for this source fingerprint."""
    csv_path, json_path, _ = output_paths(table, seed, generator, source)
    if not force and csv_path.exists() and json_path.exists():
        return {"status": "ok", "cached": True}
    train_path, _ = datasets.prepare(table, seed)
    csv_path.parent.mkdir(parents=True, exist_ok=True)
    log_path = csv_path.with_suffix(".log")
    env = job_environment()  # same as the peers get
    env["PYTHONPATH"] = str(source.src_dir)
    command = [sys.executable, str(HERE / "peers" / "run_lookalike.py"), "--train", str(train_path),
               "--generator", generator, "--out-csv", str(csv_path), "--out-json", str(json_path), "--seed", str(seed)]
    print(f"  fitting {generator} on {table} seed {seed} ...", flush=True)
    with timed_job_lock(), open(log_path, "w") as log:
        try:
            code = subprocess.run(command, stdout=log, stderr=subprocess.STDOUT, env=env, cwd=HERE / "peers",
                                  timeout=timeout_s).returncode
        except subprocess.TimeoutExpired:
            code = "timeout"
    if code != 0 or not json_path.exists():
        tail = log_path.read_text(errors="replace").strip().splitlines()[-3:]
        for path in (csv_path, json_path):  # never judge a partial output
            path.unlink(missing_ok=True)
        return {"status": "failed", "error": " | ".join(tail) or f"exit {code}", "log": str(log_path)}
    record = json.loads(json_path.read_text())
    record["lookalike_source"] = source.fingerprint
    record["lookalike_source_label"] = source.label
    json_path.write_text(json.dumps(record, indent=2))
    return {"status": "ok", "cached": False}


def make_independent_marginals(table: str, seed: int, train: pd.DataFrame) -> None:
    """Each column of train shuffled on its own (seeded with the split seed): the floor every generator should
    beat on dependence."""
    csv_path, json_path, _ = output_paths(table, seed, BASELINE, None)
    start = time.perf_counter()
    rng = np.random.default_rng(seed)
    shuffled = pd.DataFrame({col: train[col].to_numpy()[rng.permutation(len(train))] for col in train.columns})
    seconds = time.perf_counter() - start
    shuffled.to_csv(csv_path, index=False)
    json_path.write_text(json.dumps({
        "generator": BASELINE, "fit_s": 0.0, "fit_cpu_s": 0.0, "sample_s": round(seconds, 4),
        "sample_rows_per_s": round(len(train) / seconds, 1) if seconds > 0 else None, "peak_rss_mb": None,
    }, indent=2))


# -- judging ----------------------------------------------------------------------------------------------
def judge(evaluate, table: str, seed: int, csv_path: Path, cache_path: Path, train: pd.DataFrame,
          holdout: pd.DataFrame, meta: dict, evaluate_fingerprint: str, force: bool) -> dict:
    """Metrics for one cached synthetic CSV, cached by (synthetic file, split files, evaluate source)."""
    folder = datasets.table_dir(table, seed)
    key = {"synthetic": _file_sha1(csv_path), "train": _file_sha1(folder / "train.csv"),
           "holdout": _file_sha1(folder / "holdout.csv"), "evaluate": evaluate_fingerprint}
    if not force and cache_path.exists():
        cached = json.loads(cache_path.read_text())
        if cached.get("key") == key:
            return cached["metrics"]
    synthetic = pd.read_csv(csv_path)  # the CSV round trip every table goes through
    start = time.perf_counter()
    report = evaluate(train=train, synthetic=synthetic, holdout=holdout, target=meta["target"])
    metrics = {k: _plain(v) for k, v in dict(report.metrics).items()}
    print(f"  judged {csv_path.stem} on {table} seed {seed} in {time.perf_counter() - start:.0f} s", flush=True)
    cache_path.parent.mkdir(parents=True, exist_ok=True)
    cache_path.write_text(json.dumps({"key": key, "metrics": metrics}, indent=2))
    return metrics


def _plain(value):
    if isinstance(value, (np.floating, np.integer)):
        return value.item()
    if isinstance(value, (int, float, str, bool)) or value is None:
        return value
    return str(value)


# -- mean and spread over seeds -----------------------------------------------------------------------
def _finite(value) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def spread(values) -> tuple[float, float, int] | None:
    """(mean, half-range, n) of the finite values; half-range = (max - min) / 2. None when there are none."""
    values = [float(v) for v in values if _finite(v)]
    if not values:
        return None
    return sum(values) / len(values), (max(values) - min(values)) / 2, len(values)


def _num(value, digits: int = 3) -> str:
    if not _finite(value):
        return "–"
    return f"{value:.{digits}f}"


def _seconds(value) -> str:
    if not _finite(value):
        return "–"
    return f"{value:.1f}" if value < 10 else f"{value:.0f}"


def _rate(value) -> str:
    return "–" if not _finite(value) else f"{value:,.0f}"


def cell(values, fmt=_num, **kwargs) -> str:
    """'mean ± half-range' over the seeds (just the value when only one seed has it)."""
    stats = spread(values)
    if stats is None:
        return "–"
    mean, half, n = stats
    return fmt(mean, **kwargs) if n == 1 else f"{fmt(mean, **kwargs)} ± {fmt(half, **kwargs)}"


def _holdout_values(per_seed: dict[int, dict], key: str) -> list:
    """A *_holdout metric once per seed (every generator's report of one seed carries the same value)."""
    out = []
    for rows in per_seed.values():
        for row in rows.values():
            value = row["metrics"].get(key)
            if _finite(value):
                out.append(value)
                break
    return out


# -- the report ------------------------------------------------------------------------------------------
def table_markdown(table: str, meta: dict, shape: dict, results: dict, per_seed: dict, problems: dict,
                   seeds: list[int]) -> str:
    """One table section. results: {generator: {seed: {"run", "metrics"}}}; per_seed: {seed: {generator: row}}."""
    hv = lambda key: _holdout_values(per_seed, key)  # noqa: E731
    score = "AUC" if meta["task"] == "classification" else "R²"
    lines = [
        f"## {table}",
        "",
        f"{meta['source']}{' (' + meta['note'] + ')' if meta['note'] else ''}: train {shape['train'][0]:,} rows × "
        f"{shape['train'][1]} columns, holdout {shape['holdout'][0]:,} rows, split with seeds "
        f"{', '.join(map(str, seeds))}; target `{meta['target']}` ({meta['task']}, TSTR/TRTR scored as {score} on "
        "the real holdout).",
        "",
        f"| generator | seeds | fit s | fit CPU s | sample rows/s | peak MB | uni (holdout {cell(hv('univariate_accuracy_holdout'))}) | "
        f"bi (floor {cell(hv('bivariate_floor'))} / ceiling {cell(hv('bivariate_accuracy_holdout'))}) | bi at holdout size | dep | "
        f"AUC (holdout {cell(hv('discriminator_auc_holdout'), digits=2)}) | DCR share | "
        f"exact copies (holdout's {cell(hv('exact_copy_share_holdout'))}) | TSTR (TRTR {cell(hv('trtr_score'))}) | "
        "gran gap | distinct ratio |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for generator, by_seed in results.items():
        runs = [r["run"] for r in by_seed.values()]
        ms = [r["metrics"] for r in by_seed.values()]
        col = lambda key: [m.get(key) for m in ms]  # noqa: E731
        run = lambda key: [r.get(key) for r in runs]  # noqa: E731
        lines.append(
            f"| {LABELS.get(generator, generator)} | {','.join(map(str, sorted(by_seed)))} | {cell(run('fit_s'), _seconds)} | "
            f"{cell(run('fit_cpu_s'), _seconds)} | {cell(run('sample_rows_per_s'), _rate)} | {cell(run('peak_rss_mb'), _rate)} | "
            f"{cell(col('univariate_accuracy'))} | {cell(col('bivariate_accuracy'))} | "
            f"{cell(col('bivariate_accuracy_at_holdout_size'))} | {cell(col('dependence_capture'), digits=2)} | "
            f"{cell(col('discriminator_auc'))} | {cell(col('dcr_share'))} | {cell(col('exact_copy_share'))} | "
            f"{cell(col('tstr_score'))} | {cell(col('granularity_worst_gap'), digits=2)} | "
            f"{cell(col('distinct_ratio_worst'), digits=2)} |"
        )
    if results:
        holdout_seeds = sorted(s for s, rows in per_seed.items() if rows)
        lines.append(
            f"| {LABELS['real_holdout']} | {','.join(map(str, holdout_seeds))} | – | – | – | – | "
            f"{cell(hv('univariate_accuracy_holdout'))} | {cell(hv('bivariate_accuracy_holdout'))} | "
            f"{cell(hv('bivariate_accuracy_holdout'))} | 1.00 | {cell(hv('discriminator_auc_holdout'))} | – | "
            f"{cell(hv('exact_copy_share_holdout'))} | – | {cell(hv('granularity_worst_gap_holdout'), digits=2)} | – |"
        )
    lines.append("")
    lines.extend(ratio_lines(results))
    for generator, problem in problems.items():
        lines.append(f"- {LABELS.get(generator, generator)}: {problem}.")
    lines.append("")
    return "\n".join(lines)


def ratio_lines(results: dict) -> list[str]:
    """lookalike / TabularARGN ratios of fit wall time, fit CPU time and sample speed, per seed, then mean ± half-range."""
    argn = results.get(ARGN_PEER, {})
    lines = []
    for generator in LOOKALIKE_MODELS:
        mine = results.get(generator, {})
        both = sorted(set(mine) & set(argn))
        pairs = [(mine[s]["run"], argn[s]["run"]) for s in both]
        fit = [m["fit_s"] / a["fit_s"] for m, a in pairs if m.get("fit_s") and a.get("fit_s")]
        if not fit:
            continue
        cpu = [m["fit_cpu_s"] / a["fit_cpu_s"] for m, a in pairs if m.get("fit_cpu_s") and a.get("fit_cpu_s")]
        speed = [m["sample_rows_per_s"] / a["sample_rows_per_s"] for m, a in pairs
                 if m.get("sample_rows_per_s") and a.get("sample_rows_per_s")]
        lines.append(
            f"- {LABELS[generator]} / TabularARGN, seeds {','.join(map(str, both))}: fit time ratio "
            f"**{cell(fit, digits=2)}** ({cell([m['fit_s'] for m, _ in pairs], _seconds)} s vs "
            f"{cell([a['fit_s'] for _, a in pairs], _seconds)} s); fit CPU time ratio **{cell(cpu, digits=2)}** "
            f"({cell([m.get('fit_cpu_s') for m, _ in pairs], _seconds)} vs {cell([a.get('fit_cpu_s') for _, a in pairs], _seconds)} "
            f"CPU s); sample speed {cell(speed, digits=2)}× TabularARGN's.")
    return lines


HEADLINE_METRICS = (("bivariate_accuracy", "bi", 3), ("discriminator_auc", "AUC", 3), ("tstr_score", "TSTR", 3))


def headline_markdown(summary: dict, seeds: list[int]) -> str:
    """lookalike argn against TabularARGN on every table: the numbers README.md quotes."""
    lines = [
        "## Headline: lookalike argn against TabularARGN",
        "",
        f"Mean ± half-range over seeds {', '.join(map(str, seeds))} (each cell's seeds in the per-table sections "
        "below). bi: bivariate accuracy; at holdout size: the same for a synthetic sample as small as the holdout, "
        "the fair comparison with the ceiling (the real holdout's own score); AUC: discriminator, 0.5 = indistinguishable; "
        "TSTR: AUC (R² for diamonds) on the real holdout of a model trained on synthetic rows.",
        "",
        "| table | generator | bi | bi at holdout size (ceiling) | AUC | TSTR (TRTR) | fit CPU s | fit s |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for table, entry in summary.items():
        results, per_seed = entry["results"], entry["per_seed"]
        ceiling = cell(_holdout_values(per_seed, "bivariate_accuracy_holdout"))
        trtr = cell(_holdout_values(per_seed, "trtr_score"))
        for generator in ("lookalike_argn", ARGN_PEER):
            by_seed = results.get(generator)
            if not by_seed:
                lines.append(f"| {table} | {LABELS[generator]} | – | – | – | – | – | – |")
                continue
            ms = [r["metrics"] for r in by_seed.values()]
            runs = [r["run"] for r in by_seed.values()]
            lines.append(
                f"| {table} | {LABELS[generator]} | {cell([m.get('bivariate_accuracy') for m in ms])} | "
                f"{cell([m.get('bivariate_accuracy_at_holdout_size') for m in ms])} ({ceiling}) | "
                f"{cell([m.get('discriminator_auc') for m in ms])} | {cell([m.get('tstr_score') for m in ms])} ({trtr}) | "
                f"{cell([r.get('fit_cpu_s') for r in runs], _seconds)} | {cell([r.get('fit_s') for r in runs], _seconds)} |")
    return "\n".join(lines) + "\n"


def machine_markdown(runs: list[dict], seeds: list[int], source: LookalikeSource | None) -> str:
    loads = [r["machine"].get("loadavg_1m_at_start") for r in runs if r.get("machine")]
    loads = [x for x in loads if x is not None]
    versions: dict[str, str] = {}
    for r in runs:
        versions.update({k: v for k, v in (r.get("versions") or {}).items() if k != "torch_threads"})
    load_note = (f" The 1-minute load average at the start of the generator runs ranged {min(loads):.1f}–"
                 f"{max(loads):.1f} on {os.cpu_count()} cores." if loads else "")
    source_note = (f" lookalike's rows and the judge (`lookalike.evaluate`) come from {source.label} (source "
                   f"fingerprint `{source.fingerprint}`)." if source else "")
    return (
        f"Generated {datetime.now(timezone.utc).strftime('%Y-%m-%d %H:%M UTC')} on `{socket.gethostname()}` "
        f"({platform.platform()}, {os.cpu_count()} CPU cores, no GPU). Versions: "
        + ", ".join(f"{k} {v}" for k, v in sorted(versions.items())) + "." + source_note + "\n\n"
        f"**Seeds.** Every table is split 70/30 with seeds {', '.join(map(str, seeds))}, and every generator is "
        "seeded with the seed of the split it trains on (split seed = model seed), so the spread shows both "
        "split and training noise. Seed 42 is not reported: lookalike's defaults were tuned on the seed-42 split "
        "(benchmarks/results_argn_utility.md), and scoring on it would flatter us. Every cell is the **mean ± "
        "half-range** over the seeds (half-range = (max − min) / 2, so the seeds' values span mean ± that); the "
        "`seeds` column lists the seeds a row has, and a cell without ± comes from one seed. The floor "
        "(independent marginals, shuffled with the split seed) and the ceiling (real holdout) are per seed too.\n\n"
        "Every generator runs at its default settings, one job at a time (a lock file keeps timed jobs from "
        "overlapping), in a fresh process, and samples as many rows as its training set; fit s includes the "
        "generator's own preprocessing. The machine is shared with other work, so wall-clock timings are noisy "
        "(expect ±30% or more; only their order of magnitude is reliable); fit CPU s (process plus reaped "
        "workers) depends less on the others' load."
        + load_note + "\n"
    )


LEGEND = """\
Columns (definitions in DESIGN.md; every number from `lookalike.evaluate.evaluate`):
uni / bi: univariate / bivariate accuracy against the training data (1 = same binned frequencies); the
bivariate floor is independent marginals (train with each column shuffled) and the ceiling a real holdout.
bi at holdout size: the same for a synthetic sample as small as the holdout (averaged over 5 draws): smaller
samples score lower by chance, so this is the fair comparison with the ceiling. dep: dependence capture,
(bi - floor) / (ceiling - floor) as in DESIGN.md (0 = no dependence learned, 1 = as much as fresh real data;
above 1 is possible because the holdout's own sampling noise lowers the ceiling; empty when the real data
shows no dependence above the floor). AUC: a gradient-boosting discriminator telling real train from synthetic
(0.5 = indistinguishable). DCR share: share of synthetic rows closer to a train row than to a holdout row
(about 0.5 is right; well above means memorisation). exact copies: share of synthetic rows identical to a
training row. TSTR: model trained on synthetic, scored on the real holdout (TRTR: trained on real train).
gran gap: the worst numeric column's gap in its main rounding-unit share (issue 10 asks <= 0.08). distinct
ratio: the worst numeric column's synthetic / real distinct-value count at equal rows (issue 10 asks <= 1.5).
peak MB: peak resident memory of
the generator's process tree.
"""




def _kept_sections(path: Path) -> str:
    """Sections other scripts maintain in the same file (between <!-- begin X --> and <!-- end X -->)."""
    if not path.exists():
        return ""
    old, kept = path.read_text(encoding="utf-8"), []
    for part in old.split("<!-- begin ")[1:]:
        name = part.split(" -->", 1)[0]
        end = f"<!-- end {name} -->"
        if end in part:
            kept.append("<!-- begin " + part.split(end, 1)[0] + end)
    return "\n" + "\n\n".join(kept) + "\n" if kept else ""


def _missing_reason(table: str, seed: int, generator: str, peer_status: dict) -> str:
    status = peer_status.get(f"{table}/seed{seed}/{generator}", {})
    if status.get("status") == "failed":
        err = status.get("error")
        return f"run_peers.py failed: {' | '.join(err) if isinstance(err, list) else err}"
    return "not run: no cached output"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tables", nargs="+", default=datasets.names(), choices=datasets.names())
    parser.add_argument("--seeds", nargs="+", type=int, default=list(datasets.SEEDS),
                        help="split seed = model seed (default 1 2 3)")
    parser.add_argument("--allow-tuning-seed", action="store_true",
                        help=f"allow seed {datasets.TUNING_SEED}, the split lookalike's defaults were tuned on")
    parser.add_argument("--lookalike-src", type=Path, default=None,
                        help="folder holding the lookalike package to fit and judge with (default: the importable one)")
    parser.add_argument("--lookalike-rev", default=None,
                        help="git revision whose src/lookalike is extracted (clean) into .cache/src/ and used instead")
    parser.add_argument("--no-lookalike", action="store_true", help="judge peers and baselines only")
    parser.add_argument("--no-peers", action="store_true",
                        help="lookalike's rows only (no peers, no independent-marginals row; floor and ceiling stay in the header)")
    parser.add_argument("--lookalike-models", nargs="+", default=list(LOOKALIKE_MODELS), choices=list(LOOKALIKE_MODELS))
    parser.add_argument("--force-lookalike", action="store_true", help="refit lookalike models even if cached")
    parser.add_argument("--fit-only", action="store_true",
                        help="only fit lookalike's models (timed runs, under the lock shared with run_peers.py), judge later")
    parser.add_argument("--no-fit", action="store_true",
                        help="fit nothing: judge only what is cached (untimed, so it may run niced beside timed jobs)")
    parser.add_argument("--force-judge", action="store_true", help="re-run evaluate even if its result is cached")
    parser.add_argument("--timeout", type=float, default=3600.0, help="seconds before one lookalike fit is stopped")
    parser.add_argument("--out", type=Path, default=RESULTS_MD, help="where the markdown goes")
    parser.add_argument("--json-out", type=Path, default=datasets.CACHE_DIR / "results.json",
                        help="where the per-seed numbers go (JSON)")
    parser.add_argument("--why-missing", action="append", default=[], metavar="GENERATOR=REASON",
                        help="reason shown for a generator's missing seeds instead of 'no cached output'; repeatable")
    parser.add_argument("--note", action="append", default=[],
                        help="a paragraph put under the title (e.g. what is missing and why); repeatable")
    args = parser.parse_args(argv)
    if datasets.TUNING_SEED in args.seeds and not args.allow_tuning_seed:
        parser.error(f"seed {datasets.TUNING_SEED} is the split lookalike's defaults were tuned on; "
                     "report other seeds (or pass --allow-tuning-seed for a private check)")

    source = resolve_source(args.lookalike_src, args.lookalike_rev)
    print(f"lookalike: {source.label} (fingerprint {source.fingerprint})", flush=True)

    if args.fit_only:
        failed = 0
        for seed in args.seeds:
            for table in args.tables:
                for generator in args.lookalike_models:
                    outcome = run_lookalike(table, seed, generator, source, args.force_lookalike, args.timeout)
                    print(f"  {table}/seed{seed}/{generator}: {outcome['status']} {outcome.get('error', '')}", flush=True)
                    failed += outcome["status"] != "ok"
        return 1 if failed else 0

    evaluate = load_evaluate()
    evaluate_fingerprint = _source_fingerprint(Path(sys.modules[evaluate.__module__].__file__).resolve().parent)
    peer_status_path = datasets.CACHE_DIR / "run_peers_status.json"
    peer_status = json.loads(peer_status_path.read_text()) if peer_status_path.exists() else {}
    why_missing = dict(item.split("=", 1) for item in args.why_missing)

    sections, all_runs, summary = [], [], {}
    for table in args.tables:
        results: dict[str, dict[int, dict]] = {}
        per_seed: dict[int, dict[str, dict]] = {}
        missing: dict[str, dict[int, str]] = {}
        shape = meta = None
        for seed in args.seeds:
            print(f"[{table} seed {seed}]", flush=True)
            train, holdout, meta = datasets.load(table, seed)
            shape = {"train": train.shape, "holdout": holdout.shape}
            if not args.no_lookalike and not args.no_fit:
                for generator in args.lookalike_models:
                    outcome = run_lookalike(table, seed, generator, source, args.force_lookalike, args.timeout)
                    if outcome["status"] != "ok":
                        missing.setdefault(generator, {})[seed] = f"{outcome['status']}: {outcome['error']}"
                        print(f"  {generator}: {missing[generator][seed]}", flush=True)
            make_independent_marginals(table, seed, train)
            per_seed[seed] = {}
            for generator in ROW_ORDER:
                if generator in LOOKALIKE_MODELS and (args.no_lookalike or generator not in args.lookalike_models):
                    continue
                if generator not in LOOKALIKE_MODELS and args.no_peers:
                    continue
                csv_path, json_path, cache_path = output_paths(table, seed, generator, source)
                if not (csv_path.exists() and json_path.exists()):
                    if generator in PEERS:
                        reason = _missing_reason(table, seed, generator, peer_status)
                        if generator in why_missing and reason.startswith("not run"):
                            reason = why_missing[generator]
                        missing.setdefault(generator, {})[seed] = reason
                    elif generator in LOOKALIKE_MODELS:
                        missing.setdefault(generator, {}).setdefault(seed, "not fitted (--no-fit)")
                    continue
                run = json.loads(json_path.read_text())
                try:
                    metrics = judge(evaluate, table, seed, csv_path, cache_path, train, holdout, meta,
                                    evaluate_fingerprint, args.force_judge)
                except Exception as exc:  # one bad output must not sink the whole report
                    missing.setdefault(generator, {})[seed] = f"evaluate failed: {type(exc).__name__}: {exc}"
                    print(f"  {generator}: {missing[generator][seed]}", flush=True)
                    continue
                row = {"run": run, "metrics": metrics}
                results.setdefault(generator, {})[seed] = row
                per_seed[seed][generator] = row
                if run.get("machine"):
                    all_runs.append(run)
        results = {g: results[g] for g in ROW_ORDER if g in results}
        problems = {}
        for generator, by_seed in missing.items():
            reasons = sorted(set(by_seed.values()))
            problems[generator] = (f"seed{'s' if len(by_seed) > 1 else ''} {', '.join(map(str, sorted(by_seed)))} "
                                   f"missing ({'; '.join(reasons)})")
        sections.append(table_markdown(table, meta, shape, results, per_seed, problems, args.seeds))
        summary[table] = {"meta": meta, "results": results, "per_seed": per_seed, "problems": problems}

    notes = "".join(f"{note}\n\n" for note in args.note)
    text = ("# Benchmark results: lookalike against its peers on real tables\n\n" + notes +
            "Made by `benchmarks/compare.py` (see benchmarks/README.md to reproduce). "
            + machine_markdown(all_runs, args.seeds, None if args.no_lookalike else source) + "\n"
            + headline_markdown(summary, args.seeds) + "\n" + LEGEND + "\n" + "\n".join(sections))
    args.out.write_text(text + _kept_sections(args.out))
    args.json_out.parent.mkdir(parents=True, exist_ok=True)
    args.json_out.write_text(json.dumps({"source": source.__dict__, "seeds": args.seeds, "tables": {
        t: {"meta": e["meta"], "problems": e["problems"],
            "results": {g: {str(s): r for s, r in bs.items()} for g, bs in e["results"].items()}}
        for t, e in summary.items()}}, indent=2, default=_plain))
    print(f"wrote {args.out} and {args.json_out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
