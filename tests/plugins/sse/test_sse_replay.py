"""Replay merges the log read and the live channel: every event once, in id order, no gap
without a missed_events notice, on counter ids and on Redis Streams ids alike."""

from __future__ import annotations

import pytest

from pyframe_sse.encoder import encode_event, prepare_event
from pyframe_sse.ids import lost_to_trimming, stream_id_key
from pyframe_sse.parser import EventStreamParser, ReceivedEvent
from pyframe_sse.replay import (MISSED_EVENTS, Entry, MissedEvents, ReplayMerge,
                                ReplayOverflowError)


def entries(*ids: str) -> list[Entry]:
    return [Entry(event_id, f"payload {event_id}") for event_id in ids]


def ids_of(items) -> list[str]:
    return [item.id if isinstance(item, Entry) else f"<{item.reason}>" for item in items]


@pytest.mark.parametrize("event_id, key", [
    ("0", (0, 0)),
    ("42", (42, 0)),
    ("42-0", (42, 0)),
    ("007", (7, 0)),
    ("1700000000000-0", (1700000000000, 0)),
    ("1700000000000-15", (1700000000000, 15)),
    ("001700000000000-0000000012", (1700000000000, 12)),  # zero-padded to a fixed width
    ("18446744073709551615-18446744073709551615", (2**64 - 1, 2**64 - 1)),
    ("18446744073709551616", None),
    ("1-18446744073709551616", None),
    ("", None),
    ("-1", None),
    ("1-", None),
    ("1-2-3", None),
    (" 1", None),
    ("1 ", None),
    ("0x10", None),
    ("١٢", None),  # digits of another script
    ("abc", None),
    ("1" * 21, None),
])
def test_stream_ids_and_counters_share_one_order(event_id, key):
    assert stream_id_key(event_id) == key


def test_ids_compare_as_numbers_not_strings():
    ordered = ["9", "10", "999-5", "1000-0", "1000-1", "1700000000000-0", "1700000000000-10",
               "1700000000001-0"]
    assert sorted(ordered, key=stream_id_key) == ordered
    assert sorted(ordered) != ordered  # string order would replay out of order


def test_lost_to_trimming_compares_with_the_high_water_mark():
    assert not lost_to_trimming("5", None)
    assert not lost_to_trimming("5", "5")  # the client has 5, the log holds 6 onwards
    assert not lost_to_trimming("6", "5")
    assert lost_to_trimming("4", "5")
    assert lost_to_trimming("1700000000000-0", "1700000000000-1")
    assert not lost_to_trimming("1700000000001-0", "1700000000000-9")
    assert lost_to_trimming("not-an-id", "5")  # the log cannot vouch for it
    with pytest.raises(ValueError, match="not an id of this log"):
        lost_to_trimming("5", "garbage")


def test_a_first_connection_gets_live_events_only():
    merge = ReplayMerge(None)
    assert not merge.awaiting_backlog and merge.read_after is None and merge.last_id is None
    assert ids_of(merge.live(Entry("5", "a"))) == ["5"]
    assert ids_of(merge.live(Entry("6", "b"))) == ["6"]
    assert merge.live(Entry("6", "b")) == []  # delivered twice by the channel: sent once
    assert merge.duplicates == 1 and merge.last_id == "6"
    with pytest.raises(RuntimeError, match="without a log read"):
        merge.backlog([])


def test_a_reconnect_replays_then_goes_live_without_duplicates():
    merge = ReplayMerge("2")
    assert merge.awaiting_backlog and merge.read_after == "2"
    # Events 4 and 5 arrive live while the log is read; 4 is also in the read.
    assert merge.live(Entry("4", "live 4")) == []
    assert merge.live(Entry("5", "live 5")) == []
    out = merge.backlog(entries("3", "4"))
    assert ids_of(out) == ["3", "4", "5"]
    assert out[1].payload == "payload 4"  # the log's copy
    assert not merge.awaiting_backlog and merge.last_id == "5"
    assert merge.live(Entry("4", "late copy")) == []
    assert merge.live(Entry("5", "late copy")) == []
    assert ids_of(merge.live(Entry("6", "x"))) == ["6"]
    assert merge.duplicates == 3


def test_a_client_that_is_up_to_date_gets_nothing_twice():
    merge = ReplayMerge("1700000000000-1")
    assert merge.live(Entry("1700000000000-1", "x")) == []
    assert merge.backlog([], newest_id="1700000000000-1") == []
    assert ids_of(merge.live(Entry("1700000000005-0", "y"))) == ["1700000000005-0"]


def test_redis_stream_ids_replay_in_numeric_order():
    merge = ReplayMerge("999-5")
    merge.live(Entry("1000-1", "live"))
    out = merge.backlog(entries("999-6", "1000-0", "1000-1"))
    assert ids_of(out) == ["999-6", "1000-0", "1000-1"]


def test_an_expired_id_gets_the_notice_first():
    merge = ReplayMerge("3")
    merge.live(Entry("9", "live"))
    out = merge.backlog(entries("6", "7", "8"), expired=lost_to_trimming("3", "5"))
    assert ids_of(out) == ["<expired>", "6", "7", "8", "9"]
    assert out[0] == MissedEvents(reason="expired", last_event_id="3")
    # An event the log trimmed before it could be read, arriving live late, cannot be sent
    # in order any more; the notice has already told the client it missed events.
    assert merge.live(Entry("5", "trimmed")) == []
    assert ids_of(merge.live(Entry("10", "x"))) == ["10"]


