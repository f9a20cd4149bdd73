"""The battery's client: raw HTTP/1.1 over sockets, byte for byte, as an attacker sends it.

Every read has a deadline, so a server that hangs fails a test instead of stalling the run.
Server processes and their memory are in processes.py.
"""

from __future__ import annotations

import asyncio
import json
import socket
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from pyframe import testing

__all__ = [
    "DEADLINE", "READ_TIMEOUT", "RawResponse", "Connection", "connect", "exchange",
    "assert_still_serving", "wait_until", "parse_head",
]

# Generous, so a loaded 2-core machine does not fail a correct server; a hang still ends.
DEADLINE = 20.0
# How long one read waits for bytes that should come at once.
READ_TIMEOUT = 5.0


@dataclass
class RawResponse:
    """One HTTP response as it came off the wire."""

    status: int
    reason: str
    headers: list[tuple[str, str]]
    body: bytes
    head: bytes = b""
    chunked: bool = False
    trailer_complete: bool = True  # a chunked body ended with its zero-size chunk

    def header(self, name: str, default: str | None = None) -> str | None:
        wanted = name.lower()
        for key, value in self.headers:
            if key.lower() == wanted:
                return value
        return default

    def all(self, name: str) -> list[str]:
        wanted = name.lower()
        return [value for key, value in self.headers if key.lower() == wanted]

    def json(self) -> Any:
        return json.loads(self.body)


def parse_head(head: bytes) -> tuple[int, str, list[tuple[str, str]]]:
    lines = head.decode("latin-1").split("\r\n")
    version, _, rest = lines[0].partition(" ")
    if not version.startswith("HTTP/"):
        raise AssertionError(f"not an HTTP response: {lines[0][:80]!r}")
    code, _, reason = rest.partition(" ")
    headers = []
    for line in lines[1:]:
        if line:
            key, _, value = line.partition(":")
            headers.append((key.strip(), value.strip()))
    return int(code), reason, headers


