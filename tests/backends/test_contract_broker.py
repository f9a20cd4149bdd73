"""The Broker contract, run against the memory backend and against Redis."""

from __future__ import annotations

import asyncio

import pytest

from pyframe.backends import (BackendClosed, BusState, MessageTooLarge, Subscription,
                              SubscriptionClosed)

from .support import eventually


async def drain(sub: Subscription) -> list[bytes]:
    """Everything already queued, without waiting for more."""
    out = []
    while sub.qsize():
        out.append(await sub.get(timeout=1))
    return out


async def test_a_publish_reaches_a_local_subscriber_once(env):
    backend = await env.open()
    async with backend.broker.subscribe("room") as sub:
        for payload in (b"hello", b"", bytes(range(256))):
            await backend.broker.publish("room", payload)
            assert await sub.get(timeout=2) == payload
        # An echo of our own message from Redis must not arrive as a second copy: the
        # marker published after it is the next thing the subscription sees.
        await backend.broker.publish("room", b"marker")
        assert await sub.get(timeout=2) == b"marker"
        await backend.broker.publish("other-room", b"not for us")
        await backend.broker.publish("room", b"last")
        assert await sub.get(timeout=2) == b"last"
        assert sub.qsize() == 0


async def test_every_local_subscription_gets_its_own_copy_in_order(env):
    backend = await env.open()
    first, second = backend.broker.subscribe("t"), backend.broker.subscribe("t")
    assert await first.ready() and await second.ready()
    for i in range(50):
        await backend.broker.publish("t", b"%d" % i)
    expected = [b"%d" % i for i in range(50)]
    assert [await first.get(timeout=2) for _ in range(50)] == expected
    assert [await second.get(timeout=2) for _ in range(50)] == expected
    first.close()
    second.close()


async def test_iteration_ends_when_the_subscription_closes(env):
    backend = await env.open()
    sub = backend.broker.subscribe("t")
    await sub.ready()
    await backend.broker.publish("t", b"a")
    received = []

    async def consume():
        async for data in sub:
            received.append(data)
            if data == b"a":
                sub.close()
    await asyncio.wait_for(consume(), 2)
    assert received == [b"a"]
    sub.close()  # idempotent
    assert sub.closed
    with pytest.raises(SubscriptionClosed):
        await sub.get(timeout=1)
    assert not await sub.ready(0.1)


async def test_a_waiting_get_times_out_and_wakes_on_close(env):
    backend = await env.open()
    sub = backend.broker.subscribe("t")
    with pytest.raises(TimeoutError):
        await sub.get(timeout=0.05)
    waiter = asyncio.ensure_future(sub.get())
    await asyncio.sleep(0)  # let the waiter start waiting
    sub.close()
    with pytest.raises(SubscriptionClosed):
        await asyncio.wait_for(waiter, 2)


async def test_the_remote_subscription_lives_while_a_local_one_does(env):
    backend = await env.open()
    counts = lambda: (backend.health().topics, backend.health().subscriptions)  # noqa: E731
    a, b = backend.broker.subscribe("t"), backend.broker.subscribe("t")
    assert counts() == (1, 2)
    assert await a.ready()
    a.close()
    assert counts() == (1, 1)
    await backend.broker.publish("t", b"still here")
    assert await b.get(timeout=2) == b"still here"
    b.close()
    assert counts() == (0, 0)
    if env.kind == "redis":
        import redis.asyncio as redis

        client = redis.Redis.from_url(env.redis_url)
        channel = env.prefix + "t"

        async def remote_subscribers() -> int:
            return dict(await client.pubsub_numsub(channel))[channel.encode()]
        try:
            await eventually(lambda: _is(remote_subscribers(), 0), what="UNSUBSCRIBE")
            c = backend.broker.subscribe("t")
            assert await c.ready()
            assert await remote_subscribers() == 1
            d = backend.broker.subscribe("t")
            assert await d.ready()
            assert await remote_subscribers() == 1  # one per process, not per subscription
            c.close()
            d.close()
            await eventually(lambda: _is(remote_subscribers(), 0), what="UNSUBSCRIBE")
        finally:
            await client.aclose()


async def _is(value, expected) -> bool:
    return await value == expected


async def test_a_message_over_the_cap_is_refused_before_delivery(env):
    backend = await env.open(max_message_size=10)
    sub = backend.broker.subscribe("t")
    await sub.ready()
    with pytest.raises(MessageTooLarge, match="max_message_size of 10 bytes"):
        await backend.broker.publish("t", b"x" * 11)
    await backend.broker.publish("t", b"y" * 10)
    assert await sub.get(timeout=2) == b"y" * 10
    assert sub.qsize() == 0


async def test_a_full_queue_drops_the_oldest_and_counts(env):
    backend = await env.open(queue_size=3)
    slow, fast = backend.broker.subscribe("t"), backend.broker.subscribe("t")
    await slow.ready()
    for i in range(5):
        await backend.broker.publish("t", b"%d" % i)
        assert await fast.get(timeout=2) == b"%d" % i  # a slow peer costs only itself
    assert slow.dropped == 2
    assert await drain(slow) == [b"2", b"3", b"4"]
    assert fast.dropped == 0
    assert backend.health().dropped == 2


async def test_arguments_are_checked(env):
    backend = await env.open()
    with pytest.raises(TypeError, match="bytes"):
        await backend.broker.publish("t", "text")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="topic"):
        await backend.broker.publish("", b"x")
    with pytest.raises(ValueError, match="topic"):
        backend.broker.subscribe("t" * 1025)
    await backend.broker.publish("t", bytearray(b"ok"))  # bytes-like is taken as bytes


async def test_closing_the_backend_ends_subscriptions_and_refuses_calls(env):
    backend = await env.open()
    sub = backend.broker.subscribe("t")
    waiter = asyncio.ensure_future(sub.get())
    await asyncio.sleep(0)
    await backend.close()
    with pytest.raises(SubscriptionClosed):
        await asyncio.wait_for(waiter, 2)
    with pytest.raises(BackendClosed):
        await backend.broker.publish("t", b"x")
    with pytest.raises(BackendClosed):
        backend.broker.subscribe("t")
    await backend.close()  # idempotent


async def test_the_state_is_up_and_listeners_can_come_and_go(env):
    backend = await env.open()
    seen: list[BusState] = []
    backend.broker.add_state_listener(seen.append)
    assert backend.broker.state is BusState.UP
    assert backend.health().up
    backend.broker.remove_state_listener(seen.append)
    backend.broker.remove_state_listener(seen.append)  # removing twice is harmless
    assert seen == []


async def test_another_process_sees_a_publish_once(env):
    if env.kind == "memory":
        pytest.skip("the memory backend is one process: it has no other processes to reach")
    here, there = await env.open(), await env.open()  # two pools, two origins: two processes
    mine, theirs = here.broker.subscribe("t"), there.broker.subscribe("t")
    assert await mine.ready() and await theirs.ready()
    await here.broker.publish("t", b"from here")
    assert await mine.get(timeout=2) == b"from here"  # directly, not through Redis
    assert await theirs.get(timeout=2) == b"from here"
    await there.broker.publish("t", b"from there")
    assert await theirs.get(timeout=2) == b"from there"
    assert await mine.get(timeout=2) == b"from there"
    await here.broker.publish("t", b"end")
    assert await mine.get(timeout=2) == b"end"
    assert await theirs.get(timeout=2) == b"end"
    await eventually(lambda: _is(_echoes(here), 2), what="both echoes dropped")
    assert mine.qsize() == theirs.qsize() == 0


async def _echoes(backend) -> int:
    return backend.health().counters["echoes"]
