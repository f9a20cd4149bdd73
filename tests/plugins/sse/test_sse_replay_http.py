"""Replay over real HTTP: a client reconnecting with Last-Event-ID gets what it missed from the
channel's log, then live events, each once; a gap it cannot be given is announced."""

from __future__ import annotations

import asyncio

import pytest

from pyframe.testing import TestClient
from pyframe_sse import SSEManager
from pyframe_sse.hub import HUB
from pyframe_sse.wire import encode_entry, prepare_outgoing, topic_of

from .support import EventReader, sse_app, stream_route, wait_until


@pytest.fixture(autouse=True)
def _no_stray_config(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)


def served(**options):
    app = sse_app(ping_interval=0, **options)
    manager = SSEManager()
    stream_route(app, manager)
    return app, manager


async def connected(client, manager, channel="news", last_event_id=None, count=1):
    headers = {"Last-Event-ID": last_event_id} if last_event_id is not None else {}
    resp = await client.get(f"/events?channel={channel}", headers=headers)
    await wait_until(lambda: manager.subscriber_count(channel) >= count, what="a subscriber")
    return resp, EventReader(resp)


async def test_a_reconnect_resumes_exactly_after_its_last_event_id():
    app, manager = served()
    async with TestClient(app) as client:
        resp, reader = await connected(client, manager)
        sent = [await manager.send_event("news", {"data": f"e{n}"}) for n in range(3)]
        events = await reader.take(3)
        last = reader.parser.last_event_id  # what a browser would send on reconnecting
        assert last == sent[-1] and [e.data for e in events] == ["e0", "e1", "e2"]
        resp.close()
        await wait_until(lambda: manager.subscriber_count("news") == 0, what="the disconnect")
        missed = [await manager.send_event("news", {"data": f"e{n}"}) for n in range(3, 6)]
        resp, reader = await connected(client, manager, last_event_id=last)
        live = await manager.send_event("news", {"data": "e6"})
        events = await reader.take(4)
        assert [e.last_event_id for e in events] == missed + [live]
        assert [e.data for e in events] == ["e3", "e4", "e5", "e6"]
        resp.close()


async def test_a_long_replay_racing_live_events_has_no_gap_and_no_duplicate():
    app, manager = served(history_size=5000)
    async with TestClient(app) as client:
        start = await manager.send_event("news", {"data": "seen"})
        backlog = [await manager.send_event("news", {"data": str(n)}) for n in range(1500)]
        resp, reader = await connected(client, manager, last_event_id=start)

        async def live():
            return [await manager.send_event("news", {"data": f"live{n}"}) for n in range(50)]

        sender = asyncio.ensure_future(live())  # sent while the replay (two pages) is read
        events = await reader.take(1550)
        ids = [e.last_event_id for e in events]
        assert ids == backlog + await sender
        assert ids == sorted(set(ids))
        resp.close()


async def test_an_id_older_than_the_log_holds_gets_missed_events_first():
    app, manager = served(history_size=3)
    async with TestClient(app) as client:
        first = await manager.send_event("news", {"data": "old"})
        sent = [await manager.send_event("news", {"data": f"n{n}"}) for n in range(5)]
        resp, reader = await connected(client, manager, last_event_id=first)
        notice, *kept = await reader.take(4)
        assert notice.event == "missed_events"
        assert notice.json() == {"reason": "expired", "last_event_id": first}
        assert notice.last_event_id == ""  # no id: the client's own stays where it was
        assert [e.last_event_id for e in kept] == sent[-3:]
        after = await manager.send_event("news", {"data": "live"})
        assert (await reader.next()).last_event_id == after
        assert app.state[HUB].counters.missed == 1
        resp.close()


async def test_a_client_that_is_up_to_date_gets_no_replay_and_no_notice():
    app, manager = served()
    async with TestClient(app) as client:
        newest = [await manager.send_event("news", {"data": str(n)}) for n in range(3)][-1]
        resp, reader = await connected(client, manager, last_event_id=newest)
        after = await manager.send_event("news", {"data": "next"})
        event = await reader.next()
        assert (event.data, event.last_event_id) == ("next", after)
        resp.close()


@pytest.mark.parametrize("value", ["hello", "5-0", "1700000000000-0", "999999999999999-0000000000",
                                   "001796159924204-0000000000x", " ", "a" * 300])
async def test_a_last_event_id_the_log_never_issued_starts_fresh(value):
    app, manager = served()
    async with TestClient(app) as client:
        await manager.send_event("news", {"data": "before the connection"})
        resp, reader = await connected(client, manager, last_event_id=value)
        after = await manager.send_event("news", {"data": "after"})
        event = await reader.next()  # neither a replay nor a missed_events notice
        assert (event.event, event.data, event.last_event_id) == ("message", "after", after)
        resp.close()


async def test_a_channel_that_fell_behind_the_log_tells_its_subscribers():
    app, manager = served(history_size=2)
    async with TestClient(app) as client:
        resp, reader = await connected(client, manager)
        hub, topic = app.state[HUB], topic_of("default", "news")
        position = await manager.send_event("news", {"data": "read"})
        assert (await reader.next()).last_event_id == position
        # Five entries land before this process reads any (another worker sent them and the
        # wake-ups were lost): the log keeps two.
        entry = encode_entry(prepare_outgoing({"data": "fast"}))
        ids = [await hub.lease.log.append(topic, entry) for _ in range(5)]
        hub.channels[topic].wake()
        notice, *kept = await reader.take(3)
        assert notice.event == "missed_events"
        assert notice.json() == {"reason": "expired", "last_event_id": position}
        assert [e.last_event_id for e in kept] == ids[-2:]
        resp.close()


async def test_a_subscription_outside_a_stream_replays_from_the_id_it_is_given():
    app, manager = served()
    async with TestClient(app):
        first = await manager.send_event("news", {"data": "a"})
        second = await manager.send_event("news", {"data": "b"})
        async with manager.subscribe("news", last_event_id=first) as subscription:
            event = await asyncio.wait_for(subscription.__anext__(), 10)
            assert (event["id"], event["data"]) == (second, "b")
            assert subscription.last_id == second
            assert manager.subscriber_count("news") == 1
        assert subscription.closed and manager.subscriber_count("news") == 0
        never = manager.subscribe("news")
        await never.aclose()
        with pytest.raises(StopAsyncIteration):
            await never.__anext__()  # closed before it was iterated: it never joins
        assert app.state[HUB].channels == {}
