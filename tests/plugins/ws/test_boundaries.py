"""pyframe_ws's connection code stands alone: no pyframe import, only aiohttp's public names.

Anything that needs aiohttp's internals belongs to the core's http layer (PROTOCOL.md).
"""

from __future__ import annotations

import ast
from pathlib import Path

import pyframe_ws

PACKAGE = Path(pyframe_ws.__file__).parent
PUBLIC_AIOHTTP = {"aiohttp", "aiohttp.web"}


def imported_modules(path: Path) -> list[tuple[str, list[str]]]:
    found = []
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            found += [(alias.name, []) for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            found.append((node.module, [alias.name for alias in node.names]))
    return found


def test_no_module_imports_pyframe_or_aiohttp_internals():
    modules = sorted(PACKAGE.glob("*.py"))
    assert len(modules) >= 5
    for path in modules:
        for module, names in imported_modules(path):
            top = module.split(".")[0]
            assert top != "pyframe", f"{path.name} imports {module}"
            if top == "aiohttp":
                assert module in PUBLIC_AIOHTTP, f"{path.name} imports {module}"
                assert not any(name.startswith("_") for name in names), f"{path.name}: {names}"
