"""Fitting from a folder of Parquet files, read one partition at a time (no Ray needed): the codecs'
statistics merged over partitions are exact, so the model equals the one fitted on the whole DataFrame when
the schema is the same, and stays within the metrics' noise when the schema comes from a sample."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from lookalike import Synthesizer
from lookalike.cli import main
from lookalike.distributed.streaming import fit_streaming
from lookalike.errors import LookalikeError
from lookalike.evaluate import evaluate


def table(n: int = 3000, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    g = rng.choice(["a", "b", "c", "d"], n, p=[0.4, 0.3, 0.2, 0.1])
    x = np.round(rng.normal(size=n) + (g == "a") * 2, 2)
    return pd.DataFrame({"id": np.arange(n), "g": g, "x": x, "y": (x * 10 + rng.integers(0, 20, n)).astype(int),
                         "when": pd.Timestamp("2020-01-01") + pd.to_timedelta(rng.integers(0, 500, n), unit="D"),
                         "flag": rng.random(n) < 0.2 + 0.3 * (g == "b")})


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    df = table()
    folder = tmp_path_factory.mktemp("parts")
    for i in range(4):
        df.iloc[i * 750:(i + 1) * 750].to_parquet(folder / f"part-{i}.parquet", index=False)
    return df, folder


def test_folder_fit_is_the_dataframe_fit(data):
    df, folder = data
    whole = Synthesizer(model="copula", seed=1).fit(df)
    parts = Synthesizer(model="copula", seed=1).fit(folder)
    assert parts.n_rows_ == len(df) and parts.columns_ == list(df.columns)
    assert parts.schema_.to_dict() == whole.schema_.to_dict()
    assert parts.encoder_.get_state()[0] == whole.encoder_.get_state()[0]
    pd.testing.assert_frame_equal(parts.sample(1000, seed=2), whole.sample(1000, seed=2))


def test_schema_from_a_sample_stays_within_the_noise(data):
    df, folder = data
    train, holdout = df.iloc[:2400], df.iloc[2400:]
    train_folder = folder.parent / "train"
    train_folder.mkdir()
    for i in range(3):
        train.iloc[i * 800:(i + 1) * 800].to_parquet(train_folder / f"p{i}.parquet", index=False)
    scores = {}
    for seed in (1, 2):
        syn = Synthesizer(model="copula", seed=seed).fit(train)
        scores[f"df{seed}"] = evaluate(train, syn.sample(2400, seed=seed), holdout).metrics["bivariate_accuracy"]
    streamed = fit_streaming(Synthesizer(model="copula", seed=1), train_folder, sample_rows=600, batch_rows=500)
    scores["folder"] = evaluate(train, streamed.sample(2400, seed=1), holdout).metrics["bivariate_accuracy"]
    noise = abs(scores["df1"] - scores["df2"])
    assert abs(scores["folder"] - scores["df1"]) <= max(2 * noise, 0.01), scores


def test_bad_folders_are_named(data, tmp_path):
    df, _ = data
    with pytest.raises(LookalikeError, match="no Parquet files"):
        Synthesizer(model="copula").fit(tmp_path)
    df.iloc[:100].to_parquet(tmp_path / "a.parquet", index=False)
    df.iloc[100:200].drop(columns=["flag"]).to_parquet(tmp_path / "b.parquet", index=False)
    with pytest.raises(LookalikeError, match="b.parquet"):
        Synthesizer(model="copula").fit(tmp_path)
    with pytest.raises(LookalikeError, match="differential privacy"):
        Synthesizer(model="dp-marginals", dp={"epsilon": 1.0}).fit(tmp_path)


def test_cli_fits_a_folder(data, tmp_path):
    _, folder = data
    assert main(["fit", str(folder), "-o", str(tmp_path / "m.lookalike"), "--model", "copula"]) == 0
    assert len(Synthesizer.load(tmp_path / "m.lookalike").sample(50)) == 50
