"""Command-line entry points for data without real data: ``lookalike fake`` and ``lookalike simulate aml|market``.

The lead's ``lookalike/cli.py`` registers these: ``app.add_typer(simulate_app, name="simulate")`` and
``app.command("fake")(fake_command)``. Problems the user can fix raise LookalikeError naming the value.
"""
from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn

from lookalike.errors import LookalikeError

simulate_app = typer.Typer(
    help="Simulate realistic data from scratch: AML bank transactions with labelled laundering, or equity "
         "prices with option chains.",
    no_args_is_help=True,
)
console = Console(stderr=True)


def _progress() -> Progress:
    return Progress(TextColumn("[progress.description]{task.description}"), BarColumn(), MofNCompleteColumn(),
                    TextColumn("{task.fields[info]}"), TimeElapsedColumn(), TimeRemainingColumn(),
                    console=console, transient=True)


def _check_format(fmt: str) -> str:
    fmt = fmt.lower()
    if fmt not in ("parquet", "csv"):
        raise LookalikeError(f"--format must be parquet or csv, got {fmt!r}")
    return fmt


def _report(paths: dict, what: str):
    console.print(f"[green]Wrote {what}:[/green]")
    for name, path in paths.items():
        console.print(f"  {name:<13} {path}")


@simulate_app.command("aml")
def aml_command(
    output: Path = typer.Option(..., "-o", "--output", help="Folder for customers, accounts, transactions and "
                                                            "alerts tables (created if missing)."),
    accounts: int = typer.Option(10_000, "--accounts", help="Number of customer accounts (banks' own cash "
                                                            "accounts come on top)."),
    days: int = typer.Option(30, "--days", help="Number of days to simulate, from --start."),
    seed: int = typer.Option(0, "--seed", help="Random seed; the same seed gives byte-identical files."),
    laundering_rate: float = typer.Option(0.002, "--laundering-rate",
                                          help="Target share of laundering transactions among all transactions."),
    typologies: str = typer.Option("all", "--typologies",
                                   help="Comma-separated laundering typologies to inject: fan_out, fan_in, cycle, "
                                        "scatter_gather, gather_scatter, bipartite, stack (or 'all')."),
    start: str = typer.Option("2024-01-01", "--start", help="First simulated day (YYYY-MM-DD)."),
    fmt: str = typer.Option("parquet", "--format", help="Output file format: parquet or csv."),
    force: bool = typer.Option(False, "--force", help="Overwrite existing output files."),
):
    """Simulate a bank ledger with injected, labelled money-laundering patterns and monitoring alerts."""
    from lookalike.simulate.aml import TYPOLOGIES, AMLSimulator

    chosen = TYPOLOGIES if typologies.strip().lower() == "all" else tuple(
        t.strip() for t in typologies.split(",") if t.strip())
    sim = AMLSimulator(n_accounts=accounts, n_days=days, seed=seed, laundering_rate=laundering_rate,
                       typologies=chosen, start_date=start)
    total = [0]
    with _progress() as progress:
        task = progress.add_task("Simulating days", total=days, info="")

        def on_day(_day: int, n: int):
            total[0] += n
            progress.update(task, advance=1, info=f"{total[0]:,} transactions")

        paths = sim.write(output, fmt=_check_format(fmt), force=force, on_day=on_day)
    _report(paths, f"{total[0]:,} transactions over {days} days")


@simulate_app.command("market")
def market_command(
    output: Path = typer.Option(..., "-o", "--output", help="Folder for the prices, options (and intraday) tables."),
    assets: int = typer.Option(5, "--assets", help="Number of correlated assets."),
    days: int = typer.Option(252, "--days", help="Number of trading days."),
    seed: int = typer.Option(0, "--seed", help="Random seed; the same seed gives identical files."),
    intraday: bool = typer.Option(False, "--intraday", help="Also write 5-minute prices (78 bars a day)."),
    calibrate: Optional[Path] = typer.Option(None, "--calibrate",
                                             help="CSV/Parquet of daily prices (one column per series) to fit "
                                                  "the model to; assets cycle through its columns."),
    chain_every: Optional[int] = typer.Option(None, "--chain-every",
                                              help="Also price option chains every N trading days "
                                                   "(default: last day only)."),
    start: str = typer.Option("2024-01-02", "--start", help="First trading day (YYYY-MM-DD)."),
    fmt: str = typer.Option("parquet", "--format", help="Output file format: parquet or csv."),
    force: bool = typer.Option(False, "--force", help="Overwrite existing output files."),
):
    """Simulate correlated stock prices (stochastic volatility with jumps) and option chains with a smile."""
    from lookalike.simulate.market import MarketSimulator, calibrate_file, correlation_for_assets

    params, corr = None, None
    if calibrate is not None:
        with console.status(f"Calibrating to {calibrate} ..."):
            fitted, file_corr = calibrate_file(calibrate)
        params, corr = fitted, correlation_for_assets(file_corr, assets)
        for i, p in enumerate(fitted):
            console.print(f"  series {i + 1}: vol {p.theta ** 0.5:.1%}, kappa {p.kappa:.2f}, vol-of-vol "
                          f"{p.sigma:.2f}, rho {p.rho:.2f}, jumps/yr {p.jump_intensity:.1f}")
    sim = MarketSimulator(n_assets=assets, n_days=days, seed=seed, intraday=intraday, params=params, corr=corr,
                          start_date=start, chain_every=chain_every)
    with _progress() as progress:
        task = progress.add_task("Simulating days", total=days, info="")
        paths = sim.write(output, fmt=_check_format(fmt), force=force,
                          on_day=lambda d: progress.update(task, completed=d))
    _report(paths, f"{assets} assets over {days} trading days")


def fake_command(
    spec: Path = typer.Argument(..., help="YAML spec declaring tables, columns, distributions and relations; a "
                                          "schema file from `lookalike schema -o` works too (key columns become "
                                          "sequences, PII columns Faker values; other columns need statistics)."),
    n: int = typer.Option(1000, "-n", "--rows", help="Rows for each table without its own 'rows' "
                                                     "(tables with 'scale' get n * scale)."),
    output: Path = typer.Option(..., "-o", "--output", help="A .csv/.parquet file (one table) or a folder "
                                                            "(one file per table)."),
    seed: int = typer.Option(0, "--seed", help="Random seed; the same seed gives identical files."),
    force: bool = typer.Option(False, "--force", help="Overwrite existing output files."),
):
    """Generate fake tables from a declarative spec (Faker providers, distributions, copulas, keys)."""
    from lookalike.simulate.fake import generate, output_paths, write_tables
    from lookalike.simulate.spec import load_spec

    if n <= 0:
        raise LookalikeError(f"-n must be a whole number > 0, got {n}")
    checked = load_spec(spec)
    output_paths(list(checked.tables), output, checked.format, force)  # refuse existing outputs before working
    with console.status(f"Generating {len(checked.tables)} table(s) ..."):
        tables = generate(checked, n, seed=seed)
        paths = write_tables(tables, output, fmt=checked.format, force=force)
    _report({name: f"{path} ({len(df):,} rows)" for (name, df), path in zip(tables.items(), paths)}, "fake data")
