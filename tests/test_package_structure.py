"""The package's shape: no import cycles, and evaluation never depends on a generator.

Read from the source (every import statement, also those inside functions), so a lazy import cannot hide a
cycle or a dependency."""
import ast
from pathlib import Path

import lookalike

ROOT = Path(lookalike.__file__).resolve().parent


def _module_name(path: Path) -> str:
    rel = path.relative_to(ROOT.parent).with_suffix("")
    parts = rel.parts[:-1] if rel.name == "__init__" else rel.parts
    return ".".join(parts)


def _runtime_nodes(tree: ast.AST):
    """Every node except those under ``if TYPE_CHECKING:`` (imports for type hints never run)."""
    todo = [tree]
    while todo:
        node = todo.pop()
        yield node
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.If) and "TYPE_CHECKING" in ast.unparse(child.test):
                todo.extend(child.orelse)
                continue
            todo.append(child)


def import_graph() -> dict[str, set[str]]:
    """module -> lookalike modules (and outside top-level packages) it imports anywhere in its source."""
    modules = {_module_name(p): p for p in ROOT.rglob("*.py")}
    graph: dict[str, set[str]] = {}
    for name, path in modules.items():
        package = name if path.name == "__init__.py" else name.rsplit(".", 1)[0]
        edges = set()
        for node in _runtime_nodes(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                targets = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level:
                    parts = package.split(".")[: len(package.split(".")) - node.level + 1]
                    base = ".".join(parts + ([base] if base else []))
                targets = [base] + [f"{base}.{a.name}" for a in node.names]
            else:
                continue
            for target in targets:
                if not target.startswith("lookalike"):
                    edges.add(target.split(".")[0])
                    continue
                while target not in modules and "." in target:
                    target = target.rsplit(".", 1)[0]
                # a package importing its own submodules (lazy re-exports) is not a dependency cycle
                if target in modules and target != name and not target.startswith(name + "."):
                    edges.add(target)
        graph[name] = edges
    return graph


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan)."""
    index, low, stack, on_stack, found = {}, {}, [], set(), []

    def visit(v):
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in graph.get(v, ()):
            if w not in graph:
                continue
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for v in graph:
        if v not in index:
            visit(v)
    return found


def test_the_package_has_no_import_cycles():
    assert cycles(import_graph()) == []


def test_the_cycle_finder_finds_a_cycle():
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]


def test_evaluation_imports_no_generator():
    graph = import_graph()
    reached, todo = set(), [m for m in graph if m.startswith("lookalike.evaluate")]
    while todo:
        m = todo.pop()
        if m in reached:
            continue
        reached.add(m)
        todo.extend(t for t in graph.get(m, ()) if t in graph)
    outside = {t for m in reached for t in graph[m] if t not in graph}
    assert not {m for m in reached if m.startswith(("lookalike.models", "lookalike.synthesizer"))}
    assert "torch" not in outside


def test_evaluate_and_compare_are_callable_however_they_were_imported():
    import lookalike.evaluate  # noqa: F401  (the submodule import replaces the package attribute)
    from lookalike import compare, evaluate

    assert callable(evaluate) and callable(compare)
    from lookalike import evaluate as again

    assert callable(again)


def test_nothing_imports_ray_without_ray():
    """Ray is an optional extra: the library and the command line load it only for --ray and *_ray calls."""
    import subprocess
    import sys

    code = ("import sys, lookalike, lookalike.cli, lookalike.synthesizer, lookalike.compare, "
            "lookalike.relational.synthesizer, lookalike.distributed.options; "
            "assert not any(m == 'ray' or m.startswith('ray.') for m in sys.modules), 'ray was imported'")
    subprocess.run([sys.executable, "-c", code], check=True, timeout=120)


def test_only_the_distributed_package_imports_ray():
    graph = import_graph()
    users = sorted(m for m, targets in graph.items() if "ray" in targets)
    assert users and all(m.startswith("lookalike.distributed.") for m in users), users
