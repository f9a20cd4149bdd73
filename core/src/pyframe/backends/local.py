"""In-process fan-out shared by every broker: local subscriptions with bounded queues, counted
per topic so the broker holds a remote subscription only while some local one exists.

Queue policy: when a subscription's queue is full, the oldest queued message is dropped and
counted in ``Subscription.dropped``, so a slow consumer keeps the newest messages and can see
that it lagged (compare ``dropped`` with the value it last saw, then resync).
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Callable, Collection
from typing import Any

from .checks import check_name
from .contracts import BackendClosed, SubscriptionClosed

__all__ = ["Subscription", "LocalFanout"]


class Subscription:
    """A local subscription to one topic: ``async for data in sub``, or ``await sub.get()``.

    Iteration ends when the subscription or its backend is closed. ``async with`` waits (at
    most the backend's timeout) until the remote backend confirms the subscription, and
    closes it on exit.
    """

    __slots__ = ("topic", "dropped", "_queue", "_size", "_event", "_closed", "_fanout",
                 "_warned")

    def __init__(self, topic: str, fanout: LocalFanout, queue_size: int) -> None:
        self.topic = topic
        self.dropped = 0  # messages dropped because the queue was full, since creation
        self._queue: deque[bytes] = deque()
        self._size = queue_size
        self._event = asyncio.Event()
        self._closed = False
        self._fanout = fanout
        self._warned = False

    @property
    def closed(self) -> bool:
        return self._closed

    def qsize(self) -> int:
        return len(self._queue)

    def _push(self, data: bytes) -> bool:
        dropped = len(self._queue) >= self._size
        if dropped:
            self._queue.popleft()
            self.dropped += 1
        self._queue.append(data)
        self._event.set()
        return dropped

    async def get(self, timeout: float | None = None) -> bytes:
        """The next message. Raises TimeoutError after ``timeout`` seconds (None: no limit)
        and SubscriptionClosed once the subscription is closed."""
        async with asyncio.timeout(timeout):
            while not self._queue:
                if self._closed:
                    raise SubscriptionClosed(f"the subscription to {self.topic!r} is closed")
                self._event.clear()
                await self._event.wait()
        return self._queue.popleft()

    def __aiter__(self) -> Subscription:
        return self

    async def __anext__(self) -> bytes:
        try:
            return await self.get()
        except SubscriptionClosed:
            raise StopAsyncIteration from None

    async def ready(self, timeout: float | None = None) -> bool:
        """True once the remote backend confirms it delivers this topic to the process (at
        once for the memory backend); False after ``timeout`` seconds (None: the backend's
        timeout), at once while the bus is down, or if closed. Messages published elsewhere
        before it is ready may not arrive; local ones always do."""
        if self._closed:
            return False
        return await self._fanout._wait_confirmed(self.topic, timeout)

    def close(self) -> None:
        """Stop receiving; idempotent. Queued messages are discarded, iteration ends."""
        if self._closed:
            return
        self._closed = True
        self._queue.clear()
        self._event.set()
        self._fanout._remove(self)

    async def __aenter__(self) -> Subscription:
        await self.ready()
        return self

    async def __aexit__(self, *exc_info: Any) -> None:
        self.close()


class _Topic:
    __slots__ = ("subs", "confirmed")

    def __init__(self) -> None:
        self.subs: dict[Subscription, None] = {}  # a dict keeps subscription order
        self.confirmed = asyncio.Event()


class LocalFanout:
    """Topic -> local subscriptions. ``on_first(topic)`` runs when a topic gains its first
    local subscription and ``on_last(topic)`` when it loses its last: the broker's cue to
    subscribe or unsubscribe remotely."""

    def __init__(self, queue_size: int, log: Any, *, ready_timeout: float,
                 on_first: Callable[[str], None] | None = None,
                 on_last: Callable[[str], None] | None = None,
                 is_up: Callable[[], bool] = lambda: True,
                 confirm_at_once: bool = False) -> None:
        self._queue_size = queue_size
        self._is_up = is_up
        self._log = log
        self._ready_timeout = ready_timeout
        self._on_first = on_first
        self._on_last = on_last
        self._confirm_at_once = confirm_at_once
        self._topics: dict[str, _Topic] = {}
        self._subscriptions = 0
        self.dropped = 0
        self.closed = False

    @property
    def topics(self) -> Collection[str]:
        return self._topics.keys()

    @property
    def subscriptions(self) -> int:
        return self._subscriptions

    def subscribe(self, topic: str) -> Subscription:
        check_name("topic", topic)
        if self.closed:
            raise BackendClosed("the backend is closed")
        entry = self._topics.get(topic)
        first = entry is None
        if entry is None:
            entry = self._topics[topic] = _Topic()
            if self._confirm_at_once:
                entry.confirmed.set()
        sub = Subscription(topic, self, self._queue_size)
        entry.subs[sub] = None
        self._subscriptions += 1
        if first and self._on_first is not None:
            self._on_first(topic)
        return sub

    def deliver(self, topic: str, data: bytes) -> int:
        """Queue ``data`` on every local subscription of ``topic``; never waits."""
        entry = self._topics.get(topic)
        if entry is None:
            return 0
        for sub in entry.subs:
            if sub._push(data):
                self.dropped += 1
                if not sub._warned:
                    sub._warned = True
                    self._log.warning("subscription_lagging", topic=topic,
                                      queue_size=self._queue_size)
        return len(entry.subs)

    def confirm(self, topic: str) -> None:
        entry = self._topics.get(topic)
        if entry is not None:
            entry.confirmed.set()

    def unconfirm_all(self) -> None:
        for entry in self._topics.values():
            entry.confirmed.clear()

    def close(self) -> None:
        """End every subscription and refuse new ones."""
        self.closed = True
        for entry in list(self._topics.values()):
            for sub in list(entry.subs):
                sub.close()

    async def _wait_confirmed(self, topic: str, timeout: float | None) -> bool:
        entry = self._topics.get(topic)
        if entry is None:
            return False
        if not entry.confirmed.is_set() and not self._is_up():
            return False  # no confirmation can come before the bus is back: do not wait
        try:
            async with asyncio.timeout(self._ready_timeout if timeout is None else timeout):
                await entry.confirmed.wait()
        except TimeoutError:
            return False
        return True

    def _remove(self, sub: Subscription) -> None:
        entry = self._topics.get(sub.topic)
        if entry is None or sub not in entry.subs:
            return
        del entry.subs[sub]
        self._subscriptions -= 1
        if not entry.subs:
            del self._topics[sub.topic]
            if self._on_last is not None and not self.closed:
                self._on_last(sub.topic)
