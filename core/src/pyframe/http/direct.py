"""Small responses written straight to the transport: status line, headers and body at once.

aiohttp's connection handler asks a response for ``prepare``, ``write_eof``, ``keep_alive``,
``force_close``, ``status`` and ``body_length``, nothing more. For a complete body of a few
kilobytes, building the bytes here and writing them in one call skips aiohttp's response
object, its header copy and three layers of coroutines, which is most of what a
plaintext request costs after parsing. Streams, files, cookies, HTTP/1.0 and bodyless statuses
keep aiohttp's path.

The write is not awaited, so a client that pipelines requests and never reads could pile
responses up in the transport; once the transport's buffer is over its high-water mark (it
pauses the protocol), a response here waits for it to drain like aiohttp's own path does,
and the connection's ``send_timeout`` cuts a client that never takes them. Header names and
values are checked here too: a name that is not a token or a value with a control character
is a ValueError (a 500), never bytes on the wire.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

from aiohttp import web
from aiohttp.helpers import rfc822_formatted_time
from aiohttp.http import SERVER_SOFTWARE, HttpVersion11
from multidict import CIMultiDict

from ..status import get_description

try:  # aiohttp's own serializer validates header names and values against injection
    from aiohttp.http_writer import _serialize_headers
except ImportError:  # pragma: no cover - a future aiohttp without it keeps the slow path
    _serialize_headers = None

__all__ = ["DirectResponse", "direct_response", "check_headers", "check_value", "DIRECT_LIMIT"]

# Above this, aiohttp's writer paces the body with the client (drain) instead.
DIRECT_LIMIT = 64 * 1024
_SERVER = f"Server: {SERVER_SOFTWARE}\r\n".encode()
_status_lines: dict[int, str] = {}  # 100 to 599 at most
_prefixes: dict[tuple[int, str | None], bytes] = {}
_date: list[Any] = ["", b""]
# RFC 9110: a field name is a token; a value holds no control character but HTAB.
_TOKEN = re.compile(r"[!#$%&'*+\-.^_`|~0-9A-Za-z]+")
_CONTROL = re.compile(r"[\x00-\x08\x0a-\x1f\x7f]")
# Names seen to be tokens, each with what it is to the writer: 0, or one of the bits below
# (the fields whose presence changes the head). Bounded: past 1024 names, no caching.
_name_kinds: dict[str, int] = {}
_FRAMING, _LENGTH, _DATE, _SERVER_FIELD = 1, 2, 4, 8
_KINDS = {"transfer-encoding": _FRAMING, "connection": _FRAMING, "content-length": _LENGTH,
          "date": _DATE, "server": _SERVER_FIELD}


def check_value(value: str) -> str:
    if _CONTROL.search(value) is not None:
        raise ValueError("a response header value holds a control character (CR, LF, NUL...)")
    return value


def _name_kind(name: str) -> int:
    """What ``name`` is to the writer (0, or one of the bits); ValueError if not a token."""
    kind = _name_kinds.get(name)
    if kind is None:
        if not isinstance(name, str) or _TOKEN.fullmatch(name) is None:
            raise ValueError("a response header name is not an HTTP token")
        kind = _KINDS.get(name.lower(), 0)
        if len(_name_kinds) < 1024:
            _name_kinds[name] = kind
    return kind


def check_headers(items: Iterable[tuple[str, str]]) -> None:
    """ValueError for a header that must not be written: a name that is not a token, a value
    with a control character. aiohttp would find the value only once it starts writing,
    with the connection then dropped; this finds both before anything is sent."""
    for name, value in items:
        _name_kind(name)
        check_value(value)


def _date_line() -> bytes:
    now = rfc822_formatted_time()  # aiohttp formats it once a second
    if now is not _date[0]:
        _date[0], _date[1] = now, f"Date: {now}\r\n".encode()
    return _date[1]


def _prefix(status: int, content_type: str | None) -> bytes:
    key = (status, content_type)
    prefix = _prefixes.get(key)
    if prefix is None:
        line = f"HTTP/1.1 {status} {get_description(status)}\r\n"
        if content_type is not None:
            line += f"Content-Type: {check_value(content_type)}\r\n"
        prefix = line.encode("latin-1")
        if len(_prefixes) < 512:  # statuses times content types: small, but bounded
            _prefixes[key] = prefix
    return prefix


class DirectResponse:
    """A complete response, serialised but for its Connection header and final CRLF."""

    __slots__ = ("status", "head", "body", "keep_alive", "body_length", "prepared")

    def __init__(self, status: int, head: bytes, body: bytes) -> None:
        self.status = status
        self.head = head
        self.body = body
        self.keep_alive: bool | None = None
        self.body_length = 0
        self.prepared = False

    def force_close(self) -> None:
        self.keep_alive = False

    async def prepare(self, request: web.BaseRequest) -> None:
        if self.prepared:
            return
        self.prepared = True
        keep_alive = self.keep_alive
        if keep_alive is None:
            keep_alive = self.keep_alive = request.keep_alive
        head = self.head + (b"\r\n" if keep_alive else b"Connection: close\r\n\r\n")
        transport = request.transport
        if transport is None or transport.is_closing():
            raise ConnectionResetError("the client closed the connection")
        data = head if request.method == "HEAD" else head + self.body
        transport.write(data)
        self.body_length = len(data)
        if request._protocol._paused:  # the transport's buffer is over its high-water mark
            # The client is not keeping up: wait, so the next pipelined request is not served
            # (and its response buffered) until this one has left.
            await request.writer.drain()

    async def write_eof(self, data: bytes = b"") -> None:
        return None


def direct_response(request: web.BaseRequest, status: int, headers: CIMultiDict[str] | None,
                    content_type: str | None, body: bytes) -> DirectResponse | None:
    """The direct form of a response, or None where aiohttp's path must write it."""
    if (len(body) > DIRECT_LIMIT or status < 200 or status == 204 or status == 304
            or request.version != HttpVersion11):
        return None
    length = b"Content-Length: %d\r\n" % len(body)
    if headers is None:
        head = _prefix(status, content_type) + length + _date_line() + _SERVER
        return DirectResponse(status, head, body)
    # One pass over the names: each checked (once per name) and its kind read in one lookup.
    kinds = 0
    for name in headers:
        kind = _name_kinds.get(name)
        kinds |= kind if kind is not None else _name_kind(name)
    if kinds & _FRAMING or _serialize_headers is None:
        return None  # framing the app chose itself: aiohttp's path honours it
    if kinds & _LENGTH:  # the body's own length is written below instead
        headers = headers.copy()
        headers.popall("Content-Length")
    line = _status_lines.get(status)
    if line is None:
        line = _status_line(status)
    # Raises ValueError for a value with a control character: the caller answers 500.
    head = _serialize_headers(line, headers)[:-2]
    if not kinds & _DATE:
        head += _date_line()
    if not kinds & _SERVER_FIELD:
        head += _SERVER
    return DirectResponse(status, head + length, body)


def _status_line(status: int) -> str:
    line = _status_lines.get(status)
    if line is None:
        line = _status_lines[status] = f"HTTP/1.1 {status} {get_description(status)}"
    return line
