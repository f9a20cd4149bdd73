"""One channel's events in this process: the broker's messages are only wake-ups; the loop reads
the channel's log after the last id it fanned out and hands each entry to every local
subscriber, so every subscriber sees the log's order, whichever worker sent what."""

from __future__ import annotations

import asyncio
import random
from typing import TYPE_CHECKING, Any

from pyframe.plugin import BackendError, get_logger

from .ids import is_log_id
from .wire import decode_entry, missed_notice

if TYPE_CHECKING:
    from .hub import SSEHub
    from .subscription import Subscription

__all__ = ["Channel", "PAGE"]

log = get_logger("pyframe", plugin="sse")

# Entries per log read while catching up; the log answers at most 10 000 per read.
PAGE = 1000
_TAIL_PAGE = 10_000
_BACKOFF_MIN, _BACKOFF_MAX = 0.05, 5.0


class Channel:
    """Follows one channel for this process while it has local subscribers.

    ``position`` is the id of the newest entry handed out (None before the log had any); it
    starts at the end of the log when the channel is opened, so a new subscriber gets what
    is sent from then on. ``ready`` is set once that position is known. On a broker wake-up,
    a bus that came back (``wake()``), or a failed read, the loop reads the log after
    ``position`` until it has everything: events another worker sent while this process's
    pub/sub connection was down are delivered late, not lost, as long as the log holds them;
    if the log dropped some first, every subscriber is sent ``missed_events``.
    """

    def __init__(self, hub: SSEHub, topic: str) -> None:
        self.hub = hub
        self.topic = topic
        self.subscribers: dict[Subscription, None] = {}
        self.position: str | None = None
        self.ready = asyncio.Event()
        self.closed = False
        self._wake = asyncio.Event()
        self._missed_told: str | None = None  # the position a missed_events notice was for
        self._failing = False
        self._subscription = hub.lease.broker.subscribe(topic)
        self._tasks = [asyncio.ensure_future(self._listen()),
                       asyncio.ensure_future(self._supervise())]

    @property
    def live_subscribers(self) -> int:
        """Subscribers that receive what is sent from now on (0 until ``ready``)."""
        return len(self.subscribers) if self.ready.is_set() else 0

    def wake(self) -> None:
        """Read the log again (the bus came back: messages of other workers may be lost)."""
        self._wake.set()

    def close(self) -> list[asyncio.Future[Any]]:
        """Stop following the channel; the tasks to await (they are cancelled)."""
        self.closed = True
        self._subscription.close()
        for task in self._tasks:
            task.cancel()
        return self._tasks

    async def _listen(self) -> None:
        # A wake-up carries the new entry's id: one this loop has read past needs no read.
        async for data in self._subscription:
            try:
                entry_id = data.decode("ascii")
            except UnicodeDecodeError:
                entry_id = ""
            position = self.position
            if position is not None and is_log_id(entry_id) and entry_id <= position:
                continue
            self._wake.set()

    async def _supervise(self) -> None:
        # A crash is logged and the loop starts again; a channel never stops silently.
        while not self.closed:
            try:
                await self._run()
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("sse_channel_crashed", channel=self.topic)
                await self._pause(_BACKOFF_MAX)

    async def _run(self) -> None:
        if not self.ready.is_set():
            # Subscribed before reading the tail: whatever is appended after the read wakes us.
            await self._subscription.ready()
            await self._retrying(self._find_tail)
            self.ready.set()
        while not self.closed:
            await self._wake.wait()
            self._wake.clear()
            await self._retrying(self._catch_up)

    async def _retrying(self, step: Any) -> None:
        delay = _BACKOFF_MIN
        while True:
            try:
                await step()
            except BackendError as exc:
                if not self._failing:
                    self._failing = True
                    log.warning("sse_channel_read_failed", channel=self.topic,
                                error=type(exc).__name__, detail=str(exc))
                # Capped backoff with jitter; a wake-up (the bus is back) retries at once.
                await self._pause(delay * (0.5 + random.random()))
                delay = min(delay * 2, _BACKOFF_MAX)
                continue
            if self._failing:
                self._failing = False
                log.info("sse_channel_read_recovered", channel=self.topic)
            return

    async def _pause(self, seconds: float) -> None:
        try:
            await asyncio.wait_for(self._wake.wait(), seconds)
        except TimeoutError:
            pass

    async def _find_tail(self) -> None:
        log_, after = self.hub.lease.log, None
        while True:
            read = await log_.read_after(self.topic, after, limit=_TAIL_PAGE)
            if read.entries:
                after = read.entries[-1].id
            if len(read.entries) < _TAIL_PAGE:
                self.position = after
                return

    async def _catch_up(self) -> None:
        log_ = self.hub.lease.log
        while not self.closed:
            read = await log_.read_after(self.topic, self.position, limit=PAGE)
            if read.missed and self.position is not None and self._missed_told != self.position:
                # The log dropped entries this process had not read yet (it fell behind the
                # log's bounds, or Redis lost the stream): say so once, then go on.
                self._missed_told = self.position
                self.hub.counters.missed += 1
                log.warning("sse_channel_missed_events", channel=self.topic,
                            after=self.position)
                notice = missed_notice("expired", self.position)
                for subscriber in list(self.subscribers):
                    subscriber.deliver(notice)
            for entry in read.entries:
                self.position = entry.id
                try:
                    event = decode_entry(entry.id, entry.data)
                except ValueError as exc:
                    log.warning("sse_entry_malformed", channel=self.topic, id=entry.id,
                                detail=str(exc))
                    continue
                for subscriber in list(self.subscribers):
                    subscriber.deliver(event)
            if len(read.entries) < PAGE:
                return
