"""Where middleware sits in the chain: named orders, smallest outermost."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

__all__ = ["MiddlewareOrder", "middleware_order", "order_of"]

F = TypeVar("F", bound=Callable[..., Any])


class MiddlewareOrder:
    """Named positions. Plugins use these; an app's own middleware defaults to ``APP``.

    Outermost first: metrics sees every request and its final status; CORS answers preflights
    before anything can refuse them; compression encodes what the rest produced; rate limiting
    turns traffic away before authentication spends work on it.
    """

    OUTERMOST = 0
    METRICS = 100
    CORS = 200
    COMPRESSION = 300
    RATE_LIMIT = 400
    AUTH = 500
    SESSION = 600
    APP = 1000
    INNERMOST = 2000


def middleware_order(order: int) -> Callable[[F], F]:
    """Decorate an ``async def mw(context, call_next)`` to place it in the chain."""

    def mark(fn: F) -> F:
        fn.order = order  # type: ignore[attr-defined]
        return fn

    return mark


def order_of(mw: Any) -> int:
    order = getattr(mw, "order", MiddlewareOrder.APP)
    if not isinstance(order, int):
        raise TypeError(f"middleware {mw!r} has order {order!r}; it must be an int")
    return order
