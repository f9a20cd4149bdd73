"""The handler's side of a connection, against the real ``websockets`` client: receiving and
sending text, bytes and JSON, ``async for``, closing from either end with clean codes."""

from __future__ import annotations

import asyncio
import json

import msgspec
import pytest
from websockets.exceptions import ConnectionClosed

from pyframe_ws import (ConnectionOptions, MessageTypeError, WebSocket, WebSocketCounters,
                        WebSocketDisconnect, encode_text)

from .frames import CLOSE, TEXT, RawClient, close_payload, frame
from .support import DEADLINE, Hub, bare_server, client, wait_until


async def test_receive_and_send_each_kind(serve_hub):
    async def echo(ws, data):
        if isinstance(data, bytes):
            await ws.send_bytes(data[::-1])
        elif data.startswith("{"):
            await ws.send_json({"got": json.loads(data), "n": ws.messages_in})
        else:
            await ws.send_text(data.upper())

    hub = Hub(on_message=echo)
    port = await serve_hub(hub)
    async with client(port) as peer:
        await peer.send("hello")
        assert await peer.recv() == "HELLO"
        await peer.send(b"\x01\x02\x03")
        assert await peer.recv() == b"\x03\x02\x01"
        await peer.send('{"user": "ana", "text": "hi"}')
        reply = await peer.recv()
        assert isinstance(reply, str)  # JSON goes out as a text frame
        assert json.loads(reply) == {"got": {"user": "ana", "text": "hi"}, "n": 3}
    await wait_until(lambda: hub.finished == 1)
    assert hub.counters.messages_in == 3 and hub.counters.messages_out == 3
    assert hub.disconnects[0].code == 1000 and hub.disconnects[0].reason == "client"


async def test_typed_receives_and_async_for():
    seen: dict[str, object] = {}

    async def handler(request):
        ws = await WebSocket.accept(request)
        seen["text"] = await ws.receive_text()
        seen["bytes"] = await ws.receive_bytes()
        seen["json"] = await ws.receive_json()
        seen["json_from_binary"] = await ws.receive_json()
        with pytest.raises(MessageTypeError):
            await ws.receive_text()  # a binary message: the connection stays open
        with pytest.raises(MessageTypeError):
            await ws.receive_bytes()
        with pytest.raises(msgspec.DecodeError):
            await ws.receive_json()
        seen["rest"] = [message async for message in ws]
        seen["after"] = ws.close_code
        return await ws.finish()

    async with bare_server(handler) as port:
        async with client(port) as peer:
            for message in ["t", b"b", '{"a": [1, 2]}', b'{"b": null}', b"x", "y", "not json",
                            "one", b"two"]:
                await peer.send(message)
        await wait_until(lambda: "after" in seen)
    assert seen == {"text": "t", "bytes": b"b", "json": {"a": [1, 2]},
                    "json_from_binary": {"b": None}, "rest": ["one", b"two"], "after": 1000}


async def test_receive_timeout_leaves_the_connection_open():
    results: list[object] = []

    async def handler(request):
        ws = await WebSocket.accept(request)
        with pytest.raises(asyncio.TimeoutError):
            await ws.receive_text(timeout=0.05)
        results.append("timed out")
        await ws.send_text("ready")
        results.append(await ws.receive_text())
        return await ws.finish()

    async with bare_server(handler) as port:
        async with client(port) as peer:
            assert await peer.recv() == "ready"
            await peer.send("still here")
        await wait_until(lambda: len(results) == 2)
    assert results == ["timed out", "still here"]


async def test_server_close_sends_code_and_reason_after_queued_messages(serve_hub):
    async def close_on_request(ws, data):
        for i in range(5):
            await ws.send_text(f"last {i}")
        await ws.close(4000, "bye now")
        assert ws.closed and ws.close_code == 4000 and ws.close_reason == "server"

    hub = Hub(on_message=close_on_request)
    port = await serve_hub(hub)
    async with client(port) as peer:
        await peer.send("close please")
        got = [await peer.recv() for _ in range(5)]
        with pytest.raises(ConnectionClosed) as closed:
            await peer.recv()
    assert got == [f"last {i}" for i in range(5)]
    assert (closed.value.rcvd.code, closed.value.rcvd.reason) == (4000, "bye now")
    await wait_until(lambda: hub.finished == 1)
    assert hub.disconnects[0].code == 4000  # the handler's next receive ends
    assert hub.counters.closes == {"server": 1}


async def test_client_close_ends_receive_with_its_code_and_is_echoed(serve_hub):
    hub = Hub()
    port = await serve_hub(hub)
    async with client(port) as peer:
        await hub.wait_connections(1)
        await peer.close(4321, "leaving")
    assert peer.close_code == 4321  # the server echoed the code (RFC 6455 §5.5.1)
    await wait_until(lambda: hub.finished == 1)
    gone = hub.disconnects[0]
    assert isinstance(gone, Exception)  # the reference's `except Exception` catches it
    assert (gone.code, gone.reason) == (4321, "client")
    assert hub.counters.closes == {"client": 1}
    with pytest.raises(WebSocketDisconnect):
        await hub.connections[0].receive()  # and every later call
    with pytest.raises(WebSocketDisconnect):
        await hub.connections[0].send_text("too late")
    assert hub.counters.dropped == 1


