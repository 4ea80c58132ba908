"""Fit several generators on one table and judge them side by side: which one serves this table best?

>>> import lookalike.compare as lc
>>> result = lc.compare(df, models=["argn", "copula", "gan", "vae", "diffusion"], target="vote", output="compare/")
>>> result.table          # one row per generator (a pandas DataFrame)

One holdout split (20% by default, seeded) serves every generator, so their numbers are comparable: each is fitted
on the same training rows, samples as many rows as it trained on, and is judged by ``lookalike.evaluate`` against
the same real holdout. The table carries the references each score needs: the holdout's own univariate and
bivariate accuracy (the ceiling), the independent-marginals floor, dependence capture, the holdout's discriminator
AUC and TRTR beside TSTR. With ``output``, every report, every synthetic table, the table as CSV and JSON and an
HTML summary page linking the reports are written there (atomically; an existing non-empty folder is refused
unless ``force``). A generator that fails gets a row with its error; the others still run.
"""
from __future__ import annotations

import json
import math
import time
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any, Callable, Sequence

import pandas as pd

from lookalike._callable import make_callable
from lookalike.errors import LookalikeError

DEFAULT_MODELS = ("argn", "copula", "gan", "vae", "diffusion")
DEFAULT_MAX_TIME = 30.0
"""Seconds of training each generator gets by default: keeps a five-generator comparison of a table of a few
thousand rows within minutes (ARGN and diffusion stop early on their own before this on small tables)."""
HOLDOUT_SHARE = 0.2

COLUMNS = {  # table column -> (heading in the printed table and HTML, number format)
    "model": ("generator", "{}"),
    "fit_seconds": ("fit s", "{:.1f}"),
    "fit_cpu_seconds": ("fit CPU s", "{:.1f}"),
    "sample_rows_per_second": ("sample rows/s", "{:,.0f}"),
    "univariate_accuracy": ("uni", "{:.3f}"),
    "univariate_accuracy_holdout": ("uni ceiling", "{:.3f}"),
    "bivariate_accuracy": ("bi", "{:.3f}"),
    "bivariate_floor": ("bi floor", "{:.3f}"),
    "bivariate_accuracy_holdout": ("bi ceiling", "{:.3f}"),
    "dependence_capture": ("dep", "{:.2f}"),
    "discriminator_auc": ("AUC", "{:.3f}"),
    "discriminator_auc_holdout": ("AUC holdout", "{:.3f}"),
    "dcr_share": ("DCR share", "{:.3f}"),
    "exact_copy_share": ("copies", "{:.4f}"),
    "exact_copy_share_holdout": ("copies holdout", "{:.4f}"),
    "tstr_score": ("TSTR", "{:.3f}"),
    "trtr_score": ("TRTR", "{:.3f}"),
    "report": ("report", "{}"),
    "error": ("error", "{}"),
}

Progress = Callable[[float, str], None]


@dataclass
class ComparisonResult:
    """table: one row per generator (columns as in ``COLUMNS``). reports: generator -> EvaluationReport.
    output: the folder written (None without one). train / holdout: the split every generator shared."""

    table: pd.DataFrame
    reports: dict[str, Any] = field(default_factory=dict)
    output: Path | None = None
    train: pd.DataFrame | None = None
    holdout: pd.DataFrame | None = None
    seconds: float = 0.0

    def formatted(self) -> pd.DataFrame:
        """The table with headings and numbers as printed (text; missing values as '–')."""
        shown = {}
        for key, (heading, fmt) in COLUMNS.items():
            if key in self.table and (key != "error" or self.table[key].notna().any()):
                shown[heading] = [_fmt(v, fmt) for v in self.table[key]]
        return pd.DataFrame(shown)


