"""Why argn's DCR share sits above 0.5 on some suite tables (issue 15): three measurements, no fitting.

DCR share (lookalike.evaluate.privacy): for each synthetic row, is its nearest row in a train sample closer
than its nearest row in an equal-sized holdout sample (ties count half); 0.5 = no memorisation.

1. ``codec``: the numeric codec's own resolution. A *perfect* model of the codec's tokens (encode the training
   column, decode it again: every token drawn at exactly its training frequency) is judged in one dimension,
   with 8 positions per bin (the default), 4 and 1. Ten seeded draws of the decoding and of the reference
   samples.
2. ``draws``: the spread of the DCR share over the random train/holdout reference samples alone, on one saved
   synthetic table (the suite judges one draw, evaluate's seed 0).
3. ``shuffle``: the same synthetic table with one column shuffled (its marginal kept, its link to the other
   columns cut): how much of the excess that column's association carries.
4. ``null``: the metric itself, with half the holdout in place of the synthetic table (0.5 expected).

Reads the suite's split and synthetic CSVs (benchmarks/.cache/suite, written by benchmarks/suite.py), so run the
suite on the tables first. Tables: the tuning half (Ecdat.PSID, Ecdat.Yogurt, wooldridge.crime1).

    PYTHONPATH=src python benchmarks/dcr_causes.py --fingerprint 3d5d40a3e2b4 --cap-fingerprint 2b9395f153ee \
        --cap-label "..."
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
import suite  # noqa: E402
from results_sections import update_section  # noqa: E402

from lookalike.encoding.numeric import NumericCodec  # noqa: E402
from lookalike.evaluate.core import canonical, evaluation_kind, infer_columns  # noqa: E402
from lookalike.evaluate.privacy import MixedDistance, _nn  # noqa: E402

CODEC_COLUMNS = {"wooldridge.crime1": ["inc86"], "Ecdat.PSID": ["intnum", "hours", "earnings"]}
SHUFFLE_COLUMNS = {"Ecdat.Yogurt": "id", "Ecdat.PSID": "intnum", "wooldridge.crime1": "inc86"}
DRAWS = 20


def share_1d(synth: np.ndarray, a: np.ndarray, b: np.ndarray) -> float:
    """DCR share in one dimension (absolute differences), ties half."""
    def nearest(ref, q):
        ref = np.sort(ref)
        i = np.clip(np.searchsorted(ref, q), 1, len(ref) - 1)
        return np.minimum(np.abs(q - ref[i - 1]), np.abs(ref[i] - q))
    da, db = nearest(a, synth), nearest(b, synth)
    return float(np.mean(da < db - 1e-9) + 0.5 * np.mean(np.abs(da - db) <= 1e-9))


def _decimals(values: np.ndarray) -> int:
    text = pd.Series(values).astype(str)
    frac = text.str.split(".").str[1].fillna("").str.rstrip("0")
    return int(min(frac.str.len().max(), 6))


FINE = (8, 4, 1)  # positions per bin: the codec's default, and coarser


def codec_rows(table: str, train: pd.DataFrame, holdout: pd.DataFrame) -> list[str]:
    rows = []
    for col in CODEC_COLUMNS.get(table, []):
        x = train[col].to_numpy(float)
        x = x[np.isfinite(x)]
        h = holdout[col].to_numpy(float)
        h = h[np.isfinite(h)]
        n = min(len(x), len(h))
        cells = []
        for fine in FINE:
            values = []
            for r in range(10):
                rng = np.random.default_rng(r)
                codec = NumericCodec(decimals=_decimals(x), fine=fine)
                codec.reduce(codec.analyse(x))
                synth = codec.decode(codec.encode(x), rng)
                values.append(share_1d(synth, x[rng.choice(len(x), n, replace=False)],
                                       h[rng.choice(len(h), n, replace=False)]))
            cells.append(f"{np.mean(values):.3f}")
        rest_rows = int(np.sum(~np.isin(np.round(x * 10 ** _decimals(x)), codec.heaps_)))
        bins = max(len(codec.edges_) - 1, 1)
        rows.append(f"| {table} | {col} | {train[col].nunique():,} | {rest_rows / bins:.0f} | " + " | ".join(cells) + " |")
    return rows


def embedded(train, holdout, synth):
    described = infer_columns(train, None)
    kinds = {c: evaluation_kind(d.kind) for c, d in described.items()}
    tr, ho, sy = (canonical(f[list(kinds)], kinds, {c: described[c] for c in kinds}) for f in (train, holdout, synth))
    dist = MixedDistance().fit(tr, kinds)
    return dist.transform(tr), dist.transform(ho), dist.transform(sy)


def draw_shares(e_tr, e_ho, e_sy, draws: int = DRAWS) -> np.ndarray:
    n = min(len(e_tr), len(e_ho))
    out = []
    for r in range(draws):
        rng = np.random.default_rng(1000 + r)
        da, _ = _nn(e_tr[rng.choice(len(e_tr), n, replace=False)], e_sy)
        db, _ = _nn(e_ho[rng.choice(len(e_ho), n, replace=False)], e_sy)
        da, db = da[:, 0], db[:, 0]
        out.append(np.mean(da < db - 1e-9) + 0.5 * np.mean(np.abs(da - db) <= 1e-9))
    return np.array(out)


def paired_lines(before_fp: str, after_fp: str, label: str = "") -> str:
    """DCR share of one generating code against another, per table and seed both have in suite_cache."""
    import json
    rows, diffs = [], []
    for table_dir in sorted(p for p in suite.RESULTS_DIR.iterdir() if p.is_dir()):
        for seed_dir in sorted(table_dir.glob("seed*")):
            pair = [seed_dir / f"lookalike_argn.{fp}.json" for fp in (before_fp, after_fp)]
            if not all(p.exists() for p in pair):
                continue
            a, b = (json.loads(p.read_text()) for p in pair)
            if a.get("status") != "ok" or b.get("status") != "ok":
                continue
            x, y = a["metrics"]["dcr_share"], b["metrics"]["dcr_share"]
            diffs.append(y - x)
            rows.append(f"| {table_dir.name} | {seed_dir.name[4:]} | {x:.3f} | {y:.3f} | {y - x:+.3f} |")
    lower, higher = sum(d < 0 for d in diffs), sum(d > 0 for d in diffs)
    return "\n".join([
        f"**A tried change, paired.** {label + ' ' if label else ''}Suite DCR share (one reference draw, as SUITE.md) of generating code "
        f"`{after_fp}` against `{before_fp}`, same table and split seed: mean change {np.mean(diffs):+.4f} over "
        f"{len(diffs)} pairs ({lower} lower, {higher} higher).", "",
        "| table | seed | before | after | change |", "|---|---|---|---|---|", *rows])


def null_shares(e_tr, e_ho, draws: int = DRAWS) -> np.ndarray:
    """The metric's null: half of the holdout stands in for the synthetic table, judged against an equal-sized
    train sample and the other half; no generator saw either half, so the expected share is exactly 0.5."""
    half = len(e_ho) // 2
    out = []
    for r in range(draws):
        rng = np.random.default_rng(2000 + r)
        order = rng.permutation(len(e_ho))
        da, _ = _nn(e_tr[rng.choice(len(e_tr), half, replace=False)], e_ho[order[:half]])
        db, _ = _nn(e_ho[order[half:2 * half]], e_ho[order[:half]])
        da, db = da[:, 0], db[:, 0]
        out.append(np.mean(da < db - 1e-9) + 0.5 * np.mean(np.abs(da - db) <= 1e-9))
    return np.array(out)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--fingerprint", required=True, help="generating-code fingerprint of the saved synthetic CSVs")
    parser.add_argument("--tables", nargs="+", default=["Ecdat.PSID", "Ecdat.Yogurt", "wooldridge.crime1"])
    parser.add_argument("--cap-fingerprint", default=None,
                        help="generating code of a tried change (suite_cache rows): its DCR share paired with "
                             "--fingerprint's on every table and seed both have")
    parser.add_argument("--cap-label", default="", help="what the tried change was (one sentence)")
    args = parser.parse_args(argv)
    started, cpu = time.perf_counter(), time.process_time()
    codec_lines, draw_lines = [], []
    for table in args.tables:
        folder = suite.DATA_DIR / table / "seed1"
        train, holdout = pd.read_csv(folder / "train.csv"), pd.read_csv(folder / "holdout.csv")
        codec_lines += codec_rows(table, train, holdout)
        synth_path = folder / f"lookalike_argn.{args.fingerprint}.csv"
        if not synth_path.exists():
            print(f"{table}: no synthetic CSV at {synth_path}; run benchmarks/suite.py first", file=sys.stderr)
            continue
        synth = pd.read_csv(synth_path)
        e_tr, e_ho, e_sy = embedded(train, holdout, synth)
        shares = draw_shares(e_tr, e_ho, e_sy)
        null = null_shares(e_tr, e_ho)
        col = SHUFFLE_COLUMNS.get(table)
        shuffled = "–"
        if col is not None:
            cut = synth.copy()
            cut[col] = cut[col].sample(frac=1, random_state=0).to_numpy()
            shuffled = f"{draw_shares(*embedded(train, holdout, cut)).mean():.3f} ({col})"
        draw_lines.append(f"| {table} | {shares.mean():.3f} | {shares.std():.4f} | {shares.min():.3f} – {shares.max():.3f} "
                          f"| {shuffled} | {null.mean():.3f} ± {null.std():.3f} |")
        print(draw_lines[-1], flush=True)
    text = "\n".join([
        "## Why argn's DCR share exceeds 0.5 (issue 15)",
        "",
        f"Made by `benchmarks/dcr_causes.py --fingerprint {args.fingerprint}` (argn's suite outputs, seed 1, "
        f"tuning half); {time.perf_counter() - started:.0f} s wall, {time.process_time() - cpu:.0f} CPU s. "
        "No generator is fitted here.",
        "",
        "**The codec's resolution.** A perfect model of the numeric codec's tokens (each token at its training "
        "frequency), judged in one dimension, mean of 10 seeded draws:",
        "",
        "| table | column | distinct values (train) | training rows per bin | " + " | ".join(
            f"1-D DCR share, {f} position{'s' if f > 1 else ''} per bin" for f in FINE) + " |",
        "|---|---|---|---|" + "---|" * len(FINE),
        *codec_lines,
        "",
        f"**The reference draw, and one column's association.** DCR share of argn's saved synthetic table over "
        f"{DRAWS} random train/holdout reference samples (the suite reports one), and with one column shuffled "
        "(its marginal kept, its association with the other columns cut); last column: the metric's null (half "
        "the holdout as the synthetic table, against an equal train sample and the other half; 0.5 expected), "
        "mean ± sd over the draws:",
        "",
        "| table | mean DCR share | sd over draws | range | with the column shuffled | null |",
        "|---|---|---|---|---|---|",
        *draw_lines,
    ])
    if args.cap_fingerprint:
        text += "\n\n" + paired_lines(args.fingerprint, args.cap_fingerprint, args.cap_label)
    update_section("dcr-causes", text)
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
