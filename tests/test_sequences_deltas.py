"""Numeric step columns learned as changes from the previous step: exact trends and random walks keep their shape."""
import numpy as np
import pandas as pd

from lookalike import Synthesizer


def _trend_and_walk(n_people: int = 120, years: int = 8, seed: int = 4) -> pd.DataFrame:
    """Experience rising by exactly 1 a year from a person's own start; savings as a random walk; a state."""
    rng = np.random.default_rng(seed)
    rows = []
    for p in range(n_people):
        exp0 = int(rng.integers(0, 30))
        walk = 50.0 + rng.normal(0, 20)
        union = rng.random() < 0.3
        for y in range(years):
            walk += rng.normal(0, 2)
            if rng.random() < 0.05:
                union = not union
            rows.append({"person": p, "year": 2000 + y, "exp": exp0 + y, "savings": round(walk, 1),
                         "union": "yes" if union else "no"})
    return pd.DataFrame(rows)


def _lag1(df: pd.DataFrame, col: str) -> float:
    s = df.sort_values(["person", "year"])
    prev = s.groupby("person")[col].shift(1)
    ok = prev.notna()
    return float(np.corrcoef(s.loc[ok, col], prev[ok])[0, 1])


def test_exact_plus_one_trend_is_reproduced_and_random_walk_keeps_its_autocorrelation():
    df = _trend_and_walk()
    syn = Synthesizer(entity="person", order="year", model="copula").fit(df)
    assert syn.delta_columns_ == ["exp", "savings"]  # union is a state: learned through the window
    out = syn.sample(80, seed=5)
    steps = out.sort_values(["person", "year"]).groupby("person")["exp"].diff().dropna()
    assert len(steps) > 0 and (steps == 1).all()  # +1 a year, exactly, in every synthetic person
    lo, hi = syn.value_ranges_["exp"]
    assert out["exp"].between(lo, hi).all() and out["exp"].dtype.kind == "i"
    real, fake = _lag1(df, "savings"), _lag1(out, "savings")
    assert real > 0.9 and abs(fake - real) < 0.1
    assert (out["savings"] * 10 % 1 == 0).all()  # the data's one decimal


def test_delta_model_seeded_and_saved(tmp_path):
    df = _trend_and_walk(60, 6)
    syn = Synthesizer(entity="person", order="year", model="copula").fit(df)
    first = df[df["person"] == 3].sort_values("year").head(2)
    out = syn.sample(seed_data=first, seed=1)
    got = out.sort_values("year")
    assert list(got["exp"].head(2)) == list(first["exp"])  # seeded values kept
    assert (got["exp"].diff().dropna() == 1).all()  # and the trend continued from them
    path = syn.save(tmp_path / "m.lookalike")
    again = type(syn).load(path)
    assert again.delta_columns_ == syn.delta_columns_
    assert again.sample(10, seed=2).equals(syn.sample(10, seed=2))


def test_a_random_walk_with_missing_readings_is_still_learned_as_changes(tmp_path):
    """A sensor that sometimes misses a reading (weather's pressure): missing cells stay missing, and the next
    reading continues from the last known one, so the walk keeps its small steps."""
    df = _trend_and_walk(seed=6)
    rng = np.random.default_rng(1)
    df.loc[rng.random(len(df)) < 0.15, "savings"] = np.nan
    syn = Synthesizer(entity="person", order="year", model="copula").fit(df)
    assert "savings" in syn.delta_columns_ and syn.delta_missing_ == ["savings"]
    again = Synthesizer.load(syn.save(tmp_path / "m.lookalike"))
    assert again.delta_missing_ == ["savings"] and again.delta_center_ == syn.delta_center_
    out = syn.sample(120, seed=3).sort_values(["person", "year"])
    share = out["savings"].isna().mean()
    assert 0.03 < share < 0.35  # missing readings are generated, about as often
    steps = out.groupby("person")["savings"].transform(lambda s: s.ffill().diff()).dropna()
    assert steps.abs().median() < 0.25 * df["savings"].std()  # small steps, not independent draws


def test_a_delta_column_keeps_all_its_decimals_so_its_heaped_values_come_back_exactly():
    """log wages written with 5 decimals and a top-coded heap (6.90575): rounding them to 4 decimals made every
    synthetic value new (6.9058), which an entity discriminator tells apart at once (np.allclose's relative
    tolerance had counted 69057.5 as a whole number)."""
    rng = np.random.default_rng(8)
    rows = []
    for p in range(80):
        w = rng.normal(6.4, 0.3)
        for y in range(6):
            w += rng.normal(0.05, 0.05)
            rows.append({"person": p, "year": y + 1, "lwage": round(min(w, 6.90575), 5)})
    df = pd.DataFrame(rows)
    syn = Synthesizer(entity="person", order="year", model="copula").fit(df)
    assert syn.delta_columns_ == ["lwage"] and syn.decimals_["lwage"] == 5
    out = syn.sample(80, seed=3)
    assert (np.abs(out["lwage"] * 1e5 - np.round(out["lwage"] * 1e5)) < 1e-6).all()
    assert (out["lwage"] == 6.90575).any()  # the top-coded heap itself, not 6.9058


