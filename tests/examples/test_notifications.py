"""The notifications example: events pushed over SSE, read by a plain streaming client and by
a real EventSource in headless Chromium, which reconnects and is replayed what it missed."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import aiohttp

from pyframe.testing import TestClient
from pyframe_sse import EventStreamParser
from pyframe_sse.hub import HUB

EXAMPLE = Path(__file__).parents[2] / "examples" / "notifications" / "app.py"
DEADLINE = 10.0


def load_example():
    spec = importlib.util.spec_from_file_location("pyframe_notifications_app", EXAMPLE)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.app


async def wait_for_subscribers(app, count):
    from tests.plugins.sse.support import wait_until

    hub = app.state[HUB]
    await wait_until(lambda: sum(c.live_subscribers for c in hub.channels.values()) == count,
                     what=f"{count} subscribers")


async def test_notifications_reach_a_streaming_client():
    app = load_example()
    async with TestClient(app) as client, aiohttp.ClientSession() as session:
        async with session.get(client.url("/events")) as resp:
            assert resp.headers["Content-Encoding"] in ("br", "zstd", "gzip")
            parser = EventStreamParser()
            events = []
            while not events:
                events += parser.feed(await resp.content.readany())
            assert events[0].event == "connected" and parser.retry == 1000
            await wait_for_subscribers(app, 1)
            async with session.post(client.url("/notify"), json={"text": "hello"}) as sent:
                assert sent.status == 201
                event_id = (await sent.json())["id"]
            events = []
            while not events:
                events += parser.feed(await resp.content.readany())
            assert events[0].event == "notification"
            assert events[0].json()["text"] == "hello"
            assert events[0].last_event_id == event_id
        async with session.post(client.url("/notify"), json={"txt": "typo"}) as bad:
            assert bad.status == 422


async def test_the_page_receives_through_event_source_and_resumes(browser):
    app = load_example()
    async with TestClient(app) as client, aiohttp.ClientSession() as session:
        page = await browser.open(client.url("/"))
        await page.wait_for("window.connections === 1 && "
                            "document.getElementById('state').textContent === 'open'",
                            what="the EventSource connected")
        await wait_for_subscribers(app, 1)
        # One notification from the page's own form, one from elsewhere.
        await page.evaluate("""(() => { const form = document.getElementById('send');
            form.elements.text.value = 'from the page'; form.requestSubmit(); })()""")
        await page.wait_for("window.received.length === 1", what="the first notification")
        async with session.post(client.url("/notify"), json={"text": "from the server"}):
            pass
        await page.wait_for("window.received.length === 2", what="the second notification")
        # The server ends the stream (as a restart would); while the page is away, one more.
        hub = app.state[HUB]
        for stream in list(hub.streams):
            stream.finish()
        await page.wait_for("document.getElementById('state').textContent === 'reconnecting'",
                            what="the page noticed")
        async with session.post(client.url("/notify"), json={"text": "while away"}) as resp:
            away = (await resp.json())["id"]
        # EventSource comes back after `retry` with its Last-Event-ID and is replayed.
        await page.wait_for("window.connections === 2 && window.received.length === 3",
                            timeout=DEADLINE, what="the replay after reconnecting")
        received = await page.evaluate("window.received")
        assert [r["text"] for r in received] == ["from the page", "from the server",
                                                 "while away"]
        ids = [r["id"] for r in received]
        assert ids == sorted(set(ids)) and ids[-1] == away
        assert await page.evaluate("window.missedNotices === undefined")
        items = await page.evaluate("[...document.querySelectorAll('#list li')].length")
        assert items == 3
        assert "notification while away" in page.console
