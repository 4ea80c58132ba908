"""Modules that can be called like their main function.

``lookalike.evaluate`` and ``lookalike.compare`` are both a module and the function users call. Python sets the
parent package's attribute to the submodule once it is imported, so ``from lookalike import evaluate`` would
otherwise give the module on the second import and ``evaluate(train=...)`` would fail. Making the module
callable gives the same object either way.
"""
from __future__ import annotations

import sys
import types
from typing import Callable


def make_callable(module_name: str, function: Callable[[], Callable]) -> None:
    """Calling the module ``module_name`` calls the function that ``function()`` returns (looked up lazily)."""

    class CallableModule(types.ModuleType):
        def __call__(self, *args, **kwargs):
            return function()(*args, **kwargs)

    sys.modules[module_name].__class__ = CallableModule
