"""Helpers of the ws tests: a bare aiohttp server, waiting with a deadline, apps with a config,
a client of command_app, and Redis (unique key prefixes, servers of the test's own)."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import Any

from aiohttp import web

from pyframe.testing import wait_until
from tests.backends.support import delete_prefix, unique_prefix  # noqa: F401 (for the tests)
from pyframe_ws import ConnectionOptions, WebSocket, WebSocketCounters, WebSocketDisconnect

DEADLINE = 10.0  # seconds; generous so a loaded machine does not fail a correct server



@asynccontextmanager
async def bare_server(handler: Callable[[web.BaseRequest], Awaitable[web.StreamResponse]],
                      server_class: type[web.Server] = web.Server) -> AsyncIterator[int]:
    """aiohttp's low-level server (or ``server_class``, such as pyframe's connection, which
    makes the WebSocket reader strict) running ``handler`` on a free port; yields the port."""
    server = server_class(handler)
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


def ws_app(directory: Any, config: str = "[plugins.ws]\n") -> Any:
    """A PyFrameApp reading ``config`` as its pyframe.toml (in ``directory``)."""
    from pyframe import PyFrameApp

    path = directory / "pyframe.toml"
    path.write_text(config)
    return PyFrameApp(config=str(path))


def ws_url(port: int, path: str) -> str:
    return f"ws://127.0.0.1:{port}{path}"


async def recv_json(ws: Any, timeout: float = DEADLINE) -> Any:
    import json

    return json.loads(await asyncio.wait_for(ws.recv(), timeout))


def load_module(path: Any, prefix: str) -> Any:
    """A fresh copy of a module file (its own app and module-level manager)."""
    import importlib.util
    import itertools

    counter = _loads.setdefault(prefix, itertools.count())
    spec = importlib.util.spec_from_file_location(f"{prefix}_{next(counter)}", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)  # type: ignore[union-attr]
    return module


_loads: dict[str, Any] = {}


class Peer:
    """A ``websockets`` client of command_app: ``await peer.ask("join", group="a")`` waits
    for the acknowledgement; what the manager delivers lands in ``peer.inbox``."""

    def __init__(self, ws: Any) -> None:
        self.ws = ws
        self.inbox: asyncio.Queue[Any] = asyncio.Queue()
        self._acks: dict[int, asyncio.Future[Any]] = {}
        self._next = 0
        self.pid: int | None = None
        self._hello = asyncio.get_running_loop().create_future()
        self._reader = asyncio.ensure_future(self._read())

    @classmethod
    async def open(cls, url: str, **options: Any) -> Peer:
        from websockets.asyncio.client import connect

        options.setdefault("open_timeout", DEADLINE)
        options.setdefault("close_timeout", DEADLINE)
        peer = cls(await connect(url, proxy=None, **options))
        peer.pid = (await asyncio.wait_for(peer._hello, DEADLINE))["hello"]
        return peer

    async def _read(self) -> None:
        import json

        from websockets.exceptions import ConnectionClosed

        try:
            async for raw in self.ws:
                message = json.loads(raw)
                if isinstance(message, dict) and "hello" in message and not self._hello.done():
                    self._hello.set_result(message)
                elif isinstance(message, dict) and "ack" in message:
                    future = self._acks.pop(message.get("id"), None)
                    if future is not None and not future.done():
                        future.set_result(message)
                else:
                    self.inbox.put_nowait(message)
        except ConnectionClosed:
            pass
        finally:
            for future in [self._hello, *self._acks.values()]:
                if not future.done():
                    future.set_exception(ConnectionError("the connection closed"))

    async def ask(self, op: str, **fields: Any) -> Any:
        import json

        self._next += 1
        future = self._acks[self._next] = asyncio.get_running_loop().create_future()
        await self.ws.send(json.dumps({"op": op, "id": self._next, **fields}))
        return await asyncio.wait_for(future, DEADLINE)

    async def receive(self, timeout: float = DEADLINE) -> Any:
        return await asyncio.wait_for(self.inbox.get(), timeout)

    async def close(self) -> None:
        await self.ws.close()
        await asyncio.wait_for(self._reader, DEADLINE)
