"""Sharded sampling on a local Ray cluster that this module starts (2 CPUs, small object store).

What users rely on: the parts are exactly the one-process sample for the same seed, whatever the number of
workers; a worker killed mid-task is retried without a lost or duplicated row; failures leave no folder."""
from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

ray = pytest.importorskip("ray")

from lookalike import Synthesizer  # noqa: E402
from lookalike.cli import main  # noqa: E402
from lookalike.distributed import sampling  # noqa: E402
from lookalike.errors import LookalikeError  # noqa: E402
from lookalike.synthesizer import BATCH_ROWS  # noqa: E402

N, BATCH = 2_500, 1_000  # three parts, the last one short


@pytest.fixture(scope="module")
def syn(tmp_path_factory) -> Synthesizer:
    """argn (torch) on a table with string keys, numbers, categories and missing values."""
    rng = np.random.default_rng(1)
    n = 400
    group = rng.choice(["a", "b", "c"], n, p=[0.5, 0.3, 0.2])
    df = pd.DataFrame({"account": [f"AC-{i:05d}" for i in range(n)], "group": group,
                       "amount": np.round(rng.lognormal(3, 1, n) * np.where(group == "a", 1, 3), 2),
                       "flag": rng.random(n) < 0.3})
    df.loc[rng.random(n) < 0.1, "amount"] = np.nan
    return Synthesizer(model="argn", max_epochs=2, seed=1).fit(df)


def read_parts(folder: Path) -> pd.DataFrame:
    return pd.concat([pd.read_parquet(p) for p in sorted(folder.glob("part-*.parquet"))], ignore_index=True)


def one_process(syn, n=N, seed=7, **kwargs) -> pd.DataFrame:
    return pd.concat(syn.sample_batches(n, seed=seed, batch_size=BATCH, **kwargs), ignore_index=True)


def test_batch_size_matches_the_synthesizers():
    assert sampling.BATCH_ROWS == BATCH_ROWS


def test_parts_are_the_one_process_sample_with_one_or_two_workers(cluster, syn, tmp_path):
    expected = one_process(syn)
    assert expected["account"].is_unique
    outputs = []
    for workers in (1, 2):
        result = syn.sample_to_folder_ray(N, tmp_path / f"w{workers}", seed=7, batch_size=BATCH,
                                          max_workers=workers)
        assert result.parts == ["part-00000.parquet", "part-00001.parquet", "part-00002.parquet"]
        assert sorted(p.name for p in (tmp_path / f"w{workers}").iterdir()) == result.parts
        assert sum(w["rows"] for w in result.per_worker().values()) == N
        outputs.append(read_parts(tmp_path / f"w{workers}"))
    pd.testing.assert_frame_equal(outputs[0], outputs[1])
    pd.testing.assert_frame_equal(outputs[0], expected)
    assert not list(tmp_path.glob(".*"))  # no temporary folder or file left


def test_dataset_holds_the_same_rows(cluster, syn):
    ds = syn.sample_to_ray(N, seed=7, batch_size=BATCH)
    assert isinstance(ds, ray.data.Dataset)
    got = ds.to_pandas()
    expected = one_process(syn)
    assert len(got) == N
    key = "account"
    got = got.sort_values(key).reset_index(drop=True)
    expected = expected.sort_values(key).reset_index(drop=True)
    for col in expected.columns:  # Ray Data hands back Arrow-backed dtypes; the values must be the same
        assert got[col].astype(object).where(got[col].notna(), None).tolist() == \
            expected[col].astype(object).where(expected[col].notna(), None).tolist(), col


