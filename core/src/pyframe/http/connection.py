"""The HTTP/1.1 connection: aiohttp's RequestHandler plus the limits aiohttp leaves out.

This module and the rest of ``pyframe.http`` are the only places that touch aiohttp's private
names (tests/core/test_aiohttp_private.py names each one).

aiohttp parses requests and keeps connections alive. This subclass adds: a deadline for the
whole request head (aiohttp alone waits for a slow client until the keep-alive timeout); the
head and framing limits of http/heads.py and the refusals of http/framing.py; the send
timeout of http/sending.py; a cap on open connections; ``Connection: close`` while draining,
with idle connections closed at once; and error answers that never quote the request's bytes
back.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Coroutine
from typing import TYPE_CHECKING, Any

from aiohttp import web
from aiohttp.web_protocol import RequestHandler

from ..logging import get_logger
from ..request.responses import json_encode
from ..status import get_description
from .access import request_finished
from .framing import Refusal, Refused, describe, raw_error, require_c_parser
from .heads import HeadReading
from .sending import SendDeadline

if TYPE_CHECKING:
    from ..config import ServerConfig

__all__ = ["PyFrameServer", "PyFrameRequestHandler", "make_server", "raw_error", "in_flight"]

log = get_logger("pyframe")

# How long a drain waits for the first request of a connection accepted just before it.
FRESH_CONNECTION_GRACE = 1.0
_NOSNIFF = {"X-Content-Type-Options": "nosniff"}


class PyFrameRequestHandler(HeadReading, SendDeadline, RequestHandler):
    """One client connection (aiohttp's protocol object), with pyframe's extra limits."""

    __slots__ = ("header_timeout", "body_timeout", "body_min_rate", "send_timeout",
                 "decompress_bodies", "line_limit", "field_limit", "header_count_limit",
                 "head_limit", "_head_timer", "_awaiting_head", "_head_bytes", "_line_length",
                 "_last_payload", "_framing", "_first_request", "_refusing", "_send_timer",
                 "_send_left", "_unmade_upgrade", "ws_frame_limit")

    def __init__(self, manager: PyFrameServer, *, header_timeout: float | None = None,
                 body_timeout: float | None = None, body_min_rate: float = 0.0,
                 send_timeout: float | None = None, max_head_size: int | None = None,
                 decompress_bodies: bool = True, **kwargs: Any) -> None:
        super().__init__(manager, **kwargs)
        # Kept here too: aiohttp before 3.13.1 does not keep them on the handler.
        self.line_limit = kwargs.get("max_line_size", 8190)
        # Set by pyframe.http.websocket.accept_websocket for the reader it is about to get.
        self.ws_frame_limit = 0
        self.field_limit = kwargs.get("max_field_size", 8190)
        self.header_count_limit = kwargs.get("max_headers", 32768)
        self.head_limit = max_head_size
        self.header_timeout = header_timeout
        # Read by pyframe.request.reading while it reads a body.
        self.body_timeout = body_timeout
        self.body_min_rate = body_min_rate
        self.decompress_bodies = decompress_bodies
        self.send_timeout = send_timeout
        self._head_timer: asyncio.TimerHandle | None = None
        # True from the end of one response until the next request head is parsed.
        self._awaiting_head = True
        # The head being received: its bytes so far and, once its end arrived, the request
        # line's length (a too-long line is a 414, a too-long header a 431).
        self._head_bytes = 0
        self._line_length: int | None = None
        # The newest request's body, and the bytes of its chunked framing beyond its data.
        self._last_payload: Any = None
        self._framing = 0
        self._first_request: asyncio.Future[None] | None = None
        # Nothing more is read: an error answer is queued, or being given.
        self._refusing = False
        self._unmade_upgrade: Any = None  # the head of an upgrade not made: its answer closes
        self._send_timer: asyncio.TimerHandle | None = None
        self._send_left = 0

    # The request-head deadline. The clock starts when the connection opens and when the
    # first byte of a later request arrives; it stops when aiohttp has parsed the head.
    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        super().connection_made(transport)
        self._arm_head_timer()

    def connection_lost(self, exc: BaseException | None) -> None:
        self._cancel_head_timer()
        self.cancel_send_timer()
        super().connection_lost(exc)

    def _arm_head_timer(self) -> None:
        if self.header_timeout is not None and self._head_timer is None \
                and self.transport is not None:
            self._head_timer = self._loop.call_later(self.header_timeout, self._head_timed_out)

    def _cancel_head_timer(self) -> None:
        if self._head_timer is not None:
            self._head_timer.cancel()
            self._head_timer = None

    def _head_timed_out(self) -> None:
        self._head_timer = None
        transport = self.transport
        if transport is None or self._force_close or not self._awaiting_head \
                or self._request_in_progress or self._messages:
            return
        log.info("request_head_timeout", remote=_peer(transport),
                 timeout_s=self.header_timeout)
        # Stop serving this connection, answer 408, and close once the client has read it
        # (closing with its unread bytes pending would send a reset that can eat the 408);
        # data_received drops whatever else it sends.
        self._force_close = True
        if self._waiter is not None:
            self._waiter.cancel()
        transport.write(raw_error(408, f"the request head did not arrive within "
                                       f"{self.header_timeout:g} s"))
        if transport.can_write_eof():
            transport.write_eof()
            self._head_timer = self._loop.call_later(1.0, transport.close)
        else:
            transport.close()

    async def shutdown(self, timeout: float | None = 15.0) -> None:
        # A connection accepted just before the drain began may not have sent its request
        # yet. aiohttp would close it as idle, failing a request the server had already taken
        # on (a reload or a SIGTERM under load); give it a moment to arrive, then serve it
        # with Connection: close.
        if self._request_count == 0 and self.transport is not None and not self._force_close:
            grace = FRESH_CONNECTION_GRACE if timeout is None else min(timeout,
                                                                       FRESH_CONNECTION_GRACE)
            self._first_request = self._loop.create_future()
            try:
                async with asyncio.timeout(grace):
                    await self._first_request
            except TimeoutError:
                pass
            finally:
                self._first_request = None
        waiter = self._waiter
        if waiter is not None and not waiter.done():
            # Idle between requests, with nothing to finish: closed now. aiohttp would wait
            # for it until the end of the grace period, holding the whole drain up.
            self.force_close()
        await super().shutdown(timeout)

    def set_parser(self, parser: Any, *args: Any, **kwargs: Any) -> None:
        # aiohttp's server calls this only to install a WebSocket reader (after the 101): the
        # guard in front of it fails unmasked client frames, which aiohttp accepts. aiohttp
        # 3.14 passes a data_received_cb as well, 3.13 does not: whatever comes goes on.
        from .websocket import MaskGuard

        transport = self.transport
        guard = MaskGuard(parser, _peer(transport) if transport else None,
                          limit=self.ws_frame_limit, transport=transport)
        super().set_parser(guard, *args, **kwargs)

    def body_failed(self) -> None:
        """Called by the body reader when a body cannot be read to its end (stalled, too slow,
        malformed): answer, then close without lingering for the rest of it."""
        self._lingering_time = 0.0

    def finish_response(self, request: web.BaseRequest, resp: web.StreamResponse,
                        start_time: float | None
                        ) -> Coroutine[Any, Any, tuple[web.StreamResponse, bool]]:
        # A plain function returning aiohttp's coroutine (which the caller awaits): no
        # coroutine layer of its own on every response.
        if (self._force_close or (self._unmade_upgrade is not None
                                  and request._message is self._unmade_upgrade)) \
                and not getattr(resp, "prepared", True):
            # Draining, or an upgrade not made: tell the client not to send another request
            # on this connection.
            resp.force_close()
        # From here on, the next bytes are the next request's head.
        self._awaiting_head = True
        return super().finish_response(request, resp, start_time)

    def log_access(self, request: web.BaseRequest, response: web.StreamResponse,
                   time: float | None) -> None:
        # Once a response is written: the app's observers (pyframe.http.access; the access
        # line is one), logging on or off; aiohttp's access logger for requests it answered.
        # (An empty _state: nothing observes this request, the usual case without a log.)
        if request._state and request_finished(request, response):
            return
        if self.access_logger is not None:
            super().log_access(request, response, time)

    def handle_error(self, request: web.BaseRequest, status: int = 500,
                     exc: BaseException | None = None,
                     message: str | None = None) -> web.StreamResponse:
        status, detail = describe(self, status, exc)
        if status >= 500 and not isinstance(exc, Refusal):
            log.error("request_error", status=status, path=request.path, exc_info=exc)
        else:
            log.info("bad_request", status=status, detail=detail, remote=request.remote)
        if request.writer.output_size > 0:
            raise ConnectionError("the response is already under way; cannot send an error")
        body: dict[str, str] = {"error": get_description(status)}
        if detail:
            body["detail"] = detail
        resp = web.Response(status=status, body=json_encode(body), headers=_NOSNIFF,
                            content_type="application/json")
        resp.force_close()
        return resp


# Connection options that are pyframe's, not aiohttp's RequestHandler's.
_OWN_OPTIONS = ("header_timeout", "body_timeout", "body_min_rate", "send_timeout",
                "max_head_size", "decompress_bodies")


class PyFrameServer(web.Server):
    """aiohttp's low-level server making :class:`PyFrameRequestHandler` connections."""

    def __init__(self, handler: Callable[[web.BaseRequest], Awaitable[web.StreamResponse]], *,
                 max_connections: int | None = None, **kwargs: Any) -> None:
        require_c_parser()
        own = {name: kwargs.pop(name) for name in _OWN_OPTIONS if name in kwargs}
        super().__init__(handler, **kwargs)
        self.max_connections = max_connections
        self.refused = 0
        self._own = own
        self._refusal = raw_error(503, f"the server is at its limit of {max_connections} open "
                                       f"connections", "Retry-After: 1\r\n")
        self._refusal_logged = 0.0

    def __call__(self) -> asyncio.Protocol:
        if self.max_connections is not None and len(self._connections) >= self.max_connections:
            self.refused += 1
            now = time.monotonic()
            if now - self._refusal_logged > 1.0:  # at most one line a second in a flood
                self._refusal_logged = now
                log.warning("connection_refused", reason="max_connections",
                            limit=self.max_connections, refused_total=self.refused)
            return Refused(self._refusal)
        return PyFrameRequestHandler(self, loop=self._loop, **self._own, **self._kwargs)


def in_flight(server: web.Server) -> int:
    """How many of ``server``'s connections are in the middle of a request."""
    return sum(1 for conn in server.connections if conn._request_in_progress)


def make_server(handler: Callable[[web.BaseRequest], Awaitable[web.StreamResponse]],
                config: ServerConfig, **options: Any) -> PyFrameServer:
    """A :class:`PyFrameServer` for ``handler`` with the limits of a ``[server]`` config;
    keyword ``options`` override them (and take any aiohttp RequestHandler option)."""
    options.setdefault("keepalive_timeout", config.keepalive_timeout)
    options.setdefault("max_line_size", config.max_line_size)
    options.setdefault("max_field_size", config.max_field_size)
    options.setdefault("max_headers", config.max_headers)
    options.setdefault("max_head_size", config.max_head_size)
    options.setdefault("header_timeout", config.header_timeout)
    options.setdefault("body_timeout", config.body_timeout)
    options.setdefault("body_min_rate", config.body_min_rate)
    options.setdefault("send_timeout", config.send_timeout)
    options.setdefault("decompress_bodies", config.decompress_bodies)
    options.setdefault("max_connections", config.max_connections)
    # Bodies are decoded by pyframe.request.reading, which counts the decoded bytes.
    options.setdefault("auto_decompress", False)
    return PyFrameServer(handler, **options)


def _peer(transport: asyncio.BaseTransport) -> str | None:
    peer = transport.get_extra_info("peername")
    return f"{peer[0]}:{peer[1]}" if isinstance(peer, tuple) else None
