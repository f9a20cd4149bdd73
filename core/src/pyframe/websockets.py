"""WebSocket connection management; provided by the ws plugin.

Importing a name whose plugin is not installed raises an ImportError naming the extra.
"""

from __future__ import annotations

from typing import Any

from ._exports import load_export

__all__ = ["WebSocketManager"]

_PROVIDERS = {
    "WebSocketManager": "ws",
}


def __getattr__(name: str) -> Any:
    plugin_id = _PROVIDERS.get(name)
    if plugin_id is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return load_export(__name__, name, plugin_id)
