"""The AML simulator: typology shapes in the transaction graph, labels, referential integrity, determinism."""
import pandas as pd
import pytest

from lookalike.errors import LookalikeError
from lookalike.simulate.aml import TYPOLOGIES, TYPOLOGY_IDS, AMLSimulator, simulate_aml

SIZE = (3, 6)


@pytest.fixture(scope="module")
def run():
    return AMLSimulator(600, 20, seed=5, laundering_rate=0.03, pattern_size=SIZE).to_frames()


def _patterns(typology):
    frames = AMLSimulator(300, 12, seed=11, laundering_rate=0.05, typologies=[typology],
                          pattern_size=SIZE).to_frames()
    tx = frames["transactions"]
    hops = tx[tx.is_laundering & (tx.payment_type != "cash_deposit")]  # drop the cash placement before a pattern
    groups = list(hops.groupby("pattern_id"))
    assert len(groups) >= 3, f"too few {typology} patterns to test"
    return groups


def _edges(g):
    return set(zip(g.from_account, g.to_account))


def test_fan_in_has_one_receiver_and_k_senders():
    for _, g in _patterns("fan_in"):
        assert g.to_account.nunique() == 1
        assert SIZE[0] <= g.from_account.nunique() == len(g) <= SIZE[1]


def test_fan_out_has_one_sender_and_k_receivers():
    for _, g in _patterns("fan_out"):
        assert g.from_account.nunique() == 1
        assert SIZE[0] <= g.to_account.nunique() == len(g) <= SIZE[1]


def test_cycle_closes():
    for _, g in _patterns("cycle"):
        nxt = dict(zip(g.from_account, g.to_account))
        assert len(nxt) == len(g) >= SIZE[0]
        assert set(nxt) == set(nxt.values())  # every node sends once and receives once
        node, seen = g.from_account.iloc[0], []
        while node not in seen:
            seen.append(node)
            node = nxt[node]
        assert len(seen) == len(g)  # one loop through all members, back to the start
        assert (g.timestamp.diff().dropna() >= pd.Timedelta(0)).all()


def test_scatter_gather_shape():
    for _, g in _patterns("scatter_gather"):
        source = set(g.from_account) - set(g.to_account)
        sink = set(g.to_account) - set(g.from_account)
        assert len(source) == 1 and len(sink) == 1 and source != sink
        mids = set(g.from_account) & set(g.to_account)
        assert SIZE[0] <= len(mids) <= SIZE[1]
        assert _edges(g) == {(s, m) for s in source for m in mids} | {(m, t) for m in mids for t in sink}


def test_gather_scatter_shape():
    for _, g in _patterns("gather_scatter"):
        hub = set(g.from_account) & set(g.to_account)
        assert len(hub) == 1
        (h,) = hub
        senders, receivers = set(g.from_account) - hub, set(g.to_account) - hub
        assert _edges(g) == {(s, h) for s in senders} | {(h, r) for r in receivers}
        assert SIZE[0] <= len(senders) <= SIZE[1] and SIZE[0] <= len(receivers) <= SIZE[1]


def test_bipartite_is_complete_between_two_disjoint_sets():
    for _, g in _patterns("bipartite"):
        senders, receivers = set(g.from_account), set(g.to_account)
        assert not senders & receivers
        assert _edges(g) == {(s, r) for s in senders for r in receivers}


def test_stack_is_two_complete_layers():
    for _, g in _patterns("stack"):
        middle = set(g.from_account) & set(g.to_account)
        first, last = set(g.from_account) - middle, set(g.to_account) - middle
        assert first and middle and last
        assert _edges(g) == {(a, b) for a in first for b in middle} | {(b, c) for b in middle for c in last}


