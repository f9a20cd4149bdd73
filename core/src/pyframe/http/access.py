"""The access log: one structlog line per request, written after the response went out."""

from __future__ import annotations

from time import perf_counter

from aiohttp import web
from aiohttp.abc import AbstractAccessLogger

from ..request.dispatch import CONTEXT_KEY

__all__ = ["AccessLogger"]


class AccessLogger(AbstractAccessLogger):
    """One ``request_finished`` line per request: id, method, path, status, bytes, duration."""

    def log(self, request: web.BaseRequest, response: web.StreamResponse, time: float) -> None:
        # Taking the context off the request breaks the request <-> context cycle, so both
        # are freed by reference counting instead of waiting for the cyclic collector.
        context = request.pop(CONTEXT_KEY, None)
        started = getattr(context, "started", None)
        if started is not None:
            time = perf_counter() - started
        self.logger.info("request_finished",
                         request_id=context.request_id if context is not None else None,
                         method=request.method, path=request.path, status=response.status,
                         bytes=response.body_length, duration_ms=round(time * 1000, 3),
                         remote=request.remote)
