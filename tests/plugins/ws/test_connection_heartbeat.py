"""Heartbeats are on by default and find a peer that stopped answering; one that answers stays."""

from __future__ import annotations

import asyncio

from aiohttp import web

from pyframe_ws import ConnectionOptions, WebSocket, encode_text

from .frames import PING, PONG, RawClient, frame
from .support import Hub, bare_server, wait_until

FAST = ConnectionOptions(heartbeat=0.2)  # ping after 0.2 s idle, pong due within 0.1 s


def test_heartbeats_are_on_by_default():
    assert ConnectionOptions().heartbeat is not None


async def test_a_peer_that_stops_answering_pings_is_dropped(serve_hub):
    hub = Hub(FAST)
    port = await serve_hub(hub)
    silent = await RawClient.connect(port)  # connected, then never reads nor answers
    await wait_until(lambda: hub.finished == 1, what="the heartbeat to find the dead peer")
    ws = hub.connections[0]
    assert (ws.close_reason, ws.close_code) == ("heartbeat_timeout", 1006)
    assert (hub.disconnects[0].code, hub.disconnects[0].reason) == (1006, "heartbeat_timeout")
    assert hub.counters.closes == {"heartbeat_timeout": 1}
    frames_seen, close = await silent.read_until_close()
    assert [f.opcode for f in frames_seen][:1] == [PING] and close is None  # then just cut
    await silent.aclose()


async def test_a_peer_that_answers_pings_stays_connected(serve_hub):
    hub = Hub(FAST)
    port = await serve_hub(hub)
    peer = await RawClient.connect(port)
    pings = 0
    while pings < 4:  # four heartbeat periods: long past the 0.3 s a dead peer is given
        got = await peer.read_frame()
        assert got is not None and got.opcode == PING
        pings += 1
        await peer.send(frame(PONG, got.payload))
    assert not hub.connections[0].closed and hub.finished == 0
    await peer.aclose()
    await wait_until(lambda: hub.finished == 1)
    assert hub.counters.closes == {"connection_lost": 1}


async def test_a_dead_peer_is_noticed_by_a_handler_that_only_sends():
    accepted: list[WebSocket] = []
    release = asyncio.Event()

    async def handler(request: web.BaseRequest) -> web.StreamResponse:
        ws = await WebSocket.accept(request, FAST)
        accepted.append(ws)
        await asyncio.wait_for(release.wait(), 10)  # never receives
        return await ws.finish()

    async with bare_server(handler) as port:
        silent = await RawClient.connect(port)
        await wait_until(lambda: accepted and accepted[0].response.closed,
                         what="aiohttp's heartbeat to close the connection")
        ws = accepted[0]
        assert not ws.send_encoded(encode_text("anyone there?"))
        assert (ws.close_reason, ws.counters.dropped) == ("heartbeat_timeout", 1)
        release.set()
        await wait_until(lambda: ws.closed_at is not None)
        await silent.aclose()
    assert ws.counters.closes == {"heartbeat_timeout": 1}
