"""The connection's hard paths on uvloop, which ``pyframe run`` uses when it is installed: its
transports are not asyncio's classes, so anything that measures or cuts a socket must still
work on them (a stalled client closed and cut, a blocked write timed out, direct writes)."""

from __future__ import annotations

import asyncio

import pytest

from pyframe_ws import ConnectionOptions, encode_text

from ..frames import RawClient
from ..support import DEADLINE, Hub, client, wait_until

# This folder's conftest.py runs these tests on uvloop.
pytest.importorskip("uvloop")


async def test_the_loop_is_uvloop():
    assert type(asyncio.get_running_loop()).__module__.startswith("uvloop")


async def test_frames_go_straight_to_a_client_that_keeps_up(serve_hub):
    hub = Hub(ConnectionOptions(send_queue_messages=4))
    port = await serve_hub(hub)
    async with client(port) as peer:
        ws = (await hub.wait_connections(1))[0]
        assert all(ws.send_encoded(encode_text(f"m{i}")) for i in range(40))
        assert ws._sender is None  # nothing had to wait: no sender task was needed
        assert [await peer.recv(DEADLINE) for _ in range(40)] == [f"m{i}" for i in range(40)]


async def test_a_stalled_client_is_closed_and_cut(serve_hub):
    hub = Hub(ConnectionOptions(send_queue_messages=8, send_timeout=0.5, close_timeout=0.5),
              send_buffer=16 * 1024)
    port = await serve_hub(hub)
    stuck = await RawClient.connect(port, receive_buffer=4 * 1024)
    ws = (await hub.wait_connections(1))[0]
    message = encode_text("z" * 16 * 1024)
    accepted = []
    while not accepted or accepted[-1]:
        assert len(accepted) < 100, "the queue never filled"
        accepted.append(ws.send_encoded(message))
    await wait_until(lambda: hub.finished == 1, what="the connection to end")
    assert ws.close_reason == "slow_consumer"
    # The bytes it never read were thrown away with the connection: the TCP connection is
    # gone, not left waiting for the client to read them.
    assert ws.transport.is_closing()
    assert await stuck.closed_by_server()
    stuck.abort()


async def test_a_write_blocked_past_send_timeout_is_cut(serve_hub):
    hub = Hub(ConnectionOptions(send_queue_messages=100_000, send_queue_bytes=512 * 1024 * 1024,
                                send_timeout=0.3, close_timeout=0.5), send_buffer=16 * 1024)
    port = await serve_hub(hub)
    stuck = await RawClient.connect(port, receive_buffer=4 * 1024)
    ws = (await hub.wait_connections(1))[0]
    for _ in range(400):
        assert ws.send_encoded(encode_text("y" * 4096))
    await wait_until(lambda: hub.finished == 1, what="the send timeout")
    assert (ws.close_reason, ws.close_code) == ("send_timeout", 1008)
    assert await stuck.closed_by_server()
    stuck.abort()
