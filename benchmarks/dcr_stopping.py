"""Can argn stop its own training where its DCR share is still near 0.5? (issue 15)

argn's DCR share (``lookalike.evaluate.privacy``: the share of synthetic rows whose nearest real row is a training
row rather than a holdout row; 0.5 ideal, the suite's limit 0.53) grows with training epochs while the
discriminator AUC falls (dcr_regularisation_notes.md). This script asks whether a signal argn could compute from
its own rows, never the judge's holdout, says when to stop: the *generalisation gap* of each epoch, the
validation loss (argn's own 10% split, eval mode, as ``ARGN.fit``'s ``val_loss``) minus the eval-mode loss of a
random subset of the fit rows of the validation set's size (its own fixed order keys), in nats per row; the
relative gap is the gap over the validation loss.

Protocol: the suite's 70/30 split at seed 1 (``suite.prepare`` through ``dcr_regularisation._split``), one
``Synthesizer(model="argn", seed=1)`` fit at the defaults per table. Nothing under src/ changes: while the fit
runs, ``lookalike.models.argn``'s ``_Net`` and ``PlateauHalving`` are wrapped so that after every epoch (after
argn's own validation loss and best-weight bookkeeping, before its scheduler step) the fit-rows twin loss is
computed in eval mode (no dropout draw, so the fit's own trajectory is unchanged) and the weights are copied.
Then, per judged epoch, those weights are loaded into the fitted model, argn's post-training marginal matching
(``_match_marginals``, as a fit ends) runs on them, ``len(train)`` rows are sampled (seed 1) and judged as
dcr_regularisation.py judges: ``lookalike.evaluate`` at seed 0 after a CSV round trip (AUC, dependence capture,
the holdout's own DCR share) and the DCR share as the mean over 20 reference draws. "default" is the fitted
Synthesizer as it is (early stopping's best epoch); its weights are also reloaded through the same path as a
check of that path (``reload_same``: the reloaded best epoch samples exactly the default's rows). The rules the
Synthesizer drops after its fit (monotone pairs the model keeps) are those of the final model for every epoch.

Fit CPU to an epoch: process CPU from the start of ``Synthesizer.fit`` to the end of that epoch's validation,
less the twin losses' own CPU. The machine is shared (2 cores, two other benchmark processes): one process,
one thread, nice 15; the 1-minute load is recorded with every run.

Runs are appended to ``dcr_stopping_runs.jsonl`` (one line per table with the per-epoch curve, one per judged
epoch); the RESULTS.md section ``dcr-stopping`` is written from it.

The section's runs (about 50 minutes on the shared machine):

    OMP_NUM_THREADS=1 nice -n 15 env PYTHONPATH=src:benchmarks python benchmarks/dcr_stopping.py \\
        --tables Ecdat.Schooling wooldridge.crime1 carData.Chile Ecdat.Train Ecdat.Cracker Ecdat.Males \\
        carData.KosteckiDillon AER.ResumeNames wooldridge.card wooldridge.cps91 AER.PSID7682 carData.Arrests \\
        credit_data Ecdat.Treatment wooldridge.gpa2 Ecdat.VietNamH          # every epoch judged, one sample each
    ... --resample 4 --tables Ecdat.Schooling wooldridge.crime1 Ecdat.Males AER.ResumeNames wooldridge.card \\
        carData.Chile                                                        # the default on 4 more sample seeds
    ... --force --samples 4 --epochs 2 4 6 8 12 16 24 --tables wooldridge.crime1 Ecdat.Males Ecdat.Schooling \\
        carData.Chile AER.PSID7682                                           # 4 samples per chosen epoch
    ... --force --samples 4 --epochs 2 4 6 8 12 16 --tables AER.ResumeNames credit_data wooldridge.card
    PYTHONPATH=src:benchmarks python benchmarks/dcr_stopping.py --report-only
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import time
from contextlib import contextmanager
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from dcr_regularisation import _code, _split, judge_saved  # noqa: E402
from results_sections import cached_runs, record_run, update_section  # noqa: E402

RUNS = HERE / "dcr_stopping_runs.jsonl"
FAILING = ("AER.ResumeNames", "Ecdat.Cracker", "Ecdat.Males", "Ecdat.Schooling", "Ecdat.Train", "carData.Chile",
           "carData.KosteckiDillon", "wooldridge.card", "wooldridge.cps91", "wooldridge.crime1")
"""argn's DCR share above 0.53 at split seed 1 in the suite's run (issue 15)."""
PASSING = ("AER.PSID7682", "carData.Arrests", "credit_data", "Ecdat.Treatment", "wooldridge.gpa2", "Ecdat.VietNamH")
"""Tuning-half tables argn passes (DCR share 0.51-0.52, AUC 0.49-0.60 in suite_cache at seed 1)."""
TUNE = ("AER.ResumeNames", "Ecdat.Males", "Ecdat.Train", "carData.KosteckiDillon", "wooldridge.cps91",
        "AER.PSID7682", "credit_data", "wooldridge.gpa2")
"""The tables a threshold is chosen on (every other table of FAILING and PASSING, alphabetical within each);
the rest check it."""
METRICS = ("dcr_share", "dcr_share_holdout", "dependence_capture", "discriminator_auc", "univariate_accuracy",
           "exact_copy_share")


@contextmanager
def epoch_hook(seed: int):
    """While a fit runs: after every epoch, the eval-mode loss of a fixed random subset of the fit rows (as many
    as the validation rows, order keys of its own), the CPU so far and a copy of the weights. Yields the record."""
    import torch
    from lookalike.models import argn as argn_mod
    rec = {"epochs": [], "weights": {}, "twin_cpu": 0.0, "start_cpu": time.process_time()}
    net_cls, sched_cls, fit = argn_mod._Net, argn_mod.PlateauHalving, argn_mod.ARGN.fit

    class Net(net_cls):
        def __init__(self, *a, **k):
            super().__init__(*a, **k)
            rec["net"] = self

    def wrapped_fit(model, tokens, cardinalities, groups, **kw):
        tokens_ = np.asarray(tokens, dtype=np.int64)
        n = len(tokens_)
        perm = np.random.default_rng(model.seed).permutation(n)  # ARGN.fit's own split
        n_val = min(int(round(n * model.val_fraction)), 20_000) if n >= 20 else 0
        rec["val_idx"], rec["train_idx"] = perm[:n_val], perm[n_val:]
        pick = np.random.default_rng([seed, 77]).choice(len(perm) - n_val, n_val, replace=False)
        rec["twin"] = torch.from_numpy(tokens_[rec["train_idx"][np.sort(pick)]])
        rec["twin_keys"] = torch.rand(n_val, len(groups), generator=torch.Generator().manual_seed(seed + 3))
        rec["tokens"] = tokens_
        return fit(model, tokens, cardinalities, groups, **kw)

    class Sched(sched_cls):
        def step(self, score):
            t0 = time.process_time()
            cpu_so_far = t0 - rec["start_cpu"] - rec["twin_cpu"]
            net = rec["net"]
            net.eval()
            with torch.no_grad():
                tot = 0.0
                for i in range(0, len(rec["twin"]), 4096):
                    xb = rec["twin"][i:i + 4096]
                    tot += float(net.loss(xb, rec["twin_keys"][i:i + 4096])) * len(xb)
            net.train()
            fit_loss = tot / max(len(rec["twin"]), 1)
            e = len(rec["epochs"]) + 1
            rec["weights"][e] = {k: v.detach().clone() for k, v in net.state_dict().items()}
            rec["twin_cpu"] += time.process_time() - t0
            rec["epochs"].append({"epoch": e, "val_loss": float(score), "fit_loss": fit_loss,
                                  "gap": float(score) - fit_loss, "rel_gap": (float(score) - fit_loss) / float(score),
                                  "cpu_s": cpu_so_far})
            return super().step(score)

    argn_mod._Net, argn_mod.PlateauHalving, argn_mod.ARGN.fit = Net, Sched, wrapped_fit
    try:
        yield rec
    finally:
        argn_mod._Net, argn_mod.PlateauHalving, argn_mod.ARGN.fit = net_cls, sched_cls, fit


def _csv(table: str, seed: int, label: str) -> Path:
    return HERE / ".cache" / "dcr_stopping" / f"{table}.{seed}.{label}.csv"


def _row(table, seed, label, epoch, m, shares, synth_cpu, load) -> dict:
    return {"table": table, "seed": seed, "label": label, "epoch": epoch,
            **{k: None if m.get(k) is None else round(float(m[k]), 4) for k in METRICS},
            "dcr_mean20": round(float(shares.mean()), 4), "dcr_sd20": round(float(shares.std()), 4),
            "sample_judge_cpu_s": round(synth_cpu, 1), "load_1m": [round(load, 1), round(os.getloadavg()[0], 1)],
            "code": _code(), "utc": time.strftime("%Y-%m-%d %H:%M", time.gmtime())}


def run_table(table: str, seed: int, epochs: list[int], samples: int = 1) -> None:
    from lookalike import Synthesizer
    train, holdout = _split(table, seed)
    load = os.getloadavg()[0]
    cpu = time.process_time()
    with epoch_hook(seed) as rec:
        syn = Synthesizer(model="argn", seed=seed).fit(train)
    fit_cpu = time.process_time() - cpu - rec["twin_cpu"]
    model = syn.model_
    history = model.history_
    curve = [{**e, "train_loss": h["train_loss"], "lr": h["lr"], "cpu_s": round(e["cpu_s"], 2)}
             for e, h in zip(rec["epochs"], history)]
    best = int(np.argmin([h["val_loss"] for h in history])) + 1
    run = {"table": table, "seed": seed, "label": "curve", "rows": len(train), "columns": train.shape[1],
           "n_val": len(rec["val_idx"]), "epochs_run": len(history), "best_epoch": best,
           "fit_cpu_s": round(fit_cpu, 1), "twin_cpu_s": round(rec["twin_cpu"], 2),
           "curve": [{k: (round(v, 5) if isinstance(v, float) else v) for k, v in c.items()} for c in curve],
           "load_1m": [round(load, 1), round(os.getloadavg()[0], 1)], "code": _code(),
           "utc": time.strftime("%Y-%m-%d %H:%M", time.gmtime())}
    record_run(RUNS, run)
    print(json.dumps({k: v for k, v in run.items() if k != "curve"}), flush=True)
    for c in run["curve"]:
        print(f"  e{c['epoch']:>3} val {c['val_loss']:.4f} fit {c['fit_loss']:.4f} gap {c['gap']:+.4f} "
              f"rel {c['rel_gap']:+.4f} cpu {c['cpu_s']}", flush=True)

    # the default: the fitted Synthesizer as it is
    t0, load = time.process_time(), os.getloadavg()[0]
    default_rows = syn.sample(len(train), seed=seed)
    _, m, shares = judge_saved(train, holdout, default_rows, _csv(table, seed, "default"))
    out = _row(table, seed, "default", best, m, shares, time.process_time() - t0, load)
    out["fit_cpu_s"] = run["fit_cpu_s"]
    record_run(RUNS, out)
    print(json.dumps(out), flush=True)
    default = out

    tokens_fit = rec["tokens"][rec["train_idx"]]
    todo = sorted({e for e in epochs if 1 <= e <= len(history)} | {best})
    for e in todo:
        t0, load = time.process_time(), os.getloadavg()[0]
        model.net_.load_state_dict(rec["weights"][e])
        model.net_.eval()
        if model.marginal_rounds > 0 and not model.given_groups:
            model._match_marginals(tokens_fit)
        rows = syn.sample(len(train), seed=seed)
        if e == best and rows.equals(default_rows):  # the reload path gives the default's rows: judged already
            out = {**default, "label": f"e{e}", "reload_same": True, "fit_cpu_s": curve[e - 1]["cpu_s"]}
        else:
            _, m, shares = judge_saved(train, holdout, rows, _csv(table, seed, f"e{e}"))
            out = _row(table, seed, f"e{e}", e, m, shares, time.process_time() - t0, load)
            out["fit_cpu_s"] = curve[e - 1]["cpu_s"]
            if e == best:
                out["reload_same"] = False
        record_run(RUNS, out)
        print(json.dumps(out), flush=True)
        for j in range(1, samples):  # the same weights, other sample seeds (``--samples``)
            t0, load, s = time.process_time(), os.getloadavg()[0], seed + 100 + j
            _, m, shares = judge_saved(train, holdout, syn.sample(len(train), seed=s), _csv(table, seed, f"e{e}.s{s}"))
            extra = {**_row(table, seed, f"e{e}.s{s}", e, m, shares, time.process_time() - t0, load),
                     "fit_cpu_s": curve[e - 1]["cpu_s"]}
            record_run(RUNS, extra)
            print(json.dumps(extra), flush=True)


def run_resample(table: str, seed: int, draws: int) -> None:
    """The default fit again (the same weights: same seed and threads), its rows drawn with ``draws`` other
    sample seeds and judged: how far one epoch's single sample moves the 20-draw DCR share by itself."""
    from lookalike import Synthesizer
    train, holdout = _split(table, seed)
    syn = Synthesizer(model="argn", seed=seed).fit(train)
    for i in range(draws):
        t0, load = time.process_time(), os.getloadavg()[0]
        s = seed + 100 + i
        _, m, shares = judge_saved(train, holdout, syn.sample(len(train), seed=s), _csv(table, seed, f"resample{s}"))
        out = _row(table, seed, f"resample{s}", int(np.argmin([h["val_loss"] for h in syn.model_.history_])) + 1,
                   m, shares, time.process_time() - t0, load)
        record_run(RUNS, out)
        print(json.dumps(out), flush=True)