def compare(data: pd.DataFrame | str | Path, models: Sequence[str] = DEFAULT_MODELS, *, target: str | None = None,
            max_time: float | None = DEFAULT_MAX_TIME, output: str | Path | None = None, force: bool = False,
            seed: int = 0, holdout_share: float = HOLDOUT_SHARE, progress: Progress | None = None,
            ray: bool | str | None = None) -> ComparisonResult:
    """Hold out ``holdout_share`` of ``data``, fit each of ``models`` on the rest, judge each (module docstring).

    data: a DataFrame or a table file (CSV, Parquet, Excel). models: registered generator names (or 'auto').
    target: the column the utility test (TSTR) predicts. max_time: training seconds per generator (None: no
    limit). output: folder for the reports and the summary page. seed: the split, every fit and every sample.
    ray: fit the generators at the same time as Ray tasks (``pip install "lookalike[ray]"``): True joins Ray's
    default cluster, a string that cluster's address. The numbers are the same; fit seconds and sampling
    rows/s then measure generators that shared the machine (or cluster) with each other.
    """
    from lookalike.io import read_table
    from lookalike.models import REGISTRY
    from lookalike.workflow import split_holdout

    started = time.perf_counter()
    models = [m.strip() for m in (models.split(",") if isinstance(models, str) else models) if m.strip()]
    if not models:
        raise LookalikeError("compare needs at least one generator")
    unknown = [m for m in models if m != "auto" and m not in REGISTRY]
    if unknown:
        raise LookalikeError(f"unknown model(s) {', '.join(map(repr, unknown))}; choose from: auto, "
                             f"{', '.join(sorted(REGISTRY))}")
    if len(set(models)) != len(models):
        raise LookalikeError(f"a generator is listed twice: {', '.join(models)}")
    folder = _check_output(output, force) if output is not None else None
    df = read_table(data) if isinstance(data, (str, Path)) else data
    if not isinstance(df, pd.DataFrame):
        raise LookalikeError(f"compare expects a DataFrame or a table file, got {type(data).__name__}")
    if target is not None and target not in df.columns:
        raise LookalikeError(f"target: unknown column '{target}'; the table has: {', '.join(map(str, df.columns))}")
    train, holdout = split_holdout(df, holdout_share, seed)

    rows, reports = [], {}
    runs = [partial(_run_one, name, train, holdout, target, seed, max_time) for name in models]
    if ray:
        from lookalike.distributed.fitting import run_parallel

        outcomes = run_parallel([partial(run, None) for run in runs], address=None if ray is True else ray,
                                progress=progress, labels=models)
    else:
        outcomes = []
        for i, (name, run) in enumerate(zip(models, runs)):
            def step(fraction: float, message: str = "", i=i, name=name) -> None:
                if progress is not None:
                    progress((i + min(max(fraction, 0.0), 1.0)) / len(models),
                             f"{name}: {message}" if message else name)

            outcomes.append(run(step))
            step(1.0, "done")
    for name, (row, report, synthetic) in zip(models, outcomes):
        if report is not None:
            reports[name] = report
            if folder is not None:
                slug = _slug(name)
                report.to_html(folder / f"report-{slug}.html", force=True)
                _write_csv(synthetic, folder / f"synthetic-{slug}.csv")
                row["report"] = f"report-{slug}.html"
        rows.append(row)

    table = pd.DataFrame(rows, columns=[c for c in COLUMNS if any(c in r for r in rows) or c == "model"])
    result = ComparisonResult(table=table, reports=reports, output=folder, train=train, holdout=holdout,
                              seconds=time.perf_counter() - started)
    if folder is not None:
        title = Path(data).name if isinstance(data, (str, Path)) else "the table"
        _write_summary(result, df, title, target, max_time, seed, holdout_share)
    return result


def _run_one(name: str, train, holdout, target, seed, max_time, step: Progress | None):
    """Fit one generator, sample as many rows as it trained on, judge it: (row, report, synthetic); a failure
    is the row's error (report and synthetic None), so one failing generator never sinks the comparison."""
    from lookalike.workflow import make_synthesizer

    step = step or (lambda fraction, message="": None)
    row: dict[str, Any] = {"model": name}
    try:
        syn = make_synthesizer(model=name, seed=seed, max_time=max_time)
        wall, cpu = time.perf_counter(), time.process_time()
        syn.fit(train, progress=lambda f, m: step(0.7 * f, f"fitting {m}"))
        row["fit_seconds"], row["fit_cpu_seconds"] = time.perf_counter() - wall, time.process_time() - cpu
        if name == "auto":
            row["model"] = f"auto ({syn.model_.name})"
        wall = time.perf_counter()
        synthetic = syn.sample(len(train), seed=seed, progress=lambda f, m: step(0.7 + 0.1 * f, "sampling"))
        row["sample_rows_per_second"] = len(synthetic) / max(time.perf_counter() - wall, 1e-9)
        step(0.8, "judging")
        report = _judge(train, synthetic, holdout, target, seed)
        row.update({k: report.metrics.get(k) for k in COLUMNS if k in report.metrics})
        return row, report, synthetic
    except LookalikeError as exc:
        row["error"] = str(exc)
    except Exception as exc:  # one failing generator must not sink the comparison
        row["error"] = f"{type(exc).__name__}: {exc}"
    return row, None, None


def _judge(train, synthetic, holdout, target, seed):
    from lookalike.workflow import judge

    return judge(train, synthetic, holdout, target, seed=seed)


