"""The command line: the Python API's verbs, with progress bars and errors a user can act on.

Every command checks its inputs and outputs before doing expensive work, writes atomically, refuses to
overwrite without --force, and exits non-zero with a one-line message naming the file, column or value
at fault. ``--debug`` (anywhere on the line) shows the full traceback instead.
"""
from __future__ import annotations

import ast
import importlib.util
import logging
import sys
import time
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import Dict, List, Optional

import typer
from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

from lookalike.distributed import options as ray_options
from lookalike.errors import LookalikeError
from lookalike.models.threads import bound_openmp_spin

app = typer.Typer(
    help="lookalike: synthetic data that is faithful, useful and private.",
    no_args_is_help=True, add_completion=False, pretty_exceptions_enable=False,
)
console = Console(stderr=True)
out = Console()


def _first_doc_line(module: str, cls: str) -> str:
    """The first line of a generator's class docstring (else its module's), read from the source file without
    importing it: the CLI must start without loading torch."""
    try:
        spec = importlib.util.find_spec(module)
        tree = ast.parse(Path(spec.origin).read_text(encoding="utf-8"))
    except Exception:  # a plugin without readable source: the name alone will do
        return ""
    node = next((n for n in tree.body if isinstance(n, ast.ClassDef) and n.name == cls), None)
    doc = (node is not None and ast.get_docstring(node)) or ast.get_docstring(tree) or ""
    line = doc.strip().splitlines()[0].strip().rstrip(".") if doc.strip() else ""
    if line.endswith(")") and "(see " in line:  # "(see the module docstring)" says nothing in a help text
        line = line[:line.rindex("(see ")].strip()
    return line


def _model_help() -> str:
    from lookalike.models import REGISTRY

    described = []
    for name, (module, cls) in REGISTRY.items():
        line = _first_doc_line(module, cls)
        described.append(f"{name} ({line})" if line else name)
    return ("Generator: auto (picks one from the table's size and the time budget, and says why), "
            + ", ".join(described) + ".")


MODEL_HELP = _model_help()
RARE_HELP = ("What rows holding a category seen in fewer than k rows become: generate (new values that look like "
             "the column's and are never a real one), placeholder (one string, '(other)' unless the schema names "
             "another) or drop (frequent categories instead). Default: as the schema says, else generate.")
MODEL_PARAM_HELP = ("A setting of the generator, KEY=VALUE (repeatable), e.g. --model-param dropout=0.1; values "
                    "are read as numbers, true/false or text. An unknown key is refused with the accepted ones.")
VERBOSE_HELP = "Log the generator's training progress (each epoch's losses)."
LOGGER = logging.getLogger("lookalike")
ENTITY_HELP = ("Sequence data: the column naming whose sequence each row belongs to (an account, a patient, a "
               "sensor). Then -n counts entities, not rows.")
ORDER_HELP = "Sequence data: the column that orders each entity's rows (numbers or dates); needs --entity."
CONTEXT_HELP = ("Sequence data: an entity table (one row per entity, CSV/Parquet/Excel) linked on the --entity "
                "column; its columns are the context each sequence is learned and generated given.")


@contextmanager
def progress_bar(description: str):
    """A Rich progress bar fed by the library's progress callbacks (fraction, message)."""
    with Progress(TextColumn("[bold]{task.description}"), BarColumn(), TextColumn("{task.percentage:>3.0f}%"),
                  TextColumn("{task.fields[note]}"), TimeElapsedColumn(), console=console,
                  transient=False) as bar:
        task = bar.add_task(description, total=1.0, note="")

        def update(fraction: float, message: str = "") -> None:
            bar.update(task, completed=min(max(fraction, 0.0), 1.0), note=message)

        yield update
        bar.update(task, completed=1.0)


@contextmanager
def stage_bars(spans: Dict[str, tuple]):
    """One Rich progress bar per workflow stage, fed by the workflow's overall progress callback.

    The workflow reports (overall fraction, "stage: detail"); ``spans`` (``workflow.stage_spans``) says which
    part of the run each stage covers. A new stage closes the previous stage's bar and opens its own.
    """
    current: dict = {"stage": None, "update": None}
    with ExitStack() as stack:
        def update(fraction: float, message: str = "") -> None:
            stage, _, detail = message.partition(": ")
            if stage not in spans:
                return
            if stage != current["stage"]:
                stack.close()
                current["stage"], current["update"] = stage, stack.enter_context(progress_bar(stage))
            low, high = spans[stage]
            current["update"]((fraction - low) / (high - low), detail)

        yield update


