"""The built-in middleware of the API reference; each lives in its plugin.

Importing a name whose plugin is not installed raises an ImportError naming the extra.
"""

from __future__ import annotations

from typing import Any

from ._exports import load_export

__all__ = ["CORSMiddleware", "CompressionMiddleware", "AuthMiddleware", "RateLimitMiddleware"]

_PROVIDERS = {
    "CORSMiddleware": "cors",
    "CompressionMiddleware": "compression",
    "AuthMiddleware": "auth",
    "RateLimitMiddleware": "ratelimit",
}


def __getattr__(name: str) -> Any:
    plugin_id = _PROVIDERS.get(name)
    if plugin_id is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return load_export(__name__, name, plugin_id)
