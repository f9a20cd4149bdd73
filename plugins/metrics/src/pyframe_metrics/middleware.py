"""The metrics middleware: outermost, it times every request and records its final status."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from time import perf_counter
from typing import TYPE_CHECKING, Any

from pyframe.plugin import HTTPError, MiddlewareOrder, RequestContext, Response

if TYPE_CHECKING:
    from .instruments import Instruments

__all__ = ["MetricsMiddleware", "UNMATCHED"]

# The route label of a request no route matched (404, 405): a fixed value, never the raw
# path, so scanners cannot blow up the number of series.
UNMATCHED = "<unmatched>"


class MetricsMiddleware:
    """Counts requests by method, route pattern and status; times them; tracks those in flight.

    An exception from inside is recorded as a 500 (an ``HTTPError`` with its own status) and
    re-raised for the core to render. A request cancelled before it was answered is not
    counted.
    """

    order = MiddlewareOrder.METRICS
    returns_response = True  # lets the core skip its normalising wrapper
    plugin_id = "metrics"

    def __init__(self) -> None:
        self._instruments: Instruments | None = None

    def bind(self, instruments: Instruments) -> None:
        """Called when the plugin starts, before the first request."""
        self._instruments = instruments

    async def __call__(self, context: RequestContext,
                       call_next: Callable[[RequestContext], Awaitable[Response]]) -> Any:
        instruments = self._instruments
        if instruments is None:  # the plugin never started: stay out of the way
            return await call_next(context)
        files = instruments.multiprocess
        if files:
            instruments.in_flight.inc()
        else:
            instruments.in_flight_count += 1
        status = None
        start = perf_counter()
        try:
            response = await call_next(context)
            status = response.status
            return response
        except HTTPError as exc:
            status = exc.status
            raise
        except Exception:
            status = 500
            raise
        finally:
            elapsed = perf_counter() - start
            if files:
                instruments.in_flight.dec()
            else:
                instruments.in_flight_count -= 1
            if status is not None:
                route = context.route
                instruments.record(context.method,
                                   route.path if route is not None else UNMATCHED,
                                   status, elapsed)