def _check_model(model: str) -> None:
    """Unknown generator names fail at once, before any file is read (the registry names them without
    importing any generator)."""
    from lookalike.models import REGISTRY

    if model != "auto" and model not in REGISTRY:
        raise LookalikeError(f"unknown model '{model}'; choose one of: auto, {', '.join(sorted(REGISTRY))}")


def _read_schema(schema: Optional[Path]):
    from lookalike.schema.columns import TableSchema

    return TableSchema.read(schema) if schema else None


def _convert(text: str):
    """A command-line value as the type it spells: int, float, true/false, else the text itself."""
    if text.lower() in ("true", "false"):
        return text.lower() == "true"
    for kind in (int, float):
        try:
            return kind(text)
        except ValueError:
            pass
    return text


def parse_model_params(items: Optional[List[str]], option: str = "--model-param") -> Optional[dict]:
    """--model-param (or --text-param) KEY=VALUE (repeatable) -> {key: value}, values converted by ``_convert``;
    None if none."""
    result = {}
    for item in items or []:
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise LookalikeError(f"{option} expects KEY=VALUE, got {item!r}")
        result[key.strip()] = _convert(value.strip())
    return result or None


def _verbose(verbose: bool) -> bool:
    """--verbose: let the library's INFO records (training progress) through the CLI's log handler."""
    if verbose:
        LOGGER.setLevel(logging.INFO)
    return verbose


def _synthesizer(model: str, seed: int, max_epochs, max_time, schema: Optional[Path],
                 model_params: Optional[dict] = None, verbose: bool = False, rare: Optional[str] = None,
                 dp: Optional[dict] = None, entity: Optional[str] = None, order: Optional[str] = None,
                 fairness: Optional[dict] = None, text_model: str = "lm", text_params: Optional[dict] = None,
                 hidden_entities: bool = False):
    from lookalike.workflow import make_synthesizer

    _check_model(model)
    return make_synthesizer(model=model, seed=seed, max_epochs=max_epochs, max_time=max_time,
                            schema=_read_schema(schema), model_params=model_params, verbose=verbose, rare=rare,
                            dp=dp, entity=entity, order=order, fairness=fairness,
                            text_model=text_model, text_params=text_params, hidden_entities=hidden_entities)


HIDDEN_ENTITIES_HELP = ("Find a group of columns fixed by an entity the table does not name (ISLR.Caravan's zip-code "
                        "columns) and keep it as joint profiles: a profile seen in at least k rows is written "
                        "whole. Off by default: it lowers the discriminator AUC where it fires but raises the DCR "
                        "share (benchmarks/RESULTS.md, hidden-entity). Single tables only.")
FAIR_HELP = ("Generate TARGET with statistical parity across the groups of the SENSITIVE columns: "
             "TARGET:SENSITIVE[,SENSITIVE...] (a numeric target by its quantile bins). Every other column is "
             "sampled as without it; needs --model argn or auto. See README, 'Fair synthetic data'.")
FAIRNESS_HELP = "The fairness criterion for --fair; demographic-parity (P(target | group) equal) is the one offered."


def _fair(spec: Optional[str], mode: str) -> Optional[dict]:
    """--fair TARGET:SENS[,SENS] (+ --fairness MODE) -> Synthesizer(fairness=...), checked before any file is read."""
    from lookalike.fairness import check_fairness

    if spec is None:
        if mode != "demographic-parity":
            raise LookalikeError("--fairness needs --fair TARGET:SENSITIVE")
        return None
    target, sep, sensitive = spec.partition(":")
    columns = [c.strip() for c in sensitive.split(",") if c.strip()]
    if not sep or not target.strip() or not columns:
        raise LookalikeError(f"--fair expects TARGET:SENSITIVE[,SENSITIVE...], e.g. income:race,sex; got {spec!r}")
    return check_fairness({"target": target.strip(), "sensitive": columns, "mode": mode})


TEXT_MODEL_HELP = ("How free-text columns are written: 'lm' (a small language model trained on the column, "
                   "conditioned on the row), 'chain' (the protected word chain: faster, less like the real text) "
                   "or PATH, a local directory holding a pretrained Hugging Face causal language model, fine-tuned "
                   "on the column and prompted with the row's values (needs lookalike[text-hf]; nothing is "
                   "downloaded; the model file keeps the weights, so the directory is needed at fit only).")
TEXT_PARAM_HELP = ("A setting of the text model, KEY=VALUE (repeatable), e.g. --text-param temperature=0.8 or "
                   "--text-param max_time=600 (its training budget in CPU seconds); values are read as numbers, "
                   "true/false or text. An unknown key is refused with the accepted ones.")


DP_EPSILON_HELP = ("Fit with differential privacy at this epsilon (whole pipeline: statistics and generator; "
                   "--model auto then means dp-marginals). Sampling costs no budget.")
