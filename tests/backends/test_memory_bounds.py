"""The memory backend stays bounded: a key-count cap with LRU eviction, TTLs swept by an owned
task, logs capped by length, age and stream count, subscription queues capped."""

from __future__ import annotations

import pytest
from structlog.testing import capture_logs

from pyframe.backends import MemoryBackend, MemoryOptions, OperationFailed
from pyframe.backends.keyspace import MAX_HASH_FIELDS

from .ops_for_tests import GCRA, HSET
from .support import FakeClock, eventually


@pytest.fixture
async def open_memory(clock: FakeClock):
    backends: list[MemoryBackend] = []

    async def make(**options) -> MemoryBackend:
        backend = MemoryBackend(MemoryOptions(**options), clock=clock)
        await backend.open()
        backends.append(backend)
        return backend

    yield make
    for backend in backends:
        await backend.close()


async def test_the_key_cap_evicts_the_least_recently_used(open_memory):
    backend = await open_memory(max_keys=3)
    store = backend.store
    for key in ("a", "b", "c"):
        await store.set(key, b"v")
    assert await store.get("a") == b"v"  # a is now the most recently used
    await store.set("d", b"v")
    assert await store.get("b") is None
    assert [await store.get(k) for k in ("a", "c", "d")] == [b"v"] * 3
    assert backend.keyspace.evicted == 1
    assert backend.health().counters["evicted_keys"] == 1


async def test_a_flood_of_rate_limit_buckets_stays_under_the_default_cap(open_memory):
    backend = await open_memory()
    cap = MemoryOptions().max_keys
    assert cap == 100_000
    interval = 1_000_000
    for client in range(cap + 50_000):  # every request from a new address
        await backend.store.run(GCRA, [f"rl:{client}"], [interval, 10 * interval])
    assert len(backend.keyspace) == cap
    assert backend.keyspace.evicted == 50_000
    assert await backend.store.get("rl:0") is None  # the oldest buckets went first
    assert await backend.store.get(f"rl:{cap + 49_999}") is not None


async def test_expired_keys_are_swept_and_the_expiry_heap_stays_bounded(open_memory, clock):
    backend = await open_memory()
    for i in range(1000):
        await backend.store.set(f"k{i}", b"v", ttl=1)
    await backend.store.set("forever", b"v")
    clock.advance(2)
    assert len(backend.keyspace) == 1001  # nothing read them: still held until the sweep
    assert backend.sweep() == 1000
    assert len(backend.keyspace) == 1
    assert backend.keyspace.expired == 1000
    for _ in range(10_000):  # a session refreshed on every request
        await backend.store.set("session", b"v", ttl=60)
    assert len(backend.keyspace._heap) <= 2 * len(backend.keyspace) + 64


async def test_the_owned_sweeper_runs_by_itself_and_stops_at_close(open_memory, clock):
    backend = await open_memory(sweep_interval=0.01)
    for i in range(100):
        await backend.store.set(f"k{i}", b"v", ttl=1)
    clock.advance(5)

    async def swept() -> bool:
        return len(backend.keyspace) == 0
    await eventually(swept, what="the background sweep")
    assert backend._sweeper.running
    await backend.close()
    assert not backend._sweeper.running


async def test_a_crashing_sweep_is_logged_and_restarted(open_memory, clock, monkeypatch):
    backend = await open_memory(sweep_interval=0.01)
    real_sweep = backend.keyspace.sweep
    calls = {"n": 0}

    def flaky_sweep(limit: int = 10_000) -> int:
        calls["n"] += 1
        if calls["n"] == 1:
            raise RuntimeError("injected fault")
        return real_sweep(limit)

    monkeypatch.setattr(backend.keyspace, "sweep", flaky_sweep)
    with capture_logs() as logs:
        await backend.store.set("k", b"v", ttl=1)
        clock.advance(5)

        async def swept() -> bool:
            return len(backend.keyspace) == 0
        await eventually(swept, what="the sweep after the restart")
    crashes = [e for e in logs if e["event"] == "backend_task_crashed"]
    assert len(crashes) == 1 and crashes[0]["task"] == "memory-sweeper"
    assert backend._sweeper.restarts == 1


async def test_log_streams_are_capped_by_count_and_idle_ones_swept(open_memory, clock):
    backend = await open_memory(max_streams=2, log_max_age=1)
    log = backend.log
    first = await log.append("a", b"1")
    await log.append("b", b"1")
    await log.read_after("a", None)  # a is now the most recently used stream
    await log.append("c", b"1")  # evicts b
    assert len(log) == 2 and log.evicted == 1
    assert (await log.read_after("b", None)).entries == []
    assert (await log.read_after("a", first)).missed is False
    clock.advance(2.5)  # past twice the age: idle streams go
    assert backend.sweep() == 2
    assert len(log) == 0


async def test_one_stream_is_capped_by_length(open_memory):
    backend = await open_memory(log_maxlen=100)
    for i in range(1000):
        await backend.log.append("s", b"%d" % i)
    read = await backend.log.read_after("s", None, limit=1000)
    assert len(read.entries) == 100 and read.entries[0].data == b"900"


async def test_a_hash_is_capped_in_fields(open_memory):
    store = (await open_memory()).store
    for i in range(MAX_HASH_FIELDS):
        await store.run(HSET, ["h"], [f"f{i}", "v"])
    await store.run(HSET, ["h"], ["f0", "replaced"])  # an existing field is fine
    with pytest.raises(OperationFailed, match="at most"):
        await store.run(HSET, ["h"], ["one-more", "v"])


async def test_a_lagging_subscription_is_logged_once(open_memory):
    backend = await open_memory(queue_size=2)
    sub = backend.broker.subscribe("t")
    with capture_logs() as logs:
        for i in range(10):
            await backend.broker.publish("t", b"%d" % i)
    assert sub.dropped == 8 and sub.qsize() == 2
    lagging = [e for e in logs if e["event"] == "subscription_lagging"]
    assert len(lagging) == 1 and lagging[0]["topic"] == "t"


async def test_the_data_view_clock_is_the_injected_one(clock):
    backend = MemoryBackend(clock=clock)
    clock.now = 1_700_000_000.25
    assert backend.keyspace.time() == (1_700_000_000, 250_000)
