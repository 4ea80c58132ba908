"""The ``--ray [ADDRESS]`` command-line option, shared by every command that can run on Ray (no Ray import)."""
from __future__ import annotations

from typing import List, Optional

DEFAULT = "default"
HELP = ("Run on Ray (pip install \"lookalike\\[ray]\"): --ray alone joins the cluster in RAY_ADDRESS or one "
        "started on this machine with `ray start`, else starts a local one for this command; --ray ADDRESS "
        "(host:6379) joins that cluster.")


def address(value: str) -> Optional[str]:
    """The address ``ray.init`` gets: None (Ray's own default) for a bare ``--ray``."""
    return None if value == DEFAULT else value


def bare_flag(args: List[str]) -> List[str]:
    """Let ``--ray`` stand alone (Typer options take a value): a bare ``--ray`` becomes ``--ray default``."""
    out = []
    for i, a in enumerate(args):
        out.append(a)
        if a == "--ray" and (i + 1 == len(args) or args[i + 1].startswith("-")):
            out.append(DEFAULT)
    return out
