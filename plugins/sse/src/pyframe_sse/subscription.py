"""One subscriber of one channel: a bounded queue the channel fills, the replay a reconnecting
client is owed, and the iterator a handler reads events from."""

from __future__ import annotations

import asyncio
from collections import deque
from typing import TYPE_CHECKING, Any

from pyframe.plugin import BackendUnavailable, get_logger

from .channel import PAGE
from .encoder import PreparedEvent
from .wire import decode_entry, missed_notice

if TYPE_CHECKING:
    from .hub import SSEHub
    from .manager import SSEManager
    from .stream import EventStream

__all__ = ["FROM_REQUEST", "SlowSubscriberError", "Subscription"]

log = get_logger("pyframe", plugin="sse")


class _FromRequest:
    def __repr__(self) -> str:
        return "FROM_REQUEST"


# The default of subscribe(last_event_id=...): the Last-Event-ID of the stream it runs in.
FROM_REQUEST: Any = _FromRequest()


class SlowSubscriberError(Exception):
    """More events arrived for a subscription than its queue holds: it was closed. (Inside an
    event stream the stream is cut instead; the client reconnects and is replayed.)"""


class Subscription:
    """``async for event in manager.subscribe(channel)``: the channel's events, oldest first.

    Each event is a ``PreparedEvent`` (it reads like the dict that was sent, with ``"id"``
    the log's id). Nothing happens until the first ``__anext__``: that is when the
    subscription joins the channel and, given a Last-Event-ID, replays what the log holds
    after it (``missed_events`` first if the log dropped some), then goes on with live
    events, each once. ``aclose()`` (or leaving ``async with``) leaves the channel; inside an
    event stream that happens when the stream ends.
    """

    def __init__(self, manager: SSEManager, channel: str, topic: str,
                 last_event_id: str | None | Any) -> None:
        self.manager = manager
        self.channel = channel
        self.topic = topic
        self._last_event_id = last_event_id
        self._hub: SSEHub | None = None
        self._stream: EventStream | None = None
        self._queue: deque[PreparedEvent] = deque()
        self._limit = 0
        self._replay: deque[PreparedEvent] = deque()
        self._replay_after: str | None = None  # set while the log still owes a replay
        self._replay_first = True
        self._cursor: str | None = None  # the id of the newest event handed out
        self._waiter: asyncio.Future[None] | None = None
        self._started = False
        self._closed = False
        self._lagged = False

    def __repr__(self) -> str:
        return f"<Subscription {self.manager.namespace}:{self.channel}>"

    @property
    def last_id(self) -> str | None:
        """The id of the newest event handed out (what the client's Last-Event-ID now is)."""
        return self._cursor

    @property
    def closed(self) -> bool:
        return self._closed

    def __aiter__(self) -> Subscription:
        return self

    async def __anext__(self) -> PreparedEvent:
        if not self._started:
            if self._closed:
                raise StopAsyncIteration  # closed before it was ever iterated
            try:
                await self._start()
            except BaseException:
                self._leave()
                raise
        try:
            return await self._next()
        except asyncio.CancelledError:
            # A cancelled stream never reaches aclose() through ``async for``: leave here.
            self._leave()
            raise

    async def __aenter__(self) -> Subscription:
        return self

    async def __aexit__(self, *exc_info: Any) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        self._leave()

    # The channel's side.
    def deliver(self, event: PreparedEvent) -> None:
        """Queue a live event (or a notice); never waits. A full queue closes the subscriber."""
        if self._closed:
            return
        if len(self._queue) >= self._limit:
            self._overflow()
            return
        self._queue.append(event)
        self._wake()

    # The iterator's side.
    async def _start(self) -> None:
        from .stream import current_stream

        self._started = True
        stream = current_stream()
        hub = self.manager._resolve(stream)
        last_event_id = self._last_event_id
        if last_event_id is FROM_REQUEST:
            last_event_id = stream.take_last_event_id() if stream is not None else None
        # An id this log cannot have issued: treated as a first connection.
        last_event_id = hub.resume_point(last_event_id)
        self._hub, self._stream = hub, stream
        self._limit = hub.config.queue_size
        if stream is not None:
            stream.track(self)
        channel = hub.join(self.topic, self)
        if last_event_id is None:
            return
        self._cursor = self._replay_after = last_event_id
        if not channel.ready.is_set():
            # The replay's last read must come after the channel found the log's end, or the
            # events in between would be in neither.
            try:
                async with asyncio.timeout(hub.ready_timeout):
                    await channel.ready.wait()
            except TimeoutError:
                raise BackendUnavailable(f"the event log of {self.channel!r} did not answer "
                                         f"within {hub.ready_timeout:g} s") from None

    async def _next(self) -> PreparedEvent:
        while True:
            if self._replay:
                event = self._replay.popleft()
                if event.id is not None:
                    self._cursor = event.id
                return self._sent(event)
            if self._replay_after is not None:
                await self._read_replay()
                continue
            if self._queue:
                event = self._queue.popleft()
                event_id = event.id
                if event_id is not None:
                    if self._cursor is not None and event_id <= self._cursor:
                        continue  # replayed already, or the client had it
                    self._cursor = event_id
                return self._sent(event)
            if self._closed:
                if self._lagged:
                    raise SlowSubscriberError(f"the subscriber of {self.channel!r} fell "
                                              f"{self._limit} events behind and was closed")
                raise StopAsyncIteration
            self._waiter = asyncio.get_running_loop().create_future()
            try:
                await self._waiter
            finally:
                self._waiter = None

    async def _read_replay(self) -> None:
        assert self._hub is not None
        read = await self._hub.lease.log.read_after(self.topic, self._replay_after, limit=PAGE)
        if read.missed and self._replay_first:
            self._hub.counters.missed += 1
            self._replay.append(missed_notice("expired", self._replay_after))
        self._replay_first = False
        for entry in read.entries:
            try:
                self._replay.append(decode_entry(entry.id, entry.data))
            except ValueError:
                continue  # the channel's loop logs it
        if len(read.entries) < PAGE:
            self._replay_after = None
        else:
            self._replay_after = read.entries[-1].id

    def _sent(self, event: PreparedEvent) -> PreparedEvent:
        if self._hub is not None:
            self._hub.counters.sent += 1
        return event

    def _wake(self) -> None:
        waiter = self._waiter
        if waiter is not None and not waiter.done():
            waiter.set_result(None)

    def _overflow(self) -> None:
        hub = self._hub
        dropped = len(self._queue) + 1
        if hub is not None:
            hub.counters.dropped += dropped
            hub.counters.cut += 1
        log.warning("sse_client_lagging", channel=self.channel, namespace=self.manager.namespace,
                    queue_size=self._limit, dropped=dropped)
        self._lagged = True
        self._leave()
        if self._stream is not None:
            self._stream.cut()

    def _leave(self) -> None:
        if self._closed:
            return
        self._closed = True
        self._queue.clear()
        self._replay.clear()
        self._replay_after = None
        if self._hub is not None:
            self._hub.leave(self.topic, self)
        self._wake()
