"""Anti-money-laundering transaction simulator: a bank ledger with labelled laundering typologies.

Why this shape: AML models are judged on rare, structured patterns hidden in a lot of ordinary money movement,
and no bank can share its ledger. We simulate agents (individuals, businesses, banks) with ordinary behaviour
(salaries, bills and standing orders, card shopping, transfers to contacts, cash, supplier payments) and inject
laundering patterns with known shapes (fan-out, fan-in, cycle, scatter-gather, gather-scatter, bipartite, stack),
optionally preceded by structured cash placement just under the reporting threshold, hopping across banks and
currencies. Every laundering transaction carries ``is_laundering``, ``typology_id``, ``typology`` and
``pattern_id``. A small rule engine raises alerts, as a bank's monitoring would, with false positives.

Scale: one day at a time, vectorised with numpy, streamed to Parquet (or CSV) through pyarrow writers, so memory
is bounded by the accounts table plus one day of transactions.
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from lookalike.errors import LookalikeError
from lookalike.io import check_output_folder, temp_beside

TYPOLOGIES = ("fan_out", "fan_in", "cycle", "scatter_gather", "gather_scatter", "bipartite", "stack")
TYPOLOGY_IDS = {name: i + 1 for i, name in enumerate(TYPOLOGIES)}  # 0 means "not laundering"
PAYMENT_TYPES = ("salary", "bill", "card_purchase", "p2p_transfer", "cash_withdrawal", "cash_deposit",
                 "supplier_payment", "wire")
PT = {name: i for i, name in enumerate(PAYMENT_TYPES)}
CURRENCIES = ("USD", "EUR", "GBP", "CHF", "JPY")
UNITS_PER_USD = np.array([1.0, 0.92, 0.79, 0.88, 150.0])
COUNTRIES = ("US", "DE", "GB", "CH", "JP", "FR", "NL", "SG", "AE", "PA")
BANK_CURRENCY_WEIGHTS = np.array([0.45, 0.3, 0.12, 0.08, 0.05])
ALERT_RULES = ("large_cash", "near_threshold", "structuring", "cross_currency_wire")
TABLES = ("customers", "accounts", "transactions", "alerts")


@dataclass
class _Day:
    """Column arrays of one day's transactions before ids and currency conversion."""

    src: np.ndarray
    dst: np.ndarray
    seconds: np.ndarray
    usd: np.ndarray
    ptype: np.ndarray
    typology: np.ndarray
    pattern: np.ndarray

    @staticmethod
    def concat(parts: list["_Day"]) -> "_Day":
        return _Day(*[np.concatenate([getattr(p, f) for p in parts]) for f in _Day.__dataclass_fields__])


