"""Scale: a database of 20 tables and about 1,000,000 rows, made with `lookalike fake` (a spec with foreign
keys), learned with `lookalike fit-db` and sampled with `lookalike sample-db`, each in its own process on the
machine's 2 cores. Measures wall and CPU seconds and peak memory (the process's maximum resident set) of
each step, and checks every foreign key of the output. Writes the "relational-scale" section of RESULTS.md.

    nice -n 5 python benchmarks/relational_scale.py [--n 10000] [--max-time 420]

Keys follow the naming convention (``<table>_id``), so fit-db infers them from the folder of Parquet files,
as a user's folder would be read; the 20-row regions table (a text code as key) is kept as a reference table.
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent))
from results_sections import update_section  # noqa: E402

SPEC = """
format: parquet
tables:
  regions:
    rows: 20
    columns:
      region_id: {dist: sequence, prefix: R, width: 3}
      climate: {dist: categorical, values: {dry: 0.3, temperate: 0.5, cold: 0.2}}
  branches:
    rows: 400
    columns:
      branch_id: {dist: sequence, start: 1}
      region_id: {foreign_key: regions.region_id, skew: 0.5}
      size: {dist: categorical, values: {small: 0.6, medium: 0.3, large: 0.1}}
      opened: {dist: date, start: 1990-01-01, end: 2020-12-31}
  customers:
    scale: 5
    columns:
      customer_id: {dist: sequence, start: 1}
      branch_id: {foreign_key: branches.branch_id, skew: 0.8}
      segment: {dist: categorical, values: {retail: 0.7, premium: 0.25, private: 0.05}}
      age: {dist: normal, mean: 45, sd: 14, min: 18, max: 95, round: 0}
      income: {expr: "exp(normal(10.4, 0.4)) * (3 if segment == 'private' else 1.5 if segment == 'premium' else 1)", round: 0}
  accounts:
    scale: 8
    columns:
      account_id: {dist: sequence, start: 1}
      customer_id: {foreign_key: customers.customer_id, skew: 0.6}
      kind: {dist: categorical, values: {checking: 0.6, savings: 0.3, business: 0.1}}
      balance: {dist: gamma, shape: 2, scale: 3000, round: 2}
  cards:
    scale: 8
    columns:
      card_id: {dist: sequence, start: 1}
      account_id: {foreign_key: accounts.account_id}
      network: {dist: categorical, values: {visa: 0.6, mastercard: 0.35, amex: 0.05}}
      credit_limit: {dist: categorical, values: {1000: 0.5, 5000: 0.4, 20000: 0.1}}
  merchants:
    scale: 0.5
    columns:
      merchant_id: {dist: sequence, start: 1}
      category: {dist: categorical, values: {grocery: 0.3, fuel: 0.15, travel: 0.1, retail: 0.35, online: 0.1}}
  transactions:
    scale: 20
    columns:
      transaction_id: {dist: sequence, start: 1}
      card_id: {foreign_key: cards.card_id, skew: 1.0}
      merchant_id: {foreign_key: merchants.merchant_id, skew: 1.2}
      amount: {dist: lognormal, mu: 3.5, sigma: 1.0, round: 2}
      channel: {dist: categorical, values: {pos: 0.6, online: 0.35, atm: 0.05}}
      booked: {dist: datetime, start: 2024-01-01, end: 2024-12-31}
  loans:
    scale: 2
    columns:
      loan_id: {dist: sequence, start: 1}
      customer_id: {foreign_key: customers.customer_id}
      principal: {dist: lognormal, mu: 9.5, sigma: 0.8, round: 0}
      term_months: {dist: categorical, values: {12: 0.2, 36: 0.5, 60: 0.3}}
  payments:
    scale: 12
    columns:
      payment_id: {dist: sequence, start: 1}
      loan_id: {foreign_key: loans.loan_id}
      amount: {dist: gamma, shape: 3, scale: 150, round: 2}
      late: {dist: bernoulli, p: 0.07}
  products:
    rows: 500
    columns:
      product_id: {dist: sequence, start: 1}
      family: {dist: categorical, values: {insurance: 0.3, savings: 0.3, credit: 0.4}}
      price: {dist: lognormal, mu: 4, sigma: 0.7, round: 2}
  orders:
    scale: 6
    columns:
      order_id: {dist: sequence, start: 1}
      customer_id: {foreign_key: customers.customer_id, skew: 0.7}
      channel: {dist: categorical, values: {web: 0.5, app: 0.3, branch: 0.2}}
      placed: {dist: date, start: 2023-01-01, end: 2024-12-31}
  order_items:
    scale: 12
    columns:
      order_item_id: {dist: sequence, start: 1}
      order_id: {foreign_key: orders.order_id}
      product_id: {foreign_key: products.product_id, skew: 1.0}
      quantity: {dist: poisson, lam: 1.5, min: 1}
  shipments:
    scale: 5
    columns:
      shipment_id: {dist: sequence, start: 1}
      order_id: {foreign_key: orders.order_id}
      carrier: {dist: categorical, values: {post: 0.5, courier: 0.4, pickup: 0.1}}
      days: {dist: poisson, lam: 3}
  employees:
    rows: 2000
    columns:
      employee_id: {dist: sequence, start: 1}
      branch_id: {foreign_key: branches.branch_id}
      role: {dist: categorical, values: {teller: 0.5, advisor: 0.35, manager: 0.15}}
  tickets:
    scale: 2
    columns:
      ticket_id: {dist: sequence, start: 1}
      customer_id: {foreign_key: customers.customer_id, skew: 0.9}
      employee_id: {foreign_key: employees.employee_id}
      topic: {dist: categorical, values: {card: 0.4, loan: 0.2, app: 0.3, other: 0.1}}
  ticket_events:
    scale: 4
    columns:
      ticket_event_id: {dist: sequence, start: 1}
      ticket_id: {foreign_key: tickets.ticket_id}
      status: {dist: categorical, values: {open: 0.4, pending: 0.3, closed: 0.3}}
      minutes: {dist: exponential, scale: 30, round: 0}
  devices:
    scale: 3
    columns:
      device_id: {dist: sequence, start: 1}
      customer_id: {foreign_key: customers.customer_id}
      os: {dist: categorical, values: {android: 0.55, ios: 0.4, other: 0.05}}
  logins:
    scale: 7.2
    columns:
      login_id: {dist: sequence, start: 1}
      device_id: {foreign_key: devices.device_id, skew: 0.8}
      hour: {dist: categorical, values: {8: 0.1, 12: 0.2, 18: 0.3, 21: 0.3, 2: 0.1}}
      failed: {dist: bernoulli, p: 0.03}
  addresses:
    scale: 5
    columns:
      address_id: {dist: sequence, start: 1}
      customer_id: {foreign_key: customers.customer_id}
      kind: {dist: categorical, values: {home: 0.7, work: 0.2, other: 0.1}}
      years: {dist: exponential, scale: 6, round: 0}
  campaigns:
    rows: 100
    columns:
      campaign_id: {dist: sequence, start: 1}
      region_id: {foreign_key: regions.region_id}
      budget: {dist: lognormal, mu: 10, sigma: 0.5, round: 0}
