"""Redis going away is normal. Each test runs its own redis-server on a free port and kills,
pauses or restarts it; the backends must never hang, never lose local delivery, and come
back by themselves, saying so in the logs and the health counters."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable

import pytest
from structlog.testing import capture_logs

from pyframe.backends import BackendUnavailable, BusState, Subscription
from pyframe_redis import create

from .ops_for_tests import ECHO
from .support import eventually, free_port

# Fast retries so the tests are quick; the same code paths as the defaults.
FAST = "timeout=0.5&reconnect_min=0.02&reconnect_max=0.2&ping_interval=0.3"
pytestmark = pytest.mark.timeout(60)


def with_options(url: str, options: str = FAST) -> str:
    return f"{url}{'&' if '?' in url else '?'}{options}"


async def receive_until(sub: Subscription, done: Callable[[bytes], bool],
                        timeout: float = 10.0) -> list[bytes]:
    """Messages up to and including the first for which ``done`` is true."""
    seen: list[bytes] = []
    deadline = time.monotonic() + timeout
    while True:
        left = deadline - time.monotonic()
        if left <= 0:
            pytest.fail(f"no matching message within {timeout} s; last seen: {seen[-3:]}")
        try:
            data = await sub.get(timeout=left)
        except TimeoutError:
            continue
        seen.append(data)
        if done(data):
            return seen


class StateLog:
    """A state listener that records every change and lets a test wait for one."""

    def __init__(self) -> None:
        self.states: list[BusState] = []
        self._changed = asyncio.Event()

    def __call__(self, state: BusState) -> None:
        self.states.append(state)
        self._changed.set()

    async def wait_for(self, state: BusState, timeout: float = 10.0) -> None:
        async with asyncio.timeout(timeout):
            while not self.states or self.states[-1] is not state:
                self._changed.clear()
                await self._changed.wait()


async def publish_until_delivered(backend, topic: str, data: bytes,
                                  timeout: float = 10.0) -> None:
    """Publish until one publish succeeds (just after a restart the pool may still hold a
    connection to the old server), with a deadline."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            await backend.broker.publish(topic, data)
            return
        except BackendUnavailable:
            if time.monotonic() > deadline:
                raise
            await asyncio.sleep(0.02)  # a retry interval, with the deadline above


async def test_a_restart_under_traffic_is_survived(redis_server):
    server = redis_server()
    url = with_options(server.url)
    began = time.monotonic()
    with capture_logs() as logs:
        listener_side, publisher_side = create(url), create(url)
        await listener_side.open()
        await publisher_side.open()
        states = StateLog()
        listener_side.broker.add_state_listener(states)
        sub = listener_side.broker.subscribe("t")
        assert await sub.ready()
        subscribed_when_up: list[bool] = []

        def on_state(state: BusState) -> None:
            # UP comes only once Redis has confirmed the subscriptions again, so a plugin
            # that resyncs its clients then misses nothing published afterwards.
            if state is BusState.UP:
                subscribed_when_up.append(listener_side.broker.fanout._topics["t"]
                                          .confirmed.is_set())
        listener_side.broker.add_state_listener(on_state)

        stats = {"ok": 0, "failed": 0, "slowest": 0.0}
        stop = asyncio.Event()

        async def traffic() -> None:
            n = 0
            while not stop.is_set():
                n += 1
                started = time.monotonic()
                try:
                    await publisher_side.broker.publish("t", b"traffic %d" % n)
                    stats["ok"] += 1
                except BackendUnavailable:
                    stats["failed"] += 1
                stats["slowest"] = max(stats["slowest"], time.monotonic() - started)
                await asyncio.sleep(0.005)  # pacing the traffic, not waiting for anything

        sender = asyncio.create_task(traffic())
        try:
            await receive_until(sub, lambda m: m.startswith(b"traffic"))
            server.kill()
            await states.wait_for(BusState.DOWN)
            assert not listener_side.health().up

            # Down: a publish fails within its bound, and local delivery goes on.
            started = time.monotonic()
            with pytest.raises(BackendUnavailable):
                await listener_side.broker.publish("t", b"local while down")
            assert time.monotonic() - started < 1.5
            await receive_until(sub, lambda m: m == b"local while down")
            # The other publisher is refused too, each time within its bound.
            await eventually(lambda: _true(stats["failed"] >= 3), what="refused publishes")

            server.start()  # the same port
            await states.wait_for(BusState.UP)
            assert await sub.ready(5)
            await publish_until_delivered(publisher_side, "t", b"after the restart")
            await receive_until(sub, lambda m: m == b"after the restart")
            # ... and traffic flows again.
            count = stats["ok"]
            await receive_until(sub, lambda m: stats["ok"] > count + 5
                                and m.startswith(b"traffic"))
        finally:
            stop.set()
            await sender
        health = listener_side.health()
        assert health.up and health.reconnects >= 1 and health.last_error
        assert subscribed_when_up and all(subscribed_when_up)
        assert stats["slowest"] < 1.5  # no publish hung: 0.5 s timeout plus scheduling slack
        await listener_side.close()
        await publisher_side.close()
    assert states.states[0] is BusState.DOWN and states.states[-1] is BusState.UP
    events = [e["event"] for e in logs]
    assert "backend_down" in events
    reconnected = [e for e in logs if e["event"] == "backend_reconnected"]
    assert reconnected and reconnected[-1]["reconnects"] >= 1
    assert time.monotonic() - began < 30