DP_DELTA_HELP = "Differential privacy's delta (with --dp-epsilon); must be below 1/rows."


def _dp(epsilon: Optional[float], delta: float) -> Optional[dict]:
    """--dp-epsilon/--dp-delta -> Synthesizer(dp=...), checked before any file is read."""
    if epsilon is None:
        return None
    from lookalike.privacy.dp import check_dp

    return check_dp({"epsilon": epsilon, "delta": delta})


def _check_sequence_options(entity: Optional[str], order: Optional[str], context: Optional[Path]) -> None:
    if entity is None and (order is not None or context is not None):
        raise LookalikeError("--order and --context describe sequence data; give --entity too")


def _check_n(n: Optional[int]) -> None:
    if n is not None and n <= 0:
        raise LookalikeError(f"-n must be a positive number of rows, got {n}")


def _parse_pairs(syn, items: List[str], option: str) -> dict:
    """--where COL=VALUE -> {col: value}."""
    result = {}
    for item in items or []:
        if "=" not in item:
            raise LookalikeError(f"{option} expects COLUMN=VALUE, got {item!r}")
        col, value = item.split("=", 1)
        result[col.strip()] = syn.parse_value(col.strip(), value.strip())
    return result


def _parse_rebalance(syn, items: List[str]) -> dict:
    """--rebalance COL=VALUE:SHARE -> {col: {value: share}}."""
    result: dict = {}
    for item in items or []:
        if "=" not in item or ":" not in item:
            raise LookalikeError(f"--rebalance expects COLUMN=VALUE:SHARE, got {item!r}")
        col, rest = item.split("=", 1)
        value, share = rest.rsplit(":", 1)
        try:
            share_f = float(share)
        except ValueError:
            raise LookalikeError(f"--rebalance {item!r}: share {share!r} is not a number") from None
        if not 0 <= share_f <= 1:
            raise LookalikeError(f"--rebalance {item!r}: share must be between 0 and 1")
        result.setdefault(col.strip(), {})[syn.parse_value(col.strip(), value.strip())] = share_f
    return result


@app.command()
def fit(
    data: Path = typer.Argument(..., help="Training table: CSV, Parquet or Excel; or a folder of Parquet files, "
                                          "read one partition at a time."),
    output: Path = typer.Option(..., "-o", "--output", help="Where to write the model file (.lookalike)."),
    model: str = typer.Option("auto", "--model", help=MODEL_HELP),
    seed: int = typer.Option(0, "--seed", help="Random seed; same data and seed give the same model."),
    max_epochs: Optional[int] = typer.Option(None, "--max-epochs", help="Upper bound on training epochs."),
    max_time: Optional[float] = typer.Option(None, "--max-time", help="Training time budget in seconds."),
    schema: Optional[Path] = typer.Option(None, "--schema", help="Schema YAML (from `lookalike schema`)."),
    model_param: List[str] = typer.Option(None, "--model-param", metavar="KEY=VALUE", help=MODEL_PARAM_HELP),
    rare: Optional[str] = typer.Option(None, "--rare", help=RARE_HELP),
    hidden_entities: bool = typer.Option(False, "--hidden-entities", help=HIDDEN_ENTITIES_HELP),
    text_model: str = typer.Option("lm", "--text-model", help=TEXT_MODEL_HELP),
    text_param: List[str] = typer.Option(None, "--text-param", metavar="KEY=VALUE", help=TEXT_PARAM_HELP),
    verbose: bool = typer.Option(False, "--verbose", help=VERBOSE_HELP),
    dp_epsilon: Optional[float] = typer.Option(None, "--dp-epsilon", help=DP_EPSILON_HELP),
    dp_delta: float = typer.Option(1e-5, "--dp-delta", help=DP_DELTA_HELP),
    entity: Optional[str] = typer.Option(None, "--entity", help=ENTITY_HELP),
    order: Optional[str] = typer.Option(None, "--order", help=ORDER_HELP),
    context: Optional[Path] = typer.Option(None, "--context", help=CONTEXT_HELP),
    fair: Optional[str] = typer.Option(None, "--fair", metavar="TARGET:SENSITIVE[,...]", help=FAIR_HELP),
    fairness: str = typer.Option("demographic-parity", "--fairness", help=FAIRNESS_HELP),
    force: bool = typer.Option(False, "--force", help="Overwrite the output if it exists."),
    ray: Optional[str] = typer.Option(None, "--ray", metavar="[ADDRESS]", help=ray_options.HELP + " DATA must then "
                                      "be a folder of Parquet files: argn trains data-parallel (Ray Train, DDP), "
                                      "each worker reading its own share of the files."),
    ray_workers: Optional[int] = typer.Option(None, "--ray-workers", help="Training workers for --ray "
                                              "(default: one per CPU of the cluster)."),
):
    """Learn a table and save the model (weights and JSON only; no training rows)."""
    from lookalike.io import check_writable, read_table

    params = parse_model_params(model_param)
    _check_sequence_options(entity, order, context)
    if ray is not None and (not data.is_dir() or entity is not None):
        raise LookalikeError(f"{data}: --ray trains from a folder of Parquet files (single tables, no --entity)")
    if ray_workers is not None and (ray is None or ray_workers < 1):
        raise LookalikeError("--ray-workers needs --ray and a number of workers of at least 1")
    check_writable(output, force=force, formats=None)
    syn = _synthesizer(model, seed, max_epochs, max_time, schema, params, _verbose(verbose), rare,
                       _dp(dp_epsilon, dp_delta), entity, order, _fair(fair, fairness),
                       text_model, parse_model_params(text_param, "--text-param"), hidden_entities)
    folder = data.is_dir() and entity is None  # a folder of Parquet files: read one partition at a time
    df = data if folder else read_table(data)
    started = time.perf_counter()
    with progress_bar("fitting") as update:
        if entity is not None:
            syn.fit(df, context=read_table(context) if context else None, progress=update)
        elif ray is not None:
            syn.fit(df, progress=update, ray=ray_options.address(ray) or True, workers=ray_workers)
        else:
            syn.fit(df, progress=update)
    syn.save(output, force=force)
    rows, columns = (syn.n_rows_, len(syn.columns_)) if folder else df.shape
    out.print(f"model ({syn.model_.name}, {rows:,} rows x {columns} columns, "
              f"{time.perf_counter() - started:.1f}s) written to [bold]{output}[/bold]")
    _say_auto(model, syn)


