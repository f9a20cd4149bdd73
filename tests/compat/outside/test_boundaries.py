"""The compat layer is a thin adapter: it sees the core only through the documented modules,
its pure parts import no pyframe, and an app that does not import it never loads it."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pyframe.compat.outside as compat

PACKAGE = Path(compat.__file__).parent
# The app-facing names, the plugin API, and the documented serving modules.
ALLOWED = {"pyframe", "pyframe.plugin", "pyframe.serving", "pyframe.redirect"}
PURE = {"settings.py", "routing.py"}


def imported_modules(path: Path) -> set[str]:
    found = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            found.add(node.module)
    return found


def test_only_the_public_api_of_the_core_is_imported():
    for path in sorted(PACKAGE.glob("*.py")):
        core = {name for name in imported_modules(path) if name.split(".")[0] == "pyframe"}
        assert core <= ALLOWED, f"{path.name} imports {sorted(core - ALLOWED)}"
        if path.name in PURE:
            assert not core, f"{path.name} is pure but imports {sorted(core)}"
        assert "aiohttp" not in {name.split(".")[0] for name in imported_modules(path)}


def test_pyframe_and_a_served_app_never_load_the_compat_layer(tmp_path):
    code = ("import sys, asyncio, pyframe\n"
            "from pyframe.testing import TestClient\n"
            "app = pyframe.PyFrameApp()\n"
            "app.get('/')(lambda context: 'ok')\n"
            "async def main():\n"
            "    async with TestClient(app) as client:\n"
            "        async with client.get('/') as resp:\n"
            "            assert resp.status == 200\n"
            "asyncio.run(main())\n"
            "print(sorted(m for m in sys.modules if m.startswith('pyframe.compat')))\n")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            timeout=60, check=True, cwd=tmp_path)
    assert result.stdout.strip().splitlines()[-1] == "[]"