# ------------------------------------------------------------------------------------------------ report
def _f(v, spec=".3f") -> str:
    return "–" if v is None else format(v, spec)


def _collect(runs: list[dict]):
    curves = {(r["table"], r["seed"]): r for r in runs if r["label"] == "curve"}
    judged = {}
    for r in runs:
        if r["label"] != "curve" and ".s" not in r["label"]:
            judged.setdefault((r["table"], r["seed"]), {})[r["label"]] = r
    return curves, judged


def averaged(runs: list[dict]) -> list[str]:
    """Epochs judged on several samples (``--samples``): the mean over the samples of each epoch's 20-draw DCR
    share, AUC and capture (the fit's own sample seed and the others)."""
    curves, judged = _collect(runs)
    extra = {}
    for r in runs:
        if ".s" in r["label"]:
            extra.setdefault((r["table"], r["seed"], r["epoch"]), []).append(r)
    if not extra:
        return []
    out = ["**Several samples per epoch** (`--samples`: each epoch's weights sampled with the fit's seed and "
           "with other sample seeds, every sample judged by the 20-draw DCR mean; mean ± sd over the samples):", "",
           "| table | suite | epoch | rel gap | samples | DCR share, mean ± sd | AUC mean | capture mean |",
           "|---|---|---|---|---|---|---|---|"]
    for (t, seed, e) in sorted(extra, key=lambda k: (k[0] not in FAILING, k[0].lower(), k[1], k[2])):
        first = judged.get((t, seed), {}).get(f"e{e}")
        rs = ([first] if first else []) + extra[(t, seed, e)]
        cv = curves.get((t, seed))
        best = cv and cv["best_epoch"] == e
        v = [r["dcr_mean20"] for r in rs]
        caps = [r["dependence_capture"] for r in rs if r["dependence_capture"] is not None]
        out.append(f"| {t} | {'fails' if t in FAILING else 'passes'} | {e}{'*' if best else ''} | "
                   f"{_f(cv['curve'][e - 1]['rel_gap'] if cv else None, '.3f')} | {len(rs)} | "
                   f"{np.mean(v):.3f} ± {np.std(v, ddof=1) if len(v) > 1 else 0:.3f} | "
                   f"{np.mean([r['discriminator_auc'] for r in rs]):.3f} | {_f(np.mean(caps) if caps else None, '.2f')} |")
    return out + [""]


