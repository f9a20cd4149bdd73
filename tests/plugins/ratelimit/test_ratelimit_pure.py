"""The limiter's own parts are pure (no pyframe import); the modules that wire them into an app
see the core through ``pyframe`` and ``pyframe.plugin`` only, and never Redis."""

from __future__ import annotations

import ast
from pathlib import Path

import pyframe_ratelimit

PACKAGE = Path(pyframe_ratelimit.__file__).parent
PURE = ["decorators", "gcra", "headers", "keys", "limits", "proxies", "rules", "strategy"]
WIRED = ["__init__", "config", "limiter", "middleware", "ops", "plugin"]


def imported_modules(path: Path) -> set[str]:
    names = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.add(node.module)
    return names


def test_no_pure_module_imports_pyframe():
    for name in PURE:
        imports = imported_modules(PACKAGE / f"{name}.py")
        assert not [m for m in imports if m == "pyframe" or m.startswith("pyframe.")], name


def test_the_wired_modules_see_the_core_through_the_plugin_api_only():
    assert sorted(path.stem for path in PACKAGE.glob("*.py")) == sorted(PURE + WIRED)
    for name in WIRED:
        imports = imported_modules(PACKAGE / f"{name}.py")
        core = {m for m in imports if m == "pyframe" or m.startswith("pyframe.")}
        assert core <= {"pyframe", "pyframe.plugin"}, name
        # The shared backends own the Redis client; the limiter only names a URL.
        assert not [m for m in imports if m.split(".")[0] in ("redis", "pyframe_redis")], name


def test_every_module_is_small_and_says_what_it_does():
    for path in PACKAGE.glob("*.py"):
        text = path.read_text(encoding="utf-8")
        assert len(text.splitlines()) < 400, path.name
        assert ast.get_docstring(ast.parse(text)), path.name
