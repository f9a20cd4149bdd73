"""The KeyValueStore contract, run against the memory backend and against Redis: the same
calls and the same AtomicOps give the same answers."""

from __future__ import annotations

import time

import pytest

from pyframe.backends import BackendClosed, MessageTooLarge, OperationFailed

from .ops_for_tests import ECHO, GCRA, HSET, NATURAL, PRESENCE, PTTL, REFUSE, SHAPES, TOUCH


async def test_get_set_delete(env):
    store = (await env.open()).store
    assert await store.get("k") is None
    await store.set("k", b"\x00value\xff")
    assert await store.get("k") == b"\x00value\xff"
    await store.set("k", b"second")
    assert await store.get("k") == b"second"
    assert await store.delete("k") is True
    assert await store.delete("k") is False
    assert await store.get("k") is None


async def test_a_ttl_ends_the_key(env):
    store = (await env.open()).store
    await store.set("short", b"v", ttl=0.3)
    await store.set("long", b"v", ttl=60)
    assert await store.get("short") == b"v"
    assert 0 < await store.run(PTTL, ["short"]) <= 300
    assert await store.run(PTTL, ["missing"]) == -2

    async def short_gone() -> bool:
        return await store.get("short") is None
    await env.wait_until(short_gone, elapse=0.35)
    assert await store.get("long") == b"v"


async def test_set_without_ttl_clears_the_ttl(env):
    store = (await env.open()).store
    await store.set("k", b"v", ttl=0.2)
    await store.set("k", b"w")
    assert await store.run(PTTL, ["k"]) == -1


async def test_incr_counts_and_applies_the_ttl_only_when_it_creates_the_key(env):
    store = (await env.open()).store
    assert await store.incr("n") == 1
    assert await store.incr("n", 41) == 42
    assert await store.incr("n", -50) == -8
    assert await store.get("n") == b"-8"
    assert await store.run(PTTL, ["n"]) == -1
    assert await store.incr("windowed", ttl=0.3) == 1
    assert await store.incr("windowed", ttl=100) == 2  # an existing key keeps its expiry
    assert 0 < await store.run(PTTL, ["windowed"]) <= 300

    async def window_over() -> bool:
        return await store.get("windowed") is None
    await env.wait_until(window_over, elapse=0.35)
    assert await store.incr("windowed", ttl=100) == 1


async def test_incr_refuses_what_is_not_a_64_bit_integer(env):
    store = (await env.open()).store
    await store.set("text", b"abc")
    with pytest.raises(OperationFailed, match="not an integer"):
        await store.incr("text")
    await store.set("big", b"9223372036854775807")
    with pytest.raises(OperationFailed, match="overflow"):
        await store.incr("big")
    with pytest.raises(TypeError):
        await store.incr("n", 1.5)  # type: ignore[arg-type]


async def test_values_are_bytes_within_the_cap(env):
    store = (await env.open(max_message_size=8)).store
    with pytest.raises(MessageTooLarge):
        await store.set("k", b"123456789")
    await store.set("k", b"12345678")
    with pytest.raises(TypeError, match="bytes"):
        await store.set("k", "text")  # type: ignore[arg-type]
    for bad in (0, -1, float("inf")):
        with pytest.raises(ValueError, match="ttl"):
            await store.set("k", b"v", ttl=bad)
    with pytest.raises(ValueError, match="key"):
        await store.get("")


async def test_gcra_op_allows_the_burst_then_refuses(env):
    store = (await env.open()).store
    interval = 60_000_000  # one request a minute: no refill during the test
    answers = [await store.run(GCRA, ["bucket"], [interval, 3 * interval]) for _ in range(4)]
    assert [a[0] for a in answers] == [1, 1, 1, 0]
    assert 59_000 < answers[3][1] <= 60_000  # retry after about one interval, in ms
    assert 0 < await store.run(PTTL, ["bucket"]) <= 3 * 60_000
    other = await store.run(GCRA, ["another-bucket"], [interval, 3 * interval])
    assert other == [1, 0]  # buckets are independent


async def test_presence_op_sums_processes_and_drops_a_silent_one(env):
    store = (await env.open()).store
    lease = 300  # ms: a process that stops refreshing drops out after this
    assert await store.run(PRESENCE, ["room"], ["proc-a", 2, lease]) == 2
    assert await store.run(PRESENCE, ["room"], ["proc-b", 3, lease]) == 5
    assert await store.run(PRESENCE, ["room"], ["proc-a", -1, lease]) == 4

    # proc-a keeps refreshing its lease (every 100 ms); proc-b has gone quiet.
    deadline = time.monotonic() + 5
    while await store.run(PRESENCE, ["room"], ["proc-a", 0, lease]) != 1:
        assert time.monotonic() < deadline, "proc-b's lease never ran out"
        await env.tick(0.1)
    assert await store.run(PRESENCE, ["room"], ["proc-a", -1, lease]) == 0


async def test_touch_op_refreshes_an_idle_ttl(env):
    store = (await env.open()).store
    assert await store.run(TOUCH, ["session"], [60_000]) is None
    await store.set("session", b"data", ttl=0.5)
    assert await store.run(TOUCH, ["session"], [60_000]) == b"data"
    assert await store.run(PTTL, ["session"]) > 50_000


async def test_op_arguments_and_replies_have_one_shape(env):
    store = (await env.open()).store
    assert await store.run(ECHO, [], [b"raw", "text", 12, 2.5, -3]) == [
        b"raw", b"text", b"12", b"2.5", b"-3"]
    assert await store.run(SHAPES) == [7, b"two", None, [3, b"four"], b"2.5"]
    assert await store.run(NATURAL) == [1, None, 2, b"text", [-1]]
    with pytest.raises(TypeError, match="bool"):
        await store.run(ECHO, [], [True])
    with pytest.raises(TypeError):
        await store.run(ECHO, "k")  # a str is not a list of keys


async def test_op_errors_and_wrong_types_raise_operation_failed(env):
    store = (await env.open()).store
    with pytest.raises(OperationFailed, match="refused by the op"):
        await store.run(REFUSE)
    assert await store.run(HSET, ["h"], ["field", "value"]) == 1
    assert await store.run(HSET, ["h"], ["field", "again"]) == 0
    with pytest.raises(OperationFailed, match="WRONGTYPE"):
        await store.get("h")
    with pytest.raises(OperationFailed, match="WRONGTYPE"):
        await store.incr("h")



async def test_op_keys_are_checked_before_anything_runs(env):
    store = (await env.open()).store
    assert await store.run(ECHO, ("k",), ["a"]) == [b"a"]  # any sequence of str
    with pytest.raises(TypeError, match="not one str"):
        await store.run(ECHO, "k", ["a"])
    with pytest.raises(TypeError, match="a key must be a str"):
        await store.run(ECHO, ["k", 1], ["a"])
    with pytest.raises(ValueError, match="1 to"):
        await store.run(ECHO, ["k", ""], ["a"])

async def test_a_closed_backend_refuses_store_calls(env):
    backend = await env.open()
    await backend.close()
    with pytest.raises(BackendClosed):
        await backend.store.get("k")
    with pytest.raises(BackendClosed):
        await backend.store.run(ECHO)
