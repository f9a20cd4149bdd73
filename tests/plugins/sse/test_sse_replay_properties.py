"""Replay, simulated over generated histories: any log size, any client position, any timing
of the subscription, the read and the live events around it, on both kinds of ids."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from pyframe_sse.ids import lost_to_trimming, stream_id_key
from pyframe_sse.replay import Entry, MissedEvents, ReplayMerge

FUZZ = settings.get_profile("pyframe-sse")


@st.composite
def histories(draw) -> list[str]:
    """The ids a channel's log issued, oldest first: counters, Redis Streams ids, or those
    zero-padded to a fixed width."""
    count = draw(st.integers(0, 30))
    scheme = draw(st.sampled_from(["counter", "stream", "padded"]))
    if scheme == "counter":
        first = draw(st.integers(1, 5))
        return [str(first + index) for index in range(count)]
    millis, sequence, ids = draw(st.integers(1_700_000_000_000, 1_700_000_000_999)), 0, []
    for index in range(count):
        step = draw(st.integers(0, 3))  # several events in one millisecond share it
        if index and step:
            millis, sequence = millis + step, 0
        elif index:
            sequence += 1
        ids.append(f"{millis:015d}-{sequence:010d}" if scheme == "padded"
                   else f"{millis}-{sequence}")
    return ids


def future_id(ids: list[str]) -> str:
    return "1800000000000-0" if ids and "-" in ids[0] else "1000000"


def run(merge: ReplayMerge, ids: list[str], live: list[int], held: int,
        read: tuple[int, int] | None) -> list:
    """Feed ``held`` live events, then the log read (retained range), then the rest."""
    out: list = []
    for index in live[:held]:
        out += merge.live(Entry(ids[index], index))
    if merge.awaiting_backlog:
        assert read is not None
        keep_from, read_at = read
        after = stream_id_key(merge.read_after)
        entries = [Entry(ids[index], index) for index in range(keep_from, read_at)
                   if stream_id_key(ids[index]) > after]
        trimmed_through = ids[keep_from - 1] if keep_from else None
        out += merge.backlog(entries,
                             expired=lost_to_trimming(merge.read_after, trimmed_through),
                             newest_id=ids[read_at - 1] if read_at else None)
    for index in live[held:]:
        out += merge.live(Entry(ids[index], index))
    return out


def split(out: list) -> tuple[list[MissedEvents], list[int]]:
    notices = [item for item in out if isinstance(item, MissedEvents)]
    assert all(isinstance(item, MissedEvents) for item in out[:len(notices)]), "notice first"
    delivered = [item.payload for item in out if isinstance(item, Entry)]
    assert all(item.id is not None for item in out if isinstance(item, Entry))
    return notices, delivered


@FUZZ
@given(histories(), st.data())
def test_a_reconnect_gets_everything_after_its_id_once_in_order(ids, data):
    count = len(ids)
    seen = data.draw(st.integers(-1, count - 1), label="client's last event (-1: none yet)")
    # The client saw its last event before it reconnected: the new subscription comes later.
    subscribed = data.draw(st.integers(seen + 1, count), label="subscribed before event")
    read_at = data.draw(st.integers(subscribed, count), label="log read before event")
    keep_from = max(0, read_at - data.draw(st.integers(0, count + 1), label="log length"))
    live = list(range(subscribed, count))
    held = data.draw(st.integers(0, len(live)), label="live events before the read returns")

    merge = ReplayMerge(ids[seen] if seen >= 0 else None)
    notices, delivered = split(run(merge, ids, live, held, (keep_from, read_at)))

    assert delivered == sorted(set(delivered)), "in order, each once"
    wanted = list(range(seen + 1, count)) if seen >= 0 else live
    expired = seen >= 0 and keep_from - 1 > seen
    assert notices == ([MissedEvents(reason="expired", last_event_id=ids[seen])]
                       if expired else [])
    if expired:
        # Only events the log trimmed before the read may be missing, and the notice said so.
        assert set(delivered) <= set(wanted)
        assert set(wanted) - set(delivered) <= set(range(seen + 1, keep_from))
    else:
        assert delivered == wanted, "no gap, no duplicate"
    if delivered:
        assert merge.last_id == ids[delivered[-1]]


@FUZZ
@given(histories(), st.data())
def test_a_client_ahead_of_the_log_is_told_and_then_follows_it(ids, data):
    # The log lost its history (a memory log restarted); the client's id is newer than all.
    count = len(ids)
    subscribed = data.draw(st.integers(0, count), label="subscribed before event")
    read_at = data.draw(st.integers(subscribed, count), label="log read before event")
    live = list(range(subscribed, count))
    held = data.draw(st.integers(0, len(live)), label="live events before the read returns")
    client = future_id(ids)

    merge = ReplayMerge(client)
    notices, delivered = split(run(merge, ids, live, held, (0, read_at)))

    told = bool(live) or read_at > 0
    assert notices == ([MissedEvents(reason="reset", last_event_id=client)] if told else [])
    assert delivered == live


@FUZZ
@given(histories(), st.data())
def test_catching_up_after_lost_live_messages_fills_the_gap(ids, data):
    count = len(ids)
    if count < 2:
        return
    lost_from = data.draw(st.integers(1, count - 1), label="first live event lost")
    lost_to = data.draw(st.integers(lost_from, count - 1), label="first event after the loss")
    read_at = data.draw(st.integers(lost_to + 1, count), label="log read before event")
    after_loss = list(range(lost_to, count))
    held = data.draw(st.integers(1, len(after_loss)), label="live events before the read")

    merge = ReplayMerge(None)
    out: list = []
    for index in range(lost_from):
        out += merge.live(Entry(ids[index], index))
    # The channel reports the loss with the next message it delivers.
    assert merge.catch_up() == ids[lost_from - 1]
    out += run(merge, ids, after_loss, held, (0, read_at))
    notices, delivered = split(out)
    assert notices == []
    assert delivered == list(range(count))
