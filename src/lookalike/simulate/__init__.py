"""Data without real data: schema-driven fake tables, an AML transaction simulator and an equity market simulator.

    from lookalike.simulate import generate, spec_from_table, AMLSimulator, MarketSimulator
    tables = generate("spec.yaml", n=10_000, seed=1)                 # dict of DataFrames
    spec = spec_from_table(real_df, name="loans")                      # privacy-safe spec dict
    AMLSimulator(n_accounts=10_000, n_days=30, seed=1).write("aml/")  # customers, accounts, transactions, alerts
    MarketSimulator(n_assets=5, n_days=252, seed=1).run()              # prices, options (and intraday) DataFrames
"""
from lookalike.simulate.aml import TYPOLOGIES, AMLSimulator, simulate_aml
from lookalike.simulate.fake import fake, generate, write_tables
from lookalike.simulate.from_table import spec_from_table, spec_to_yaml
from lookalike.simulate.heston import HestonParams, call_prices, implied_vol, put_prices
from lookalike.simulate.market import MarketSimulator, calibrate, simulate_market
from lookalike.simulate.spec import load_spec, parse_spec

__all__ = [
    "generate", "fake", "write_tables", "load_spec", "parse_spec", "spec_from_table", "spec_to_yaml",
    "AMLSimulator", "simulate_aml", "TYPOLOGIES",
    "MarketSimulator", "simulate_market", "calibrate", "HestonParams", "call_prices", "put_prices", "implied_vol",
]
