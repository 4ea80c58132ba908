"""Generators behind one small protocol (see ``base.py``); ``make_model`` builds one by name."""
from __future__ import annotations

import importlib
import inspect

from lookalike.errors import LookalikeError

# name -> (module, class). "auto" picks the flagship when it is installed.
REGISTRY = {
    "argn": ("lookalike.models.argn", "ARGN"),
    "copula": ("lookalike.models.copula", "GaussianCopula"),
}


def model_class(name: str):
    if name == "auto":
        name = "argn" if available("argn") else "copula"
    if name not in REGISTRY:
        raise LookalikeError(f"unknown model '{name}'; choose one of: auto, {', '.join(sorted(REGISTRY))}")
    module, cls = REGISTRY[name]
    try:
        return getattr(importlib.import_module(module), cls)
    except (ImportError, AttributeError) as exc:
        raise LookalikeError(f"model '{name}' is not available in this installation ({exc})") from None


def available(name: str) -> bool:
    try:
        module, cls = REGISTRY[name]
        return hasattr(importlib.import_module(module), cls)
    except (KeyError, ImportError):
        return False


def model_settings(name: str) -> dict[str, object]:
    """The settings a generator accepts in its constructor, with their defaults."""
    cls = model_class(name)
    return {p.name: (None if p.default is inspect.Parameter.empty else p.default)
            for p in inspect.signature(cls.__init__).parameters.values()
            if p.name != "self" and p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)}


def make_model(name: str, *, seed: int = 0, max_epochs: int | None = None, max_time: float | None = None,
               verbose: bool = False, params: dict | None = None):
    """Build a generator; the common settings go only to generators that accept them, ``params`` (the user's
    ``model_params``) must all be accepted or the error names the setting and the accepted ones."""
    cls = model_class(name)
    accepted = model_settings(name)
    kwargs = {key: value for key, value in
              {"seed": seed, "verbose": verbose, "max_epochs": max_epochs, "max_time": max_time}.items()
              if key in accepted and value is not None}
    unknown = [key for key in (params or {}) if key not in accepted]
    if unknown:
        raise LookalikeError(f"model '{cls.name}' has no setting {', '.join(map(repr, unknown))}; "
                             f"its settings are: {', '.join(sorted(accepted))}")
    kwargs.update(params or {})
    try:
        return cls(**kwargs)
    except (TypeError, ValueError) as exc:
        raise LookalikeError(f"model '{cls.name}': invalid settings {params} ({exc})") from None
