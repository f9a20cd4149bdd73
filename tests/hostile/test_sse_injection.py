"""SSE field injection: text an attacker controls, forwarded into an event, can never end a
field early, start a second event, or set another event's type, id or retry.

The wire is read raw and parsed as a browser does. Line breaks in ``data`` (and in comments)
become more lines of the same field; in ``event``, or in an ``id`` or ``retry`` a handler
copies in, they are refused: a 422 for a sender, a cut stream for a handler that yields one.
"""

from __future__ import annotations

import aiohttp
import pytest

from pyframe.testing import TestClient
from tests.plugins.sse.raw_stream import RawStream, add_sse_routes

from .support import assert_still_serving, wait_until

CONFIG = "[plugins.sse]\nping_interval = 0\n"
PAYLOAD = "\n\nevent: admin\nid: 999999999999999-0000000000\nretry: 1\ndata: pwned"


@pytest.fixture
async def served(make_app):
    app = make_app(CONFIG)
    manager = add_sse_routes(app)

    @app.get("/yield")
    async def yielded(context):
        # A handler that copies query parameters straight into the event it yields.
        fields = {key: value for key, value in context.query_params.items()}

        async def generator():
            yield {"data": "first"}
            yield fields

        return {"status": 200, "headers": {"Content-Type": "text/event-stream"},
                "body": generator()}

    async with TestClient(app) as client, aiohttp.ClientSession() as session:
        yield client.port, manager, session, client


async def listening(served, channel="news"):
    port, manager, _, _ = served
    stream = await RawStream.open(port, f"/events?channel={channel}")
    assert stream.status == 200
    await wait_until(lambda: manager.subscriber_count(channel) == 1, what="a subscriber")
    return stream


async def notify(served, **fields):
    _, _, session, client = served
    async with session.post(client.url("/notify"), json=fields) as resp:
        return resp.status, await resp.json()


async def assert_only_the_marker_follows(stream, served):
    """Send a marker; it must be the next event the stream dispatches."""
    status, answer = await notify(served, data="marker")
    assert status == 200
    event = await stream.next()
    assert (event.event, event.data, event.last_event_id) == ("message", "marker", answer["id"])


async def test_line_breaks_in_data_stay_inside_one_event(served):
    stream = await listening(served)
    try:
        status, answer = await notify(served, data=PAYLOAD)
        assert status == 200
        event = await stream.next()
        assert (event.event, event.data, event.last_event_id) == ("message", PAYLOAD,
                                                                  answer["id"])
        # On the wire every line of the payload is one more data line.
        lines = stream.wire.decode().split("\n")
        assert "event: admin" not in lines and "retry: 1" not in lines
        assert "data: event: admin" in lines and "data: retry: 1" in lines
        assert stream.parser.retry is None
        await assert_only_the_marker_follows(stream, served)
    finally:
        stream.close()
    await assert_still_serving(served[0])


@pytest.mark.parametrize("brk", ["\r", "\r\n", "\n"])
async def test_each_line_break_of_the_standard_is_split(served, brk):
    stream = await listening(served)
    try:
        text = f"a{brk}event: admin{brk}{brk}data: b"
        assert (await notify(served, data=text))[0] == 200
        event = await stream.next()
        assert event.event == "message"
        assert event.data == "a\nevent: admin\n\ndata: b"
        await assert_only_the_marker_follows(stream, served)
    finally:
        stream.close()


async def test_characters_that_are_not_line_breaks_are_kept_as_text(served):
    stream = await listening(served)
    try:
        text = "a\u2028b\u0085c\x0bd\x0ce"  # line breaks to str.splitlines, not to SSE
        assert (await notify(served, data=text))[0] == 200
        assert (await stream.next()).data == text
        await assert_only_the_marker_follows(stream, served)
    finally:
        stream.close()


@pytest.mark.parametrize("name", ["update\nevent: admin", "update\rdata: x",
                                  "update\r\n\r\ndata: x"])
async def test_a_line_break_in_the_event_name_is_refused(served, name):
    stream = await listening(served)
    try:
        status, answer = await notify(served, event=name, data="x")
        assert status == 422
        assert "'event' must not contain CR or LF" in answer["error"]
        await assert_only_the_marker_follows(stream, served)  # nothing of it went out
    finally:
        stream.close()


@pytest.mark.parametrize("fields, reason", [
    ({"id": "1\ndata: x", "data": "y"}, "'id' must not contain CR, LF or NUL"),
    ({"id": "1", "data": "y"}, "'id' is assigned by the channel's event log"),
    ({"retry": "1\n\ndata: x", "data": "y"}, "'retry' is an int of milliseconds"),
    ({"retry": -1, "data": "y"}, "'retry' must be >= 0"),
    ({"data": "y", "extra\n": "x"}, "unknown event key"),
])
async def test_fields_the_sender_may_not_set_are_refused(served, fields, reason):
    stream = await listening(served)
    try:
        status, answer = await notify(served, **fields)
        assert status == 422 and reason in answer["error"]
        await assert_only_the_marker_follows(stream, served)
    finally:
        stream.close()


async def test_a_comment_with_line_breaks_stays_a_comment(served):
    stream = await listening(served)
    try:
        status, _ = await notify(served, comment="note\ndata: injected\n\nevent: admin")
        assert status == 200
        await assert_only_the_marker_follows(stream, served)  # no event was dispatched
        assert stream.comments == ["note", "data: injected", "", "event: admin"]
    finally:
        stream.close()


@pytest.mark.parametrize("query", ["id=1%0Adata:%20injected&data=x", "id=1%00&data=x",
                                   "event=a%0D%0Adata:%20injected&data=x",
                                   "retry=5%0A%0Adata:%20x&data=x"])
async def test_a_handler_yielding_an_injecting_field_has_its_stream_cut(served, query):
    port = served[0]
    stream = await RawStream.open(port, f"/yield?{query}")
    try:
        assert stream.status == 200
        assert (await stream.next()).data == "first"
        assert await stream.is_cut()  # aborted: never a complete body with the injection
        assert b"injected" not in stream.wire and stream.parser.last_event_id == ""
    finally:
        stream.close()
    await assert_still_serving(port)


async def test_a_channel_name_cannot_reach_another_namespace(served):
    # Channels are names inside the manager's namespace; a ":" in one is just a character.
    stream = await listening(served, channel="default:news")
    try:
        status, answer = await notify(served, channel="news", data="other channel")
        assert status == 200
        status, answer = await notify(served, channel="default:news", data="this one")
        event = await stream.next()
        assert (event.data, event.last_event_id) == ("this one", answer["id"])
    finally:
        stream.close()