def _say_auto(model: str, syn) -> None:
    """With --model auto, one line naming the generator picked and why."""
    if model == "auto":
        out.print(f"--model auto picked [bold]{syn.model_.name}[/bold]: {syn.model_reason_}", highlight=False)


@app.command()
def sample(
    model_file: Path = typer.Argument(..., metavar="MODEL", help="A model file written by `lookalike fit`."),
    n: Optional[int] = typer.Option(None, "-n", help="Number of rows (default: as many as the training data)."),
    output: Path = typer.Option(..., "-o", "--output", help="Output table: .csv or .parquet."),
    seed: int = typer.Option(0, "--seed", help="Random seed; same model and seed give the same rows."),
    where: List[str] = typer.Option(None, "--where", help="Fix a column in every row: COLUMN=VALUE (repeatable)."),
    rebalance: List[str] = typer.Option(None, "--rebalance", help="Set a category's share: COLUMN=VALUE:SHARE."),
    seed_data: Optional[Path] = typer.Option(None, "--seed-data", help="Table of known cells to complete, one output "
                                             "row each; for a sequence model, first events to continue (with the "
                                             "entity column)."),
    context: Optional[Path] = typer.Option(None, "--context", help="Sequence models: entity rows to generate "
                                           "sequences for, their attributes fixed (one entity per row)."),
    force: bool = typer.Option(False, "--force", help="Overwrite the output if it exists."),
    ray: Optional[str] = typer.Option(None, "--ray", metavar="[ADDRESS]", help=ray_options.HELP + " OUTPUT is "
                                      "then a folder of Parquet parts, one per batch of 100,000 rows."),
):
    """Generate rows from a saved model, streamed to the output in batches (-n counts entities for a
    sequence model)."""
    from lookalike.io import check_writable, read_table
    from lookalike.synthesizer import Synthesizer

    _check_n(n)
    if ray is not None:
        return _sample_ray(model_file, n, output, seed, where, rebalance, seed_data, context, force, ray)
    check_writable(output, force=force)
    syn = Synthesizer.load(model_file)
    seeds = read_table(seed_data) if seed_data else None
    kwargs = dict(conditions=_parse_pairs(syn, where, "--where") or None,
                  rebalance=_parse_rebalance(syn, rebalance) or None, seed_data=seeds)
    if context is not None:
        if not hasattr(syn, "entity"):
            raise LookalikeError(f"--context needs a sequence model; {model_file} was fitted without --entity")
        kwargs["context"] = read_table(context)
    with progress_bar("sampling") as update:
        syn.sample_to_file(n, output, seed=seed, force=force, progress=update, **kwargs)
    out.print(f"synthetic data written to [bold]{output}[/bold]")


