"""The shape of the house: dependencies point one way and no source file grows unreadable.

The import graph is read from the source (every import, also those inside functions), so a
lazy import cannot hide a loop or a dependency the wrong way.
"""

from __future__ import annotations

import ast
import os
import subprocess
import sys
from pathlib import Path

from streams.settings import PROJECT_ROOT

PACKAGES = ("streams", "models")
MAX_LINES = 620  # "no non-data source file over ~600 lines"


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(PROJECT_ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts = parts[:-1]
    return ".".join(parts)


def _sources() -> dict[str, Path]:
    return {
        _module_name(p): p
        for package in PACKAGES
        for p in (PROJECT_ROOT / package).rglob("*.py")
        if "artifacts" not in p.parts
    }


def _resolve(module: str, path: Path, node: ast.ImportFrom) -> str:
    if not node.level:
        return node.module or ""
    base = module.split(".") if path.name == "__init__.py" else module.split(".")[:-1]
    base = base[: len(base) - (node.level - 1)]
    return ".".join(base + ([node.module] if node.module else []))


def import_graph() -> dict[str, set[str]]:
    """Project module -> the project modules it imports (a package counts as its __init__)."""
    sources = _sources()
    graph: dict[str, set[str]] = {}
    for module, path in sources.items():
        edges: set[str] = set()
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            names: list[str] = []
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom):
                target = _resolve(module, path, node)
                names = [f"{target}.{a.name}" for a in node.names] + [target]
            for name in names:
                while name and name not in sources:
                    name = name.rpartition(".")[0]
                if name and name != module:
                    edges.add(name)
        graph[module] = edges
    return graph


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in graph.get(v, ()):
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

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return found


def test_models_never_import_streams():
    wrong = {m: sorted(e for e in edges if e.startswith("streams"))
             for m, edges in import_graph().items() if m.startswith("models")}  # fmt: skip
    assert {m: e for m, e in wrong.items() if e} == {}


def test_text_normalisation_is_the_bottom():
    assert import_graph()["models.text"] == set()


def test_the_import_graph_has_no_cycle():
    assert _cycles(import_graph()) == []


def test_serving_does_not_import_training():
    graph = import_graph()
    assert "models.train" not in graph["streams.scoring.scorer"]
    assert "models.train" not in graph["models.predict"]


def test_no_source_file_is_too_long_to_read():
    """Data (the corpus tables) may be long; code may not."""
    long = {}
    for folder in ("streams", "models", "tests", "bench", "tools"):
        for path in (PROJECT_ROOT / folder).rglob("*.py"):
            lines = len(path.read_text(encoding="utf-8").splitlines())
            if lines > MAX_LINES:
                long[str(path.relative_to(PROJECT_ROOT))] = lines
    assert long == {}


def test_the_command_line_starts_without_scikit_learn():
    """`callqa --help` and the commands that only talk to Kafka or Elasticsearch (deadletters,
    recordings purge, coverage) do not pay for scikit-learn's import (4-6 s a process)."""
    code = (
        "import sys; from streams.cli import build_parser; build_parser().format_help(); "
        "import streams.cli.deadletters, streams.coverage, streams.recordings, streams.index.labels; "
        "print(sorted(m for m in sys.modules if m.split('.')[0] in ('sklearn', 'scipy')))"
    )
    done = subprocess.run([sys.executable, "-c", code], cwd=PROJECT_ROOT, capture_output=True,
                          text=True, timeout=120)  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]"


def test_make_lets_python_keep_bytecode():
    """These machines set PYTHONDONTWRITEBYTECODE; `make` unexports it so each of the suite's
    processes does not compile its imports from source again."""
    probe = 'include Makefile\nprobe:\n\t@echo "[$$PYTHONDONTWRITEBYTECODE]"\n'
    done = subprocess.run(["make", "-s", "-f", "-", "probe"], input=probe, cwd=PROJECT_ROOT,
                          capture_output=True, text=True, timeout=60,
                          env={**os.environ, "PYTHONDONTWRITEBYTECODE": "1"})  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]"
