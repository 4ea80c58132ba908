"""Fit from a table read one partition at a time: a folder of Parquet files, or a ``ray.data.Dataset``.

``Synthesizer.fit(folder_or_dataset)`` comes here. Three passes over the partitions, each holding one
partition at a time:

1. the number of rows and a uniform sample of at most ``sample_rows`` rows (bottom-k of random keys seeded
   by the Synthesizer's seed; the whole table, in its order, when it is no larger). From the sample: the
   inferred schema (with its detected rules), which numeric pairs are learned as differences, the
   combination rules' lookups and the PII columns' formats;
2. every codec's statistics (``TableEncoder.analyse``) per partition, merged with ``encoding.base.merge_stats``
   (counts add up) and protected once (``reduce``) on the merged counts. They are exact: the codecs learn
   exactly what they learn from the whole table in memory, given the same schema. They hold one count per
   distinct value of each column, so their size grows with the distinct values, not with the rows;
3. without ``ray``: the encoded partitions (integer tokens, one per learned sub-column and row) gathered for
   the generator, which trains in this process on every row's tokens: the token matrix (8 bytes per
   sub-column and row) must fit in memory, the table itself never has to. With ``ray``: argn trains
   data-parallel on Ray Train workers, each encoding only its own shard (``lookalike.distributed.training``),
   so not even the token matrix is ever whole in one process.

A folder is read with pyarrow and needs no Ray; a Dataset is iterated from this process (``iter_batches``).
"""
from __future__ import annotations

import logging
from pathlib import Path
from typing import Callable, Iterator

import numpy as np
import pandas as pd

from lookalike.encoding.base import merge_stats
from lookalike.encoding.table import TableEncoder, relative_pairs
from lookalike.errors import LookalikeError
from lookalike.privacy.pii import learn_pii_format
from lookalike.rules import RuleSet
from lookalike.schema.columns import Kind

SAMPLE_ROWS = 200_000
BATCH_ROWS = 100_000
PARQUET = (".parquet", ".pq")

log = logging.getLogger(__name__)


def parquet_files(folder) -> list[Path]:
    """The folder's Parquet files in name order, or an error naming the folder when it has none."""
    folder = Path(folder)
    files = sorted(p for p in folder.iterdir() if p.suffix.lower() in PARQUET and not p.name.startswith("."))
    if not files:
        raise LookalikeError(f"{folder}: no Parquet files (*.parquet) in this folder")
    return files


def partitions(source, batch_rows: int = BATCH_ROWS) -> Callable[[], Iterator[pd.DataFrame]]:
    """A function that reads ``source`` again from its start, yielding DataFrames of at most ``batch_rows``.

    Every partition must have the first one's columns; a file that differs is named."""
    if isinstance(source, (str, Path)):
        files = parquet_files(source)

        def read() -> Iterator[pd.DataFrame]:
            import pyarrow.parquet as pq

            columns = None
            for path in files:
                try:
                    reader = pq.ParquetFile(path)
                except Exception as exc:
                    raise LookalikeError(f"{path}: cannot read Parquet file ({exc})") from None
                names = reader.schema_arrow.names
                columns = columns or names
                if names != columns:
                    raise LookalikeError(f"{path}: columns {names} differ from the first file's {columns}")
                for batch in reader.iter_batches(batch_size=batch_rows):
                    yield batch.to_pandas()
        return read

    def read_dataset() -> Iterator[pd.DataFrame]:  # via Arrow: numpy dtypes, as from a folder (not int64[pyarrow])
        for batch in source.iter_batches(batch_size=batch_rows, batch_format="pyarrow"):
            yield batch.to_pandas()
    return read_dataset


