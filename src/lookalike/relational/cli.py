"""``lookalike fit-db``, ``sample-db``, ``schema-db`` and ``report-db``: whole databases on the command line.

Registered by ``lookalike/cli.py`` (``register(app)``). Sources and targets are database URLs
(``sqlite:///bank.db``, ``postgresql://user:password@host/db``) or folders of CSV/Parquet files.
"""
from __future__ import annotations

import json
from pathlib import Path
from typing import Optional

import typer
from rich.console import Console

from lookalike.distributed import options as ray_options
from lookalike.errors import LookalikeError

console = Console(stderr=True)


def _tables(text: Optional[str]) -> Optional[list[str]]:
    return [t.strip() for t in text.split(",") if t.strip()] if text else None


def _read(source: str, tables, schema, k: int = 5):
    from lookalike.relational.sources import load_source

    return load_source(source, schema=schema, tables=tables, k=k)


def _write(db_tables: dict, target: str, force: bool, schema=None, ddl=None, order=None, fmt: str = "csv") -> str:
    from lookalike.io.sql import is_url, write_database, write_folder

    if is_url(target):
        return write_database(db_tables, target, schema, ddl, force=force, order=order)
    return str(write_folder(db_tables, target, force=force, fmt=fmt))


def fit_db_command(
    source: str = typer.Argument(..., help="Database URL (sqlite:///bank.db, postgresql://...) or a folder of "
                                           "CSV/Parquet files, one per table."),
    output: Path = typer.Option(..., "-o", "--output", help="Model file to write (.lookalike)."),
    tables: Optional[str] = typer.Option(None, "--tables", help="Comma-separated tables to learn (default: all)."),
    schema: Optional[Path] = typer.Option(None, "--schema", help="Database schema file (from schema-db) with "
                                                                 "keys and column kinds."),
    model: str = typer.Option("auto", "--model", help="Generator for every table."),
    max_time: Optional[float] = typer.Option(None, "--max-time", help="Training time budget in seconds, shared "
                                                                      "among the tables."),
    seed: int = typer.Option(0, "--seed", help="Random seed."),
    orphans: str = typer.Option("keep", "--orphans", help="Rows whose foreign key matches no parent: keep "
                                                          "(learned as rows without a parent) or drop."),
    force: bool = typer.Option(False, "--force", help="Overwrite an existing model file."),
    ray: Optional[str] = typer.Option(None, "--ray", metavar="[ADDRESS]", help=ray_options.HELP + " Every table "
                                      "is then fitted at the same time, as its own Ray task."),
):
    """Learn a whole database (tables, keys and relations) and save one model file."""
    from lookalike.io.files import check_writable
    from lookalike.relational.synthesizer import DatabaseSynthesizer

    check_writable(output, force=force, formats=None)
    db = DatabaseSynthesizer(model=model, seed=seed, max_time=max_time, orphans=orphans,
                             ray=None if ray is None else (ray_options.address(ray) or True))
    db.fit(source, schema=schema, tables=_tables(tables))
    for note in db.notes_:
        console.print(f"note: {note}", highlight=False)
    db.save(output, force=force)
    rows = sum(p.n_rows for p in db.plans_.values())
    console.print(f"learned {len(db.order_)} tables ({rows:,} rows) in {db.fit_seconds_:.1f} s; "
                  f"model written to [bold]{output}[/bold]")


def sample_db_command(
    model: Path = typer.Argument(..., help="Model file from fit-db."),
    output: str = typer.Option(..., "-o", "--output", help="Database URL or folder to create."),
    scale: float = typer.Option(1.0, "--scale", help="Size relative to the real database (0.5 = half)."),
    seed: Optional[int] = typer.Option(None, "--seed", help="Random seed (default: the model's)."),
    fmt: str = typer.Option("csv", "--format", help="Files in a folder target: csv or parquet."),
    force: bool = typer.Option(False, "--force", help="Replace an existing target."),
):
    """Sample a synthetic database with the real one's DDL; written all or nothing."""
    from lookalike.io.sql import is_url
    from lookalike.relational.synthesizer import DatabaseSynthesizer

    if scale <= 0:
        raise LookalikeError(f"--scale must be positive, got {scale}")
    db = DatabaseSynthesizer.load(model)
    if not is_url(output) and Path(output).exists() and not force:
        raise LookalikeError(f"{output}: already exists; pass --force to overwrite it")
    rows: dict[str, int] = {}

    def counted():  # tables are generated and written one by one (streamed), parents first
        for name, df in db.sample_tables(scale=scale, seed=seed):
            rows[name] = len(df)
            yield name, df

    where = _write(counted(), output, force, db.schema_, db.ddl_, db.order_, fmt)
    console.print(f"wrote {len(rows)} tables ({sum(rows.values()):,} rows) to [bold]{where}[/bold]")


