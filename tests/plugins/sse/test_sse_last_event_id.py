"""A Last-Event-ID header is used only when it could be an id we issued; anything else counts
as a first connection, without an error."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pyframe_sse.last_event_id import (MAX_LAST_EVENT_ID_LENGTH, last_event_id_from_headers,
                                       parse_last_event_id)

FUZZ = settings.get_profile("pyframe-sse")


@pytest.mark.parametrize("value, parsed", [
    ("42", "42"),
    ("1700000000000-0", "1700000000000-0"),
    (b"1700000000000-3", "1700000000000-3"),
    ("  7 \t", "7"),  # HTTP whitespace around a field value is not part of it
    ("an id with spaces", "an id with spaces"),
    ("~!@#$%^&*()", "~!@#$%^&*()"),
    ("x" * MAX_LAST_EVENT_ID_LENGTH, "x" * MAX_LAST_EVENT_ID_LENGTH),
])
def test_a_plausible_id_is_kept(value, parsed):
    assert parse_last_event_id(value) == parsed


@pytest.mark.parametrize("value", [
    None,
    "",
    "   ",
    "x" * (MAX_LAST_EVENT_ID_LENGTH + 1),
    b"x" * 10_000,
    "1\x00",
    "\x00",
    "1\r\n2",
    "1\n",
    "a\tb",
    "\x1b[31m",
    "del\x7f",
    "café",
    "\u2028",
    "1\udcff",  # how aiohttp hands over bytes that are not UTF-8 (surrogateescape)
    b"caf\xc3\xa9",
    b"\xff",
    bytearray(b"\x00"),
    12,
    ["1"],
])
def test_anything_else_is_treated_as_absent(value):
    assert parse_last_event_id(value) is None


def test_the_limit_can_be_set():
    assert parse_last_event_id("12345", max_length=4) is None
    assert parse_last_event_id("1234", max_length=4) == "1234"


def test_one_header_is_used_and_several_are_ambiguous():
    assert last_event_id_from_headers([]) is None
    assert last_event_id_from_headers(["5"]) == "5"
    assert last_event_id_from_headers(iter([b"5-1"])) == "5-1"
    assert last_event_id_from_headers(["5", "5"]) is None
    assert last_event_id_from_headers(["5", "6"]) is None
    assert last_event_id_from_headers(["\x00"]) is None


@FUZZ
@given(st.one_of(st.text(st.characters(codec=None)), st.binary()))
def test_no_value_raises_and_a_kept_one_is_printable_ascii(value):
    parsed = parse_last_event_id(value)
    if parsed is not None:
        assert 0 < len(parsed) <= MAX_LAST_EVENT_ID_LENGTH
        assert all(" " <= char <= "~" for char in parsed)
        assert parsed == parsed.strip(" ")