def uniform_sample(parts: Iterator[pd.DataFrame], size: int, seed: int) -> tuple[int, pd.DataFrame]:
    """(rows, a uniform sample of at most ``size`` rows in table order): the rows with the smallest random keys."""
    rng = np.random.default_rng([seed, 13])
    kept: pd.DataFrame | None = None
    n = 0
    for part in parts:
        part = part.reset_index(drop=True)
        keys = rng.random(len(part))
        part = part.assign(__key=keys, __row=np.arange(n, n + len(part)))
        n += len(part)
        kept = part if kept is None else pd.concat([kept, part], ignore_index=True)
        if len(kept) > size:
            kept = kept.nsmallest(size, "__key")
    if kept is None or n == 0:
        raise LookalikeError("the data has no rows")
    kept = kept.sort_values("__row").drop(columns=["__key", "__row"]).reset_index(drop=True)
    return n, kept


def fit_streaming(syn, source, sample_rows: int = SAMPLE_ROWS, batch_rows: int = BATCH_ROWS, progress=None,
                  ray=None, workers: int | None = None):
    """Fit ``syn`` on ``source`` one partition at a time (module docstring); returns ``syn``.

    ray: None trains in this process on the gathered tokens (pass 3); True (Ray's default address) or an
    address trains argn data-parallel on ``workers`` Ray Train workers instead, each reading its own shard
    (``lookalike.distributed.training``): then no process ever holds every row's tokens."""
    if syn.dp is not None:
        raise LookalikeError("differential privacy needs the table in memory (a DataFrame); a folder or Dataset "
                             "is read in partitions")
    syn._check_hidden_entities(streaming=True)
    if ray is not None and ray is not False:
        from lookalike.distributed.cluster import require_ray
        from lookalike.distributed.training import check_model

        check_model(syn)
        require_ray()
    read = partitions(source, batch_rows)
    if progress:
        progress(0.0, "reading a sample")
    n, sample = uniform_sample(read(), sample_rows, syn.seed)
    syn._check_rows(n)
    syn.dp_ = None
    syn.schema_ = syn._resolve_schema(sample)
    syn.rules_ = RuleSet(syn.schema_.rules, syn.schema_).fit(sample, k=syn.schema_.k)
    encoder = TableEncoder(syn.schema_, seed=syn.seed)
    relative = relative_pairs(sample, syn.schema_, encoder._prepare)
    if progress:
        progress(0.02, "statistics, one partition at a time")
    stats = None
    for part in read():
        counted = encoder.analyse(part, relative=relative, pii=False)
        stats = counted if stats is None else merge_stats(stats, counted)
    for col in syn.schema_.columns:  # formats are shares, not counts: learned from the sample
        if col.kind == Kind.PII:
            stats["columns"][col.name] = {"format": learn_pii_format(col.options.get("pii"), sample[col.name])}
    syn.encoder_ = encoder.reduce(stats)
    if ray is not None and ray is not False and encoder.cardinalities_:
        from lookalike.distributed.training import train_argn

        sub = (lambda f, msg: progress(0.05 + 0.95 * f, msg)) if progress else None
        files = [str(p) for p in parquet_files(source)] if isinstance(source, (str, Path)) else None
        syn.model_ = train_argn(syn, files, source, n, encoder.encode(sample), address=None if ray is True else ray,
                                workers=workers, progress=sub)
        syn.model_reason_ = f"data-parallel training on {syn.model_.training_['workers']} Ray Train workers"
        syn._fit_fairness()
    else:
        if progress:
            progress(0.04, "encoding, one partition at a time")
        tokens = np.concatenate([encoder.encode(part) for part in read()])
        syn._fit_generator(tokens, n, progress)
    syn._drop_pairs_the_model_keeps(sample)
    syn.text_models_ = {}  # the language model trains on whole texts in memory: the word chain writes them here
    texts = [c.name for c in syn.schema_.columns if c.kind == Kind.TEXT]
    if texts and syn.text_model != "chain":
        log.warning("fitting from partitions: free-text column(s) %s are written by the word chain, not the "
                    "language model (it needs every text in memory)", ", ".join(map(repr, texts)))
    syn.n_rows_ = n
    syn.columns_ = list(sample.columns)
    return syn
