"""The sse plugin on Redis: two apps with their own connections stand for two machines (an
event sent on one reaches streams on the other; replay works on either), and Redis going away
and coming back, on a redis-server of the test's own."""

from __future__ import annotations

import asyncio

import pytest
import redis.asyncio as redis

from pyframe.plugin import BackendUnavailable
from pyframe.testing import TestClient
from pyframe_sse import SSEManager
from pyframe_sse.hub import HUB
from pyframe_sse.wire import encode_entry, prepare_outgoing, topic_of
from tests.backends.support import delete_prefix, unique_prefix

from .support import DEADLINE, EventReader, sse_app, stream_route, wait_until

pytestmark = pytest.mark.timeout(60)


@pytest.fixture(autouse=True)
def _no_stray_config(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)


def machine(url):
    """An app of its own (its own connection pool and pub/sub connection) on ``url``."""
    app = sse_app(backend=url, ping_interval=0)
    manager = SSEManager(app=app)
    stream_route(app, manager)
    return app, manager


@pytest.fixture
async def shared_redis(redis_url):
    prefix = unique_prefix()
    yield f"{redis_url}?prefix={prefix}&timeout=2"
    await delete_prefix(redis_url, prefix)


async def test_events_cross_machines_and_replay_works_on_either(shared_redis):
    (app_a, on_a), (app_b, on_b) = machine(shared_redis), machine(shared_redis)
    async with TestClient(app_a) as a, TestClient(app_b) as b:
        resp = await a.get("/events?channel=room")
        await wait_until(lambda: on_a.subscriber_count("room") == 1, what="a subscriber on A")
        reader = EventReader(resp)
        first = await on_b.send_event("room", {"data": "from b"})
        second = await on_a.send_event("room", {"data": "from a"})
        events = await reader.take(2)
        assert [(e.data, e.last_event_id) for e in events] == [("from b", first),
                                                               ("from a", second)]
        resp.close()
        await wait_until(lambda: on_a.subscriber_count("room") == 0, what="the disconnect")
        missed = [await on_a.send_event("room", {"data": f"m{n}"}) for n in range(3)]
        # The client comes back through the other machine: the log is in Redis.
        resp = await b.get("/events?channel=room", headers={"Last-Event-ID": second})
        await wait_until(lambda: on_b.subscriber_count("room") == 1, what="a subscriber on B")
        live = await on_a.send_event("room", {"data": "live"})
        events = await EventReader(resp).take(4)
        assert [e.last_event_id for e in events] == missed + [live]
        resp.close()


async def test_wake_ups_lost_while_the_bus_was_down_are_caught_up(redis_server):
    server = redis_server()
    url = f"{server.url}?timeout=1&reconnect_min=0.05&reconnect_max=0.2"
    (app_a, on_a), (app_b, _) = machine(url), machine(url)
    async with TestClient(app_a) as a, TestClient(app_b):
        resp = await a.get("/events?channel=room")
        await wait_until(lambda: on_a.subscriber_count("room") == 1, what="a subscriber")
        reader = EventReader(resp)
        # An event lands in the log and its wake-up never reaches A (as when A's pub/sub
        # connection is down while B sends).
        entry = encode_entry(prepare_outgoing({"data": "sent while A was away"}))
        lost = await app_b.state[HUB].lease.log.append(topic_of("default", "room"), entry)
        client = redis.Redis.from_url(server.url)
        try:
            await client.client_kill_filter(_type="pubsub")
        finally:
            await client.aclose()
        # A's bus goes down and comes back; the channel reads the log after its position.
        event = await reader.next(DEADLINE)
        assert (event.data, event.last_event_id) == ("sent while A was away", lost)
        resp.close()


async def test_redis_stopping_and_coming_back(redis_server):
    server = redis_server()
    url = f"{server.url}?timeout=0.5&reconnect_min=0.05&reconnect_max=0.2"
    (app_a, on_a), (app_b, on_b) = machine(url), machine(url)
    async with TestClient(app_a) as a, TestClient(app_b):
        resp = await a.get("/events?channel=room")
        await wait_until(lambda: on_a.subscriber_count("room") == 1, what="a subscriber")
        reader = EventReader(resp)
        before = await on_b.send_event("room", {"data": "before"})
        assert (await reader.next()).last_event_id == before
        server.kill()
        # The sender is told; nobody receives an event the log does not have.
        with pytest.raises(BackendUnavailable):
            await on_b.send_event("room", {"data": "while down"})
        server.start()  # the same port, empty: the channel's log is gone
        after = None
        loop = asyncio.get_running_loop()
        deadline = loop.time() + DEADLINE
        while after is None:
            try:
                after = await on_b.send_event("room", {"data": "after"})
            except BackendUnavailable:
                assert loop.time() < deadline, "B never reached the restarted Redis"
                await asyncio.sleep(0.05)
        # The stream stayed open: it is told the log lost events (the restarted Redis has
        # no entry after its position, or a new stream that starts after it), then gets
        # the new one.
        notice, event = await reader.take(2)
        assert notice.event == "missed_events"
        assert notice.json() == {"reason": "expired", "last_event_id": before}
        assert (event.data, event.last_event_id) == ("after", after)
        resp.close()
