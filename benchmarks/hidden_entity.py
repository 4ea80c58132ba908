"""Hidden entities (issue 15): where the profile detection fires, why Caravan's rows gave themselves away, and
argn's suite rows before and after (src/lookalike/encoding/profiles.py).

    python benchmarks/hidden_entity.py --scan            # every suite table's seed-1 training split
    python benchmarks/hidden_entity.py --diagnose TABLE=FINGERPRINT ...   # subset AUCs of cached outputs
    python benchmarks/hidden_entity.py --fresh wooldridge.mathpnl=distid ISLR.Caravan=first:43   # fresh entities
    python benchmarks/hidden_entity.py --report --before FP --after FP --tables ...   # writes RESULTS.md

--scan, --diagnose and --fresh append to hidden_entity_runs.jsonl (one line per table / output); --report reads it and
benchmarks/suite_cache (written by suite.py; nothing is fitted here) and writes the section ``hidden-entity``.
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
RUNS = HERE / "hidden_entity_runs.jsonl"
CACHE = HERE / "suite_cache"
METRICS = (("dependence_capture", "capture", ".2f"), ("discriminator_auc", "AUC", ".3f"),
           ("univariate_accuracy", "univariate", ".3f"), ("granularity_worst_gap", "worst gran gap", ".2f"),
           ("distinct_ratio_worst", "distinct ratio", ".2f"), ("dcr_share", "DCR share", ".3f"),
           ("exact_copy_share", "exact copies", ".3f"))


def _append(run: dict) -> None:
    run.update(at=time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()), load_1m=round(os.getloadavg()[0], 2),
               host=platform.node())
    with RUNS.open("a") as f:
        f.write(json.dumps(run) + "\n")


def _runs(kind: str) -> list[dict]:
    if not RUNS.exists():
        return []
    latest: dict = {}
    for line in RUNS.read_text().splitlines():
        run = json.loads(line)
        if run.get("kind") == kind:
            latest[run["key"]] = run
    return list(latest.values())


def scan(names: list[str] | None) -> None:
    """Detection on each table's seed-1 training split, as Synthesizer.fit runs it (schema inferred, k=5)."""
    import suite
    from lookalike.encoding.profiles import Profiles, entity_columns, profile_candidates
    from lookalike.schema.infer import infer_schema

    tables = suite.select_tables()
    half_of = suite.halves(tables)
    for table in sorted(tables, key=lambda t: t.name.lower()):
        if names and table.name not in names:
            continue
        train_path, _ = suite.prepare(table, 1)
        df = pd.read_csv(train_path)
        schema = infer_schema(df, k=5)
        cpu = time.process_time()
        candidates = profile_candidates(schema)
        columns = entity_columns(df, schema)
        cpu = time.process_time() - cpu
        run = {"kind": "scan", "key": table.name, "half": half_of[table.name], "rows": len(df),
               "columns": df.shape[1], "candidates": len(candidates), "profile_columns": columns,
               "detect_cpu_s": round(cpu, 3)}
        if columns:
            p = Profiles(columns, schema.k).fit(df)
            run.update(kept_profiles=len(p.values_), rows_kept=int((p.encode(df) > 0).sum()),
                       distinct_profiles=int(len(df[columns].value_counts(dropna=False))))
        _append(run)
        print(table.name, len(columns), f"{cpu:.2f} s", columns[:8], flush=True)


