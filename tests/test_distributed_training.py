"""Data-parallel training of argn with Ray Train (2 CPU workers, DDP) on a local Ray cluster this module starts.

What users rely on: ``lookalike fit FOLDER --ray`` trains from a Parquet folder that no process holds whole,
the model samples the table's columns with their types, the same seed gives the same model, the model file
holds no training row, and wrong input is refused before any work with a message naming what is wrong."""
from __future__ import annotations

import json
import sys
import zipfile

import numpy as np
import pandas as pd
import pytest

ray = pytest.importorskip("ray")

from lookalike import Synthesizer  # noqa: E402
from lookalike.cli import main  # noqa: E402
from lookalike.distributed.training import parquet_pieces, token_batches  # noqa: E402
from lookalike.errors import LookalikeError  # noqa: E402


def table(n: int = 2400, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    g = rng.choice(["north", "south", "east"], n, p=[0.5, 0.3, 0.2])
    x = np.round(rng.normal(size=n) + (g == "north") * 3, 3)
    return pd.DataFrame({"order_id": [f"ORD-{i:06d}" for i in range(n)], "region": g, "x": x,
                         "units": (x * 4 + rng.integers(0, 5, n)).astype(np.int64),
                         "day": pd.Timestamp("2021-01-01") + pd.to_timedelta(rng.integers(0, 300, n), unit="D"),
                         "paid": rng.random(n) < 0.3 + 0.4 * (g == "south")})


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    df = table()
    folder = tmp_path_factory.mktemp("parts")
    for i in range(3):
        df.iloc[i * 800:(i + 1) * 800].to_parquet(folder / f"part-{i}.parquet", index=False)
    return df, folder


@pytest.fixture(scope="module")
def fitted(cluster, data, tmp_path_factory):
    """``lookalike fit FOLDER --ray --ray-workers 2``: the model file and what it loads as."""
    _, folder = data
    path = tmp_path_factory.mktemp("model") / "m.lookalike"
    assert main(["fit", str(folder), "-o", str(path), "--model", "argn", "--seed", "3", "--max-epochs", "8",
                 "--ray", "--ray-workers", "2"]) == 0
    return path, Synthesizer.load(path)


def test_each_worker_reads_its_own_pieces(data):
    df, folder = data
    files = sorted(str(p) for p in folder.glob("*.parquet"))
    shards = [pd.concat(parquet_pieces(files, rank, 2, piece_rows=300)) for rank in range(2)]
    ids = [set(s["order_id"]) for s in shards]
    assert not ids[0] & ids[1] and ids[0] | ids[1] == set(df["order_id"])
    assert abs(len(shards[0]) - len(shards[1])) <= 300  # pieces alternate: a sorted folder is spread over both


def test_token_batches_are_full_and_cover_every_row_once_per_pass():
    class Identity:
        def encode(self, part):
            return part.to_numpy()

    parts = [pd.DataFrame({"t": np.arange(i, i + 70)}) for i in range(0, 210, 70)]
    batches = token_batches(lambda: iter(parts), Identity(), batch=50, seed=1, rank=0)
    first = np.concatenate([next(batches) for _ in range(4)])  # 200 of the pass's 210 rows, shuffled
    assert first.shape == (200, 1) and len(np.unique(first)) == 200
    second = np.concatenate([next(batches) for _ in range(4)])  # the 10 left over start the next pass
    assert np.isin(np.setdiff1d(np.arange(210), first), second).all()


def test_two_workers_train_a_model_that_samples_the_columns_and_types(fitted, data):
    df, _ = data
    _, syn = fitted
    assert syn.model_.name == "argn" and syn.n_rows_ == len(df)
    assert "2 Ray Train workers" in syn.model_reason_
    fake = syn.sample(2000, seed=1)
    assert list(fake.columns) == list(df.columns)
    assert fake.dtypes.to_dict() == df.dtypes.to_dict()
    assert set(fake["region"]) <= set(df["region"])
    # it learned the dependence: x is higher in the north, as in the data
    assert fake.loc[fake.region == "north", "x"].mean() > fake.loc[fake.region != "north", "x"].mean() + 1.5


def test_same_seed_same_model(fitted, cluster, data):
    _, folder = data
    _, first = fitted
    again = Synthesizer(model="argn", seed=3, max_epochs=8).fit(folder, ray=True, workers=2)
    pd.testing.assert_frame_equal(first.sample(1000, seed=5), again.sample(1000, seed=5))
    workers = again.model_.workers_  # two processes, each through every step
    assert [w["rank"] for w in workers] == [0, 1] and len({w["pid"] for w in workers}) == 2
    assert all(w["steps"] == again.model_.training_["steps"] for w in workers)


def test_model_file_holds_no_training_row(fitted, data):
    df, _ = data
    path, _ = fitted
    with zipfile.ZipFile(path) as zf:
        blob = b"".join(zf.read(name) for name in zf.namelist())
        meta = json.loads(zf.read("model.json"))
    assert not any(key.encode() in blob for key in df["order_id"])
    assert meta["model_name"] == "argn"


def test_refused_before_any_work(cluster, data, tmp_path, monkeypatch, capsys):
    df, folder = data
    with pytest.raises(LookalikeError, match="model 'copula' trains in one process"):
        Synthesizer(model="copula").fit(folder, ray=True)
    (tmp_path / "empty").mkdir()
    with pytest.raises(LookalikeError, match="no Parquet files"):
        Synthesizer(model="argn").fit(tmp_path / "empty", ray=True)
    with pytest.raises(LookalikeError, match="a DataFrame is fitted in this process"):
        Synthesizer(model="argn").fit(df, ray=True)
    df.to_csv(tmp_path / "t.csv", index=False)
    assert main(["fit", str(tmp_path / "t.csv"), "-o", str(tmp_path / "m.lookalike"), "--ray"]) == 1
    assert "--ray trains from a folder of Parquet files" in capsys.readouterr().err
    monkeypatch.setitem(sys.modules, "ray", None)  # as if Ray were not installed
    with pytest.raises(LookalikeError, match=r'pip install "lookalike\[ray\]"'):
        Synthesizer(model="argn").fit(folder, ray=True)
