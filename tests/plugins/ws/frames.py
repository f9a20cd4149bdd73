"""Raw WebSocket client pieces for the tests: build any frame, legal or not, and read replies.

A real client library refuses to send a broken frame, so the protocol tests speak bytes.
"""

from __future__ import annotations

import asyncio
import base64
import os
import socket
import struct
import zlib
from dataclasses import dataclass

__all__ = [
    "CLOSE", "BINARY", "CONTINUATION", "PING", "PONG", "TEXT",
    "Frame", "RawClient", "close_payload", "deflate", "frame",
]

CONTINUATION, TEXT, BINARY, CLOSE, PING, PONG = 0x0, 0x1, 0x2, 0x8, 0x9, 0xA

DEADLINE = 10.0  # seconds; a loaded machine must not fail a correct server

# What permessage-deflate strips from the end of every compressed message (RFC 7692 §7.2.1).
_DEFLATE_TAIL = b"\x00\x00\xff\xff"


def frame(opcode: int, payload: bytes = b"", *, fin: bool = True, rsv1: bool = False,
          rsv2: bool = False, rsv3: bool = False, masked: bool = True,
          mask_key: bytes | None = None) -> bytes:
    """One frame on the wire; every bit is the caller's, even the ones RFC 6455 forbids."""
    first = (0x80 if fin else 0) | (0x40 if rsv1 else 0) | (0x20 if rsv2 else 0) \
        | (0x10 if rsv3 else 0) | (opcode & 0x0F)
    mask_bit = 0x80 if masked else 0
    size = len(payload)
    if size < 126:
        head = struct.pack("!BB", first, mask_bit | size)
    elif size < 65536:
        head = struct.pack("!BBH", first, mask_bit | 126, size)
    else:
        head = struct.pack("!BBQ", first, mask_bit | 127, size)
    if not masked:
        return head + payload
    key = mask_key if mask_key is not None else os.urandom(4)
    body = bytes(b ^ key[i % 4] for i, b in enumerate(payload)) if size < 4096 \
        else _mask_large(payload, key)
    return head + key + body


def _mask_large(payload: bytes, key: bytes) -> bytes:
    # XOR as one big integer: the per-byte loop is too slow for the megabyte payloads.
    repeated = (key * (len(payload) // 4 + 1))[:len(payload)]
    value = int.from_bytes(payload, "big") ^ int.from_bytes(repeated, "big")
    return value.to_bytes(len(payload), "big")


def close_payload(code: int, reason: bytes = b"") -> bytes:
    return struct.pack("!H", code) + reason


def deflate(data: bytes) -> bytes:
    """A permessage-deflate message body (raw deflate, sync-flushed, tail removed)."""
    compressor = zlib.compressobj(zlib.Z_BEST_COMPRESSION, zlib.DEFLATED, -15)
    body = compressor.compress(data) + compressor.flush(zlib.Z_SYNC_FLUSH)
    return body.removesuffix(_DEFLATE_TAIL)


@dataclass(frozen=True)
class Frame:
    """A frame the server sent (servers never mask)."""

    fin: bool
    rsv: int
    opcode: int
    payload: bytes

    @property
    def close_code(self) -> int | None:
        return struct.unpack("!H", self.payload[:2])[0] if len(self.payload) >= 2 else None

    @property
    def close_reason(self) -> str:
        return self.payload[2:].decode("utf-8", "replace")


class RawClient:
    """A WebSocket client over a bare TCP socket that sends exactly the bytes it is given."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter,
                 response_head: bytes) -> None:
        self.reader = reader
        self.writer = writer
        self.response_head = response_head

    @classmethod
    async def connect(cls, port: int, path: str = "/", *, extensions: str | None = None,
                      headers: dict[str, str] | None = None, after_handshake: bytes = b"",
                      receive_buffer: int | None = None) -> RawClient:
        """Open the handshake; ``after_handshake`` goes out in the same write as the request,
        before the 101 arrives. ``receive_buffer`` shrinks SO_RCVBUF to make a slow reader."""
        sock = None
        if receive_buffer is not None:
            sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, receive_buffer)
            sock.setblocking(False)
            await asyncio.get_running_loop().sock_connect(sock, ("127.0.0.1", port))
            reader, writer = await asyncio.open_connection(sock=sock)
        else:
            reader, writer = await asyncio.open_connection("127.0.0.1", port)
        key = base64.b64encode(os.urandom(16)).decode()
        lines = [f"GET {path} HTTP/1.1", f"Host: 127.0.0.1:{port}", "Upgrade: websocket",
                 "Connection: Upgrade", f"Sec-WebSocket-Key: {key}",
                 "Sec-WebSocket-Version: 13"]
        if extensions is not None:
            lines.append(f"Sec-WebSocket-Extensions: {extensions}")
        lines += [f"{name}: {value}" for name, value in (headers or {}).items()]
        writer.write(("\r\n".join(lines) + "\r\n\r\n").encode() + after_handshake)
        await writer.drain()
        head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), DEADLINE)
        if not head.startswith(b"HTTP/1.1 101"):
            writer.close()
            raise AssertionError(f"the handshake failed: {head!r}")
        return cls(reader, writer, head)

    @property
    def extensions(self) -> str:
        for line in self.response_head.decode("latin-1").split("\r\n"):
            name, _, value = line.partition(":")
            if name.strip().lower() == "sec-websocket-extensions":
                return value.strip()
        return ""

    async def send(self, data: bytes) -> None:
        self.writer.write(data)
        await self.writer.drain()

    async def read_frame(self, timeout: float = DEADLINE) -> Frame | None:
        """The next frame, or None when the server closed the TCP connection first."""
        try:
            return await asyncio.wait_for(self._read_frame(), timeout)
        except (asyncio.IncompleteReadError, ConnectionResetError):
            return None

    async def _read_frame(self) -> Frame:
        first, second = await self.reader.readexactly(2)
        size = second & 0x7F
        if size == 126:
            size = struct.unpack("!H", await self.reader.readexactly(2))[0]
        elif size == 127:
            size = struct.unpack("!Q", await self.reader.readexactly(8))[0]
        if second & 0x80:
            raise AssertionError("the server masked a frame (RFC 6455 §5.1 forbids it)")
        payload = await self.reader.readexactly(size)
        return Frame(bool(first & 0x80), (first >> 4) & 0x7, first & 0x0F, payload)

    async def read_until_close(self, timeout: float = DEADLINE) -> tuple[list[Frame], Frame | None]:
        """Frames up to and including the server's close frame (None if the TCP connection
        ended without one); pings are answered so heartbeats do not interfere."""
        seen: list[Frame] = []
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            got = await self.read_frame(max(0.0, deadline - loop.time()))
            if got is None:
                return seen, None
            if got.opcode == CLOSE:
                return seen, got
            seen.append(got)

    async def closed_by_server(self, timeout: float = DEADLINE) -> bool:
        """True when the server ends the TCP connection within ``timeout`` (the bytes it may
        still send are read and dropped); False when it keeps it open that long."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        try:
            while loop.time() < deadline:
                chunk = await asyncio.wait_for(self.reader.read(65536),
                                               max(0.0, deadline - loop.time()))
                if not chunk:
                    return True
        except (asyncio.TimeoutError, TimeoutError):
            return False
        except ConnectionResetError:
            return True
        return False

    def abort(self) -> None:
        transport = self.writer.transport
        if not transport.is_closing():
            transport.abort()

    async def aclose(self) -> None:
        self.writer.close()
        try:
            await self.writer.wait_closed()
        except (ConnectionResetError, BrokenPipeError):
            pass
