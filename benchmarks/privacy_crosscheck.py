"""Cross-check the report's own privacy risks against the `anonymeter` package on a real table.

lookalike's report (``lookalike.evaluate``) measures singling-out, linkability and attribute-inference risk
with its own attacks, in the spirit of anonymeter (Giomi et al., 2022): each attack is run against training
rows and against real holdout rows the generator never saw, and the risk is the excess success on training
rows, ``(train - control) / (1 - control)``, with a 95% interval. This script runs both implementations on
the same train / synthetic / holdout rows and puts their numbers side by side:

- the synthetic table from lookalike argn (fitted by compare.py for the seed, cached per source fingerprint);
- "copy of train", the worst generator there is (it publishes the training rows): both must flag it;
- independent marginals (each train column shuffled): no row survives whole, so little should be flagged.

Both sides get the same rows: an equal-sized sample of train and of the holdout (the report does this
because a predicate singles out one row less often in a bigger table, which would bias singling out), the
same 500 attacks per side, the same two column halves for linkability (the report's random halves) and
the same secret columns for inference (the report's, all other columns known). What differs is how each
builds its attacks (query generation, distance, what counts as a right guess for numbers), so the numbers
are expected to agree in direction and rough size, not digit for digit.

    PYTHONPATH=src python benchmarks/privacy_crosscheck.py                      # credit_data, seed 1
    PYTHONPATH=src python benchmarks/privacy_crosscheck.py --lookalike-rev main --table mlc_churn --seed 2

Writes the section "privacy-crosscheck" of benchmarks/RESULTS.md (results_sections.update_section) and the
raw numbers to benchmarks/.cache/privacy_crosscheck.json.
"""
from __future__ import annotations

import argparse
import json
import sys
import time
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
import compare  # noqa: E402
import datasets  # noqa: E402
from results_sections import update_section  # noqa: E402

N_ATTACKS = 500
FLAG = 0.10  # the report's "review" threshold on a risk's 95% CI low end (privacy.THRESHOLDS["risk_ci_low"])


# -- the two sides ---------------------------------------------------------------------------------------
def lookalike_side(evaluate, train, synthetic, holdout, target, seed: int) -> dict:
    """The report's own risks: run the public evaluate() and read its privacy details."""
    report = evaluate(train=train, synthetic=synthetic, holdout=holdout, target=target, seed=seed)
    priv = report.details["privacy"]
    out = {"singling_out": _ours(priv["singling_out"]), "linkability": _ours(priv["linkability"]),
           "inference": {s: _ours(r) for s, r in priv["attribute_inference"].items()},
           "columns_a": list(priv["linkability"]["columns_a"]), "columns_b": list(priv["linkability"]["columns_b"]),
           "rows": int(priv["rows_compared"]), "verdict": report.metrics.get("privacy_verdict"),
           "exact_copy_share": report.metrics.get("exact_copy_share")}
    return out


def _ours(r: dict) -> dict:
    return {"risk": float(r["risk"]), "ci": (float(r["ci_low"]), float(r["ci_high"])),
            "train_success": float(r["train_success"]), "control_success": float(r["control_success"]),
            "attacks": int(r["attacks"]) if r.get("attacks") is not None else None}