def _sample_ray(model_file, n, output, seed, where, rebalance, seed_data, context, force, address) -> None:
    """``sample --ray``: Ray tasks write the batches as Parquet parts of the folder OUTPUT."""
    from lookalike.distributed.sampling import sample_to_folder
    from lookalike.synthesizer import Synthesizer

    if seed_data is not None or context is not None:
        raise LookalikeError("--ray cannot be combined with --seed-data or --context; sample those in one process")
    if output.suffix.lower() in (".csv", ".parquet", ".pq"):
        raise LookalikeError(f"{output}: --ray writes a folder of Parquet parts; name a folder, e.g. "
                             f"{output.with_suffix('')}/")
    syn = Synthesizer.load(model_file)
    kwargs = dict(conditions=_parse_pairs(syn, where, "--where") or None,
                  rebalance=_parse_rebalance(syn, rebalance) or None)
    with progress_bar("sampling on Ray") as update:
        result = sample_to_folder(syn, n, output, seed=seed, address=ray_options.address(address), force=force,
                                  progress=update, **kwargs)
    workers = len(result.per_worker())
    out.print(f"{result.rows:,} synthetic rows written to [bold]{output}[/bold] as {len(result.parts)} Parquet "
              f"parts by {workers} Ray worker{'s' if workers != 1 else ''} in {result.seconds:.1f}s")


@app.command()
def synth(
    data: Path = typer.Argument(..., help="Training table: CSV, Parquet or Excel."),
    output: Path = typer.Option(..., "-o", "--output", help="Output table: .csv or .parquet."),
    n: Optional[int] = typer.Option(None, "-n", help="Number of rows (default: as many as DATA)."),
    model: str = typer.Option("auto", "--model", help=MODEL_HELP),
    seed: int = typer.Option(0, "--seed", help="Random seed; same data and seed give the same output."),
    max_epochs: Optional[int] = typer.Option(None, "--max-epochs", help="Upper bound on training epochs."),
    max_time: Optional[float] = typer.Option(None, "--max-time", help="Training time budget in seconds."),
    schema: Optional[Path] = typer.Option(None, "--schema", help="Schema YAML (from `lookalike schema`)."),
    report: Optional[Path] = typer.Option(None, "--report", help="Also write an HTML quality and privacy report; "
                                          "a random 20% of DATA is held out from training to judge against."),
    target: Optional[str] = typer.Option(None, "--target", help="Column to predict in the report's utility test."),
    model_param: List[str] = typer.Option(None, "--model-param", metavar="KEY=VALUE", help=MODEL_PARAM_HELP),
    rare: Optional[str] = typer.Option(None, "--rare", help=RARE_HELP),
    hidden_entities: bool = typer.Option(False, "--hidden-entities", help=HIDDEN_ENTITIES_HELP),
    text_model: str = typer.Option("lm", "--text-model", help=TEXT_MODEL_HELP),
    text_param: List[str] = typer.Option(None, "--text-param", metavar="KEY=VALUE", help=TEXT_PARAM_HELP),
    verbose: bool = typer.Option(False, "--verbose", help=VERBOSE_HELP),
    dp_epsilon: Optional[float] = typer.Option(None, "--dp-epsilon", help=DP_EPSILON_HELP),
    dp_delta: float = typer.Option(1e-5, "--dp-delta", help=DP_DELTA_HELP),
    entity: Optional[str] = typer.Option(None, "--entity", help=ENTITY_HELP),
    order: Optional[str] = typer.Option(None, "--order", help=ORDER_HELP),
    context: Optional[Path] = typer.Option(None, "--context", help=CONTEXT_HELP),
    fair: Optional[str] = typer.Option(None, "--fair", metavar="TARGET:SENSITIVE[,...]", help=FAIR_HELP),
    fairness: str = typer.Option("demographic-parity", "--fairness", help=FAIRNESS_HELP),
    force: bool = typer.Option(False, "--force", help="Overwrite the output if it exists."),
):
    """Fit and sample in one step (-n counts entities for sequence data)."""
    from lookalike.io import check_writable, read_table
    from lookalike.workflow import MIN_ROWS_FOR_HOLDOUT, stage_spans, synthesize

    _check_n(n)
    params = parse_model_params(model_param)
    dp = _dp(dp_epsilon, dp_delta)
    fair_spec = _fair(fair, fairness)
    _check_sequence_options(entity, order, context)
    check_writable(output, force=force)
    if report:
        check_writable(report, force=force, formats={".html": "HTML"})
    _check_model(model)
    loaded = _read_schema(schema)
    df = read_table(data)
    if target is not None and target not in df.columns:
        raise LookalikeError(f"--target: unknown column '{target}'; {data} has: {', '.join(map(str, df.columns))}")
    if fair_spec is not None:
        for col in [fair_spec["target"], *fair_spec["sensitive"]]:
            if col not in df.columns:
                raise LookalikeError(f"--fair: unknown column '{col}'; {data} has: {', '.join(map(str, df.columns))}")
    if report and len(df) < MIN_ROWS_FOR_HOLDOUT:
        raise LookalikeError(f"--report needs at least {MIN_ROWS_FOR_HOLDOUT} rows to hold some out, "
                             f"the data has {len(df)}")
    rows = n or (None if entity is not None else len(df))
    sequence = dict(entity=entity, order=order, context=read_table(context) if context else None) if entity else {}
    with stage_bars(stage_spans()) as update:
        result = synthesize(df, n=rows, output=output, force=force, model=model, seed=seed, max_epochs=max_epochs,
                            max_time=max_time, schema=loaded, model_params=params, target=target,
                            holdout_share=HOLDOUT_SHARE if report else None, report=False,
                            verbose=_verbose(verbose), progress=update, rare=rare, dp=dp, fairness=fair_spec,
                            text_model=text_model, text_params=parse_model_params(text_param, "--text-param"),
                            hidden_entities=hidden_entities, **sequence)
    what = f"{rows:,} rows" if entity is None else f"{rows or result.synthesizer.n_rows_:,} entities"
    out.print(f"synthetic data ({what}) written to [bold]{output}[/bold]")
    _say_auto(model, result.synthesizer)
    if dp:
        out.print(f"differential privacy: epsilon {result.synthesizer.dp_['epsilon_spent']:.4g} of {dp['epsilon']:g}, "
                  f"delta {dp['delta']:g}; sampling costs no budget")
    if fair_spec is not None:
        out.print(f"fair: '{fair_spec['target']}' generated with statistical parity across "
                  f"{', '.join(fair_spec['sensitive'])}; every other column as without --fair")
    if report:
        extra = {}
        if fair_spec is not None:
            from lookalike.workflow import fairness_options

            extra = fairness_options(result.synthesizer, rows, seed)
        _write_report(result.train, read_table(output), result.holdout, target, report, force,
                      dp=getattr(result.synthesizer, "dp_", None), entity=entity, order=order, **extra)


