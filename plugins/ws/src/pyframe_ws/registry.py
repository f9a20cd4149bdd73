"""Where managers and started apps find each other.

A ``WebSocketManager()`` is usually made at import time, before any app exists; the ws plugin's
runtime of each started app is kept in ``app.state[RUNTIME]``. A manager joins an app when it is
first used: the app of the first connection it is given, or, while exactly one app with the ws
plugin is running in the process, that one (so ``broadcast`` from an HTTP handler works before
any connection). Binding at start-up instead would have to guess which of several apps in one
process a manager belongs to.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

from pyframe.plugin import AppKey

if TYPE_CHECKING:
    from .runtime import WsRuntime

__all__ = ["NAMESPACE", "RUNTIME", "check_namespace", "running", "runtime_of"]

RUNTIME: AppKey[Any] = AppKey("ws.runtime")
NAMESPACE = re.compile(r"^[A-Za-z0-9_.\-]{1,100}$")

# Every started runtime of the process, in start order.
running: list[WsRuntime] = []


def check_namespace(namespace: str) -> str:
    if not isinstance(namespace, str) or not NAMESPACE.match(namespace):
        raise ValueError(f"a WebSocketManager namespace is 1 to 100 letters, digits, '_', '.' "
                         f"or '-', got {namespace!r}")
    return namespace


def runtime_of(app: Any) -> WsRuntime | None:
    return app.state.get(RUNTIME) if app is not None else None
