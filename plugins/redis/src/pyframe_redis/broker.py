"""The Broker on Redis pub/sub. A publish goes to this process's subscribers directly, then to
Redis tagged with this broker's origin id, so the copy Redis echoes back is dropped: local
subscribers get each message exactly once, whether Redis is up or not.

Wire format of a message: one version byte (1), the 16-byte origin id, the payload.
"""

from __future__ import annotations

import os
from typing import Any

from redis.asyncio import Redis

from pyframe.backends import (BackendClosed, BusState, HealthTracker, LocalFanout,
                              StateListener, Subscription, check_name, check_payload)

from .errors import guarded
from .pubsub import PubSubBridge

__all__ = ["RedisBroker"]

_VERSION = b"\x01"
_HEADER = 1 + 16


class RedisBroker:
    def __init__(self, client: Redis, make_connection: Any, *, prefix: str, timeout: float,
                 max_message_size: int, queue_size: int, ping_interval: float,
                 reconnect_min: float, reconnect_max: float, tracker: HealthTracker,
                 log: Any) -> None:
        self.origin = os.urandom(16)
        self._client = client
        self._prefix = prefix
        self._timeout = timeout
        self._max = max_message_size
        self._tracker = tracker
        self._log = log
        self.echoes = 0  # our own messages coming back from Redis, dropped
        self.malformed = 0  # messages on our channels without our header, dropped
        self.received = 0  # messages from other processes, delivered
        self._fanout = LocalFanout(queue_size, log, ready_timeout=timeout,
                                   on_first=self._changed, on_last=self._changed,
                                   is_up=lambda: tracker.up)
        self.bridge = PubSubBridge(
            make_connection, self._fanout, tracker, prefix=prefix, timeout=timeout,
            ping_interval=ping_interval, reconnect_min=reconnect_min,
            reconnect_max=reconnect_max, log=log, on_message=self._from_redis)

    @property
    def fanout(self) -> LocalFanout:
        return self._fanout

    @property
    def state(self) -> BusState:
        return self._tracker.state

    def _changed(self, topic: str) -> None:
        self.bridge.changed(topic)

    async def publish(self, topic: str, data: bytes) -> None:
        if self._fanout.closed:
            raise BackendClosed("the backend is closed")
        check_name("topic", topic)
        data = check_payload("message", data, self._max)
        self._fanout.deliver(topic, data)
        frame = b"".join((_VERSION, self.origin, data))
        async with guarded("publish", self._timeout, self._tracker):
            await self._client.publish(self._prefix + topic, frame)

    def subscribe(self, topic: str) -> Subscription:
        return self._fanout.subscribe(topic)

    def add_state_listener(self, listener: StateListener) -> None:
        self._tracker.add_listener(listener)

    def remove_state_listener(self, listener: StateListener) -> None:
        self._tracker.remove_listener(listener)

    def _from_redis(self, topic: str, frame: bytes) -> None:
        if len(frame) < _HEADER or frame[:1] != _VERSION:
            self.malformed += 1
            if self.malformed == 1:
                self._log.warning("broker_malformed_message", topic=topic, size=len(frame))
            return
        if frame[1:_HEADER] == self.origin:
            self.echoes += 1
            return
        self.received += 1
        self._fanout.deliver(topic, frame[_HEADER:])
