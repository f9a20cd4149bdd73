"""With the metrics plugin on, /metrics shows the open streams and the events sent and
dropped (through pyframe_add_metric_sources)."""

from __future__ import annotations

import asyncio

import pytest
from prometheus_client.parser import text_string_to_metric_families

from pyframe.testing import TestClient
from pyframe_sse import SlowSubscriberError, SSEManager
from pyframe_sse.hub import HUB

from .support import EventReader, sse_app, stream_route, wait_until


@pytest.fixture(autouse=True)
def _no_stray_config(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)


async def scrape(client) -> dict[str, list]:
    async with client.get("/metrics") as resp:
        assert resp.status == 200
        text = await resp.text()
    return {family.name: family.samples for family in text_string_to_metric_families(text)
            if family.name.startswith("pyframe_sse_")}


def value(samples, **labels) -> float:
    (sample,) = [s for s in samples if all(s.labels.get(k) == v for k, v in labels.items())
                 and not s.name.endswith("_created")]
    return sample.value


async def test_streams_and_events_are_measured():
    app = sse_app(ping_interval=0, queue_size=2)
    app.plugins.enable("metrics")
    manager, alerts = SSEManager(), SSEManager("alerts")
    stream_route(app, manager)
    stream_route(app, alerts, "/alerts")
    async with TestClient(app) as client:
        async with client.get("/events") as one, client.get("/events") as two, \
                client.get("/alerts") as three:
            await wait_until(lambda: manager.subscriber_count("news") == 2
                             and alerts.subscriber_count("news") == 1, what="subscribers")
            for n in range(2):
                await manager.send_event("news", {"data": str(n)})
            for resp in (one, two):
                await EventReader(resp).take(2)
            families = await scrape(client)
            assert value(families["pyframe_sse_streams"]) == 3
            assert value(families["pyframe_sse_subscribers"], namespace="default") == 2
            assert value(families["pyframe_sse_subscribers"], namespace="alerts") == 1
            assert value(families["pyframe_sse_channels"]) == 2
            assert value(families["pyframe_sse_events_published"]) == 2
            assert value(families["pyframe_sse_events_sent"]) == 4
            assert value(families["pyframe_sse_events_dropped"]) == 0
            assert value(families["pyframe_sse_streams_opened"]) == 3
            three.close()
            await wait_until(lambda: len(app.state[HUB].streams) == 2, what="one stream closed")
            # A subscriber that does not read: the third event it has not taken cuts it.
            slow = manager.subscribe("slow")
            first = asyncio.ensure_future(slow.__anext__())
            await wait_until(lambda: manager.subscriber_count("slow") == 1, what="joined")
            await manager.send_event("slow", {"data": "taken"})
            assert (await first)["data"] == "taken"
            for n in range(3):
                await manager.send_event("slow", {"data": str(n)})
            await wait_until(lambda: manager.subscriber_count("slow") == 0, what="the cut")
            with pytest.raises(SlowSubscriberError):
                await slow.__anext__()
            families = await scrape(client)
            assert value(families["pyframe_sse_streams"]) == 2
            assert value(families["pyframe_sse_events_dropped"]) == 3
            assert value(families["pyframe_sse_streams_cut"]) == 1


async def test_without_the_metrics_plugin_nothing_is_reported():
    app = sse_app()
    async with TestClient(app) as client:
        async with client.get("/metrics") as resp:
            assert resp.status == 404
