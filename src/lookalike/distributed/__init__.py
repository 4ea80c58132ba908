"""Beyond one machine, on Ray (the optional extra ``pip install "lookalike[ray]"``).

Only the code here imports Ray, and only when a ``--ray`` command or a ``*_ray`` method runs: without it
nothing changes and Ray is never loaded. One module per job:

- ``options``: the ``--ray [ADDRESS]`` command-line option (imports nothing from Ray).
- ``cluster``: connect to a cluster (or start a local one) for the length of one piece of work.
- ``sampling``: sharded sampling, one Ray task per batch, each writing its own Parquet part.
- ``fitting``: independent fits at the same time (the tables of a database, the generators of a comparison).
- ``streaming``: fit from a folder of Parquet files (no Ray needed) or a ``ray.data.Dataset``, one partition at
  a time, the codecs' statistics merged with ``encoding.base.merge_stats``.
- ``training``: with ``fit(..., ray=...)``, argn trained data-parallel with Ray Train (TorchTrainer, gloo DDP),
  each worker streaming its own shard.
"""