def anonymeter_side(train, synthetic, holdout, columns_a, columns_b, secrets, rows: int, seed: int) -> dict:
    """anonymeter 1.x on the same rows: equal-sized train / holdout samples, the report's column halves and secrets."""
    from anonymeter.evaluators import InferenceEvaluator, LinkabilityEvaluator, SinglingOutEvaluator

    rng = np.random.default_rng(seed)
    ori = train.iloc[rng.choice(len(train), size=rows, replace=False)].reset_index(drop=True)
    control = holdout.iloc[rng.choice(len(holdout), size=rows, replace=False)].reset_index(drop=True)
    np.random.seed(seed)  # anonymeter's linkability / inference draw their targets from the global state
    out: dict = {}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # "could generate only N queries" is reported below as the attack count
        so = SinglingOutEvaluator(ori=ori, syn=synthetic, control=control, n_attacks=N_ATTACKS, n_cols=3,
                                  seed=seed).evaluate(mode="multivariate")
        out["singling_out"] = _theirs(so)
        link = LinkabilityEvaluator(ori=ori, syn=synthetic, control=control, aux_cols=(columns_a, columns_b),
                                    n_attacks=N_ATTACKS, n_neighbors=1).evaluate(n_jobs=1)
        out["linkability"] = _theirs(link)
        out["inference"] = {}
        for secret in secrets:
            aux = [c for c in train.columns if c != secret]
            regression = bool(pd.api.types.is_numeric_dtype(train[secret]) and train[secret].nunique() > 20)
            inf = InferenceEvaluator(ori=ori, syn=synthetic, control=control, aux_cols=aux, secret=secret,
                                     regression=regression, n_attacks=N_ATTACKS).evaluate(n_jobs=1)
            out["inference"][secret] = _theirs(inf)
    return out


def _theirs(evaluator) -> dict:
    res = evaluator.results(confidence_level=0.95)
    risk = evaluator.risk(confidence_level=0.95)
    return {"risk": float(risk.value), "ci": (float(risk.ci[0]), float(risk.ci[1])),
            "train_success": float(res.attack_rate.value), "control_success": float(res.control_rate.value),
            "attacks": int(res.n_attacks_ori)}


# -- bad and reference generators -----------------------------------------------------------------------
def copy_of_train(train: pd.DataFrame) -> pd.DataFrame:
    return train.copy()


