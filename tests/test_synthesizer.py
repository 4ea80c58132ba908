"""The Python API: reproducible sampling, conditions, safe save/load without training rows."""
import json
import zipfile

import numpy as np
import pandas as pd
import pytest

from lookalike import Synthesizer
from lookalike.errors import LookalikeError


@pytest.fixture
def fitted(mixed_table):
    return Synthesizer(model="copula", seed=0).fit(mixed_table)


def test_output_keeps_columns_dtypes_and_formats(fitted, mixed_table):
    out = fitted.sample(500, seed=1)
    assert list(out.columns) == list(mixed_table.columns)
    assert out.dtypes.to_dict() == mixed_table.dtypes.to_dict()
    assert out["opened"].str.match(r"^\d{4}-\d{2}-\d{2}$").all()
    assert set(out["active"]) <= {"yes", "no"}
    assert out["customer_id"].is_unique


def test_same_seed_same_bytes_and_different_seed_differs(fitted, mixed_table):
    a = fitted.sample(200, seed=3).to_csv(index=False)
    b = Synthesizer(model="copula", seed=0).fit(mixed_table).sample(200, seed=3).to_csv(index=False)
    c = fitted.sample(200, seed=4).to_csv(index=False)
    assert a == b and a != c


def test_rare_category_never_appears(fitted):
    out = fitted.sample(3000, seed=0)
    assert "very-rare-segment" not in set(out["segment"])


def test_no_training_row_is_copied(fitted, mixed_table):
    out = fitted.sample(len(mixed_table), seed=0)
    learned = [c for c in mixed_table.columns if c != "customer_id"]
    merged = out[learned].merge(mixed_table[learned].drop_duplicates(), how="inner")
    assert len(merged) == 0


def test_save_load_gives_identical_samples_and_holds_no_training_rows(fitted, mixed_table, tmp_path):
    path = fitted.save(tmp_path / "m.lookalike")
    loaded = Synthesizer.load(path)
    pd.testing.assert_frame_equal(loaded.sample(300, seed=9), fitted.sample(300, seed=9))
    with zipfile.ZipFile(path) as zf:
        assert sorted(zf.namelist()) == ["model.json", "weights.safetensors"]
        text = zf.read("model.json").decode()
    assert "very-rare-segment" not in text
    assert str(mixed_table["income"].dropna().iloc[0]) not in text


def test_refuses_to_overwrite_and_rejects_foreign_files(fitted, tmp_path):
    path = fitted.save(tmp_path / "m.lookalike")
    with pytest.raises(LookalikeError, match="already exists"):
        fitted.save(path)
    fitted.save(path, force=True)
    bogus = tmp_path / "evil.lookalike"
    with zipfile.ZipFile(bogus, "w") as zf:  # a pickle payload must never be touched
        zf.writestr("model.json", json.dumps({"format": "pickle"}))
        zf.writestr("weights.safetensors", b"\x80\x04cos\nsystem\n")
    with pytest.raises(LookalikeError, match="not a lookalike model file"):
        Synthesizer.load(bogus)
    (tmp_path / "text.lookalike").write_text("hello")
    with pytest.raises(LookalikeError, match="not a lookalike model file"):
        Synthesizer.load(tmp_path / "text.lookalike")


def test_model_files_from_a_newer_lookalike_or_of_another_kind_get_a_clear_error(fitted, tmp_path):
    path = fitted.save(tmp_path / "m.lookalike")
    with zipfile.ZipFile(path) as zf:
        meta, weights = json.loads(zf.read("model.json")), zf.read("weights.safetensors")
    newer = tmp_path / "newer.lookalike"
    with zipfile.ZipFile(newer, "w") as zf:
        zf.writestr("model.json", json.dumps({**meta, "format_version": 99, "lookalike_version": "9.0"}))
        zf.writestr("weights.safetensors", weights)
    with pytest.raises(LookalikeError, match=r"newer.lookalike: written by a newer lookalike \(9.0\)"):
        Synthesizer.load(newer)
    from lookalike.relational.synthesizer import DatabaseSynthesizer

    with pytest.raises(LookalikeError, match="m.lookalike: not a lookalike database model"):
        DatabaseSynthesizer.load(path)  # a table model is not a database model


