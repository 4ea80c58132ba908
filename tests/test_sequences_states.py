"""State-like step columns keep their transitions: a rarely changing state stays rarely changing.

The step model learns a step's columns given the whole context (entity, position, previous step): the context
columns are its ``given`` columns, so no training order hides the previous state from the next one."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from lookalike import Synthesizer


def sticky_panel(people: int = 400, years: int = 7, flip: float = 0.05, seed: int = 0) -> pd.DataFrame:
    """Yearly rows per person: a binary state that flips with probability ``flip`` a year, a union flag that
    is sticky too, and a wage that follows the state."""
    rng = np.random.default_rng(seed)
    rows = []
    for p in range(people):
        married, union = rng.random() < 0.5, rng.random() < 0.3
        for y in range(years):
            if y:
                married ^= rng.random() < flip
                union ^= rng.random() < flip
            rows.append({"person": p, "year": 2000 + y, "married": "yes" if married else "no",
                         "union": bool(union), "wage": round(6 + 0.5 * married + rng.normal(0, 0.3), 2)})
    return pd.DataFrame(rows)


def flip_rate(df: pd.DataFrame, column: str) -> float:
    df = df.sort_values(["person", "year"])
    same_person = df["person"].to_numpy()[1:] == df["person"].to_numpy()[:-1]
    values = df[column].astype(str).to_numpy()
    return float((values[1:] != values[:-1])[same_person].mean())


@pytest.fixture(scope="module")
def fitted():
    real = sticky_panel()
    syn = Synthesizer(entity="person", order="year", model="argn", seed=1, max_epochs=15,
                      model_params={"n_threads": 1}).fit(real)
    return real, syn


def test_rarely_changing_states_stay_rare_to_change(fitted):
    real, syn = fitted
    fake = syn.sample(300, seed=2)
    for column in ("married", "union"):
        assert flip_rate(real, column) < 0.08
        assert flip_rate(fake, column) < 0.12, (column, flip_rate(fake, column))


def test_context_columns_are_given_to_the_step_model_not_learned(fitted):
    _, syn = fitted
    inner = syn.step_model_.synthesizer_
    context = [f"ctx.{c}" for c in syn.step_model_.context_columns_]
    assert context and inner.given == context
    learned = inner.encoder_.group_columns_
    assert sorted(inner.model_.given_groups) == sorted(learned.index(c) for c in context if c in learned)


def test_a_missing_context_cell_is_given_as_missing_where_the_column_had_missing_values(tmp_path):
    """A sequence's first step has no previous step: its window cells are missing in training and at sampling,
    and must stay missing (given), not be drawn by the model; ``given`` survives save and load."""
    from lookalike.context import ContextSynthesizer

    rng = np.random.default_rng(0)
    n = 600
    prev = rng.normal(10, 2, n).round(1)
    prev[rng.random(n) < 0.3] = np.nan  # missing in training too
    rows = pd.DataFrame({"y": np.where(np.isnan(prev), 0.0, prev + 1).round(1)})
    model = ContextSynthesizer(prefix="ctx", model="argn", seed=0, max_epochs=10,
                               model_params={"n_threads": 1}).fit(rows, context=pd.DataFrame({"prev": prev}))
    inner = model.synthesizer_
    assert inner.given == ["ctx.prev"]
    path = inner.save(tmp_path / "m.lookalike")
    from lookalike import Synthesizer

    assert Synthesizer.load(path).given == ["ctx.prev"]
    ctx = pd.DataFrame({"prev": [np.nan] * 200 + [12.0] * 200})
    out = model.sample(context=ctx, seed=1, with_context=True)
    assert out["ctx.prev"].iloc[:200].isna().all()  # kept missing, not generated
    assert (out["y"].iloc[:200].abs() < 1).mean() > 0.8  # and the rows follow "no previous value"
    assert (out["y"].iloc[200:] - 13).abs().median() < 1.5


def test_argn_sequences_are_reproducible_for_a_seed(fitted):
    _, syn = fitted
    first = syn.sample(40, seed=7)
    pd.testing.assert_frame_equal(first, syn.sample(40, seed=7))
    assert not first.equals(syn.sample(40, seed=8))
