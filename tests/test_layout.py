"""The code's layout: rooms that import only rooms below them, none too big to read.

Read from the source with `ast`: every import counts, also one inside a function or under
TYPE_CHECKING, since either ties two modules together as much as any other.
"""
from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("search", "web")
MAX_MODULE_LINES = 750
MAX_ENGINE_LINES = 250


def modules(root: Path = ROOT) -> dict[str, Path]:
    """Every module of the packages, by dotted name (a package by its own name)."""
    found = {}
    for package in PACKAGES:
        for path in sorted((root / package).rglob("*.py")):
            parts = path.relative_to(root).with_suffix("").parts
            found[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = path
    return found


def imported(path: Path, name: str, known: set[str]) -> set[str]:
    """The modules of `known` that a module imports: `from p import m` names module p.m when
    there is one, else p; importing p.m does not count as importing p's __init__."""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    targets = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            targets.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                base = ".".join(package.split(".")[:len(package.split(".")) - node.level + 1] + [base]).strip(".")
            targets.update(f"{base}.{alias.name}" if f"{base}.{alias.name}" in known else base for alias in node.names)
    return {target for target in targets if target in known and target != name}


def import_graph(root: Path = ROOT) -> dict[str, set[str]]:
    found = modules(root)
    return {name: imported(path, name, set(found)) for name, path in found.items()}


def cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One import cycle of the graph, as the modules along it, or None."""
    state: dict[str, str] = {}
    path: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = "open"
        path.append(node)
        for target in sorted(graph[node]):
            if state.get(target) == "open":
                return path[path.index(target):] + [target]
            if target not in state:
                found = visit(target)
                if found:
                    return found
        state[node] = "done"
        path.pop()
        return None

    return next((found for node in sorted(graph) if node not in state for found in [visit(node)] if found), None)


def test_the_graph_reader_finds_a_cycle_however_it_is_imported(tmp_path):
    """A cycle through a TYPE_CHECKING import and a function-level one is found; importing a
    package's submodule is not importing the package's __init__."""
    (tmp_path / "search").mkdir()
    (tmp_path / "web").mkdir()
    (tmp_path / "search" / "__init__.py").write_text("", encoding="utf-8")
    (tmp_path / "web" / "__init__.py").write_text("from web import api\n", encoding="utf-8")
    (tmp_path / "web" / "api.py").write_text("from web.engine import get\n", encoding="utf-8")
    (tmp_path / "web" / "engine.py").write_text("from search import query\n", encoding="utf-8")
    (tmp_path / "search" / "query.py").write_text("from search.export import LIMIT\n", encoding="utf-8")
    (tmp_path / "search" / "export.py").write_text(
        "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from search.query import Hit\n", encoding="utf-8")
    assert cycle(import_graph(tmp_path)) == ["search.export", "search.query", "search.export"]
    (tmp_path / "search" / "export.py").write_text("def hits():\n    from .query import Hit\n", encoding="utf-8")
    assert cycle(import_graph(tmp_path)) == ["search.export", "search.query", "search.export"]
    (tmp_path / "search" / "export.py").write_text("LIMIT = 1\n", encoding="utf-8")
    assert cycle(import_graph(tmp_path)) is None


def test_no_module_of_search_or_web_imports_one_that_imports_it_back():
    graph = import_graph()
    assert {"search.engine", "search.querylang", "search.export", "web.pages"} <= set(graph)
    assert graph["search.export"] >= {"search.results"}
    assert cycle(graph) is None


@pytest.mark.parametrize("name, path", sorted(modules().items()))
def test_no_module_is_too_long_to_read(name, path):
    assert len(path.read_text(encoding="utf-8").splitlines()) <= MAX_MODULE_LINES, name


def test_the_engine_keeps_only_what_needs_its_state():
    tree = ast.parse((ROOT / "search" / "engine.py").read_text(encoding="utf-8"))
    engine = next(node for node in tree.body if isinstance(node, ast.ClassDef) and node.name == "Engine")
    assert engine.end_lineno - engine.lineno + 1 <= MAX_ENGINE_LINES


def test_every_cached_value_is_keyed_in_cache_keys():
    """A value an index version caches or keeps is stored under a key of search/cache_keys.py,
    which names what it depends on: never under a tuple written where it is computed."""
    calls = [(path.name, node) for path in modules().values()
             for node in ast.walk(ast.parse(path.read_text(encoding="utf-8")))
             if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
             and node.func.attr in ("cached", "kept")]
    assert len(calls) >= 12
    unkeyed = [(name, ast.unparse(node.args[0])) for name, node in calls
               if not (isinstance(node.args[0], ast.Call) and ast.unparse(node.args[0].func).startswith("cache_keys."))]
    assert unkeyed == []