def test_refusals_leave_nothing_behind(cluster, syn, tmp_path):
    unique = Synthesizer.__new__(Synthesizer)
    unique.__dict__.update(syn.__dict__)
    unique.rules_ = type(syn.rules_).from_state({"rules": [{"type": "unique", "columns": ["group", "amount"]}]},
                                                syn.schema_)
    with pytest.raises(LookalikeError, match="unique"):
        unique.sample_to_folder_ray(N, tmp_path / "out", batch_size=BATCH)
    with pytest.raises(LookalikeError, match="never seen"):
        syn.sample_to_folder_ray(N, tmp_path / "out", batch_size=BATCH, conditions={"group": "zzz"})
    (tmp_path / "full").mkdir()
    (tmp_path / "full" / "x.txt").write_text("keep me")
    with pytest.raises(LookalikeError, match="--force"):
        syn.sample_to_folder_ray(N, tmp_path / "full", batch_size=BATCH)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["full"]
    assert (tmp_path / "full" / "x.txt").read_text() == "keep me"


def test_cli_sample_ray(cluster, syn, tmp_path, capsys):
    model = tmp_path / "m.lookalike"
    syn.save(model)
    assert main(["sample", str(model), "-n", "250", "-o", str(tmp_path / "out"), "--seed", "7", "--where",
                 "group=b", "--ray"]) == 0
    got = read_parts(tmp_path / "out")
    assert (got["group"] == "b").all()
    pd.testing.assert_frame_equal(got, syn.sample(250, seed=7, conditions={"group": "b"}))
    assert main(["sample", str(model), "-n", "250", "-o", str(tmp_path / "out"), "--ray"]) == 1
    assert "--force" in capsys.readouterr().err
    assert main(["sample", str(model), "-n", "250", "-o", str(tmp_path / "x.parquet"), "--ray"]) == 1
    assert "folder of Parquet parts" in capsys.readouterr().err


def test_a_killed_worker_is_retried_without_lost_or_duplicated_rows(cluster, syn, tmp_path):
    marker = tmp_path / "killed-once"

    class DiesOnce(Synthesizer):
        """Batch 1's first attempt leaves a half-written temporary part and kills its worker process."""

        def sample_batch(self, index, *args, **kwargs):
            if index == 1 and not marker.exists():
                marker.touch()
                work = next(tmp_path.glob(".out.*.partial"))
                (work / ".part-00001.parquet.half.tmp").write_bytes(b"PAR1 half")
                os._exit(1)
            return super().sample_batch(index, *args, **kwargs)

    dying = DiesOnce.__new__(DiesOnce)
    dying.__dict__.update(syn.__dict__)
    result = sampling.sample_to_folder(dying, N, tmp_path / "out", seed=7, batch_size=BATCH)
    assert marker.exists()  # the kill happened
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == result.parts  # one file per batch, no stray
    pd.testing.assert_frame_equal(read_parts(tmp_path / "out"), one_process(syn))


def test_fit_from_a_ray_dataset_is_the_dataframe_fit(cluster):
    rng = np.random.default_rng(3)
    n = 600
    g = rng.choice(["a", "b", "c"], n)
    df = pd.DataFrame({"g": g, "x": np.round(rng.normal(size=n) + (g == "a"), 2), "k": rng.integers(0, 9, n)})
    whole = Synthesizer(model="copula", seed=1).fit(df)
    streamed = Synthesizer(model="copula", seed=1).fit(ray.data.from_pandas([df.iloc[:250], df.iloc[250:]]))
    assert streamed.n_rows_ == n
    assert streamed.encoder_.get_state()[0] == whole.encoder_.get_state()[0]
    pd.testing.assert_frame_equal(streamed.sample(500, seed=2), whole.sample(500, seed=2))


def test_fit_from_a_parquet_dataset_samples_numpy_types(cluster, tmp_path):
    """Ray Data reads Parquet into Arrow-backed pandas columns (int64[pyarrow]); the model keeps numpy types."""
    rng = np.random.default_rng(4)
    df = pd.DataFrame({"g": rng.choice(["a", "b"], 300), "k": rng.integers(0, 9, 300),
                       "when": pd.Timestamp("2022-01-01") + pd.to_timedelta(rng.integers(0, 99, 300), unit="D")})
    df.to_parquet(tmp_path / "t.parquet", index=False)
    syn = Synthesizer(model="copula", seed=1).fit(ray.data.read_parquet(str(tmp_path)))
    assert syn.sample(100, seed=1).dtypes.to_dict() == df.dtypes.to_dict()
