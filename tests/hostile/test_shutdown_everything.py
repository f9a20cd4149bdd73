"""SIGTERM with everything open at once: a slow request completes, an idle keep-alive
connection closes at once, a WebSocket gets 1001, an SSE stream ends, and the process exits 0
within the grace period."""

from __future__ import annotations

import asyncio
import signal

import aiohttp
import websockets

from .support import connect

HOST = b"Host: hostile.test\r\n"
CONFIG = "[server]\nshutdown_timeout = 10\n\n[plugins.ws]\n\n[plugins.sse]\nping_interval = 0\n"


async def test_sigterm_with_a_slow_request_an_idle_connection_a_websocket_and_a_stream(spawn):
    server = spawn(CONFIG, app_module="shutdown_app")
    port = await server.port()
    idle = await connect(port)
    await idle.send(b"GET / HTTP/1.1\r\n" + HOST + b"\r\n")
    assert (await idle.response()).body == b"ok"
    socket = await websockets.connect(f"ws://127.0.0.1:{port}/ws", open_timeout=10)
    await server.wait_for("ws_connected")
    session = aiohttp.ClientSession()
    stream = await session.get(f"http://127.0.0.1:{port}/events")
    assert stream.status == 200
    assert b"event: hello" in await asyncio.wait_for(stream.content.readuntil(b"\n\n"), 10)
    await server.wait_for("stream_open")
    slow = await connect(port)
    await slow.send(b"GET /slow HTTP/1.1\r\n" + HOST + b"\r\n")
    await server.wait_for("slow_started")
    loop = asyncio.get_running_loop()
    try:
        signalled = loop.time()
        server.send_signal(signal.SIGTERM)
        # The idle connection is closed at once, while the slow request still runs.
        assert await asyncio.wait_for(idle.closed(), 3)
        # The WebSocket is told the server is going away.
        try:
            await asyncio.wait_for(socket.recv(), 10)
        except websockets.ConnectionClosed:
            pass
        await asyncio.wait_for(socket.wait_closed(), 10)
        assert socket.close_code == 1001
        # The stream ends: its body is complete, not cut.
        rest = await asyncio.wait_for(stream.content.read(), 10)
        assert stream.content.at_eof() and b"event: hello" not in rest
        # The slow request completes.
        response = await slow.response(timeout=10)
        assert (response.status, response.body) == (200, b"slow done")
        assert await server.exit_code(timeout=15) == 0
        assert loop.time() - signalled < 10  # within the grace period
    finally:
        stream.close()
        await session.close()
        await socket.close()
        idle.close()
        slow.close()