def test_conditions_rebalance_and_seed_rows(fitted):
    out = fitted.sample(400, seed=0, conditions={"segment": "business"})
    assert (out["segment"] == "business").all()
    out = fitted.sample(2000, seed=0, rebalance={"segment": {"private": 0.5}})
    assert abs((out["segment"] == "private").mean() - 0.5) < 0.04
    seeds = pd.DataFrame({"segment": ["retail", None, "private"], "amount": [500, 1000, None]})
    out = fitted.sample(seed=0, seed_data=seeds)
    assert len(out) == 3
    assert out.loc[0, "segment"] == "retail" and out.loc[2, "segment"] == "private"
    assert out.loc[0, "amount"] == 500 and out.loc[1, "amount"] == 1000


def test_unknown_column_or_unseen_value_is_a_clear_error(fitted):
    with pytest.raises(LookalikeError, match="unknown column 'segmnt'"):
        fitted.sample(10, conditions={"segmnt": "business"})
    with pytest.raises(LookalikeError, match="'very-rare-segment' was never seen"):
        fitted.sample(10, conditions={"segment": "very-rare-segment"})
    with pytest.raises(LookalikeError, match="positive integer"):
        fitted.sample(0)


def test_batches_match_one_shot_sample_and_keep_keys_unique(fitted, tmp_path):
    whole = fitted.sample(250, seed=5)
    parts = pd.concat(list(fitted.sample_batches(250, seed=5, batch_size=100_000)), ignore_index=True)
    pd.testing.assert_frame_equal(whole, parts)
    out = pd.concat(list(fitted.sample_batches(250, seed=5, batch_size=100)), ignore_index=True)
    assert out["customer_id"].is_unique
    path = fitted.sample_to_file(250, tmp_path / "s.parquet", seed=5)
    assert len(pd.read_parquet(path)) == 250


def test_value_protection_clips_extremes(mixed_table):
    df = mixed_table.copy()
    df.loc[0, "score"] = 10_000.0  # a single outlier that could identify its owner
    out = Synthesizer(model="copula").fit(df).sample(3000, seed=0)
    assert out["score"].max() < 10_000.0
    assert out["score"].max() <= np.sort(df["score"])[-5] + 1e-9


def test_impute_fills_only_missing_cells(fitted, mixed_table):
    holes = mixed_table.head(50).copy()
    holes.loc[::3, "amount"] = np.nan
    holes.loc[1::4, "segment"] = None
    filled = fitted.impute(holes, seed=0)
    assert filled[["amount", "segment"]].notna().all().all()
    known = holes["amount"].notna()
    assert (filled.loc[known, "amount"] == holes.loc[known, "amount"]).all()
    assert set(filled["segment"]) <= {"retail", "business", "private"}


def test_a_table_of_keys_only_is_generated_without_a_model():
    df = pd.DataFrame({"id": range(1, 31), "code": [f"K{i:04d}" for i in range(30)]})
    out = Synthesizer(model="argn").fit(df).sample(50, seed=0)
    assert len(out) == 50 and out["id"].is_unique and out["code"].is_unique


def test_an_unknown_generator_setting_fails_before_any_data_is_read():
    with pytest.raises(LookalikeError, match="has no setting 'bogus'; its settings are: seed, shrinkage"):
        Synthesizer(model="copula", model_params={"bogus": 1})


def test_sample_to_file_draws_the_next_batch_while_writing_this_one_and_writes_the_same_rows(mixed_table, tmp_path,
                                                                                             monkeypatch):
    import threading

    syn = Synthesizer(model="argn", seed=0, max_epochs=2).fit(mixed_table)
    where = []
    real = syn.model_.sample

    def recording(*args, **kwargs):
        where.append(threading.current_thread().name)
        return real(*args, **kwargs)

    monkeypatch.setattr(syn.model_, "sample", recording)
    path = syn.sample_to_file(250, tmp_path / "ahead.parquet", seed=5, batch_size=100)
    # each of the 3 batches' first draw in the background (a rule's redraws, if any, in the caller's thread)
    assert sum(name.startswith("lookalike-prefetch") for name in where) == 3
    where.clear()
    monkeypatch.setattr(Synthesizer, "_prefetches", lambda self, fair: False)
    plain = syn.sample_to_file(250, tmp_path / "plain.parquet", seed=5, batch_size=100)
    assert where and not any(name.startswith("lookalike-prefetch") for name in where)
    pd.testing.assert_frame_equal(pd.read_parquet(path), pd.read_parquet(plain))
    whole = syn.sample(250, seed=5)  # one batch of 250: other batch seeds, so only the shape is comparable
    assert list(pd.read_parquet(path).columns) == list(whole.columns)
