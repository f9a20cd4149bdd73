"""The house rules for the auth package: the building blocks are pure (no pyframe import), the
wiring sees the core only through ``pyframe`` and ``pyframe.plugin``; modules are small and
documented."""

import ast
from pathlib import Path

import pytest

import pyframe_auth

PACKAGE = Path(pyframe_auth.__file__).parent
MODULES = sorted(PACKAGE.glob("*.py"))
# The modules that connect the building blocks to pyframe; every other one is usable alone.
WIRING = {"__init__.py", "account.py", "config.py", "failures.py", "guards.py", "middleware.py",
          "plugin.py", "session_stores.py", "setup.py", "users.py"}


def imported_modules(path):
    imported = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            imported.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            imported.add(node.module)
    return imported


def test_every_wiring_module_exists():
    assert WIRING <= {p.name for p in MODULES}


@pytest.mark.parametrize("path", [p for p in MODULES if p.name not in WIRING],
                         ids=lambda p: p.name)
def test_building_blocks_import_nothing_of_pyframe(path):
    assert not {m for m in imported_modules(path) if m.split(".")[0] == "pyframe"}


@pytest.mark.parametrize("path", [p for p in MODULES if p.name in WIRING], ids=lambda p: p.name)
def test_wiring_imports_only_the_plugin_api(path):
    core = {m for m in imported_modules(path) if m.split(".")[0] == "pyframe"}
    assert core <= {"pyframe", "pyframe.plugin"}


@pytest.mark.parametrize("path", MODULES, ids=lambda p: p.name)
def test_modules_are_small_documented_and_declare_their_names(path):
    text = path.read_text()
    tree = ast.parse(text)
    assert len(text.splitlines()) < 400
    docstring = ast.get_docstring(tree)
    assert docstring and len(docstring.split("\n\n")[0].splitlines()) <= 2
    names = [t.id for node in tree.body if isinstance(node, ast.Assign)
             for t in node.targets if isinstance(t, ast.Name)]
    assert "__all__" in names or path.name == "__init__.py" and "__all__" in text


def test_everything_exported_exists():
    for name in pyframe_auth.__all__:
        assert hasattr(pyframe_auth, name), name