def rule_epoch(curve: dict, x: float, key: str = "rel_gap") -> int | None:
    """The first epoch whose gap exceeds ``x``; None: never within the epochs the default fit ran."""
    for c in curve["curve"]:
        if c[key] > x:
            return c["epoch"]
    return None


def rule_outcome(curve: dict, judged: dict, x: float, key: str = "rel_gap"):
    """(epoch judged, its run, note): the rule's stop epoch's own weights, or the default when the gap never
    exceeds ``x`` before early stopping ends the fit; a stop epoch that was not judged takes the nearest judged
    epoch before it (noted)."""
    e = rule_epoch(curve, x, key)
    if e is None or e >= curve["epochs_run"]:
        return curve["best_epoch"], judged.get("default"), "default"
    have = sorted(int(k[1:]) for k in judged if k.startswith("e"))
    below = [h for h in have if h <= e]
    if not below:
        return None, None, f"e{e} not judged"
    return below[-1], judged[f"e{below[-1]}"], "" if below[-1] == e else f"e{e}→e{below[-1]}"


def section(runs: list[dict]) -> str:
    curves, judged = _collect(runs)
    keys = sorted(curves, key=lambda k: (k[0] not in FAILING, k[0].lower(), k[1]))
    lines = ["## Stopping argn at its own generalisation gap (`benchmarks/dcr_stopping.py`, issue 15)", "",
             "One `Synthesizer(model=\"argn\", seed=1)` fit at the defaults per table on the suite's 70/30 split at "
             "seed 1; the weights of every epoch kept and the chosen ones sampled (marginal matching as a fit ends, "
             "`len(train)` rows, seed 1) and judged as `dcr_regularisation.py` judges (evaluate at seed 0; DCR share "
             "as the mean over 20 reference draws, sd over draws in brackets). *Gap*: validation loss minus the "
             "eval-mode loss of as many fit rows (nats per row, both argn's own rows); *rel*: gap / validation "
             "loss. *default*: the fit as it is (early stopping's best validation epoch, marked *). "
             "Fit CPU: to the end of that epoch (whole fit for the default). One thread, nice 15, shared 2-core "
             "machine (1-minute load listed).", ""]
    lines += [*analysis(curves, judged), *resampled(judged), *averaged(runs)]
    notes = HERE / "dcr_stopping_notes.md"
    if notes.exists():
        lines += [notes.read_text().strip(), ""]
    lines += ["**Every judged epoch** (* the default's best validation epoch, whose reloaded weights sample exactly "
              "the default's rows):", "",
              "| table | suite | epoch | val loss | gap | rel gap | DCR 20 draws (sd) | holdout's own | AUC | capture "
              "| fit CPU s | load | code |", "|---|---|---|---|---|---|---|---|---|---|---|---|---|"]
    for k in keys:
        cv, js = curves[k], judged.get(k, {})
        by_e = {c["epoch"]: c for c in cv["curve"]}
        group = "fails" if k[0] in FAILING else "passes"
        order = sorted((l for l in js if not l.startswith("resample")),
                       key=lambda l: (l == "default", int(l[1:]) if l.startswith("e") else 0))
        for lab in order:
            r = js[lab]
            c = by_e.get(r["epoch"], {})
            name = f"default ({cv['epochs_run']} run, best {cv['best_epoch']})" if lab == "default" else (
                f"{r['epoch']}*" if r["epoch"] == cv["best_epoch"] else str(r["epoch"]))
            lines.append(f"| {k[0]} | {group} | {name} | {_f(c.get('val_loss'), '.3f')} | {_f(c.get('gap'), '+.3f')} | "
                         f"{_f(c.get('rel_gap'), '+.4f')} | {r['dcr_mean20']:.3f} ({r['dcr_sd20']:.3f}) | "
                         f"{_f(r['dcr_share_holdout'])} | {_f(r['discriminator_auc'])} | "
                         f"{_f(r['dependence_capture'], '.2f')} | {_f(r.get('fit_cpu_s'), '.1f')} | "
                         f"{r['load_1m'][0]:.1f} | {r['code']} |")
    return "\n".join(lines)


