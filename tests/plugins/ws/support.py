"""A bare aiohttp server on 127.0.0.1 for the ws tests, and waiting with a deadline."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import Any

from aiohttp import web

from pyframe_ws import ConnectionOptions, WebSocket, WebSocketCounters, WebSocketDisconnect

DEADLINE = 10.0  # seconds; generous so a loaded machine does not fail a correct server


async def wait_until(predicate: Callable[[], Any], timeout: float = DEADLINE,
                     what: str = "the condition") -> Any:
    """Poll ``predicate`` until it is truthy; fail after ``timeout`` seconds."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if loop.time() > deadline:
            raise AssertionError(f"{what} did not happen within {timeout} s")
        await asyncio.sleep(0.005)


@asynccontextmanager
async def bare_server(handler: Callable[[web.BaseRequest], Awaitable[web.StreamResponse]]
                      ) -> AsyncIterator[int]:
    """aiohttp's low-level server running ``handler`` on a free port; yields the port."""
    server = web.Server(handler)
    loop = asyncio.get_running_loop()
    listener = await loop.create_server(server, "127.0.0.1", 0)
    try:
        yield listener.sockets[0].getsockname()[1]
    finally:
        listener.close()
        await server.shutdown(2.0)
        await listener.wait_closed()


class Hub:
    """Accepts every WebSocket with the same options, keeps them, and records what arrives.

    ``on_message(ws, data)`` (optional) runs for each message; ``send_buffer`` shrinks the
    server side's SO_SNDBUF so a client that stops reading blocks the sender quickly.
    """

    def __init__(self, options: ConnectionOptions | None = None, *,
                 on_message: Callable[[WebSocket, Any], Awaitable[None]] | None = None,
                 send_buffer: int | None = None, **kwargs: Any) -> None:
        self.options = options or ConnectionOptions()
        self.counters = WebSocketCounters()
        self.on_message = on_message
        self.send_buffer = send_buffer
        self.kwargs = kwargs
        self.connections: list[WebSocket] = []
        self.received: list[Any] = []
        self.disconnects: list[WebSocketDisconnect] = []
        self.finished = 0

    async def handler(self, request: web.BaseRequest) -> web.StreamResponse:
        if self.send_buffer is not None:
            sock = request.transport.get_extra_info("socket")
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, self.send_buffer)
        ws = await WebSocket.accept(request, self.options, counters=self.counters, **self.kwargs)
        self.connections.append(ws)
        code = 1000
        try:
            while True:
                data = await ws.receive()
                self.received.append(data)
                if self.on_message is not None:
                    await self.on_message(ws, data)
        except WebSocketDisconnect as exc:
            self.disconnects.append(exc)
        except Exception:
            code = 1011
            raise
        finally:
            await ws.finish(code)
            self.finished += 1
        return ws.response

    async def wait_connections(self, count: int) -> list[WebSocket]:
        await wait_until(lambda: len(self.connections) >= count, what=f"{count} connections")
        return self.connections


def client(port: int, path: str = "/", **options: Any) -> Any:
    """A real client (the ``websockets`` library), never through an environment proxy."""
    from websockets.asyncio.client import connect

    options.setdefault("open_timeout", DEADLINE)
    options.setdefault("close_timeout", DEADLINE)
    return connect(f"ws://127.0.0.1:{port}{path}", proxy=None, **options)
