"""WebSocket handshakes with a strict frame reader: aiohttp's reader plus the RFC 6455 §5.1 rule
that every client frame is masked, which aiohttp alone does not enforce (plugins/ws/PROTOCOL.md).

:class:`MaskGuard` sits between the connection and aiohttp's WebSocket reader; the connection
(``PyFrameRequestHandler.set_parser``) puts it in front of every reader, so every WebSocket a
pyframe server accepts is strict. :func:`accept_websocket` is the handshake plugins call.
"""

from __future__ import annotations

import asyncio
import struct
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from aiohttp import web

from ..errors import BadRequest, HTTPError
from ..logging import get_logger

if TYPE_CHECKING:
    from ..request.context import RequestContext

__all__ = ["AcceptedWebSocket", "MaskGuard", "accept_websocket"]

log = get_logger("pyframe")

# A frame with the reserved opcode 0x3 and no payload: every RFC 6455 reader fails the
# connection with 1002 on it, so feeding it makes aiohttp's reader fail through its own path.
_RESERVED_OPCODE_FRAME = b"\x83\x00"
_MASK_BIT = 0x80
_VERSIONS = ("13", "8", "7")  # what aiohttp's handshake accepts


class MaskGuard:
    """In front of aiohttp's WebSocket reader: passes the bytes on unchanged, and makes the
    reader fail the connection (1002) at the first client frame without the mask bit.

    It reads frame headers only (2 bytes, the extended length, the mask key) and steps over
    payloads by arithmetic, so payload bytes are never copied; an incomplete header is held
    back until the rest arrives. Frames before the unmasked one are delivered.
    """

    __slots__ = ("parser", "peer", "limit", "transport", "_pending", "_skip", "_failed",
                 "_fragmented")

    def __init__(self, parser: Any, peer: str | None = None, *, limit: int = 0,
                 transport: asyncio.BaseTransport | None = None) -> None:
        self.parser = parser
        self.peer = peer
        # Frames declaring ``limit`` bytes or more fail from their header (1009), before any
        # payload is buffered: aiohttp before 3.14.x buffers a whole oversized frame first.
        self.limit = limit
        self.transport = transport
        self._pending = b""  # the start of a frame header that has not fully arrived
        self._skip = 0       # payload bytes of the current frame still to come
        self._failed = False
        self._fragmented = False  # a data frame without FIN came: only continuations may follow

    @property
    def failed(self) -> bool:
        return self._failed

    def feed_eof(self) -> None:
        self.parser.feed_eof()

    def feed_data(self, data: bytes | bytearray | memoryview) -> tuple[bool, bytes]:
        if self._failed:
            return True, b""
        if self._pending:
            data, self._pending = self._pending + bytes(data), b""
        pos, end = 0, len(data)
        skip = self._skip
        while pos < end:
            if skip:
                step = min(skip, end - pos)
                skip -= step
                pos += step
                continue
            if end - pos < 2:
                break
            first, second = data[pos], data[pos + 1]
            if not second & _MASK_BIT:
                self._skip = 0
                return self._fail(data, pos)
            opcode = first & 0x0F
            if opcode in (0x1, 0x2):  # a new text or binary message
                if self._fragmented:
                    # RFC 6455 5.4: aiohttp before 3.14.x merges it into the open message.
                    self._skip = 0
                    return self._fail(data, pos, "a new data frame inside a fragmented message")
                self._fragmented = not first & 0x80
            elif opcode == 0x0 and first & 0x80:
                self._fragmented = False
            size = second & 0x7F
            head = 6 if size < 126 else 8 if size == 126 else 14
            if end - pos < head:
                break
            if size == 126:
                size = struct.unpack_from("!H", data, pos + 2)[0]
            elif size == 127:
                size = struct.unpack_from("!Q", data, pos + 2)[0]
                if size >> 63:  # RFC 6455 5.2: the most significant bit must be 0
                    self._skip = 0
                    return self._fail(data, pos, "a 64-bit frame length with its top bit set")
            if self.limit and size >= self.limit:
                self._skip = 0
                return self._too_big(data, pos, size)
            pos += head
            skip = size
        self._skip = skip
        if pos < end:
            # An incomplete header: keep it, pass on what came before it.
            self._pending = bytes(data[pos:])
            if not pos:
                return False, b""
            data = data[:pos]
        return self.parser.feed_data(data)  # type: ignore[no-any-return]

    def _fail(self, data: bytes | bytearray | memoryview, pos: int,
              why: str = "a client frame without a mask (RFC 6455 5.1)") -> tuple[bool, bytes]:
        self._failed = True
        log.info("ws_protocol_error", remote=self.peer, detail=f"{why}: closing with 1002")
        if pos and self.parser.feed_data(data[:pos])[0]:
            return True, b""  # the frames before it already failed the connection
        return self.parser.feed_data(_RESERVED_OPCODE_FRAME)  # type: ignore[no-any-return]

    def _too_big(self, data: bytes | bytearray | memoryview, pos: int,
                 size: int) -> tuple[bool, bytes]:
        self._failed = True
        log.info("ws_frame_too_big", remote=self.peer, size=size, limit=self.limit,
                 detail="closing with 1009")
        if pos and self.parser.feed_data(data[:pos])[0]:
            return True, b""
        # Fail the connection as RFC 6455 7.1.7 says: a close frame with 1009, then the TCP
        # connection closed; the reader sees the end of the stream, so receive() ends too.
        transport = self.transport
        if transport is not None and not transport.is_closing():
            transport.write(b"\x88\x02" + struct.pack("!H", 1009))  # type: ignore[attr-defined]
            transport.close()
        self.parser.feed_eof()
        return True, b""