def diagnose(pairs: list[str]) -> None:
    """For cached outputs (TABLE=FINGERPRINT, seed 1): evaluate's discriminator on the detected group, on the
    other columns and on all; and the share of rows whose group profile is a training row's."""
    from threadpoolctl import threadpool_limits

    import suite
    from lookalike.encoding.profiles import detect_profile_columns, profile_candidates
    from lookalike.evaluate import discriminator
    from lookalike.schema.infer import infer_schema

    for pair in pairs:
        name, fingerprint = pair.split("=", 1)
        folder = suite.DATA_DIR / name / "seed1"
        train, holdout = pd.read_csv(folder / "train.csv"), pd.read_csv(folder / "holdout.csv")
        synth = pd.read_csv(folder / f"lookalike_argn.{fingerprint}.csv")
        group = detect_profile_columns(train, profile_candidates(infer_schema(train, k=5)), 5)
        tr, (sy, ho), kinds = _prepared(train, [synth, holdout])
        rest = [c for c in kinds if c not in group]
        run = {"kind": "diagnose", "key": pair, "table": name, "fingerprint": fingerprint, "group": group}
        with threadpool_limits(1):
            for label, cols in (("all", list(kinds)), ("group", [c for c in group if c in kinds]), ("rest", rest)):
                if not cols:
                    continue
                sub = {c: kinds[c] for c in cols}
                run[f"auc_{label}"] = discriminator.discriminator_auc(tr[cols], sy[cols], sub, 0, 20_000,
                                                                      with_importances=False)["auc"]
                run[f"auc_{label}_holdout"] = discriminator.discriminator_auc(tr[cols], ho[cols], sub, 0, 20_000,
                                                                              with_importances=False)["auc"]
        if group:
            key = lambda f: pd.util.hash_pandas_object(f[group].astype(str), index=False)  # noqa: E731
            seen = key(train).value_counts()
            for label, frame in (("synthetic", synth), ("holdout", holdout)):
                counts = key(frame).map(seen).fillna(0).to_numpy()
                run[f"profile_in_train_{label}"] = float((counts > 0).mean())
                run[f"profile_kept_{label}"] = float((counts >= 5).mean())
            run["distinct_profiles"] = {"train": int(len(seen)), "synthetic": int(key(synth).nunique())}
        _append(run)
        print(json.dumps(run), flush=True)


def _prepared(train: pd.DataFrame, others: list[pd.DataFrame]):
    """evaluate's own preparation (suite.judge calls evaluate with seed 0): ids and PII left out, canonical
    frames; returns (train, others, kinds)."""
    from lookalike.evaluate.prepare import canonical, evaluation_kind, infer_columns, sample_rows
    from lookalike.schema.columns import Kind

    sample = sample_rows(train, 50_000, 0)
    described = infer_columns(sample)
    drop = [c for c, d in described.items() if d.kind in (Kind.ID, Kind.PII)]
    described = {c: d for c, d in described.items() if c not in drop}
    kinds = {c: evaluation_kind(d.kind) for c, d in described.items()}
    frames = [canonical(f.drop(columns=drop), kinds, described)
              for f in (sample, *(sample_rows(o, 50_000, i + 1) for i, o in enumerate(others)))]
    return frames[0], frames[1:], kinds


def fresh(pairs: list[str], seeds: tuple[int, ...] = (0, 1, 2)) -> None:
    """The discriminator's AUC for real rows of entities the training side never holds. TABLE=KEY: KEY is a
    column (an entity id) or first:N (the profile of the first N columns, a hidden entity's stand-in). The
    seed-1 split's train and holdout rows together are split by entity, 70% of the entities on the training
    side; those rows are split again by row, 70/30. AUC of the training side's 70% against the fresh entities'
    rows, and against its own other 30% (the same entities: what a holdout row split gives)."""
    from threadpoolctl import threadpool_limits

    import suite
    from lookalike.evaluate import discriminator

    for pair in pairs:
        name, spec = pair.split("=", 1)
        folder = suite.DATA_DIR / name / "seed1"
        full = pd.concat([pd.read_csv(folder / "train.csv"), pd.read_csv(folder / "holdout.csv")], ignore_index=True)
        if spec.startswith("first:"):
            key = full[list(full.columns[: int(spec.split(":")[1])])].astype(str).agg("|".join, axis=1)
        else:
            key = full[spec]
        scores = []
        for seed in seeds:
            rng = np.random.default_rng(seed)
            entities = key.unique()
            side = key.isin(set(rng.choice(entities, int(0.7 * len(entities)), replace=False))).to_numpy()
            inside, outside = full[side].reset_index(drop=True), full[~side].reset_index(drop=True)
            order = rng.permutation(len(inside))
            cut = int(0.7 * len(inside))
            train, same = inside.iloc[order[:cut]], inside.iloc[order[cut:]]
            tr, (new, old), kinds = _prepared(train, [outside, same])
            with threadpool_limits(1):
                scores.append([discriminator.discriminator_auc(tr, o, kinds, 0, 20_000, with_importances=False)["auc"]
                               for o in (new, old)])
        run = {"kind": "fresh", "key": pair, "table": name, "entity": spec, "entities": int(key.nunique()),
               "auc_fresh_entities": [round(a, 4) for a, _ in scores], "auc_same_entities": [round(b, 4) for _, b in scores]}
        _append(run)
        print(json.dumps(run), flush=True)


