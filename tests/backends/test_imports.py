"""The core's backends package imports only what it may: the standard library, msgspec,
structlog, importlib_metadata and pyframe.logging (the rest of the core moves around it)."""

from __future__ import annotations

import ast
import sys
from pathlib import Path

import pyframe.backends

PACKAGE = Path(pyframe.backends.__file__).parent
ALLOWED = {"msgspec", "structlog", "importlib_metadata"}


def imported_modules(path: Path) -> list[tuple[int, str]]:
    found = []
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0:
            found.append((node.lineno, node.module or ""))
    return found


def test_the_backends_package_imports_only_what_it_may():
    modules = sorted(PACKAGE.glob("*.py"))
    assert len(modules) >= 8
    wrong = []
    for path in modules:
        for line, name in imported_modules(path):
            top = name.split(".")[0]
            if name == "pyframe.logging" or top in ALLOWED or top in sys.stdlib_module_names:
                continue
            wrong.append(f"{path.name}:{line}: {name}")
    assert wrong == []


def test_every_module_is_small_and_says_what_it_does():
    for path in PACKAGE.glob("*.py"):
        text = path.read_text()
        assert len(text.splitlines()) < 400, path.name
        assert ast.get_docstring(ast.parse(text)), f"{path.name} has no module docstring"
