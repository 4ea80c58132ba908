"""Tuning runs for the text language model, on a split that benchmarks/text.py never reports.

Each table's train part (text.py's seed-0 split) is split again 80/20 with seed 11: the model is fitted on the
first part with the REAL rows' tabular tokens as context and writes one text for each row of the second part
(its real context), so the text model is judged apart from the table model. Prints fit CPU/epochs, the text
metrics against the second part, sampling speed and examples; ``--variants`` judges several sampling settings
(temperature, top_p, fill_power, guidance; sample_seed: the sampling seed, else the fit's) of one fitted model; a
variant with ``"judge_fit": true`` writes a text for every fitted row instead and judges them against the fitted
texts (as many as text.py judges; see ``run``); ``"synthetic_rows": true`` writes them for as many rows sampled from the copula table model (contexts the text
model never saw, as text.py's argn rows are) and trains TSTR on those rows; ``--table-model argn`` draws them from
text.py's own table model instead (``Synthesizer(model="argn", max_time=60)``), and such a variant also gives the
TSTR AUC class by class on the judged rows and ``tstr_all``: the TSTR classifier's macro AUC on all the split's real
texts (fitted and judged: rare classes of 10-60 rows instead of 3-7, so less noisy, though the fitted ones were
read in training).
Run: ``OMP_NUM_THREADS=1 nice -n 10 python benchmarks/text_tuning.py --tables trump_tweets --params '{"hidden": 192}'``.
"""
from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent))
from text import TABLES, TABULAR_SECONDS, schema_for, split  # noqa: E402

from lookalike import Synthesizer  # noqa: E402
from lookalike.evaluate.text import text_metrics, text_to_column_auc, text_to_column_class_aucs  # noqa: E402
from lookalike.models.text_lm import TextLM  # noqa: E402
from lookalike.synthesizer import text_value_columns  # noqa: E402

CACHE = Path(__file__).resolve().parent / ".cache" / "text"


def tune_split(name: str):
    train, _ = split(name)
    idx = np.random.default_rng(11).permutation(len(train))
    cut = int(0.8 * len(train))
    return train.iloc[idx[:cut]].reset_index(drop=True), train.iloc[idx[cut:]].reset_index(drop=True)


def run(name: str, params: dict, seed: int, variants: list[dict], table_model: str = "copula") -> list[dict]:
    text, target = TABLES[name]
    fit_part, judge = tune_split(name)
    syn = Synthesizer(model=table_model, seed=seed, text_model="chain", schema=schema_for(fit_part, text),
                      max_time=TABULAR_SECONDS if table_model == "argn" else None).fit(fit_part)
    enc = syn.encoder_
    extra = {k: params.pop(k) for k in list(params) if k.startswith("x_")}
    lm = TextLM(seed=seed, k=syn.schema_.k, **params)
    for k, v in extra.items():
        setattr(lm, k[2:], v)
    lm.fit(fit_part[text], enc.encode(fit_part), enc.cardinalities_,
           value_columns=text_value_columns(syn.schema_, enc))  # as the Synthesizer gives them
    outs, fill_power = [], lm.fill_power  # the model's own setting unless a variant names one
    guidance = lm.guidance
    for variant in variants:
        lm.fill_power, lm._pool_cache = variant.get("fill_power", fill_power), None
        lm.guidance = variant.get("guidance", guidance)  # only meaningful on a model fitted with guidance > 0
        if variant.get("drop_markers"):  # a word the rules forbid is left out instead of replaced
            lm._pool_cache = {shape: ([], np.array([])) for shape in ("cap", "lower", "num", "any")}
        # judge_fit: write a text for each FITTED row (its real columns) and judge them against the fitted texts,
        # as text.py judges as many synthetic texts as training texts (a discriminator given more texts tells
        # the sets apart better: 800 texts flatter the model); TSTR is then trained on those rows
        rows = fit_part if variant.get("judge_fit") else judge
        if variant.get("synthetic_rows"):  # as text.py: texts for a table model's rows (here the copula's), as many
            rows = syn.sample(len(fit_part), seed=variant.get("sample_seed", seed))  # as fitted; TSTR on them
        here = rows[text].notna().to_numpy()
        wall, cpu = time.monotonic(), time.process_time()
        texts = lm.generate(enc.encode(rows)[here], seed=variant.get("sample_seed", seed),
                            temperature=variant.get("temperature"), top_p=variant.get("top_p"))
        speed = {"texts_per_s": len(texts) / (time.monotonic() - wall),
                 "texts_per_cpu_s": len(texts) / (time.process_time() - cpu)}
        synth = rows.copy()
        synth.loc[here, text] = texts
        m = text_metrics(fit_part, synth, judge, text, target=target)
        s, h = m["synthetic"], m["holdout"]
        outs.append({"table": name, "params": params, "variant": variant, "seed": seed, "fit": lm.fit_seconds_,
                     "epochs": lm.epochs_, "pieces": getattr(lm, "pieces_read_", None), "work": getattr(lm, "work_read_", None), "val_loss": lm.val_loss_,
                     "speed": speed,
                     "auc_tfidf": s["discriminator_auc_tfidf"], "auc_len": s["discriminator_auc_lengths"],
                     "len_acc": s["length_accuracy"], "words": s["word_similarity"], "bigrams": s["bigram_similarity"],
                     "mean_words": [s["mean_words"], h["mean_words"]], "tstr/trtr": m["tstr_auc"] / m["trtr_auc"],
                     "mem": [s["memorisation"]["mean"], h["memorisation"]["mean"]],
                     "holdout_auc_tfidf": h["discriminator_auc_tfidf"], "examples": texts[:6],
                     **(classes(synth, fit_part, judge, text, target) if variant.get("synthetic_rows") else {})})
        (CACHE / f"tune_{name}.json").write_text(json.dumps({"real": fit_part[text].dropna().astype(str).tolist(),
                                                              "synthetic": texts}))
    return outs


def classes(synth, fit_part, judge, text: str, target: str) -> dict:
    """TSTR class by class on the judged rows, and its macro AUC on all the split's real texts (``tstr_all``)."""
    s = synth[synth[text].notna()]
    every = pd.concat([fit_part, judge], ignore_index=True)
    return {"tstr_classes": text_to_column_class_aucs(s[text], s[target], judge[text].fillna(""), judge[target],
                                                      fit_part[target]),
            "tstr_all": text_to_column_auc(s[text], s[target], every[text].fillna(""), every[target], fit_part[target])}


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--tables", nargs="*", default=list(TABLES))
    p.add_argument("--params", default="{}")
    p.add_argument("--variants", default="[{}]", help="JSON list of sampling settings judged on one fit")
    p.add_argument("--seed", type=int, default=5)
    p.add_argument("--table-model", default="copula", choices=["copula", "argn"],
                   help="the table model whose rows a synthetic_rows variant writes texts for")
    args = p.parse_args()
    CACHE.mkdir(parents=True, exist_ok=True)
    for name in args.tables:
        for out in run(name, json.loads(args.params), args.seed, json.loads(args.variants), args.table_model):
            with open(CACHE / "tuning.jsonl", "a") as f:
                f.write(json.dumps(out) + "\n")
            print(json.dumps({k: (round(v, 3) if isinstance(v, float) else v) for k, v in out.items()}), flush=True)


if __name__ == "__main__":
    main()
