"""What pyframe refuses that aiohttp's parser lets through, and the words of every refusal.

aiohttp's C parser (llhttp) is strict about framing, but it serves HTTP/0.9 and HTTP/2.0
request lines and passes on transfer codings other than chunked; those are refused here, per
parsed head, before a handler sees them. Its pure-Python parser is laxer still, so pyframe
does not serve without the C one. Every refusal is a short JSON body with a fixed reason that
never quotes the request's bytes, and ``X-Content-Type-Options: nosniff``.
"""

from __future__ import annotations

import asyncio
import re
from typing import Any

import aiohttp
from aiohttp import http_exceptions as hx
from aiohttp import web_protocol
from aiohttp.http import HttpVersion10, HttpVersion11

from ..errors import ConfigError
from ..request.responses import json_encode
from ..status import get_description

__all__ = ["Refusal", "Refused", "raw_error", "describe", "refusal_of", "require_c_parser",
           "NOSNIFF_LINE", "CHECK_HOST"]

NOSNIFF_LINE = "X-Content-Type-Options: nosniff\r\n"
# aiohttp messages that are fixed text (or name a header from aiohttp's own short list), so
# they can be shown; every other parser message may contain the client's bytes.
_SERVED = frozenset({HttpVersion10, HttpVersion11})
# aiohttp's parser refuses an HTTP/1.1 request without Host from 3.14 on; before, pyframe does.
CHECK_HOST = tuple(int(part) for part in aiohttp.__version__.split(".")[:2]) < (3, 14)
_SAFE_MESSAGES = re.compile(r"^(Missing 'Host' header in request\.|"
                            r"Duplicate '[A-Za-z0-9-]{1,40}' header found\.)$")


class Refusal(Exception):
    """A request pyframe will not serve: the status and the fixed detail it is answered with."""

    def __init__(self, status: int, detail: str) -> None:
        super().__init__(status, detail)
        self.status = status
        self.detail = detail


def raw_error(status: int, detail: str, headers: str = "") -> bytes:
    """A complete ``Connection: close`` JSON error response, for writing to a bare transport."""
    reason = get_description(status)
    body = json_encode({"error": reason, "detail": detail})
    return (f"HTTP/1.1 {status} {reason}\r\nContent-Type: application/json\r\n"
            f"Content-Length: {len(body)}\r\n{NOSNIFF_LINE}Connection: close\r\n{headers}"
            f"\r\n").encode() + body


class Refused(asyncio.Protocol):
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


def refusal_of(message: Any) -> Refusal | None:
    """Why a head aiohttp parsed is not served, or None: only HTTP/1.0 and 1.1 (llhttp takes
    ``GET /`` as HTTP/0.9 and ``HTTP/2.0`` over HTTP/1 framing), and of the transfer codings
    only ``chunked`` (RFC 9112 section 6.1: an unknown coding gets 501)."""
    version = message.version
    if version is not HttpVersion11 and version not in _SERVED:
        return Refusal(505, "only HTTP/1.1 and HTTP/1.0 are served")
    if CHECK_HOST and version == HttpVersion11 and "Host" not in message.headers:
        return Refusal(400, "Missing 'Host' header in request.")
    if message.chunked:
        coding = message.headers.get("Transfer-Encoding", "")
        if coding.strip(" \t").lower() != "chunked":
            return Refusal(501, "the only transfer coding served is chunked")
    return None


def describe(handler: Any, status: int, exc: BaseException | None) -> tuple[int, str | None]:
    """The status and a short reason for a request aiohttp could not parse or serve.

    ``handler`` is the connection: its limits, and the request line's length (a line too long
    is a 414 in the request line, a 431 in a header).
    """
    if isinstance(exc, Refusal):
        return exc.status, exc.detail
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


def require_c_parser() -> None:
    """ConfigError unless aiohttp parses requests with its C parser (llhttp).

    The pure-Python parser (``AIOHTTP_NO_EXTENSIONS=1``, or a platform aiohttp has no
    compiled extension for) accepts what llhttp refuses: ``HTTP/1.2``, lower-case methods, a
    request pipelined after ``Upgrade: h2c``; it hangs on an overflowing chunk size. pyframe's
    hostile-input battery holds against llhttp, so it serves with llhttp only.
    """
    parser = web_protocol.HttpRequestParser
    if parser.__module__ != "aiohttp._http_parser":
        raise ConfigError(
            "pyframe serves HTTP only with aiohttp's C parser (llhttp), and aiohttp is using "
            "its pure-Python parser here (AIOHTTP_NO_EXTENSIONS is set, or aiohttp has no "
            "compiled extension for this platform), which accepts requests llhttp refuses; "
            "unset AIOHTTP_NO_EXTENSIONS, or install an aiohttp wheel built for this platform")
