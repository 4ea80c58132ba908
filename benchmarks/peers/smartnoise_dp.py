"""smartnoise-synth MST or AIM on one benchmark table (run in its own venv, /work/venvs/smartnoise).

    python smartnoise_dp.py TABLE SEED mst|aim EPSILON OUT.csv

Reads benchmarks/.cache/TABLE/seedSEED/train.csv (written by benchmarks/datasets.py), fits at (EPSILON, 1e-5), writes
as many synthetic rows as the training table has, and prints one JSON line with its CPU seconds.
Numbers are binned by smartnoise's own transformer, whose bounds cost ``preprocessor_eps`` (30% of
epsilon, taken from the total). Categories of the other columns are read from the data by smartnoise's
transformer without a mechanism (its documented behaviour when none are declared): in this respect the peer
gets a data dictionary for free.
"""
import json
import sys
import time
import warnings
from pathlib import Path

import pandas as pd

warnings.filterwarnings("ignore")


def main():
    name, seed, peer, eps, out = sys.argv[1], int(sys.argv[2]), sys.argv[3], float(sys.argv[4]), Path(sys.argv[5])
    from snsynth import Synthesizer

    train = pd.read_csv(Path(__file__).resolve().parent.parent / ".cache" / name / f"seed{seed}" / "train.csv")
    numeric = [c for c in train.columns if pd.api.types.is_numeric_dtype(train[c]) and train[c].nunique() > 20]
    categorical = [c for c in train.columns if c not in numeric]
    df = train.copy()
    for c in categorical:
        df[c] = df[c].astype(str)
    t0 = time.process_time()
    synth = Synthesizer.create(peer, epsilon=eps, delta=1e-5)
    synth.fit(df, categorical_columns=categorical, continuous_columns=numeric, preprocessor_eps=0.3 * eps,
              nullable=bool(df.isna().any().any()))
    fake = synth.sample(len(train))
    for c in categorical:  # back to the training table's types
        if pd.api.types.is_numeric_dtype(train[c]) or pd.api.types.is_bool_dtype(train[c]):
            fake[c] = pd.to_numeric(fake[c], errors="coerce")
    out.parent.mkdir(parents=True, exist_ok=True)
    fake[train.columns].to_csv(out, index=False)
    print(json.dumps({"cpu_s": round(time.process_time() - t0, 1), "rows": len(fake)}))


if __name__ == "__main__":
    main()
