"""The encoder writes each field as the HTML standard's event-stream format reads it, and
refuses, with a message naming the key, anything that could not be sent as given."""

from __future__ import annotations

import datetime
import enum

import msgspec
import pytest

from pyframe_sse.encoder import (EVENT_KEYS, InvalidEventError, PreparedEvent, encode_comment,
                                 encode_event, encode_id, prepare_event)
from pyframe_sse.parser import ReceivedEvent, parse


class Point(msgspec.Struct):
    x: int
    y: int


class Level(enum.IntEnum):
    SLOW = 5000


def test_the_reference_example_event():
    frame = encode_event({"event": "notification", "data": {"message": "You have a new message"}})
    assert frame == b'event: notification\ndata: {"message":"You have a new message"}\n\n'
    assert parse(frame) == [ReceivedEvent(event="notification",
                                          data='{"message":"You have a new message"}')]


@pytest.mark.parametrize("event, frame", [
    ({"data": "hello"}, b"data: hello\n\n"),
    ({"data": ""}, b"data: \n\n"),
    ({"data": " leading space"}, b"data:  leading space\n\n"),
    ({"data": "a\nb"}, b"data: a\ndata: b\n\n"),
    ({"data": "a\r\nb\rc\n"}, b"data: a\ndata: b\ndata: c\ndata: \n\n"),
    ({"data": "\r\r\n"}, b"data: \ndata: \ndata: \n\n"),
    ({"data": [1, "two", None]}, b'data: [1,"two",null]\n\n'),
    ({"data": {"text": "line\nbreak"}}, b'data: {"text":"line\\nbreak"}\n\n'),
    ({"data": 42}, b"data: 42\n\n"),
    ({"data": Point(x=1, y=2)}, b'data: {"x":1,"y":2}\n\n'),
    ({"data": datetime.date(2024, 2, 29)}, b'data: "2024-02-29"\n\n'),
    ({"id": "7", "data": "x"}, b"id: 7\ndata: x\n\n"),
    ({"id": 7, "data": "x"}, b"id: 7\ndata: x\n\n"),
    ({"id": ""}, b"id: \n\n"),
    ({"retry": 3000}, b"retry: 3000\n\n"),
    ({"retry": Level.SLOW}, b"retry: 5000\n\n"),
    ({"retry": 0, "data": "x"}, b"retry: 0\ndata: x\n\n"),
    ({"comment": "ping"}, b": ping\n\n"),
    ({"comment": "two\r\nlines"}, b": two\n: lines\n\n"),
    ({"comment": "note", "data": "x"}, b": note\ndata: x\n\n"),
    ({"event": "", "data": "x"}, b"event: \ndata: x\n\n"),
    ({"event": "a:b", "data": "x"}, b"event: a:b\ndata: x\n\n"),
    ({"data": "x", "id": None, "event": None}, b"data: x\n\n"),
])
def test_fields_are_written_as_the_standard_reads_them(event, frame):
    assert encode_event(event) == frame


def test_only_cr_and_lf_end_a_line():
    # str.splitlines() would split on these too; in an event stream they are ordinary text.
    text = "a\vb\fc\x1cd\x1de\x1ef\x85g\u2028h\u2029i"
    assert encode_event({"data": text}) == ("data: " + text + "\n\n").encode()
    assert parse(encode_event({"data": text}))[0].data == text


def test_unicode_is_utf8_and_nul_in_data_survives():
    frame = encode_event({"event": "café", "data": "naïve \0 ☃ 🎉"})
    assert frame == "event: café\ndata: naïve \0 ☃ 🎉\n\n".encode()
    assert parse(frame) == [ReceivedEvent(event="café", data="naïve \0 ☃ 🎉")]


@pytest.mark.parametrize("event, message", [
    ({"event": "a\nb", "data": "x"}, "'event' must not contain CR or LF"),
    ({"event": "a\rb", "data": "x"}, "'event' must not contain CR or LF"),
    ({"event": "x\r\n\r\ndata: injected", "data": "x"}, "'event' must not contain CR or LF"),
    ({"id": "1\n\ndata: injected", "data": "x"}, "'id' must not contain CR, LF or NUL"),
    ({"id": "1\r", "data": "x"}, "'id' must not contain CR, LF or NUL"),
    ({"id": "1\0", "data": "x"}, "'id' must not contain CR, LF or NUL"),
    ({"id": True, "data": "x"}, "'id' must be a str, got bool"),
    ({"id": 1.5, "data": "x"}, "'id' must be a str, got float"),
    ({"retry": 1.0}, "'retry' is an int of milliseconds, got float"),
    ({"retry": True}, "'retry' is an int of milliseconds, got bool"),
    ({"retry": "3000"}, "'retry' is an int of milliseconds, got str"),
    ({"retry": -1}, "'retry' must be >= 0"),
    ({"retry": 10**5000}, "'retry' is too large a number"),
    ({"id": 10**5000, "data": "x"}, "'id' is too large a number"),
    ({"event": 5, "data": "x"}, "'event' must be a str, got int"),
    ({"comment": b"ping"}, "'comment' must be a str, got bytes"),
    ({"data": b"raw"}, "'data' must be str or JSON-encodable, not bytes"),
    ({"data": bytearray(b"raw")}, "'data' must be str or JSON-encodable, not bytes"),
    ({"data": object()}, "'data' cannot be encoded as JSON"),
    ({"data": {(1, 2): "tuple key"}}, "'data' cannot be encoded as JSON"),
    ({"data": "\ud800"}, "'data' is not valid Unicode text"),
    ({"data": {"k": "\udfff"}}, "'data' cannot be encoded as JSON"),
    ({"data": "x", "event": "\ud800"}, "'event' is not valid Unicode text"),
    ({"data": "x", "comment": "\udc80"}, "'comment' is not valid Unicode text"),
    ({"data": "x", "id": "\ud83d"}, "'id' is not valid Unicode text"),
    ({"event": "orphan"}, "an event with an 'event' name needs 'data'"),
    ({}, "an event needs at least one of comment, data, event, id, retry"),
    ({"data": None}, "an event needs at least one of"),
    ({"data": "x", "name": "y"}, "unknown event key(s) 'name'"),
    ({"Data": "x"}, "unknown event key(s) 'Data'"),
    ({1: "x"}, "unknown event key(s) 1"),
])
def test_unsendable_events_are_refused_naming_the_key(event, message):
    with pytest.raises(InvalidEventError) as caught:
        encode_event(event)
    assert message in str(caught.value)
    with pytest.raises(InvalidEventError):
        prepare_event(event)