def _record(table: str, seed: int, fingerprint: str) -> dict | None:
    path = CACHE / table / f"seed{seed}" / f"lookalike_argn.{fingerprint}.json"
    if not path.exists():
        return None
    data = json.loads(path.read_text())
    return data if data.get("status") == "ok" else None


def _fmt(value, spec: str) -> str:
    return "–" if value is None else format(value, spec)


def report(before: str, after: str, tables: list[str], seeds: list[int], notes: list[str]) -> None:
    from results_sections import update_section

    import suite

    half_of = suite.halves(suite.select_tables())
    lines = ["## Hidden entities: a group of columns fixed by an entity the table does not name (issue 15)", "",
             f"Made by `benchmarks/hidden_entity.py` from its runs (hidden_entity_runs.jsonl) and the suite's cached "
             f"records (benchmarks/suite_cache; fitted by suite.py, `--generators lookalike_argn`, one process at nice "
             f"10 with one torch thread). Generating code before: `{before}`, after: `{after}`.", ""]
    lines += [*(n + "\n" for n in notes)]
    diag = [r for r in _runs("diagnose")]
    if diag:
        lines += ["**What the discriminator reads** (seed 1; evaluate's own discriminator, 3-fold gradient boosting, "
                  "on the columns named; *group*: the columns detected as one hidden entity; *in train*: share of "
                  "rows whose group profile is some training row's, *kept*: one seen in 5+ training rows):", "",
                  "| table | output | group columns | AUC all (holdout) | AUC group (holdout) | AUC rest (holdout) | "
                  "profile in train: output / holdout | kept: output / holdout |",
                  "|---|---|---|---|---|---|---|---|"]
        for r in sorted(diag, key=lambda r: (r["table"], r["at"])):
            cell = lambda k: f"{_fmt(r.get(k), '.3f')} ({_fmt(r.get(k + '_holdout'), '.3f')})"  # noqa: E731
            lines.append(f"| {r['table']} | `{r['fingerprint']}` | {len(r['group'])} | {cell('auc_all')} | "
                         f"{cell('auc_group')} | {cell('auc_rest')} | "
                         f"{_fmt(r.get('profile_in_train_synthetic'), '.3f')} / {_fmt(r.get('profile_in_train_holdout'), '.3f')} | "
                         f"{_fmt(r.get('profile_kept_synthetic'), '.3f')} / {_fmt(r.get('profile_kept_holdout'), '.3f')} |")
        lines.append("")
    fresh_runs = _runs("fresh")
    if fresh_runs:
        lines += ["**Fresh entities** (real rows only; evaluate's discriminator): the seed-1 split's rows split by "
                  "entity, 70% of the entities on a training side (itself split 70/30 by row); AUC of the training "
                  "side's 70% against real rows of the other entities, and against its own other 30% (the same "
                  "entities, as a row-split holdout has them); entity splits seeded 0, 1, 2:", "",
                  "| table | entity | entities | AUC, fresh entities: mean (per split) | AUC, same entities |",
                  "|---|---|---|---|---|"]
        for r in sorted(fresh_runs, key=lambda r: r["table"]):
            a, b = r["auc_fresh_entities"], r["auc_same_entities"]
            lines.append(f"| {r['table']} | {r['entity']} | {r['entities']:,} | {np.mean(a):.3f} "
                         f"({', '.join(f'{x:.3f}' for x in a)}) | {np.mean(b):.3f} ({', '.join(f'{x:.3f}' for x in b)}) |")
        lines.append("")
    scans = sorted(_runs("scan"), key=lambda r: r["key"].lower())
    if scans:
        fired = [r for r in scans if r["profile_columns"]]
        cpu = [r["detect_cpu_s"] for r in scans]
        lines += [f"**Where detection fires** (each suite table's seed-1 training split, schema inferred with k = 5 as "
                  f"Synthesizer.fit does): {len(fired)} of {len(scans)} tables; detection CPU per table: median "
                  f"{np.median(cpu):.2f} s, most {max(cpu):.2f} s ({max(scans, key=lambda r: r['detect_cpu_s'])['key']}).", "",
                  "| table | half | rows × cols | candidates | group columns | distinct profiles | kept profiles (5+ rows) | "
                  "rows with a kept profile | columns |", "|---|---|---|---|---|---|---|---|---|"]
        for r in fired:
            cols = ", ".join(r["profile_columns"])
            lines.append(f"| {r['key']} | {r['half']} | {r['rows']:,} × {r['columns']} | {r['candidates']} | "
                         f"{len(r['profile_columns'])} | {r['distinct_profiles']:,} | {r['kept_profiles']:,} | "
                         f"{r['rows_kept'] / r['rows']:.2f} | {cols} |")
        lines.append("")
    head = ["table", "half", "seed", *(label for _, label, _ in METRICS), "fit CPU s", "load at end"]
    lines += ["**argn before → after** (cells: before → after; the holdout's own AUC and gap in brackets):", "",
              "| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for table in tables:
        for seed in seeds:
            b, a = _record(table, seed, before), _record(table, seed, after)
            if not (b and a):
                continue
            cells = []
            for key, _, spec in METRICS:
                cell = f"{_fmt(b['metrics'].get(key), spec)} → {_fmt(a['metrics'].get(key), spec)}"
                own = {"discriminator_auc": "discriminator_auc_holdout",
                       "granularity_worst_gap": "granularity_worst_gap_holdout"}.get(key)
                if own:
                    cell += f" ({_fmt(a['metrics'].get(own), spec)})"
                cells.append(cell)
            cpu = f"{b['run']['fit_cpu_s']:.0f} → {a['run']['fit_cpu_s']:.0f}"
            load = " / ".join(_fmt(r["run"].get("loadavg_1m_at_end"), ".1f") for r in (b, a))
            lines.append(f"| {table} | {half_of.get(table, '')} | {seed} | {' | '.join(cells)} | {cpu} | {load} |")
    update_section("hidden-entity", "\n".join(lines))
    print("wrote the hidden-entity section of RESULTS.md")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--scan", action="store_true")
    ap.add_argument("--scan-tables", nargs="+", default=None)
    ap.add_argument("--diagnose", nargs="+", default=[], metavar="TABLE=FINGERPRINT")
    ap.add_argument("--fresh", nargs="+", default=[], metavar="TABLE=KEY")
    ap.add_argument("--report", action="store_true")
    ap.add_argument("--before")
    ap.add_argument("--after")
    ap.add_argument("--tables", nargs="+", default=[])
    ap.add_argument("--seeds", nargs="+", type=int, default=[1, 2, 3])
    ap.add_argument("--note", action="append", default=[])
    args = ap.parse_args()
    if args.scan:
        scan(args.scan_tables)
    if args.diagnose:
        diagnose(args.diagnose)
    if args.fresh:
        fresh(args.fresh)
    if args.report:
        report(args.before, args.after, args.tables, args.seeds, args.note)


if __name__ == "__main__":
    main()
