"""Server-Sent Events fan-out: events per second to many open streams, and memory per stream.

    uv run --locked --all-packages python bench/sse.py [--clients 1000] [--events 200]
        [--trials 3] [--only pyframe,pyframe_redis] [--json FILE]

For each server, in one run: open ``--clients`` event streams (raw sockets from this process,
``GET /events``), read the server's RSS before and after (memory per open stream); time until
the *last* stream has one event (``--trials`` times); then a burst of ``--events`` events sent
one after another through ``SSEManager.send_event``: events per second and deliveries per
second until the last stream has the last event. Every stream must receive every event, in
order; a loss fails the run.

Servers: ``pyframe`` (one worker, the embedded backend, pinned to core 0 with the clients on
core 1) and ``pyframe_redis`` (``pyframe run --workers 2`` on a redis-server of the run's own on
a free port; the workers and Redis are not pinned). Keep-alives are off (``ping_interval = 0``).
Everything listens on 127.0.0.1; every wait has a deadline; servers get SIGTERM, then SIGKILL.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from benchlib import FANOUT_DEADLINE as DEADLINE  # noqa: E402
from benchlib import (HOST, AppServer, connect_clients, http_json, measure_each,  # noqa: E402
                      prepare_client_process, print_report)

APP = '''
import os
from pyframe import PyFrameApp
from pyframe.sse import SSEManager

app = PyFrameApp()
manager = SSEManager("bench")


@app.get("/events")
async def events(context):
    async def stream():
        yield {"event": "hello", "data": ""}
        async for event in manager.subscribe("all"):
            yield event

    return {"status": 200, "headers": {"Content-Type": "text/event-stream"}, "body": stream()}


@app.post("/burst")
async def burst(context):
    count, tag = int(context.query_params["n"]), context.query_params["tag"]
    for i in range(count):
        await manager.send_event("all", {"data": f"{tag}:{i}"})
    return {"pid": os.getpid()}


@app.get("/stats")
async def stats(context):
    return {"pid": os.getpid(), "count": manager.subscriber_count("all")}
'''

TOML = '''
[server]
max_connections = 40000
backlog = 4096

[logging]
format = "json"
level = "warning"
access_log = false

[plugins.sse]
ping_interval = 0
queue_size = 4096
{backend}
'''


# -- the clients ---------------------------------------------------------------------------

class Arrivals:
    """When each client saw the awaited event (perf_counter seconds)."""

    def __init__(self) -> None:
        self.marker = b""
        self.times: list[float] = []
        self.expected = 0
        self.done = asyncio.Event()

    def expect(self, marker: bytes, clients: int) -> list[float]:
        self.marker, self.times, self.expected = marker, [], clients
        self.done = asyncio.Event()
        return self.times

    def seen(self) -> None:
        self.times.append(time.perf_counter())
        if len(self.times) >= self.expected:
            self.done.set()


class Client(asyncio.Protocol):
    """An event stream over a bare socket; counts ``data:`` lines and spots the awaited one."""

    def __init__(self, arrivals: Arrivals) -> None:
        self.arrivals = arrivals
        self.tail = b""
        self.events = 0
        self.greeted: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self.transport: asyncio.Transport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]
        request = f"GET /events HTTP/1.1\r\nHost: {HOST}\r\n\r\n".encode()
        transport.write(request)  # type: ignore[attr-defined]

    def data_received(self, data: bytes) -> None:
        text = self.tail + data
        if not self.greeted.done():
            if b"event: hello" not in text:
                self.tail = text[-64:]
                return
            self.greeted.set_result(None)
            # From its data line on, with no LF before it: the greeting is not counted.
            text = text[text.index(b"event: hello") + len(b"event: hello\n"):]
        self.events += text.count(b"\ndata: ") - self.tail.count(b"\ndata: ")
        marker = self.arrivals.marker
        if marker and marker in text and marker not in self.tail:
            self.arrivals.seen()
        self.tail = text[-64:]

    def connection_lost(self, exc: Exception | None) -> None:
        if not self.greeted.done():
            self.greeted.set_exception(ConnectionError("connection lost"))

    def close(self) -> None:
        if self.transport is not None:
            self.transport.close()


async def subscribers(port: int, workers: int) -> int:
    """Subscribers summed over the workers (each answer says which worker it came from)."""
    seen: dict[int, int] = {}
    for _ in range(40):
        answer = await http_json(port, "GET", "/stats")
        seen[answer["pid"]] = answer["count"]
        if len(seen) >= workers:
            break
    return sum(seen.values())


async def wait_count(port: int, workers: int, expected: int) -> None:
    deadline = time.perf_counter() + DEADLINE
    while await subscribers(port, workers) != expected:
        if time.perf_counter() > deadline:
            raise TimeoutError(f"the server never counted {expected} subscribers")
        await asyncio.sleep(0.1)  # a poll step, with the deadline above


# -- servers -------------------------------------------------------------------------------

class Served(AppServer):
    def __init__(self, name: str, workdir: Path, redis_url: str | None = None) -> None:
        super().__init__(name, workdir)
        self.write("app.py", APP)
        backend = f'backend = "{redis_url}"' if redis_url else ""
        self.write("pyframe.toml", TOML.format(backend=backend))
        self.start(self.pyframe_command(redis_url), workers=2 if redis_url else 1)


async def measure(server: Served, args: argparse.Namespace) -> dict[str, Any]:
    arrivals = Arrivals()
    await server.ready()
    result: dict[str, Any] = {"server": server.name}
    warm = await connect_clients(server.port, 10, lambda: Client(arrivals))  # load the code paths first
    for client in warm:
        client.close()
    await wait_count(server.port, server.workers, 0)
    before = server.rss()
    started = time.perf_counter()
    clients = await connect_clients(server.port, args.clients, lambda: Client(arrivals))
    result["connect_s"] = time.perf_counter() - started
    await wait_count(server.port, server.workers, args.clients)
    result["rss_per_stream_kib"] = (server.rss() - before) / args.clients
    lasts, rates = [], []
    sent = 0
    for trial in range(args.trials):
        times = arrivals.expect(f"data: one:{trial}:0\n".encode(), args.clients)
        t0 = time.perf_counter()
        await http_json(server.port, "POST", f"/burst?n=1&tag=one:{trial}")
        await asyncio.wait_for(arrivals.done.wait(), DEADLINE)
        lasts.append(max(times) - t0)
        sent += 1
    for trial in range(args.trials):
        last = f"data: burst{trial}:{args.events - 1}\n".encode()
        times = arrivals.expect(last, args.clients)
        t0 = time.perf_counter()
        await http_json(server.port, "POST", f"/burst?n={args.events}&tag=burst{trial}")
        await asyncio.wait_for(arrivals.done.wait(), DEADLINE)
        rates.append(args.events / (max(times) - t0))
        sent += args.events
    lost = [c.events for c in clients if c.events != sent]
    if lost:
        raise RuntimeError(f"{len(lost)} streams missed events (expected {sent} each, "
                           f"got e.g. {lost[:5]})")
    result["last_of_n_ms"] = [round(x * 1000, 1) for x in lasts]
    result["events_per_s"] = [round(r) for r in rates]
    result["deliveries_per_s"] = [round(r * args.clients) for r in rates]
    for client in clients:
        client.close()
    return result


def table(results: list[dict[str, Any]], args: argparse.Namespace) -> str:
    rows = [f"| server | RSS per open stream KiB | open {args.clients} s | last of "
            f"{args.clients} has an event, median ms (min–max) | events/s to {args.clients}, "
            f"median (min–max) | deliveries/s, median |",
            "|---|---:|---:|---:|---:|---:|"]
    for r in results:
        lasts, rates = r["last_of_n_ms"], r["events_per_s"]
        rows.append(f"| {r['server']} | {r['rss_per_stream_kib']:.1f} | {r['connect_s']:.1f} "
                    f"| {statistics.median(lasts):.1f} ({min(lasts):.1f}–{max(lasts):.1f}) "
                    f"| {statistics.median(rates):,.0f} ({min(rates):,}–{max(rates):,}) "
                    f"| {statistics.median(r['deliveries_per_s']):,.0f} |")
    return "\n".join(rows)


async def run(args: argparse.Namespace) -> list[dict[str, Any]]:
    return await measure_each(args.only.split(","), "pyframe-bench-sse-", Served,
                              lambda server: measure(server, args))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--clients", type=int, default=1000)
    parser.add_argument("--events", type=int, default=200)
    parser.add_argument("--trials", type=int, default=3)
    parser.add_argument("--only", default="pyframe,pyframe_redis")
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    runner = prepare_client_process(args.clients)
    results = runner(run(args))
    print_report(table(results, args), results, args.json)


if __name__ == "__main__":
    main()