@pytest.mark.parametrize("value", ["a string", ["data", "x"], 5, None])
def test_an_event_is_a_mapping(value):
    with pytest.raises(InvalidEventError, match="an event is a dict"):
        encode_event(value)


class SneakyStr(str):
    """A str that hides its line breaks from ``in`` and lies when printed."""

    def __contains__(self, item):
        return False

    def __str__(self):
        return "x"

    def __radd__(self, other):
        return other + "x"


class SneakyInt(int):
    def __str__(self):
        return "1\n\ndata: injected"

    __repr__ = __format__ = lambda self, *args: "1\n\ndata: injected"


def test_subclasses_cannot_slip_a_line_break_past_the_checks():
    with pytest.raises(InvalidEventError, match="'event' must not contain CR or LF"):
        encode_event({"event": SneakyStr("a\n\ndata: injected"), "data": "x"})
    with pytest.raises(InvalidEventError, match="'id' must not contain"):
        encode_event({"id": SneakyStr("1\n\ndata: injected"), "data": "x"})
    assert encode_event({"data": SneakyStr("a\nb"), "comment": SneakyStr("c\nd")}) == (
        b": c\n: d\ndata: a\ndata: b\n\n")
    assert encode_event({"retry": SneakyInt(5), "id": SneakyInt(6)}) == b"id: 6\nretry: 5\n\n"
    assert type(prepare_event({"data": SneakyStr("s")})["data"]) is str


def test_the_error_is_a_value_error_and_never_echoes_the_value():
    secret = "token-abc123"
    with pytest.raises(ValueError) as caught:
        encode_event({"id": secret + "\n", "data": "x"})
    assert secret not in str(caught.value)


def test_every_key_is_known():
    assert EVENT_KEYS == {"event", "data", "id", "retry", "comment"}


def test_a_prepared_event_is_encoded_once_and_reads_like_its_dict():
    data = {"n": 1}
    prepared = prepare_event({"event": "tick", "data": data})
    assert isinstance(prepared, PreparedEvent)
    assert prepared.frame == b'event: tick\ndata: {"n":1}\n\n'
    assert prepared["event"] == "tick" and prepared["data"] is data
    assert dict(prepared) == {"event": "tick", "data": data}
    assert prepared == {"event": "tick", "data": {"n": 1}}
    assert prepared.id is None and "id" not in prepared and len(prepared) == 2
    # The stream encoder hands back the very same bytes object: one encoding for everyone.
    assert encode_event(prepared) is prepared.frame
    assert prepare_event(prepared) is prepared
    assert "tick" in repr(prepared)


def test_a_log_id_is_added_without_encoding_again():
    prepared = prepare_event({"data": "x", "id": "old"})
    stamped = prepared.with_id("1700000000000-0")
    assert stamped.frame == b"id: 1700000000000-0\ndata: x\n\n"
    assert stamped.id == "1700000000000-0" and prepared.id == "old"
    assert prepare_event({"data": "x"}).with_id(12).frame == b"id: 12\ndata: x\n\n"
    with pytest.raises(InvalidEventError, match="'id' must not contain"):
        prepared.with_id("bad\nid")


def test_id_and_comment_helpers():
    assert encode_id("5-1") == b"id: 5-1\n"
    assert encode_id(9) == b"id: 9\n"
    assert encode_id("5") + prepare_event({"data": "x"}).frame == b"id: 5\ndata: x\n\n"
    with pytest.raises(InvalidEventError):
        encode_id("a\0b")
    assert encode_comment() == b": \n\n"
    assert encode_comment("keep-alive") == b": keep-alive\n\n"
    assert parse(encode_comment("a\nb")) == []
    with pytest.raises(InvalidEventError, match="'comment' must be a str"):
        encode_comment(5)  # type: ignore[arg-type]


def test_a_retry_only_or_id_only_event_dispatches_nothing_but_sets_state():
    from pyframe_sse.parser import EventStreamParser

    parser = EventStreamParser()
    assert parser.feed(encode_event({"retry": 2500}) + encode_event({"id": "41"})) == []
    assert (parser.retry, parser.last_event_id) == (2500, "41")
    assert parser.feed(encode_event({"data": "next"})) == [
        ReceivedEvent(data="next", last_event_id="41")]
