"""The bridge alone: ``WebSocketConnection`` lets a synchronous handler in a worker thread use
the ws plugin's connection (``pyframe_ws.WebSocket``) under a bare aiohttp server, over a real
socket, with a real WebSocket client. test_websocket.py serves it from ``OutsideHTTP``."""

from __future__ import annotations

import asyncio
import queue

import pytest
from aiohttp import web

from pyframe.compat.outside import Request, WebSocket, WebSocketClosed, WebSocketConnection

from .support import DEADLINE

websockets = pytest.importorskip("websockets")
pyframe_ws = pytest.importorskip("pyframe_ws")


async def serve_bridge(handler, *, timeout=DEADLINE):
    """An aiohttp server whose every request becomes a WebSocketConnection for ``handler``,
    run in a thread; returns the server, its port and what happened."""
    record = {"exits": 0, "terminated": asyncio.Event(), "activity": queue.Queue(),
              "errors": []}
    loop = asyncio.get_running_loop()

    async def endpoint(request):
        ws = await pyframe_ws.WebSocket.accept(request)
        request_class = Request("GET", dict(request.headers), b"", "HTTP/1.1", request.path,
                                ("127.0.0.1", 0))
        connection = WebSocketConnection(
            request_class, ws, record["activity"],
            lambda: loop.call_soon_threadsafe(record["terminated"].set), timeout=timeout)
        connection.on_exit = lambda: record.__setitem__("exits", record["exits"] + 1)

        def run() -> None:
            try:
                handler(connection)
            except WebSocketClosed:
                pass  # the handler's loop ends when the client leaves, as in outside
            except Exception as exc:
                record["errors"].append(exc)
            finally:
                connection.exit()

        await asyncio.to_thread(run)
        return await ws.finish()

    server = web.Server(endpoint)
    listener = await loop.create_server(server, "127.0.0.1", 0)
    return listener, listener.sockets[0].getsockname()[1], record


def echo(connection):  # the page's example handler
    while True:
        message = connection.recv()
        connection.send(message)


async def test_the_pages_echo_handler_over_a_real_websocket():
    listener, port, record = await serve_bridge(echo)
    try:
        async with websockets.connect(f"ws://127.0.0.1:{port}/ws") as client:
            await client.send("text in")  # text arrives as bytes, goes back as binary
            assert await asyncio.wait_for(client.recv(), DEADLINE) == b"text in"
            await client.send(b"\x00binary")
            assert await asyncio.wait_for(client.recv(), DEADLINE) == b"\x00binary"
        await asyncio.wait_for(record["terminated"].wait(), DEADLINE)
    finally:
        listener.close()
        await listener.wait_closed()
    assert record["exits"] == 1 and record["errors"] == []
    assert record["activity"].qsize() >= 4  # two messages in, two out, then the exit


async def test_send_of_str_is_text_and_exit_closes_normally():
    def greet(connection):
        connection.send("hello")
        connection.send(b"bytes")
        connection.exit()
        connection.exit()  # once only
        with pytest.raises(WebSocketClosed):
            connection.recv()

    listener, port, record = await serve_bridge(greet)
    try:
        async with websockets.connect(f"ws://127.0.0.1:{port}/") as client:
            assert await asyncio.wait_for(client.recv(), DEADLINE) == "hello"
            assert await asyncio.wait_for(client.recv(), DEADLINE) == b"bytes"
            with pytest.raises(websockets.ConnectionClosedOK):
                await asyncio.wait_for(client.recv(), DEADLINE)
            assert client.close_code == 1000
    finally:
        listener.close()
        await listener.wait_closed()
    assert record["exits"] == 1 and record["errors"] == []


async def test_a_recv_past_its_deadline_ends_the_connection():
    listener, port, record = await serve_bridge(echo, timeout=0.2)
    try:
        async with websockets.connect(f"ws://127.0.0.1:{port}/") as client:
            with pytest.raises(websockets.ConnectionClosed):
                await asyncio.wait_for(client.recv(), DEADLINE)  # we never send
        await asyncio.wait_for(record["terminated"].wait(), DEADLINE)
    finally:
        listener.close()
        await listener.wait_closed()
    assert record["exits"] == 1


def test_the_websocket_object_keeps_its_handlers():
    ws = WebSocket()
    ws.on_connection(echo)
    ws.on_exit(print)
    assert (ws.connection_handler, ws.exit_handler) == (echo, print)