HOLDOUT_SHARE = 0.2
"""Share of the real rows `synth --report` and `demo` keep away from training to judge against."""


def _write_report(train, synthetic, holdout, target, path: Path, force: bool, dp: Optional[dict] = None,
                  entity: Optional[str] = None, order: Optional[str] = None, **extra):
    from lookalike.workflow import judge, summary

    options = {"entity": entity, "order": order} if entity else {}
    options.update(extra)
    if dp:
        options["dp"] = dp
    with console.status("judging fidelity, utility and privacy ..."):
        rep = judge(train, synthetic, holdout, target, **options)
    rep.to_html(path, force=force)
    m = summary(rep)

    def pair(key):
        value, ceiling = m.get(key), m.get(f"{key}_holdout")
        return f"{value:.3f}" + (f" (real holdout: {ceiling:.3f})" if ceiling is not None else "")

    fair = m.get("bivariate_accuracy_at_holdout_size")
    out.print(f"univariate accuracy {pair('univariate_accuracy')}, bivariate accuracy {pair('bivariate_accuracy')}"
              + (f" ({fair:.3f} for a synthetic sample the holdout's size)" if fair is not None and holdout is not None
                 else "") + ", "
              f"discriminator AUC {pair('discriminator_auc')} (0.5 = indistinguishable)")
    out.print(f"privacy verdict: [bold]{m.get('privacy_verdict')}[/bold] (DCR share {m.get('dcr_share'):.3f}, "
              f"ideal 0.5); report written to [bold]{path}[/bold]")


@app.command()
def impute(
    model_file: Path = typer.Argument(..., metavar="MODEL", help="A model file written by `lookalike fit`."),
    data: Path = typer.Argument(..., help="Real table with missing cells to fill."),
    output: Path = typer.Option(..., "-o", "--output", help="Output table: .csv or .parquet."),
    seed: int = typer.Option(0, "--seed", help="Random seed."),
    force: bool = typer.Option(False, "--force", help="Overwrite the output if it exists."),
):
    """Fill the missing cells of a real table; known cells are kept exactly."""
    from lookalike.io import check_writable, read_table, write_table
    from lookalike.synthesizer import Synthesizer

    check_writable(output, force=force)
    syn = Synthesizer.load(model_file)
    df = read_table(data)
    before = int(df.isna().sum().sum())
    filled = syn.impute(df, seed=seed)
    write_table(filled, output, force=force, dialect=df.attrs.get("csv_dialect"))
    out.print(f"{before - int(filled.isna().sum().sum()):,} missing cells filled; written to [bold]{output}[/bold]")


