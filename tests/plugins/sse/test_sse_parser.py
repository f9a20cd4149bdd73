"""The parser interprets an event stream as the HTML standard says a browser does: BOM, line
ends, fields, the data buffer, ids, retry, comments and dispatch, in any chunking."""

from __future__ import annotations

import pytest

from pyframe_sse.parser import EventStreamParser, EventTooLargeError, ReceivedEvent, parse


def datas(stream: bytes) -> list[str]:
    return [event.data for event in parse(stream)]


def bytewise(stream: bytes, **options) -> tuple[list[ReceivedEvent], EventStreamParser]:
    parser = EventStreamParser(**options)
    events = []
    for index in range(len(stream)):
        events += parser.feed(stream[index:index + 1])
    return events, parser


def test_data_lines_join_with_lf_and_lose_the_last_one():
    assert datas(b"data:\n\ndata\ndata\n\ndata:test\n\n") == ["", "\n", "test"]
    assert datas(b"data:a\ndata:\n\n") == ["a\n"]
    assert datas(b"data: a\ndata: b\ndata: c\n\n") == ["a\nb\nc"]


def test_only_one_space_after_the_colon_is_dropped():
    assert datas(b"data:  two\n\ndata:\tx\n\ndata:no space\n\n") == [" two", "\tx", "no space"]


def test_field_parsing_is_literal():
    # Case matters, the name runs to the first colon, NUL is ordinary text in data.
    stream = (b"data:\0\ndata:  2\rData:1\ndata\0:2\ndata:1\r\0data:4\nda-ta:3\rdata_5\n"
              b"data:3\rdata:\r\n data:32\ndata:4\n\n")
    assert datas(stream) == ["\0\n 2\n1\n3\n\n4"]
    assert datas(b"data:a:b: c\n\n") == ["a:b: c"]
    assert datas(b"data\n\n") == [""]  # a line without a colon is a field with an empty value


def test_every_line_end_is_one_line_end():
    assert datas(b"data:a\rdata:b\r\ndata:c\n\r\n\r\n") == ["a\nb\nc"]
    assert datas(b"data:1\r\rdata:2\n\ndata:3\r\n\r\n") == ["1", "2", "3"]
    # LF CR is two line ends, so a blank line between them.
    assert datas(b"data:1\n\rdata:2\n\n") == ["1", "2"]


def test_a_crlf_split_between_chunks_is_still_one_line_end():
    parser = EventStreamParser()
    assert parser.feed(b"data:1\r") == []
    assert parser.feed(b"\ndata:2\r") == []
    # An LF here pairs with the CR before it: no blank line yet.
    assert parser.feed(b"\n") == []
    assert parser.feed(b"\r") == [ReceivedEvent(data="1\n2")]
    assert parser.feed(b"\n") == []  # the LF of that CRLF, not another blank line
    assert parser.feed(b"data:3\n\n") == [ReceivedEvent(data="3")]


def test_a_blank_cr_dispatches_at_once():
    # No waiting for a possible LF: the event is whole when the CR arrives.
    parser = EventStreamParser()
    assert parser.feed(b"data:now\r\r") == [ReceivedEvent(data="now")]


def test_one_leading_bom_is_stripped():
    # The second BOM makes its line's field "\ufeffdata", an unknown field; 3 never ends.
    assert datas("\ufeffdata:1\n\n\ufeffdata:2\n\ndata:3".encode()) == ["1"]
    assert datas("\ufeff\ufeffdata:1\n\ndata:2\n\ndata:3\n\n".encode()) == ["2", "3"]


def test_a_bom_split_across_chunks_is_stripped():
    parser = EventStreamParser()
    assert parser.feed(b"\xef") == []
    assert parser.feed(b"\xbb") == []
    assert parser.feed(b"\xbfdata:1\n\ndata:2\n\n") == [ReceivedEvent(data="1"),
                                                       ReceivedEvent(data="2")]


def test_malformed_utf8_becomes_replacement_characters():
    assert datas(b"data:a\xffb\xc3\n\n") == ["a\ufffdb\ufffd"]
    events, _ = bytewise("data:é☃🎉\n\n".encode())
    assert events == [ReceivedEvent(data="é☃🎉")]


def test_comments_are_ignored_and_can_be_watched():
    seen: list[str] = []
    parser = EventStreamParser(on_comment=seen.append)
    assert parser.feed(b"data:1\n:\n: ping\n:no space\ndata:2\n\n: alone\n\n") == [
        ReceivedEvent(data="1\n2")]
    assert seen == ["", "ping", "no space", "alone"]
    assert datas(b": only a comment\n\n") == []


def test_the_event_type_applies_to_one_event():
    events = parse(b"event:add\ndata:1\n\ndata:2\n\nevent:\ndata:3\n\nevent:gone\n\ndata:4\n\n")
    assert [(event.event, event.data) for event in events] == [
        ("add", "1"), ("message", "2"), ("message", "3"), ("message", "4")]


