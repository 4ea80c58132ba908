"""Equity market simulator: correlated Heston/Bates price paths, option chains, and calibration to real prices.

Why Heston with jumps: its paths show the stylized facts of real returns (heavy tails from stochastic variance
and jumps, volatility clustering from the mean-reverting variance, the leverage effect from ``rho < 0``, and no
autocorrelation in raw returns) and the same parameters price options in closed form (``heston.py``), so the
option chain is consistent with the simulated prices rather than bolted on.

Calibration to a real series: a GJR-GARCH(1,1) fitted by Gaussian quasi maximum likelihood (scipy.optimize)
gives the daily variance path; its persistence, long-run level and innovations map to ``kappa``, ``theta``,
``sigma`` and ``rho`` (the diffusion limit of GARCH); standardised returns beyond 4 sigma give the jump
intensity and size by the method of moments.
"""
from __future__ import annotations

import os
from dataclasses import replace
from pathlib import Path
from typing import Callable

import numpy as np
import pandas as pd
from scipy import optimize, signal, stats

from lookalike.errors import LookalikeError
from lookalike.io import check_output_folder, read_table, write_table
from lookalike.simulate.heston import HestonParams, call_prices, implied_vol, put_prices

TRADING_DAYS = 252
BARS_PER_DAY = 78  # 5-minute bars of a 6.5 hour session
MATURITY_DAYS = (30, 60, 91, 182, 365)
MONEYNESS = (0.8, 0.85, 0.9, 0.95, 1.0, 1.05, 1.1, 1.15, 1.2)


