"""The modules of this round are pure: none imports pyframe, and the package loads without it."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pyframe_ratelimit

PACKAGE = Path(pyframe_ratelimit.__file__).parent
PURE = ["__init__", "decorators", "gcra", "headers", "keys", "limits", "proxies", "rules",
        "strategy"]


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


def test_the_package_imports_without_pyframe_loaded():
    code = ("import sys, pyframe_ratelimit; "
            "print(sorted(m for m in sys.modules if m == 'pyframe' or m.startswith('pyframe.')))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         timeout=60, check=True)
    assert out.stdout.strip() == "[]"


def test_every_module_is_small_and_says_what_it_does():
    for path in PACKAGE.glob("*.py"):
        text = path.read_text(encoding="utf-8")
        assert len(text.splitlines()) < 400, path.name
        assert ast.get_docstring(ast.parse(text)), path.name
