"""``lookalike report``: evaluate a synthetic table against real data from files. The lead registers it with Typer."""
from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer
from rich.console import Console
from rich.table import Table

from lookalike.errors import LookalikeError
from lookalike.io import check_writable, read_table


def report_command(
    train: Path = typer.Argument(..., help="Real training table the generator learned from (CSV, Parquet or Excel)."),
    synth: Path = typer.Argument(..., help="Synthetic table to evaluate; must have the training columns."),
    holdout: Optional[Path] = typer.Option(None, "--holdout", help="Real rows the generator never saw: gives the honest "
                                           "ceiling, utility on unseen rows and the privacy tests."),
    target: Optional[str] = typer.Option(None, "--target", help="Column to predict for utility (train on synthetic, "
                                         "test on real)."),
    sensitive: Optional[str] = typer.Option(None, "--sensitive", help="Column whose groups the fairness section "
                                            "compares (needs --target)."),
    output: Path = typer.Option(Path("report.html"), "-o", "--output", help="Where to write the HTML report."),
    json_out: Optional[Path] = typer.Option(None, "--json", help="Also write all metrics and details as JSON here."),
    force: bool = typer.Option(False, "--force", help="Overwrite the output files if they exist."),
) -> None:
    """Compare a synthetic table with the real data and write a self-contained HTML report."""
    from lookalike.evaluate.prepare import check_columns
    from lookalike.evaluate import evaluate  # the evaluate package never reaches generator code

    check_writable(output, force=force, formats={".html": "HTML", ".htm": "HTML"})
    if json_out is not None:
        check_writable(json_out, force=force, formats={".json": "JSON"})
        if Path(json_out).resolve() == Path(output).resolve():
            raise LookalikeError(f"{json_out}: the JSON and HTML outputs must be different files")
    train_df = read_table(train)
    synth_df = read_table(synth)
    holdout_df = read_table(holdout) if holdout is not None else None
    for role, col in (("--target", target), ("--sensitive", sensitive)):
        if col is not None and col not in train_df.columns:
            raise LookalikeError(f"{train}: {role} column '{col}' not found; columns are: "
                                 f"{', '.join(map(str, train_df.columns))}")
    check_columns(train_df, synth_df, str(synth))
    if holdout_df is not None:
        check_columns(train_df, holdout_df, str(holdout))

    console = Console()
    with console.status("Measuring fidelity, utility and privacy..."):
        report = evaluate(train=train_df, synthetic=synth_df, holdout=holdout_df, target=target, sensitive=sensitive)
        report.to_html(output, force=force)
        if json_out is not None:
            report.to_json(json_out, force=force)
    console.print(summary_table(report.metrics))
    console.print(f"Report written to [bold]{output}[/bold]" + (f", metrics to [bold]{json_out}[/bold]" if json_out else ""))


def summary_table(m: dict) -> Table:
    """The headline numbers, each beside its reference, for the terminal."""
    def f(x, pct=False):
        if x is None:
            return "–"
        return f"{100 * x:.1f}%" if pct else f"{x:.3f}"
    verdict_style = {"pass": "green", "review": "yellow", "fail": "bold red"}[m["privacy_verdict"]]
    t = Table(title="lookalike report", show_lines=False)
    t.add_column("measure")
    t.add_column("synthetic", justify="right")
    t.add_column("reference", justify="right")
    t.add_row("univariate accuracy", f(m["univariate_accuracy"], True), f"holdout {f(m['univariate_accuracy_holdout'], True)}")
    t.add_row("bivariate accuracy", f(m["bivariate_accuracy"], True),
              f"floor {f(m['bivariate_floor'], True)} / holdout {f(m['bivariate_accuracy_holdout'], True)}")
    t.add_row("dependence capture", f(m["dependence_capture"], True), "0% none, 100% like real")
    t.add_row("discriminator AUC", f(m["discriminator_auc"]), f"holdout {f(m['discriminator_auc_holdout'])}")
    if m["tstr_score"] is not None:
        t.add_row(f"TSTR {m['tstr_metric']}", f(m["tstr_score"]), f"TRTR {f(m['trtr_score'])}")
    t.add_row("DCR share", f(m["dcr_share"], True), f"50% ideal; holdout {f(m.get('dcr_share_holdout'), True)}")
    t.add_row("exact copies", f(m["exact_copy_share"], True), f"holdout {f(m['exact_copy_share_holdout'], True)}")
    t.add_row("privacy verdict", f"[{verdict_style}]{m['privacy_verdict'].upper()}[/]", "")
    return t
