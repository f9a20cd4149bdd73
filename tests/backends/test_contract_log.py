"""The EventLog contract, run against the memory backend and against Redis Streams."""

from __future__ import annotations

import re

import pytest

from pyframe.backends import BackendClosed, InvalidLogId, LogEntry, MessageTooLarge


async def test_ids_increase_and_reads_resume_after_an_id(env):
    log = (await env.open()).log
    ids = [await log.append("s", b"%d" % i) for i in range(10)]
    assert all(re.fullmatch(r"\d{15}-\d{10}", i) for i in ids)
    assert ids == sorted(ids) and len(set(ids)) == 10  # plain string order is log order
    everything = await log.read_after("s", None)
    assert everything.entries == [LogEntry(i, b"%d" % n) for n, i in enumerate(ids)]
    assert everything.missed is False
    after = await log.read_after("s", ids[6])
    assert [e.data for e in after.entries] == [b"7", b"8", b"9"]
    assert not after.missed
    page = await log.read_after("s", ids[2], limit=3)
    assert [e.id for e in page.entries] == ids[3:6]
    assert (await log.read_after("s", ids[-1])).entries == []


async def test_streams_are_separate(env):
    log = (await env.open()).log
    await log.append("a", b"in a")
    await log.append("b", b"in b")
    assert [e.data for e in (await log.read_after("a", None)).entries] == [b"in a"]


async def test_length_trimming_says_exactly_who_missed_what(env):
    log = (await env.open(log_maxlen=3)).log
    ids = [await log.append("s", b"%d" % i) for i in range(5)]
    kept = await log.read_after("s", None)
    assert [e.data for e in kept.entries] == [b"2", b"3", b"4"]
    assert kept.missed is False  # no position given: nothing to have missed
    gap = await log.read_after("s", ids[0])  # entry 1 came after it and is gone
    assert gap.missed is True and [e.data for e in gap.entries] == [b"2", b"3", b"4"]
    edge = await log.read_after("s", ids[1])  # the newest trimmed entry: nothing after it lost
    assert edge.missed is False and len(edge.entries) == 3
    assert (await log.read_after("s", ids[3])).missed is False


async def test_age_trimming_drops_old_entries(env):
    log = (await env.open(log_max_age=0.4)).log
    first = await log.append("s", b"old")
    assert await log.read_after("s", first) == ([], False)
    second = await log.append("s", b"newer")
    assert [e.data for e in (await log.read_after("s", None)).entries] == [b"old", b"newer"]

    async def both_gone() -> bool:
        read = await log.read_after("s", None)
        return read.entries == []
    await env.wait_until(both_gone, elapse=0.5)
    read = await log.read_after("s", first)
    assert read.missed is True  # "newer" came after it and aged out
    assert (await log.read_after("s", second)).missed is False  # it had seen everything


async def test_an_idle_stream_vanishes_and_then_cannot_vouch(env):
    log = (await env.open(log_max_age=0.2)).log
    last = await log.append("s", b"x")

    async def vanished() -> bool:
        # Twice the age after the last append the stream and its trim mark are gone.
        return (await log.read_after("s", last)).missed
    await env.wait_until(vanished, elapse=0.45)
    assert await log.read_after("s", None) == ([], False)


async def test_an_unknown_or_restarted_stream_cannot_vouch_for_an_old_id(env):
    log = (await env.open()).log
    empty = await log.read_after("never-written", None)
    assert empty.entries == [] and empty.missed is False
    stale = "000000000000001-0000000000"
    assert (await log.read_after("never-written", stale)).missed is True
    await log.append("fresh", b"x")
    assert (await log.read_after("fresh", stale)).missed is True


async def test_bad_arguments(env):
    log = (await env.open(max_message_size=4)).log
    with pytest.raises(MessageTooLarge):
        await log.append("s", b"12345")
    for bad in ("5", "1700000000000-0", "", "x" * 30):
        with pytest.raises(InvalidLogId):
            await log.read_after("s", bad)
    for limit in (0, 10_001):
        with pytest.raises(ValueError, match="limit"):
            await log.read_after("s", None, limit=limit)
    with pytest.raises(ValueError, match="stream"):
        await log.append("", b"x")


async def test_a_closed_backend_refuses_log_calls(env):
    backend = await env.open()
    await backend.close()
    with pytest.raises(BackendClosed):
        await backend.log.append("s", b"x")