def test_a_log_that_went_behind_the_client_gets_a_reset_notice():
    # A memory log restarted: it numbers from 1 again, the client last had 500.
    merge = ReplayMerge("500")
    merge.live(Entry("2", "b"))
    out = merge.backlog([], newest_id="1")
    assert ids_of(out) == ["<reset>", "2"]
    assert out[0] == MissedEvents(reason="reset", last_event_id="500")
    assert ids_of(merge.live(Entry("3", "c"))) == ["3"]


def test_a_reset_is_noticed_from_held_live_events_when_the_read_cannot_tell():
    merge = ReplayMerge("500")
    merge.live(Entry("1", "a"))
    merge.live(Entry("2", "b"))
    assert ids_of(merge.backlog([])) == ["<reset>", "1", "2"]


def test_a_reset_is_noticed_from_the_first_live_event_after_an_empty_read():
    merge = ReplayMerge("500")
    assert merge.backlog([]) == []
    assert ids_of(merge.live(Entry("1", "a"))) == ["<reset>", "1"]
    assert ids_of(merge.live(Entry("2", "b"))) == ["2"]
    assert merge.live(Entry("2-0", "copy")) == []  # "2-0" is "2": the same event again
    # Ids going back again later: noticed again, never dropped.
    assert ids_of(merge.live(Entry("1-5", "again"))) == ["<reset>", "1-5"]


def test_an_id_the_log_never_issues_is_a_first_connection():
    merge = ReplayMerge("hello")
    assert not merge.awaiting_backlog and merge.read_after is None
    assert ids_of(merge.live(Entry("1", "a"))) == ["1"]


def test_catching_up_after_lost_live_messages():
    merge = ReplayMerge(None)
    assert merge.catch_up() is None and not merge.awaiting_backlog  # no position yet
    merge.live(Entry("1", "a"))
    merge.live(Entry("2", "b"))
    # The channel lost 3 and 4 (a slow consumer, a broker reconnect): read the log again.
    assert merge.catch_up() == "2" and merge.awaiting_backlog
    assert merge.catch_up() == "2"
    assert merge.live(Entry("5", "e")) == []
    assert ids_of(merge.backlog(entries("3", "4", "5"))) == ["3", "4", "5"]
    assert merge.live(Entry("5", "copy")) == []
    assert ids_of(merge.live(Entry("6", "f"))) == ["6"]


def test_live_events_held_during_the_read_are_bounded():
    merge = ReplayMerge("1", max_pending=3)
    for event_id in ("2", "3", "4"):
        merge.live(Entry(event_id, "x"))
    with pytest.raises(ReplayOverflowError, match="over 3 live events"):
        merge.live(Entry("5", "x"))


def test_ids_the_key_cannot_read_are_a_bug_not_skipped():
    merge = ReplayMerge(None)
    with pytest.raises(ValueError, match="not an id of this log"):
        merge.live(Entry("garbage", "x"))
    merge = ReplayMerge("1")
    with pytest.raises(ValueError, match="not an id of this log"):
        merge.backlog(entries("x"))


def test_plain_pairs_from_a_log_are_entries():
    merge = ReplayMerge("1")
    merge.live(("3", b"three"))
    out = merge.backlog([("2", b"two"), ("3", b"three")])
    assert out == [Entry("2", b"two"), Entry("3", b"three")]
    assert merge.live(("4", b"four")) == [Entry(id="4", payload=b"four")]


def test_another_logs_order_can_be_plugged_in():
    # A log whose ids are fixed-width hex: "000a" after "0009".
    def hex_key(event_id: str) -> int | None:
        return int(event_id, 16) if len(event_id) == 4 else None

    merge = ReplayMerge("0009", key=hex_key)
    merge.live(Entry("000b", "live"))
    assert ids_of(merge.backlog(entries("000a", "000b"))) == ["000a", "000b"]


def test_the_notice_is_an_event_without_an_id():
    notice = MissedEvents(reason="expired", last_event_id="1700000000000-0")
    frame = encode_event(notice.event())
    parser = EventStreamParser()
    parser.feed(b"id: 1700000000000-0\ndata: before\n\n")
    [received] = parser.feed(frame)
    assert received.event == MISSED_EVENTS == "missed_events"
    assert received.json() == {"reason": "expired", "last_event_id": "1700000000000-0"}
    # No id: a client that drops now reconnects from where it really was.
    assert received.last_event_id == "1700000000000-0" and b"id:" not in frame


def test_entries_carry_prepared_events_to_the_wire():
    body = prepare_event({"event": "tick", "data": {"n": 1}})
    merge = ReplayMerge(None)
    [entry] = merge.live(Entry("1700000000000-0", body))
    parser = EventStreamParser()
    assert parser.feed(entry.payload.with_id(entry.id).frame) == [
        ReceivedEvent(event="tick", data='{"n":1}', last_event_id="1700000000000-0")]
