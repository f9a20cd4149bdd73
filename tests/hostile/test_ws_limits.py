"""Hostile WebSocket sizes against a pyframe server (issue 19): oversized messages, frames that
declare more than they send, and deflate bombs close with 1009 before the server buffers them;
in a child process, memory stays bounded while many connections try at once.
"""

from __future__ import annotations

import asyncio
import importlib.util
import sys
from pathlib import Path

import pytest

from pyframe.testing import TestClient

_HERE = Path(__file__).parent


def _load(path: Path, name: str):
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    sys.modules.setdefault(name, module)  # dataclasses look the module up
    spec.loader.exec_module(module)
    return module


frames = _load(_HERE.parent / "plugins" / "ws" / "frames.py", "hostile_ws_frames")
protocol = _load(_HERE / "test_ws_protocol.py", "hostile_ws_protocol_cases")
frame, deflate, RawClient = frames.frame, frames.deflate, frames.RawClient
TEXT, BINARY, CONT = frames.TEXT, frames.BINARY, frames.CONTINUATION
attack, ws_app, still_serving = protocol.attack, protocol.ws_app, protocol.still_serving
DEADLINE = protocol.DEADLINE
LIMIT = "max_message_size = 4096\n"
BOMB = b"\0" * (16 * 1024 * 1024)  # 16 MiB of zeros: about 16 KiB deflated


async def test_one_frame_over_the_limit_closes_with_1009():
    assert await attack(frame(TEXT, b"x" * 4097), config=LIMIT) == 1009


async def test_fragments_adding_up_over_the_limit_close_with_1009():
    data = frame(BINARY, b"x" * 3000, fin=False) + frame(CONT, b"x" * 3000)
    assert await attack(data, config=LIMIT) == 1009


async def test_many_small_fragments_over_the_limit_close_with_1009():
    data = frame(BINARY, b"y" * 100, fin=False) + b"".join(
        frame(CONT, b"y" * 100, fin=False) for _ in range(60)) + frame(CONT, b"end")
    assert await attack(data, config=LIMIT) == 1009


async def test_a_header_declaring_a_huge_frame_is_refused_before_its_payload():
    # 1 GiB declared, 14 bytes sent: the answer comes from the header alone.
    header = bytes([0x82, 0xFF]) + (1 << 30).to_bytes(8, "big") + b"mask"
    assert await attack(header, config=LIMIT) == 1009


async def test_a_64_bit_length_with_the_top_bit_set_fails_the_connection():
    # RFC 6455 §5.2 says the top bit must be 0 (1002); aiohttp answers 1009 from the size.
    data = bytes([0x82, 0xFF]) + (2 ** 63).to_bytes(8, "big") + b"mask"
    assert await attack(data, config=LIMIT) in (1002, 1009)


async def test_a_message_of_exactly_the_limit_is_accepted():
    async with TestClient(ws_app(LIMIT)) as server:
        raw = await RawClient.connect(server.port, "/ws")
        await raw.send(frame(TEXT, b"x" * 4096))
        echoed = await raw.read_frame(DEADLINE)
        assert echoed is not None and len(echoed.payload) == 4096
        await raw.aclose()


async def test_a_deflate_bomb_closes_with_1009():
    data = frame(TEXT, deflate(BOMB), rsv1=True)
    assert await attack(data, config="compress = true\n" + LIMIT,
                        extensions="permessage-deflate") == 1009


async def test_a_deflate_bomb_in_fragments_closes_with_1009():
    body = deflate(BOMB)
    data = frame(BINARY, body[:4000], rsv1=True, fin=False) + frame(CONT, body[4000:])
    assert await attack(data, config="compress = true\n" + LIMIT,
                        extensions="permessage-deflate") == 1009


async def test_deflate_is_refused_unless_configured():
    # With compress off (the default) the extension is not agreed, so RSV1 is a protocol error.
    data = frame(TEXT, deflate(b"hello"), rsv1=True)
    assert await attack(data, extensions="permessage-deflate") == 1002


# -- memory, in a child process ------------------------------------------------------------

APP = """
from pyframe import PyFrameApp

app = PyFrameApp()


@app.websocket("/ws")
async def echo(websocket):
    async for message in websocket:
        await websocket.send_bytes(message if isinstance(message, bytes) else message.encode())
"""


def rss_kib(pid: int) -> int:
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    raise AssertionError(f"no VmRSS for {pid}")


@pytest.mark.timeout(90)
async def test_bombs_on_many_connections_keep_memory_bounded(tmp_path):
    support = _load(_HERE.parent / "server" / "support.py", "hostile_ws_server_support")
    (tmp_path / "app.py").write_text(APP)
    (tmp_path / "pyframe.toml").write_text('[plugins.ws]\ncompress = true\nheartbeat = 0\n'
                                           'max_connections_per_ip = 0\n'
                                           '\n[logging]\nformat = "json"\naccess_log = false\n')
    server = await support.ServerProcess.command(
        tmp_path, sys.executable, "-m", "pyframe", "run", "app:app", "--host", "127.0.0.1",
        "--port", "0")
    try:
        url = (await server.wait_for("server_listening"))[0]["url"]
        port = int(url.rsplit(":", 1)[1])
        pid = server.proc.pid
        base = rss_kib(pid)
        bomb = frame(BINARY, deflate(BOMB), rsv1=True)
        declared = bytes([0x82, 0xFF]) + (1 << 40).to_bytes(8, "big") + b"mask"
        codes = []
        peak = 0
        for _round in range(3):
            clients = await asyncio.gather(*(
                RawClient.connect(port, "/ws", extensions="permessage-deflate")
                for _ in range(20)))
            for n, raw in enumerate(clients):
                await raw.send(bomb if n % 2 else declared)
            for raw in clients:
                _, close = await raw.read_until_close(DEADLINE)
                codes.append(close.close_code if close else None)
                await raw.aclose()
            peak = max(peak, rss_kib(pid) - base)
        assert set(codes) == {1009}
        # 60 connections, each offering 16 MiB (or 1 TiB declared): each inflates at most
        # 64 KiB + 1 before it is refused. A buffering server would need a gigabyte.
        assert peak < 64 * 1024, f"RSS grew by {peak} KiB"
        echo = await RawClient.connect(port, "/ws")
        await echo.send(frame(TEXT, b"after"))
        assert (await echo.read_frame(DEADLINE)).payload == b"after"
        await echo.aclose()
    finally:
        await server.close()
