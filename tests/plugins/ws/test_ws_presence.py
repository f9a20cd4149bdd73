"""Presence records: the AtomicOp's two halves agree, a process that stops refreshing stops
counting within the lease, and counts never lean on a view older than the lease."""

from __future__ import annotations

import asyncio
import random

import msgspec
import pytest

from pyframe.backends import AtomicOp, MemoryBackend
from pyframe_ws.presence import PRESENCE, Presence, PresenceRecord, presence_key

from .support import delete_prefix, unique_prefix


class Clock:
    def __init__(self, now: float = 1_800_000_000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
async def memory(clock):
    backend = MemoryBackend(clock=clock)
    await backend.open()
    yield backend
    await backend.close()


def record(n: int, **groups: int) -> bytes:
    return msgspec.json.encode(PresenceRecord(n=n, g=groups))


async def run(store, me: str, ttl_ms: int, data: bytes) -> dict[bytes, bytes]:
    live = await store.run(PRESENCE, [presence_key("ns")], [me, ttl_ms, data])
    return dict(zip(live[::2], live[1::2], strict=True))


async def test_records_are_written_read_and_left(memory):
    store = memory.store
    assert await run(store, "p1", 1000, record(2, red=1)) == {b"p1": record(2, red=1)}
    assert await run(store, "p2", 1000, record(3)) == {b"p1": record(2, red=1),
                                                      b"p2": record(3)}
    assert await run(store, "p1", 1000, b"") == {b"p2": record(3)}  # p1 left


async def test_a_process_that_stops_refreshing_drops_out_within_its_lease(memory, clock):
    store = memory.store
    await run(store, "dead", 1000, record(5))
    clock.now += 0.999
    assert b"dead" in await run(store, "live", 1000, record(1))
    clock.now += 0.002  # dead's lease is over; live refreshed 3 ms ago
    assert await run(store, "live", 1000, record(1)) == {b"live": record(1)}


PTTL = AtomicOp("pttl", "return redis.call('PTTL', KEYS[1])",
                lambda data, keys, args: data.pttl(keys[0]))


async def test_the_hash_lasts_one_lease_past_the_last_write(memory, clock):
    store = memory.store
    await run(store, "p1", 500, record(1))
    assert 0 < await store.run(PTTL, [presence_key("ns")]) <= 500
    clock.now += 0.501
    assert await store.run(PTTL, [presence_key("ns")]) == -2  # gone: every process died


async def test_counts_sum_the_other_processes(memory, clock):
    mine = PresenceRecord(n=2, g={"red": 2})
    a = Presence(memory.store, "ns", "a", interval=1, ttl=3, snapshot=lambda: mine, clock=clock)
    b = Presence(memory.store, "ns", "b", interval=1, ttl=3,
                 snapshot=lambda: PresenceRecord(n=5, g={"red": 1, "blue": 4}), clock=clock)
    await b.refresh()
    await a.refresh()
    assert (a.others_total(), a.others_in_group("red"), a.others_in_group("blue")) == (5, 1, 4)
    assert (b.others_total(), b.others_in_group("red")) == (0, 0)  # b read before a wrote
    await b.refresh()
    assert (b.others_total(), b.others_in_group("red")) == (2, 2)
    # No refresh for longer than the lease (the backend is down): only local counts remain.
    clock.now += 3.5
    assert (a.others_total(), a.others_in_group("blue")) == (0, 0)
    await b.stop()  # leaves its record
    await a.refresh()
    assert a.others_total() == 0


async def test_an_unreadable_record_is_left_out(memory):
    await run(memory.store, "future-version", 10_000, b'{"n": "many"}')
    await run(memory.store, "ok", 10_000, record(4))
    reader = Presence(memory.store, "ns", "me", interval=1, ttl=10,
                      snapshot=lambda: PresenceRecord(n=0))
    await reader.refresh()
    assert reader.others_total() == 4


async def test_the_lua_half_agrees_with_the_python_half(redis_url, memory):
    """Random writes and leaves by a few processes, with a lease long enough that nothing
    expires: both stores answer the same live set after every step."""
    from pyframe_redis import create

    prefix = unique_prefix()
    redis_backend = create(f"{redis_url}?prefix={prefix}")
    await redis_backend.open()
    rng = random.Random(15)
    try:
        for _ in range(60):
            me = rng.choice(["p1", "p2", "p3", "p4"])
            data = b"" if rng.random() < 0.25 else record(rng.randrange(0, 50),
                                                          **{"g": rng.randrange(1, 9)})
            expected = await run(memory.store, me, 60_000, data)
            assert await run(redis_backend.store, me, 60_000, data) == expected
    finally:
        await redis_backend.close()
        await delete_prefix(redis_url, prefix)


async def test_on_redis_a_stale_field_drops_out_by_the_servers_clock(redis_url):
    from pyframe_redis import create

    prefix = unique_prefix()
    backend = create(f"{redis_url}?prefix={prefix}")
    await backend.open()
    try:
        await run(backend.store, "dead", 200, record(7))
        assert b"dead" in await run(backend.store, "live", 60_000, record(1))
        loop = asyncio.get_running_loop()
        deadline = loop.time() + 5.0
        while b"dead" in await run(backend.store, "live", 60_000, record(1)):
            assert loop.time() < deadline, "the dead process still counts after 5 s"
            await asyncio.sleep(0.05)  # a poll step: Redis's clock cannot be moved
        assert 0 < await backend.store.run(PTTL, [presence_key("ns")]) <= 60_000
    finally:
        await backend.close()
        await delete_prefix(redis_url, prefix)