@app.command()
def schema(
    data: Path = typer.Argument(..., help="Table to describe: CSV, Parquet or Excel."),
    output: Optional[Path] = typer.Option(None, "-o", "--output", help="Write the YAML here instead of printing it."),
    as_spec: bool = typer.Option(False, "--as-spec", help="Write a `lookalike fake` spec instead: declared "
                                 "statistics only (distributions, category weights without rare values, "
                                 "correlations), a privacy-safe starting point."),
    force: bool = typer.Option(False, "--force", help="Overwrite the output if it exists."),
):
    """Print or write the inferred schema as YAML; edit it and pass it back with --schema."""
    from lookalike.io import atomic_path, check_writable, read_table
    from lookalike.schema.infer import infer_schema

    if output:
        check_writable(output, force=force, formats=None)
    df = read_table(data)
    if as_spec:
        from lookalike.simulate.from_table import spec_from_table, spec_to_yaml

        text = spec_to_yaml(spec_from_table(df, name=data.stem))
    else:
        inferred = infer_schema(df, source=str(data))
        inferred.dialect = df.attrs.get("csv_dialect")  # CSV input: how the file is written (delimiter, decimals)
        text = inferred.to_yaml()
    if output is None:
        out.print(text, markup=False, highlight=False)
        return
    with atomic_path(output, force=force) as tmp:
        tmp.write_text(text, encoding="utf-8")
    out.print(f"schema written to [bold]{output}[/bold]")


@app.command()
def demo(
    output_dir: Path = typer.Option(Path("lookalike-demo"), "-o", "--output-dir", help="Folder for the demo's output."),
    model: str = typer.Option("auto", "--model", help=MODEL_HELP),
    max_time: float = typer.Option(60.0, "--max-time", help="Training time budget in seconds."),
    model_param: List[str] = typer.Option(None, "--model-param", metavar="KEY=VALUE", help=MODEL_PARAM_HELP),
    verbose: bool = typer.Option(False, "--verbose", help=VERBOSE_HELP),
):
    """Synthesize the bundled ANES 1996 survey table (public domain) and show how close the result is."""
    from importlib.resources import files

    import pandas as pd

    from lookalike.workflow import stage_spans, synthesize

    params = parse_model_params(model_param)
    _check_model(model)
    source = files("lookalike") / "data" / "anes96.csv"
    df = pd.read_csv(str(source))
    output_dir.mkdir(parents=True, exist_ok=True)
    i, suffix = 1, ""
    while (output_dir / f"synthetic{suffix}.csv").exists():  # never overwrite an earlier demo's output
        i += 1
        suffix = f"-{i}"
    target, report = output_dir / f"synthetic{suffix}.csv", output_dir / f"report{suffix}.html"
    out.print(f"demo data: ANES 1996 election survey, {len(df):,} rows x {df.shape[1]} columns (public domain); "
              "20% held out to judge against")
    with stage_bars(stage_spans()) as update:  # as many rows as it trains on
        result = synthesize(df, output=target, model=model, seed=0, max_time=max_time, model_params=params,
                            holdout_share=HOLDOUT_SHARE, report=False, verbose=_verbose(verbose), progress=update)
    out.print(f"synthetic data written to [bold]{target}[/bold]")
    _say_auto(model, result.synthesizer)
    _write_report(result.train, pd.read_csv(target), result.holdout, "vote", report, force=False)


@app.command()
def serve(
    host: str = typer.Option("127.0.0.1", "--host", help="Address to listen on; anything but loopback prints a warning."),
    port: int = typer.Option(8765, "--port", help="Port to listen on."),
    workspace: Path = typer.Option(Path("lookalike-workspace"), "--workspace",
                                   help="Folder for uploads, models, outputs and the job database (kept across restarts)."),
    max_upload_mb: float = typer.Option(200.0, "--max-upload-mb", help="Largest upload accepted, in MiB (larger get 413)."),
    workers: int = typer.Option(1, "--workers", help="Jobs that run at the same time, each in its own process."),
):
    """Start the website and REST API (token from LOOKALIKE_TOKEN, else generated and printed with the URL)."""
    from lookalike.service import serve as run_service

    if max_upload_mb <= 0 or workers < 1:
        raise LookalikeError("--max-upload-mb must be > 0 and --workers at least 1")
    run_service(host=host, port=port, workspace=workspace, max_upload_mb=max_upload_mb, workers=workers,
                echo=lambda line: out.print(line, markup=False, highlight=False, soft_wrap=True))


