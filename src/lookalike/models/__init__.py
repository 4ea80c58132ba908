"""Generators behind one small protocol (see ``base.py``); ``make_model`` builds one by name.

Plugins add their own with ``register_model("mygen", MyGenerator)`` (or an import path,
``"mypkg.gen:MyGenerator"``, imported only when first used). Model files store the generator's
``name``; loading finds the class again through this registry, so register before loading.
"""
from __future__ import annotations

import importlib
import inspect

from lookalike.errors import LookalikeError

# name -> (module, class), or the class itself for generators registered as objects.
# "auto" picks by the table (``choose_model``); without a table, the flagship when it is installed.
REGISTRY: dict[str, tuple[str, str] | type] = {
    "argn": ("lookalike.models.argn", "ARGN"),
    "copula": ("lookalike.models.copula", "GaussianCopula"),
    "diffusion": ("lookalike.models.diffusion", "MaskedDiffusion"),
    "gan": ("lookalike.models.gan", "LatentGAN"),
    "vae": ("lookalike.models.vae", "TVAE"),
    "dp-marginals": ("lookalike.models.dp_marginals", "DPMarginals"),
}


AUTO_MIN_ROWS = 50
"""Below this many rows ``auto`` picks the Gaussian copula: ARGN's early stopping holds out 10% of the rows, and
under 5 validation rows it stops on noise; the copula's exact marginals and one correlation matrix need no
validation."""

ARGN_SECONDS_PER_CELL = 2e-4
"""ARGN's measured fit time per (row x sub-column) on 2 CPU cores, rounded up: 10 s for 3,117 x 30 (credit_data),
37 s for 6,899 x 46 (lending_club), 47 s for 3,500 x 47 (mlc_churn), 31 s for 7,000 x 24 (diamonds); see
benchmarks/RESULTS.md."""


def choose_model(n_rows: int, n_sub: int, max_time: float | None = None) -> tuple[str, str]:
    """What ``--model auto`` picks for a table of ``n_rows`` rows and ``n_sub`` token sub-columns within
    ``max_time`` seconds, and why: ``(name, reason)``.

    ARGN is the choice wherever it can train: on the benchmark tables (benchmarks/RESULTS.md, main comparison and
    the "family" section) it has the lowest discriminator AUC of our generators (GAN, VAE and diffusion included)
    and fits in under a minute on 2 cores. The copula takes over where ARGN cannot do well: very few rows, or a time budget far below what
    ARGN needs (it keeps the best weights when time runs out, so a budget of a tenth still helps it).
    """
    if not available("argn"):
        return "copula", "argn is not available in this installation (it needs torch)"
    if n_rows < AUTO_MIN_ROWS:
        return "copula", (f"{n_rows} rows is below {AUTO_MIN_ROWS}: too few to train a network on and hold some "
                          f"out for early stopping; the Gaussian copula fits exact marginals and one correlation matrix")
    need = ARGN_SECONDS_PER_CELL * n_rows * max(n_sub, 1)
    if max_time is not None and max_time < 0.1 * need:
        return "copula", (f"the time budget ({max_time:g} s) is under a tenth of the ~{need:.0f} s argn needs for "
                          f"{n_rows:,} rows x {n_sub} sub-columns; the copula fits in about a second")
    budget = f"; expected fit ~{max(need, 1):.0f} s" + (f" within the {max_time:g} s budget" if max_time else "")
    return "argn", (f"{n_rows:,} rows x {n_sub} sub-columns: argn was the most faithful of lookalike's generators "
                    f"(lowest discriminator AUC) on every benchmark table{budget}")


def model_class(name: str):
    if name == "auto":
        name = "argn" if available("argn") else "copula"
    if name not in REGISTRY:
        raise LookalikeError(f"unknown model '{name}'; choose one of: auto, {', '.join(sorted(REGISTRY))}")
    entry = REGISTRY[name]
    if isinstance(entry, type):
        return entry
    module, cls = entry
    try:
        return getattr(importlib.import_module(module), cls)
    except (ImportError, AttributeError) as exc:
        raise LookalikeError(f"model '{name}' is not available in this installation ({exc})") from None


def available(name: str) -> bool:
    try:
        entry = REGISTRY[name]
        if isinstance(entry, type):
            return True
        module, cls = entry
        return hasattr(importlib.import_module(module), cls)
    except (KeyError, ImportError):
        return False


def register_model(name: str, target: type | str, *, replace: bool = False) -> None:
    """Make a generator available by name: ``Synthesizer(model=name)``, ``make_model``, loading files.

    ``target`` is a class following ``lookalike.models.base.TokenModel`` (its ``name`` attribute must equal
    ``name``: model files store it), or an import path ``"package.module:Class"`` (or ``"package.module.Class"``)
    imported when first used. Generators that cannot condition on fixed cells set ``honours_fixed = False``;
    the Synthesizer then matches conditions by rejection (``lookalike.models.constrained``).
    An existing name is only replaced with ``replace=True``.
    """
    if not isinstance(name, str) or not name or name == "auto":
        raise LookalikeError(f"a generator needs a non-empty name other than 'auto', got {name!r}")
    if name in REGISTRY and not replace:
        raise LookalikeError(f"model '{name}' is already registered; pass replace=True to replace it")
    if isinstance(target, type):
        own = getattr(target, "name", None)
        if own != name:
            raise LookalikeError(f"{target.__name__}.name is {own!r}; a generator registered as '{name}' must "
                                 f"have name = {name!r} (model files store it, loading looks it up)")
        REGISTRY[name] = target
        return
    if not isinstance(target, str):
        raise LookalikeError(f"register_model expects a class or an import path, got {type(target).__name__}")
    module, sep, cls = target.partition(":") if ":" in target else target.rpartition(".")
    if not module or not cls:
        raise LookalikeError(f"import path {target!r} must read 'package.module:Class'")
    REGISTRY[name] = (module, cls)


def model_settings(name: str) -> dict[str, object]:
    """The settings a generator accepts in its constructor, with their defaults."""
    cls = model_class(name)
    return {p.name: (None if p.default is inspect.Parameter.empty else p.default)
            for p in inspect.signature(cls.__init__).parameters.values()
            if p.name != "self" and p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)}


def check_settings(name: str, params: dict | None) -> dict[str, object]:
    """The generator's accepted settings; an error naming every unknown key in ``params`` and the accepted ones."""
    accepted = model_settings(name)
    unknown = [key for key in (params or {}) if key not in accepted]
    if unknown:
        raise LookalikeError(f"model '{model_class(name).name}' has no setting {', '.join(map(repr, unknown))}; "
                             f"its settings are: {', '.join(sorted(accepted))}")
    return accepted


def make_model(name: str, *, seed: int = 0, max_epochs: int | None = None, max_time: float | None = None,
               verbose: bool = False, params: dict | None = None):
    """Build a generator; the common settings go only to generators that accept them, ``params`` (the user's
    ``model_params``) must all be accepted or the error names the setting and the accepted ones."""
    cls = model_class(name)
    accepted = check_settings(name, params)
    kwargs = {key: value for key, value in
              {"seed": seed, "verbose": verbose, "max_epochs": max_epochs, "max_time": max_time}.items()
              if key in accepted and value is not None}
    kwargs.update(params or {})
    try:
        return cls(**kwargs)
    except (TypeError, ValueError) as exc:
        raise LookalikeError(f"model '{cls.name}': invalid settings {params} ({exc})") from None