@dataclass(frozen=True, slots=True)
class AcceptedWebSocket:
    """A completed handshake: the prepared response, its transport, and whether the strict
    reader is in place (True on every pyframe server; False under a bare aiohttp server)."""

    response: web.WebSocketResponse
    transport: asyncio.Transport | None
    strict: bool

    @property
    def protocol(self) -> str | None:
        """The subprotocol agreed with the client, if any."""
        return self.response.ws_protocol


async def accept_websocket(context: RequestContext | web.BaseRequest, *, max_msg_size: int,
                           compress: bool = False, heartbeat: float | None = None,
                           close_timeout: float = 5.0, protocols: Sequence[str] = (),
                           autoclose: bool = False, autoping: bool = True
                           ) -> AcceptedWebSocket:
    """Complete the WebSocket handshake of ``context``'s request and return the prepared
    ``aiohttp.web.WebSocketResponse`` with its transport.

    On a pyframe server the connection reads frames strictly from the first byte after the
    request head (bytes that came with the head included): a client frame without a mask fails
    the connection as aiohttp fails any protocol error — close 1002, the TCP connection closed,
    ``receive()`` returning an ERROR message carrying ``WebSocketError(1002)``.

    The keywords are aiohttp's (``close_timeout`` is its ``timeout``). Raises ``HTTPError``
    426 (with ``Sec-WebSocket-Version: 13``) for a WebSocket version aiohttp does not speak,
    400 for any other request that is not a valid upgrade.
    """
    request: web.BaseRequest = getattr(context, "request", context)
    protocol = request.protocol
    if protocol is not None and hasattr(protocol, "ws_frame_limit"):
        protocol.ws_frame_limit = max_msg_size  # read by set_parser as the reader goes in
    response = web.WebSocketResponse(
        protocols=tuple(protocols), max_msg_size=max_msg_size, compress=compress,
        heartbeat=heartbeat, timeout=close_timeout, autoclose=autoclose, autoping=autoping)
    if not response.can_prepare(request).ok:
        raise _handshake_error(request)
    await response.prepare(request)
    # The connection installed the reader through set_parser while preparing: look at what
    # it feeds, so the answer is true of this connection, whichever server made it.
    strict = isinstance(getattr(request.protocol, "_payload_parser", None), MaskGuard)
    return AcceptedWebSocket(response, request.transport, strict)  # type: ignore[arg-type]


def _handshake_error(request: web.BaseRequest) -> HTTPError:
    version = request.headers.get("Sec-WebSocket-Version", "")
    if version and version not in _VERSIONS:
        # RFC 6455 §4.4: say which version this server speaks.
        return HTTPError(426, detail=f"WebSocket version {version[:8]!r} is not supported",
                         headers={"Sec-WebSocket-Version": "13"})
    return BadRequest(detail="not a valid WebSocket handshake (it needs Upgrade: websocket, "
                             "Connection: Upgrade, Sec-WebSocket-Key and "
                             "Sec-WebSocket-Version: 13)")