class AMLSimulator:
    """Simulate customers, accounts, transactions and alerts for ``n_accounts`` accounts over ``n_days`` days.

    Parameters are plain numbers so that a run is described (and reproduced) by its constructor call.
    ``laundering_rate`` is the target share of laundering transactions among all transactions.
    """

    def __init__(self, n_accounts: int = 10_000, n_days: int = 30, seed: int = 0, laundering_rate: float = 0.002,
                 typologies: tuple[str, ...] | list[str] = TYPOLOGIES, start_date: str = "2024-01-01",
                 reporting_threshold: float = 10_000.0, n_banks: int | None = None, business_share: float = 0.1,
                 pattern_size: tuple[int, int] = (3, 8), structuring_prob: float = 0.35,
                 cross_currency_prob: float = 0.3, activity: float = 1.0):
        self.n_accounts = n_accounts
        self.n_days = n_days
        self.seed = seed
        self.laundering_rate = laundering_rate
        self.typologies = tuple(typologies)
        self.start_date = start_date
        self.reporting_threshold = reporting_threshold
        self.n_banks = n_banks
        self.business_share = business_share
        self.pattern_size = pattern_size
        self.structuring_prob = structuring_prob
        self.cross_currency_prob = cross_currency_prob
        self.activity = activity
        self._check()

    def _check(self):
        for name, value in (("accounts", self.n_accounts), ("days", self.n_days)):
            if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value <= 0:
                raise LookalikeError(f"--{name} must be a whole number > 0, got {value!r}")
        if self.n_accounts < 50:
            raise LookalikeError(f"--accounts must be at least 50 to hold the typologies, got {self.n_accounts}")
        if not 0 <= self.laundering_rate < 0.5:
            raise LookalikeError(f"--laundering-rate must be in [0, 0.5), got {self.laundering_rate!r}")
        unknown = [t for t in self.typologies if t not in TYPOLOGIES]
        if unknown or not self.typologies:
            raise LookalikeError(f"unknown typology {unknown[0] if unknown else '(none given)'!r}; "
                                 f"use one or more of {', '.join(TYPOLOGIES)}")
        lo, hi = self.pattern_size
        if not 2 <= lo <= hi:
            raise LookalikeError(f"pattern_size must be (min, max) with 2 <= min <= max, got {self.pattern_size!r}")
        if 3 * hi > self.n_accounts // 2:
            raise LookalikeError(f"pattern_size max {hi} is too large for {self.n_accounts} accounts "
                                 f"(a stack pattern needs up to {3 * hi} distinct accounts)")
        try:
            self.start_ = np.datetime64(self.start_date, "D")
        except ValueError:
            raise LookalikeError(f"start date {self.start_date!r} is not a date like 2024-01-01") from None

    # ------------------------------------------------------------------------------------------------ population
    def _build_population(self, rng: np.random.Generator):
        n = self.n_accounts
        n_banks = self.n_banks or int(np.clip(n // 2000, 3, 40))
        self.n_banks_ = n_banks
        bank_currency = rng.choice(len(CURRENCIES), n_banks, p=BANK_CURRENCY_WEIGHTS)
        bank_country = np.where(rng.random(n_banks) < 0.8, bank_currency, rng.integers(0, len(COUNTRIES), n_banks))
        self.bank_ids_ = np.array([f"B{i + 1:03d}" for i in range(n_banks)], dtype=object)

        n_customers = max(2, int(round(n / 1.25)))
        n_business = max(2, int(round(n_customers * self.business_share)))
        cust_type = np.zeros(n_customers, dtype=np.int8)  # 0 individual, 1 business, 2 bank
        cust_type[rng.choice(n_customers, n_business, replace=False)] = 1
        cust_bank = rng.integers(0, n_banks, n_customers)
        # accounts: one per customer, the rest to random customers (some people have several)
        acc_cust = np.concatenate([np.arange(n_customers), rng.integers(0, n_customers, max(0, n - n_customers))])
        acc_cust = np.sort(acc_cust)[:n]
        acc_bank = np.where(rng.random(n) < 0.85, cust_bank[acc_cust], rng.integers(0, n_banks, n))
        acc_cur = np.where(rng.random(n) < 0.92, bank_currency[acc_bank], rng.integers(0, len(CURRENCIES), n))
        # banks are customers too; each owns a cash-desk account that is the counterparty of cash movements
        bank_cust = n_customers + np.arange(n_banks)
        self.cash_account_ = n + np.arange(n_banks)
        self.acc_cust_ = np.concatenate([acc_cust, bank_cust])
        self.acc_bank_ = np.concatenate([acc_bank, np.arange(n_banks)])
        self.acc_cur_ = np.concatenate([acc_cur, bank_currency])
        self.cust_type_ = np.concatenate([cust_type, np.full(n_banks, 2, np.int8)])
        self.cust_bank_ = np.concatenate([cust_bank, np.arange(n_banks)])
        self.n_customers_ = n_customers + n_banks
        kind = self.cust_type_[self.acc_cust_]
        self.individual_acc_ = np.flatnonzero(kind == 0)
        self.business_acc_ = np.flatnonzero(kind == 1)
        if len(self.business_acc_) < 2 or len(self.individual_acc_) < 2:
            raise LookalikeError("too few accounts to have both individuals and businesses; raise --accounts")
        ni, nb = len(self.individual_acc_), len(self.business_acc_)

        # individuals: salary from an employer, standing orders, shopping, contacts, cash habits
        self.salary_usd_ = np.exp(rng.normal(np.log(3800), 0.55, ni))
        self.employer_ = self.business_acc_[rng.integers(0, nb, ni)]
        self.payday_ = rng.choice(np.array([1, 15, 25, 28]), ni)
        k_bills = 3
        self.bill_payer_ = np.repeat(np.arange(ni), k_bills)
        self.bill_payee_ = self.business_acc_[rng.integers(0, nb, ni * k_bills)]
        self.bill_day_ = rng.integers(1, 29, ni * k_bills)
        self.bill_usd_ = np.exp(rng.normal(np.log(120), 0.8, ni * k_bills))
        self.shop_rate_ = rng.gamma(2.0, 0.35, ni) * self.activity
        self.p2p_rate_ = rng.gamma(1.0, 0.05, ni) * self.activity
        self.cash_rate_ = rng.gamma(1.0, 0.07, ni) * self.activity
        self.contacts_ = self.individual_acc_[rng.integers(0, ni, (ni, 5))]
        popularity = 1.0 / np.arange(1, nb + 1) ** 0.9
        self.merchant_cdf_ = np.cumsum(rng.permutation(popularity)) / popularity.sum()
        # businesses: suppliers, cash takings, occasional large wires
        self.b2b_rate_ = rng.gamma(1.5, 0.15, nb) * self.activity
        self.cash_business_ = rng.random(nb) < 0.3
        self.wire_rate_ = np.full(nb, 0.02 * self.activity)
        self.biz_scale_ = np.exp(rng.normal(np.log(4000), 0.9, nb))
        # accounts held in a foreign currency: laundering likes them for cross-currency hops
        self.foreign_acc_ = np.flatnonzero((self.acc_cur_ != bank_currency[self.acc_bank_])[:n])
        self.customer_table_ = self._customer_table(rng, bank_country)
        self.account_table_ = self._account_table(rng)

    def _customer_table(self, rng, bank_country) -> pa.Table:
        from lookalike.simulate.fakers import fake_values

        n = self.n_customers_
        kind = self.cust_type_
        names = np.empty(n, dtype=object)
        ind, biz = np.flatnonzero(kind == 0), np.flatnonzero(kind == 1)
        names[ind] = fake_values("name", len(ind), rng, pool=5000)
        names[biz] = fake_values("company", len(biz), rng, pool=3000)
        names[kind == 2] = [f"Bank {b}" for b in self.bank_ids_]
        home_country = bank_country[self.cust_bank_]
        abroad = rng.random(n) < 0.05
        country = np.where(abroad, rng.integers(0, len(COUNTRIES), n), home_country)
        risk = rng.choice(3, n, p=[0.8, 0.17, 0.03])
        created = self.start_ - rng.integers(30, 365 * 15, n).astype("timedelta64[D]")
        return pa.table({
            "customer_id": pa.array(np.arange(1, n + 1, dtype=np.int64)),
            "customer_type": _dict(np.asarray(kind, np.int32), ("individual", "business", "bank")),
            "name": pa.array(names, pa.string()),
            "country": _dict(country.astype(np.int32), COUNTRIES),
            "home_bank": _dict(self.cust_bank_.astype(np.int32), tuple(self.bank_ids_)),
            "risk_rating": _dict(risk.astype(np.int32), ("low", "medium", "high")),
            "created_date": pa.array(created.astype("datetime64[D]")),
        })

    def _account_table(self, rng) -> pa.Table:
        n = len(self.acc_cust_)
        kind = self.cust_type_[self.acc_cust_]
        account_type = np.where(kind == 1, 2, np.where(kind == 2, 3, (rng.random(n) < 0.2).astype(int)))
        opened = self.start_ - rng.integers(1, 365 * 10, n).astype("timedelta64[D]")
        return pa.table({
            "account_id": pa.array(np.arange(1, n + 1, dtype=np.int64)),
            "customer_id": pa.array(self.acc_cust_.astype(np.int64) + 1),
            "bank_id": _dict(self.acc_bank_.astype(np.int32), tuple(self.bank_ids_)),
            "currency": _dict(self.acc_cur_.astype(np.int32), CURRENCIES),
            "account_type": _dict(account_type.astype(np.int32), ("checking", "savings", "business", "bank_cash")),
            "opened_date": pa.array(opened.astype("datetime64[D]")),
        })

    # ----------------------------------------------------------------------------------------- normal behaviour
    def _normal_day(self, rng: np.random.Generator, day: np.datetime64) -> _Day:
        dom = int(str(day)[8:10])
        ni = len(self.individual_acc_)
        ind = self.individual_acc_
        parts: list[tuple] = []  # (src, dst, seconds, usd, ptype)

        paid = np.flatnonzero(self.payday_ == dom)
        if len(paid):
            usd = self.salary_usd_[paid] * rng.normal(1.0, 0.02, len(paid))
            parts.append((self.employer_[paid], ind[paid], rng.integers(6 * 3600, 9 * 3600, len(paid)), usd,
                          PT["salary"]))
        due = np.flatnonzero(self.bill_day_ == dom)
        if len(due):
            usd = self.bill_usd_[due] * rng.normal(1.0, 0.1, len(due)).clip(0.5)
            parts.append((ind[self.bill_payer_[due]], self.bill_payee_[due],
                          rng.integers(0, 12 * 3600, len(due)), usd, PT["bill"]))
        shop = np.repeat(np.arange(ni), rng.poisson(self.shop_rate_))
        merchant = self.business_acc_[np.minimum(np.searchsorted(self.merchant_cdf_, rng.random(len(shop))),
                                                 len(self.business_acc_) - 1)]
        parts.append((ind[shop], merchant, rng.integers(8 * 3600, 22 * 3600, len(shop)),
                      np.exp(rng.normal(np.log(35), 1.0, len(shop))), PT["card_purchase"]))
        p2p = np.repeat(np.arange(ni), rng.poisson(self.p2p_rate_))
        parts.append((ind[p2p], self.contacts_[p2p, rng.integers(0, 5, len(p2p))],
                      rng.integers(7 * 3600, 23 * 3600, len(p2p)), np.exp(rng.normal(np.log(80), 1.1, len(p2p))),
                      PT["p2p_transfer"]))
        cash = np.repeat(np.arange(ni), rng.poisson(self.cash_rate_))
        parts.append((ind[cash], self.cash_account_[self.acc_bank_[ind[cash]]],
                      rng.integers(7 * 3600, 23 * 3600, len(cash)),
                      20.0 * np.ceil(np.exp(rng.normal(np.log(100), 0.7, len(cash))) / 20), PT["cash_withdrawal"]))
        biz, nb = self.business_acc_, len(self.business_acc_)
        b2b = np.repeat(np.arange(nb), rng.poisson(self.b2b_rate_))
        parts.append((biz[b2b], biz[rng.integers(0, nb, len(b2b))], rng.integers(8 * 3600, 18 * 3600, len(b2b)),
                      self.biz_scale_[b2b] * np.exp(rng.normal(0, 0.6, len(b2b))), PT["supplier_payment"]))
        takings = np.flatnonzero(self.cash_business_ & (rng.random(nb) < 0.4))  # some near the threshold
        parts.append((self.cash_account_[self.acc_bank_[biz[takings]]], biz[takings],
                      rng.integers(16 * 3600, 20 * 3600, len(takings)),
                      self.biz_scale_[takings] * np.exp(rng.normal(-0.5, 0.5, len(takings))), PT["cash_deposit"]))
        # rare large purchases (car, tuition, deposit on a flat): honest payments near the reporting threshold
        big = np.flatnonzero(rng.random(ni) < 0.003 * self.activity)
        parts.append((ind[big], biz[rng.integers(0, nb, len(big))], rng.integers(9 * 3600, 18 * 3600, len(big)),
                      np.exp(rng.normal(np.log(9000), 0.35, len(big))), PT["wire"]))
        wires = np.repeat(np.arange(nb), rng.poisson(self.wire_rate_))
        dst = np.where(rng.random(len(wires)) < 0.5, biz[rng.integers(0, nb, len(wires))],
                       ind[rng.integers(0, ni, len(wires))])
        parts.append((biz[wires], dst, rng.integers(8 * 3600, 18 * 3600, len(wires)),
                      np.exp(rng.normal(np.log(15000), 0.8, len(wires))), PT["wire"]))

        src = np.concatenate([p[0] for p in parts])
        dst = np.concatenate([p[1] for p in parts])
        keep = src != dst
        n = len(src)
        return _Day(src=src[keep], dst=dst[keep], seconds=np.concatenate([p[2] for p in parts])[keep],
                    usd=np.concatenate([p[3] for p in parts])[keep],
                    ptype=np.concatenate([np.full(len(p[0]), p[4], np.int8) for p in parts])[keep],
                    typology=np.zeros(n, np.int8)[keep], pattern=np.full(n, -1, np.int64)[keep])

    # ------------------------------------------------------------------------------------------------ laundering
    def _pick_accounts(self, rng, k: int) -> np.ndarray:
        """``k`` distinct customer accounts, some held in foreign currencies (cross-currency hops)."""
        pool_all = self.n_accounts
        chosen = rng.choice(pool_all, size=k, replace=False)
        if len(self.foreign_acc_) >= k:
            foreign = rng.random(k) < self.cross_currency_prob
            chosen[foreign] = rng.choice(self.foreign_acc_, size=int(foreign.sum()), replace=False)
            chosen = np.unique(chosen)
            while len(chosen) < k:  # collisions between the two draws: top up
                chosen = np.unique(np.concatenate([chosen, rng.choice(pool_all, k - len(chosen))]))
            chosen = rng.permutation(chosen)
        return chosen

    def _amounts(self, rng, n: int) -> np.ndarray:
        """Mostly just under the reporting threshold; sometimes large layered sums."""
        t = self.reporting_threshold
        under = rng.random(n) < 0.6
        return np.where(under, t * rng.uniform(0.80, 0.995, n), np.exp(rng.normal(np.log(3 * t), 0.6, n)))

    def make_pattern(self, rng, typology: str, day_index: int, pattern_id: int) -> tuple[_Day, np.ndarray]:
        """One laundering pattern: its transactions and the day offset (from ``day_index``) of each."""
        lo, hi = self.pattern_size
        k = int(rng.integers(lo, hi + 1))
        edges: list[tuple[np.ndarray, np.ndarray, int]] = []  # (src, dst, layer)
        if typology == "fan_out":
            a = self._pick_accounts(rng, k + 1)
            edges.append((np.repeat(a[0], k), a[1:], 0))
            sources = a[:1]
        elif typology == "fan_in":
            a = self._pick_accounts(rng, k + 1)
            edges.append((a[1:], np.repeat(a[0], k), 0))
            sources = a[1:]
        elif typology == "cycle":
            a = self._pick_accounts(rng, k)
            for i in range(k):
                edges.append((a[i:i + 1], a[(i + 1) % k:(i + 1) % k + 1], i))
            sources = a[:1]
        elif typology == "scatter_gather":
            a = self._pick_accounts(rng, k + 2)
            mids = a[1:-1]
            edges.append((np.repeat(a[0], k), mids, 0))
            edges.append((mids, np.repeat(a[-1], k), 1))
            sources = a[:1]
        elif typology == "gather_scatter":
            m = int(rng.integers(lo, hi + 1))
            a = self._pick_accounts(rng, k + m + 1)
            hub = a[k]
            edges.append((a[:k], np.repeat(hub, k), 0))
            edges.append((np.repeat(hub, m), a[k + 1:], 1))
            sources = a[:k]
        elif typology == "bipartite":
            m = int(rng.integers(lo, hi + 1))
            a = self._pick_accounts(rng, k + m)
            edges.append((np.repeat(a[:k], m), np.tile(a[k:], k), 0))
            sources = a[:k]
        elif typology == "stack":
            sizes = rng.integers(lo, hi + 1, 3)
            a = self._pick_accounts(rng, int(sizes.sum()))
            l1, l2, l3 = np.split(a, np.cumsum(sizes)[:2])
            edges.append((np.repeat(l1, len(l2)), np.tile(l2, len(l1)), 0))
            edges.append((np.repeat(l2, len(l3)), np.tile(l3, len(l2)), 1))
            sources = l1
        else:
            raise LookalikeError(f"unknown typology {typology!r}; use one of {', '.join(TYPOLOGIES)}")

        gap = int(rng.integers(0, 3))  # days between layers
        src = np.concatenate([e[0] for e in edges])
        dst = np.concatenate([e[1] for e in edges])
        layer = np.concatenate([np.full(len(e[0]), e[2]) for e in edges])
        base = self._amounts(rng, 1)[0]
        usd = base * (0.97 ** layer) * rng.uniform(0.9, 1.0, len(src))
        if typology in ("fan_out", "fan_in", "bipartite"):  # each edge just under the threshold (smurfing)
            usd = self.reporting_threshold * rng.uniform(0.80, 0.995, len(src))
        offset = 1 + layer * gap + (typology == "cycle") * layer  # a cycle moves one hop after another
        ptype = np.where(rng.random(len(src)) < 0.6, PT["wire"], PT["p2p_transfer"]).astype(np.int8)
        if rng.random() < self.structuring_prob:  # placement: cash deposits just under the threshold
            counts = rng.integers(2, 5, len(sources))
            dep_dst = np.repeat(sources, counts)
            dep_src = self.cash_account_[self.acc_bank_[dep_dst]]
            src, dst = np.concatenate([dep_src, src]), np.concatenate([dep_dst, dst])
            usd = np.concatenate([self.reporting_threshold * rng.uniform(0.85, 0.995, len(dep_dst)), usd])
            offset = np.concatenate([np.zeros(len(dep_dst), int), offset])
            ptype = np.concatenate([np.full(len(dep_dst), PT["cash_deposit"], np.int8), ptype])
        offset = np.minimum(offset, self.n_days - 1 - day_index)
        n = len(src)
        seconds = rng.integers(8 * 3600, 20 * 3600, n) + np.arange(n) % 7 * 60  # hops keep their order in a day
        day = _Day(src=src, dst=dst, seconds=np.minimum(seconds, 86399), usd=usd, ptype=ptype,
                   typology=np.full(n, TYPOLOGY_IDS[typology], np.int8), pattern=np.full(n, pattern_id, np.int64))
        return day, offset

    # --------------------------------------------------------------------------------------------------- running
    def iter_days(self, rng: np.random.Generator | None = None):
        """Yield ``(day_index, transactions pa.Table, alerts pa.Table)`` for each simulated day."""
        rng = rng or np.random.default_rng(self.seed)
        if not hasattr(self, "account_table_"):
            self._build_population(rng)
        pending: dict[int, list[_Day]] = {}
        produced, target = 0.0, 0.0
        ratio = self.laundering_rate / (1 - self.laundering_rate)
        next_txn, next_alert, next_pattern = 1, 1, 1
        fx = UNITS_PER_USD.copy()
        for d in range(self.n_days):
            day = self.start_ + np.timedelta64(d, "D")
            fx = fx * np.exp(rng.normal(0, 0.004, len(fx)) * (np.arange(len(fx)) > 0))
            normal = self._normal_day(rng, day)
            target += ratio * len(normal.src)
            while produced < target:
                typology = self.typologies[int(rng.integers(0, len(self.typologies)))]
                pattern, offsets = self.make_pattern(rng, typology, d, next_pattern)
                next_pattern += 1
                produced += len(pattern.src)
                for off in np.unique(offsets):
                    sel = offsets == off
                    pending.setdefault(d + int(off), []).append(_Day(*[getattr(pattern, f)[sel]
                                                                       for f in _Day.__dataclass_fields__]))
            merged = _Day.concat([normal, *pending.pop(d, [])])
            txns = self._to_table(merged, day, fx, next_txn)
            next_txn += txns.num_rows
            alerts = self._alerts(txns, day, next_alert)
            next_alert += alerts.num_rows
            yield d, txns, alerts

    def _to_table(self, t: _Day, day: np.datetime64, fx: np.ndarray, first_id: int) -> pa.Table:
        order = np.lexsort((t.pattern, t.seconds))
        t = _Day(*[getattr(t, f)[order] for f in _Day.__dataclass_fields__])
        n = len(t.src)
        src_cur, dst_cur = self.acc_cur_[t.src], self.acc_cur_[t.dst]
        amount = np.round(t.usd * fx[src_cur], 2)
        received = np.round(amount / fx[src_cur] * fx[dst_cur] * np.where(src_cur != dst_cur, 0.995, 1.0), 2)
        is_l = t.typology > 0
        names = ("none", *TYPOLOGIES)
        return pa.table({
            "txn_id": pa.array(np.arange(first_id, first_id + n, dtype=np.int64)),
            "timestamp": pa.array(day.astype("datetime64[s]") + t.seconds.astype("timedelta64[s]")),
            "from_account": pa.array(t.src.astype(np.int64) + 1),
            "to_account": pa.array(t.dst.astype(np.int64) + 1),
            "from_bank": _dict(self.acc_bank_[t.src].astype(np.int32), tuple(self.bank_ids_)),
            "to_bank": _dict(self.acc_bank_[t.dst].astype(np.int32), tuple(self.bank_ids_)),
            "amount": pa.array(amount),
            "currency": _dict(src_cur.astype(np.int32), CURRENCIES),
            "received_amount": pa.array(received),
            "received_currency": _dict(dst_cur.astype(np.int32), CURRENCIES),
            "amount_usd": pa.array(np.round(t.usd, 2)),
            "payment_type": _dict(t.ptype.astype(np.int32), PAYMENT_TYPES),
            "is_laundering": pa.array(is_l),
            "typology_id": pa.array(t.typology.astype(np.int8)),
            "typology": _dict(t.typology.astype(np.int32), names),
            "pattern_id": pa.array(t.pattern),
        })

    def _alerts(self, txns: pa.Table, day: np.datetime64, first_id: int) -> pa.Table:
        """A monitoring system's rules on one day: cash over or near the threshold, structuring, FX wires."""
        t = self.reporting_threshold
        usd = txns["amount_usd"].to_numpy()
        ptype = txns["payment_type"].combine_chunks().indices.to_numpy()
        dst = txns["to_account"].to_numpy()
        src = txns["from_account"].to_numpy()
        cross = (txns["currency"].combine_chunks().indices.to_numpy()
                 != txns["received_currency"].combine_chunks().indices.to_numpy())
        cash_in = ptype == PT["cash_deposit"]
        rules = []
        rules.append((cash_in & (usd >= t), 0, dst))
        rules.append((np.isin(ptype, [PT["cash_deposit"], PT["wire"], PT["p2p_transfer"], PT["supplier_payment"]])
                      & (usd >= 0.85 * t) & (usd < t), 1, src))
        sub = cash_in & (usd >= 0.5 * t) & (usd < t)
        if sub.any():
            accounts, counts = np.unique(dst[sub], return_counts=True)
            flagged = np.isin(dst, accounts[counts >= 2]) & sub
        else:
            flagged = sub
        rules.append((flagged, 2, dst))
        rules.append((cross & (ptype == PT["wire"]) & (usd >= 0.5 * t), 3, src))
        rows, rule_ids, accounts = [], [], []
        for mask, rule, acc in rules:
            idx = np.flatnonzero(mask)
            rows.append(idx)
            rule_ids.append(np.full(len(idx), rule, np.int32))
            accounts.append(acc[idx])
        rows, rule_ids, accounts = np.concatenate(rows), np.concatenate(rule_ids), np.concatenate(accounts)
        order = np.lexsort((rule_ids, rows))
        rows, rule_ids, accounts = rows[order], rule_ids[order], accounts[order]
        n = len(rows)
        return pa.table({
            "alert_id": pa.array(np.arange(first_id, first_id + n, dtype=np.int64)),
            "txn_id": pa.array(txns["txn_id"].to_numpy()[rows]),
            "account_id": pa.array(accounts.astype(np.int64)),
            "alert_date": pa.array(np.full(n, day, dtype="datetime64[D]")),
            "rule": _dict(rule_ids, ALERT_RULES),
            "is_laundering": pa.array(txns["is_laundering"].to_numpy(zero_copy_only=False)[rows]),
        })

    # -------------------------------------------------------------------------------------------------- outputs
    def to_frames(self) -> dict[str, pd.DataFrame]:
        """All four tables in memory (for tests and small runs)."""
        rng = np.random.default_rng(self.seed)
        self._build_population(rng)
        txns, alerts = [], []
        for _, t, a in self.iter_days(rng):
            txns.append(t)
            alerts.append(a)
        return {"customers": self.customer_table_.to_pandas(), "accounts": self.account_table_.to_pandas(),
                "transactions": pa.concat_tables(txns).to_pandas(), "alerts": pa.concat_tables(alerts).to_pandas()}

    def write(self, output: str | os.PathLike, fmt: str = "parquet", force: bool = False,
              on_day: Callable[[int, int], None] | None = None) -> dict[str, Path]:
        """Stream the four tables into ``output/<table>.<fmt>``; files appear only when complete."""
        if fmt not in ("parquet", "csv"):
            raise LookalikeError(f"--format must be parquet or csv, got {fmt!r}")
        paths = check_output_folder(output, TABLES, fmt, force)
        try:
            Path(output).mkdir(exist_ok=True)  # the tables stream into temporary files inside it
        except OSError as exc:
            raise LookalikeError(f"{output}: cannot create folder ({exc.strerror})") from None
        rng = np.random.default_rng(self.seed)
        self._build_population(rng)
        temps = {name: temp_beside(path) for name, path in paths.items()}
        try:
            _write_whole(self.customer_table_, temps["customers"], fmt)
            _write_whole(self.account_table_, temps["accounts"], fmt)
            with _StreamWriter(temps["transactions"], fmt) as tw, _StreamWriter(temps["alerts"], fmt) as aw:
                for d, txns, alerts in self.iter_days(rng):
                    tw.write(txns)
                    aw.write(alerts)
                    if on_day is not None:
                        on_day(d, txns.num_rows)
            for name in TABLES:
                if paths[name].exists() and not force:
                    raise LookalikeError(f"{paths[name]}: already exists; pass --force to overwrite it")
                os.replace(temps[name], paths[name])
        finally:
            for tmp in temps.values():
                if tmp.exists():
                    tmp.unlink()
        return paths


# ------------------------------------------------------------------------------------------------------ helpers
def _dict(indices: np.ndarray, names: tuple) -> pa.DictionaryArray:
    return pa.DictionaryArray.from_arrays(pa.array(np.asarray(indices, np.int32)), pa.array(list(names), pa.string()))


def _plain(table: pa.Table) -> pa.Table:
    """Dictionary columns decoded to strings (CSV has no dictionaries)."""
    cols = []
    for col in table.columns:
        if pa.types.is_dictionary(col.type):
            col = col.cast(col.type.value_type)
        cols.append(col)
    return pa.table(cols, names=table.column_names)


def _write_whole(table: pa.Table, path: Path, fmt: str):
    if fmt == "parquet":
        pq.write_table(table, path)
    else:
        pacsv.write_csv(_plain(table), path)


class _StreamWriter:
    """Append tables with one schema to a Parquet or CSV file, a day at a time."""

    def __init__(self, path: Path, fmt: str):
        self.path, self.fmt, self.writer = path, fmt, None

    def write(self, table: pa.Table):
        if self.fmt == "csv":
            table = _plain(table)
        if self.writer is None:
            self.writer = (pq.ParquetWriter(self.path, table.schema) if self.fmt == "parquet"
                           else pacsv.CSVWriter(self.path, table.schema))
        self.writer.write_table(table)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        if self.writer is not None:
            self.writer.close()


def simulate_aml(n_accounts: int, n_days: int, output: str | os.PathLike, seed: int = 0,
                 laundering_rate: float = 0.002, fmt: str = "parquet", force: bool = False,
                 typologies=TYPOLOGIES, on_day=None) -> dict[str, Path]:
    """Convenience wrapper used by the CLI: build the simulator and stream its tables to ``output``."""
    sim = AMLSimulator(n_accounts=n_accounts, n_days=n_days, seed=seed, laundering_rate=laundering_rate,
                       typologies=typologies)
    return sim.write(output, fmt=fmt, force=force, on_day=on_day)
