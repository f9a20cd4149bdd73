"""The import rules of docs/architecture.md, checked on source text (an AST walk).

Every import counts — at module level and inside functions — except those under
``if TYPE_CHECKING:``. The rules:

- the core (``pyframe``) never imports a plugin (``pyframe_<id>``);
- a plugin never imports another plugin;
- a plugin imports only ``pyframe``, ``pyframe.plugin`` and ``pyframe.backends`` of the core;
- only ``pyframe.http`` imports aiohttp's internal modules (everything but ``aiohttp`` itself,
  ``aiohttp.web`` and ``aiohttp.abc``);
- the core's import graph has no cycle, but for the late-bound calls listed in
  ``UPWARD_CALLS`` (each with its reason).
"""

from __future__ import annotations

import ast
from collections.abc import Mapping
from pathlib import Path

__all__ = ["Module", "read_tree", "violations", "UPWARD_CALLS", "PLUGIN_API"]

# The core modules a plugin may import: the app-facing names, the plugin API, and the
# shared-backend contracts for distributions that implement a backend (pyframe-redis).
PLUGIN_API = frozenset({"pyframe", "pyframe.plugin", "pyframe.backends"})
# aiohttp's public modules; the rest are its internals, which only pyframe.http may use.
AIOHTTP_PUBLIC = frozenset({"aiohttp", "aiohttp.web", "aiohttp.abc"})
# Imports from a lower layer to a higher one, made inside a function so they run when called,
# never at import time. Each is the one way across; anything else upward is a cycle.
UPWARD_CALLS = {
    ("pyframe.app", "pyframe.serve.run"):
        "PyFrameApp.run() hands the app to the server of pyframe.serve",
}


class Module:
    """A module's name, its package, and what it imports (module names, fully resolved)."""

    def __init__(self, name: str, is_package: bool, source: str, path: str = "") -> None:
        self.name = name
        self.path = path or name
        self.package = name if is_package else name.rpartition(".")[0]
        self.imports: set[str] = set()
        # The modules named by the statements themselves (``from X import y`` names X).
        self.modules: set[str] = set()
        self._walk(ast.parse(source, self.path))

    def _walk(self, node: ast.AST) -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.If) and _is_type_checking(child.test):
                for other in child.orelse:
                    self._visit(other)
                continue
            self._visit(child)

    def _visit(self, node: ast.AST) -> None:
        if isinstance(node, ast.Import):
            self.imports.update(alias.name for alias in node.names)
            self.modules.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = self._resolve(node)
            if base:
                self.modules.add(base)
            # `from pkg import sub` imports pkg.sub when that is a module, else a name of pkg:
            # targets() keeps the longest name that is a known module.
            self.imports.update(f"{base}.{alias.name}" if base else alias.name
                                for alias in node.names)
        self._walk(node)

    def _resolve(self, node: ast.ImportFrom) -> str:
        if not node.level:
            return node.module or ""
        parts = self.package.split(".")
        if node.level > 1:
            parts = parts[: len(parts) - node.level + 1]
        return ".".join([*parts, node.module] if node.module else parts)


def _is_type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING")


def read_tree(roots: Mapping[str, Path]) -> dict[str, Module]:
    """Modules under each ``{package name: folder}``."""
    modules = {}
    for package, folder in roots.items():
        for path in sorted(folder.rglob("*.py")):
            relative = path.relative_to(folder).with_suffix("")
            parts = [package, *relative.parts]
            is_package = parts[-1] == "__init__"
            if is_package:
                parts = parts[:-1]
            name = ".".join(parts)
            modules[name] = Module(name, is_package, path.read_text(encoding="utf-8"),
                                   str(path))
    return modules


def _top(name: str) -> str:
    return name.split(".")[0]


def violations(modules: Mapping[str, Module], core: str = "pyframe") -> list[str]:
    """Every broken rule, one line each (empty when the tree keeps them all)."""
    found = []
    known = set(modules)

    def targets(module: Module) -> set[str]:
        # The modules an import statement loads: the longest known prefix of each name.
        out = set()
        for name in module.imports:
            parts = name.split(".")
            while parts and ".".join(parts) not in known:
                parts.pop()
            out.add(".".join(parts) if parts else name)
        return out

    graph: dict[str, set[str]] = {}
    for name, module in modules.items():
        imported = targets(module)
        top = _top(name)
        if top == core:
            inside_http = name == f"{core}.http" or name.startswith(f"{core}.http.")
            for target in sorted(imported):
                if _top(target).startswith(f"{core}_"):
                    found.append(f"{module.path}: the core imports plugin {target}")
            for target in sorted(module.modules):
                if _top(target) == "aiohttp" and target not in AIOHTTP_PUBLIC \
                        and not inside_http:
                    found.append(f"{module.path}: imports aiohttp's internal {target}; only "
                                 f"{core}.http may")
            graph[name] = {t for t in imported if _top(t) == core and t != name
                           and (name, t) not in UPWARD_CALLS}
        elif top.startswith(f"{core}_") or name in _third_party(modules, core):
            for target in sorted(imported):
                target_top = _top(target)
                if target_top.startswith(f"{core}_") and target_top != top:
                    found.append(f"{module.path}: plugin {top} imports another plugin, {target}")
                elif target_top == core and target not in PLUGIN_API:
                    found.append(f"{module.path}: plugin {top} imports {target}, which is not "
                                 f"the public plugin API ({', '.join(sorted(PLUGIN_API))})")
    found.extend(f"the core has an import cycle: {' -> '.join(cycle)}"
                 for cycle in _cycles(graph))
    return found


def _third_party(modules: Mapping[str, Module], core: str) -> set[str]:
    return {n for n in modules if not _top(n).startswith(core)}


def _cycles(graph: Mapping[str, set[str]]) -> list[list[str]]:
    """One cycle per strongly connected component with more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    cycles = []
    counter = [0]

    def visit(node: str) -> None:
        index[node] = low[node] = counter[0]
        counter[0] += 1
        stack.append(node)
        on_stack.add(node)
        for nxt in sorted(graph.get(node, ())):
            if nxt not in graph:
                continue
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in on_stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            component = []
            while True:
                item = stack.pop()
                on_stack.discard(item)
                component.append(item)
                if item == node:
                    break
            if len(component) > 1:
                cycles.append(_path_through(sorted(component), graph))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return cycles


def _path_through(component: list[str], graph: Mapping[str, set[str]]) -> list[str]:
    """A readable cycle inside ``component``: from its first module back to it."""
    members = set(component)
    start = component[0]
    path, seen = [start], {start}
    node = start
    while True:
        nxt = next((n for n in sorted(graph[node]) if n in members and n == start), None) or \
            next((n for n in sorted(graph[node]) if n in members and n not in seen), None)
        if nxt is None or nxt == start:
            return [*path, start]
        path.append(nxt)
        seen.add(nxt)
        node = nxt