"""

STEP = """
import json, os, resource, sys, time
wall, t0 = time.perf_counter(), os.times()
from lookalike.cli import main
rc = main(sys.argv[1:])
t1 = os.times()
print("STEP " + json.dumps({"rc": rc, "wall_s": time.perf_counter() - wall,
      "cpu_s": (t1.user + t1.system + t1.children_user + t1.children_system) - (t0.user + t0.system),
      "peak_gib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20}))
"""


def step(args: list[str]) -> dict:
    env = {**os.environ, "OMP_WAIT_POLICY": "PASSIVE"}
    proc = subprocess.run([sys.executable, "-c", STEP, *args], capture_output=True, text=True, env=env)
    line = [x for x in proc.stdout.splitlines() if x.startswith("STEP ")]
    if proc.returncode != 0 or not line:
        raise SystemExit(f"{' '.join(args[:2])} failed: {proc.stderr.strip()[-2000:]}")
    out = json.loads(line[-1][5:])
    out["stderr"] = proc.stderr.strip()
    return out


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=10_000, help="the spec's base rows (tables have n * scale rows)")
    ap.add_argument("--max-time", type=float, default=420)
    ap.add_argument("--model", default="auto")
    ap.add_argument("--seed", type=int, default=1)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        (tmp / "spec.yaml").write_text(SPEC)
        fake = step(["fake", str(tmp / "spec.yaml"), "-n", str(args.n), "-o", str(tmp / "real"), "--seed", str(args.seed)])
        real = {p.stem: pd.read_parquet(p) for p in sorted((tmp / "real").glob("*.parquet"))}
        sizes = {n: len(d) for n, d in real.items()}
        total = sum(sizes.values())
        print(f"fake: {len(real)} tables, {total:,} rows in {fake['wall_s']:.0f} s", flush=True)
        del real
        fit = step(["fit-db", str(tmp / "real"), "-o", str(tmp / "m.lookalike"), "--model", args.model,
                    "--max-time", str(args.max_time), "--seed", str(args.seed)])
        print(f"fit-db: {fit['wall_s']:.0f} s wall, {fit['cpu_s']:.0f} s CPU, peak {fit['peak_gib']:.2f} GiB", flush=True)
        from lookalike.relational.synthesizer import DatabaseSynthesizer

        fitted = DatabaseSynthesizer.load(tmp / "m.lookalike")
        generators: dict[str, list[str]] = {}
        for name, model in fitted.models_.items():
            generators.setdefault(type(model.synthesizer_.model_).__name__, []).append(name)
        kept = [f"{n} ({fitted.plans_[n].n_rows} rows)" for n in fitted.references_]
        del fitted
        sample = step(["sample-db", str(tmp / "m.lookalike"), "-o", str(tmp / "syn"), "--format", "parquet"])
        print(f"sample-db: {sample['wall_s']:.0f} s wall, {sample['cpu_s']:.0f} s CPU, peak {sample['peak_gib']:.2f} GiB",
              flush=True)
        from lookalike.relational.sources import load_source

        source = load_source(str(tmp / "real"))
        syn = {p.stem: pd.read_parquet(p) for p in sorted((tmp / "syn").glob("*.parquet"))}
        checked, bad = 0, 0
        for r in source.schema.relations:
            child = syn[r.child][list(r.child_columns)].dropna()
            keys = set(syn[r.parent][r.parent_columns[0]].astype(str))
            checked += len(child)
            bad += int((~child[r.child_columns[0]].astype(str).isin(keys)).sum())
        syn_total = sum(len(d) for d in syn.values())
        relations = len(source.schema.relations)
    wall = fit["wall_s"] + sample["wall_s"]
    cpu = fit["cpu_s"] + sample["cpu_s"]
    peak = max(fit["peak_gib"], sample["peak_gib"])
    text = "\n".join([
        "## Scale: 20 tables, 1,000,000 rows (benchmarks/relational_scale.py)",
        "",
        f"A `lookalike fake` spec of 20 tables with {relations} foreign keys (base n = {args.n:,}), written as Parquet "
        f"files; keys inferred by fit-db from their names. {len(sizes)} tables, {total:,} rows "
        f"(largest: " + ", ".join(f"{n} {k:,}" for n, k in sorted(sizes.items(), key=lambda x: -x[1])[:3]) + "). "
        f"Model `{args.model}`, max time {args.max_time:.0f} s, seed {args.seed}; {os.cpu_count()} CPU cores, "
        f"shared with other work (load average {os.getloadavg()[0]:.1f} at the end). Generators `auto` picked: " +
        "; ".join(f"{g} for {len(t)} tables" for g, t in generators.items()) + ".",
        "",
        "| step | wall s | CPU s | peak memory GiB |",
        "|---|---|---|---|",
        f"| fit-db | {fit['wall_s']:.0f} | {fit['cpu_s']:.0f} | {fit['peak_gib']:.2f} |",
        f"| sample-db (tables streamed to Parquet) | {sample['wall_s']:.0f} | {sample['cpu_s']:.0f} | "
        f"{sample['peak_gib']:.2f} |",
        f"| total | {wall:.0f} ({wall / 60:.1f} min) | {cpu:.0f} | {peak:.2f} |",
        "",
        f"Synthetic database: {syn_total:,} rows; {checked:,} foreign-key values checked, {bad} name no synthetic "
        f"parent. Target (under 15 minutes on 2 cores, under 8 GiB): "
        f"{'met' if wall < 900 and peak < 8 else 'not met'} (wall {wall / 60:.1f} min, peak {peak:.2f} GiB). "
        f"Kept as reference tables (inferred): {', '.join(kept) or 'none'}.",
    ])
    update_section("relational-scale", text)
    print(text)


if __name__ == "__main__":
    main()