async def test_close_frame_without_code_reads_as_1005(serve_hub):
    hub = Hub()
    port = await serve_hub(hub)
    raw = await RawClient.connect(port)
    await raw.send(frame(CLOSE, b""))
    _, reply = await raw.read_until_close()
    await raw.aclose()
    assert reply is not None and reply.close_code == 1000
    await wait_until(lambda: hub.finished == 1)
    assert (hub.disconnects[0].code, hub.disconnects[0].reason) == (1005, "client")


@pytest.mark.parametrize("code", [1004, 1005, 1006, 1015, 1016, 2999, 5000, 65535])
async def test_invalid_client_close_codes_fail_with_1002(serve_hub, code):
    # aiohttp lets 1006, 5000 and 65535 through (test_protocol_facts); the connection refuses
    # every code RFC 6455 §7.4 does not allow on the wire.
    hub = Hub()
    port = await serve_hub(hub)
    raw = await RawClient.connect(port)
    await raw.send(frame(CLOSE, close_payload(code)))
    _, reply = await raw.read_until_close()
    assert await raw.closed_by_server()
    await raw.aclose()
    assert reply is not None and reply.close_code == 1002
    await wait_until(lambda: hub.finished == 1)
    assert (hub.disconnects[0].code, hub.disconnects[0].reason) == (1002, "protocol_error")


async def test_protocol_errors_are_reported_with_the_code_sent(serve_hub):
    # aiohttp's own close_code says 1006 after it sent 1007; the connection tells the truth.
    hub = Hub()
    port = await serve_hub(hub)
    raw = await RawClient.connect(port)
    await raw.send(frame(TEXT, b"\xff\xfe"))
    _, reply = await raw.read_until_close()
    await raw.aclose()
    assert reply is not None and reply.close_code == 1007
    await wait_until(lambda: hub.finished == 1)
    assert (hub.disconnects[0].code, hub.disconnects[0].reason) == (1007, "invalid_data")
    assert hub.counters.closes == {"invalid_data": 1}


async def test_max_message_size_is_inclusive(serve_hub):
    limit = 1000
    hub = Hub(ConnectionOptions(max_message_size=limit))
    port = await serve_hub(hub)
    async with client(port) as peer:
        await peer.send("x" * limit)  # aiohttp alone refuses exactly max_msg_size
        await wait_until(lambda: len(hub.received) == 1)
        await peer.send("x" * (limit + 1))
        with pytest.raises(ConnectionClosed) as closed:
            await peer.recv()
    assert closed.value.rcvd.code == 1009
    await wait_until(lambda: hub.finished == 1)
    assert hub.counters.closes == {"message_too_big": 1}


async def test_a_failing_handler_closes_with_1011(serve_hub):
    async def explode(ws, data):
        raise RuntimeError("handler bug")

    hub = Hub(on_message=explode)
    port = await serve_hub(hub)
    async with client(port) as peer:
        await peer.send("boom")
        with pytest.raises(ConnectionClosed) as closed:
            await peer.recv()
    assert closed.value.rcvd.code == 1011
    await wait_until(lambda: hub.finished == 1)
    assert hub.counters.closes == {"internal_error": 1}


async def test_shutdown_flushes_then_closes_with_1001(serve_hub):
    hub = Hub()
    port = await serve_hub(hub)
    async with client(port) as first, client(port) as second:
        await hub.wait_connections(2)
        for ws in hub.connections:
            assert ws.send_encoded(encode_text("before shutdown"))
        await asyncio.wait_for(asyncio.gather(*(ws.shutdown() for ws in hub.connections)),
                               DEADLINE)
        for peer in (first, second):
            assert await peer.recv() == "before shutdown"
            with pytest.raises(ConnectionClosed) as closed:
                await peer.recv()
            assert closed.value.rcvd.code == 1001
    await wait_until(lambda: hub.finished == 2)
    assert hub.counters.closes == {"shutdown": 2}
    assert hub.counters.open == 0 and hub.counters.messages_out == 2


async def test_close_checks_its_arguments(serve_hub):
    hub = Hub()
    port = await serve_hub(hub)
    async with client(port):
        ws = (await hub.wait_connections(1))[0]
        for code in (999, 1005, 1006, 1010, 1015, 2000, 5000):
            with pytest.raises(ValueError, match="close code"):
                await ws.close(code)
        with pytest.raises(ValueError, match="123 bytes"):
            await ws.close(1000, "é" * 62)
        assert not ws.closed


def test_options_are_strict():
    assert ConnectionOptions().max_message_size == 64 * 1024
    assert ConnectionOptions().compress is False and ConnectionOptions().heartbeat == 20.0
    with pytest.raises(msgspec.ValidationError, match="unknown field `max_size`"):
        msgspec.convert({"max_size": 10}, ConnectionOptions)
    with pytest.raises(msgspec.ValidationError, match=r"Expected `int`, got `str`"):
        msgspec.convert({"send_queue_messages": "10"}, ConnectionOptions)
    with pytest.raises(msgspec.ValidationError, match=r"`\$.send_timeout`"):
        msgspec.convert({"send_timeout": 0}, ConnectionOptions)


async def test_a_response_that_is_not_prepared_is_refused():
    from aiohttp import web

    with pytest.raises(RuntimeError, match="prepared"):
        WebSocket(web.WebSocketResponse(), counters=WebSocketCounters())


async def test_connection_times_come_from_the_injected_clock(serve_hub):
    now = [100.0]
    hub = Hub(clock=lambda: now[0])
    port = await serve_hub(hub)
    async with client(port):
        ws = (await hub.wait_connections(1))[0]
        now[0] = 107.5
    await wait_until(lambda: hub.finished == 1)
    assert (ws.connected_at, ws.closed_at) == (100.0, 107.5)
