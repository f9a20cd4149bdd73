"""Server-Sent Events; provided by the sse plugin.

Importing a name whose plugin is not installed raises an ImportError naming the extra.
"""

from __future__ import annotations

from .plugin.exports import exports_getattr

__all__ = ["SSEManager"]

_PROVIDERS = {
    "SSEManager": "sse",
}


__getattr__ = exports_getattr(__name__, _PROVIDERS)