class Connection:
    """A raw client connection with deadline-bound reads (``async with connect(port)``)."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader = reader
        self.writer = writer

    async def __aenter__(self) -> Connection:
        return self

    async def __aexit__(self, *exc: Any) -> None:
        self.close()

    def close(self) -> None:
        transport = self.writer.transport
        if not transport.is_closing():
            transport.abort()  # never linger: the test is over with this connection

    async def send(self, data: bytes) -> None:
        self.writer.write(data)
        await asyncio.wait_for(self.writer.drain(), DEADLINE)

    async def send_until_answered(self, data: bytes | Sequence[bytes], step: int = 1,
                                  timeout: float = READ_TIMEOUT
                                  ) -> tuple[RawResponse | None, int]:
        """Write ``data`` ``step`` bytes (or one item) at a time, stopping as soon as the
        server answers or closes; returns the response and how many bytes went out."""
        pieces = ([data[i:i + step] for i in range(0, len(data), step)]
                  if isinstance(data, bytes) else list(data))
        answer = asyncio.ensure_future(self.response(timeout=DEADLINE))
        sent = 0
        try:
            for piece in pieces:
                if answer.done():
                    break
                self.writer.write(piece)
                await asyncio.wait_for(self.writer.drain(), DEADLINE)
                sent += len(piece)
                await asyncio.sleep(0)  # let an answer that arrived be seen
        except ConnectionError:
            pass  # the server answered and closed while we were still writing
        done, _ = await asyncio.wait([answer], timeout=timeout)
        if not done:
            answer.cancel()
            await asyncio.gather(answer, return_exceptions=True)
            raise AssertionError(f"no response and no close within {timeout} s of sending "
                                 f"{sent} bytes")
        return answer.result(), sent

    async def response(self, *, method: str = "GET",
                       timeout: float = READ_TIMEOUT) -> RawResponse | None:
        """The next response, or None if the server closed first (EOF or reset); fails if
        neither happens within ``timeout``."""
        try:
            async with asyncio.timeout(timeout):
                return await self._read_response(method)
        except TimeoutError:
            raise AssertionError(f"no response and no close within {timeout} s") from None
        except (ConnectionError, asyncio.IncompleteReadError) as exc:
            if isinstance(exc, asyncio.IncompleteReadError) and exc.partial:
                raise AssertionError(f"the response was cut: {exc.partial[:200]!r}") from None
            return None

    async def _read_response(self, method: str) -> RawResponse:
        head = await self.reader.readuntil(b"\r\n\r\n")
        status, reason, headers = parse_head(head[:-4])
        response = RawResponse(status, reason, headers, b"", head)
        if method == "HEAD" or status < 200 or status in (204, 304):
            return response
        if (response.header("Transfer-Encoding") or "").lower() == "chunked":
            response.chunked = True
            response.body, response.trailer_complete = await self._read_chunked()
        elif response.header("Content-Length") is not None:
            response.body = await self.reader.readexactly(int(response.header("Content-Length")))
        else:
            response.body = await self.reader.read()
        return response

    async def _read_chunked(self) -> tuple[bytes, bool]:
        parts = []
        while True:
            try:
                line = await self.reader.readuntil(b"\r\n")
            except asyncio.IncompleteReadError:
                return b"".join(parts), False
            size = int(line.split(b";")[0], 16)
            if size == 0:
                await self.reader.readuntil(b"\r\n")
                return b"".join(parts), True
            try:
                parts.append(await self.reader.readexactly(size))
                await self.reader.readexactly(2)
            except asyncio.IncompleteReadError as exc:
                parts.append(exc.partial)
                return b"".join(parts), False

    async def rest(self, timeout: float = READ_TIMEOUT) -> bytes:
        """Every byte until the server closes (a reset counts as the close); fails if the
        connection is still open after ``timeout``."""
        chunks = []
        try:
            async with asyncio.timeout(timeout):
                while chunk := await self.reader.read(65536):
                    chunks.append(chunk)
        except ConnectionError:
            pass
        except TimeoutError:
            raise AssertionError(f"the server kept the connection open for {timeout} s "
                                 f"(after {b''.join(chunks)[:200]!r})") from None
        return b"".join(chunks)

    async def closed(self, timeout: float = READ_TIMEOUT) -> bool:
        """Whether the server ends the connection within ``timeout`` (data before EOF is
        drained and ignored)."""
        try:
            async with asyncio.timeout(timeout):
                while await self.reader.read(65536):
                    pass
            return True
        except ConnectionError:
            return True
        except TimeoutError:
            return False


async def connect(port: int, host: str = "127.0.0.1", *,
                  reading: bool = True) -> Connection:
    """A client connection; TCP_NODELAY, so each write leaves as its own segment.

    ``reading=False`` is a client that never reads: a small receive buffer, and nothing taken
    off the socket, so whatever the server sends piles up on the server's side.
    """
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    if not reading:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    sock.setblocking(False)
    try:
        await asyncio.wait_for(asyncio.get_running_loop().sock_connect(sock, (host, port)),
                               DEADLINE)
        reader, writer = await asyncio.open_connection(sock=sock, limit=2 ** 24)
    except BaseException:
        sock.close()
        raise
    if not reading:
        writer.transport.pause_reading()
    return Connection(reader, writer)


async def exchange(port: int, data: bytes, *, method: str = "GET",
                   timeout: float = READ_TIMEOUT) -> RawResponse | None:
    """Send ``data`` on a fresh connection and read one response (None: closed first)."""
    async with await connect(port) as conn:
        try:
            await conn.send(data)
        except ConnectionError:
            pass  # the server may answer and close before taking all of it
        return await conn.response(method=method, timeout=timeout)


async def assert_still_serving(port: int, path: str = "/", body: bytes = b"ok") -> None:
    """A normal request on a fresh connection is answered: the attack cost nobody else."""
    request = f"GET {path} HTTP/1.1\r\nHost: hostile.test\r\n\r\n".encode()
    response = await exchange(port, request)
    assert response is not None, "the server closed a normal request's connection"
    assert (response.status, response.body) == (200, body)


async def wait_until(predicate: Callable[[], Any], timeout: float = DEADLINE,
                     what: str = "the condition", interval: float = 0.02) -> Any:
    """pyframe.testing.wait_until with this folder's longer deadline."""
    return await testing.wait_until(predicate, timeout, what, interval)
