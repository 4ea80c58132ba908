"""Hidden entities: columns fixed by an entity the table does not name are drawn as joint profiles."""
import numpy as np
import pandas as pd

from lookalike import Synthesizer
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
    assert sorted(kept.counts_, reverse=True) == sorted(counts[counts >= 5].tolist(), reverse=True)
    assert "9|9|9|9|9|9" not in {"|".join(str(int(v)) for v in row) for row in kept.values_}


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
