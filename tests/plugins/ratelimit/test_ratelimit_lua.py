"""The limiter's atomic operation through the shared backend, on memory:// and on Redis, against
its Python twin on a dict store: the same replies, the same stored values and TTLs, the same
errors. On Redis that is gcra.lua (by EVALSHA) against the Python half.

Each step runs the op first and then the twin at the ``now_us`` the op reports (Redis keeps
its own clock, TIME; the memory backend runs on an injected one). No redis-py here: the
backend is the only Redis client.
"""

from __future__ import annotations

import asyncio
import uuid

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pyframe.backends import BackendRegistry, MemoryBackend, MemoryOptions
from pyframe.plugin import AtomicOp, OperationFailed
from pyframe_ratelimit import GCRA_OP, GcraStrategy, Limit, ScriptError

from .support import FakeClock, unique_prefix

PROPS = settings(settings.get_profile("pyframe-ratelimit"), max_examples=100)
STRATEGY = GcraStrategy()
# Read a key's TTL through the store, both halves: what the limiter's op left behind.
PTTL: AtomicOp[int] = AtomicOp("test-pttl", "return redis.call('PTTL', KEYS[1])",
                               lambda data, keys, args: data.pttl(keys[0]))


class Store:
    """One kind of shared backend for a test: ``await store.run(keys, args)`` and friends."""

    def __init__(self, kind: str, redis_url: str | None) -> None:
        self.kind = kind
        self.clock = FakeClock()
        self.redis_url = redis_url
        self.registry: BackendRegistry | None = None
        self.backend = None

    async def open(self) -> Store:
        if self.kind == "memory":
            self.backend = MemoryBackend(MemoryOptions(), clock=self.clock)
            await self.backend.open()
        else:
            self.registry = BackendRegistry()
            lease = await self.registry.open(f"{self.redis_url}?prefix={unique_prefix()}")
            self.backend = lease.backend
        return self

    async def close(self) -> None:
        if self.registry is not None:
            await self.registry.close()
        else:
            await self.backend.close()

    @property
    def store(self):
        return self.backend.store

    async def run(self, keys, args) -> list[int]:
        return await self.store.run(GCRA_OP, keys, args)

    def elapse(self, micros: int) -> None:
        """Time passing between two calls: the memory clock moves; Redis's moves by itself."""
        self.clock.advance(micros / 1_000_000)


@pytest.fixture(params=["memory", "redis"])
def kind(request) -> str:
    if request.param == "redis":
        request.getfixturevalue("redis_url")
    return request.param


@pytest.fixture
async def backend(kind, request):
    url = request.getfixturevalue("redis_url") if kind == "redis" else None
    store = await Store(kind, url).open()
    yield store
    await store.close()


def fresh_keys(limits):
    # A new client tag per sequence; the keys expire within milliseconds anyway.
    return STRATEGY.keys("pyframe-test:rl:", f"test:{uuid.uuid4()}", "default", limits)


class Twin:
    """The Python half on a dict store, moved to whatever time the op reported."""

    def __init__(self, tools) -> None:
        self.clock = tools.Clock(0)
        self.store = tools.DictStore(self.clock)

    def run(self, keys, args, now_us):
        self.clock.now_us = now_us
        return STRATEGY.apply(self.store, keys, args, now_us)


# Microsecond intervals, so the time between two calls (~0.1 ms on Redis, drawn on memory)
# refills some buckets and not others: every branch gets taken without the test waiting.
SMALL_LIMITS = st.lists(
    st.tuples(st.integers(20, 3000), st.integers(1, 6)),  # interval_us, burst
    min_size=1, max_size=3)
STEPS = st.lists(st.one_of(
    st.tuples(st.just("hit"), st.integers(1, 3)),
    st.tuples(st.just("wait"), st.integers(0, 5000)),
    st.tuples(st.just("garbage"), st.integers(0, 2)),
    st.tuples(st.just("evict"), st.integers(0, 2)),
), min_size=1, max_size=40)


