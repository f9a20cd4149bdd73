"""Hostile ``Last-Event-ID`` headers on a real event stream: oversized, binary, with control
characters, repeated, or a well-formed id the log never issued. Each is ignored (the stream
starts live, nothing replayed, no ``missed_events``), or refused by the server's header limit;
the server goes on serving either way.
"""

from __future__ import annotations

import pytest

from pyframe.testing import TestClient
from tests.plugins.sse.raw_stream import RawStream, add_sse_routes

from .support import assert_still_serving, exchange, wait_until

CONFIG = "[plugins.sse]\nping_interval = 0\n"


@pytest.fixture
async def served(make_app):
    app = make_app(CONFIG)
    manager = add_sse_routes(app)
    async with TestClient(app) as client:
        # Two events in the log, so a header taken as a position would replay something.
        first = await manager.send_event("news", {"data": "old 1"})
        await manager.send_event("news", {"data": "old 2"})
        yield client.port, manager, first


async def assert_starts_live(served, header_lines: bytes):
    port, manager, _ = served
    stream = await RawStream.open(port, "/events", header_lines)
    try:
        assert stream.status == 200
        await wait_until(lambda: manager.subscriber_count("news") == 1, what="a subscriber")
        new = await manager.send_event("news", {"data": "live"})
        event = await stream.next()
        assert (event.event, event.data, event.last_event_id) == ("message", "live", new)
    finally:
        stream.close()
    await wait_until(lambda: manager.subscriber_count("news") == 0, what="the disconnect")
    await assert_still_serving(port)


async def test_a_valid_id_replays_so_the_cases_below_mean_something(served):
    port, manager, first = served
    stream = await RawStream.open(port, "/events", f"Last-Event-ID: {first}\r\n".encode())
    try:
        assert (await stream.next()).data == "old 2"
    finally:
        stream.close()


@pytest.mark.parametrize("size", [257, 1024, 8000])
async def test_an_oversized_id_is_ignored(served, size):
    _, _, first = served
    value = (first * (size // len(first) + 1))[:size]
    await assert_starts_live(served, f"Last-Event-ID: {value}\r\n".encode())


async def test_an_id_past_the_header_limit_is_refused_by_the_server(served):
    port = served[0]
    response = await exchange(port, b"GET /events HTTP/1.1\r\nHost: hostile.test\r\n"
                                    b"Last-Event-ID: " + b"1" * 20_000 + b"\r\n\r\n")
    assert response is None or response.status == 431
    await assert_still_serving(port)


@pytest.mark.parametrize("raw", [
    b"\xff\xfe\xfd",  # not ASCII, not even UTF-8
    "001796159924204-0000000000\u00e9".encode(),  # a valid id with a non-ASCII tail
    b"001796159924204\t0000000000",  # a tab: a control character inside the value
])
async def test_binary_or_control_bytes_are_ignored(served, raw):
    await assert_starts_live(served, b"Last-Event-ID: " + raw + b"\r\n")


@pytest.mark.parametrize("byte", [b"\x00", b"\x7f"])
async def test_nul_and_del_are_refused_by_the_parser(served, byte):
    port = served[0]
    response = await exchange(port, b"GET /events HTTP/1.1\r\nHost: hostile.test\r\n"
                                    b"Last-Event-ID: 001796159924204-0000000000" + byte
                              + b"\r\n\r\n")
    assert response is None or response.status == 400
    await assert_still_serving(port)


async def test_two_headers_are_ambiguous_and_ignored(served):
    _, _, first = served
    await assert_starts_live(served, f"Last-Event-ID: {first}\r\nLast-Event-ID: {first}\r\n"
                                     .encode())


@pytest.mark.parametrize("value", [
    "999999999999999-0000000000",  # well-formed, from the year 33658: would skip every event
    "1-0", "00000000000000a-0000000000", "../../etc/passwd", "' OR 1=1 --",
    "001796159924204-00000000000",  # one digit too many
])
async def test_an_id_the_log_never_issued_is_ignored(served, value):
    await assert_starts_live(served, f"Last-Event-ID: {value}\r\n".encode())


async def test_an_empty_id_is_a_first_connection(served):
    await assert_starts_live(served, b"Last-Event-ID: \r\n")
