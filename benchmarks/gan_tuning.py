"""One tuning run of a family generator on a tuning split (never a reported seed), as one JSON line on stdout.

    OMP_NUM_THREADS=1 nice -n 5 python benchmarks/gan_tuning.py TABLE SEED MODEL ['{"param": value, ...}'] >> runs.jsonl

The latent GAN's defaults (src/lookalike/models/gan.py) were chosen from the runs in benchmarks/gan_tuning_runs.jsonl,
made with this script on the seed-42/43/44 splits of benchmarks/datasets.py. Each record names the settings given
(``params``) and, for the GAN, the defaults in force when it ran (``defaults_then``) and the precision of the GAN
stage's matrix products (the first six GAN runs trained the GAN stage in float32; bfloat16 came after). The
records' fit CPU seconds were taken on the shared 2-core machine, so they move with its load. Those records hold
the GAN stage's epochs as ``gan_epochs`` and the autoencoder's as ``ae_epochs``; this script writes ``epochs`` (the
generator's ``history_``: the GAN stage's epochs for the GAN).
"""
from __future__ import annotations

import json
import resource
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import datasets  # noqa: E402

KEYS = ("univariate_accuracy", "bivariate_accuracy", "bivariate_floor", "bivariate_accuracy_holdout",
        "dependence_capture", "discriminator_auc", "dcr_share", "tstr_score", "trtr_score")


def cpu_seconds() -> float:
    own = resource.getrusage(resource.RUSAGE_SELF)
    return own.ru_utime + own.ru_stime


def main(argv: list[str]) -> int:
    from lookalike import Synthesizer
    from lookalike.evaluate import evaluate

    table, seed, model = argv[0], int(argv[1]), argv[2]
    params = json.loads(argv[3]) if len(argv) > 3 else {}
    if seed in datasets.SEEDS:
        raise SystemExit(f"seed {seed} is a reported seed ({datasets.SEEDS}); tune on another split")
    train, holdout, meta = datasets.load(table, seed)
    cpu, wall = cpu_seconds(), time.perf_counter()
    syn = Synthesizer(model=model, seed=seed, model_params=params).fit(train)
    fit_cpu, fit_wall = cpu_seconds() - cpu, time.perf_counter() - wall
    metrics = evaluate(train, syn.sample(len(train), seed=seed), holdout, target=meta["target"], seed=0).metrics
    record = {"table": table, "seed": seed, "model": model, "params": params, "fit_cpu": round(fit_cpu, 1),
              "fit_wall": round(fit_wall, 1), "epochs": len(getattr(syn.model_, "history_", [])),
              **{k: (round(metrics[k], 3) if isinstance(metrics.get(k), float) else metrics.get(k)) for k in KEYS}}
    print(json.dumps(record))
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
