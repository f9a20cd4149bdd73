"""The strict WebSocket reader: a client frame without a mask fails the connection with 1002
(RFC 6455 §5.1), however the bytes arrive; valid traffic passes untouched.

Over raw sockets against pyframe's connection (``PyFrameServer``) running a handler that
accepts with ``pyframe.plugin.accept_websocket`` and records what ``receive()`` returns.
"""

from __future__ import annotations

import asyncio
import base64
import os
import random
import struct
from typing import Any

import pytest
from aiohttp import WebSocketError, WSMsgType, web

from pyframe.http.connection import PyFrameServer
from pyframe.http.websocket import MaskGuard
from pyframe.plugin import AcceptedWebSocket, HTTPError, accept_websocket
from tests.plugins.ws.frames import (BINARY, CLOSE, CONTINUATION, PING, TEXT, RawClient,
                                     frame)
from tests.plugins.ws.support import bare_server

DEADLINE = 10.0
_ENDS = {WSMsgType.CLOSE, WSMsgType.CLOSING, WSMsgType.CLOSED, WSMsgType.ERROR}


BYE = frame(CLOSE, struct.pack("!H", 1000))


class Recorder:
    """The server side: accepts, records every message until the connection ends."""

    def __init__(self) -> None:
        self.seen: list[Any] = []
        self.accepted: list[AcceptedWebSocket] = []
        self.done = asyncio.Event()

    async def handler(self, request: web.BaseRequest) -> web.StreamResponse:
        accepted = await accept_websocket(request, max_msg_size=1024 * 1024)
        self.accepted.append(accepted)
        ws = accepted.response
        try:
            while True:
                message = await ws.receive()
                self.seen.append(message)
                if message.type in _ENDS:
                    break
        finally:
            self.done.set()
        return ws

    @property
    def data(self) -> list[Any]:
        return [m.data for m in self.seen if m.type in (WSMsgType.TEXT, WSMsgType.BINARY)]

    @property
    def error_codes(self) -> list[int]:
        return [m.data.code for m in self.seen
                if m.type is WSMsgType.ERROR and isinstance(m.data, WebSocketError)]


def handshake(port: int, version: str = "13", key: str | None = None) -> bytes:
    key = key if key is not None else base64.b64encode(os.urandom(16)).decode()
    return (f"GET / HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nUpgrade: websocket\r\n"
            f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\n"
            f"Sec-WebSocket-Version: {version}\r\n\r\n").encode()


class Peer(RawClient):
    """The ws tests' raw client, which can also dribble bytes one at a time."""

    async def send_bytewise(self, data: bytes) -> None:
        for i in range(len(data)):
            self.writer.write(data[i:i + 1])
            await self.writer.drain()

    async def close_code(self) -> int | None:
        """The code of the server's close frame (None: the TCP connection ended first)."""
        _, close = await self.read_until_close()
        return close.close_code if close is not None else None


async def run_case(data: bytes, *, pipelined: bool = False,
                   one_byte_at_a_time: bool = False) -> tuple[Recorder, int | None]:
    recorder = Recorder()
    async with bare_server(recorder.handler, PyFrameServer) as port:
        peer = await Peer.connect(port, after_handshake=data if pipelined else b"")
        if one_byte_at_a_time:
            await peer.send_bytewise(data)
        elif not pipelined:
            await peer.send(data)
        code = await peer.close_code()
        assert await peer.closed_by_server()
        await asyncio.wait_for(recorder.done.wait(), DEADLINE)
        await peer.aclose()
    return recorder, code


UNMASKED = {
    "text": frame(TEXT, b"hi", masked=False),
    "binary_16_bit_length": frame(BINARY, b"b" * 300, masked=False),
    "ping": frame(PING, b"p", masked=False),
    "continuation": frame(TEXT, b"a", fin=False) + frame(CONTINUATION, b"b", masked=False),
    "close": frame(CLOSE, struct.pack("!H", 1000), masked=False),
}


@pytest.mark.parametrize("case", list(UNMASKED))
async def test_an_unmasked_frame_fails_the_connection_with_1002(case):
    recorder, code = await run_case(UNMASKED[case] + BYE)
    assert code == 1002
    assert recorder.error_codes == [1002]
    assert recorder.data == []
    assert recorder.accepted[0].strict


async def test_frames_before_the_unmasked_one_are_delivered():
    data = frame(TEXT, b"one") + frame(BINARY, b"\x00" * 70_000) + frame(TEXT, b"x", masked=False)
    recorder, code = await run_case(data + BYE)
    assert code == 1002 and recorder.error_codes == [1002]
    assert recorder.data == ["one", b"\x00" * 70_000]


@pytest.mark.parametrize("case", ["text", "ping"])
async def test_one_byte_at_a_time(case):
    data = frame(TEXT, b"first") + frame(BINARY, b"z" * 200) + UNMASKED[case] + BYE
    recorder, code = await run_case(data, one_byte_at_a_time=True)
    assert code == 1002 and recorder.error_codes == [1002]
    assert recorder.data == ["first", b"z" * 200]


