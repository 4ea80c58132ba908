"""Market simulator: option prices agree with Black-Scholes/Monte Carlo, smiles are skewed, returns look real."""
import numpy as np
import pandas as pd
import pytest
from dataclasses import replace

from lookalike.errors import LookalikeError
from lookalike.simulate.heston import HestonParams, bs_price, call_prices, implied_vol, put_prices
from lookalike.simulate.market import MarketSimulator, calibrate, return_moments, simulate_market

STRIKES = np.array([80.0, 90.0, 100.0, 110.0, 120.0])


def test_heston_without_vol_of_vol_or_jumps_is_black_scholes():
    p = HestonParams(sigma=1e-3, jump_intensity=0.0, v0=0.04, theta=0.04)
    np.testing.assert_allclose(call_prices(100, STRIKES, 0.5, p), bs_price(100, STRIKES, 0.5, 0.2), atol=2e-3)


def test_put_call_parity_and_implied_vol_inversion():
    p = HestonParams()
    c, q = call_prices(100, STRIKES, 0.25, p), put_prices(100, STRIKES, 0.25, p)
    np.testing.assert_allclose(c - q, 100 - STRIKES * np.exp(-0.03 * 0.25), atol=1e-9)
    assert implied_vol(float(bs_price(100, 105, 0.5, 0.31)), 100, 105, 0.5) == pytest.approx(0.31, abs=1e-6)
    assert np.isnan(implied_vol(0.0, 100, 150, 0.1))


def test_characteristic_function_price_matches_monte_carlo():
    p, t, r, n, steps = HestonParams(), 0.5, 0.03, 60_000, 100
    rng = np.random.default_rng(0)
    logp = np.zeros(n)
    v = np.full(n, p.v0)
    dt = t / steps
    kbar = np.exp(p.jump_mean + 0.5 * p.jump_sd ** 2) - 1
    for _ in range(steps):
        z1 = rng.standard_normal(n)
        z2 = p.rho * z1 + np.sqrt(1 - p.rho ** 2) * rng.standard_normal(n)
        vp = np.maximum(v, 0)
        nj = rng.poisson(p.jump_intensity * dt, n)
        logp += (r - 0.5 * vp - p.jump_intensity * kbar) * dt + np.sqrt(vp * dt) * z1 \
            + nj * p.jump_mean + np.sqrt(nj) * p.jump_sd * rng.standard_normal(n)
        v += p.kappa * (p.theta - vp) * dt + p.sigma * np.sqrt(vp * dt) * z2
    payoff = np.maximum(100 * np.exp(logp)[:, None] - STRIKES, 0) * np.exp(-r * t)
    mc, se = payoff.mean(axis=0), payoff.std(axis=0) / np.sqrt(n)
    assert (np.abs(call_prices(100, STRIKES, t, p, r) - mc) < 4 * se + 0.01).all()


def test_smile_has_equity_skew():
    p = HestonParams()
    t = 30 / 365
    c, q = call_prices(100, STRIKES, t, p), put_prices(100, STRIKES, t, p)
    iv = [implied_vol(q[i], 100, k, t, call=False) if k < 100 else implied_vol(c[i], 100, k, t)
          for i, k in enumerate(STRIKES)]
    assert iv[0] > iv[1] > iv[2] > iv[3]  # downside puts dearer: negative skew
    assert iv[4] > iv[3]  # and a smile: far wings both lifted
    flat = replace(p, rho=0.0, jump_intensity=0.0)
    cf = call_prices(100, STRIKES, t, flat)
    assert implied_vol(cf[0], 100, 80, t) - implied_vol(cf[2], 100, 100, t) < iv[0] - iv[2]


@pytest.fixture(scope="module")
def market():
    return MarketSimulator(n_assets=4, n_days=2000, seed=7).run()


