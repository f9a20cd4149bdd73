"""The HTTP/1.1 connection: aiohttp's RequestHandler plus the limits aiohttp leaves out.

This module and the rest of ``pyframe.http`` are the only places that touch aiohttp's private
names (tests/core/test_aiohttp_private.py names each one).

aiohttp parses requests and keeps connections alive. This subclass adds a deadline for the
whole request head (aiohttp alone waits for a slow client forever, up to the keep-alive
timeout), a way for the body reader to give up on a stalled upload, a cap on open
connections, ``Connection: close`` while draining, and error answers that never quote the
request's bytes back to the client.
"""

from __future__ import annotations

import asyncio
import re
import time
from collections.abc import Awaitable, Callable, Coroutine
from typing import TYPE_CHECKING, Any

from aiohttp import http_exceptions as hx
from aiohttp import web
from aiohttp.web_protocol import RequestHandler

from ..logging import get_logger
from ..request.responses import json_encode
from ..status import get_description

if TYPE_CHECKING:
    from ..config import ServerConfig

__all__ = ["PyFrameServer", "PyFrameRequestHandler", "make_server", "raw_error", "in_flight"]

log = get_logger("pyframe")

# aiohttp messages that are fixed text (or name a header from aiohttp's own short list), so
# they can be shown; every other parser message may contain the client's bytes.
_SAFE_MESSAGES = re.compile(r"^(Missing 'Host' header in request\.|"
                            r"Duplicate '[A-Za-z0-9-]{1,40}' header found\.)$")


def raw_error(status: int, detail: str, headers: str = "") -> bytes:
    """A complete ``Connection: close`` JSON error response, for writing to a bare transport."""
    reason = get_description(status)
    body = json_encode({"error": reason, "detail": detail})
    return (f"HTTP/1.1 {status} {reason}\r\nContent-Type: application/json\r\n"
            f"Content-Length: {len(body)}\r\nConnection: close\r\n{headers}\r\n").encode() + body


def _describe(handler: PyFrameRequestHandler, status: int,
              exc: BaseException | None) -> tuple[int, str | None]:
    """The status and a short reason for a request aiohttp could not parse or serve."""
    if isinstance(exc, hx.LineTooLong):
        line = handler._line_length
        if line is None or line > handler.line_limit:
            return 414, f"the request line is longer than {handler.line_limit} bytes"
        return 431, f"a header is longer than {handler.field_limit} bytes"
    if isinstance(exc, hx.BadHttpMethod):
        if exc.message.startswith("Received HTTPS traffic"):
            return 400, "TLS traffic on a plain HTTP port: use http://"
        return 400, "invalid method in the request line"
    if isinstance(exc, hx.InvalidURLError):
        return 400, "invalid request target"
    if isinstance(exc, hx.BadStatusLine):
        return 400, "invalid request line"
    if isinstance(exc, hx.InvalidHeader):
        return 400, "invalid header"
    if isinstance(exc, hx.PayloadEncodingError):
        return 400, "invalid body framing (Content-Length or Transfer-Encoding)"
    if isinstance(exc, hx.BadHttpMessage):
        if exc.message == "Too many headers received":
            return 431, f"more than {handler.header_count_limit} headers"
        if _SAFE_MESSAGES.match(exc.message):
            return 400, exc.message
        return 400, "malformed request"
    if status == 504:
        return 504, "the handler timed out"
    if 400 <= status < 500:
        return status, None
    return 500, None


# How long a drain waits for the first request of a connection accepted just before it.
FRESH_CONNECTION_GRACE = 1.0


