"""Fit SDV's HMASynthesizer at its default settings on a folder of tables and sample a database of the same
size (scale 1). Runs INSIDE the sdv virtualenv, started by benchmarks/relational.py:

    /work/venvs/sdv/bin/python benchmarks/peers/run_sdv_hma.py IN_DIR OUT_DIR

IN_DIR holds one CSV per table and keys.json ({tables: {name: {primary_key: [col], foreign_keys:
[{columns: [col], references: table}]}}}). Column types are detected by SDV; key columns are declared as
ids and the relationships from keys.json, as an SDV user would do. Writes OUT_DIR/<table>.csv and
OUT_DIR/timing.json (fit wall and CPU seconds, sample seconds). Uses only pandas, SDV and the standard library.
"""
from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path

import pandas as pd


def _cpu() -> float:
    t = os.times()
    return t.user + t.system + t.children_user + t.children_system


def main() -> None:
    src, out = Path(sys.argv[1]), Path(sys.argv[2])
    from sdv.metadata import Metadata
    from sdv.multi_table import HMASynthesizer

    keys = json.loads((src / "keys.json").read_text())["tables"]
    data = {name: pd.read_csv(src / f"{name}.csv") for name in keys}
    started, cpu = time.perf_counter(), _cpu()
    # SDV detects column types (and guesses relationships, which are replaced by the declared ones)
    metadata = Metadata.detect_from_dataframes(data=data, infer_keys=None)
    for name, k in keys.items():
        for col in k.get("primary_key") or []:
            metadata.update_column(table_name=name, column_name=col, sdtype="id")
            metadata.set_primary_key(table_name=name, column_name=col)
        for fk in k.get("foreign_keys", []):
            metadata.update_column(table_name=name, column_name=fk["columns"][0], sdtype="id")
    for name, k in keys.items():
        for fk in k.get("foreign_keys", []):
            metadata.add_relationship(parent_table_name=fk["references"], child_table_name=name,
                                      parent_primary_key=keys[fk["references"]]["primary_key"][0],
                                      child_foreign_key=fk["columns"][0])
    synthesizer = HMASynthesizer(metadata)
    synthesizer.fit(data)
    fit_s, fit_cpu_s = time.perf_counter() - started, _cpu() - cpu
    started = time.perf_counter()
    roots = [n for n, k in keys.items() if not k.get("foreign_keys")]
    main_table = max(roots, key=lambda n: len(data[n]))  # SDV 2 scales the database by a main table's rows
    synthetic = synthesizer.sample(num_rows=len(data[main_table]), main_table_name=main_table)
    sample_s = time.perf_counter() - started
    out.mkdir(parents=True, exist_ok=True)
    for name, df in synthetic.items():
        df.to_csv(out / f"{name}.csv", index=False)
    (out / "timing.json").write_text(json.dumps({"fit_s": fit_s, "fit_cpu_s": fit_cpu_s, "sample_s": sample_s}))


if __name__ == "__main__":
    main()
