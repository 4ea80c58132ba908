"""Replace one named section of a Markdown results file, so several scripts can share benchmarks/RESULTS.md;
and what those scripts share besides: the spread over seeds, and the runs they cache as JSON lines."""
from __future__ import annotations

import json
from pathlib import Path

RESULTS = Path(__file__).with_name("RESULTS.md")
HEADER = "# Simulators: measured results\n\nWritten by the scripts named in each section; rerun them to refresh.\n"


def update_section(name: str, text: str, path: Path = RESULTS) -> Path:
    """Put ``text`` between ``<!-- begin NAME -->`` and ``<!-- end NAME -->``, replacing what was there."""
    begin, end = f"<!-- begin {name} -->", f"<!-- end {name} -->"
    block = f"{begin}\n{text.rstrip()}\n{end}\n"
    old = path.read_text(encoding="utf-8") if path.exists() else HEADER
    if begin in old and end in old:
        head, rest = old.split(begin, 1)
        new = head + block + rest.split(end, 1)[1].lstrip("\n")
    else:
        new = old.rstrip("\n") + "\n\n" + block
    path.write_text(new, encoding="utf-8")
    return path


def spread(values, spec: str = ".3f", empty: str = "–") -> str:
    """Mean ± half the range over seeds, in format ``spec`` (one value: itself; Nones skipped; none: ``empty``)."""
    values = [float(v) for v in values if v is not None]
    if not values:
        return empty
    mean = sum(values) / len(values)
    if len(values) == 1:
        return format(mean, spec)
    return f"{format(mean, spec)} ± {format((max(values) - min(values)) / 2, spec)}"


def cached_runs(path: Path, key) -> list[dict]:
    """The runs appended to the JSON-lines file ``path``, the latest one per ``key(run)``: a --force rerun
    replaces the run it redoes."""
    if not path.exists():
        return []
    latest = {}
    for line in path.read_text().splitlines():
        if line.strip():
            run = json.loads(line)
            latest.pop(key(run), None)
            latest[key(run)] = run
    return list(latest.values())


def record_run(path: Path, run: dict) -> None:
    """Append one run to the JSON-lines cache ``path``."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a") as f:
        f.write(json.dumps(run) + "\n")
