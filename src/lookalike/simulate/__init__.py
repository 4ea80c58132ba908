"""Data without real data: schema-driven fake tables, an AML transaction simulator and an equity market simulator.

    from lookalike.simulate import generate, spec_from_table, AMLSimulator, MarketSimulator
    tables = generate("spec.yaml", n=10_000, seed=1)                 # dict of DataFrames
    spec = spec_from_table(real_df, name="loans")                      # privacy-safe spec dict
    AMLSimulator(n_accounts=10_000, n_days=30, seed=1).write("aml/")  # customers, accounts, transactions, alerts
    MarketSimulator(n_assets=5, n_days=252, seed=1).run()              # prices, options (and intraday) DataFrames

Names load lazily, so ``lookalike --help`` does not pay for scipy and pyarrow.
"""
from importlib import import_module

_WHERE = {
    "generate": "fake", "fake": "fake", "write_tables": "fake",
    "load_spec": "spec", "parse_spec": "spec",
    "spec_from_table": "from_table", "spec_to_yaml": "from_table",
    "AMLSimulator": "aml", "simulate_aml": "aml", "TYPOLOGIES": "aml",
    "MarketSimulator": "market", "simulate_market": "market", "calibrate": "market",
    "HestonParams": "heston", "call_prices": "heston", "put_prices": "heston", "implied_vol": "heston",
}
__all__ = list(_WHERE)


def __getattr__(name):
    if name in _WHERE:
        return getattr(import_module(f"lookalike.simulate.{_WHERE[name]}"), name)
    raise AttributeError(f"module 'lookalike.simulate' has no attribute {name!r}")
