"""Hidden entities: columns fixed by an entity the table does not name are drawn as joint profiles."""
import numpy as np
import pandas as pd
import pytest

from lookalike import Synthesizer
from lookalike.errors import LookalikeError
from lookalike.encoding.profiles import Profiles, detect_profile_columns

ZIP_COLUMNS = [f"z{i}" for i in range(6)]


def zip_table(rows: int = 900, zips: int = 60, seed: int = 0) -> pd.DataFrame:
    """Six columns that are a function of a hidden zip code (each zip on about 15 rows), two of the row's own."""
    rng = np.random.default_rng(seed)
    profile = rng.integers(0, 10, size=(zips, len(ZIP_COLUMNS)))
    zip_of = rng.integers(0, zips, rows)
    df = pd.DataFrame(profile[zip_of], columns=ZIP_COLUMNS)
    df["income"] = rng.normal(50, 10, rows).round(1)
    df["owns"] = rng.choice(["yes", "no"], rows)
    return df


def profiles_of(df: pd.DataFrame) -> pd.Series:
    return df[ZIP_COLUMNS].astype(int).astype(str).agg("|".join, axis=1)


def test_detection_finds_the_hidden_entity_and_nothing_else():
    df = zip_table()
    assert detect_profile_columns(df, list(df.columns), k=5) == ZIP_COLUMNS


def test_no_group_in_independent_columns_or_in_a_block_fixed_in_one_kind_of_row():
    rng = np.random.default_rng(1)
    independent = pd.DataFrame(rng.integers(0, 4, size=(900, 8)), columns=[f"c{i}" for i in range(8)])
    assert detect_profile_columns(independent, list(independent.columns), k=5) == []
    # out of work: hours, weeks, earnings and union all 0, family income heaped; in work: all the row's own
    working = rng.random(900) < 0.5
    block = pd.DataFrame({"hours": np.where(working, rng.integers(10, 60, 900), 0),
                          "weeks": np.where(working, rng.integers(1, 52, 900), 0),
                          "earns": np.where(working, rng.integers(100, 900, 900), 0),
                          "union": np.where(working, rng.integers(0, 2, 900), 0),
                          "faminc": rng.choice([20, 30, 40, 50, 60], 900)})
    assert detect_profile_columns(block, list(block.columns), k=5) == []


def test_only_profiles_seen_in_k_rows_are_kept():
    df = zip_table()
    df.loc[0, ZIP_COLUMNS] = [9, 9, 9, 9, 9, 9]  # a profile of one row
    kept = Profiles(ZIP_COLUMNS, k=5).fit(df)
    counts = profiles_of(df).value_counts()
    assert sorted(np.bincount(kept.encode(df))[1:], reverse=True) == sorted(counts[counts >= 5], reverse=True)
    assert "9|9|9|9|9|9" not in {"|".join(str(int(v)) for v in row) for row in kept.values_}


def test_saved_profiles_hold_only_their_values_and_old_files_still_load():
    kept = Profiles(ZIP_COLUMNS, k=5).fit(zip_table())
    saved = kept.to_dict()
    assert set(saved) == {"columns", "k", "values"}  # no counts of training rows in a model file
    old = {**saved, "counts": [5] * len(saved["values"]), "other": 3}  # a file written before
    again = Profiles.from_dict(old)
    assert again.values_ == kept.values_ and again.columns == ZIP_COLUMNS
    assert (again.encode(zip_table()) == kept.encode(zip_table())).all()


def test_sampled_rows_keep_the_entity_consistent():
    df = zip_table()
    syn = Synthesizer(model="argn", seed=0, max_epochs=3, hidden_entities=True).fit(df)
    assert syn.encoder_.profiles_ is not None and syn.encoder_.profiles_.columns == ZIP_COLUMNS
    groups = syn.encoder_.model_groups()
    assert groups[0][0] == syn.encoder_.profile_sub_ and len(groups) == 3  # profile first, then its columns
    out = syn.sample(600, seed=1)
    seen = set(profiles_of(df))
    # drawn column by column (before), a 6-column profile is a real zip's in few rows; here in nearly all
    assert profiles_of(out).isin(seen).mean() > 0.9
    assert out[ZIP_COLUMNS].dtypes.tolist() == df[ZIP_COLUMNS].dtypes.tolist()


def test_profiles_survive_save_and_load_and_conditions_hold(tmp_path):
    df = zip_table()
    syn = Synthesizer(model="argn", seed=0, max_epochs=2, hidden_entities=True).fit(df)
    path = syn.save(tmp_path / "m.lookalike")
    again = Synthesizer.load(path)
    assert again.hidden_entities and again.sample(100, seed=3).equals(syn.sample(100, seed=3))
    fixed = syn.sample(200, seed=4, conditions={"z0": 3})
    assert (fixed["z0"] == 3).all()


