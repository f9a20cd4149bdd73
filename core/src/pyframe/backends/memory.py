"""The embedded backend (``memory://``): broker, store and log inside one process, no
dependency, bounded memory, expired keys and idle streams swept by an owned task."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from typing import Annotated

from msgspec import Meta

from pyframe.logging import get_logger

from .checks import check_name, check_payload
from .contracts import BackendClosed, BackendHealth, BusState, InvalidBackendURL, StateListener
from .keyspace import KeySpace
from .local import LocalFanout, Subscription
from .memory_log import MemoryEventLog
from .memory_store import MemoryStore
from .options import BackendOptions, parse_options, split_url
from .tasks import Backoff, SupervisedTask

__all__ = ["MemoryOptions", "MemoryBroker", "MemoryBackend", "check_url", "create"]


class MemoryOptions(BackendOptions, frozen=True, kw_only=True, forbid_unknown_fields=True):
    # Keys the store holds; a new key past the cap evicts the least recently used one.
    max_keys: Annotated[int, Meta(ge=1, le=10_000_000)] = 100_000
    # Event-log streams kept; a new stream past the cap evicts the least recently used one.
    max_streams: Annotated[int, Meta(ge=1, le=1_000_000)] = 10_000
    # Seconds between sweeps of expired keys and idle streams.
    sweep_interval: Annotated[float, Meta(gt=0, le=60)] = 1.0


class MemoryBroker:
    """Local delivery only: there are no other processes to reach, so the state is always UP
    and listeners are never called."""

    def __init__(self, fanout: LocalFanout, max_message_size: int) -> None:
        self._fanout = fanout
        self._max = max_message_size

    @property
    def state(self) -> BusState:
        return BusState.UP

    async def publish(self, topic: str, data: bytes) -> None:
        if self._fanout.closed:
            raise BackendClosed("the backend is closed")
        check_name("topic", topic)
        self._fanout.deliver(topic, check_payload("message", data, self._max))

    def subscribe(self, topic: str) -> Subscription:
        return self._fanout.subscribe(topic)

    def add_state_listener(self, listener: StateListener) -> None:
        pass  # the state never changes

    def remove_state_listener(self, listener: StateListener) -> None:
        pass


class MemoryBackend:
    """``MemoryBackend(options, clock=...)``: the clock (seconds, like ``time.time``) drives
    TTLs, log ages and ``DataView.time()``; tests inject one."""

    scheme = "memory"

    def __init__(self, options: MemoryOptions | None = None, *, url: str = "memory://",
                 clock: Callable[[], float] = time.time) -> None:
        self.options = options = options or MemoryOptions()
        self._url = url
        self._log = get_logger("pyframe.backends", backend=url)
        self._closed = False
        self.keyspace = KeySpace(options.max_keys, clock)
        self._fanout = LocalFanout(options.queue_size, self._log, ready_timeout=options.timeout,
                                   confirm_at_once=True)
        self._broker = MemoryBroker(self._fanout, options.max_message_size)
        self._store = MemoryStore(self.keyspace, options.max_message_size, self._is_closed)
        self._event_log = MemoryEventLog(
            maxlen=options.log_maxlen, max_age=options.log_max_age,
            max_streams=options.max_streams, max_message_size=options.max_message_size,
            clock=clock, is_closed=self._is_closed)
        restart = Backoff(options.sweep_interval, max(30.0, options.sweep_interval))
        self._sweeper = SupervisedTask("memory-sweeper", self._sweep_forever, self._log, restart)

    def _is_closed(self) -> bool:
        return self._closed

    @property
    def url(self) -> str:
        return self._url

    @property
    def broker(self) -> MemoryBroker:
        return self._broker

    @property
    def store(self) -> MemoryStore:
        return self._store

    @property
    def log(self) -> MemoryEventLog:
        return self._event_log

    async def open(self) -> None:
        if self._closed:
            raise BackendClosed("the backend is closed")
        self._sweeper.start()

    async def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        self._fanout.close()
        await self._sweeper.stop(self.options.timeout)

    def sweep(self) -> int:
        """One full sweep now: expired keys and idle streams freed; how many."""
        freed = 0
        while True:
            chunk = self.keyspace.sweep()
            freed += chunk
            if chunk < 10_000:
                break
        return freed + self._event_log.sweep()

    async def _sweep_forever(self) -> None:
        while True:
            # A pacing interval, not a wait for an event: the sweep is periodic by design.
            await asyncio.sleep(self.options.sweep_interval)
            while self.keyspace.sweep() >= 10_000:
                await asyncio.sleep(0)  # a long backlog: let requests run between chunks
            self._event_log.sweep()

    def health(self) -> BackendHealth:
        return BackendHealth(
            url=self._url, scheme=self.scheme, up=not self._closed,
            topics=len(self._fanout.topics), subscriptions=self._fanout.subscriptions,
            dropped=self._fanout.dropped,
            counters={"keys": len(self.keyspace), "evicted_keys": self.keyspace.evicted,
                      "expired_keys": self.keyspace.expired, "streams": len(self._event_log),
                      "evicted_streams": self._event_log.evicted})


def _parse(url: str) -> MemoryOptions:
    parts = split_url(url)
    if parts.scheme.lower() != "memory":
        raise InvalidBackendURL(f"{url}: not a memory:// URL")
    if parts.netloc or parts.path not in ("", "/"):
        raise InvalidBackendURL(f"{url}: memory:// takes options only, no host or path "
                                "(e.g. 'memory://?max_keys=50000')")
    return parse_options(url, parts.query, MemoryOptions)


def check_url(url: str) -> None:
    _parse(url)


def create(url: str) -> MemoryBackend:
    return MemoryBackend(_parse(url), url=url)
