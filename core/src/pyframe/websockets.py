"""WebSocket connection management; provided by the ws plugin.

Importing a name whose plugin is not installed raises an ImportError naming the extra.
"""

from __future__ import annotations

from .plugin.exports import exports_getattr

__all__ = ["WebSocketManager"]

_PROVIDERS = {
    "WebSocketManager": "ws",
}


__getattr__ = exports_getattr(__name__, _PROVIDERS)