def test_the_last_event_id_carries_over_until_changed():
    events = parse(b"id:1\ndata:a\n\ndata:b\n\nid:2\ndata:c\n\nid\ndata:d\n\nid:3\ndata:e\n\n"
                   b"id:\ndata:f\n\n")
    assert [(event.data, event.last_event_id) for event in events] == [
        ("a", "1"), ("b", "1"), ("c", "2"), ("d", ""), ("e", "3"), ("f", "")]


def test_an_id_with_nul_is_ignored():
    for value in (b"\0", b"x\0", b"\0x", b" \0"):
        parser = EventStreamParser()
        events = parser.feed(b"id:keep\ndata:a\n\nid:" + value + b"\ndata:b\n\n")
        assert [event.last_event_id for event in events] == ["keep", "keep"]


def test_an_id_without_data_sets_the_last_event_id_but_dispatches_nothing():
    parser = EventStreamParser()
    assert parser.feed(b"id:9\n\n") == []
    assert parser.last_event_id == "9"
    assert parser.feed(b"data:x\n\n") == [ReceivedEvent(data="x", last_event_id="9")]


def test_the_last_event_id_is_only_taken_when_the_event_ends():
    parser = EventStreamParser()
    parser.feed(b"id:1\ndata:a\n\nid:2\ndata:b\n")
    assert parser.last_event_id == "1"  # the second event has not ended
    parser.close()
    assert parser.last_event_id == "1"


@pytest.mark.parametrize("line, retry", [
    (b"retry:1000", 1000),
    (b"retry: 0", 0),
    (b"retry:0010", 10),
    (b"retry:" + b"0" * 5000 + b"7", 7),
    (b"retry:", None),
    (b"retry", None),
    (b"retry:1000x", None),
    (b"retry:-1", None),
    (b"retry:1.5", None),
    (b"retry:  100", None),  # one space is dropped, the second is not a digit
    ("retry:١٢".encode(), None),  # digits, but not ASCII digits
    ("retry:²".encode(), None),
    (b"retry:" + b"9" * 4001, None),  # too long to be a delay anyone waits; never a crash
    (b"Retry:100", None),
])
def test_retry_takes_ascii_digits_only(line, retry):
    parser = EventStreamParser()
    parser.feed(line + b"\n\n")
    assert parser.retry == retry


def test_retry_keeps_its_last_good_value():
    parser = EventStreamParser()
    parser.feed(b"retry:500\n\nretry:bogus\n\n")
    assert parser.retry == 500


def test_unknown_fields_are_ignored():
    assert parse(b"field:value\nDATA:x\ndata :y\ndata:z\n\n") == [ReceivedEvent(data="z")]


def test_an_unfinished_event_is_discarded_at_the_end():
    assert datas(b"data:1\n\ndata:2") == ["1"]
    assert datas(b"data:1\n\ndata:2\n") == ["1"]
    parser = EventStreamParser()
    assert parser.feed(b"data:half\n") == []
    parser.close()
    with pytest.raises(RuntimeError, match="closed"):
        parser.feed(b"\n")


def test_chunking_does_not_change_the_events():
    stream = ("\ufeffid: 1\r\nevent: e\r\ndata: ä\r\n\r\n: c\rdata:x\r\rdata:y\n\n"
              "retry: 10\nid: 2\ndata\n\n").encode()
    whole = parse(stream)
    events, parser = bytewise(stream)
    assert events == whole == [
        ReceivedEvent(event="e", data="ä", last_event_id="1"),
        ReceivedEvent(data="x", last_event_id="1"),
        ReceivedEvent(data="y", last_event_id="1"),
        ReceivedEvent(data="", last_event_id="2"),
    ]
    assert (parser.retry, parser.last_event_id) == (10, "2")


def test_json_data_decodes():
    assert parse(b'data: {"a": [1, 2]}\n\n')[0].json() == {"a": [1, 2]}


def test_a_pending_event_is_bounded():
    parser = EventStreamParser(max_event_size=100)
    with pytest.raises(EventTooLargeError, match="over 100 characters"):
        parser.feed(b"data:" + b"x" * 200)
    parser = EventStreamParser(max_event_size=100)
    with pytest.raises(EventTooLargeError):
        for _ in range(30):
            parser.feed(b"data:0123\n")
    # The bound is per event: dispatching frees it, and lines without data cost nothing.
    parser = EventStreamParser(max_event_size=100)
    for _ in range(100):
        assert parser.feed(b"data:" + b"y" * 80 + b"\n\n") == [ReceivedEvent(data="y" * 80)]
        assert parser.feed(b": " + b"z" * 80 + b"\nevent:" + b"e" * 80 + b"\n\n") == []


def test_a_long_line_in_small_chunks_is_linear():
    # Pieces are joined once at the line end: 200 000 one-byte feeds stay fast.
    parser = EventStreamParser()
    for _ in range(200_000):
        parser.feed(b"x")
    assert parser.feed(b":\ndata:done\n\n") == [ReceivedEvent(data="done")]
