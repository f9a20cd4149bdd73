"""SIGTERM with work in progress (finding 4): the slow request completes, an idle keep-alive
connection is closed at once, new connections are refused rather than left hanging, a stream
still open at the deadline is ended cleanly, and the exit code is 0 within the grace period.

(test_shutdown_everything.py holds all of it at once, with a WebSocket getting 1001 and an SSE
stream ending too.)
"""

from __future__ import annotations

import asyncio
import signal

import pytest

from .support import connect

HOST = b"Host: hostile.test\r\n"


async def refused(port: int, within: float = 3.0) -> bool:
    """Whether connecting is refused within ``within`` seconds (a connection that is
    accepted but never served does not count)."""
    async def attempt() -> bool:
        try:
            conn = await connect(port)
        except ConnectionRefusedError:
            return True
        conn.close()
        return False

    loop = asyncio.get_running_loop()
    deadline = loop.time() + within
    while loop.time() < deadline:
        if await attempt():
            return True
        await asyncio.sleep(0.05)
    return False


async def open_idle_and_slow(server):
    port = await server.port()
    idle = await connect(port)
    await idle.send(b"GET / HTTP/1.1\r\n" + HOST + b"\r\n")
    assert (await idle.response()).body == b"ok"  # kept alive, now idle
    slow = await connect(port)
    await slow.send(b"GET /slow HTTP/1.1\r\n" + HOST + b"\r\n")
    await server.wait_for("slow_started")
    return port, idle, slow


async def test_sigterm_closes_idle_connections_at_once(spawn):
    server = spawn("[server]\nshutdown_timeout = 15\n")
    port, idle, slow = await open_idle_and_slow(server)
    try:
        server.send_signal(signal.SIGTERM)
        assert await refused(port)
        response = await slow.response(timeout=10)
        assert (response.status, response.body) == (200, b"slow done")
        assert response.header("Connection") == "close"
        # By the time the slow request is done, the idle connection is long gone.
        assert await idle.closed(timeout=1.0), "the idle connection is still open"
        assert await server.exit_code(timeout=8) == 0  # well within the 15 s grace period
    finally:
        idle.close()
        slow.close()


async def test_sigterm_refuses_new_connections_with_workers(spawn):
    server = spawn("[server]\nshutdown_timeout = 15\n", "--workers", "2")
    await server.wait_for("server_listening", role="supervisor")
    port, idle, slow = await open_idle_and_slow(server)
    try:
        server.send_signal(signal.SIGTERM)
        await server.wait_for("server_draining", count=2)  # both workers stopped listening
        assert await refused(port), "new connections are accepted and left hanging"
        response = await slow.response(timeout=10)
        assert (response.status, response.body) == (200, b"slow done")
        assert await server.exit_code(timeout=12) == 0
    finally:
        idle.close()
        slow.close()


@pytest.mark.parametrize("workers", [[], ["--workers", "2"]], ids=["one-process", "workers"])
async def test_stream_open_at_the_deadline_ends_cleanly(spawn, workers):
    # Finding 4c: the stream ignores the drain, so the server has to end it at the deadline.
    server = spawn("[server]\nshutdown_timeout = 1\n", *workers)
    if workers:
        await server.wait_for("server_listening", role="supervisor")
    port = await server.port()
    async with await connect(port) as stream:
        await stream.send(b"GET /forever HTTP/1.1\r\n" + HOST + b"\r\n")
        await server.wait_for("forever_started")
        server.send_signal(signal.SIGTERM)
        response = await stream.response(timeout=10)
        assert response.status == 200 and response.body.startswith(b"tick\n")
        assert response.trailer_complete, "the stream was cut, not ended"
    # The deadline is shutdown_timeout (1 s); the supervisor would kill at + 5 s.
    assert await server.exit_code(timeout=5) == 0
