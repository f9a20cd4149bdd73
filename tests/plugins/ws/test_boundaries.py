"""pyframe_ws reaches the core through ``pyframe.plugin`` only, and aiohttp through its public
names only: the strict frame reader, which needs aiohttp's internals, is the core's
(``pyframe.plugin.accept_websocket``, PROTOCOL.md). The connection layer itself needs nothing
of the core but the logger, so it still runs under a bare aiohttp server.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pyframe_ws

PACKAGE = Path(pyframe_ws.__file__).parent
PUBLIC_AIOHTTP = {"aiohttp", "aiohttp.web"}
CORE_API = {"pyframe.plugin"}
# The connection layer: usable with any aiohttp request (WebSocket.accept).
CONNECTION_LAYER = {"connection.py", "send_queue.py", "options.py", "outgoing.py", "closing.py",
                    "counters.py", "errors.py", "receiving.py", "request_info.py",
                    "transport.py"}


def imported_modules(path: Path) -> list[tuple[str, list[str]]]:
    found = []
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            found += [(alias.name, []) for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            found.append((node.module, [alias.name for alias in node.names]))
    return found


def test_only_the_plugin_api_and_public_aiohttp_names():
    modules = sorted(PACKAGE.glob("*.py"))
    assert len(modules) >= 15
    for path in modules:
        for module, names in imported_modules(path):
            top = module.split(".")[0]
            if top == "pyframe":
                assert module in CORE_API, f"{path.name} imports {module}"
            assert not top.startswith("pyframe_") or top == "pyframe_ws", \
                f"{path.name} imports another plugin: {module}"
            if top == "aiohttp":
                assert module in PUBLIC_AIOHTTP, f"{path.name} imports {module}"
                assert not any(name.startswith("_") for name in names), f"{path.name}: {names}"


def test_the_connection_layer_needs_only_the_logger_of_the_core():
    for name in sorted(CONNECTION_LAYER):
        for module, names in imported_modules(PACKAGE / name):
            if module.split(".")[0] == "pyframe":
                assert names == ["get_logger"], f"{name} imports {names} of {module}"
