"""Finished requests and their observers: what a plugin sees of each request once its answer
has been written, without being a layer of the middleware chain.

The app collects observers when it starts (``pyframe_add_request_observers``, and the access
log's); the connection calls them after each response is written. Nothing here runs for a
request when no observer is registered.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

import msgspec

from ..logging import get_logger

if TYPE_CHECKING:
    from .context import RequestContext

__all__ = ["FinishedRequest", "RequestObserver", "Observers"]

log = get_logger("pyframe")
# A failing observer is logged at most once per this many seconds (with a count): it runs for
# every request, and a log line per request would be its own flood.
FAILURE_LOG_EVERY = 10.0


class FinishedRequest(msgspec.Struct, frozen=True):
    """One request whose response has been written (or whose client went away first).

    ``status`` is the response's status, ``bytes`` what was written for it (head and body; 0
    when the client had gone), ``duration`` seconds from routing to the end of the write.
    The rest is read from the request's context when asked for, so an observer pays only for
    what it reads: ``method``, ``route`` (the matched route's pattern, or None when no route
    matched: a 404 or 405), ``path``, ``request_id``, ``remote``; ``context`` is the
    ``RequestContext`` itself (``context.user``, headers, ...). Keep nothing of it past the
    call but what you copy out: the context holds the whole request.
    """

    context: RequestContext
    status: int
    bytes: int
    duration: float

    @property
    def method(self) -> str:
        return self.context.method

    @property
    def route(self) -> str | None:
        route = self.context.route
        return route.path if route is not None else None

    @property
    def path(self) -> str:
        return self.context.path

    @property
    def request_id(self) -> str:
        return self.context.request_id

    @property
    def remote(self) -> str | None:
        return self.context.remote_addr


RequestObserver = Callable[[FinishedRequest], Any]


class Observers:
    """The observers of one started app, called in order for every finished request.

    An observer that raises is logged (at most once per ``FAILURE_LOG_EVERY`` seconds per
    observer, with how many failures were not logged) and the others still run; the request
    is long answered, so nothing else changes.
    """

    __slots__ = ("observers", "_failures", "clock")

    def __init__(self, observers: Sequence[RequestObserver] = (), *,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.observers = tuple(observers)
        self.clock = clock
        self._failures: dict[int, list[float]] = {}  # observer index -> [logged at, unlogged]

    def __bool__(self) -> bool:
        return bool(self.observers)

    def __len__(self) -> int:
        return len(self.observers)

    def __call__(self, finished: FinishedRequest) -> None:
        for observer in self.observers:
            try:
                observer(finished)
            except Exception as exc:
                self.failed(observer, exc)

    def failed(self, observer: RequestObserver, exc: Exception) -> None:
        """Log that ``observer`` raised ``exc`` (rate-limited; see the class docstring)."""
        index = self.observers.index(observer)
        now = self.clock()
        state = self._failures.get(index)
        if state is not None and now - state[0] < FAILURE_LOG_EVERY:
            state[1] += 1
            return
        unlogged = int(state[1]) if state is not None else 0
        self._failures[index] = [now, 0]
        log.error("request_observer_failed",
                  observer=getattr(observer, "__qualname__", type(observer).__name__),
                  not_logged_since=unlogged, exc_info=exc)