@app.command("compare")
def compare_command(
    data: Path = typer.Argument(..., help="The table to compare generators on: CSV, Parquet or Excel."),
    models: str = typer.Option("argn,copula,gan,vae,diffusion", "--models",
                               help="Comma-separated generators to fit and judge (any registered name, or auto)."),
    target: Optional[str] = typer.Option(None, "--target", help="Column the utility test (TSTR) predicts."),
    max_time: Optional[float] = typer.Option(30.0, "--max-time", help="Training seconds per generator."),
    output: Path = typer.Option(Path("compare"), "-o", "--output", help="Folder for the reports, the synthetic "
                                "tables and the summary page (index.html)."),
    seed: int = typer.Option(0, "--seed", help="Seeds the 80/20 split, every fit and every sample."),
    force: bool = typer.Option(False, "--force", help="Write into OUTPUT even if it is not empty."),
    ray: Optional[str] = typer.Option(None, "--ray", metavar="[ADDRESS]", help=ray_options.HELP + " The "
                                      "generators are then fitted at the same time, each as its own Ray task."),
):
    """Hold out 20%, fit each generator on the rest and judge them side by side; writes every report and an HTML
    summary page linking them."""
    from rich.table import Table

    from lookalike.compare import _check_output, compare

    for name in models.split(","):
        if name.strip():
            _check_model(name.strip())
    _check_output(output, force)  # before any work
    with progress_bar("comparing") as update:
        result = compare(data, [m for m in models.split(",") if m.strip()], target=target, max_time=max_time,
                         output=output, force=True, seed=seed, progress=update,
                         ray=None if ray is None else (ray_options.address(ray) or True))
    shown = result.formatted().drop(columns=["report"], errors="ignore").set_index("generator")
    # one column per generator, one row per measure: fits a terminal's width for any usual number of generators
    table = Table(title=f"generators on {data.name} ({len(result.train):,} train / {len(result.holdout):,} "
                        f"holdout rows)")
    table.add_column("measure")
    for name in shown.index:
        table.add_column(name, justify="right", overflow="fold")
    for heading in shown.columns:
        table.add_row(heading, *map(str, shown[heading]))
    out.print(table)
    out.print(f"{len(result.table)} generators compared in {result.seconds:.0f}s; summary page "
              f"[bold]{output / 'index.html'}[/bold]")


def _register_plugins() -> None:
    """Commands that live beside their layer (simulation, evaluation) join the app here."""
    from lookalike.simulate.cli import fake_command, simulate_app

    app.command("fake")(fake_command)
    app.add_typer(simulate_app, name="simulate")
    from lookalike.relational.cli import register as register_database_commands

    register_database_commands(app)
    try:
        from lookalike.evaluate.cli import report_command
    except ImportError:
        return
    app.command("report")(report_command)


_register_plugins()


def main(argv: Optional[List[str]] = None) -> int:
    """Entry point: run the app, turning user errors into one clear line and a non-zero exit code."""
    bound_openmp_spin()  # for this process only, before torch or scikit-learn load
    args = list(sys.argv[1:] if argv is None else argv)
    debug = "--debug" in args
    args = ray_options.bare_flag([a for a in args if a != "--debug"])
    with _cli_logging():
        return _run(args, debug)


@contextmanager
def _cli_logging():
    """The library logs, the CLI shows: warnings always, INFO with --verbose, through the stderr console (so
    log lines and progress bars do not garble each other). Undone on return, for callers of ``main()``."""
    from rich.logging import RichHandler

    handler = RichHandler(console=console, show_time=False, show_path=False, markup=False)
    level = LOGGER.level
    LOGGER.addHandler(handler)
    LOGGER.setLevel(logging.WARNING)
    try:
        yield
    finally:
        LOGGER.removeHandler(handler)
        LOGGER.setLevel(level)


def _run(args: List[str], debug: bool) -> int:
    try:
        app(args=args, prog_name="lookalike")  # standalone: usage errors print and exit with code 2
    except SystemExit as exc:
        return exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
    except LookalikeError as exc:
        if debug:
            raise
        console.print(f"[bold red]error:[/bold red] {exc}", highlight=False, soft_wrap=True)
        return 1
    except KeyboardInterrupt:
        console.print("interrupted")
        return 130
    except Exception as exc:  # an unexpected failure: still one line unless --debug
        if debug:
            raise
        console.print(f"[bold red]unexpected error:[/bold red] {type(exc).__name__}: {exc} "
                      "(run again with --debug for the traceback)", highlight=False, soft_wrap=True)
        return 1
    return 0


def run() -> None:
    sys.exit(main())


if __name__ == "__main__":
    run()
