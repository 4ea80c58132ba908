"""Fit one SDV single-table synthesizer at its default settings and sample as many rows as it was trained on.

Runs INSIDE the sdv virtualenv (see setup_peers.sh), started by benchmarks/run_peers.py:
    /work/venvs/sdv/bin/python benchmarks/peers/run_sdv.py --train T.csv --generator sdv_ctgan \
        --out-csv S.csv --out-json S.json
Metadata is detected from the dataframe (SDV 2.x: `Metadata.detect_from_dataframes`), as an SDV user would do
first; nothing is tuned. The detected metadata is saved in the JSON record so odd detections can be checked.
"""
from __future__ import annotations

import random

import numpy as np
import pandas as pd

from _measure import Stopwatch, machine_note, parse_args, write_outputs

GENERATORS = {
    "sdv_gaussian_copula": "GaussianCopulaSynthesizer",
    "sdv_ctgan": "CTGANSynthesizer",
    "sdv_tvae": "TVAESynthesizer",
}


def main() -> None:
    args = parse_args(__doc__.splitlines()[0], list(GENERATORS))
    started = machine_note()
    import sdv
    import sdv.single_table as single_table
    import torch
    from sdv.metadata import Metadata

    random.seed(args.seed)
    np.random.seed(args.seed)
    torch.manual_seed(args.seed)

    train = pd.read_csv(args.train)
    synthesizer_cls = getattr(single_table, GENERATORS[args.generator])
    with Stopwatch() as fit_clock:
        # SDV 2.x takes and returns {table name: DataFrame}, even for a single table.
        metadata = Metadata.detect_from_dataframes({"table": train})
        synthesizer = synthesizer_cls(metadata)
        synthesizer.fit({"table": train})
    with Stopwatch() as sample_clock:
        synthetic = synthesizer.sample(num_rows=len(train))
        if isinstance(synthetic, dict):
            (synthetic,) = synthetic.values()
    versions = {"sdv": sdv.__version__, "torch": torch.__version__, "pandas": pd.__version__,
                "torch_threads": torch.get_num_threads()}
    write_outputs(args, synthetic, fit_clock, sample_clock, versions,
                  extra={"peer_class": GENERATORS[args.generator], "rows_train": len(train),
                         "detected_metadata": metadata.to_dict()}, started=started)


if __name__ == "__main__":
    main()
