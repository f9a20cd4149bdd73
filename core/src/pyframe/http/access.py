"""What happens once a response has been written: the app's observers of finished requests
are called (the access log is one of them), with a ``FinishedRequest``.

The connection (``PyFrameRequestHandler.log_access``) calls :func:`request_finished` for every
request aiohttp finishes. The dispatcher leaves the request's context on it only when the app
has observers, so with none this costs one failed lookup.
"""

from __future__ import annotations

from time import perf_counter
from typing import Any

from aiohttp import web
from aiohttp.abc import AbstractAccessLogger

from ..logging import per_request_line
from ..request.dispatch import CONTEXT_KEY
from ..request.finished import FinishedRequest, RequestObserver

__all__ = ["AccessLogger", "access_observer", "request_finished"]


def request_finished(request: web.BaseRequest, response: Any) -> bool:
    """Tell the app's observers that ``request`` was answered with ``response``; False when
    the request never reached the app's dispatcher (aiohttp could not parse it)."""
    # Taking the context off the request breaks the request <-> context cycle, so both are
    # freed by reference counting instead of waiting for the cyclic collector. The request's
    # own dict (a private name), not its mapping methods: this runs for every request.
    context = request._state.pop(CONTEXT_KEY, None)
    if context is None:
        return False
    dispatcher = context.app.dispatcher
    if dispatcher is not None:
        dispatcher.observers(FinishedRequest(context, response.status, response.body_length,
                                             perf_counter() - context.started))
    return True


def access_observer(logger: Any) -> RequestObserver:
    """The access log as an observer: one ``request_finished`` line per request with its id,
    method, path, status, bytes, duration and the client's address (its fields read now, the
    line rendered with its batch of lines: see ``pyframe.logging.per_request_line``)."""
    return per_request_line(logger, "request_finished", _access_fields)


def _access_fields(done: FinishedRequest) -> dict[str, Any]:
    context = done.context
    return {"request_id": context.request_id, "method": context.method, "path": context.path,
            "status": done.status, "bytes": done.bytes,
            "duration_ms": round(done.duration * 1000, 3), "remote": context.remote_addr}


class AccessLogger(AbstractAccessLogger):
    """aiohttp's access-log slot, for the requests the app never saw (ones aiohttp answered
    itself, such as a 400 for a request it could not parse): the same line, without an id.
    Every other request is logged by :func:`access_observer`."""

    def log(self, request: web.BaseRequest, response: web.StreamResponse, time: float) -> None:
        if request_finished(request, response):
            return  # a request of the app's: its observers have it
        self.logger.info("request_finished", request_id=None, method=request.method,
                         path=request.path, status=response.status,
                         bytes=response.body_length, duration_ms=round(time * 1000, 3),
                         remote=request.remote)