def independent_marginals(train: pd.DataFrame, seed: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    return pd.DataFrame({c: train[c].to_numpy()[rng.permutation(len(train))] for c in train.columns})


# -- comparing -------------------------------------------------------------------------------------------
def _flag(r: dict) -> bool:
    return r["ci"][0] > FLAG


def _overlap(a: dict, b: dict) -> bool:
    return a["ci"][0] <= b["ci"][1] and b["ci"][0] <= a["ci"][1]


def _fmt(r: dict) -> str:
    return f"{r['risk']:.3f} [{r['ci'][0]:.3f}, {r['ci'][1]:.3f}]"


def _rates(r: dict) -> str:
    attacks = f" ({r['attacks']})" if r.get("attacks") is not None else ""
    return f"{r['train_success']:.2f} / {r['control_success']:.2f}{attacks}"


def rows_for(name: str, ours: dict, theirs: dict) -> list[dict]:
    rows = [{"generator": name, "attack": "singling out (3 columns)", "ours": ours["singling_out"],
             "theirs": theirs["singling_out"]},
            {"generator": name, "attack": "linkability (report's column halves)", "ours": ours["linkability"],
             "theirs": theirs["linkability"]}]
    for secret in ours["inference"]:
        rows.append({"generator": name, "attack": f"inference of `{secret}`", "ours": ours["inference"][secret],
                     "theirs": theirs["inference"][secret]})
    return rows


def markdown(table: str, seed: int, source_label: str, rows: list[dict], verdicts: dict, seconds: float,
             anonymeter_version: str, n_rows: int) -> str:
    lines = [
        "## Privacy cross-check against anonymeter",
        "",
        f"`benchmarks/privacy_crosscheck.py --table {table} --seed {seed}` ({seconds:.0f} s): the report's own attacks "
        f"(`lookalike.evaluate`, from {source_label}) and anonymeter {anonymeter_version} on the same rows: "
        f"{n_rows:,} training rows and {n_rows:,} holdout rows (the control) sampled to equal size, {N_ATTACKS} "
        "attacks a side, the report's two column halves for linkability and its secret columns for inference "
        "(every other column known). Risk = (train success − control success) / (1 − control success); "
        "brackets: 95% interval; success columns: train / control success rate (attacks made: singling out "
        "keeps only the queries that isolate one synthetic row, so it makes fewer than asked). \"flag\": the interval's low "
        f"end above {FLAG} (the report's review threshold).",
        "",
        "| generator | attack | lookalike risk [95% CI] | success | anonymeter risk [95% CI] | success | flag (ours / theirs) | intervals overlap |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        lines.append(f"| {r['generator']} | {r['attack']} | {_fmt(r['ours'])} | {_rates(r['ours'])} | "
                     f"{_fmt(r['theirs'])} | {_rates(r['theirs'])} | "
                     f"{'yes' if _flag(r['ours']) else 'no'} / {'yes' if _flag(r['theirs']) else 'no'} | "
                     f"{'yes' if _overlap(r['ours'], r['theirs']) else '**no**'} |")
    lines += ["", "Report verdicts: " + "; ".join(f"{g}: {v}" for g, v in verdicts.items()) + ".", ""]
    lines.append(agreement_sentence(rows))
    return "\n".join(lines) + "\n"


def agreement_sentence(rows: list[dict]) -> str:
    n = len(rows)
    same_flag = sum(_flag(r["ours"]) == _flag(r["theirs"]) for r in rows)
    overlap = sum(_overlap(r["ours"], r["theirs"]) for r in rows)
    by_gen: dict[str, tuple[bool, bool]] = {}
    for r in rows:
        o, t = by_gen.get(r["generator"], (False, False))
        by_gen[r["generator"]] = (o or _flag(r["ours"]), t or _flag(r["theirs"]))
    gens = "; ".join(f"{g}: flagged by {'both' if o and t else 'lookalike only' if o else 'anonymeter only' if t else 'neither'}"
                     for g, (o, t) in by_gen.items())
    disagree = [f"{r['generator']} / {r['attack']}" for r in rows if _flag(r["ours"]) != _flag(r["theirs"])]
    return (f"**Agreement.** The two implementations reach the same flag on {same_flag} of {n} attacks and their "
            f"95% intervals overlap on {overlap} of {n}. Per generator ({gens})."
            + (f" Flags differ on: {', '.join(disagree)}." if disagree else ""))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--table", default="credit_data", choices=datasets.names())
    parser.add_argument("--seed", type=int, default=datasets.SEEDS[0], help="split seed = model seed (default 1)")
    parser.add_argument("--lookalike-src", type=Path, default=None)
    parser.add_argument("--lookalike-rev", default=None)
    parser.add_argument("--out", type=Path, default=compare.RESULTS_MD)
    args = parser.parse_args(argv)

    source = compare.resolve_source(args.lookalike_src, args.lookalike_rev)
    evaluate = compare.load_evaluate()
    from importlib.metadata import version

    train, holdout, meta = datasets.load(args.table, args.seed)
    csv_path, _, _ = compare.output_paths(args.table, args.seed, "lookalike_argn", source)
    if not csv_path.exists():
        outcome = compare.run_lookalike(args.table, args.seed, "lookalike_argn", source, force=False, timeout_s=3600)
        if outcome["status"] != "ok":
            raise SystemExit(f"lookalike argn could not be fitted: {outcome}")
    generators = {
        "lookalike argn": pd.read_csv(csv_path),
        "copy of train": copy_of_train(train),
        "independent marginals": independent_marginals(train, args.seed),
    }
    start = time.perf_counter()
    rows, verdicts, raw = [], {}, {}
    for name, synthetic in generators.items():
        print(f"[{name}] report ...", flush=True)
        ours = lookalike_side(evaluate, train, synthetic, holdout, meta["target"], args.seed)
        print(f"[{name}] anonymeter ...", flush=True)
        theirs = anonymeter_side(train, synthetic, holdout, ours["columns_a"], ours["columns_b"],
                                 list(ours["inference"]), ours["rows"], args.seed)
        rows += rows_for(name, ours, theirs)
        verdicts[name] = ours["verdict"]
        raw[name] = {"lookalike": ours, "anonymeter": theirs}
    seconds = time.perf_counter() - start
    text = markdown(args.table, args.seed, source.label, rows, verdicts, seconds, version("anonymeter"),
                    raw["lookalike argn"]["lookalike"]["rows"])
    update_section("privacy-crosscheck", text, args.out)
    (datasets.CACHE_DIR / "privacy_crosscheck.json").write_text(json.dumps(raw, indent=2, default=str))
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