@pytest.mark.parametrize("case", ["text", "binary_16_bit_length"])
async def test_pipelined_with_the_handshake(case):
    # The frames arrive with the request head; aiohttp hands them to the reader through
    # set_parser, so the guard sees them too.
    recorder, code = await run_case(frame(TEXT, b"early") + UNMASKED[case] + BYE,
                                    pipelined=True)
    assert code == 1002 and recorder.error_codes == [1002]
    assert recorder.data == ["early"]


def valid_traffic(sizes: tuple[int, ...] = (0, 1, 125, 126, 127, 65535, 65536, 70_001)
                  ) -> tuple[bytes, list[Any]]:
    """Frames with every length encoding, a fragmented message with a ping inside, a close."""
    data = b"".join(frame(BINARY, bytes([n % 251]) * n) for n in sizes)
    data += frame(TEXT, b"frag", fin=False) + frame(PING, b"ping") \
        + frame(CONTINUATION, b"mented", fin=False) + frame(CONTINUATION, b"!")
    expected = [bytes([n % 251]) * n for n in sizes] + ["fragmented!"]
    return data + BYE, expected


@pytest.mark.parametrize("how", ["whole", "one_byte_at_a_time", "pipelined"])
async def test_valid_traffic_is_untouched(how):
    # A byte at a time with short frames only: 200 000 single-byte writes would be slow. The
    # unit test below splits the long ones everywhere.
    data, expected = valid_traffic((0, 1, 125, 126, 300) if how == "one_byte_at_a_time"
                                   else valid_traffic.__defaults__[0])
    recorder, code = await run_case(data, pipelined=how == "pipelined",
                                    one_byte_at_a_time=how == "one_byte_at_a_time")
    assert recorder.error_codes == []
    assert recorder.data == expected
    assert recorder.seen[-1].type is WSMsgType.CLOSE
    assert code == 1000


async def test_a_bare_aiohttp_server_is_not_strict():
    recorder = Recorder()
    async with bare_server(recorder.handler) as port:
        peer = await Peer.connect(port)
        await peer.send(frame(TEXT, b"hi", masked=False) + BYE)
        assert await peer.close_code() == 1000
        await asyncio.wait_for(recorder.done.wait(), DEADLINE)
        await peer.aclose()
    assert recorder.data == ["hi"] and not recorder.accepted[0].strict


async def test_handshake_errors():
    async def handler(request: web.BaseRequest) -> web.StreamResponse:
        try:
            await accept_websocket(request, max_msg_size=1000)
        except HTTPError as exc:
            return web.Response(status=exc.status, headers=exc.headers, text=exc.detail)
        raise AssertionError("the handshake should have failed")

    async with bare_server(handler, PyFrameServer) as port:
        for request, status, header in [
                (handshake(port, version="12"), b"426", b"Sec-WebSocket-Version: 13"),
                (handshake(port, key="not-base64"), b"400", b"not a valid WebSocket handshake")]:
            reader, writer = await asyncio.open_connection("127.0.0.1", port)
            writer.write(request)
            head = await asyncio.wait_for(reader.read(4096), DEADLINE)
            writer.close()
            await writer.wait_closed()
            assert head.split(b" ")[1] == status and header in head


class Recording:
    """A stand-in reader that records what the guard passes on; it fails on the reserved
    opcode frame when ``strict`` (as aiohttp's reader does)."""

    def __init__(self, strict: bool = False) -> None:
        self.strict = strict
        self.fed = bytearray()
        self.eof = False

    def feed_data(self, data: bytes) -> tuple[bool, bytes]:
        self.fed += data
        return self.strict and bytes(data) == b"\x83\x00", b""

    def feed_eof(self) -> None:
        self.eof = True


@pytest.mark.parametrize("seed", range(5))
def test_the_guard_passes_bytes_on_exactly_however_they_are_split(seed):
    data, _ = valid_traffic()
    rng = random.Random(seed)
    cuts = sorted(rng.sample(range(1, len(data)), 300))
    reader = Recording()
    guard = MaskGuard(reader)
    for start, end in zip([0, *cuts], [*cuts, len(data)], strict=True):
        assert guard.feed_data(data[start:end]) == (False, b"")
        # At most the start of one frame header is held back, never payload bytes.
        assert 0 <= end - len(reader.fed) < 14
    assert bytes(reader.fed) == data and not guard.failed
    guard.feed_eof()
    assert reader.eof


def test_the_guard_feeds_the_reader_a_reserved_opcode_on_the_first_unmasked_frame():
    reader = Recording(strict=True)
    guard = MaskGuard(reader)
    valid = frame(TEXT, b"ok")
    assert guard.feed_data(valid + frame(TEXT, b"bad", masked=False) + valid) == (True, b"")
    assert bytes(reader.fed) == valid + b"\x83\x00" and guard.failed
    assert guard.feed_data(valid) == (True, b"")  # nothing more reaches the reader
    assert bytes(reader.fed) == valid + b"\x83\x00"