def _check_output(output: str | Path, force: bool) -> Path:
    folder = Path(output)
    if folder.exists() and not folder.is_dir():
        raise LookalikeError(f"{folder}: exists and is not a folder")
    if folder.exists() and any(folder.iterdir()) and not force:
        raise LookalikeError(f"{folder}: already exists and is not empty; pass --force to overwrite its files")
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def _slug(name: str) -> str:
    return "".join(ch if ch.isalnum() or ch in "-_" else "-" for ch in name)


def _write_csv(df: pd.DataFrame, path: Path) -> None:
    from lookalike.io import write_table

    write_table(df, path, force=True)


def _write_text(path: Path, text: str) -> None:
    from lookalike.io import atomic_path

    with atomic_path(path, force=True) as tmp:
        tmp.write_text(text, encoding="utf-8")


def _fmt(value, fmt: str) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "–"
    try:
        return fmt.format(value)
    except (ValueError, TypeError):
        return str(value)


def _plain(value):
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return None
    return value.item() if hasattr(value, "item") else value


_PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>lookalike compare: {{ title }}</title>
<style>
body { font-family: system-ui, sans-serif; margin: 2em; color: #222; }
table { border-collapse: collapse; font-size: 14px; } th, td { padding: 4px 10px; border-bottom: 1px solid #ddd; }
th { text-align: left; background: #f4f4f4; } td.num { text-align: right; font-variant-numeric: tabular-nums; }
.note { color: #555; max-width: 60em; } .error { color: #a00; }
</style></head><body>
<h1>Generators compared on {{ title }}</h1>
<p class="note">{{ rows_train }} training rows, {{ rows_holdout }} real holdout rows ({{ share }}% held out, seed {{ seed }}),
{{ n_columns }} columns{% if target %}, target <code>{{ target }}</code>{% endif %}; training budget
{{ budget }} per generator. Every generator sampled as many rows as it trained on.</p>
<table><thead><tr>{% for h in headings %}<th>{{ h }}</th>{% endfor %}</tr></thead><tbody>
{% for row in rows %}<tr>{% for cell in row %}{% if cell.link %}<td><a href="{{ cell.link }}">report</a></td>
{% elif cell.error %}<td class="error">{{ cell.text }}</td>{% else %}<td class="num">{{ cell.text }}</td>{% endif %}{% endfor %}</tr>
{% endfor %}</tbody></table>
<p class="note">uni / bi: univariate / bivariate accuracy against the training rows (1 = same binned frequencies);
ceiling: the same for the real holdout; floor: the training rows with each column shuffled on its own (right
marginals, no dependence). dep: dependence capture, (bi - floor) / (ceiling - floor): 0 = no dependence learned,
1 = as much as fresh real data. AUC: a classifier telling real from synthetic rows (0.5 = indistinguishable).
DCR share: share of synthetic rows closer to a training row than to a holdout row (about 0.5 is right; well above
means memorisation). copies: share of synthetic rows identical to a training row. TSTR: a model trained on the
synthetic rows scored on the real holdout; TRTR: the same model trained on the real training rows.</p>
</body></html>
"""


def _write_summary(result: ComparisonResult, df: pd.DataFrame, title: str, target, max_time, seed, share) -> None:
    import jinja2

    folder = result.output
    records = [{k: _plain(v) for k, v in row.items()} for row in result.table.to_dict(orient="records")]
    _write_text(folder / "summary.json", json.dumps({
        "rows_train": len(result.train), "rows_holdout": len(result.holdout), "columns": list(map(str, df.columns)),
        "target": target, "max_time": max_time, "seed": seed, "holdout_share": share, "seconds": result.seconds,
        "generators": records}, indent=2))
    _write_text(folder / "summary.csv", result.formatted().to_csv(index=False))
    shown = [k for k in COLUMNS if k in result.table and (k != "error" or result.table[k].notna().any())]
    rows = []
    for record in records:
        cells = []
        for key in shown:
            value = record.get(key)
            if key == "report":
                cells.append({"link": value} if value else {"text": "–"})
            else:
                cells.append({"text": _fmt(value, COLUMNS[key][1]), "error": key == "error" and bool(value)})
        rows.append(cells)
    page = jinja2.Environment(autoescape=True).from_string(_PAGE).render(
        title=title, rows_train=f"{len(result.train):,}",
        rows_holdout=f"{len(result.holdout):,}", share=round(100 * share), seed=seed, n_columns=df.shape[1],
        target=target, budget="no limit" if max_time is None else f"{max_time:g} s",
        headings=[COLUMNS[k][0] for k in shown], rows=rows)
    _write_text(folder / "index.html", page)


make_callable(__name__, lambda: compare)  # lookalike.compare(df, ...) works like compare(df, ...)
