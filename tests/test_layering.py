"""The package's module boundaries: no import cycles, and no module imports the root."""

from __future__ import annotations

import ast
from pathlib import Path

import clickkit

PACKAGE = Path(clickkit.__file__).parent


def _module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _imports() -> dict[str, set[str]]:
    """Each clickkit module's clickkit imports, wherever they are (TYPE_CHECKING included).

    ``from clickkit import schema`` depends on ``clickkit.schema``; a name of the root
    itself (``from clickkit import __version__``, ``import clickkit``) on ``clickkit``.
    """
    files = {_module_name(path): path for path in PACKAGE.rglob("*.py")}
    graph: dict[str, set[str]] = {}
    for name, path in files.items():
        deps: set[str] = set()
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                if node.module.split(".")[0] != "clickkit":
                    continue
                for alias in node.names:
                    sub = f"{node.module}.{alias.name}"
                    deps.add(sub if sub in files else node.module)
            elif isinstance(node, ast.Import):
                deps |= {a.name for a in node.names if a.name.split(".")[0] == "clickkit"}
        graph[name] = {d for d in deps if d in files and d != name}
    return graph


def test_no_module_imports_the_package_root() -> None:
    importers = sorted(m for m, deps in _imports().items() if "clickkit" in deps)
    assert importers == [], f"{importers} import the package root; import the leaf module"


def test_there_is_no_import_cycle() -> None:
    graph = {m: deps for m, deps in _imports().items() if m != "clickkit"}
    state: dict[str, str] = {}

    def visit(module: str, path: list[str]) -> None:
        state[module] = "open"
        for dep in sorted(graph.get(module, ())):
            if state.get(dep) == "open":
                cycle = [*path[path.index(dep) :], dep]
                raise AssertionError("import cycle: " + " -> ".join(cycle))
            if dep not in state:
                visit(dep, [*path, dep])
        state[module] = "done"

    for module in sorted(graph):
        if module not in state:
            visit(module, [module])
