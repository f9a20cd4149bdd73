"""An event-stream response body while it is sent: the handler's generator runs in a task of
its own, so keep-alive comments go out while it waits, the stream ends on drain, and a client
that stopped reading can be cut even while the server is blocked writing to it."""

from __future__ import annotations

import asyncio
import contextvars
from collections import deque
from typing import TYPE_CHECKING, Any

from pyframe.plugin import BackendError, get_logger, stream_item_encoder

if TYPE_CHECKING:
    from .hub import SSEHub
    from .subscription import Subscription

__all__ = ["PING", "EventStream", "current_stream"]

log = get_logger("pyframe", plugin="sse")

EVENT_STREAM = "text/event-stream"
# A comment line: clients ignore it, proxies and load balancers see traffic.
PING = b": ping\n\n"
# How long a handler's generator gets to finish after its stream ended.
_CLOSE_GRACE = 5.0
# Items the pump may hand over before the writer took them: enough that it does not wait on
# the writer after every event, few enough that a backlog stays in the subscriptions' queues.
_HANDOFF = 8

_current: contextvars.ContextVar[EventStream | None] = contextvars.ContextVar(
    "pyframe_sse_stream", default=None)


def current_stream() -> EventStream | None:
    """The event stream whose handler generator is running, if any (for subscribe())."""
    return _current.get()


class EventStream:
    """Wraps a handler's async iterator of events for the response writer.

    The writer calls ``__anext__`` and writes the bytes it returns: every item ready by then,
    encoded as the core would encode them. The handler's iterator runs in
    a pump task that hands over at most ``_HANDOFF`` items ahead of the writer (then it waits,
    so the backlog of a client that does not read builds up in its subscriptions' bounded
    queues, where it is noticed). While nothing comes, a ``PING`` comment is returned every
    ``ping_interval`` seconds (none if 0: no timer at all). ``finish()`` ends the stream
    cleanly; ``cut()`` cancels the writer's task, which makes the core abort the connection.
    """

    def __init__(self, source: Any, hub: SSEHub, last_event_id: str | None) -> None:
        self.source = source
        self.hub = hub
        self._last_event_id = last_event_id
        self._interval = hub.config.ping_interval
        # How the core would encode the items (bytes as they are, str as UTF-8, event dicts
        # with the plugin's encoder): done here, so ready items can be joined.
        self._encode = stream_item_encoder(hub.app, EVENT_STREAM)
        self._items: deque[Any] = deque()
        self._ping = False
        self._ended = False  # no more items after those queued
        self._cut = False
        self._error: BaseException | None = None
        self._waiter: asyncio.Future[None] | None = None
        self._space: asyncio.Future[None] | None = None
        self._pump: asyncio.Task[None] | None = None
        self._consumer: asyncio.Task[Any] | None = None
        self._timer: asyncio.TimerHandle | None = None
        self._last_sent = 0.0
        self._subscriptions: list[Subscription] = []
        self._closed = False
        self.pings = 0

    # For subscribe() inside the handler's generator.
    def take_last_event_id(self) -> str | None:
        """The request's Last-Event-ID, once: the stream's first subscription replays from it."""
        value, self._last_event_id = self._last_event_id, None
        return value

    def track(self, subscription: Subscription) -> None:
        self._subscriptions.append(subscription)

    # The writer's side.
    def __aiter__(self) -> EventStream:
        return self

    async def __anext__(self) -> bytes:
        if self._pump is None:
            self._start()
        while True:
            if self._items:
                chunk = self._take()
                space = self._space
                if space is not None and not space.done():
                    space.set_result(None)
                self._sent()
                return chunk
            if self._ended:
                if self._error is not None and not self._cut:
                    error, self._error = self._error, None
                    raise error
                raise StopAsyncIteration
            if self._ping:
                self._ping = False
                self.pings += 1
                self._sent()
                return PING
            self._waiter = asyncio.get_running_loop().create_future()
            try:
                await self._waiter
            finally:
                self._waiter = None

    def _take(self) -> bytes:
        # Every item ready now goes out in one write: under load (a burst of events, many
        # streams) that is one system call where there would be one per event.
        items, encode = self._items, self._encode
        frames = []
        while items:
            try:
                frames.append(encode(items[0]))
            except Exception:
                if frames:
                    break  # send the good ones; the bad item raises on the next call
                items.popleft()
                raise
            items.popleft()
        return frames[0] if len(frames) == 1 else b"".join(frames)

    def _start(self) -> None:
        loop = asyncio.get_running_loop()
        self._consumer = asyncio.current_task()
        self._last_sent = loop.time()
        token = _current.set(self)
        try:
            # The task copies this context: subscribe() in the generator finds its stream.
            self._pump = loop.create_task(self._run())
        finally:
            _current.reset(token)
        if self._interval > 0:
            self._timer = loop.call_later(self._interval, self._ping_due)
        self.hub.stream_opened(self)

    async def _run(self) -> None:
        try:
            async for item in self.source:
                self._items.append(item)
                self._wake()
                while len(self._items) >= _HANDOFF and not self._ended:
                    self._space = asyncio.get_running_loop().create_future()
                    await self._space
                if self._ended:
                    return
        except asyncio.CancelledError:
            raise
        except BackendError as exc:
            # The backend failed the replay or the channel: cut, and the client retries later
            # with the same Last-Event-ID (an error line, not a traceback per client).
            log.warning("sse_stream_backend_failed", error=type(exc).__name__, detail=str(exc))
            self.cut()
        except Exception as exc:
            if not self._cut:
                self._error = exc
        finally:
            self._ended = True
            self._wake()

    def _sent(self) -> None:
        self._last_sent = asyncio.get_running_loop().time()

    def _ping_due(self) -> None:
        loop = asyncio.get_running_loop()
        idle = loop.time() - self._last_sent
        remaining = self._interval - idle
        if remaining <= self._interval * 0.001:
            self._ping = True
            self._wake()
            remaining = self._interval
        self._timer = loop.call_later(remaining, self._ping_due)

    def _wake(self) -> None:
        waiter = self._waiter
        if waiter is not None and not waiter.done():
            waiter.set_result(None)

    # Ending it.
    def finish(self) -> None:
        """End the stream cleanly after what is queued (the server is draining)."""
        if not self._ended:
            self._ended = True
            self._wake()
            space = self._space
            if space is not None and not space.done():
                space.set_result(None)

    def cut(self) -> None:
        """Abort the stream: the client fell behind (or the backend failed it)."""
        if self._cut or self._closed:
            return
        self._cut = True
        self._ended = True
        consumer = self._consumer
        if consumer is not None and not consumer.done():
            # It may be blocked writing to a client that does not read: only cancelling it
            # gets it out. The core's writer aborts the connection when this happens.
            consumer.cancel()

    async def aclose(self) -> None:
        """Called by the writer when the response is over, however it ended."""
        if self._closed:
            return
        self._closed = True
        self._ended = True
        if self._timer is not None:
            self._timer.cancel()
        pump = self._pump
        if pump is not None:
            self.hub.stream_closed(self)
            if not pump.done():
                pump.cancel()
                done, _ = await asyncio.wait({pump}, timeout=_CLOSE_GRACE)
                if not done:
                    log.warning("sse_generator_ignored_cancel", grace_s=_CLOSE_GRACE)
        aclose = getattr(self.source, "aclose", None)
        if aclose is not None and (pump is None or pump.done()):
            await aclose()
        for subscription in self._subscriptions:
            await subscription.aclose()
