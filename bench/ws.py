"""WebSocket fan-out: pyframe's ws plugin against aiohttp's bare WebSocketResponse loop.

    uv run --locked --all-packages python bench/ws.py [--clients 10000] [--trials 5]
        [--fanout-clients 1000] [--fanout-messages 200] [--only pyframe,pyframe_redis,aiohttp]
        [--json FILE]

For each server, in one run: connect ``--clients`` idle clients (raw sockets from this process,
answering pings), read the server's RSS before and after (memory per idle connection), then time
until the *last* client has one broadcast message (``--trials`` times); then, with
``--fanout-clients`` connected, a burst of ``--fanout-messages`` broadcasts: broadcasts per
second and deliveries per second until the last client has the last message.

Servers: ``pyframe`` (one worker, the embedded backend), ``pyframe_redis`` (``--workers 2`` on a
redis-server of the run's own, on a free port) and ``aiohttp`` (``web.Application``, a set of
WebSocketResponses and ``for ws in clients: await ws.send_str(...)``). Single-process servers run
on core 0 and the clients on core 1 (``taskset``); the two workers and Redis are not pinned.
Everything listens on 127.0.0.1; every wait has a deadline; servers get SIGTERM, then SIGKILL.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import os
import statistics
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from benchlib import FANOUT_DEADLINE as DEADLINE  # noqa: E402
from benchlib import (HOST, AppServer, connect_clients, http_json, measure_each,  # noqa: E402
                      prepare_client_process, print_report, tree_cpu_seconds)

PYFRAME_APP = '''
import os
from pyframe import PyFrameApp
from pyframe.websockets import WebSocketManager

app = PyFrameApp()
manager = WebSocketManager("bench")


@app.websocket("/ws")
async def socket(websocket):
    await manager.connect(websocket)
    await websocket.send_text("hello")
    async for _ in websocket:
        pass


@app.post("/broadcast")
async def broadcast(context):
    await manager.broadcast(context.raw_body.decode())
    return {"pid": os.getpid()}


@app.post("/burst")
async def burst(context):
    count, tag = int(context.query_params["n"]), context.query_params["tag"]
    for i in range(count):
        await manager.broadcast(f"u:{tag}:{i}")
    return {"pid": os.getpid()}


@app.get("/stats")
async def stats(context):
    return {"pid": os.getpid(), "count": manager.get_connection_count(),
            "local": len(manager.local_connections())}
'''

PYFRAME_TOML = '''
[server]
max_connections = 40000
backlog = 4096

[logging]
format = "json"
level = "warning"
access_log = false

[plugins.ws]
max_connections_per_ip = 0
presence_interval = 0.5
presence_ttl = 2.0
{backend}
'''

AIOHTTP_APP = '''
import asyncio, os, sys
from aiohttp import web

clients = set()


async def socket(request):
    ws = web.WebSocketResponse()
    await ws.prepare(request)
    clients.add(ws)
    try:
        await ws.send_str("hello")
        async for _ in ws:
            pass
    finally:
        clients.discard(ws)
    return ws


async def broadcast(request):
    text = await request.text()
    for ws in list(clients):
        await ws.send_str(text)
    return web.json_response({"pid": os.getpid()})


async def burst(request):
    count, tag = int(request.query["n"]), request.query["tag"]
    for i in range(count):
        message = f"u:{tag}:{i}"
        for ws in list(clients):
            await ws.send_str(message)
    return web.json_response({"pid": os.getpid()})


async def stats(request):
    return web.json_response({"pid": os.getpid(), "count": len(clients), "local": len(clients)})


try:
    import uvloop
    asyncio.set_event_loop_policy(uvloop.EventLoopPolicy())
except ImportError:
    pass
app = web.Application()
app.router.add_get("/ws", socket)
app.router.add_post("/broadcast", broadcast)
app.router.add_post("/burst", burst)
app.router.add_get("/stats", stats)
web.run_app(app, host="127.0.0.1", port=int(sys.argv[1]), access_log=None, backlog=4096,
            print=None)
'''


# -- the clients ---------------------------------------------------------------------------

class Arrivals:
    """When each awaited message reached each client (perf_counter seconds)."""

    def __init__(self) -> None:
        self.waiting: dict[bytes, list[float]] = {}
        self.expected = 0
        self.done: asyncio.Event = asyncio.Event()

    def expect(self, payload: bytes, clients: int) -> list[float]:
        self.waiting = {payload: []}
        self.expected = clients
        self.done = asyncio.Event()
        return self.waiting[payload]

    def seen(self, payload: bytes) -> None:
        times = self.waiting.get(payload)
        if times is not None:
            times.append(time.perf_counter())
            if len(times) >= self.expected:
                self.done.set()


class Client(asyncio.Protocol):
    """A WebSocket client over a bare socket: the handshake, unmasked server frames, pongs."""

    def __init__(self, port: int, arrivals: Arrivals) -> None:
        self.port = port
        self.arrivals = arrivals
        self.buffer = bytearray()
        self.upgraded = False
        self.greeted: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self.transport: asyncio.Transport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]
        key = base64.b64encode(os.urandom(16)).decode()
        transport.write(f"GET /ws HTTP/1.1\r\nHost: {HOST}:{self.port}\r\nUpgrade: websocket\r\n"  # type: ignore[attr-defined]
                        f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\n"
                        f"Sec-WebSocket-Version: 13\r\n\r\n".encode())

    def data_received(self, data: bytes) -> None:
        buffer = self.buffer
        buffer += data
        if not self.upgraded:
            end = buffer.find(b"\r\n\r\n")
            if end < 0:
                return
            if not buffer.startswith(b"HTTP/1.1 101"):
                self._fail(f"handshake refused: {bytes(buffer[:60])!r}")
                return
            del buffer[:end + 4]
            self.upgraded = True
        pos = 0
        while len(buffer) - pos >= 2:
            opcode, size = buffer[pos] & 0x0F, buffer[pos + 1] & 0x7F
            head = 2
            if size == 126:
                if len(buffer) - pos < 4:
                    break
                size, head = int.from_bytes(buffer[pos + 2:pos + 4], "big"), 4
            elif size == 127:
                if len(buffer) - pos < 10:
                    break
                size, head = int.from_bytes(buffer[pos + 2:pos + 10], "big"), 10
            if len(buffer) - pos < head + size:
                break
            payload = bytes(buffer[pos + head:pos + head + size])
            pos += head + size
            if opcode == 0x1:
                if payload == b"hello":
                    if not self.greeted.done():
                        self.greeted.set_result(None)
                else:
                    self.arrivals.seen(payload)
            elif opcode == 0x9:
                self._send(0xA, payload)
            elif opcode == 0x8:
                self._send(0x8, payload[:2])
                assert self.transport is not None
                self.transport.close()
        del buffer[:pos]

    def _send(self, opcode: int, payload: bytes) -> None:
        mask = os.urandom(4)
        body = bytes(b ^ mask[i % 4] for i, b in enumerate(payload))
        assert self.transport is not None
        self.transport.write(bytes([0x80 | opcode, 0x80 | len(payload)]) + mask + body)

    def _fail(self, reason: str) -> None:
        if not self.greeted.done():
            self.greeted.set_exception(ConnectionError(reason))
        if self.transport is not None:
            self.transport.close()

    def connection_lost(self, exc: Exception | None) -> None:
        self._fail("connection lost")

    def close(self) -> None:
        if self.transport is not None and not self.transport.is_closing():
            self._send(0x8, (1000).to_bytes(2, "big"))
            self.transport.close()


async def wait_count(port: int, expected: int) -> None:
    deadline = time.perf_counter() + DEADLINE
    while (await http_json(port, "GET", "/stats"))["count"] != expected:
        if time.perf_counter() > deadline:
            raise TimeoutError(f"the server never counted {expected} connections")
        await asyncio.sleep(0.1)  # a poll step, with the deadline above


# -- servers -------------------------------------------------------------------------------

class Served(AppServer):
    def __init__(self, name: str, workdir: Path, redis_url: str | None = None) -> None:
        super().__init__(name, workdir)
        if name == "aiohttp":
            self.write("app.py", AIOHTTP_APP)
            self.start(["taskset", "-c", "0", sys.executable, "app.py", str(self.port)])
        else:
            self.write("app.py", PYFRAME_APP)
            backend = f'backend = "{redis_url}"' if redis_url else ""
            self.write("pyframe.toml", PYFRAME_TOML.format(backend=backend))
            self.start(self.pyframe_command(redis_url), workers=2 if redis_url else 1)


async def measure(server: Served, args: argparse.Namespace) -> dict[str, Any]:
    arrivals = Arrivals()
    await server.ready()
    result: dict[str, Any] = {"server": server.name}
    warm = await connect_clients(server.port, 10, lambda: Client(server.port, arrivals))  # load the code paths first
    for client in warm:
        client.close()
    await wait_count(server.port, 0)
    before = server.rss()
    started = time.perf_counter()
    clients = await connect_clients(server.port, args.clients, lambda: Client(server.port, arrivals))
    result["connect_s"] = time.perf_counter() - started
    await wait_count(server.port, args.clients)
    result["rss_per_connection_kib"] = (server.rss() - before) / args.clients
    spread: dict[int, int] = {}
    for _ in range(10 * server.workers):
        answer = await http_json(server.port, "GET", "/stats")
        spread[answer["pid"]] = answer["local"]
    result["connections_by_pid"] = spread
    lasts = []
    cpu = tree_cpu_seconds(server.proc.pid)
    for trial in range(args.trials):
        payload = f"b:{trial}".encode()
        times = arrivals.expect(payload, args.clients)
        t0 = time.perf_counter()
        await http_json(server.port, "POST", "/broadcast", payload)
        await asyncio.wait_for(arrivals.done.wait(), DEADLINE)
        lasts.append(max(times) - t0)
    result["last_of_n_ms"] = [round(x * 1000, 1) for x in lasts]
    result["server_cpu_ms_per_broadcast_to_n"] = round(
        (tree_cpu_seconds(server.proc.pid) - cpu) / args.trials * 1000, 1)
    for client in clients:
        client.close()
    await wait_count(server.port, 0)

    clients = await connect_clients(server.port, args.fanout_clients,
                                    lambda: Client(server.port, arrivals))
    await wait_count(server.port, args.fanout_clients)
    rates = []
    cpu = tree_cpu_seconds(server.proc.pid)
    for trial in range(args.trials):
        last = f"u:{trial}:{args.fanout_messages - 1}".encode()
        times = arrivals.expect(last, args.fanout_clients)
        t0 = time.perf_counter()
        await http_json(server.port, "POST", f"/burst?n={args.fanout_messages}&tag={trial}")
        await asyncio.wait_for(arrivals.done.wait(), DEADLINE)
        rates.append(args.fanout_messages / (max(times) - t0))
    deliveries = args.trials * args.fanout_messages * args.fanout_clients
    result["server_cpu_us_per_delivery"] = round(
        (tree_cpu_seconds(server.proc.pid) - cpu) / deliveries * 1e6, 2)
    result["broadcasts_per_s"] = [round(r) for r in rates]
    result["deliveries_per_s"] = [round(r * args.fanout_clients) for r in rates]
    for client in clients:
        client.close()
    return result


def table(results: list[dict[str, Any]], args: argparse.Namespace) -> str:
    rows = [f"| server | RSS per idle connection KiB | connect {args.clients} s | last of "
            f"{args.clients} has a broadcast, median ms (min–max) | server CPU per broadcast "
            f"to {args.clients}, ms | broadcasts/s to {args.fanout_clients}, median | "
            f"deliveries/s, median | server CPU per delivery, µs |",
            "|---|---:|---:|---:|---:|---:|---:|---:|"]
    for r in results:
        lasts = r["last_of_n_ms"]
        rows.append(f"| {r['server']} | {r['rss_per_connection_kib']:.1f} | {r['connect_s']:.1f} "
                    f"| {statistics.median(lasts):.1f} ({min(lasts):.1f}–{max(lasts):.1f}) "
                    f"| {r['server_cpu_ms_per_broadcast_to_n']:.1f} "
                    f"| {statistics.median(r['broadcasts_per_s']):,.0f} "
                    f"| {statistics.median(r['deliveries_per_s']):,.0f} "
                    f"| {r['server_cpu_us_per_delivery']:.2f} |")
    return "\n".join(rows)


async def run(args: argparse.Namespace) -> list[dict[str, Any]]:
    return await measure_each(args.only.split(","), "pyframe-bench-ws-", Served,
                              lambda server: measure(server, args))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--clients", type=int, default=10_000)
    parser.add_argument("--trials", type=int, default=5)
    parser.add_argument("--fanout-clients", type=int, default=1000)
    parser.add_argument("--fanout-messages", type=int, default=200)
    parser.add_argument("--only", default="pyframe,pyframe_redis,aiohttp")
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    runner = prepare_client_process(args.clients)
    results = runner(run(args))
    print_report(table(results, args), results, args.json)


if __name__ == "__main__":
    main()
