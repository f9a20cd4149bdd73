"""examples/multi-instance, run as a user runs it: `run.py` starts a Redis of its own, two
`pyframe run` instances and nginx in front of them. Through nginx, clients land on both
instances; broadcasts, group messages and SSE events reach all of them; the rate limit is one
limit for both, keyed by the address nginx saw; then one instance is killed, and its clients
come back on the other without missing anything while the counts forget the dead one."""

from __future__ import annotations

import asyncio
import importlib.util
import json
import os
import shutil
import signal
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed

from pyframe_sse import EventStreamParser, ReceivedEvent

pytestmark = pytest.mark.timeout(150)

EXAMPLE = Path(__file__).parents[2] / "examples" / "multi-instance"
DEADLINE = 15.0  # seconds for anything to happen; generous for a loaded 2-core machine
# A short presence lease for the test (the example's own is 5 s).
PRESENCE_INTERVAL, PRESENCE_TTL = 0.25, 1.0
CHAT_TICK = 1.0  # examples/chat pushes the counts to every tab this often
API_LIMIT, API_REFILL = 5, 12.0  # pyframe.toml: /api/ping allows "5/minute"
SPOOFED = "203.0.113.9"  # what a client claims to be in its own X-Forwarded-For
OTHER_CLIENT = "127.0.0.3"  # a second real client: the test binds its sockets there
PROXY = "127.0.0.2"  # nginx's address toward the instances (run.py's proxy_bind)


def _tool(name: str, fallback: str, package: str) -> None:
    if shutil.which(name) or os.access(fallback, os.X_OK):
        return
    if os.environ.get("CI") == "true":
        pytest.fail(f"{name} is not installed and CI=true: .ci/run installs it")
    pytest.skip(f"{name} is not installed (Debian package {package}): the multi-instance "
                f"example runs behind it")