class PyFrameRequestHandler(RequestHandler):
    """One client connection (aiohttp's protocol object), with pyframe's extra limits."""

    __slots__ = ("header_timeout", "body_timeout", "line_limit", "field_limit",
                 "header_count_limit", "_head_timer", "_awaiting_head",
                 "_head_seen", "_line_length", "_last_payload", "_first_request")

    def __init__(self, manager: PyFrameServer, *, header_timeout: float | None = None,
                 body_timeout: float | None = None, **kwargs: Any) -> None:
        super().__init__(manager, **kwargs)
        # Kept here too: aiohttp before 3.13.1 does not keep them on the handler.
        self.line_limit = kwargs.get("max_line_size", 8190)
        self.field_limit = kwargs.get("max_field_size", 8190)
        self.header_count_limit = kwargs.get("max_headers", 32768)
        self.header_timeout = header_timeout
        self.body_timeout = body_timeout
        self._head_timer: asyncio.TimerHandle | None = None
        # True from the end of one response until the next request head is parsed.
        self._awaiting_head = True
        # Bytes of the head seen so far and the request line's length once its end arrived:
        # a too-long line is a 414, a too-long header a 431.
        self._head_seen = 0
        self._line_length: int | None = None
        self._last_payload: Any = None
        self._first_request: asyncio.Future[None] | None = None

    # The request-head deadline. The clock starts when the connection opens and when the
    # first byte of a later request arrives; it stops when aiohttp has parsed the head.
    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        super().connection_made(transport)
        self._arm_head_timer()

    def connection_lost(self, exc: BaseException | None) -> None:
        self._cancel_head_timer()
        super().connection_lost(exc)

    def data_received(self, data: bytes) -> None:
        # Bytes of a body the handler did not read are not a new head: aiohttp's lingering
        # close deals with them. (Written out inline: this runs for every read.)
        awaiting = self._awaiting_head
        if awaiting:
            payload = self._last_payload
            if payload is not None and not payload.is_eof():
                awaiting = False
            elif self._line_length is None:
                end = data.find(b"\n")
                if end >= 0:
                    self._line_length = self._head_seen + end
                self._head_seen += len(data)
        count = self._request_count
        super().data_received(data)
        if self._request_count != count:  # a head was parsed (or failed to parse)
            if self._first_request is not None and not self._first_request.done():
                self._first_request.set_result(None)
            self._awaiting_head = False
            if self._head_timer is not None:
                self._cancel_head_timer()
        elif awaiting and self._head_timer is None:
            # Part of a head: its deadline starts now (a whole head in one read, the usual
            # case, never sets a timer).
            self._arm_head_timer()

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
        await super().shutdown(timeout)

    def body_timed_out(self) -> None:
        """Called by the body reader when the client stopped sending: answer, then close
        without lingering for the rest of the body."""
        self._lingering_time = 0.0

    def finish_response(self, request: web.BaseRequest, resp: web.StreamResponse,
                        start_time: float | None
                        ) -> Coroutine[Any, Any, tuple[web.StreamResponse, bool]]:
        # A plain function returning aiohttp's coroutine (which the caller awaits): no
        # coroutine layer of its own on every response.
        if self._force_close and not getattr(resp, "prepared", True):
            resp.force_close()  # draining: tell the client not to send another request here
        # From here on, the next bytes are the next request's head.
        self._awaiting_head = True
        self._head_seen = 0
        self._line_length = None
        self._last_payload = request.content
        return super().finish_response(request, resp, start_time)

    def handle_error(self, request: web.BaseRequest, status: int = 500,
                     exc: BaseException | None = None,
                     message: str | None = None) -> web.StreamResponse:
        status, detail = _describe(self, status, exc)
        if status >= 500:
            log.error("request_error", status=status, path=request.path, exc_info=exc)
        else:
            log.info("bad_request", status=status, detail=detail, remote=request.remote)
        if request.writer.output_size > 0:
            raise ConnectionError("the response is already under way; cannot send an error")
        body: dict[str, str] = {"error": get_description(status)}
        if detail:
            body["detail"] = detail
        resp = web.Response(status=status, body=json_encode(body),
                            content_type="application/json")
        resp.force_close()
        return resp


class _Refused(asyncio.Protocol):
    """A connection over the cap: a 503 right away, then close once the client has read it."""

    def __init__(self, response: bytes) -> None:
        self.response = response
        self.transport: asyncio.Transport | None = None
        self.timer: asyncio.TimerHandle | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]
        transport.write(self.response)  # type: ignore[attr-defined]
        if transport.can_write_eof():  # type: ignore[attr-defined]
            transport.write_eof()  # type: ignore[attr-defined]
        # Wait for the client's close so unread request bytes do not turn into a reset that
        # loses the 503; but never longer than a second.
        self.timer = asyncio.get_running_loop().call_later(1.0, transport.close)

    def data_received(self, data: bytes) -> None:
        pass

    def eof_received(self) -> bool:
        if self.transport is not None:
            self.transport.close()
        return True

    def connection_lost(self, exc: BaseException | None) -> None:
        if self.timer is not None:
            self.timer.cancel()


class PyFrameServer(web.Server):
    """aiohttp's low-level server making :class:`PyFrameRequestHandler` connections."""

    def __init__(self, handler: Callable[[web.BaseRequest], Awaitable[web.StreamResponse]], *,
                 max_connections: int | None = None, header_timeout: float | None = None,
                 body_timeout: float | None = None, **kwargs: Any) -> None:
        super().__init__(handler, **kwargs)
        self.max_connections = max_connections
        self.refused = 0
        self._timeouts = {"header_timeout": header_timeout, "body_timeout": body_timeout}
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
            return _Refused(self._refusal)
        return PyFrameRequestHandler(self, loop=self._loop, **self._timeouts, **self._kwargs)


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
    options.setdefault("header_timeout", config.header_timeout)
    options.setdefault("body_timeout", config.body_timeout)
    options.setdefault("max_connections", config.max_connections)
    return PyFrameServer(handler, **options)


def _peer(transport: asyncio.BaseTransport) -> str | None:
    peer = transport.get_extra_info("peername")
    return f"{peer[0]}:{peer[1]}" if isinstance(peer, tuple) else None