def schema_db_command(
    source: str = typer.Argument(..., help="Database URL or folder of CSV/Parquet files."),
    output: Optional[Path] = typer.Option(None, "-o", "--output", help="Schema file to write (default: print)."),
    tables: Optional[str] = typer.Option(None, "--tables", help="Comma-separated tables (default: all)."),
    force: bool = typer.Option(False, "--force", help="Overwrite an existing file."),
):
    """Show the keys, relations and column kinds of a database; edit and pass back with --schema."""
    from lookalike.io.files import atomic_path

    from lookalike.relational.reference import reference_tables

    src = _read(source, _tables(tables), None)
    kept, notes = reference_tables(src.schema, src.tables)
    for name in kept:  # written into the file, so the choice is visible and can be flipped
        src.schema.tables[name].reference = True
    for note in src.notes + notes:
        console.print(f"note: {note}", highlight=False)
    text = src.schema.to_yaml()
    if output is None:
        typer.echo(text)
        return
    with atomic_path(output, force=force) as tmp:
        tmp.write_text(text, encoding="utf-8")
    console.print(f"schema of {len(src.schema.tables)} tables written to [bold]{output}[/bold]")


def report_db_command(
    real: str = typer.Argument(..., help="The real database (URL or folder)."),
    synthetic: str = typer.Argument(..., help="The synthetic database (URL or folder)."),
    holdout: Optional[str] = typer.Option(None, "--holdout", help="A real holdout database (the ceiling); "
                                                                  "default: the real parents split in halves."),
    schema: Optional[Path] = typer.Option(None, "--schema", help="Database schema file (keys)."),
    output: Optional[Path] = typer.Option(None, "-o", "--output", help="Write the HTML report here (self-contained, "
                                                                       "works offline)."),
    json_out: Optional[Path] = typer.Option(None, "--json", help="Write the metrics as JSON."),
    force: bool = typer.Option(False, "--force", help="Overwrite existing output files."),
):
    """Cross-table metrics: referential integrity, children per parent, parent x child bivariate accuracy."""
    from rich.table import Table

    from lookalike.evaluate.html import render_database_html
    from lookalike.evaluate.relational import evaluate_database
    from lookalike.io.files import atomic_path, check_writable

    if output is not None:
        check_writable(output, force=force, formats={".html": "HTML", ".htm": "HTML"})
    if json_out is not None:
        check_writable(json_out, force=force, formats={".json": "JSON"})
        if output is not None and Path(json_out).resolve() == Path(output).resolve():
            raise LookalikeError(f"{json_out}: the JSON and HTML outputs must be different files")
    r = _read(real, None, schema)
    s = _read(synthetic, list(r.schema.tables), r.schema)
    h = _read(holdout, list(r.schema.tables), r.schema).tables if holdout else None
    m = evaluate_database(r.tables, s.tables, r.schema, holdout=h)
    t = Table(title="cross-table metrics")
    for col in ("relation", "integrity", "children TV (holdout)", "bivariate", "floor", "ceiling", "dependence"):
        t.add_column(col)

    def f(x):
        return "–" if x is None else f"{x:.3f}"

    for rel in m["relations"]:
        name = f"{rel['parent']} <- {rel['child']}[{','.join(rel['columns'])}]"
        if rel.get("self_reference"):
            t.add_row(name, f(rel["integrity"]), "self-reference", "", "", "", "")
            continue
        t.add_row(name, f(rel["integrity"]), f"{f(rel['children_tv'])} ({f(rel['children_tv_holdout'])})",
                  f(rel["bivariate"]), f(rel["floor"]), f(rel["ceiling"]), f(rel["dependence"]))
    Console().print(t)
    if output is not None:
        with atomic_path(output, force=force) as tmp:
            tmp.write_text(render_database_html(m), encoding="utf-8")
        console.print(f"report written to [bold]{output}[/bold]")
    if json_out is not None:
        with atomic_path(json_out, force=force) as tmp:
            tmp.write_text(json.dumps(m, indent=2), encoding="utf-8")


def register(app: typer.Typer) -> None:
    app.command("fit-db")(fit_db_command)
    app.command("sample-db")(sample_db_command)
    app.command("schema-db")(schema_db_command)
    app.command("report-db")(report_db_command)