def test_no_profiles_without_value_protection_nor_by_default():
    syn = Synthesizer(model="argn", seed=0, max_epochs=1, value_protection=False, hidden_entities=True).fit(zip_table())
    assert syn.encoder_.profiles_ is None and syn.encoder_.profile_sub_ is None
    syn = Synthesizer(model="argn", seed=0, max_epochs=1).fit(zip_table())
    assert syn.encoder_.profiles_ is None and not syn.get_params()["hidden_entities"]


def test_kept_profiles_in_value_order():
    kept = Profiles(ZIP_COLUMNS, k=5).fit(zip_table())
    assert kept.values_ == sorted(kept.values_)  # neighbouring tokens are profiles alike in their first columns
    assert len(kept.values_) > 10


def test_the_cli_turns_hidden_entities_on_for_fit_and_synth_and_refuses_it_for_sequences(tmp_path, capsys):
    from lookalike.cli import main
    from lookalike.synthesizer import Synthesizer as Loaded

    data = tmp_path / "zips.csv"
    zip_table().to_csv(data, index=False)
    on, off = tmp_path / "on.lookalike", tmp_path / "off.lookalike"
    assert main(["fit", str(data), "-o", str(on), "--model", "argn", "--max-epochs", "1", "--hidden-entities"]) == 0
    assert main(["fit", str(data), "-o", str(off), "--model", "argn", "--max-epochs", "1"]) == 0
    assert Loaded.load(on).encoder_.profiles_.columns == ZIP_COLUMNS
    assert Loaded.load(off).encoder_.profiles_ is None
    out = tmp_path / "synth.csv"
    assert main(["synth", str(data), "-o", str(out), "--model", "argn", "--max-epochs", "1", "-n", "300",
                 "--hidden-entities"]) == 0
    kept = set(profiles_of(zip_table()))
    assert profiles_of(pd.read_csv(out)).isin(kept).mean() > 0.9
    capsys.readouterr()
    bad = tmp_path / "seq.csv"
    assert main(["synth", str(data), "-o", str(bad), "--entity", "owns", "--hidden-entities"]) != 0
    assert "hidden_entities" in capsys.readouterr().err and not bad.exists()


def rare_zip_table() -> pd.DataFrame:
    """``zip_table`` with z5 a category, and 12% of rows with a profile of their own (none kept) whose z5 is
    'maybe', a value no kept profile holds (in 13.8% of rows)."""
    df = zip_table()
    rng = np.random.default_rng(5)
    df["z5"] = np.array(list("abcdefghij"))[df["z5"]]
    rare = rng.random(len(df)) < 0.12
    df.loc[rare, ZIP_COLUMNS[:5]] = rng.integers(0, 10, size=(rare.sum(), 5))
    df.loc[rare, "z5"] = "maybe"
    return df


def joint(df: pd.DataFrame) -> pd.Series:
    return df[ZIP_COLUMNS].astype(str).agg("|".join, axis=1)


@pytest.fixture(scope="module")
def rare_fitted():
    df = rare_zip_table()
    syn = Synthesizer(model="argn", seed=0, max_epochs=3, hidden_entities=True).fit(df)
    assert syn.encoder_.profiles_.columns == ZIP_COLUMNS
    counts = joint(df).value_counts()
    return df, syn, set(counts[counts >= 5].index)


def test_a_condition_on_a_profile_column_draws_a_kept_profile_that_agrees(rare_fitted):
    # before: a fixed profile cell forced the 'other' profile: 0.3% of rows had a kept profile, 26% 'maybe'
    df, syn, kept = rare_fitted
    out = syn.sample(300, seed=4, conditions={"z0": 3})
    assert (out["z0"] == 3).all()
    assert joint(out).isin(kept).all() and not (out["z5"] == "maybe").any()
    two = syn.sample(200, seed=5, conditions={"z0": 3, "z5": "c"})
    assert (two["z0"] == 3).all() and (two["z5"] == "c").all() and joint(two).isin(kept).all()


def test_conditions_on_profiles_no_kept_profile_has_are_an_error(rare_fitted):
    _, syn, _ = rare_fitted
    with pytest.raises(LookalikeError, match="z5='maybe'"):  # a known category, but only in rare profiles
        syn.sample(10, seed=1, conditions={"z5": "maybe"})
    whole = dict(zip(ZIP_COLUMNS, [1, 1, 1, 1, 1, "a"]))  # every column fixed: a profile no zip has
    with pytest.raises(LookalikeError, match="hidden_entities"):
        syn.sample(10, seed=1, conditions=whole)
    real = syn.encoder_.profiles_.values_[7]  # every column fixed to a kept profile: its token
    out = syn.sample(20, seed=1, conditions=dict(zip(ZIP_COLUMNS, real)))
    assert (out[ZIP_COLUMNS].astype(str) == [str(v) for v in real]).all().all()


