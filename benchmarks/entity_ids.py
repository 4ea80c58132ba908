"""Entity ids on the suite (issue 15): which columns the rule flags, and argn with each id learned or regenerated.

An entity id is a household's or person's identifier repeated on each of its rows. Learned jointly with the row
(as a number), it ties a real id to its owner's values: synthetic rows carry real households' ids beside their
purchases, and the DCR share rises (benchmarks/dcr_causes.py). Schema inference now makes such a column an
``id`` with ``repeated: true`` (``lookalike.schema.infer.is_repeated_id``), regenerated with fresh ids.

1. ``flags``: every column inference makes an ``id`` over the suite's tables (seed-1 training split: unique
   keys and repeated ids), and every column named like an identifier that it leaves learned, with the reason.
2. ``pairs``: on each suite table with a repeated id, argn fitted twice on the same split with the same seed,
   each in a fresh process (nice, one torch thread): **learned** = the inferred schema with every repeated id
   declared numeric, exactly what inference gave before this change (rules detected again on it);
   **regenerated** = the inferred schema (the default). Each output is judged by ``lookalike.evaluate`` twice:
   as a user gets it (ids left out of every row-level figure) and with the repeated ids measured as numbers
   (``schema`` given to evaluate), the view in which a synthetic row carrying a real owner's id beside that
   owner's values is closer to train than to holdout (what the suite measured before this change).

Reads and writes the suite's splits (benchmarks/.cache/suite, via suite.prepare); runs are cached as JSON lines
in benchmarks/entity_ids_runs.jsonl; the section ``entity-ids`` of RESULTS.md is rewritten from the cache.

    OMP_NUM_THREADS=1 PYTHONPATH=src nice -n 10 python benchmarks/entity_ids.py --seeds 1 2 3
    PYTHONPATH=src python benchmarks/entity_ids.py --report-only
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
import suite  # noqa: E402
from results_sections import cached_runs, record_run, spread, update_section  # noqa: E402

from lookalike.schema.columns import Kind  # noqa: E402
from lookalike.schema.infer import entity_id_name, infer_schema  # noqa: E402

RUNS = HERE / "entity_ids_runs.jsonl"
WORK = suite.DATA_DIR  # split tables (shared with the suite) and this script's synthetic CSVs
VARIANTS = ("learned", "regenerated")
FIGURES = ("dcr_share", "discriminator_auc", "dependence_capture")
BIG_FIRST = False


# -- 1. which columns the rule flags ------------------------------------------------------------------
def flags(tables: list) -> list[dict]:
    """Every id column inference makes, and every identifier-named column it leaves learned (seed-1 split)."""
    rows = []
    for table in tables:
        train = pd.read_csv(suite.prepare(table, 1)[0])
        schema = infer_schema(train, detect_rules=False)
        for col in schema.columns:
            values = train[col.name].dropna()
            if col.kind != Kind.ID and not entity_id_name(col.name):
                continue
            rows.append({"table": table.name, "column": col.name, "kind": col.kind.value,
                         "repeated": bool(col.options.get("repeated")), "distinct": int(values.nunique()),
                         "rows": int(len(values)), "max_rows_per_value": int(values.value_counts().max())
                         if len(values) else 0})
    return rows


def repeated_ids(train: pd.DataFrame) -> list[str]:
    schema = infer_schema(train, detect_rules=False)
    return [c.name for c in schema.columns if c.kind == Kind.ID and c.options.get("repeated")]


def learned_schema(train: pd.DataFrame, ids: list[str]) -> dict:
    """The inferred schema with each repeated id declared a whole number, rules detected on that schema: what
    inference gave these columns before they were recognised."""
    from lookalike.rules import detect_rules

    schema = infer_schema(train, detect_rules=False)
    for name in ids:
        col = schema[name]
        col.kind, col.options = Kind.NUMERIC, {"integer": True, "decimals": 0}
    schema.rules = detect_rules(train, schema)
    return schema.to_dict()


# -- 2. fits in fresh processes ---------------------------------------------------------------------------
def fit_one(train_csv: Path, schema_json: Path | None, seed: int, out_csv: Path, out_json: Path) -> None:
    """In a fresh process: fit argn (the given schema, or inferred), sample as many rows, time both."""
    from lookalike import Synthesizer

    train = pd.read_csv(train_csv)
    schema = json.loads(schema_json.read_text()) if schema_json else None
    wall, cpu = time.perf_counter(), time.process_time()
    synthesizer = Synthesizer(model="argn", seed=seed, schema=schema).fit(train)
    fit_s, fit_cpu = time.perf_counter() - wall, time.process_time() - cpu
    synthetic = synthesizer.sample(len(train), seed=seed)
    tmp = out_csv.with_name(out_csv.name + ".tmp")
    synthetic.to_csv(tmp, index=False)
    tmp.replace(out_csv)
    out_json.write_text(json.dumps({"fit_s": fit_s, "fit_cpu_s": fit_cpu, "kinds": {
        c.name: c.kind.value for c in synthesizer.schema_.columns}}))


def judge(train: pd.DataFrame, holdout: pd.DataFrame, synthetic: pd.DataFrame, ids: list[str]) -> dict:
    """Figures as a user gets them (ids left out), and with the ids measured as evaluate measured them before
    this change: repeated ids as numbers (as inference had them), unique keys as labels (``_ids_as_numbers``)."""
    from lookalike.evaluate import evaluate

    default = evaluate(train=train, synthetic=synthetic, holdout=holdout, seed=0)
    schema = infer_schema(train, detect_rules=False)
    for col in schema.columns:
        if col.kind == Kind.ID and not col.options.get("repeated"):
            col.kind = Kind.CATEGORICAL
    for name in ids:
        schema[name].kind, schema[name].options = Kind.NUMERIC, {"integer": True, "decimals": 0}
    as_numbers = evaluate(train=train, synthetic=synthetic, holdout=holdout, seed=0, schema=schema)
    out = {f: default.metrics.get(f) for f in FIGURES}
    out.update({f"{f}_ids_as_numbers": as_numbers.metrics.get(f) for f in FIGURES})
    out["id_columns_left_out"] = default.details["meta"].get("id_columns")
    out["id_link"] = id_link(train, holdout, synthetic, ids)
    out["synthetic_ids_equal_real_share"] = {c: default.details["keys"][c]["synthetic_equal_real_share"]
                                            for c in ids if c in default.details["keys"]}
    return out


def id_link(train: pd.DataFrame, holdout: pd.DataFrame, synthetic: pd.DataFrame, ids: list[str],
            rows: int = 4000, seed: int = 0) -> dict:
    """Per id column: the share of output rows, among those whose id is a real training id, whose nearest
    training row on the other columns (evaluate's mixed distance) belongs to that same id; beside it the same
    share with the output's ids shuffled among its rows (no link: the chance level) and the real holdout's
    share (a real entity's other rows: the full link)."""
    import numpy as np

    from lookalike.evaluate.prepare import canonical, evaluation_kind, infer_columns
    from lookalike.evaluate.privacy import MixedDistance, _nn

    rng = np.random.default_rng(seed)
    others = [c for c in train.columns if c not in ids]
    described = infer_columns(train[others])
    described = {c: col for c, col in described.items() if col.kind not in (Kind.ID, Kind.PII)}
    kinds = {c: evaluation_kind(col.kind) for c, col in described.items()}
    frames = {name: canonical(frame[list(kinds)].reset_index(drop=True), kinds, described)
              for name, frame in (("train", train), ("holdout", holdout), ("synthetic", synthetic))}
    distance = MixedDistance().fit(frames["train"], kinds)
    embedded_train = distance.transform(frames["train"])
    out = {}
    for col in ids:
        real_ids = train[col].astype(str).to_numpy()
        shares = {}
        for name, frame, shuffle in (("synthetic", synthetic, False), ("shuffled", synthetic, True),
                                     ("holdout", holdout, False)):
            own = frame[col].astype(str).to_numpy()
            if shuffle:
                own = rng.permutation(own)
            pick = np.flatnonzero(np.isin(own, real_ids))
            pick = rng.choice(pick, size=min(rows, len(pick)), replace=False) if len(pick) else pick
            if len(pick) == 0:
                shares[name] = None
                continue
            queries = distance.transform(frames["holdout" if name == "holdout" else "synthetic"].iloc[pick])
            _, nearest = _nn(embedded_train, queries, k=1)
            shares[name] = float(np.mean(real_ids[nearest[:, 0]] == own[pick]))
        out[col] = shares
    return out


def run_pair(table, seed: int, timeout: float) -> list[dict]:
    train_csv, holdout_csv = suite.prepare(table, seed)
    train, holdout = pd.read_csv(train_csv), pd.read_csv(holdout_csv)
    ids = repeated_ids(train)
    done = {(r["table"], r["seed"], r["variant"]) for r in cached_runs(RUNS, _key)}
    out = []
    for variant in VARIANTS if ids else ("default",):  # a table with unique keys only: the judge's change
        if (table.name, seed, variant) in done:
            continue
        folder = train_csv.parent
        csv, meta = folder / f"entity_ids.{variant}.csv", folder / f"entity_ids.{variant}.json"
        schema_json = None
        if variant == "learned":
            schema_json = folder / "entity_ids.learned_schema.json"
            schema_json.write_text(json.dumps(learned_schema(train, ids)))
        argv = [sys.executable, __file__, "--fit-one", str(train_csv), str(schema_json or ""), str(seed), str(csv),
                str(meta)]
        env = {**os.environ, "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}
        print(f"[{time.strftime('%H:%M:%S')}] {table.name} seed {seed} {variant} ({', '.join(ids)}) ...", flush=True)
        started = time.perf_counter()
        children = os.times()
        try:
            code = subprocess.run(argv, env=env, timeout=timeout, capture_output=True, text=True)
        except subprocess.TimeoutExpired:
            print(f"  timeout after {timeout:.0f} s", flush=True)
            continue
        if code.returncode != 0:
            print(f"  failed: {code.stderr.strip().splitlines()[-1:]}", flush=True)
            continue
        after = os.times()
        wall = time.perf_counter() - started
        cpu = (after.children_user + after.children_system) - (children.children_user + children.children_system)
        fit = json.loads(meta.read_text())
        record = {"table": table.name, "seed": seed, "variant": variant, "ids": ids, "fit_s": fit["fit_s"],
                  "fit_cpu_s": fit["fit_cpu_s"], "job_wall_s": wall, "job_cpu_s": cpu,
                  **judge(train, holdout, pd.read_csv(csv), ids)}
        record_run(RUNS, record)
        print(f"  DCR share {record['dcr_share']:.3f} (ids as numbers {record['dcr_share_ids_as_numbers']:.3f}), "
              f"AUC {record['discriminator_auc']:.3f}, fit {fit['fit_s']:.0f} s", flush=True)
        out.append(record)
    return out


def _key(run: dict):
    return run["table"], run["seed"], run["variant"]


# -- the section ------------------------------------------------------------------------------------
def _cell(runs: list[dict], key: str) -> str:
    return spread([r.get(key) for r in runs])


def _link(runs: list[dict], which: str) -> str:
    """The id-link share over seeds, per id column (``which``: synthetic, shuffled or holdout)."""
    columns = list(runs[0].get("id_link", {})) if runs else []
    cells = [(col, spread([r["id_link"][col][which] for r in runs if col in r.get("id_link", {})]))
             for col in columns]
    return "; ".join(cell if len(cells) == 1 else f"{col} {cell}" for col, cell in cells) or "–"


def _paired(v: dict, a: str, b: str) -> tuple[list, list, list]:
    one, two = ({r["seed"]: r for r in v.get(x, [])} for x in (a, b))
    seeds = sorted(set(one) & set(two))
    return [one[s] for s in seeds], [two[s] for s in seeds], seeds


def section(flagged: list[dict], runs: list[dict], seconds: tuple[float, float]) -> str:
    fit_cpu = sum(r["fit_cpu_s"] for r in runs)
    lines = [f"Made by `benchmarks/entity_ids.py`: {len(runs)} argn fits in the cache ({fit_cpu:,.0f} fit CPU s "
             f"in all), each judged twice; the last invocation took {seconds[0]:,.0f} s wall, {seconds[1]:,.0f} CPU s "
             "(its fits included). Machine: 2 cores shared with other work, one torch thread, nice 10. An *entity id* "
             "is an identifier repeated on each of an entity's rows (a household on its purchases, a person on "
             "each year of a panel). Schema inference now makes it an `id` column with `repeated: true`, "
             "regenerated as fresh ids with the training distribution of rows per id, never learned "
             "(`lookalike.schema.infer.is_repeated_id`: named like an identifier, at least 20 distinct whole "
             "numbers of at least 0 or codes, some repeated, and not a step counter that starts at 0 or 1 and is "
             "rarer the higher it goes). `evaluate` leaves every id column (unique keys too) out of its row-level "
             "figures and lists it under *Keys*.", "",
             "**What the rule flags** on the suite's 74 tables (seed-1 training split): every column inferred as "
             "an id, and every column named like an identifier that stays learned:", "",
             "| table | column | inferred kind | repeated id | distinct values | rows | most rows on one value |",
             "|---|---|---|---|---|---|---|"]
    for f in flagged:
        lines.append(f"| {f['table']} | {f['column']} | {f['kind']} | {'yes' if f['repeated'] else ''} | "
                     f"{f['distinct']:,} | {f['rows']:,} | {f['max_rows_per_value']:,} |")
    by_table: dict = {}
    for r in runs:
        by_table.setdefault(r["table"], {}).setdefault(r["variant"], []).append(r)
    lines += ["", "**argn with the id learned vs regenerated** (same split and seed, a fresh process each; mean ± "
              "half-range over the seeds run). *Learned*: the inferred schema with each repeated id declared a "
              "whole number, which is what inference gave before this change; *regenerated*: the default now. DCR "
              "share, discriminator AUC and dependence capture are evaluate's, ids left out (a user's report now). "
              "*DCR, ids as before*: the ids measured too, as evaluate measured them before (repeated ids as "
              "numbers). *Id link*: among output rows whose id equals a real training id, the share whose nearest "
              "training row on the other columns belongs to that same id; *chance*: the same share with the "
              "output's ids shuffled among its rows; *real*: the real holdout's share (an entity's other rows).", "",
              "| table | id columns | seeds | DCR share: learned | regenerated | DCR, ids as before: learned | "
              "regenerated | discriminator AUC: learned | regenerated | dependence capture: learned | regenerated | "
              "id link: learned | chance | regenerated | chance | real | fit CPU s: learned | regenerated |",
              "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|"]
    for name in sorted(by_table):
        learned, regen, seeds = _paired(by_table[name], "learned", "regenerated")
        if not seeds:
            continue
        lines.append(f"| {name} | {', '.join(learned[0]['ids'])} | {', '.join(map(str, seeds))} | " + " | ".join(
            _cell(x, k) for k in ("dcr_share", "dcr_share_ids_as_numbers", "discriminator_auc", "dependence_capture")
            for x in (learned, regen)) + f" | {_link(learned, 'synthetic')} | {_link(learned, 'shuffled')} | "
            f"{_link(regen, 'synthetic')} | {_link(regen, 'shuffled')} | {_link(regen, 'holdout')} | "
            f"{spread([r['fit_cpu_s'] for r in learned], '.1f')} | {spread([r['fit_cpu_s'] for r in regen], '.1f')} |")
    pairs = [p for name in by_table for p in zip(*_paired(by_table[name], "learned", "regenerated")[:2])]
    if pairs:
        mean = lambda key: sum(b[key] - a[key] for a, b in pairs) / len(pairs)  # noqa: E731
        over = lambda rs: sum(r["dcr_share"] > 0.53 for r in rs)  # noqa: E731
        lines += ["", f"Over {len(pairs)} pairs: DCR share above 0.53 in {over([a for a, _ in pairs])} learned and "
                  f"{over([b for _, b in pairs])} regenerated runs; mean change from learned to regenerated: DCR share "
                  f"{mean('dcr_share'):+.4f} (ids as before {mean('dcr_share_ids_as_numbers'):+.4f}), discriminator "
                  f"AUC {mean('discriminator_auc'):+.4f}."]
        still = []
        for name in sorted(by_table):
            regen = _paired(by_table[name], "learned", "regenerated")[1]
            value = sum(r["dcr_share"] for r in regen) / len(regen) if regen else None
            if value is not None and value > 0.53:
                still.append(f"{name} ({value:.3f})")
        lines.append(f"Regenerated, the mean DCR share (ids left out) is still above 0.53 on: "
                     f"{', '.join(still) or 'none'}; the excess there has another cause than the id.")
    unpaired = [f"{name} seed {r['seed']} ({variant})" for name, v in sorted(by_table.items())
                for variant, other in (("learned", "regenerated"), ("regenerated", "learned")) for r in v.get(variant, [])
                if r["seed"] not in {x["seed"] for x in v.get(other, [])}]
    if unpaired:
        lines += ["", f"Fitted without its pair (stopped for a deadline, not shown): {', '.join(unpaired)}."]
    keys_only = {name: v["default"] for name, v in by_table.items() if v.get("default")}
    if keys_only:
        lines += ["", "**Tables with unique keys only** (the generating code is unchanged for them; what changed is "
                  "that evaluate leaves the key out): argn at the default, judged with the key left out and as before "
                  "(the key compared as a label).", "",
                  "| table | seeds | DCR share: key left out | as before | discriminator AUC: key left out | as before "
                  "| dependence capture: key left out | as before |", "|---|---|---|---|---|---|---|---|"]
        for name in sorted(keys_only):
            rs = sorted(keys_only[name], key=lambda r: r["seed"])
            lines.append(f"| {name} | {', '.join(str(r['seed']) for r in rs)} | " + " | ".join(
                _cell(rs, k + suffix) for k in ("dcr_share", "discriminator_auc", "dependence_capture")
                for suffix in ("", "_ids_as_numbers")) + " |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", nargs="+", type=int, default=[1, 2, 3])
    parser.add_argument("--tables", nargs="+", help="only these suite tables (default: every one with an id column)")
    parser.add_argument("--skip", nargs="+", default=[], help="suite tables not to fit")
    parser.add_argument("--timeout", type=float, default=1200.0)
    parser.add_argument("--report-only", action="store_true")
    parser.add_argument("--fit-one", nargs=5, metavar=("TRAIN", "SCHEMA", "SEED", "OUT_CSV", "OUT_JSON"))
    args = parser.parse_args(argv)
    if args.fit_one:
        train, schema, seed, out_csv, out_json = args.fit_one
        fit_one(Path(train), Path(schema) if schema else None, int(seed), Path(out_csv), Path(out_json))
        return 0
    wall, cpu, children = time.perf_counter(), time.process_time(), os.times()
    tables = suite.select_tables()
    flagged = flags(tables)
    with_ids = sorted({f["table"] for f in flagged if f["kind"] == Kind.ID.value})
    chosen = [t for t in tables if t.name in (args.tables or with_ids) and t.name not in args.skip]
    if not args.report_only:
        chosen.sort(key=lambda t: t.rows * t.columns)  # cheapest first: a deadline cuts the big ones
        for seed in args.seeds:
            for table in chosen:
                run_pair(table, seed, args.timeout)
    after = os.times()
    spent = (time.perf_counter() - wall,
             time.process_time() - cpu + (after.children_user + after.children_system)
             - (children.children_user + children.children_system))
    update_section("entity-ids", section(flagged, cached_runs(RUNS, _key), spent))
    print(f"RESULTS.md section entity-ids written ({spent[0]:.0f} s wall, {spent[1]:.0f} CPU s)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