async def test_unreachable_at_open_then_reachable(redis_server, tmp_path):
    port = free_port()
    url = with_options(f"redis://127.0.0.1:{port}/0")
    backend = create(url)
    with capture_logs() as logs:
        started = time.monotonic()
        await backend.open()  # does not raise: the backend starts down and keeps trying
        assert time.monotonic() - started < 1.5
        health = backend.health()
        assert not health.up and health.down_since is not None
        assert "Connect" in (health.last_error or "") or "refused" in (health.last_error or "")
        states = StateLog()
        backend.broker.add_state_listener(states)
        sub = backend.broker.subscribe("t")
        started = time.monotonic()
        assert await sub.ready(5) is False  # at once: nothing can confirm it while down
        assert time.monotonic() - started < 0.1
        with pytest.raises(BackendUnavailable, match="publish"):
            await backend.broker.publish("t", b"only local")
        assert await sub.get(timeout=1) == b"only local"
        with pytest.raises(BackendUnavailable):
            await backend.store.get("k")

        redis_server(port=port)
        await states.wait_for(BusState.UP)
        assert await sub.ready(5)
        assert await backend.store.run(ECHO, [], ["up"]) == [b"up"]
        await backend.close()
    assert any(e["event"] == "backend_connect_failed" for e in logs)
    assert any(e["event"] == "backend_connected" for e in logs)


async def test_a_silent_server_cannot_hang_anyone(redis_server):
    server = redis_server()
    backend = create(with_options(server.url))
    await backend.open()
    states = StateLog()
    backend.broker.add_state_listener(states)
    sub = backend.broker.subscribe("t")
    assert await sub.ready()
    server.pause()  # the sockets stay open, nothing answers
    try:
        with capture_logs() as logs:
            started = time.monotonic()
            with pytest.raises(BackendUnavailable, match="no answer within 0.5 s"):
                await backend.store.get("k")
            assert time.monotonic() - started < 1.5
            # The pub/sub connection's unanswered PING gives the silence away ...
            await states.wait_for(BusState.DOWN, timeout=5)
            # ... and from then on calls fail at once instead of each waiting its timeout.
            for call in (lambda: backend.broker.publish("t", b"x"),
                         lambda: backend.store.get("k"),
                         lambda: backend.log.append("s", b"x")):
                started = time.monotonic()
                with pytest.raises(BackendUnavailable, match="the backend is down"):
                    await call()
                assert time.monotonic() - started < 0.1
        down = [e for e in logs if e["event"] == "backend_down"]
        assert down and "no answer to PING" in down[0]["error"]
    finally:
        server.resume()
    await states.wait_for(BusState.UP)
    assert await sub.ready(5)
    await publish_until_delivered(backend, "t", b"back")
    assert (await receive_until(sub, lambda m: m == b"back"))[-1] == b"back"
    assert backend.health().reconnects >= 1
    await backend.close()


async def test_a_crash_in_the_subscriber_loop_is_logged_and_the_loop_restarts(redis_server):
    server = redis_server()
    url = with_options(server.url)
    backend, other = create(url), create(url)
    await backend.open()
    await other.open()
    sub = backend.broker.subscribe("t")
    assert await sub.ready()
    bridge = backend.broker.bridge
    real_handle = bridge._handle
    crashed = {"done": False}

    def faulty_handle(reply):
        if not crashed["done"] and isinstance(reply, list) and reply[0] == b"message":
            crashed["done"] = True
            raise RuntimeError("injected bug in the subscriber loop")
        real_handle(reply)

    bridge._handle = faulty_handle
    with capture_logs() as logs:
        await other.broker.publish("t", b"this one triggers the bug")
        await eventually(lambda: _true(crashed["done"]), what="the injected crash")
        await eventually(lambda: _true(backend.health().reconnects >= 1),
                         what="the restarted loop reconnecting")
        assert await sub.ready(5)
        await publish_until_delivered(other, "t", b"after the crash")
        await receive_until(sub, lambda m: m == b"after the crash")
    crash_logs = [e for e in logs if e["event"] == "backend_task_crashed"]
    assert len(crash_logs) == 1 and crash_logs[0]["task"] == "redis-pubsub"
    assert crash_logs[0].get("exc_info")
    assert backend.health().counters["pubsub_crashes"] == 1
    await backend.close()
    await other.close()


async def _true(value: bool) -> bool:
    return value


async def test_scripts_are_reloaded_after_noscript(redis_server):
    import redis.asyncio as redis

    server = redis_server()
    backend = create(with_options(server.url))
    await backend.open()
    assert await backend.store.run(ECHO, [], ["a"]) == [b"a"]
    assert backend.store.script_loads == 1
    assert await backend.store.run(ECHO, [], ["b"]) == [b"b"]
    assert backend.store.script_loads == 1  # loaded once, then called by SHA1
    client = redis.Redis.from_url(server.url)
    await client.script_flush()  # as after a restart or a failover
    await client.aclose()
    assert await backend.store.run(ECHO, [], ["c"]) == [b"c"]
    assert backend.store.script_loads == 2
    await backend.close()


async def test_a_password_is_used_but_never_shown(redis_server):
    server = redis_server(extra=("--requirepass", "s3cret-pw"))
    good = create(with_options(server.url.replace("redis://", "redis://:s3cret-pw@")))
    bad = create(with_options(server.url.replace("redis://", "redis://:wrong-pw@")))
    with capture_logs() as logs:
        await good.open()
        await bad.open()
        assert good.health().up and "***" in good.health().url
        assert await good.store.incr("n") == 1
        assert not bad.health().up
        with pytest.raises(BackendUnavailable) as caught:
            await bad.store.get("n")
        await good.close()
        await bad.close()
    shown = repr(logs) + str(caught.value) + repr(bad.health()) + repr(good.health())
    assert "s3cret-pw" not in shown and "wrong-pw" not in shown
    assert "WRONGPASS" in (bad.health().last_error or "") or "invalid" in shown.lower()
