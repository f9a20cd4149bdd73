"""Messages between processes: one broker topic per manager, group and user, subscribed only
while this process has a connection there.

A publish reaches this process's own subscriptions too (the broker delivers locally first), so
every message carries the publishing relay's origin id and a relay drops its own: local
connections were served directly, before the publish. Wire format: version byte 1, the 8-byte
origin, ``t`` (text) or ``b`` (binary), the payload.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from typing import Any

from pyframe.plugin import BackendClosed, BackendUnavailable, Broker, Subscription, get_logger

from .outgoing import Outgoing

__all__ = ["ALL", "Relay", "Target", "decode_wire", "encode_wire"]

log = get_logger("pyframe", plugin="ws")

# Where a message goes: ("all", "") every connection of the manager, ("group", name), or
# ("user", id).
Target = tuple[str, str]
ALL: Target = ("all", "")

_VERSION = b"\x01"
_KINDS = {b"t": True, b"b": False}
_HEADER = 1 + 8 + 1
_LOG_EVERY = 10.0  # seconds between two lines about the same failure


def encode_wire(origin: bytes, item: Outgoing) -> bytes:
    return b"".join((_VERSION, origin, b"t" if item.text else b"b", item.payload))


def decode_wire(data: bytes) -> tuple[bytes, Outgoing] | None:
    """(origin, message), or None for bytes that are not a relay message."""
    if len(data) < _HEADER or data[:1] != _VERSION:
        return None
    text = _KINDS.get(data[9:10])
    if text is None:
        return None
    return data[1:9], Outgoing(data[_HEADER:], text)


class _Follow:
    __slots__ = ("subscription", "task", "dropped")

    def __init__(self, subscription: Subscription, task: asyncio.Task[None]) -> None:
        self.subscription = subscription
        self.task = task
        self.dropped = 0


class Relay:
    """One manager's topics on the broker. ``deliver(target, message)`` hands what other
    processes published to the local connections; it must not block."""

    def __init__(self, broker: Broker, namespace: str, origin: bytes,
                 deliver: Callable[[Target, Outgoing], int], *,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.broker = broker
        self.namespace = namespace
        self.origin = origin
        self._deliver = deliver
        self._clock = clock
        self._follows: dict[Target, _Follow] = {}
        self.published = 0
        self.received = 0
        self.publish_failed = 0
        self.lagged = 0  # messages the broker dropped because a subscription fell behind
        self.malformed = 0
        self._logged: dict[str, float] = {}

    def topic(self, target: Target) -> str:
        kind, key = target
        return f"ws:{self.namespace}" if kind == "all" else f"ws:{self.namespace}:{kind}:{key}"

    @property
    def topics(self) -> list[str]:
        return [self.topic(target) for target in self._follows]

    # -- subscriptions -----------------------------------------------------------------------

    def follow(self, target: Target) -> Subscription | None:
        """Subscribe to ``target``'s topic if not yet; the new subscription (to await its
        ``ready()``), or None when it was there already."""
        if target in self._follows:
            return None
        subscription = self.broker.subscribe(self.topic(target))
        task = asyncio.get_running_loop().create_task(
            self._consume(target, subscription), name=f"pyframe-ws-relay:{self.topic(target)}")
        self._follows[target] = _Follow(subscription, task)
        return subscription

    def unfollow(self, target: Target) -> None:
        """Stop receiving ``target``'s topic (its consumer ends by itself)."""
        follow = self._follows.pop(target, None)
        if follow is not None:
            follow.subscription.close()

    async def close(self) -> None:
        follows, self._follows = list(self._follows.values()), {}
        for follow in follows:
            follow.subscription.close()
        if follows:
            await asyncio.wait([f.task for f in follows], timeout=5.0)
        for follow in follows:
            follow.task.cancel()

    async def _consume(self, target: Target, subscription: Subscription) -> None:
        # Supervised: a failure handling one message is logged and the loop goes on; the loop
        # ends when the subscription is closed (unfollow, or the backend closing).
        while not subscription.closed:
            try:
                async for data in subscription:
                    self._receive(target, subscription, data)
            except Exception:
                log.exception("ws_relay_failed", topic=subscription.topic)

    def _receive(self, target: Target, subscription: Subscription, data: bytes) -> None:
        follow = self._follows.get(target)
        if follow is not None and subscription.dropped != follow.dropped:
            self.lagged += subscription.dropped - follow.dropped
            follow.dropped = subscription.dropped
            self._log_now("ws_relay_lagging", topic=subscription.topic,
                          dropped=subscription.dropped)
        decoded = decode_wire(data)
        if decoded is None:
            self.malformed += 1
            self._log_now("ws_relay_malformed", topic=subscription.topic, size=len(data))
            return
        origin, item = decoded
        if origin == self.origin:
            return  # our own publish, already delivered locally
        self.received += 1
        self._deliver(target, item)

    # -- publishing --------------------------------------------------------------------------

    async def publish(self, target: Target, item: Outgoing) -> bool:
        """Send ``item`` to the other processes; False when the backend is down or closed
        (counted and logged, never raised: local delivery has happened already).
        ``MessageTooLarge`` is raised: a message over the backend's limit is the caller's."""
        try:
            await self.broker.publish(self.topic(target), encode_wire(self.origin, item))
        except (BackendUnavailable, BackendClosed) as exc:
            self.publish_failed += 1
            self._log_now("ws_publish_failed", topic=self.topic(target),
                          error=type(exc).__name__, detail=str(exc),
                          failed_total=self.publish_failed)
            return False
        self.published += 1
        return True

    def _log_now(self, event: str, **fields: Any) -> None:
        # At most one line per event every _LOG_EVERY seconds: a Redis outage under a chat's
        # traffic must not turn into a line per message.
        now = self._clock()
        last = self._logged.get(event)
        if last is None or now - last >= _LOG_EVERY:
            self._logged[event] = now
            log.warning(event, namespace=self.namespace, **fields)
