"""mostlyai-engine on a table with one free-text column: TabularARGN for the other columns, then its LANGUAGE
model trained from scratch (MOSTLY_AI/LSTMFromScratch-3m, no download) on the text with the tabular columns as
context, generating one text per synthetic tabular row -- the engine's documented two-step flow for text.

Runs INSIDE the mostly virtualenv, started by benchmarks/text.py:
    /work/venvs/mostly/bin/python benchmarks/peers/run_mostly_text.py --train T.csv --text COL \
        --out-csv S.csv --out-json S.json --seed 1 --language-minutes M --tabular-minutes M
Both trainings keep the engine's defaults except the time caps given (the same text budget lookalike gets).
``--cpu-clock`` makes the LANGUAGE training's cap count CPU seconds (the engine's training loop reads its clock
through its module's ``time.time``, pointed at ``time.process_time``): a wall cap on the shared machine bought
it 2 epochs at load 4-7 and 1 at load 8 (chatterbot, about as much CPU as our text model's fit took), so its CPU
depended on the load.
Generation runs without the engine's JSON-constrained decoding (``HuggingFaceEngine.supports_json_enforcing``
set to False, the engine's own path for back ends that cannot constrain): constrained decoding on this CPU
wrote fewer than 300 texts in 8 minutes. Unconstrained outputs are parsed by the engine's own decoder.
``--max-chars`` caps the text length behind the engine's generation limit (it sizes ``max_new_tokens`` from
the longest training text, and its LSTM recomputes the whole sequence at every new token, so one 1,088-character
chatterbot message made 60 texts take 4 minutes): a longer text comes back cut off, which the engine's
decoder marks invalid. The JSON is written with the fit's language-training step timed apart (wall and this
process's CPU seconds, all its threads; epochs and last validation loss from the engine's log) and up to five raw
outputs the decoder could not parse (why invalid).
"""
from __future__ import annotations

import argparse
import json
import shutil
import tempfile
import time
import types
from pathlib import Path

import pandas as pd

KEY = "__row"


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--train", type=Path, required=True)
    p.add_argument("--text", required=True)
    p.add_argument("--out-csv", type=Path, required=True)
    p.add_argument("--out-json", type=Path, required=True)
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--language-minutes", type=float, default=5.0)
    p.add_argument("--cpu-clock", action="store_true",
                   help="the LANGUAGE training's time cap counts this process's CPU seconds, not wall seconds")
    p.add_argument("--tabular-minutes", type=float, default=2.0)
    p.add_argument("--rows", type=int, default=None, help="rows to generate (default: as many as train)")
    p.add_argument("--max-chars", type=int, default=None, help="cap on nchar_max behind max_new_tokens")
    args = p.parse_args()
    from mostlyai import engine
    from mostlyai.engine._language import generation

    if args.max_chars:
        estimate = generation._estimate_max_new_tokens
        generation._estimate_max_new_tokens = lambda stats: estimate({**stats, "columns": {
            c: {**s, "nchar_max": min(s["nchar_max"], args.max_chars)} for c, s in stats["columns"].items()}})
    from mostlyai.engine._language.engine.hf_engine import HuggingFaceEngine

    HuggingFaceEngine.supports_json_enforcing = lambda self: False
    if args.cpu_clock:  # the engine's training loop reads its clock as ``time.time()`` in this module only
        from mostlyai.engine._language import training

        training.time = types.SimpleNamespace(time=time.process_time)
    import json_repair

    unparsed = []  # raw outputs json_repair could not read as an object holding the text column

    class Repair:
        def loads(self, x, **kw):
            try:
                out = json_repair.loads(x, **kw)
            except Exception:
                out = None
            if not isinstance(out, dict) or args.text not in out:
                unparsed.append(x)
            if out is None:
                raise ValueError("unparsable")
            return out

    generation.json_repair = Repair()

    engine.init_logging()
    engine.set_random_state(args.seed)
    train = pd.read_csv(args.train)
    root = Path(tempfile.mkdtemp(prefix="mostly-text-"))
    wall, cpu = time.monotonic(), time.process_time()
    tab_ws, lang_ws = root / "tabular", root / "language"
    tabular = train.drop(columns=[args.text])
    engine.split(tgt_data=tabular, workspace_dir=tab_ws)
    engine.analyze(workspace_dir=tab_ws)
    engine.encode(workspace_dir=tab_ws)
    engine.train(workspace_dir=tab_ws, max_training_time=args.tabular_minutes)
    ctx = tabular.assign(**{KEY: range(len(tabular))})
    tgt = pd.DataFrame({KEY: range(len(train)), args.text: train[args.text]})
    engine.split(tgt_data=tgt, ctx_data=ctx, tgt_context_key=KEY, ctx_primary_key=KEY, model_type="LANGUAGE",
                 tgt_encoding_types={args.text: "LANGUAGE_TEXT"}, workspace_dir=lang_ws)
    engine.analyze(workspace_dir=lang_ws)
    engine.encode(workspace_dir=lang_ws)
    lang_wall, lang_cpu = time.monotonic(), time.process_time()
    engine.train(workspace_dir=lang_ws, model="MOSTLY_AI/LSTMFromScratch-3m",
                 max_training_time=args.language_minutes)
    fit = {"wall_s": time.monotonic() - wall, "cpu_s": time.process_time() - cpu,
           "language": {"wall_s": time.monotonic() - lang_wall, "cpu_s": time.process_time() - lang_cpu,
                        "budget_minutes": args.language_minutes, "cpu_clock": args.cpu_clock}}
    progress = lang_ws / "ModelStore" / "model-data" / "progress-messages.csv"
    if progress.exists():  # the engine's training log: epochs reached and the last validation loss
        log = pd.read_csv(progress)
        fit["language"]["epochs"] = float(log["epoch"].max())
        losses = log["val_loss"].dropna() if "val_loss" in log else []
        fit["language"]["val_loss"] = float(losses.iloc[-1]) if len(losses) else None
    wall, cpu = time.monotonic(), time.process_time()
    engine.generate(workspace_dir=tab_ws, sample_size=args.rows or len(train))
    syn_tab = pd.read_parquet(tab_ws / "SyntheticData")
    syn_ctx = syn_tab.assign(**{KEY: range(len(syn_tab))})
    engine.generate(workspace_dir=lang_ws, ctx_data=syn_ctx)
    texts = pd.read_parquet(lang_ws / "SyntheticData")
    out = syn_ctx.merge(texts[[KEY, args.text]], on=KEY, how="left").drop(columns=[KEY])
    sample = {"wall_s": time.monotonic() - wall, "cpu_s": time.process_time() - cpu}
    out[train.columns].to_csv(args.out_csv, index=False)
    args.out_json.write_text(json.dumps({"fit": fit, "sample": sample, "engine": engine.__version__,
                                          "unparsed": len(unparsed), "unparsed_examples": unparsed[:5]}))
    shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
