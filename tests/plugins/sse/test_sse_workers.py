"""``pyframe run --workers 2`` with the Redis backend: streams open on both workers (each names
its pid), an event sent through either worker reaches every stream, a client that comes back
on the other worker is replayed what it missed, and SIGTERM ends the streams cleanly."""

from __future__ import annotations

import asyncio
import signal
import sys
import textwrap

import aiohttp
import pytest

from tests.backends.support import delete_prefix, unique_prefix
from tests.server.support import ServerProcess

from .support import DEADLINE, EventReader

pytestmark = pytest.mark.timeout(90)

APP = """
import os

from pyframe import PyFrameApp
from pyframe.sse import SSEManager

app = PyFrameApp()
sse_manager = SSEManager()


@app.get("/events")
async def events(context):
    channel = context.query_params.get("channel", "news")

    async def generator():
        yield {"event": "hello", "data": {"pid": os.getpid()}}
        async for event in sse_manager.subscribe(channel):
            yield event

    return {"status": 200, "headers": {"Content-Type": "text/event-stream"},
            "body": generator()}


@app.post("/send")
async def send(context):
    body = context.json
    if body["pid"] != os.getpid():  # meant for the other worker: send nothing
        return {"status": 409, "body": {"pid": os.getpid()}}
    event_id = await sse_manager.send_event(body["channel"], {"data": body["data"]})
    return {"pid": os.getpid(), "id": event_id}


@app.get("/count")
async def count(context):
    return {"pid": os.getpid(),
            "count": sse_manager.subscriber_count(context.query_params["channel"])}
"""


class Stream:
    """An open event stream and the pid of the worker serving it."""

    def __init__(self, resp: aiohttp.ClientResponse, reader: EventReader, pid: int) -> None:
        self.resp, self.reader, self.pid = resp, reader, pid


async def open_stream(session, url, channel, last_event_id=None) -> Stream:
    headers = {"Last-Event-ID": last_event_id} if last_event_id else {}
    resp = await session.get(f"{url}/events?channel={channel}", headers=headers)
    reader = EventReader(resp)
    hello = await reader.next()
    assert hello.event == "hello"
    return Stream(resp, reader, hello.json()["pid"])


async def stream_on(session, url, channel, pid, last_event_id=None) -> Stream:
    """A stream served by worker ``pid``: new connections until the kernel gives it one."""
    for _ in range(200):
        stream = await open_stream(session, url, channel, last_event_id)
        if stream.pid == pid:
            return stream
        stream.resp.close()
    raise AssertionError(f"no connection reached worker {pid}")


async def call_on(session, method, url, pid, **kwargs) -> dict:
    """A request answered by worker ``pid`` (each on a new connection)."""
    for _ in range(200):
        async with session.request(method, url, **kwargs) as resp:
            assert resp.status in (200, 409), await resp.text()
            answer = await resp.json()
        if answer["pid"] == pid:
            assert resp.status == 200
            return answer
    raise AssertionError(f"no request reached worker {pid}")


async def subscribed(session, url, channel, pids, count) -> None:
    """Wait until every worker in ``pids`` has ``count`` live subscribers of ``channel``."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + DEADLINE
    for pid in pids:
        while (await call_on(session, "GET", f"{url}/count?channel={channel}",
                             pid))["count"] != count:
            assert loop.time() < deadline, f"worker {pid} never had {count} subscribers"
            await asyncio.sleep(0.02)


async def test_two_workers_share_channels_and_replay(tmp_path, redis_url):
    prefix = unique_prefix()
    (tmp_path / "sseapp.py").write_text(textwrap.dedent(APP))
    (tmp_path / "pyframe.toml").write_text(textwrap.dedent(f"""
        [server]
        shutdown_timeout = 10

        [logging]
        format = "json"
        access_log = false

        [plugins.sse]
        backend = "{redis_url}?prefix={prefix}"
        ping_interval = 0
    """))
    server = await ServerProcess.command(tmp_path, sys.executable, "-m", "pyframe", "run",
                                         "sseapp:app", "--host", "127.0.0.1", "--port", "0",
                                         "--workers", "2")
    try:
        await server.wait_for("sse_started", count=2)
        await server.wait_for("server_listening", role="supervisor")
        url = await server.url()
        pids = sorted({event["pid"] for event in server.find("worker_started")})
        assert len(pids) == 2
        connector = aiohttp.TCPConnector(force_close=True)
        async with aiohttp.ClientSession(connector=connector) as session:
            streams = [await stream_on(session, url, "room", pid) for pid in pids]
            await subscribed(session, url, "room", pids, 1)
            sent = []
            for pid in pids:  # an event through each worker
                answer = await call_on(session, "POST", f"{url}/send", pid,
                                       json={"channel": "room", "data": f"via {pid}", "pid": pid})
                sent.append((f"via {pid}", answer["id"]))
            for stream in streams:
                events = await stream.reader.take(2)
                assert [(e.data, e.last_event_id) for e in events] == sent
            # The client on the first worker goes away, misses two events, and comes back
            # through the other worker with the id of the last event it had.
            gone = streams.pop(0)
            last = gone.reader.parser.last_event_id
            gone.resp.close()
            await subscribed(session, url, "room", pids[:1], 0)
            missed = []
            for pid in pids:
                answer = await call_on(session, "POST", f"{url}/send", pid,
                                       json={"channel": "room", "data": f"missed {pid}",
                                             "pid": pid})
                missed.append(answer["id"])
            back = await stream_on(session, url, "room", pids[1], last_event_id=last)
            replayed = await back.reader.take(2)
            assert [e.last_event_id for e in replayed] == missed
            assert [e.last_event_id for e in await streams[0].reader.take(2)] == missed
            # SIGTERM: the streams end cleanly (complete bodies) and the server exits 0.
            server.proc.send_signal(signal.SIGTERM)
            for stream in (back, *streams):
                assert await stream.reader.until_end(DEADLINE) == []
        assert await server.exit_code() == 0
    finally:
        await server.close()
        await delete_prefix(redis_url, prefix)
