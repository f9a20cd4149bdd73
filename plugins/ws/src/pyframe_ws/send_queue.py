"""One connection's bounded outgoing queue: many producers that never wait, one sender.

Bounded by message count and by bytes. When full, ``offer`` refuses and the caller decides (the
connection closes itself: a client that far behind will not catch up). Its deques are made on
first use: most connections never queue anything (frames go straight to their sockets), and an
empty deque is most of a kilobyte.
"""

from __future__ import annotations

import asyncio
from collections import deque
from typing import Generic, Protocol, TypeVar

__all__ = ["SendQueue"]


class _Sized(Protocol):
    def __len__(self) -> int: ...


T = TypeVar("T", bound=_Sized)


class SendQueue(Generic[T]):
    """FIFO with two bounds; ``get`` returns None once the queue is closed and empty."""

    __slots__ = ("max_items", "max_bytes", "nbytes", "_items", "_getter", "_room", "_closed")

    def __init__(self, max_items: int, max_bytes: int) -> None:
        self.max_items = max_items
        self.max_bytes = max_bytes
        self.nbytes = 0
        self._items: deque[T] | None = None
        self._getter: asyncio.Future[None] | None = None
        self._room: deque[asyncio.Future[None]] | None = None
        self._closed = False

    def __len__(self) -> int:
        return len(self._items) if self._items is not None else 0

    @property
    def closed(self) -> bool:
        return self._closed

    def fits(self, item: T) -> bool:
        items = self._items
        if not items:
            return True  # a lone message bigger than max_bytes must still be sendable
        return len(items) < self.max_items and self.nbytes + len(item) <= self.max_bytes

    def offer(self, item: T) -> bool:
        """Append without waiting; False when closed or when the item does not fit."""
        if self._closed or not self.fits(item):
            return False
        if self._items is None:
            self._items = deque()
        self._items.append(item)
        self.nbytes += len(item)
        getter = self._getter
        if getter is not None and not getter.done():
            getter.set_result(None)
        return True

    async def wait_for_room(self, item: T, timeout: float) -> bool:
        """Wait until ``item`` fits (True) or the queue closes or ``timeout`` passes (False)."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while not self._closed and not self.fits(item):
            remaining = deadline - loop.time()
            if remaining <= 0:
                return False
            waiter = loop.create_future()
            if self._room is None:
                self._room = deque()
            room = self._room
            room.append(waiter)
            try:
                await asyncio.wait_for(waiter, remaining)
            except asyncio.TimeoutError:
                return False
            finally:
                if waiter in room:
                    room.remove(waiter)
        return not self._closed

    def get_nowait(self) -> T | None:
        items = self._items
        if not items:
            return None
        item = items.popleft()
        self.nbytes -= len(item)
        if self._room:
            self._wake_room()
        return item

    async def get(self) -> T | None:
        """The next item; waits while empty and open (the sender's idle state, which heartbeats
        bound); None when the queue is closed and empty."""
        while not self._items:
            if self._closed:
                return None
            self._getter = asyncio.get_running_loop().create_future()
            try:
                await self._getter
            finally:
                self._getter = None
        return self.get_nowait()

    def clear(self) -> int:
        """Drop every queued item; returns how many there were."""
        dropped = len(self)
        if self._items is not None:
            self._items.clear()
        self.nbytes = 0
        self._wake_room()
        return dropped

    def close(self) -> None:
        """No more items: ``get`` drains what is queued, then returns None."""
        self._closed = True
        getter = self._getter
        if getter is not None and not getter.done():
            getter.set_result(None)
        self._wake_room()

    def _wake_room(self) -> None:
        room = self._room
        while room:
            waiter = room.popleft()
            if not waiter.done():
                waiter.set_result(None)