def test_imputed_profile_columns_are_the_real_profile_and_no_rare_marker_is_invented(rare_fitted):
    df, syn, kept = rare_fitted
    holes = df.copy()
    holes["z5"] = None
    filled = syn.impute(holes, seed=2)
    own_kept = joint(df).isin(kept)
    # the other five columns pin a kept profile: its z5 (before: right in 18% of rows, 'maybe' in 32%)
    assert (filled["z5"] == df["z5"])[own_kept].all()
    assert (filled["z5"] == "maybe").mean() <= (df["z5"] == "maybe").mean()
    two = df.astype({"z1": float, "z4": float})
    missing = np.random.default_rng(3).random(len(df)) < 0.5
    two.loc[missing, ["z1", "z4"]] = np.nan
    filled = syn.impute(two, seed=5)
    assert joint(filled.astype({"z1": int, "z4": int}))[missing & own_kept].isin(kept).all()


def test_rebalancing_a_profile_column_keeps_kept_profiles(rare_fitted):
    _, syn, kept = rare_fitted
    out = syn.sample(400, seed=6, rebalance={"z5": {"c": 0.5}})
    assert abs((out["z5"] == "c").mean() - 0.5) < 0.08
    # rows given 'maybe' by the shares (a category only rare profiles hold) are drawn as those rows were
    assert joint(out).isin(kept)[out["z5"] != "maybe"].all()


def test_a_column_whose_inequality_straddles_the_entity_is_left_out():
    from lookalike.encoding.profiles import entity_columns
    from lookalike.schema.infer import infer_schema

    df = zip_table()
    df["z1"] = df["z0"] + df["z1"]  # still the zip's: z0 <= z1 inside the entity, which its profiles keep
    schema = infer_schema(df, k=5)
    schema.rules += [{"type": "inequality", "left": "z0", "op": "<=", "right": "z1"},
                     {"type": "inequality", "left": "z2", "op": "<=", "right": "income"}]  # straddles it
    assert entity_columns(df, infer_schema(df, k=5)) == ZIP_COLUMNS
    assert entity_columns(df, schema) == ["z0", "z1", "z3", "z4", "z5"]
    syn = Synthesizer(model="argn", seed=0, max_epochs=1, hidden_entities=True, schema=schema).fit(df)
    assert syn.encoder_.profiles_.columns == ["z0", "z1", "z3", "z4", "z5"]
    out = syn.sample(300, seed=2)
    assert (out["z0"] <= out["z1"]).all() and (out["z2"] <= out["income"]).all()


@pytest.mark.parametrize("setting", [{"dp": {"epsilon": 1.0, "delta": 1e-5}}, {"given": ["owns"]},
                                     {"fairness": {"target": "owns", "sensitive": ["z0"]}}])
def test_hidden_entities_with_a_setting_it_does_not_cover_is_an_error_at_fit(setting, monkeypatch):
    from lookalike.encoding import table

    def no_work(*args, **kwargs):
        raise AssertionError("fit did work before refusing")

    monkeypatch.setattr(table.TableEncoder, "fit", no_work)
    model = "dp-marginals" if "dp" in setting else "argn"
    syn = Synthesizer(model=model, seed=0, max_epochs=1, hidden_entities=True, **setting)
    with pytest.raises(LookalikeError, match="hidden_entities cannot be combined with"):
        syn.fit(zip_table())


def test_hidden_entities_with_a_folder_fit_is_an_error(tmp_path):
    from lookalike.distributed.streaming import fit_streaming

    zip_table().to_parquet(tmp_path / "part-0.parquet", index=False)
    syn = Synthesizer(model="argn", seed=0, max_epochs=1, hidden_entities=True)
    for fit in (lambda: syn.fit(tmp_path), lambda: syn.fit(tmp_path, ray=True),
                lambda: fit_streaming(syn, tmp_path)):
        with pytest.raises(LookalikeError, match="hidden_entities cannot be combined with a fit from a folder"):
            fit()
    assert not hasattr(syn, "encoder_")


def test_the_cli_refuses_hidden_entities_with_a_folder_or_dp(tmp_path, capsys):
    from lookalike.cli import main

    folder = tmp_path / "parts"
    folder.mkdir()
    zip_table().to_parquet(folder / "part-0.parquet", index=False)
    data = tmp_path / "zips.csv"
    zip_table().to_csv(data, index=False)
    out = tmp_path / "m.lookalike"
    for args in ([str(folder)], [str(data), "--model", "dp-marginals", "--dp-epsilon", "1"]):
        capsys.readouterr()
        assert main(["fit", *args, "-o", str(out), "--max-epochs", "1", "--hidden-entities"]) != 0
        assert "hidden_entities cannot be combined with" in capsys.readouterr().err and not out.exists()