def test_labels_match_typology_transactions(run):
    tx = run["transactions"]
    assert (tx.is_laundering == (tx.typology_id > 0)).all()
    assert (tx.is_laundering == (tx.pattern_id > 0)).all()
    names = {v: k for k, v in TYPOLOGY_IDS.items()} | {0: "none"}
    assert (tx.typology_id.map(names) == tx.typology.astype(str)).all()
    assert tx.groupby("pattern_id").typology_id.nunique().max() == 1  # one typology per pattern
    assert tx.is_laundering.mean() == pytest.approx(0.03, rel=0.25)


def test_laundering_uses_thresholds_banks_and_currencies(run):
    tx = run["transactions"]
    bad = tx[tx.is_laundering]
    placement = bad[bad.payment_type == "cash_deposit"]
    assert len(placement) > 0 and (placement.amount_usd < 10_000).all()
    assert ((bad.amount_usd >= 8_000) & (bad.amount_usd < 10_000)).mean() > 0.5
    assert (bad.from_bank.astype(str) != bad.to_bank.astype(str)).mean() > 0.3
    assert (bad.currency.astype(str) != bad.received_currency.astype(str)).mean() > 0.1


def test_normal_behaviour_is_varied(run):
    tx = run["transactions"]
    normal = tx[~tx.is_laundering]
    assert {"salary", "bill", "card_purchase", "p2p_transfer", "cash_withdrawal", "supplier_payment"} <= set(
        normal.payment_type.astype(str))
    salaries = normal[normal.payment_type == "salary"]
    assert salaries.groupby("to_account").size().max() == 1  # 20 days: one payday each
    assert (tx.from_account != tx.to_account).all()


def test_referential_integrity(run):
    tx, acc, cust, alerts = run["transactions"], run["accounts"], run["customers"], run["alerts"]
    assert tx.from_account.isin(acc.account_id).all() and tx.to_account.isin(acc.account_id).all()
    assert acc.customer_id.isin(cust.customer_id).all()
    assert acc.account_id.is_unique and cust.customer_id.is_unique and tx.txn_id.is_unique
    assert len(alerts) > 0 and alerts.txn_id.isin(tx.txn_id).all()
    joined = alerts.merge(tx, on="txn_id", suffixes=("", "_tx"))
    assert ((joined.account_id == joined.from_account) | (joined.account_id == joined.to_account)).all()
    assert (joined.is_laundering == joined.is_laundering_tx).all()
    banks = acc.merge(cust, on="customer_id")
    assert (banks.loc[banks.account_type == "bank_cash", "customer_type"] == "bank").all()


def test_same_seed_same_files_other_seed_other_files(tmp_path):
    for fmt in ("parquet", "csv"):
        a = simulate_aml(200, 5, tmp_path / f"a_{fmt}", seed=3, laundering_rate=0.02, fmt=fmt)
        b = simulate_aml(200, 5, tmp_path / f"b_{fmt}", seed=3, laundering_rate=0.02, fmt=fmt)
        c = simulate_aml(200, 5, tmp_path / f"c_{fmt}", seed=4, laundering_rate=0.02, fmt=fmt)
        for name in a:
            assert a[name].read_bytes() == b[name].read_bytes(), name
        assert a["transactions"].read_bytes() != c["transactions"].read_bytes()
    assert pd.read_csv(a["transactions"]).shape[1] == 16


def test_refuses_existing_outputs_and_bad_input(tmp_path):
    out = tmp_path / "aml"
    simulate_aml(100, 2, out, seed=1)
    with pytest.raises(LookalikeError, match="already exists"):
        simulate_aml(100, 2, out, seed=1)
    simulate_aml(100, 2, out, seed=1, force=True)
    with pytest.raises(LookalikeError, match="'pyramid'"):
        AMLSimulator(100, 2, typologies=["fan_in", "pyramid"])
    with pytest.raises(LookalikeError, match="-3"):
        AMLSimulator(-3, 2)
    with pytest.raises(LookalikeError, match="0"):
        AMLSimulator(100, 0)
    with pytest.raises(LookalikeError, match="does not exist"):
        simulate_aml(100, 2, tmp_path / "missing" / "deeper", seed=1)
    assert set(TYPOLOGIES) == set(TYPOLOGY_IDS)
