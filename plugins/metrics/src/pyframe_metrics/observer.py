"""The metrics observer: each finished request's method, route pattern, status and duration,
counted once its response is written (a core observer, not a middleware layer)."""

from __future__ import annotations

from bisect import bisect_left
from typing import TYPE_CHECKING

from pyframe.plugin import HTTP_METHODS, FinishedRequest

if TYPE_CHECKING:
    from .instruments import Instruments

__all__ = ["MetricsObserver", "UNMATCHED"]

METHODS = frozenset(HTTP_METHODS)
OTHER_METHOD = "OTHER"
# The route label of a request no route matched (404, 405): a fixed value, never the raw
# path, so scanners cannot blow up the number of series.
UNMATCHED = "<unmatched>"


class MetricsObserver:
    """Counts requests by method, route pattern and the status sent; times them.

    The status is the one written, whoever produced it: a handler's exception rendered as a
    500, an ``HTTPError`` with its own status, an exception handler's answer. A request the
    core does not observe (one aiohttp answered itself) is not counted.
    """

    __slots__ = ("_instruments", "_series", "_bounds", "_width")

    def __init__(self) -> None:
        self._instruments: Instruments | None = None
        self._series: dict[tuple[str, str, int], list[float]] | None = None
        self._bounds: tuple[float, ...] = ()
        self._width = 0

    def bind(self, instruments: Instruments) -> None:
        """Called when the plugin starts, before the first request."""
        self._instruments = instruments
        if not instruments.multiprocess:
            # In one process the tallies are updated here directly (Instruments.record,
            # written out): this runs for every request.
            self._series = instruments._series
            self._bounds = instruments._bounds
            self._width = len(instruments._bounds) + 2

    def __call__(self, done: FinishedRequest) -> None:
        context = done.context
        route = context.route
        series = self._series
        if series is None:
            instruments = self._instruments
            if instruments is not None:  # across processes; None: the plugin never started
                instruments.record(context.method,
                                   route.path if route is not None else UNMATCHED,
                                   done.status, done.duration)
            return
        method = context.method
        if method not in METHODS:
            method = OTHER_METHOD  # any token is a method to HTTP; keep the label set small
        key = (method, route.path if route is not None else UNMATCHED, done.status)
        slots = series.get(key)
        if slots is None:
            slots = series[key] = [0] * self._width
        elapsed = done.duration
        slots[bisect_left(self._bounds, elapsed)] += 1
        slots[-1] += elapsed