def test_the_window_of_a_delta_column_holds_its_previous_change_in_training_and_in_sampling():
    """exp rises by exactly 1 a year: every step after the first sees lag1.exp == 1 (the change), never the level,
    both in the rows the step model learned from and in the contexts it is sampled with."""
    df = _trend_and_walk(60, 6)
    syn = Synthesizer(entity="person", order="year", model="copula")
    seen = []
    from lookalike.context import ContextSynthesizer

    fit, sample = ContextSynthesizer.fit, ContextSynthesizer.sample

    def capture_fit(self, rows, context=None, **kw):
        seen.append(("fit", context))
        return fit(self, rows, context=context, **kw)

    def capture_sample(self, context=None, **kw):
        seen.append(("sample", context))
        return sample(self, context=context, **kw)

    ContextSynthesizer.fit, ContextSynthesizer.sample = capture_fit, capture_sample
    try:
        syn.fit(df)
        syn.sample(20, seed=1)
    finally:
        ContextSynthesizer.fit, ContextSynthesizer.sample = fit, sample
    assert syn.lag_changes_
    trained = seen[0][1]
    later = trained["step"] >= 1
    assert (trained.loc[later, "lag1.exp"] == 1).all() and trained.loc[~later, "lag1.exp"].isna().all()
    steps = [ctx for kind, ctx in seen[1:] if kind == "sample"]
    assert steps[0]["lag1.exp"].isna().all()
    assert all((ctx["lag1.exp"] == 1).all() for ctx in steps[1:])  # not 10, 11, 12 ... (the levels)


def test_a_model_saved_before_the_window_held_changes_still_reads_levels(tmp_path):
    df = _trend_and_walk(40, 5)
    syn = Synthesizer(entity="person", order="year", model="copula").fit(df)
    path = syn.save(tmp_path / "m.lookalike")
    import json
    import zipfile

    with zipfile.ZipFile(path) as z:  # the same file as an older version wrote it: no lag_changes_ entry
        members = {n: z.read(n) for n in z.namelist()}
    meta = json.loads(members["sequence.json"])
    meta.pop("lag_changes_")
    members["sequence.json"] = json.dumps(meta).encode()
    old = tmp_path / "old.lookalike"
    with zipfile.ZipFile(old, "w") as z:
        for name, data in members.items():
            z.writestr(name, data)
    loaded = type(syn).load(old)
    assert loaded.lag_changes_ is False
    out = loaded.sample(10, seed=2)
    assert (out.sort_values(["person", "year"]).groupby("person")["exp"].diff().dropna() == 1).all()


def _sticky_sensor(n_days: int = 80, hours: int = 24, seed: int = 3) -> pd.DataFrame:
    """Visibility at 10 most hours, with excursions that return to 10; pressure as a random walk."""
    rng = np.random.default_rng(seed)
    rows = []
    for d in range(n_days):
        pressure, path = 1015.0 + rng.normal(0, 5), []
        for h in range(hours):
            pressure += rng.normal(0, 0.6)
            if not path and rng.random() < 0.03:  # a gradual excursion: down and back up to 10
                depth = int(rng.integers(2, 16))
                path = [10.0 - s / 2 for s in range(1, depth + 1)] + [10.0 - s / 2 for s in range(depth - 1, 0, -1)]
            visib = path.pop(0) if path else 10.0
            rows.append({"day": d, "hour": h, "visib": visib, "pressure": round(pressure, 1)})
    return pd.DataFrame(rows)


def test_a_column_that_keeps_its_value_at_most_steps_is_a_state_not_changes():
    df = _sticky_sensor()
    stay = (df.groupby("day")["visib"].diff().dropna() == 0).mean()
    assert stay > 0.6  # the real column keeps its value at most steps
    syn = Synthesizer(entity="day", order="hour", model="copula").fit(df)
    assert syn.delta_columns_ == ["pressure"]  # visib is learned as a level through the window
    out = syn.sample(60, seed=2)
    assert set(out["visib"].unique()) <= set(df["visib"].unique())  # levels as the data has them
    real_last = df.groupby("day")["visib"].last()
    last = out.sort_values(["day", "hour"]).groupby("day")["visib"].last()
    assert abs((last == 10.0).mean() - (real_last == 10.0).mean()) < 0.2  # excursions end where real ones do


def test_the_argn_step_model_is_calibrated_after_fitting(monkeypatch):
    from lookalike.models.argn import ARGN

    calls = []
    original = ARGN.calibrate

    def record(self, tokens, columns, given, iterations=5):
        calls.append((tokens.shape, list(columns), list(given)))
        return original(self, tokens, columns, given, iterations)

    monkeypatch.setattr(ARGN, "calibrate", record)
    df = _trend_and_walk(40, 5)
    syn = Synthesizer(entity="person", order="year", model="argn", max_epochs=1).fit(df)
    (shape, columns, given), = calls  # once, for the step model
    enc = syn.step_model_.synthesizer_.encoder_
    own = [g[0] for name, g in zip(enc.group_columns_, enc.groups_) if not name.startswith("ctx.")]
    assert shape[0] == len(df) and columns == own and set(given).isdisjoint(own) and given