def test_simulated_returns_show_stylized_facts(market):
    prices = market["prices"]
    for _, g in prices.groupby("asset"):
        r = g["log_return"].to_numpy()
        kurt, acf_abs, _ = (float(v[0]) for v in return_moments(r))
        assert kurt > 1.0  # heavy tails
        raw = [np.corrcoef(r[:-lag], r[lag:])[0, 1] for lag in range(1, 11)]
        assert abs(np.mean(raw)) < 0.04 and np.max(np.abs(raw)) < 0.12  # no autocorrelation of raw returns
        a = np.abs(r)
        assert np.corrcoef(a[:-20], a[20:])[0, 1] > 0.05 and acf_abs > 0.08  # volatility clustering, slow decay
        assert np.corrcoef(r[:-1], a[1:])[0, 1] < 0  # leverage: falls raise future volatility


def test_assets_are_correlated_and_tables_are_consistent(market):
    prices = market["prices"]
    wide = prices.pivot(index="date", columns="asset", values="log_return")
    off = wide.corr().to_numpy()[~np.eye(4, dtype=bool)]
    assert off.min() > 0.05
    assert (prices["high"] >= prices[["open", "close"]].max(axis=1) - 1e-9).all()
    assert (prices["low"] <= prices[["open", "close"]].min(axis=1) + 1e-9).all()
    opts = market["options"]
    assert len(opts) == 4 * 5 * 9 and opts["implied_vol"].notna().all()
    assert ((opts["call_price"] >= 0) & (opts["put_price"] >= 0)).all()
    for _, g in opts.groupby(["asset", "days_to_expiry"]):  # no static arbitrage across strikes
        assert (np.diff(g.sort_values("strike")["call_price"]) <= 1e-9).all()
        assert (np.diff(g.sort_values("strike")["put_price"]) >= -1e-9).all()
    last = prices[prices["date"] == prices["date"].max()].set_index("asset")["close"]
    assert np.allclose(opts.groupby("asset")["underlying"].first(), last, rtol=1e-6)


def test_intraday_bars_and_determinism(tmp_path):
    a = simulate_market(2, 5, tmp_path / "a", seed=3, intraday=True)
    b = simulate_market(2, 5, tmp_path / "b", seed=3, intraday=True)
    for name in a:
        assert a[name].read_bytes() == b[name].read_bytes()
    bars = pd.read_parquet(a["intraday"])
    daily = pd.read_parquet(a["prices"])
    assert len(bars) == 2 * 5 * 78
    last_bar = bars.groupby([bars["timestamp"].dt.date, "asset"])["price"].last().to_numpy()
    assert np.allclose(np.sort(last_bar), np.sort(daily["close"].to_numpy()), rtol=1e-6)
    with pytest.raises(LookalikeError, match="already exists"):
        simulate_market(2, 5, tmp_path / "a", seed=3)


def test_calibration_recovers_the_volatility_regime():
    truth = HestonParams(mu=0.05, kappa=4.0, theta=0.06, sigma=0.5, rho=-0.7, v0=0.06, jump_intensity=0.0)
    prices = MarketSimulator(1, 3000, seed=2, params=truth).run()["prices"]["close"]
    fit = calibrate(prices, refine=False)
    assert fit.theta + fit.jump_intensity * (fit.jump_mean ** 2 + fit.jump_sd ** 2) == pytest.approx(0.06, rel=0.3)
    assert fit.rho < -0.2
    assert 0.5 < fit.kappa < 20


def test_calibration_and_input_errors(tmp_path):
    with pytest.raises(LookalikeError, match="at least 250"):
        calibrate(np.linspace(1, 2, 100))
    with pytest.raises(LookalikeError, match="> 0"):
        calibrate(np.r_[np.linspace(1, 2, 300), -1.0])
    bad = tmp_path / "p.csv"
    pd.DataFrame({"date": ["2020-01-01"] * 300, "px": np.r_[np.ones(299), 0.0]}).to_csv(bad, index=False)
    with pytest.raises(LookalikeError, match="p.csv: column px"):
        simulate_market(1, 5, tmp_path / "out", calibrate_from=bad)
    with pytest.raises(LookalikeError, match="-1"):
        MarketSimulator(n_assets=-1)
