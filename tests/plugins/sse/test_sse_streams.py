"""Event streams over real sockets: keep-alive comments, clients that disconnect or stop
reading, draining, and compression that must not hold events back."""

from __future__ import annotations

import asyncio
import socket

import aiohttp
import pytest
import zstandard

from pyframe.plugin import draining
from pyframe.testing import TestClient
from pyframe_sse import SSEManager
from pyframe_sse.hub import HUB

from .support import DEADLINE, EventReader, sse_app, stream_route, wait_until


@pytest.fixture(autouse=True)
def _no_stray_config(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)


def open_stream(app):
    (stream,) = app.state[HUB].streams
    return stream


async def test_keep_alive_comments_while_nothing_is_sent():
    app = sse_app(ping_interval=0.05)
    manager = SSEManager()
    stream_route(app, manager)
    async with TestClient(app) as client:
        async with client.get("/events") as resp:
            reader = EventReader(resp)
            assert await reader.comment(3) == ["ping", "ping", "ping"]
            await manager.send_event("news", {"data": "between pings"})
            assert (await reader.next()).data == "between pings"
            await reader.comment(4)


async def test_ping_interval_zero_sends_none_and_sets_no_timer():
    app = sse_app(ping_interval=0)
    manager = SSEManager()
    stream_route(app, manager)
    async with TestClient(app) as client:
        async with client.get("/events") as resp:
            await wait_until(lambda: manager.subscriber_count("news") == 1, what="a subscriber")
            stream = open_stream(app)
            assert stream._timer is None  # nothing wakes an idle stream: no busy loop
            await manager.send_event("news", {"data": "one"})
            reader = EventReader(resp)
            assert (await reader.next()).data == "one"
            assert reader.comments == [] and stream.pings == 0


async def test_a_disconnect_is_noticed_while_no_events_flow():
    app = sse_app(ping_interval=0)  # nothing is ever written: only the disconnect ends it
    manager = SSEManager()
    seen = {}
    stream_route(app, manager, seen=seen)
    async with TestClient(app) as client:
        resp = await client.get("/events")
        await wait_until(lambda: manager.subscriber_count("news") == 1, what="a subscriber")
        resp.close()  # the client goes away
        await wait_until(lambda: seen.get("finally") == 1, what="the generator's finally")
        await wait_until(lambda: not app.state[HUB].streams and not app.state[HUB].channels,
                         what="the stream and its channel cleaned up")
        assert manager.subscriber_count("news") == 0


def stalled_client(port: int, path: str) -> socket.socket:
    """A client that sends its request and never reads, with a small receive buffer."""
    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    sock.connect(("127.0.0.1", port))
    sock.sendall(f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n".encode())
    return sock


async def test_a_stalled_client_is_cut_while_others_keep_receiving():
    app = sse_app(ping_interval=0, queue_size=4)
    manager = SSEManager()
    stream_route(app, manager)
    big = "x" * 200_000  # a few of these fill the stalled client's socket buffers
    async with TestClient(app) as client:
        stalled = stalled_client(client.port, "/events?channel=room")
        try:
            async with client.get("/events?channel=room") as resp:
                await wait_until(lambda: manager.subscriber_count("room") == 2,
                                 what="two subscribers")
                reader = EventReader(resp)
                received = []

                async def read_all(count):
                    for _ in range(count):
                        received.append(await reader.next())

                sent = []
                for n in range(200):
                    sent.append(await manager.send_event("room", {"event": str(n), "data": big}))
                    await read_all(1)  # the reading client keeps up, event by event
                    if manager.subscriber_count("room") == 1:
                        break
                assert manager.subscriber_count("room") == 1, "the stalled client was never cut"
                counters = app.state[HUB].counters
                assert counters.cut == 1 and counters.dropped >= 5
                after = await manager.send_event("room", {"event": "after", "data": "small"})
                await read_all(1)
                assert [e.last_event_id for e in received] == sent + [after]
                assert [e.event for e in received] == [str(n) for n in range(len(sent))] + [
                    "after"]
                await wait_until(lambda: len(app.state[HUB].streams) == 1,
                                 what="the stalled stream closed")
        finally:
            stalled.close()


async def test_draining_ends_streams_cleanly():
    app = sse_app(ping_interval=0)
    manager = SSEManager()
    seen = {}
    stream_route(app, manager, seen=seen)
    async with TestClient(app) as client:
        async with client.get("/events") as resp:
            await wait_until(lambda: manager.subscriber_count("news") == 1, what="a subscriber")
            await manager.send_event("news", {"data": "before the drain"})
            reader = EventReader(resp)
            assert (await reader.next()).data == "before the drain"
            draining(app).set()  # what SIGTERM does first
            assert await reader.until_end() == []  # a complete chunked body: no error
            await wait_until(lambda: seen.get("finally") == 1, what="the generator's finally")
        async with client.get("/events") as late:
            # A stream that starts while the server drains ends at once.
            assert await EventReader(late).until_end() == []


@pytest.mark.parametrize("coding", ["gzip", "br", "zstd"])
async def test_compressed_streams_deliver_each_event_when_it_is_sent(coding):
    app = sse_app(ping_interval=0)
    app.plugins.enable("compression", minimum_size=10_000)
    manager = SSEManager()
    stream_route(app, manager)
    async with TestClient(app) as client:
        # aiohttp decodes gzip and br as the bytes come; zstd is decoded here the same way.
        auto = coding != "zstd"
        async with aiohttp.ClientSession(auto_decompress=auto) as session, session.get(
                client.url("/events"), headers={"Accept-Encoding": coding}) as resp:
            assert resp.headers["Content-Encoding"] == coding
            assert resp.headers["Cache-Control"] == "no-store"
            decode = None if auto else zstandard.ZstdDecompressor().decompressobj().decompress
            reader = EventReader(resp, decode)
            await wait_until(lambda: manager.subscriber_count("news") == 1, what="a subscriber")
            for n in range(3):
                # Each event must arrive before the next is sent: none may wait in a buffer.
                await manager.send_event("news", {"event": "n", "data": {"n": n}})
                event = await asyncio.wait_for(reader.next(), DEADLINE)
                assert event.json() == {"n": n}
