"""RedisBackend: broker, store and log on one bounded connection pool, plus the one pub/sub
connection of the process; its health is the pub/sub connection's state."""

from __future__ import annotations

import asyncio

from redis.asyncio import BlockingConnectionPool, Redis
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff

from pyframe.backends import BackendClosed, BackendHealth, HealthTracker, redact_url, split_url
from pyframe.plugin import get_logger

from .broker import RedisBroker
from .log import RedisEventLog
from .provider import RedisOptions, client_kwargs
from .store import RedisStore

__all__ = ["RedisBackend"]


class RedisBackend:
    """Built by the registry from a URL (``create``); nothing connects before ``open()``."""

    def __init__(self, url: str, base_url: str, options: RedisOptions) -> None:
        self.options = options
        self._display = redact_url(url)
        self._scheme = split_url(url).scheme.lower()
        self._log = get_logger("pyframe.backends", backend=self._display)
        self._tracker = HealthTracker(url, self._log)
        self._closed = False
        # No retries inside redis-py: a command that fails is reported, not silently run
        # twice; the pool replaces broken connections and the caller decides.
        self._pool = BlockingConnectionPool.from_url(
            base_url, retry=Retry(NoBackoff(), 0), **client_kwargs(options, self._scheme))
        self._client = Redis(connection_pool=self._pool)
        self._store = RedisStore(self._client, prefix=options.prefix, timeout=options.timeout,
                                 max_value_size=options.max_message_size,
                                 tracker=self._tracker, is_closed=self._is_closed)
        self._event_log = RedisEventLog(self._store, prefix=options.prefix,
                                        maxlen=options.log_maxlen,
                                        max_age=options.log_max_age,
                                        max_message_size=options.max_message_size,
                                        is_closed=self._is_closed)
        self._broker = RedisBroker(
            self._client, self._pubsub_connection, prefix=options.prefix,
            timeout=options.timeout, max_message_size=options.max_message_size,
            queue_size=options.queue_size, ping_interval=options.ping_interval,
            reconnect_min=options.reconnect_min, reconnect_max=options.reconnect_max,
            tracker=self._tracker, log=self._log)

    def _is_closed(self) -> bool:
        return self._closed

    def _pubsub_connection(self) -> object:
        # Outside the pool: it lives as long as the backend and blocks on reads, with no
        # socket timeout (the bridge's PINGs find a dead one).
        kwargs = dict(self._pool.connection_kwargs)
        kwargs["socket_timeout"] = None
        return self._pool.connection_class(**kwargs)

    @property
    def url(self) -> str:
        return self._display

    @property
    def scheme(self) -> str:
        return self._scheme

    @property
    def broker(self) -> RedisBroker:
        return self._broker

    @property
    def store(self) -> RedisStore:
        return self._store

    @property
    def log(self) -> RedisEventLog:
        return self._event_log

    @property
    def tracker(self) -> HealthTracker:
        return self._tracker

    async def open(self) -> None:
        if self._closed:
            raise BackendClosed("the backend is closed")
        self._broker.bridge.start()
        await self._broker.bridge.first_attempt(self.options.timeout)

    async def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        await self._store.scripts.close()
        self._broker.fanout.close()
        await self._broker.bridge.stop(self.options.timeout)
        try:
            async with asyncio.timeout(self.options.timeout):
                await self._client.aclose(close_connection_pool=True)
        except Exception as exc:
            self._log.warning("backend_close_failed", error=self._tracker.record_error(exc))

    def health(self) -> BackendHealth:
        tracker, broker = self._tracker, self._broker
        return BackendHealth(
            url=self._display, scheme=self._scheme, up=tracker.up and not self._closed,
            reconnects=tracker.reconnects, last_error=tracker.last_error,
            down_since=tracker.down_since, topics=len(broker.fanout.topics),
            subscriptions=broker.fanout.subscriptions, dropped=broker.fanout.dropped,
            counters={"received": broker.received, "echoes": broker.echoes,
                      "malformed": broker.malformed, "sessions": broker.bridge.sessions,
                      "pubsub_crashes": broker.bridge.crashes,
                      "failed_attempts": tracker.failed_attempts,
                      "script_loads": self._store.script_loads,
                      "script_batches": self._store.scripts.batches})
