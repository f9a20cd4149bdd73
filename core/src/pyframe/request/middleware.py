"""Middleware: ``async def mw(context, call_next)``, named orders, and the chain, composed once
when the app starts."""

from __future__ import annotations

import inspect
from collections.abc import Awaitable, Callable, Iterable
from typing import TYPE_CHECKING, Any, Protocol, TypeVar

if TYPE_CHECKING:
    from .context import RequestContext
    from .responses import Response

__all__ = ["Middleware", "CallNext", "MiddlewareOrder", "middleware_order", "order_of",
           "MiddlewareList", "compose", "describe"]

F = TypeVar("F", bound=Callable[..., Any])
CallNext = Callable[["RequestContext"], Awaitable["Response"]]


class Middleware(Protocol):
    """What a middleware is: called with the context and the rest of the chain.

    Optional attributes: ``order`` (an int, see :class:`MiddlewareOrder`), ``returns_response``
    (True when it always returns a ``Response``, which saves a normalising step per request).
    """

    def __call__(self, context: RequestContext, call_next: CallNext) -> Awaitable[Any]: ...


class MiddlewareOrder:
    """Named positions, smallest outermost. Any int is allowed; an app's own middleware
    defaults to ``APP``.

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
    if not isinstance(order, int) or isinstance(order, bool):
        raise TypeError(f"middleware {describe(mw)} has order {order!r}; it must be an int")
    return order


class MiddlewareList(list):
    """``app.middleware``: a list until the app starts, then frozen."""

    frozen = False

    def _check(self) -> None:
        if self.frozen:
            raise RuntimeError("middleware is composed when the app starts; add it before that")

    def append(self, item: Any) -> None:
        self._check()
        super().append(item)

    def insert(self, index: Any, item: Any) -> None:
        self._check()
        super().insert(index, item)

    def extend(self, items: Iterable[Any]) -> None:
        self._check()
        super().extend(items)

    def remove(self, item: Any) -> None:
        self._check()
        super().remove(item)


def compose(middlewares: Iterable[Any], endpoint: CallNext,
            normalise: Callable[[Any, RequestContext], Response]
            ) -> tuple[CallNext, list[Any]]:
    """The chain around ``endpoint``, outermost first, and the middleware in that order.

    Sorting is stable: middleware of equal order keep the order they were given in. A result
    that is not a Response goes through ``normalise`` unless the middleware promises one.
    """
    middlewares = list(middlewares)
    for mw in middlewares:
        if not callable(mw):
            raise TypeError(f"middleware {mw!r} is not callable")
        fn = mw if inspect.isfunction(mw) or inspect.ismethod(mw) else getattr(mw, "__call__")
        if not inspect.iscoroutinefunction(fn):
            raise TypeError(f"middleware {describe(mw)} must be "
                            "`async def mw(context, call_next)`")
    ordered = sorted(middlewares, key=order_of)
    call = endpoint
    for mw in reversed(ordered):
        call = _link(mw, call, normalise)
    return call, ordered


def _link(mw: Any, call_next: CallNext,
          normalise: Callable[[Any, RequestContext], Response]) -> CallNext:
    if getattr(mw, "returns_response", False) is True:
        # It promises a Response (as the built-in plugins' middleware does): call it
        # directly, without a normalising coroutine around it.
        return lambda context: mw(context, call_next)

    async def run(context: RequestContext) -> Response:
        return normalise(await mw(context, call_next), context)

    return run


def describe(obj: Any) -> str:
    return getattr(obj, "__qualname__", None) or type(obj).__name__
