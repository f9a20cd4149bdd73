"""The built-in middleware of the API reference; each lives in its plugin.

Importing a name whose plugin is not installed raises an ImportError naming the extra.
"""

from __future__ import annotations

from .plugin.exports import exports_getattr

__all__ = ["CORSMiddleware", "CompressionMiddleware", "AuthMiddleware", "RateLimitMiddleware"]

_PROVIDERS = {
    "CORSMiddleware": "cors",
    "CompressionMiddleware": "compression",
    "AuthMiddleware": "auth",
    "RateLimitMiddleware": "ratelimit",
}


__getattr__ = exports_getattr(__name__, _PROVIDERS)
