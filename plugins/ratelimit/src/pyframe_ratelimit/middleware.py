"""RateLimitMiddleware, the reference's name, placed before authentication; and its second half,
which runs right after authentication for the limits keyed by user.

Appending ``RateLimitMiddleware(requests_per_minute=60, burst_size=10)`` to ``app.middleware``
turns the ratelimit plugin on (``enables_plugin``): the plugin opens the middleware's backend
when the app starts and reports its counts.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable
from typing import Any

import msgspec

from pyframe.plugin import MiddlewareOrder, Response

from .config import RateLimitConfig, RouteConfig, build_config
from .limiter import Limiter

__all__ = ["RateLimitMiddleware", "UserKeyedLimits"]

CallNext = Callable[[Any], Awaitable[Response]]


class RateLimitMiddleware:
    """Limit every route to ``requests_per_minute`` per client, ``burst_size`` at once.

    ``RateLimitMiddleware(requests_per_minute=60, burst_size=10)``; every other setting of the
    ``[plugins.ratelimit]`` section is a keyword argument (``backend="redis://..."``,
    ``key="user"``, ``routes=[{"pattern": "/login", "limits": ["5/minute"]}]``, ...), and
    ``key`` may also be a function of the request context. Arguments are checked like the
    section: a bad value raises ValueError.
    """

    order = MiddlewareOrder.RATE_LIMIT
    returns_response = True  # lets the core skip its normalising wrapper
    plugin_id = "ratelimit"
    enables_plugin = True

    def __init__(
        self,
        requests_per_minute: int = 60,
        burst_size: int = 10,
        *,
        backend: str | None = None,
        key: str | Callable[[Any], Any] = "ip",
        trusted_proxies: Iterable[str] = (),
        forwarded_header: str = "x-forwarded-for",
        ipv6_prefix: int = 64,
        key_prefix: str = "ratelimit:",
        routes: Iterable[dict[str, Any] | RouteConfig] = (),
        headers: bool = True,
        internal_headers: bool = False,
        on_backend_error: str = "allow",
    ) -> None:
        key_function = None
        if callable(key):
            key_function, key = key, "ip"
        options: dict[str, Any] = {
            "requests_per_minute": requests_per_minute, "burst_size": burst_size,
            "backend": backend, "key": key, "trusted_proxies": _seq(trusted_proxies),
            "forwarded_header": forwarded_header, "ipv6_prefix": ipv6_prefix,
            "key_prefix": key_prefix,
            "routes": routes if isinstance(routes, str) else tuple(_route(r) for r in routes),
            "headers": headers, "internal_headers": internal_headers,
            "on_backend_error": on_backend_error,
        }
        self._setup(build_config(options), key_function)

    @classmethod
    def from_config(cls, config: RateLimitConfig) -> RateLimitMiddleware:
        """Build from an already validated config (the plugin's ``[plugins.ratelimit]``)."""
        self = cls.__new__(cls)
        self._setup(config, None)
        return self

    def _setup(self, config: RateLimitConfig, key_function: Callable[[Any], Any] | None) -> None:
        self.config = config
        self.limiter = Limiter(config, key_function=key_function)
        self.after_auth = UserKeyedLimits(self.limiter)

    async def __call__(self, context: Any, call_next: CallNext) -> Response:
        limiter = self.limiter
        plan = limiter.plan(context)
        if plan is None or plan.after_auth:
            return await call_next(context)
        return await limiter.run(plan, context, call_next)

    def __repr__(self) -> str:
        return (f"RateLimitMiddleware(requests_per_minute={self.config.requests_per_minute}, "
                f"burst_size={self.config.burst_size})")


class UserKeyedLimits:
    """The limits keyed by user, right after authentication has set ``context.user``.

    Anonymous requests to those routes are keyed by address, as ``UserKey`` falls back. The
    plugin adds this middleware only when some limit is keyed by user.
    """

    order = MiddlewareOrder.AUTH + 50
    returns_response = True
    plugin_id = "ratelimit"

    def __init__(self, limiter: Limiter) -> None:
        self.limiter = limiter

    async def __call__(self, context: Any, call_next: CallNext) -> Response:
        limiter = self.limiter
        plan = limiter.plan(context)
        if plan is None or not plan.after_auth:
            return await call_next(context)
        return await limiter.run(plan, context, call_next)


def _route(rule: dict[str, Any] | RouteConfig) -> Any:
    if isinstance(rule, RouteConfig):
        return msgspec.structs.asdict(rule)
    return rule


def _seq(values: Any) -> Any:
    # A lone string is a mistake (iterating it gives characters): let validation name it.
    return values if isinstance(values, str) else tuple(values)
