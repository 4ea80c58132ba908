"""Generators behind one small protocol (see ``base.py``); ``make_model`` builds one by name."""
from __future__ import annotations

import importlib

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


def make_model(name: str, *, seed: int = 0, max_epochs: int | None = None, max_time: float | None = None,
               verbose: bool = False):
    cls = model_class(name)
    if cls.name == "copula":
        return cls(seed=seed)
    kwargs = {"seed": seed, "verbose": verbose}
    if max_epochs is not None:
        kwargs["max_epochs"] = max_epochs
    if max_time is not None:
        kwargs["max_time"] = max_time
    return cls(**kwargs)
