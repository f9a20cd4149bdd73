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
import json
import os
import platform
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from benchlib import (cpu_model, descendants, free_port, measure_each,  # noqa: E402
                      prepare_client_process, rss_kib, terminate)

HOST = "127.0.0.1"
DEADLINE = 120.0  # seconds for any one phase

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


async def connect_clients(port: int, count: int, arrivals: Arrivals) -> list[Client]:
    loop = asyncio.get_running_loop()
    clients: list[Client] = []
    batch = 250  # in flight at once: under the listen backlog
    async with asyncio.timeout(DEADLINE):
        for start in range(0, count, batch):
            made = await asyncio.gather(*(
                loop.create_connection(lambda: Client(arrivals), HOST, port)
                for _ in range(min(batch, count - start))))
            fresh = [protocol for _, protocol in made]
            await asyncio.gather(*(c.greeted for c in fresh))
            clients += fresh
    return clients


async def http(port: int, method: str, path: str) -> dict[str, Any]:
    reader, writer = await asyncio.open_connection(HOST, port)
    try:
        writer.write(f"{method} {path} HTTP/1.1\r\nHost: {HOST}\r\nContent-Length: 0\r\n"
                     f"Connection: close\r\n\r\n".encode())
        raw = await asyncio.wait_for(reader.read(), DEADLINE)
    finally:
        writer.close()
    head, _, payload = raw.partition(b"\r\n\r\n")
    if b" 200 " not in head.split(b"\r\n")[0]:
        raise RuntimeError(f"{method} {path}: {head[:80]!r}")
    return json.loads(payload)


async def subscribers(port: int, workers: int) -> int:
    """Subscribers summed over the workers (each answer says which worker it came from)."""
    seen: dict[int, int] = {}
    for _ in range(40):
        answer = await http(port, "GET", "/stats")
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

class Served:
    def __init__(self, name: str, workdir: Path, redis_url: str | None = None) -> None:
        self.name = name
        self.port = free_port()
        self.workdir = workdir / name
        self.workdir.mkdir()
        (self.workdir / "app.py").write_text(APP)
        backend = f'backend = "{redis_url}"' if redis_url else ""
        (self.workdir / "pyframe.toml").write_text(TOML.format(backend=backend))
        argv = [sys.executable, "-m", "pyframe", "run", "app:app", "--host", HOST,
                "--port", str(self.port)]
        argv = (argv + ["--workers", "2"]) if redis_url else ["taskset", "-c", "0", *argv]
        env = {k: v for k, v in os.environ.items() if not k.startswith("PYFRAME_")}
        self.proc = subprocess.Popen(argv, cwd=self.workdir, env=env, stdin=subprocess.DEVNULL,
                                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        self.workers = 2 if redis_url else 1

    async def ready(self) -> None:
        deadline = time.perf_counter() + 60
        while True:
            if self.proc.poll() is not None:
                raise RuntimeError(f"{self.name} exited with {self.proc.returncode}")
            try:
                pids = {(await http(self.port, "GET", "/stats"))["pid"] for _ in range(8)}
                if len(pids) >= self.workers:
                    return
            except OSError:
                pass
            if time.perf_counter() > deadline:
                raise TimeoutError(f"{self.name} did not answer")
            await asyncio.sleep(0.05)  # a poll step, with the deadline above

    def rss(self) -> int:
        return rss_kib(descendants(self.proc.pid))

    def stop(self) -> None:
        terminate(self.proc)


async def measure(server: Served, args: argparse.Namespace) -> dict[str, Any]:
    arrivals = Arrivals()
    await server.ready()
    result: dict[str, Any] = {"server": server.name}
    warm = await connect_clients(server.port, 10, arrivals)  # load the code paths first
    for client in warm:
        client.close()
    await wait_count(server.port, server.workers, 0)
    before = server.rss()
    started = time.perf_counter()
    clients = await connect_clients(server.port, args.clients, arrivals)
    result["connect_s"] = time.perf_counter() - started
    await wait_count(server.port, server.workers, args.clients)
    result["rss_per_stream_kib"] = (server.rss() - before) / args.clients
    lasts, rates = [], []
    sent = 0
    for trial in range(args.trials):
        times = arrivals.expect(f"data: one:{trial}:0\n".encode(), args.clients)
        t0 = time.perf_counter()
        await http(server.port, "POST", f"/burst?n=1&tag=one:{trial}")
        await asyncio.wait_for(arrivals.done.wait(), DEADLINE)
        lasts.append(max(times) - t0)
        sent += 1
    for trial in range(args.trials):
        last = f"data: burst{trial}:{args.events - 1}\n".encode()
        times = arrivals.expect(last, args.clients)
        t0 = time.perf_counter()
        await http(server.port, "POST", f"/burst?n={args.events}&tag=burst{trial}")
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
    print(f"\nMachine: {cpu_model()}, {os.cpu_count()} cores, Python "
          f"{platform.python_version()}, {time.strftime('%Y-%m-%d %H:%M')}\n")
    print(table(results, args))
    if args.json:
        args.json.write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
