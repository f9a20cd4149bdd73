"""Properties of the encoder and the parser together, over generated events and bytes.

Short and seeded by default; see conftest.py for a long run.
"""

from __future__ import annotations

import re

import msgspec
from hypothesis import given, settings
from hypothesis import strategies as st

from pyframe_sse.encoder import InvalidEventError, encode_event
from pyframe_sse.parser import EventStreamParser, ReceivedEvent, parse

FUZZ = settings.get_profile("pyframe-sse")

# Characters that matter to the format, mixed into ordinary text so examples hit them often.
_SPECIAL = st.sampled_from(["\r", "\n", "\r\n", "\0", ":", " ", "\ufeff", "\u2028", "\x85",
                            "\v", "data: x", "event: x", "id: x", "\n\ndata: injected\n\n"])
TEXT = st.lists(st.one_of(_SPECIAL, st.text(max_size=8)), max_size=8).map("".join)
# Anything a sender might pass: surrogates, the wrong types, nested data.
ANY_TEXT = st.one_of(TEXT, st.text(st.characters(codec=None), max_size=8))
JSON = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**63), 2**64 - 1)
    | st.floats(allow_nan=False, allow_infinity=False) | TEXT,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(TEXT, inner, max_size=4),
    max_leaves=12,
)
ANY_VALUE = st.one_of(ANY_TEXT, JSON, st.binary(max_size=4), st.floats(), st.integers(),
                      st.booleans(), st.none(), st.tuples(ANY_TEXT))

NAMES = TEXT.filter(lambda text: "\r" not in text and "\n" not in text)
IDS = st.one_of(NAMES.filter(lambda text: "\0" not in text), st.integers(0, 2**70))
VALID_EVENT = st.fixed_dictionaries({}, optional={
    "event": NAMES,
    "data": st.one_of(TEXT, st.lists(JSON, max_size=4), st.dictionaries(TEXT, JSON, max_size=4)),
    "id": IDS,
    "retry": st.integers(0, 2**63),
    "comment": TEXT,
}).filter(lambda event: event and ("data" in event or "event" not in event))


def expected(event: dict, last_id: str) -> ReceivedEvent | None:
    """What a browser dispatches for ``event`` after a stream whose last event id is ``last_id``."""
    if "data" not in event:
        return None
    data = event["data"]
    text = data.replace("\r\n", "\n").replace("\r", "\n") if isinstance(data, str) else None
    return ReceivedEvent(event=event.get("event") or "message",
                         data=text if text is not None else msgspec.json.encode(data).decode(),
                         last_event_id=str(event.get("id", last_id)))


def feed_in_chunks(stream: bytes, cuts: list[int]) -> tuple[list[ReceivedEvent], EventStreamParser]:
    parser = EventStreamParser()
    events: list[ReceivedEvent] = []
    bounds = [0, *sorted(cuts), len(stream)]
    for start, end in zip(bounds, bounds[1:]):
        events += parser.feed(stream[start:end])
    return events, parser


@FUZZ
@given(VALID_EVENT)
def test_parse_gives_back_what_was_encoded(event):
    parser = EventStreamParser()
    received = parser.feed(encode_event(event))
    want = expected(event, "")
    assert received == ([want] if want else [])
    if isinstance(event.get("data"), (dict, list)):
        assert received[0].json() == event["data"]
    assert parser.retry == event.get("retry")
    assert parser.last_event_id == str(event.get("id", ""))


@FUZZ
@given(st.lists(VALID_EVENT, max_size=6), st.data())
def test_a_stream_of_events_parses_back_in_any_chunking(events, data):
    stream = b"".join(encode_event(event) for event in events)
    cuts = data.draw(st.lists(st.integers(0, len(stream)), max_size=12))
    want, last_id = [], ""
    for event in events:
        item = expected(event, last_id)
        last_id = str(event.get("id", last_id))
        if item:
            want.append(item)
    received, parser = feed_in_chunks(stream, cuts)
    assert received == want
    assert parser.last_event_id == last_id


# Every text field set, from text full of line breaks: the likeliest injections.
HOSTILE_EVENT = st.fixed_dictionaries({"data": TEXT}, optional={"event": TEXT, "id": TEXT,
                                                                "comment": TEXT})
SENDER_EVENT = st.one_of(HOSTILE_EVENT, st.dictionaries(
    st.sampled_from(["event", "data", "id", "retry", "comment"]), ANY_VALUE, max_size=5))