async def run_steps(store: Store, twin: Twin, limits, steps) -> None:
    keys = fresh_keys(limits)
    try:
        for action, arg in steps:
            if action == "hit":
                cost = min(arg, *(limit.burst for limit in limits))
                args = STRATEGY.arguments(limits, cost)
                reply = await store.run(keys, args)
                assert twin.run(keys, args, reply[2]) == reply
            elif action == "wait":
                store.elapse(arg)
            elif arg < len(keys):
                key = keys[arg]
                if action == "garbage":
                    await store.store.set(key, b"not-a-time", ttl=60)
                    twin.store.set(key, b"not-a-time", px=60_000)
                else:
                    await store.store.delete(key)
                    twin.store.data.pop(key, None)
    finally:
        for key in keys:
            await store.store.delete(key)


def test_the_op_and_the_python_half_agree_step_by_step(kind, request, tools):
    url = request.getfixturevalue("redis_url") if kind == "redis" else None
    # Hypothesis drives a sync function: one event loop and one backend for every example.
    with asyncio.Runner() as runner:
        store = runner.run(Store(kind, url).open())
        try:
            @PROPS
            @given(shapes=SMALL_LIMITS, steps=STEPS)
            def check(shapes, steps):
                # count per second such that the interval is the one drawn (rounding keeps it).
                limits = [Limit(1_000_000 // interval, 1, burst, f"l{i}")
                          for i, (interval, burst) in enumerate(shapes)]
                runner.run(run_steps(store, Twin(tools), limits, steps))

            check()
        finally:
            runner.run(store.close())


async def test_the_same_decisions_over_many_calls(backend, tools):
    limits = [Limit(1_000_000 // 200, 1, 3, "a"), Limit(1_000_000 // 1500, 1, 2, "b")]
    keys = fresh_keys(limits)
    twin = Twin(tools)
    outcomes = set()
    for _ in range(300):
        args = STRATEGY.arguments(limits)
        reply = await backend.run(keys, args)
        assert twin.run(keys, args, reply[2]) == reply
        outcomes.add(reply[0])
        backend.elapse(150)
    assert outcomes == {0, 1}


async def test_stored_value_and_ttl_match(backend, tools):
    limits = [Limit(60, 60, 10, name="a"), Limit(7, 3600, name="b")]
    keys = fresh_keys(limits)
    twin = Twin(tools)
    args = STRATEGY.arguments(limits, 2)
    reply = await backend.run(keys, args)
    assert reply[0] == 1
    twin.run(keys, args, reply[2])
    for key in keys:
        assert await backend.store.get(key) == twin.store.data[key][0]
        ttl = twin.store.ttls[key]
        assert ttl - 5_000 < await backend.store.run(PTTL, [key]) <= ttl
        await backend.store.delete(key)


async def test_a_refusal_writes_nothing(backend):
    limits = [Limit(1, 3600, name="tight"), Limit(100, 3600, name="loose")]
    keys = fresh_keys(limits)
    assert (await backend.run(keys, STRATEGY.arguments(limits)))[0] == 1
    before = [await backend.store.get(key) for key in keys]
    reply = await backend.run(keys, STRATEGY.arguments(limits))
    assert reply[0] == 0 and reply[1] > 3_590_000_000
    assert [await backend.store.get(key) for key in keys] == before
    for key in keys:  # an hour's TTL: leave the shared Redis as it was
        await backend.store.delete(key)


@pytest.mark.parametrize("nkeys, args", [
    (1, ["1", "10"]),
    (1, ["0", "10", "10"]),
    (1, ["1", "0", "10"]),
    (1, ["2", "10", "15"]),
    (1, ["1", "1e3", "5000"]),
    (2, ["1", "10", "10", "10", "-1"]),
])
async def test_both_halves_refuse_the_same_arguments(backend, tools, nkeys, args):
    keys = fresh_keys([Limit(1, 1, name=f"k{i}") for i in range(nkeys)])
    with pytest.raises(OperationFailed, match="pyframe-ratelimit"):
        await backend.run(keys, args)
    with pytest.raises(ScriptError):
        Twin(tools).run(keys, args, 0)
