"""The sse plugin over real HTTP: the reference's example unchanged, SSEManager's channels,
namespaces and counts, handler headers, and events a sender gets wrong."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

from pyframe import PyFrameApp, StreamingResponse
from pyframe.testing import TestClient
from pyframe_sse import InvalidEventError, PreparedEvent, SSEManager

from .support import EventReader, sse_app, stream_route, wait_until

REFERENCE = Path(__file__).with_name("reference_app.py")


@pytest.fixture(autouse=True)
def _no_stray_config(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)


def load_reference(tmp_path):
    """A fresh copy of the reference module, its pyframe.toml turning the plugin on."""
    (tmp_path / "pyframe.toml").write_text("[plugins.sse]\n")
    spec = importlib.util.spec_from_file_location("sse_reference_app", REFERENCE)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


class User:
    def __init__(self, user_id):
        self.id = user_id


async def as_user(context, call_next):
    # Stands in for the auth plugin: the reference reads context.user.id.
    user = context.headers.get("X-User")
    if user:
        context.user = User(user)
    return await call_next(context)


async def test_the_reference_example_runs_unchanged(tmp_path):
    module = load_reference(tmp_path)
    module.app.middleware.append(as_user)
    async with TestClient(module.app) as client:
        async with client.get("/events", headers={"X-User": "123"}) as resp, \
                client.get("/events") as anonymous:
            assert resp.status == 200
            # The handler's headers are kept; the plugin adds what proxies need.
            assert resp.headers["Content-Type"] == "text/event-stream"
            assert resp.headers["Connection"] == "keep-alive"
            assert resp.headers["Cache-Control"] == "no-cache, no-store"
            assert resp.headers["X-Accel-Buffering"] == "no"
            assert "Content-Length" not in resp.headers
            reader, other = EventReader(resp), EventReader(anonymous)
            connected = await reader.next()
            assert connected.event == "connected" and "timestamp" in connected.json()
            await other.next()
            manager = module.sse_manager
            await wait_until(lambda: manager.subscriber_count("user_123") == 1
                             and manager.subscriber_count("user_anonymous") == 1,
                             what="both subscriptions")
            await module.send_notification()
            notification = await reader.next()
            assert notification.event == "notification"
            assert notification.json() == {"message": "You have a new message"}
            assert notification.last_event_id  # the log's id, for Last-Event-ID
            await manager.send_event("user_anonymous", {"data": "only for anonymous"})
            assert (await other.next()).data == "only for anonymous"


async def test_send_event_reaches_every_subscriber_of_its_channel_only():
    app = sse_app()
    manager = SSEManager()
    stream_route(app, manager)
    async with TestClient(app) as client:
        async with client.get("/events?channel=a") as a1, client.get("/events?channel=a") as a2, \
                client.get("/events?channel=b") as b:
            await wait_until(lambda: manager.subscriber_counts() == {"a": 2, "b": 1},
                             what="three subscribers")
            first = await manager.send_event("a", {"event": "tick", "data": {"n": 1}})
            second = await manager.send_event("b", {"data": "for b"})
            third = await manager.send_event("a", {"event": "tick", "data": {"n": 2}})
            for resp in (a1, a2):
                events = await EventReader(resp).take(2)
                assert [(e.event, e.json(), e.last_event_id) for e in events] == [
                    ("tick", {"n": 1}, first), ("tick", {"n": 2}, third)]
            (only,) = await EventReader(b).take(1)
            assert (only.data, only.last_event_id) == ("for b", second)
            assert first < third  # a channel's ids grow in sending order


async def test_send_many_sends_one_event_to_several_channels():
    app = sse_app()
    manager = SSEManager()
    stream_route(app, manager)
    async with TestClient(app) as client:
        async with client.get("/events?channel=x") as x, client.get("/events?channel=y") as y:
            await wait_until(lambda: manager.subscriber_counts() == {"x": 1, "y": 1},
                             what="two subscribers")
            ids = await manager.send_many(["x", "y", "x"], {"event": "all", "data": [1, 2]})
            assert sorted(ids) == ["x", "y"]
            for resp, channel in ((x, "x"), (y, "y")):
                event = await EventReader(resp).next()
                assert (event.event, event.json(), event.last_event_id) == (
                    "all", [1, 2], ids[channel])


async def test_namespaces_keep_managers_apart_and_share_within_one():
    app = sse_app()
    chat, alerts, chat_again = SSEManager("chat"), SSEManager("alerts"), SSEManager("chat")
    stream_route(app, chat, "/chat")
    stream_route(app, alerts, "/alerts")
    async with TestClient(app) as client:
        async with client.get("/chat?channel=room") as in_chat, \
                client.get("/alerts?channel=room") as in_alerts:
            await wait_until(lambda: chat.subscriber_count("room") == 1
                             and alerts.subscriber_count("room") == 1, what="subscribers")
            assert chat_again.subscriber_counts() == {"room": 1}
            await alerts.send_event("room", {"data": "alert"})
            await chat_again.send_event("room", {"data": "chat"})
            assert (await EventReader(in_chat).next()).data == "chat"
            assert (await EventReader(in_alerts).next()).data == "alert"
    with pytest.raises(ValueError, match="namespace"):
        SSEManager("has:colon")


async def test_subscribe_yields_prepared_events_with_the_log_ids():
    app = sse_app()
    manager = SSEManager(app=app)
    got = []

    @app.get("/events")
    async def events(context):
        async def generator():
            async for event in manager.subscribe("c"):
                got.append(event)
                yield event

        return {"headers": {"Content-Type": "text/event-stream"}, "body": generator()}

    async with TestClient(app) as client:
        async with client.get("/events") as resp:
            await wait_until(lambda: manager.subscriber_count("c") == 1, what="a subscriber")
            sent = await manager.send_event("c", {"event": "e", "data": {"k": "v"},
                                                  "retry": 1500})
            received = await EventReader(resp).next()
            assert received.last_event_id == sent
            (event,) = got
            assert isinstance(event, PreparedEvent)
            assert (event["id"], event["event"], event["data"], event["retry"]) == (
                sent, "e", {"k": "v"}, 1500)


async def test_a_handler_generator_of_plain_dicts_is_an_event_stream():
    app = sse_app(ping_interval=0)

    @app.get("/count")
    async def count(context):
        async def numbers():
            for n in range(3):
                yield {"event": "n", "data": str(n), "id": n}
            yield {"comment": "done"}
            yield "data: a str item is written as it is\n\n"

        return StreamingResponse(numbers(), content_type="text/event-stream; charset=utf-8",
                                 headers={"Cache-Control": "private, no-store",
                                          "X-Accel-Buffering": "yes", "X-Mine": "kept"})

    async with TestClient(app) as client:
        async with client.get("/count") as resp:
            assert resp.headers["Cache-Control"] == "private, no-store"  # nothing to add
            assert resp.headers["X-Accel-Buffering"] == "yes"  # the handler's choice wins
            assert resp.headers["X-Mine"] == "kept"
            reader = EventReader(resp)
            events = await reader.until_end()
            assert [(e.event, e.data, e.last_event_id) for e in events] == [
                ("n", "0", "0"), ("n", "1", "1"), ("n", "2", "2"),
                ("message", "a str item is written as it is", "2")]
            assert reader.comments == ["done"]


async def test_a_head_request_gets_the_headers_and_no_stream():
    app = sse_app()
    manager = SSEManager()
    stream_route(app, manager)
    async with TestClient(app) as client:
        async with client.head("/events") as resp:
            assert resp.status == 200
            assert resp.headers["Cache-Control"] == "no-store"
            assert await resp.read() == b""
        assert manager.subscriber_counts() == {}


async def test_other_responses_are_left_alone():
    app = sse_app()
    app.get("/plain")(lambda context: "plain text")

    @app.get("/lines")
    async def lines(context):
        async def body():
            yield {"a": 1}

        return StreamingResponse(body(), content_type="application/x-ndjson")

    async with TestClient(app) as client:
        async with client.get("/plain") as resp:
            assert await resp.text() == "plain text"
            assert "X-Accel-Buffering" not in resp.headers
        async with client.get("/lines") as resp:
            assert await resp.read() == b'{"a":1}\n'
            assert "Cache-Control" not in resp.headers


@pytest.mark.parametrize("event, message", [
    ({"event": "a\nb", "data": "x"}, "'event' must not contain CR or LF"),
    ({"event": "a\rdata: injected", "data": "x"}, "'event' must not contain CR or LF"),
    ({"data": "x", "id": "1"}, "'id' is assigned by the channel's event log"),
    ({"data": "x", "retry": 1.5}, "'retry' is an int of milliseconds"),
    ({"data": b"bytes"}, "not bytes"),
    ({"data": "x", "colour": "red"}, "unknown event key"),
    ({}, "needs at least one"),
])
async def test_events_that_cannot_be_sent_raise_to_the_sender(event, message):
    app = sse_app()
    manager = SSEManager()
    stream_route(app, manager)
    async with TestClient(app) as client:
        async with client.get("/events?channel=c") as resp:
            await wait_until(lambda: manager.subscriber_count("c") == 1, what="a subscriber")
            with pytest.raises(InvalidEventError, match=message):
                await manager.send_event("c", event)
            await manager.send_event("c", {"data": "the next one"})
            # Nothing of the refused event went out: the next event is the first one.
            assert (await EventReader(resp).next()).data == "the next one"


async def test_bad_channel_names_are_refused():
    manager = SSEManager()
    with pytest.raises(ValueError, match="1 to 512 characters"):
        manager.subscribe("")
    with pytest.raises(ValueError, match="control characters"):
        manager.subscribe("a\nb")
    with pytest.raises(TypeError, match="a channel name is a str"):
        manager.subscribe(5)


async def test_a_manager_before_any_app_started_says_what_to_do():
    manager = SSEManager()
    with pytest.raises(RuntimeError, match=r"no app running the sse plugin.*\[plugins\.sse\]"):
        await manager.send_event("c", {"data": "x"})


async def test_two_running_apps_need_bound_managers():
    first, second = sse_app(), sse_app()
    unbound = SSEManager()
    bound = SSEManager().bind(second)
    stream_route(second, bound)
    async with TestClient(first), TestClient(second) as client:
        with pytest.raises(RuntimeError, match="SSEManager\\(app=app\\) or manager.bind\\(app\\)"):
            await unbound.send_event("c", {"data": "x"})
        async with client.get("/events?channel=c") as resp:
            await wait_until(lambda: bound.subscriber_count("c") == 1, what="a subscriber")
            await bound.send_event("c", {"data": "to the second app"})
            assert (await EventReader(resp).next()).data == "to the second app"


async def test_an_app_without_the_plugin_is_named_in_the_error():
    app = PyFrameApp()
    manager = SSEManager(app=app)
    async with TestClient(app):
        with pytest.raises(RuntimeError, match="does not run the sse plugin"):
            manager.subscriber_count("c")
