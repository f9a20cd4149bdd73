"""The metrics observer: each finished request's method, route pattern, status and duration,
counted once its response is written (a core observer, not a middleware layer)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from pyframe.plugin import FinishedRequest

if TYPE_CHECKING:
    from .instruments import Instruments

__all__ = ["MetricsObserver", "UNMATCHED"]

# The route label of a request no route matched (404, 405): a fixed value, never the raw
# path, so scanners cannot blow up the number of series.
UNMATCHED = "<unmatched>"


class MetricsObserver:
    """Counts requests by method, route pattern and the status sent; times them.

    The status is the one written, whoever produced it: a handler's exception rendered as a
    500, an ``HTTPError`` with its own status, an exception handler's answer. A request the
    core does not observe (one aiohttp answered itself) is not counted.
    """

    __slots__ = ("_instruments",)

    def __init__(self) -> None:
        self._instruments: Instruments | None = None

    def bind(self, instruments: Instruments) -> None:
        """Called when the plugin starts, before the first request."""
        self._instruments = instruments

    def __call__(self, done: FinishedRequest) -> None:
        instruments = self._instruments
        if instruments is None:
            return  # the plugin never started
        context = done.context
        route = context.route
        instruments.record(context.method, route.path if route is not None else UNMATCHED,
                           done.status, done.duration)