def resampled(judged: dict) -> list[str]:
    """The default's weights sampled with other seeds: the spread one sample adds to one epoch's figure."""
    rows = []
    for k in sorted(judged, key=lambda k: (k[0] not in FAILING, k[0].lower(), k[1])):
        js = judged[k]
        re = [r for l, r in js.items() if l.startswith("resample")]
        if re and "default" in js:
            v = [js["default"]["dcr_mean20"], *[r["dcr_mean20"] for r in re]]
            a = [js["default"]["discriminator_auc"], *[r["discriminator_auc"] for r in re]]
            rows.append(f"| {k[0]} | {len(v)} | {' '.join(f'{x:.3f}' for x in v)} | {np.mean(v):.4f} | "
                        f"{np.std(v, ddof=1):.4f} | {np.mean(a):.3f} |")
    if not rows:
        return []
    return ["**One sample's own spread** (the default's weights, its rows drawn with the fit's seed and with other "
            "sample seeds, each judged by the 20-draw DCR mean):", "",
            "| table | samples | 20-draw DCR of each | mean | sd between samples | AUC mean |",
            "|---|---|---|---|---|---|", *rows, ""]


def oracle(curves: dict, judged: dict) -> list[str]:
    """What any stopping rule could reach at best, per table: the default, the first epoch whose AUC is at most
    0.65, and the epoch of lowest DCR share among those whose AUC is at most 0.65 (chosen with the judge's
    holdout: an upper bound, not a rule)."""
    out = ["**What any stopping epoch could give** (chosen with the judge's holdout, so a bound, not a rule): per "
           "table the default, the first epoch with AUC ≤ 0.65, and the epoch of lowest 20-draw DCR share among "
           "those with AUC ≤ 0.65.", "",
           "| table | suite | default: epoch, DCR, AUC, capture | first AUC ≤ 0.65: epoch, rel gap, DCR, AUC, capture "
           "| lowest DCR with AUC ≤ 0.65: epoch, rel gap, DCR, AUC, capture |", "|---|---|---|---|---|"]
    fmt = lambda r, c: (f"{r['epoch']}, {_f(c.get('rel_gap'), '.3f')}, {r['dcr_mean20']:.3f}, "  # noqa: E731
                        f"{_f(r['discriminator_auc'])}, {_f(r['dependence_capture'], '.2f')}")
    for k in sorted(curves, key=lambda k: (k[0] not in FAILING, k[0].lower(), k[1])):
        js = judged.get(k, {})
        if "default" not in js:
            continue
        by_e = {c["epoch"]: c for c in curves[k]["curve"]}
        ok = sorted((r for l, r in js.items() if l.startswith("e") and r["discriminator_auc"] is not None
                     and r["discriminator_auc"] <= 0.65), key=lambda r: r["epoch"])
        d = js["default"]
        first = fmt(ok[0], by_e[ok[0]["epoch"]]) if ok else "none"
        low = min(ok, key=lambda r: r["dcr_mean20"]) if ok else None
        lines = f"{fmt(low, by_e[low['epoch']])}" if low else "none"
        out.append(f"| {k[0]} | {'fails' if k[0] in FAILING else 'passes'} | {d['epoch']} (of "
                   f"{curves[k]['epochs_run']}), {d['dcr_mean20']:.3f}, {_f(d['discriminator_auc'])}, "
                   f"{_f(d['dependence_capture'], '.2f')} | {first} | {lines} |")
    return out + [""]


