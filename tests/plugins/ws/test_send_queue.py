"""The outgoing queue on its own: both bounds, closing, and waiting for room with a deadline."""

from __future__ import annotations

import asyncio

from pyframe_ws.send_queue import SendQueue


def test_refuses_past_either_bound_but_always_takes_a_lone_message():
    by_count = SendQueue[bytes](max_items=2, max_bytes=1000)
    assert by_count.offer(b"a") and by_count.offer(b"b")
    assert not by_count.offer(b"c")
    by_size = SendQueue[bytes](max_items=100, max_bytes=10)
    assert by_size.offer(b"x" * 50)  # bigger than max_bytes, but alone: it must be sendable
    assert not by_size.offer(b"y")
    assert by_size.get_nowait() == b"x" * 50 and by_size.nbytes == 0
    assert by_size.offer(b"y" * 6) and not by_size.offer(b"z" * 5) and by_size.offer(b"z" * 4)


async def test_get_drains_then_returns_none_once_closed():
    queue = SendQueue[bytes](10, 1000)
    queue.offer(b"1")
    queue.offer(b"2")
    queue.close()
    assert not queue.offer(b"3")
    assert [await queue.get(), await queue.get(), await queue.get()] == [b"1", b"2", None]


async def test_a_waiting_getter_is_woken_by_offer_and_by_close():
    queue = SendQueue[bytes](10, 1000)
    getter = asyncio.create_task(queue.get())
    await asyncio.sleep(0)
    queue.offer(b"m")
    assert await asyncio.wait_for(getter, 5) == b"m"
    getter = asyncio.create_task(queue.get())
    await asyncio.sleep(0)
    queue.close()
    assert await asyncio.wait_for(getter, 5) is None


async def test_wait_for_room_ends_when_room_appears_or_at_the_deadline():
    queue = SendQueue[bytes](1, 1000)
    queue.offer(b"full")
    assert not await queue.wait_for_room(b"next", timeout=0.01)
    waiter = asyncio.create_task(queue.wait_for_room(b"next", timeout=5))
    await asyncio.sleep(0)
    assert queue.get_nowait() == b"full"
    assert await asyncio.wait_for(waiter, 5) is True
    queue.offer(b"again")
    waiter = asyncio.create_task(queue.wait_for_room(b"next", timeout=5))
    await asyncio.sleep(0)
    assert queue.clear() == 1
    assert await asyncio.wait_for(waiter, 5) is True
    waiter = asyncio.create_task(queue.wait_for_room(b"next", timeout=5))
    queue.offer(b"x")
    await asyncio.sleep(0)
    queue.close()
    assert await asyncio.wait_for(waiter, 5) is False