async def wait_for(check: Any, what: str, timeout: float = DEADLINE) -> Any:
    """Poll ``check()`` (a function, or a coroutine function) until it is truthy; fail after
    ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if asyncio.iscoroutine(value):
            value = await value
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"{what} did not happen within {timeout:g} s")
        await asyncio.sleep(0.02)


class Cluster:
    """`run.py up`, its state.json, and stopping it with SIGTERM as Ctrl-C would."""

    def __init__(self, proc: asyncio.subprocess.Process, state: dict[str, Any]) -> None:
        self.proc, self.state = proc, state
        self.url = state["url"]
        self.port = state["processes"]["nginx"]["port"]
        self.origin = self.url.rstrip("/")

    def pid(self, name: str) -> int:
        return self.state["processes"][name]["pid"]

    def direct(self, name: str, path: str) -> str:
        """The URL of ``path`` on instance ``name`` itself, bypassing nginx."""
        return f"{self.state['processes'][name]['url']}{path}"

    def logs(self) -> str:
        parts = []
        for name, process in self.state["processes"].items():
            text = Path(process["log"]).read_text(errors="replace").splitlines()[-15:]
            parts.append(f"--- {name}\n" + "\n".join(text))
        return "\n".join(parts)

    async def stop(self) -> str:
        if self.proc.returncode is None:
            self.proc.send_signal(signal.SIGTERM)
        out, _ = await asyncio.wait_for(self.proc.communicate(), 90)
        return out.decode()


@pytest.fixture
async def cluster(tmp_path):
    _tool("nginx", "/usr/sbin/nginx", "nginx")
    _tool("redis-server", "/usr/bin/redis-server", "redis-server")
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYFRAME_")}
    env.update(PYFRAME_PLUGINS__WS__PRESENCE_INTERVAL=str(PRESENCE_INTERVAL),
               PYFRAME_PLUGINS__WS__PRESENCE_TTL=str(PRESENCE_TTL))
    state_dir = tmp_path / "state"
    proc = await asyncio.create_subprocess_exec(
        sys.executable, str(EXAMPLE / "run.py"), "up", "--state", str(state_dir), "--keep",
        env=env, stdin=asyncio.subprocess.DEVNULL, stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT)
    try:
        async with asyncio.timeout(90):
            seen = b""
            while b"Ctrl-C stops everything" not in seen:
                line = await proc.stdout.readline()
                assert line, f"run.py exited before it was ready:\n{seen.decode()}"
                seen += line
        running = Cluster(proc, json.loads((state_dir / "state.json").read_text()))
        yield running
        print(running.logs())  # shown when the test failed
    finally:
        if proc.returncode is None:
            proc.send_signal(signal.SIGTERM)
            try:
                await asyncio.wait_for(proc.communicate(), 90)
            except TimeoutError:
                proc.kill()
                await proc.wait()
                _kill_what_it_started(state_dir)


def _kill_what_it_started(state_dir: Path) -> None:
    """run.py hung: SIGKILL the processes its state.json lists (each checked to be the very
    process it started, with the example's own helper)."""
    state_file = state_dir / "state.json"
    if not state_file.exists():
        return
    spec = importlib.util.spec_from_file_location("multi_instance_processes",
                                                  EXAMPLE / "processes.py")
    processes = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(processes)
    listed = json.loads(state_file.read_text())["processes"].values()
    processes.stop([(p["pid"], p["started"], signal.SIGKILL, 10.0) for p in listed])


class ChatClient:
    """A chat tab as a plain WebSocket client, every message it got kept in order."""

    def __init__(self, ws: ClientConnection, hello: dict[str, Any]) -> None:
        self.ws, self.instance = ws, hello["instance"]
        self.messages: list[dict[str, Any]] = []
        self.reader = asyncio.ensure_future(self._read())

    @classmethod
    async def open(cls, cluster: Cluster, name: str) -> ChatClient:
        # The Origin a browser on nginx's page sends: nginx must pass the Host it came with.
        ws = await connect(f"ws://127.0.0.1:{cluster.port}/ws/chat?name={name}",
                           origin=cluster.origin, proxy=None, open_timeout=DEADLINE)
        hello = json.loads(await asyncio.wait_for(ws.recv(), DEADLINE))
        assert hello["type"] == "hello" and hello["name"] == name
        return cls(ws, hello)

    async def _read(self) -> None:
        try:
            async for raw in self.ws:
                self.messages.append(json.loads(raw))
        except ConnectionClosed:
            pass

    @property
    def closed(self) -> bool:
        return self.reader.done()

    async def expect(self, kind: str, since: int = 0, **fields: Any) -> dict[str, Any]:
        """The first message of ``kind`` with ``fields`` from index ``since`` on."""
        def found():
            return next((m for m in self.messages[since:] if m["type"] == kind
                         and all(m.get(k) == v for k, v in fields.items())), None)
        return await wait_for(found, f"{kind} {fields} on a client of {self.instance}")

    async def join(self, room: str) -> None:
        await self.ws.send(json.dumps({"type": "join", "room": room}))
        await self.expect("joined", room=room)

    async def say(self, text: str) -> None:
        await self.ws.send(json.dumps({"type": "say", "text": text}))

    async def close(self) -> None:
        await self.ws.close()
        await self.reader


class EventStream:
    """An event stream through nginx, parsed as it arrives; ``cut`` once the body broke off."""

    def __init__(self, resp: aiohttp.ClientResponse) -> None:
        self.resp = resp
        self.parser = EventStreamParser()
        self.events: list[ReceivedEvent] = []
        self.cut = False
        self.instance = ""  # from the stream's hello
        self.reader = asyncio.ensure_future(self._read())

    @classmethod
    async def open(cls, session: aiohttp.ClientSession, cluster: Cluster,
                   last_event_id: str | None = None) -> EventStream:
        headers = {"Last-Event-ID": last_event_id} if last_event_id else {}
        resp = await session.get(f"{cluster.url}events", headers=headers)
        assert resp.status == 200 and resp.headers["Content-Type"].startswith("text/event-stream")
        stream = cls(resp)
        hello = await wait_for(lambda: stream.events, "the stream's hello")
        assert hello[0].event == "hello"
        stream.instance = hello.pop(0).json()["instance"]
        return stream

    async def _read(self) -> None:
        try:
            async for chunk in self.resp.content.iter_any():
                self.events.extend(self.parser.feed(chunk))
        except (aiohttp.ClientPayloadError, aiohttp.ClientConnectionError):
            pass
        self.cut = True

    async def take(self, count: int) -> list[ReceivedEvent]:
        await wait_for(lambda: len(self.events) >= count,
                       f"{count} events on the stream from {self.instance}")
        return self.events[:count]

    async def close(self) -> None:
        self.resp.close()
        self.reader.cancel()
        await asyncio.gather(self.reader, return_exceptions=True)


async def notify(session: aiohttp.ClientSession, cluster: Cluster, text: str) -> dict:
    async with session.post(f"{cluster.url}notify", json={"text": text}) as resp:
        assert resp.status == 201, await resp.text()
        return await resp.json()


async def ping(session: aiohttp.ClientSession, url: str,
               headers: dict[str, str] | None = None) -> tuple[int, str]:
    async with session.get(url, headers=headers or {}) as resp:
        if resp.status == 429:
            assert int(resp.headers["Retry-After"]) >= 1
            assert (await resp.json())["violated-policies"] == ["api"]
        return resp.status, resp.headers.get("X-Upstream", "")


async def check_rate_limit(cluster: Cluster) -> None:
    """One bucket per real client for both instances, whatever the client claims."""
    ports = {f"127.0.0.1:{cluster.state['processes'][n]['port']}" for n in ("a", "b")}
    api = f"{cluster.url}api/ping"
    async with aiohttp.ClientSession() as session:
        began = time.monotonic()
        answers = [await ping(session, api) for _ in range(2 * API_LIMIT)]
        assert time.monotonic() - began < API_REFILL, "too slow to see one bucket's burst"
        admitted = [upstream for status, upstream in answers if status == 200]
        refused = [upstream for status, upstream in answers if status == 429]
        # Both instances admitted some and refused some, and together they admitted the
        # limit once: one bucket, not one per instance.
        assert len(admitted) == API_LIMIT and len(refused) == API_LIMIT, answers
        assert set(admitted) == ports and set(refused) == ports, answers
        # What the client writes in X-Forwarded-For is kept by nginx, seen by the instance,
        # and not believed: the bucket is still the real client's, and empty.
        for _ in range(2):
            assert (await ping(session, api, {"X-Forwarded-For": SPOOFED}))[0] == 429
        async with session.get(f"{cluster.url}instance",
                               headers={"X-Forwarded-For": SPOOFED}) as resp:
            seen = await resp.json()
        assert seen["peer"] == PROXY and seen["forwarded_for"] == f"{SPOOFED}, 127.0.0.1"
        # Straight to an instance, the header is not read at all: that peer is no proxy.
        status, _ = await ping(session, cluster.direct("a", "/api/ping"),
                               {"X-Forwarded-For": SPOOFED})
        assert status == 429
    # Another real client, as nginx saw it, has a bucket of its own.
    connector = aiohttp.TCPConnector(local_addr=(OTHER_CLIENT, 0))
    async with aiohttp.ClientSession(connector=connector) as other:
        assert (await ping(other, api))[0] == 200
        async with other.get(f"{cluster.url}instance") as resp:
            assert (await resp.json())["forwarded_for"] == OTHER_CLIENT


async def everyone_gets(clients: list[ChatClient], kind: str, **fields: Any) -> None:
    await asyncio.gather(*(client.expect(kind, **fields) for client in clients))


async def test_two_instances_behind_nginx_share_everything_and_survive_a_crash(cluster):
    # Before any long-lived connection exists, so nginx alternates between the instances.
    await check_rate_limit(cluster)

    # Tabs land on both instances: nginx sends each to the one with fewer open connections.
    names = ["ada", "bob", "cyd", "dee"]
    clients = [await ChatClient.open(cluster, name) for name in names]
    assert Counter(c.instance for c in clients) == {"a": 2, "b": 2}
    for client in clients:
        await client.join("lobby")
    # The counts every tab hears cover both instances.
    await everyone_gets(clients, "presence", online=4, room="lobby", in_room=4)
    on_a = [c for c in clients if c.instance == "a"]
    on_b = [c for c in clients if c.instance == "b"]

    async with aiohttp.ClientSession() as session:
        streams = [await EventStream.open(session, cluster) for _ in range(2)]
        assert {s.instance for s in streams} == {"a", "b"}

        async def following(name: str) -> bool:
            # A stream's hello comes before it joins the feed: wait until it has.
            async with session.get(cluster.direct(name, "/instance")) as resp:
                return (await resp.json())["streams"] == 1
        for name in ("a", "b"):
            await wait_for(lambda: following(name), f"a stream on {name} following the feed")

        # A group message from each instance, a broadcast and an SSE event reach everyone.
        for sender in (on_a[0], on_b[0]):
            await sender.say(f"hello from {sender.instance}")
            await everyone_gets(clients, "message", room="lobby",
                                text=f"hello from {sender.instance}", instance=sender.instance)
        async with session.post(f"{cluster.url}announce", json={"text": "maintenance"}) as r:
            assert r.status == 202
        await everyone_gets(clients, "announcement", text="maintenance")
        first = await notify(session, cluster, "one")
        for stream in streams:
            assert [(e.event, e.json()["text"], e.last_event_id)
                    for e in await stream.take(1)] == [("notification", "one", first["id"])]

        # Instance a dies without a word (SIGKILL): its tabs and its stream are cut.
        marks = [len(c.messages) for c in on_b]
        os.kill(cluster.pid("a"), signal.SIGKILL)
        killed = time.monotonic()
        gone = next(s for s in streams if s.instance == "a")
        kept = next(s for s in streams if s.instance == "b")
        await wait_for(lambda: all(c.closed for c in on_a) and gone.cut,
                       "a's WebSockets and event stream closed")
        # Within the presence lease, b stops counting a's two connections.
        await asyncio.gather(*(c.expect("presence", since=m, online=2, in_room=2)
                               for c, m in zip(on_b, marks)))
        forgot = time.monotonic() - killed
        # Its last record lived PRESENCE_TTL; b rewrites (and rereads) every PRESENCE_INTERVAL
        # and the chat tells the tabs every CHAT_TICK; 1.5 s for a loaded machine.
        assert forgot < PRESENCE_TTL + PRESENCE_INTERVAL + CHAT_TICK + 1.5, forgot
        async with session.get(cluster.direct("b", "/instance")) as resp:
            assert (await resp.json())["online"] == 2

        # Events sent while a's client is away go through b (nginx skips the dead one).
        missed = [await notify(session, cluster, text) for text in ("two", "three")]
        assert {m["instance"] for m in missed} == {"b"}
        # The client comes back with the last id it had, lands on b and misses nothing.
        last = gone.parser.last_event_id
        assert last == first["id"]
        back = await EventStream.open(session, cluster, last_event_id=last)
        assert back.instance == "b"
        live = await notify(session, cluster, "four")
        expected = [("notification", m["id"], t)
                    for m, t in zip([*missed, live], ["two", "three", "four"])]
        # In order, each once, and no missed_events notice: the log had them all.
        assert [(e.event, e.last_event_id, e.json()["text"])
                for e in await back.take(3)] == expected
        assert [(e.event, e.last_event_id, e.json()["text"])
                for e in (await kept.take(4))[1:]] == expected
        for stream in (back, kept, gone):
            await stream.close()

    # a's tabs reconnect through nginx and land on b; everyone is counted and reached again.
    returned = [await ChatClient.open(cluster, name) for name in ("ada2", "cyd2")]
    assert {c.instance for c in returned} == {"b"}
    for client in returned:
        await client.join("lobby")
    everyone = on_b + returned
    await everyone_gets(everyone, "presence", online=4, room="lobby", in_room=4)
    await returned[0].say("back on b")
    await everyone_gets(everyone, "message", text="back on b", instance="b")
    for client in everyone:
        await client.close()

    # Ctrl-C's signal stops what is left; a was already gone.
    output = await cluster.stop()
    assert cluster.proc.returncode == 0, output
    assert f"a (pid {cluster.pid('a')}): gone" in output, output
    for name in ("b", "nginx", "redis"):
        assert f"{name} (pid {cluster.pid(name)}): stopped in" in output, output


def _text(element_id: str) -> str:
    return f"document.getElementById({element_id!r}).textContent"


async def test_the_chat_page_comes_back_through_nginx_by_itself(browser, cluster):
    """The chat page in two Chromium tabs through nginx, one on each instance (least_conn);
    the instance under one tab is killed and the page's own reconnecting brings it back."""
    tabs = []
    for name in ("eve", "fay"):
        tab = await browser.open(cluster.url)
        await tab.wait_for(f"{_text('status')} === 'connected'", what=f"{name} connected")
        await tab.evaluate(f"""(() => {{
            document.getElementById('name').value = {name!r};
            document.querySelector('#join button').click(); }})()""")
        await tab.wait_for(f"{_text('room-name')} === 'general'", what=f"{name} in general")
        tabs.append(tab)
    for tab in tabs:
        await tab.wait_for(f"{_text('online')} === '2'", what="both tabs counted")
        # The page's own socket, to tell later whether it had to open another.
        await tab.evaluate("window.firstSocket = chat.socket")

    os.kill(cluster.pid("a"), signal.SIGKILL)
    # The tab that was on a opens a new socket through nginx (to b) by itself ...
    moved = "chat.socket !== window.firstSocket && chat.socket.readyState === 1"
    deadline = time.monotonic() + DEADLINE
    while not (movers := [tab for tab in tabs if await tab.evaluate(moved)]):
        assert time.monotonic() < deadline, "no tab reconnected"
        await asyncio.sleep(0.05)
    assert len(movers) == 1
    # ... rejoins its room, and the counts settle on the two tabs there are.
    for tab in tabs:
        await tab.wait_for(f"{_text('status')} === 'connected' && {_text('room-name')} === "
                           f"'general' && {_text('online')} === '2' && {_text('in-room')} === "
                           f"'2'", what="the tab connected again")
    assert [await tab.evaluate("chat.socket === window.firstSocket") for tab in tabs] == \
        [tab is not movers[0] for tab in tabs]
    await movers[0].evaluate("""(() => {
        document.getElementById('text').value = 'still here';
        document.querySelector('#say button').click(); })()""")
    async with aiohttp.ClientSession() as session:
        async with session.post(f"{cluster.url}announce", json={"text": "to all tabs"}) as r:
            assert r.status == 202
    for tab in tabs:  # each line of the log is the sender's name, then the text
        for line, what in (("still here", "the message"),
                           ("announcementto all tabs", "the announcement")):
            await tab.wait_for("[...document.querySelectorAll('#log li')].some("
                               f"li => li.textContent.endsWith({line!r}))", what=what)


async def test_an_instance_refuses_to_start_without_redis(tmp_path):
    """One instance on memory:// would quietly keep state the others never see."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYFRAME_")}
    # Named but never reached: the check comes before any backend is opened.
    env.update(PYFRAME_PLUGINS__WS__BACKEND="redis://127.0.0.1:1/0",
               PYFRAME_PLUGINS__SSE__BACKEND="redis://127.0.0.1:1/0")
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "pyframe", "run", "app:app", "--port", "0", cwd=EXAMPLE,
        env=env, stdin=asyncio.subprocess.DEVNULL, stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE)
    out, err = await asyncio.wait_for(proc.communicate(), 60)
    assert proc.returncode == 2, (out, err)
    assert ("this example shares its state through Redis: set "
            "PYFRAME_PLUGINS__RATELIMIT__BACKEND to a redis://") in err.decode()
