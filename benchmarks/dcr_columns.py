"""Which columns pull argn's synthetic rows towards the training rows (issue 15): no fitting, saved CSVs only.

DCR share (lookalike.evaluate.privacy): for each synthetic row, is its nearest row in a train sample closer than
its nearest row in an equal-sized holdout sample (ties count half); 0.5 = no memorisation. Over the columns
evaluate judges (keys, ids and PII left out), for one saved synthetic table:

- ``all``: the share, mean over 20 reference draws (the suite judges one).
- per column, ``drop``: the share with that column left out of the distance (how much the column carries);
  ``gap``: that column's part of the squared-distance gap d(train nn)^2 - d(holdout nn)^2, summed over the
  synthetic rows (negative: the column makes the train neighbour closer); ``exact``: the share of synthetic
  values found in the train sample minus the share found in the holdout (0 expected for population draws: the
  two samples are the same size), beside the same for the other half of the holdout (``exact, holdout``).
- ``near copies``: synthetic rows equal to a train-sample row on every column but at most one, minus those
  equal to a holdout row, beside the same for half of the holdout against the other half and a train sample.

    PYTHONPATH=src python benchmarks/dcr_columns.py --tables Ecdat.Males --fingerprint 8dd66108454a
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
import pandas as pd

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

DRAWS = 20


def judged_frames(train: pd.DataFrame, holdout: pd.DataFrame, synth: pd.DataFrame):
    """Canonical train/holdout/synthetic frames over evaluate's judged columns, the fitted distance and each
    column's slice of the embedding."""
    from lookalike.evaluate.core import canonical, evaluation_kind, infer_columns
    from lookalike.evaluate.prepare import CATEGORICAL
    from lookalike.evaluate.privacy import MixedDistance
    from lookalike.schema.kinds import Kind
    described = {c: d for c, d in infer_columns(train, None).items()
                 if d.kind not in (Kind.ID, Kind.PII) and c in synth.columns}
    kinds = {c: evaluation_kind(d.kind) for c, d in described.items()}
    frames = [canonical(f[list(kinds)], kinds, described) for f in (train, holdout, synth)]
    dist = MixedDistance().fit(frames[0], kinds)
    slices, at = {}, 0
    for c in dist.columns_:
        width = len(dist.categories_[c]) + 2 if kinds[c] == CATEGORICAL else 2
        slices[c] = slice(at, at + width)
        at += width
    return frames, kinds, dist, slices


def _nn1(index: np.ndarray, queries: np.ndarray):
    from lookalike.evaluate.privacy import _nn
    d, i = _nn(index, queries, k=1)
    return d[:, 0], i[:, 0]


def _share(da: np.ndarray, db: np.ndarray) -> float:
    return float(np.mean(da < db - 1e-9) + 0.5 * np.mean(np.abs(da - db) <= 1e-9))


def draws_of(e_tr, e_ho, e_sy, columns: np.ndarray | None = None, draws: int = DRAWS):
    """Per draw: the DCR share; with ``columns`` (embedding columns kept) the distance over those only."""
    n = min(len(e_tr), len(e_ho))
    if columns is not None:
        e_tr, e_ho, e_sy = e_tr[:, columns], e_ho[:, columns], e_sy[:, columns]
    out = []
    for r in range(draws):
        rng = np.random.default_rng(1000 + r)
        da, _ = _nn1(e_tr[rng.choice(len(e_tr), n, replace=False)], e_sy)
        db, _ = _nn1(e_ho[rng.choice(len(e_ho), n, replace=False)], e_sy)
        out.append(_share(da, db))
    return np.array(out)


def gap_parts(e_tr, e_ho, e_sy, slices: dict, draws: int = 5) -> dict:
    """Each column's part of sum over synthetic rows of (d_train^2 - d_holdout^2), as a share of the total
    absolute parts (negative: towards train)."""
    n = min(len(e_tr), len(e_ho))
    totals = {c: 0.0 for c in slices}
    for r in range(draws):
        rng = np.random.default_rng(1000 + r)
        tr = e_tr[rng.choice(len(e_tr), n, replace=False)]
        ho = e_ho[rng.choice(len(e_ho), n, replace=False)]
        _, it = _nn1(tr, e_sy)
        _, ih = _nn1(ho, e_sy)
        a, b = (e_sy - tr[it]) ** 2, (e_sy - ho[ih]) ** 2
        for c, s in slices.items():
            totals[c] += float((a[:, s].sum(1) - b[:, s].sum(1)).sum())
    scale = sum(abs(v) for v in totals.values()) or 1.0
    return {c: v / scale for c, v in totals.items()}


def _keys(frame: pd.DataFrame, col: str) -> np.ndarray:
    s = frame[col]
    return s.astype(object).where(s.notna(), "<NA>").astype(str).to_numpy()