def analysis(curves: dict, judged: dict) -> list[str]:
    out = oracle(curves, judged)
    # correlation of the gap with the DCR excess over judged epochs (not the default row: same weights as e<best>)
    pts = []
    for k, js in judged.items():
        if k not in curves:
            continue
        by_e = {c["epoch"]: c for c in curves[k]["curve"]}
        for lab, r in js.items():
            if lab.startswith("e") and r["epoch"] in by_e:
                pts.append((k[0], by_e[r["epoch"]]["gap"], by_e[r["epoch"]]["rel_gap"], r["dcr_mean20"] - 0.5,
                            r["discriminator_auc"], r["epoch"]))
    if len(pts) >= 3:
        a = np.array([p[1:5] for p in pts], dtype=float)
        pooled_abs, pooled_rel = np.corrcoef(a[:, 0], a[:, 2])[0, 1], np.corrcoef(a[:, 1], a[:, 2])[0, 1]
        within = []
        for t in sorted({p[0] for p in pts}):
            b = np.array([p[1:5] for p in pts if p[0] == t], dtype=float)
            if len(b) >= 3 and b[:, 1].std() > 0 and b[:, 2].std() > 0:
                ep = np.array([p[5] for p in pts if p[0] == t], dtype=float)
                within.append((t, np.corrcoef(b[:, 1], b[:, 2])[0, 1], np.corrcoef(b[:, 1], b[:, 3])[0, 1],
                               np.corrcoef(ep, b[:, 2])[0, 1], np.corrcoef(ep, b[:, 1])[0, 1]))
        out += [f"**Gap against DCR excess** (DCR 20-draw mean − 0.5) over the {len(pts)} judged epochs of "
                f"{len({p[0] for p in pts})} tables: Pearson r = {pooled_abs:+.2f} for the gap in nats, "
                f"{pooled_rel:+.2f} for the relative gap, pooled across tables. Within each table, over its judged "
                f"epochs (relative gap against DCR excess and against AUC; the epoch number itself against DCR "
                f"excess; the relative gap against the epoch number):", "",
                "| table | r(rel gap, DCR excess) | r(rel gap, AUC) | r(epoch, DCR excess) | r(epoch, rel gap) |",
                "|---|---|---|---|---|"]
        out += [f"| {t} | {r1:+.2f} | {r2:+.2f} | {r3:+.2f} | {r4:+.2f} |" for t, r1, r2, r3, r4 in within]
        across = [(curves[k]["curve"][js["default"]["epoch"] - 1]["rel_gap"], js["default"]["dcr_mean20"] - 0.5,
                   js["default"]["dcr_mean20"] - (js["default"]["dcr_share_holdout"] or 0.5))
                  for k, js in judged.items() if k in curves and "default" in js]
        if len(across) >= 3:
            c = np.array(across)
            out += ["", f"Across tables, at the default's own epoch ({len(c)} tables): r(rel gap, DCR excess) = "
                    f"{np.corrcoef(c[:, 0], c[:, 1])[0, 1]:+.2f}; r(rel gap, DCR share − the holdout's own share) = "
                    f"{np.corrcoef(c[:, 0], c[:, 2])[0, 1]:+.2f}."]
        out.append("")
    # rule: stop at the first epoch whose relative gap exceeds X; X chosen on TUNE, checked on the rest
    grid = [0.01, 0.015, 0.02, 0.025, 0.03, 0.035, 0.04, 0.05, 0.06, 0.07, 0.08, 0.1, 0.12, 0.15, 0.2, 0.25]
    keys = [k for k in curves if k in judged and "default" in judged[k]]

    def score(x, subset):
        res = []
        for k in subset:
            e, r, note = rule_outcome(curves[k], judged[k], x)
            res.append((k, e, r, note))
        return res

    def summary(res):
        fail = [r for k, e, r, _ in res if k[0] in FAILING and r is not None]
        pas = [(r, judged[k]["default"]) for k, e, r, _ in res if k[0] in PASSING and r is not None]
        return fail, pas

    if not keys:
        return out
    out += ["**Rule: stop at the first epoch whose relative gap exceeds X** (keep that epoch's weights; "
            "early stopping as today when the gap stays under X). X chosen on " + ", ".join(TUNE) +
            "; checked on the other tables. Per X, the failing tables at or below 0.52 (20-draw DCR), and on the "
            "passing tables the largest AUC and the mean change of AUC and of dependence capture against the "
            "default:", "",
            "| X | tables | failing ≤ 0.52 | failing DCR mean: default → rule | failing: max AUC | passing: max AUC | "
            "passing: AUC change | passing: capture change | mean epoch kept: default → rule |",
            "|---|---|---|---|---|---|---|---|---|"]
    tune = [k for k in keys if k[0] in TUNE]

    def merit(x, fail_auc):  # failing tables brought to 0.52 while passing tables keep AUC <= 0.65 and failing
        fail, pas = summary(score(x, tune))  # ones AUC <= fail_auc; ties: the larger X
        fine = all(r["discriminator_auc"] <= 0.65 for r, _ in pas) and all(r["discriminator_auc"] <= fail_auc
                                                                             for r in fail)
        return (fine, sum(r["dcr_mean20"] <= 0.52 for r in fail), x)
    strict = max(grid, key=lambda x: merit(x, 0.65))
    chosen = max(grid, key=lambda x: merit(x, 0.80))
    for part, subset in (("tune", tune), ("check", [k for k in keys if k[0] not in TUNE])):
        for x in grid:
            res = score(x, subset)
            fail, pas = summary(res)
            caps = [r["dependence_capture"] - d["dependence_capture"] for r, d in pas
                    if r["dependence_capture"] is not None and d["dependence_capture"] is not None]
            eps = [e for _, e, r, _ in res if r is not None]
            eps0 = [judged[k]["default"]["epoch"] for k, _, r, _ in res if r is not None]
            fail0 = [judged[k]["default"]["dcr_mean20"] for k, _, r, _ in res if r is not None and k[0] in FAILING]
            if not fail and not pas:
                continue
            out.append(f"| {x:.3f} | {part} ({len(subset)}) | {sum(r['dcr_mean20'] <= 0.52 for r in fail)}/{len(fail)} | "
                       f"{_f(np.mean(fail0) if fail else None, '.4f')} → "
                       f"{_f(np.mean([r['dcr_mean20'] for r in fail]) if fail else None, '.4f')} | "
                       f"{_f(max([r['discriminator_auc'] for r in fail]) if fail else None)} | "
                       f"{_f(max([r['discriminator_auc'] for r, _ in pas]) if pas else None)} | "
                       f"{_f(np.mean([r['discriminator_auc'] - d['discriminator_auc'] for r, d in pas]) if pas else None, '+.3f')} | "
                       f"{_f(np.mean(caps) if caps else None, '+.2f')} | {_f(np.mean(eps0) if eps else None, '.1f')} → "
                       f"{_f(np.mean(eps) if eps else None, '.1f')} |")
    out += ["", f"X chosen on the tuning tables, as the most failing tables at or below 0.52 (ties to the larger X) "
            f"while every table keeps AUC ≤ 0.65: **{strict}**{' (no stop at all)' if strict == grid[-1] else ''}; "
            f"while the passing tables keep AUC ≤ 0.65 and the failing ones the suite's 0.80: **{chosen}**. Per "
            f"table at {chosen}:", "",
            "| table | suite | part | stop epoch (judged) | DCR: default → rule | AUC: default → rule | "
            "capture: default → rule | fit CPU s: default → rule |", "|---|---|---|---|---|---|---|---|"]
    for k in sorted(keys, key=lambda k: (k[0] not in TUNE, k[0] not in FAILING, k[0].lower())):
        e, r, note = rule_outcome(curves[k], judged[k], chosen)
        d = judged[k]["default"]
        if r is None:
            out.append(f"| {k[0]} | {'fails' if k[0] in FAILING else 'passes'} | "
                       f"{'tune' if k[0] in TUNE else 'check'} | {note} | – | – | – | – |")
            continue
        out.append(f"| {k[0]} | {'fails' if k[0] in FAILING else 'passes'} | {'tune' if k[0] in TUNE else 'check'} | "
                   f"{e}{' (' + note + ')' if note else ''} | {d['dcr_mean20']:.3f} → {r['dcr_mean20']:.3f} | "
                   f"{_f(d['discriminator_auc'])} → {_f(r['discriminator_auc'])} | "
                   f"{_f(d['dependence_capture'], '.2f')} → {_f(r['dependence_capture'], '.2f')} | "
                   f"{_f(d.get('fit_cpu_s'), '.1f')} → {_f(r.get('fit_cpu_s'), '.1f')} |")
    return out + [""]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--tables", nargs="+", default=[])
    ap.add_argument("--seeds", nargs="+", type=int, default=[1])
    ap.add_argument("--epochs", nargs="+", type=int, default=list(range(1, 201)), help="epochs to judge (default: every one)")
    ap.add_argument("--resample", type=int, default=0,
                    help="instead of the epochs: the default fit's rows drawn with this many other sample seeds")
    ap.add_argument("--samples", type=int, default=1, help="samples judged per epoch (other sample seeds)")
    ap.add_argument("--force", action="store_true")
    ap.add_argument("--report-only", action="store_true")
    args = ap.parse_args()
    key = lambda r: (r["table"], r["seed"], r["label"])  # noqa: E731
    for table in [] if args.report_only else args.tables:
        for seed in args.seeds:
            have = {key(r) for r in cached_runs(RUNS, key)}
            if args.resample:
                run_resample(table, seed, args.resample)
                continue
            if (table, seed, "curve") in have and not args.force:
                continue
            run_table(table, seed, args.epochs, args.samples)
    print("wrote", update_section("dcr-stopping", section(cached_runs(RUNS, key))))


if __name__ == "__main__":
    main()