@FUZZ
@given(SENDER_EVENT)
def test_no_value_a_sender_passes_makes_more_than_one_event(event):
    try:
        frame = encode_event(event)
    except InvalidEventError:
        return
    # One event is a run of non-empty lines and one blank line, with LF ends only.
    assert b"\r" not in frame
    assert frame.endswith(b"\n\n")
    assert all(frame[:-2].split(b"\n"))
    # Between a previous event and a next one, it dispatches at most one and leaves the
    # parser clean: the next event is read exactly as sent.
    before, after = b"data: before\n\n", b"data: after\n\n"
    received = parse(before + frame + after)
    assert received[0] == ReceivedEvent(data="before")
    assert len(received) == (3 if "data" in event and event["data"] is not None else 2)
    assert received[-1].event == "message" and received[-1].data == "after"


@FUZZ
@given(st.dictionaries(st.one_of(st.text(max_size=6), st.integers()), ANY_VALUE, max_size=4))
def test_anything_else_is_refused_with_the_one_error(event):
    # Unknown keys, wrong types: InvalidEventError or an event, never another exception.
    try:
        frame = encode_event(event)
    except InvalidEventError:
        return
    assert set(event) <= {"event", "data", "id", "retry", "comment"}
    assert frame.endswith(b"\n\n")


# Whole lines, so streams have structure, and the bytes that break structure.
_TOKENS = st.sampled_from([b"data:d\n", b"data: two words\r\n", b"data\n", b"event:e\n",
                           b"event:\r", b"id:7\n", b"id\n", b"id:\0\n", b"retry:15\n",
                           b"retry: 1x\n", b": c\n", b"\n", b"\r", b"\r\n", b"data:", b"id:",
                           b"event:", b"retry:", b":", b" ", b"\0", b"\xef\xbb\xbf", b"\xff",
                           b"\xc3", b"\xa9", b"\xe2\x98", b"x", b"12", b"Data", b"data"])
# Few kinds of whole lines, blank ones often: every ordering of fields and dispatches.
_LINES = st.sampled_from([b"data:d\n", b"event:e\n", b"id:7\n", b"id\r\n", b"retry:15\n",
                          b": c\n", b"\n", b"\r\n", b"\r"])
_LINE_STREAMS = st.lists(_LINES, min_size=2, max_size=16).map(b"".join)
STREAMS = st.one_of(st.binary(max_size=200), _LINE_STREAMS, _LINE_STREAMS,
                    st.lists(st.one_of(_TOKENS, st.binary(max_size=6)), max_size=40)
                    .map(b"".join))


def reference_parse(stream: bytes) -> tuple[list[ReceivedEvent], str, int | None]:
    """The standard's steps, written as plainly as possible: whole input, no chunking."""
    text = stream.decode("utf-8", "replace")
    if text.startswith("\ufeff"):
        text = text[1:]
    lines = re.split(r"\r\n|\r|\n", text)[:-1]  # the last piece never ended: discarded
    events, data, event_type, id_buffer, last_id, retry = [], "", "", "", "", None
    for line in lines:
        if line == "":
            last_id = id_buffer
            if data == "":
                event_type = ""
                continue
            if data.endswith("\n"):
                data = data[:-1]
            events.append(ReceivedEvent(event=event_type or "message", data=data,
                                        last_event_id=last_id))
            data, event_type = "", ""
            continue
        if line.startswith(":"):
            continue
        if ":" in line:
            field, value = line.split(":", 1)
            if value.startswith(" "):
                value = value[1:]
        else:
            field, value = line, ""
        if field == "event":
            event_type = value
        elif field == "data":
            data += value + "\n"
        elif field == "id" and "\0" not in value:
            id_buffer = value
        elif field == "retry" and value and all(char in "0123456789" for char in value):
            retry = int(value)
    return events, last_id, retry


@FUZZ
@given(STREAMS, st.data())
def test_the_parser_agrees_with_the_standard_on_any_bytes(stream, data):
    want = reference_parse(stream)
    cuts = data.draw(st.lists(st.integers(0, len(stream)), max_size=10))
    received, parser = feed_in_chunks(stream, cuts)  # never raises, always returns
    assert (received, parser.last_event_id, parser.retry) == want
    # And one byte at a time: a cut inside every CRLF, BOM and UTF-8 sequence.
    received, parser = feed_in_chunks(stream, list(range(1, len(stream))))
    assert (received, parser.last_event_id, parser.retry) == want