def exact_excess(tr: pd.DataFrame, ho: pd.DataFrame, sy: pd.DataFrame, col: str, draws: int = 5) -> float:
    """Share of ``sy``'s values found among an equal-sized train sample's minus those found in ``ho``."""
    n = len(ho)
    hv = set(_keys(ho, col))
    syv = _keys(sy, col)
    out = []
    for r in range(draws):
        rng = np.random.default_rng(2000 + r)
        tv = set(_keys(tr.iloc[rng.choice(len(tr), n, replace=False)], col))
        out.append(np.isin(syv, list(tv)).mean() - np.isin(syv, list(hv)).mean())
    return float(np.mean(out))


def _row_keys(frame: pd.DataFrame, columns: list[str], skip: str | None) -> np.ndarray:
    keep = [c for c in columns if c != skip]
    part = frame[keep].astype(object).where(frame[keep].notna(), None)
    return pd.util.hash_pandas_object(part, index=False).to_numpy()


def near_copies(tr: pd.DataFrame, ho: pd.DataFrame, sy: pd.DataFrame, columns: list[str], draws: int = 3):
    """Share of ``sy`` rows equal to some row of an equal-sized train sample on every column but at most one,
    minus the same against ``ho``; and the train-side share itself."""
    n = len(ho)
    excess, level = [], []
    for r in range(draws):
        rng = np.random.default_rng(3000 + r)
        t = tr.iloc[rng.choice(len(tr), n, replace=False)]
        hit_t = np.zeros(len(sy), bool)
        hit_h = np.zeros(len(sy), bool)
        for skip in [None, *columns]:
            ks = _row_keys(sy, columns, skip)
            hit_t |= np.isin(ks, _row_keys(t, columns, skip))
            hit_h |= np.isin(ks, _row_keys(ho, columns, skip))
        excess.append(hit_t.mean() - hit_h.mean())
        level.append(hit_t.mean())
    return float(np.mean(excess)), float(np.mean(level))


def analyse(table: str, seed: int, synth_name: str, drop_draws: int = 10) -> dict:
    import suite
    folder = suite.DATA_DIR / table / f"seed{seed}"
    train, holdout = pd.read_csv(folder / "train.csv"), pd.read_csv(folder / "holdout.csv")
    synth = pd.read_csv(folder / synth_name)
    (tr, ho, sy), kinds, dist, slices = judged_frames(train, holdout, synth)
    e_tr, e_ho, e_sy = dist.transform(tr), dist.transform(ho), dist.transform(sy)
    base = draws_of(e_tr, e_ho, e_sy)
    width = e_tr.shape[1]
    gaps = gap_parts(e_tr, e_ho, e_sy, slices)
    half = len(ho) // 2
    order = np.random.default_rng(7).permutation(len(ho))
    ho_a, ho_b = ho.iloc[order[:half]], ho.iloc[order[half:2 * half]]
    columns = []
    for c, s in slices.items():
        keep = np.setdiff1d(np.arange(width), np.arange(width)[s])
        drop = draws_of(e_tr, e_ho, e_sy, keep, drop_draws).mean() if len(keep) else float("nan")
        one = draws_of(e_tr, e_ho, e_sy, np.arange(width)[s], drop_draws).mean()
        columns.append({"column": c, "kind": kinds[c], "distinct_train": int(tr[c].nunique()),
                        "drop": float(drop), "alone": float(one), "gap": gaps[c],
                        "exact": exact_excess(tr, ho, sy, c),
                        "exact_holdout": exact_excess(tr, ho_b, ho_a, c)})
    cols = list(kinds)
    near, near_level = near_copies(tr, ho, sy, cols)
    near_null, near_null_level = near_copies(tr, ho_b, ho_a, cols)
    return {"table": table, "seed": seed, "synth": synth_name, "mean": float(base.mean()), "sd": float(base.std()),
            "columns": columns, "near": near, "near_level": near_level, "near_null": near_null,
            "near_null_level": near_null_level}


def lines(result: dict) -> list[str]:
    out = [f"#### {result['table']} seed {result['seed']} ({Path(result['synth']).name}): DCR share {result['mean']:.3f} "
           f"(sd {result['sd']:.3f}, 20 draws); near copies (all but one column) train - holdout "
           f"{result['near']:+.4f} (train {result['near_level']:.4f}); holdout half as synthetic "
           f"{result['near_null']:+.4f} ({result['near_null_level']:.4f})", "",
           "| column | kind | distinct (train) | DCR without it | it alone | gap part | exact: synthetic | "
           "exact: holdout half |", "|---|---|---|---|---|---|---|---|"]
    for c in sorted(result["columns"], key=lambda c: c["gap"]):
        out.append(f"| {c['column']} | {c['kind']} | {c['distinct_train']:,} | {c['drop']:.3f} | {c['alone']:.3f} "
                   f"| {c['gap']:+.3f} | {c['exact']:+.4f} | {c['exact_holdout']:+.4f} |")
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tables", nargs="+", required=True)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--fingerprint", required=True, help="generating code of the saved CSV (or a file name)")
    parser.add_argument("--generator", default="lookalike_argn")
    args = parser.parse_args(argv)
    for table in args.tables:
        name = args.fingerprint if args.fingerprint.endswith(".csv") else f"{args.generator}.{args.fingerprint}.csv"
        print("\n".join(lines(analyse(table, args.seed, name))) + "\n", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
