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
# "auto" picks the flagship when it is installed.
REGISTRY: dict[str, tuple[str, str] | type] = {
    "argn": ("lookalike.models.argn", "ARGN"),
    "copula": ("lookalike.models.copula", "GaussianCopula"),
    "dp-marginals": ("lookalike.models.dp_marginals", "DPMarginals"),
}


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
