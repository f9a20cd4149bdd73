"""The encoder, parser, Last-Event-ID, id and replay modules are pure: no pyframe, no other
plugin, nothing but the standard library and msgspec, so a client or a test can use them alone."""

from __future__ import annotations

import ast
import sys
from pathlib import Path

import pytest

import pyframe_sse

PACKAGE = Path(pyframe_sse.__file__).parent
PURE = ("encoder", "parser", "last_event_id", "ids", "replay")
ALLOWED = set(sys.stdlib_module_names) | {"__future__", "msgspec"}


def imports_of(module: str) -> tuple[set[str], set[str]]:
    """(top-level packages imported absolutely, sibling modules imported relatively)."""
    tree = ast.parse((PACKAGE / f"{module}.py").read_text(), filename=f"{module}.py")
    absolute, relative = set(), set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            absolute |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                relative.add((node.module or "").split(".")[0])
            else:
                absolute.add(node.module.split(".")[0])
    return absolute, relative


@pytest.mark.parametrize("module", PURE)
def test_pure_modules_import_nothing_of_pyframe(module):
    absolute, relative = imports_of(module)
    assert absolute <= ALLOWED, f"{module} imports {sorted(absolute - ALLOWED)}"
    assert relative <= set(PURE), f"{module} imports {sorted(relative - set(PURE))}"


@pytest.mark.parametrize("module", PURE)
def test_pure_modules_are_small_and_say_what_they_do(module):
    source = (PACKAGE / f"{module}.py").read_text()
    assert len(source.splitlines()) < 400
    assert ast.get_docstring(ast.parse(source))
    assert "__all__" in source
