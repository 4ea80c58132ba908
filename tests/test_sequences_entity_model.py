"""The entity model of a small entity table trains on every entity, without a validation split.

A tenth of a hundred-odd entities is too few to stop on and a tenth of scarce data (see
``SMALL_ENTITY_TABLE``); larger tables, and a validation share the user set, keep argn's early stopping."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from lookalike import Synthesizer
from lookalike.sequential import synthesizer as seqmod


def days(entities: int = 60, seed: int = 0) -> pd.DataFrame:
    """Hourly readings, one entity per station-day, whose level follows the date."""
    rng = np.random.default_rng(seed)
    rows = []
    for e in range(entities):
        start = pd.Timestamp("2013-01-01") + pd.Timedelta(days=int(e // 2))
        level = 30 + 10 * np.sin(e / 8)
        for h in range(6):
            rows.append({"day": f"d{e}", "time": start + pd.Timedelta(hours=h),
                         "temp": round(level + h + rng.normal(0, 0.5), 1), "wind": int(rng.integers(0, 20))})
    return pd.DataFrame(rows)


def fit(df, **params):
    return Synthesizer(entity="day", order="time", model="argn", seed=1, max_epochs=3,
                       **{"model_params": {"n_threads": 1}, **params}).fit(df)


def test_a_small_entity_table_is_learned_without_a_validation_split():
    syn = fit(days())
    assert syn.entity_model_.model_.val_fraction == 0.0
    assert syn.step_model_.synthesizer_.model_.val_fraction > 0  # the steps are many: early stopping stays
    assert len(syn.sample(10, seed=2)["day"].unique()) == 10


def test_a_validation_share_the_user_set_is_kept():
    syn = fit(days(), model_params={"n_threads": 1, "val_fraction": 0.2})
    assert syn.entity_model_.model_.val_fraction == 0.2


def test_a_large_entity_table_keeps_its_validation_split(monkeypatch):
    monkeypatch.setattr(seqmod, "SMALL_ENTITY_TABLE", 50)  # days() has 60 entities
    syn = fit(days())
    assert syn.entity_model_.model_.val_fraction == pytest.approx(0.1)
