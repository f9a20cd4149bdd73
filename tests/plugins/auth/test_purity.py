"""The house rules for this round's modules: pure (no pyframe import), small, documented."""

import ast
from pathlib import Path

import pytest

import pyframe_auth

PACKAGE = Path(pyframe_auth.__file__).parent
MODULES = sorted(PACKAGE.glob("*.py"))


@pytest.mark.parametrize("path", MODULES, ids=lambda p: p.name)
def test_no_module_imports_pyframe(path):
    tree = ast.parse(path.read_text())
    imported = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            imported.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            imported.add(node.module.split(".")[0])
    assert "pyframe" not in imported


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
