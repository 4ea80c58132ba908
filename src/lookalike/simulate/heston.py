"""Option prices under Heston stochastic volatility with Merton jumps (Bates), and Black-Scholes implied vols.

Why this model: equity option smiles have a negative skew (puts dearer than calls) that comes from the
negative correlation between price and variance (``rho``) and from crash-like jumps; Heston/Bates gives both
with a closed-form characteristic function, so prices are one numerical integral (Lewis 2001 form, integrated
with scipy's ``quad_vec`` for all strikes of a maturity at once) and stay consistent with the paths that
``market.simulate_paths`` draws from the same parameters.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np
from scipy import integrate, optimize, stats

from lookalike.errors import LookalikeError


@dataclass
class HestonParams:
    """Annualised parameters. ``v0``/``theta`` are variances (0.04 = 20% vol); jumps are in log-price."""

    mu: float = 0.07
    kappa: float = 2.5
    theta: float = 0.035
    sigma: float = 0.55
    rho: float = -0.7
    v0: float = 0.035
    jump_intensity: float = 3.0
    jump_mean: float = -0.03
    jump_sd: float = 0.04

    def as_dict(self) -> dict:
        return asdict(self)

    def check(self, where: str = "parameters"):
        bad = []
        if not self.kappa > 0:
            bad.append(f"kappa={self.kappa}")
        if not self.theta > 0:
            bad.append(f"theta={self.theta}")
        if not self.sigma > 0:
            bad.append(f"sigma={self.sigma}")
        if not -1 < self.rho < 1:
            bad.append(f"rho={self.rho}")
        if not self.v0 >= 0:
            bad.append(f"v0={self.v0}")
        if not self.jump_intensity >= 0 or not self.jump_sd >= 0:
            bad.append(f"jump_intensity={self.jump_intensity}, jump_sd={self.jump_sd}")
        if bad:
            raise LookalikeError(f"{where}: invalid Heston parameters ({', '.join(bad)})")
        return self


def char_func(u: np.ndarray, t: float, p: HestonParams) -> np.ndarray:
    """E[exp(i u X_t)] for X_t = log(S_t / S_0) - (r - q) t under the risk-neutral Bates model."""
    u = np.asarray(u, dtype=complex)
    xi = p.kappa - p.sigma * p.rho * 1j * u
    d = np.sqrt(xi * xi + p.sigma ** 2 * (u * u + 1j * u))
    g = (xi - d) / (xi + d)
    edt = np.exp(-d * t)
    c = p.kappa * p.theta / p.sigma ** 2 * ((xi - d) * t - 2.0 * np.log((1 - g * edt) / (1 - g)))
    dd = (xi - d) / p.sigma ** 2 * (1 - edt) / (1 - g * edt)
    kbar = np.exp(p.jump_mean + 0.5 * p.jump_sd ** 2) - 1
    jumps = p.jump_intensity * t * (np.exp(1j * u * p.jump_mean - 0.5 * p.jump_sd ** 2 * u * u) - 1 - 1j * u * kbar)
    return np.exp(c + dd * p.v0 + jumps)


def call_prices(spot: float, strikes: np.ndarray, t: float, p: HestonParams, r: float = 0.03,
                q: float = 0.0) -> np.ndarray:
    """European call prices for all ``strikes`` at maturity ``t`` (years), by the Lewis (2001) integral."""
    strikes = np.asarray(strikes, dtype=float)
    k = np.log(spot / strikes) + (r - q) * t

    def integrand(u):
        return np.real(np.exp(1j * u * k) * char_func(u - 0.5j, t, p)) / (u * u + 0.25)

    integral, _ = integrate.quad_vec(integrand, 0.0, np.inf, epsabs=1e-10, epsrel=1e-8)
    prices = spot * np.exp(-q * t) - np.sqrt(spot * strikes) * np.exp(-0.5 * (r + q) * t) / np.pi * integral
    lower = np.maximum(spot * np.exp(-q * t) - strikes * np.exp(-r * t), 0.0)
    return np.clip(prices, lower, spot * np.exp(-q * t))


def put_prices(spot, strikes, t, p, r=0.03, q=0.0):
    """Puts from calls by put-call parity."""
    strikes = np.asarray(strikes, dtype=float)
    return call_prices(spot, strikes, t, p, r, q) - spot * np.exp(-q * t) + strikes * np.exp(-r * t)


def bs_price(spot, strike, t, vol, r=0.03, q=0.0, call=True):
    """Black-Scholes price (vectorised)."""
    vol = np.maximum(vol, 1e-12)
    d1 = (np.log(spot / strike) + (r - q + 0.5 * vol * vol) * t) / (vol * np.sqrt(t))
    d2 = d1 - vol * np.sqrt(t)
    if call:
        return spot * np.exp(-q * t) * stats.norm.cdf(d1) - strike * np.exp(-r * t) * stats.norm.cdf(d2)
    return strike * np.exp(-r * t) * stats.norm.cdf(-d2) - spot * np.exp(-q * t) * stats.norm.cdf(-d1)


def implied_vol(price: float, spot: float, strike: float, t: float, r: float = 0.03, q: float = 0.0,
                call: bool = True) -> float:
    """Black-Scholes implied volatility by Brent's method; NaN when the price has no time value left."""
    intrinsic = max(spot * np.exp(-q * t) - strike * np.exp(-r * t), 0.0) if call else \
        max(strike * np.exp(-r * t) - spot * np.exp(-q * t), 0.0)
    upper = spot * np.exp(-q * t) if call else strike * np.exp(-r * t)
    if not intrinsic + 1e-10 < price < upper:
        return float("nan")
    return optimize.brentq(lambda v: bs_price(spot, strike, t, v, r, q, call) - price, 1e-4, 5.0, xtol=1e-10)
