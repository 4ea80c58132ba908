"""Fit one lookalike generator through its public Python API and sample as many rows as it was trained on.

Started by benchmarks/compare.py with the project's own interpreter and PYTHONPATH=src:
    python benchmarks/peers/run_lookalike.py --train T.csv --generator lookalike_argn --out-csv S.csv --out-json S.json
It runs in a fresh process, like every peer, so that peak memory and fit time are measured the same way for
all generators (an in-process run would carry the judge's own memory and warm caches into the numbers).
"""
from __future__ import annotations

import pandas as pd

from _measure import Stopwatch, machine_note, parse_args, write_outputs

MODELS = {"lookalike_copula": "copula", "lookalike_argn": "argn"}


def main() -> None:
    args = parse_args(__doc__.splitlines()[0], list(MODELS))
    started = machine_note()
    import torch

    import lookalike
    from lookalike import Synthesizer

    train = pd.read_csv(args.train)
    model = MODELS[args.generator]
    with Stopwatch() as fit_clock:
        synthesizer = Synthesizer(model=model, seed=args.seed).fit(train)
    with Stopwatch() as sample_clock:
        synthetic = synthesizer.sample(len(train), seed=args.seed)
    versions = {"lookalike": lookalike.__version__, "torch": torch.__version__, "pandas": pd.__version__,
                "torch_threads": torch.get_num_threads()}
    write_outputs(args, synthetic, fit_clock, sample_clock, versions,
                  extra={"peer_class": f"lookalike.Synthesizer(model={model!r}, seed={args.seed})",
                         "rows_train": len(train)}, started=started)


if __name__ == "__main__":
    main()