def simulate_paths(params: list[HestonParams], n_days: int, corr: np.ndarray, rng: np.random.Generator,
                   steps_per_day: int = 4, spot: np.ndarray | None = None,
                   on_day: Callable[[int], None] | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Log-prices and variances, shape (n_days * steps_per_day + 1, K), full-truncation Euler with jumps."""
    k = len(params)
    dt = 1.0 / (TRADING_DAYS * steps_per_day)
    chol = np.linalg.cholesky(corr)
    mu = np.array([p.mu for p in params])
    kappa, theta, sigma, rho = (np.array([getattr(p, a) for p in params]) for a in ("kappa", "theta", "sigma", "rho"))
    lam, jm, js = (np.array([getattr(p, a) for p in params]) for a in ("jump_intensity", "jump_mean", "jump_sd"))
    kbar = np.exp(jm + 0.5 * js ** 2) - 1
    n = n_days * steps_per_day
    logp = np.empty((n + 1, k))
    var = np.empty((n + 1, k))
    logp[0] = np.log(spot) if spot is not None else np.log(100.0)
    var[0] = [p.v0 for p in params]
    sq = np.sqrt(1 - rho ** 2)
    for i in range(n):
        z_s = chol @ rng.standard_normal(k)
        z_v = rho * z_s + sq * rng.standard_normal(k)
        v = np.maximum(var[i], 0.0)
        jumps = rng.poisson(lam * dt)
        jump_size = jumps * jm + np.sqrt(jumps) * js * rng.standard_normal(k)
        logp[i + 1] = logp[i] + (mu - 0.5 * v - lam * kbar) * dt + np.sqrt(v * dt) * z_s + jump_size
        var[i + 1] = var[i] + kappa * (theta - v) * dt + sigma * np.sqrt(v * dt) * z_v
        if on_day is not None and (i + 1) % steps_per_day == 0:
            on_day((i + 1) // steps_per_day)
    return logp, np.maximum(var, 0.0)


# -------------------------------------------------------------------------------------------------- calibration
def _gjr_filter(x: np.ndarray, omega, alpha, gamma, beta) -> np.ndarray:
    """h[t+1] = omega + (alpha + gamma [x_t < 0]) x_t^2 + beta h[t], as a linear filter (no Python loop)."""
    h0 = x.var()
    drive = omega + (alpha + gamma * (x < 0)) * x * x
    rest, _ = signal.lfilter([1.0], [1.0, -beta], drive, zi=[beta * h0])
    return np.concatenate([[h0], rest])


def fit_jumps(z: np.ndarray) -> tuple[float, float, float]:
    """Daily jump probability, mean and sd (in units of ``z``) matching the 3rd and 4th moments and the 3-sigma
    tail share of standardised returns, for a mixture of a normal and a normal-plus-one-jump day."""
    z = (z - z.mean()) / z.std()
    m4, tail, m3 = float(np.mean(z ** 4)), float(np.mean(np.abs(z) > 3)), float(np.mean(z ** 3))
    if m4 <= 3.15:
        return 0.0, 0.0, 0.0

    def moments(lam, s2):
        w = lam * s2
        if w >= 0.95:
            return np.inf, np.inf
        quiet, jumpy = 1 - w, 1 - w + s2
        k4 = 3 * ((1 - lam) * quiet ** 2 + lam * jumpy ** 2)
        share = 2 * ((1 - lam) * stats.norm.sf(3 / np.sqrt(quiet)) + lam * stats.norm.sf(3 / np.sqrt(jumpy)))
        return k4, share

    def loss(theta):
        k4, share = moments(np.exp(theta[0]), np.exp(theta[1]))
        if not np.isfinite(k4):
            return 1e6
        return np.log(k4 / m4) ** 2 + np.log((share + 1e-5) / (tail + 1e-5)) ** 2

    best = min((optimize.minimize(loss, start, method="Nelder-Mead") for start in
                (np.log([0.01, 5.0]), np.log([0.05, 2.0]), np.log([0.002, 20.0]))), key=lambda r: r.fun)
    lam, s2 = float(np.exp(best.x[0])), float(np.exp(best.x[1]))
    lam = min(lam, 0.2)
    s = np.sqrt(s2)
    # skewness of the jump day mixture: lam * (m^3 + 3 m s^2) = m3, increasing in m
    mean = optimize.brentq(lambda m: lam * (m ** 3 + 3 * m * s2) - m3, -10 * s, 10 * s)
    return lam, float(mean), float(s)


def fit_gjr_garch(returns: np.ndarray) -> dict:
    """GJR-GARCH(1,1) by Gaussian quasi maximum likelihood; returns parameters and the variance path."""
    x = np.asarray(returns, float) - np.mean(returns)
    scale = x.std()
    z = x / scale  # fit on unit scale for a well-conditioned optimiser

    def nll(theta):
        omega, alpha, gamma, beta = theta
        if omega <= 0 or alpha < 0 or beta < 0 or alpha + gamma < 0 or alpha + gamma / 2 + beta >= 0.9999:
            return 1e10
        h = _gjr_filter(z, omega, alpha, gamma, beta)[:-1]
        return 0.5 * np.sum(np.log(h) + z * z / h)

    best = None
    for start in ((0.05, 0.05, 0.08, 0.85), (0.02, 0.03, 0.1, 0.9), (0.1, 0.1, 0.0, 0.8)):
        res = optimize.minimize(nll, start, method="Nelder-Mead", options={"maxiter": 4000, "xatol": 1e-7,
                                                                           "fatol": 1e-9})
        if best is None or res.fun < best.fun:
            best = res
    omega, alpha, gamma, beta = best.x
    h = _gjr_filter(z, omega, alpha, gamma, beta) * scale ** 2
    return {"omega": omega * scale ** 2, "alpha": alpha, "gamma": gamma, "beta": beta, "variance": h,
            "loglik": -best.fun}


def calibrate(prices: np.ndarray | pd.Series, name: str = "prices", refine: bool = True) -> HestonParams:
    """Heston/Bates parameters that reproduce a daily price series' volatility dynamics."""
    p = np.asarray(pd.Series(prices).dropna(), dtype=float)
    if len(p) < 250:
        raise LookalikeError(f"{name}: need at least 250 daily prices to calibrate, got {len(p)}")
    if (p <= 0).any():
        raise LookalikeError(f"{name}: prices must be > 0 (found {p[p <= 0][0]!r})")
    r = np.diff(np.log(p))
    fit = fit_gjr_garch(r)
    h = fit["variance"]  # daily variances; h[t] is the forecast for r[t]
    x = r - r.mean()
    dt = 1.0 / TRADING_DAYS
    persistence = min(fit["alpha"] + fit["gamma"] / 2 + fit["beta"], 0.9995)
    kappa = float(np.clip(-np.log(persistence) * TRADING_DAYS, 0.2, 50.0))
    theta = float(fit["omega"] / (1 - persistence) * TRADING_DAYS)
    v = h * TRADING_DAYS
    innovation = v[1:] - v[:-1] - kappa * (theta - v[:-1]) * dt
    sigma = float(np.clip(np.sqrt(np.mean(innovation ** 2 / (v[:-1] * dt))), 0.05, 3.0))
    rho = float(np.clip(np.corrcoef(x, innovation)[0, 1], -0.95, 0.95))
    z = x / np.sqrt(h[:-1])
    lam, jump_mean_z, jump_sd_z = fit_jumps(z)
    unit = np.sqrt(np.mean(h))  # one standardised unit in daily log-return
    jump_share = min(lam * (jump_mean_z ** 2 + jump_sd_z ** 2), 0.9)  # of the total variance
    mu = float(r.mean() * TRADING_DAYS + 0.5 * r.var() * TRADING_DAYS)
    first = HestonParams(mu=mu, kappa=kappa, theta=theta * (1 - jump_share), sigma=sigma, rho=rho,
                         v0=float(v[-1]) * (1 - jump_share), jump_intensity=lam * TRADING_DAYS,
                         jump_mean=float(jump_mean_z * unit), jump_sd=float(jump_sd_z * unit)).check(name)
    return _refine(first, r, theta) if refine else first


def return_moments(r: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per column of ``r``: excess kurtosis, and the mean autocorrelation of |returns| at lags 1-10 and 11-20."""
    r = np.atleast_2d(np.asarray(r, float).T).T
    x = r - r.mean(axis=0)
    kurt = (x ** 4).mean(axis=0) / (x ** 2).mean(axis=0) ** 2 - 3
    a = np.abs(r) - np.abs(r).mean(axis=0)
    acf = np.array([(a[:-lag] * a[lag:]).mean(axis=0) / (a * a).mean(axis=0) for lag in range(1, 21)])
    return kurt, acf[:10].mean(axis=0), acf[10:].mean(axis=0)


def _refine(first: HestonParams, r: np.ndarray, total_theta: float) -> HestonParams:
    """Simulated method of moments over mean reversion, vol-of-vol and jump share. GARCH's mapping of these is
    rough (and GARCH cannot show long memory), so pick the combination whose simulated returns best match the
    real kurtosis and the |return| autocorrelation at short (1-10) and longer (11-20) lags. All candidates run
    at once as independent columns of one simulation with a fixed seed, so the fit is repeatable."""
    target_kurt, target_short, target_long = (float(v[0]) for v in return_moments(r))
    jump_var = first.jump_intensity * (first.jump_mean ** 2 + first.jump_sd ** 2)
    candidates = []
    for kappa_scale in (0.25, 0.5, 1.0, 2.0):
        for js in (0.0, 0.5, 1.0, 1.5):
            theta = max(total_theta - js * jump_var, 0.1 * total_theta)
            for sg in np.geomspace(0.08, 2.5, 10):
                candidates.append(replace(first, kappa=float(np.clip(first.kappa * kappa_scale, 0.2, 50.0)),
                                          sigma=float(sg), jump_intensity=first.jump_intensity * js, theta=theta,
                                          v0=theta, mu=0.0))
    n_days = max(6000, 4 * len(r))
    logp, _ = simulate_paths(candidates, n_days, np.eye(len(candidates)), np.random.default_rng(12345), 2)
    kurt, short, long = return_moments(np.diff(logp[::2], axis=0))
    score = ((np.log1p(np.maximum(kurt, -0.9)) - np.log1p(max(target_kurt, -0.9))) / 0.25) ** 2 \
        + ((short - target_short) / 0.03) ** 2 + ((long - target_long) / 0.03) ** 2
    best = candidates[int(np.argmin(score))]
    return replace(best, mu=first.mu, v0=first.v0 * best.theta / max(first.theta, 1e-12)).check()


def read_price_file(path: str | os.PathLike) -> pd.DataFrame:
    """Price columns of a CSV/Parquet file: every numeric column except obvious row numbers."""
    df = read_table(path)
    numeric = [c for c in df.columns if pd.api.types.is_numeric_dtype(df[c])
               and str(c).lower() not in ("rownames", "index", "id", "row", "year", "time")]
    if not numeric:
        raise LookalikeError(f"{path}: no numeric price column found (columns: {', '.join(map(str, df.columns))})")
    return df[numeric]


# ---------------------------------------------------------------------------------------------------- simulator
class MarketSimulator:
    """Daily (and optionally 5-minute) prices for ``n_assets`` correlated assets plus option chains.

    ``params`` is one HestonParams per asset (or one shared by all); without it assets get varied defaults.
    ``corr`` is the correlation of the assets' price shocks; without it a one-factor market model is used.
    """

    def __init__(self, n_assets: int = 5, n_days: int = 252, seed: int = 0, intraday: bool = False,
                 params: list[HestonParams] | HestonParams | None = None, corr: np.ndarray | None = None,
                 start_date: str = "2024-01-02", rate: float = 0.03, chain_every: int | None = None,
                 maturities=MATURITY_DAYS, moneyness=MONEYNESS):
        self.n_assets = n_assets
        self.n_days = n_days
        self.seed = seed
        self.intraday = intraday
        self.params = params
        self.corr = corr
        self.start_date = start_date
        self.rate = rate
        self.chain_every = chain_every
        self.maturities = tuple(maturities)
        self.moneyness = tuple(moneyness)
        for label, value in (("assets", n_assets), ("days", n_days)):
            if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value <= 0:
                raise LookalikeError(f"--{label} must be a whole number > 0, got {value!r}")
        if n_days < 2:
            raise LookalikeError(f"--days must be at least 2, got {n_days}")
        if chain_every is not None and chain_every <= 0:
            raise LookalikeError(f"chain_every must be > 0 days, got {chain_every!r}")

    def _asset_params(self, rng) -> list[HestonParams]:
        if isinstance(self.params, HestonParams):
            return [self.params.check()] * self.n_assets
        if self.params:
            return [self.params[i % len(self.params)].check() for i in range(self.n_assets)]
        base = HestonParams()
        out = []
        for _ in range(self.n_assets):  # varied, plausible single stocks
            level = rng.uniform(0.6, 2.0)
            out.append(replace(base, mu=float(rng.uniform(0.02, 0.12)), theta=base.theta * level,
                               v0=base.v0 * level * rng.uniform(0.7, 1.3), kappa=float(rng.uniform(1.5, 4.0)),
                               sigma=float(rng.uniform(0.4, 0.8)), rho=float(rng.uniform(-0.8, -0.4))))
        return out

    def _corr(self, rng) -> np.ndarray:
        k = self.n_assets
        if self.corr is not None:
            c = np.asarray(self.corr, float)
            if c.shape != (k, k):
                raise LookalikeError(f"correlation matrix must be {k}x{k}, got {c.shape}")
            return _nearest_corr(c)
        beta = rng.uniform(0.4, 0.8, k)
        c = np.outer(beta, beta)
        np.fill_diagonal(c, 1.0)
        return c

    def run(self, on_day: Callable[[int], None] | None = None) -> dict[str, pd.DataFrame]:
        """Simulate and return ``prices`` (daily), ``options`` and, with ``intraday``, ``intraday`` tables."""
        rng = np.random.default_rng(self.seed)
        self.params_ = self._asset_params(rng)
        self.corr_ = self._corr(rng)
        steps = BARS_PER_DAY if self.intraday else 4
        spot = rng.uniform(20, 300, self.n_assets).round(2)
        logp, var = simulate_paths(self.params_, self.n_days, self.corr_, rng, steps, spot, on_day)
        dates = np.busday_offset(np.datetime64(self.start_date, "D"), np.arange(self.n_days), roll="forward")
        assets = [f"ASSET{i + 1:02d}" for i in range(self.n_assets)]
        tables = {"prices": self._daily(logp, var, steps, dates, assets, rng)}
        if self.intraday:
            tables["intraday"] = self._bars(logp, dates, assets)
        tables["options"] = self._options(np.exp(logp[::steps]), var[::steps], dates, assets)
        return tables

    def _daily(self, logp, var, steps, dates, assets, rng) -> pd.DataFrame:
        d, k = self.n_days, self.n_assets
        path = np.exp(logp[1:]).reshape(d, steps, k)
        opens = np.exp(logp[:-1:steps])
        close = path[:, -1, :]
        prev = np.vstack([np.exp(logp[0])[None, :], close[:-1]])
        ret = np.log(close / prev)
        spot_vol = np.sqrt(var[steps::steps])
        # volume rises with the size of the move and the level of volatility (a known stylized fact)
        surprise = np.minimum(np.abs(ret) / np.maximum(spot_vol / np.sqrt(TRADING_DAYS), 0.02 / 16), 8.0)
        volume = np.exp(13.0 + 0.35 * surprise + 2.0 * np.minimum(spot_vol, 2.0) + rng.normal(0, 0.3, (d, k)))
        volume = volume.round()
        return pd.DataFrame({
            "date": np.repeat(dates, k),
            "asset": np.tile(assets, d),
            "open": opens.ravel().round(4),
            "high": np.maximum(path.max(axis=1), opens).ravel().round(4),
            "low": np.minimum(path.min(axis=1), opens).ravel().round(4),
            "close": close.ravel().round(4),
            "log_return": ret.ravel(),
            "volume": volume.ravel().astype(np.int64),
            "spot_vol": spot_vol.ravel(),
        })

    def _bars(self, logp, dates, assets) -> pd.DataFrame:
        d, k, steps = self.n_days, self.n_assets, BARS_PER_DAY
        offsets = np.timedelta64(9 * 60 + 35, "m") + np.arange(steps) * np.timedelta64(5, "m")
        stamps = (dates.astype("datetime64[m]")[:, None] + offsets[None, :]).ravel()
        return pd.DataFrame({
            "timestamp": np.repeat(stamps, k),
            "asset": np.tile(assets, d * steps),
            "price": np.exp(logp[1:]).ravel().round(4),
        })

    def _options(self, spot, var, dates, assets) -> pd.DataFrame:
        days = range(self.n_days - 1, -1, -(self.chain_every or self.n_days))
        rows = []
        for di in sorted(days):
            for a, name in enumerate(assets):
                s = float(spot[di + 1, a]) if di + 1 < len(spot) else float(spot[-1, a])
                p = replace(self.params_[a], v0=float(var[min(di + 1, len(var) - 1), a]))
                p = replace(p, v0=max(p.v0, 1e-4))
                strikes = np.array([_nice_strike(m * s) for m in self.moneyness])
                for mat in self.maturities:
                    t = mat / 365.0
                    calls = call_prices(s, strikes, t, p, self.rate)
                    puts = put_prices(s, strikes, t, p, self.rate)
                    for kk, c, pu in zip(strikes, calls, puts):
                        otm_call = kk >= s
                        iv = implied_vol(c if otm_call else pu, s, kk, t, self.rate, call=otm_call)
                        rows.append((dates[di], name, s, dates[di] + np.timedelta64(mat, "D"), mat, kk, kk / s,
                                     round(float(c), 4), round(float(pu), 4), iv))
        return pd.DataFrame(rows, columns=["date", "asset", "underlying", "expiry", "days_to_expiry", "strike",
                                           "moneyness", "call_price", "put_price", "implied_vol"])

    def write(self, output: str | os.PathLike, fmt: str = "parquet", force: bool = False,
              on_day: Callable[[int], None] | None = None) -> dict[str, Path]:
        """Run and write each table to ``output/<table>.<fmt>`` (atomic, no overwrite without ``force``)."""
        if fmt not in ("parquet", "csv"):
            raise LookalikeError(f"--format must be parquet or csv, got {fmt!r}")
        names = ["prices", "options"] + (["intraday"] if self.intraday else [])
        check_output_folder(output, names, fmt, force)
        output = Path(output)
        tables = self.run(on_day=on_day)
        output.mkdir(exist_ok=True)
        return {name: write_table(df, output / f"{name}.{fmt}", force=force) for name, df in tables.items()}


def _nice_strike(x: float) -> float:
    step = 10 ** np.floor(np.log10(max(x, 1e-6)) - 2)  # three significant digits, e.g. 87.5, 1230, 4.35
    return float(np.round(x / step) * step)


def _nearest_corr(c: np.ndarray) -> np.ndarray:
    c = (c + c.T) / 2
    w, v = np.linalg.eigh(c)
    c = v @ np.diag(np.clip(w, 1e-6, None)) @ v.T
    d = np.sqrt(np.diag(c))
    return c / np.outer(d, d)


def calibrate_file(path: str | os.PathLike) -> tuple[list[HestonParams], np.ndarray]:
    """Parameters per price column of a file and the correlation of their daily log returns."""
    prices = read_price_file(path)
    params = [calibrate(prices[c], name=f"{path}: column {c}") for c in prices.columns]
    rets = np.log(prices).diff().dropna()
    corr = np.atleast_2d(rets.corr().to_numpy()) if prices.shape[1] > 1 else np.ones((1, 1))
    return params, corr


def correlation_for_assets(series_corr: np.ndarray, n_assets: int) -> np.ndarray:
    """Asset i follows fitted series i % C; two assets fitted to one series get the series' mean co-movement."""
    c = len(series_corr)
    idx = np.arange(n_assets) % c
    corr = series_corr[np.ix_(idx, idx)].copy()
    off = series_corr[~np.eye(c, dtype=bool)]
    corr[idx[:, None] == idx[None, :]] = off.mean() if off.size else 0.5
    np.fill_diagonal(corr, 1.0)
    return _nearest_corr(corr)


def simulate_market(n_assets: int, n_days: int, output: str | os.PathLike, seed: int = 0, intraday: bool = False,
                    calibrate_from: str | os.PathLike | None = None, fmt: str = "parquet", force: bool = False,
                    on_day=None) -> dict[str, Path]:
    """Convenience wrapper used by the CLI."""
    params, corr = None, None
    if calibrate_from is not None:
        params, file_corr = calibrate_file(calibrate_from)
        corr = correlation_for_assets(file_corr, n_assets)
    sim = MarketSimulator(n_assets=n_assets, n_days=n_days, seed=seed, intraday=intraday, params=params, corr=corr)
    return sim.write(output, fmt=fmt, force=force, on_day=on_day)
