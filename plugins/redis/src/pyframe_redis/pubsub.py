"""The one pub/sub connection of a process per Redis URL: subscribes to every topic that has
a local subscription, feeds messages to the local fan-out, and reconnects after any fault.

One session is one connection: connect, SUBSCRIBE to every wanted topic, wait for Redis to
confirm them, mark the bus up, then a reader and a writer run until either fails. The writer
alone sends (SUBSCRIBE and UNSUBSCRIBE as topics come and go, PING every ``ping_interval``;
a PING still unanswered at the next one means the connection is dead). After a session ends
the bus is marked down and the next one starts after a capped exponential backoff. A bug in
this loop is logged by the SupervisedTask around it, which starts it again.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

from pyframe.backends import Backoff, HealthTracker, LocalFanout, SupervisedTask

from .errors import UNAVAILABLE

__all__ = ["PubSubBridge", "DeadConnection"]

# Channels per SUBSCRIBE command when many topics are resubscribed at once.
_BATCH = 1000


class DeadConnection(ConnectionError):
    """The pub/sub connection stopped answering PINGs."""


class PubSubBridge:
    def __init__(self, make_connection: Callable[[], Any], fanout: LocalFanout,
                 tracker: HealthTracker, *, prefix: str, timeout: float, ping_interval: float,
                 reconnect_min: float, reconnect_max: float, log: Any,
                 on_message: Callable[[str, bytes], None]) -> None:
        self._make_connection = make_connection
        self._fanout = fanout
        self._tracker = tracker
        self._prefix = prefix
        self._cut = len(prefix.encode())
        self._timeout = timeout
        self._ping_interval = ping_interval
        self._on_message = on_message
        self._backoff = Backoff(reconnect_min, reconnect_max)
        self._task = SupervisedTask("redis-pubsub", self._run, log,
                                    Backoff(reconnect_min, reconnect_max))
        self._dirty: set[str] = set()  # topics whose remote subscription may need a change
        self._wake = asyncio.Event()
        self._pending: dict[str, int] = {}  # SUBSCRIBEs sent, not yet answered, per topic
        self._ping_outstanding = False
        self._attempted = asyncio.Event()
        self.sessions = 0

    @property
    def crashes(self) -> int:
        return self._task.restarts

    def start(self) -> None:
        self._task.start()

    async def first_attempt(self, timeout: float) -> None:
        """Wait until the first connection attempt succeeded or failed (at most ``timeout``)."""
        try:
            async with asyncio.timeout(timeout):
                await self._attempted.wait()
        except TimeoutError:
            pass

    async def stop(self, timeout: float) -> None:
        await self._task.stop(timeout)

    def changed(self, topic: str) -> None:
        """A topic gained its first or lost its last local subscription."""
        self._dirty.add(topic)
        self._wake.set()

    async def _run(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            began = loop.time()
            try:
                await self._session()
            except UNAVAILABLE:
                pass  # _session marked the bus down and logged it
            self._attempted.set()
            if loop.time() - began > self._backoff.cap:
                self._backoff.reset()  # that connection lasted: not a flapping server
            # A deliberate delay before reconnecting (capped exponential backoff).
            await asyncio.sleep(self._backoff.next())

    async def _session(self) -> None:
        conn = self._make_connection()
        try:
            async with asyncio.timeout(self._timeout):
                await conn.connect()
                # From here until the SUBSCRIBE is written nothing else runs, so every topic
                # wanted now is in this one snapshot and later changes are in _dirty.
                topics = list(self._fanout.topics)
                self._dirty.clear()
                self._pending.clear()
                self._ping_outstanding = False
                await self._subscribe(conn, topics)
            # "Up" means subscribed again: wait for Redis to confirm every topic (more time
            # for more topics), so a plugin resyncing on UP misses nothing published after.
            async with asyncio.timeout(self._timeout * (1 + len(topics) // 10_000)):
                while self._pending:
                    reply = await conn.read_response()
                    self._handle(reply)
            self.sessions += 1
            self._tracker.mark_up()
            self._attempted.set()
            await _race(self._read(conn), self._write(conn))
        except asyncio.CancelledError:
            raise
        except TimeoutError as exc:
            self._tracker.mark_down(str(exc) or f"no answer within {self._timeout} s")
            raise
        except Exception as exc:
            self._tracker.mark_down(exc)
            raise
        finally:
            self._fanout.unconfirm_all()
            await _disconnect(conn)

    async def _send(self, conn: Any, *args: Any) -> None:
        async with asyncio.timeout(self._timeout):
            await conn.send_command(*args, check_health=False)

    async def _subscribe(self, conn: Any, topics: list[str]) -> None:
        for start in range(0, len(topics), _BATCH):
            batch = topics[start:start + _BATCH]
            for topic in batch:
                self._pending[topic] = self._pending.get(topic, 0) + 1
            await self._send(conn, "SUBSCRIBE", *[self._prefix + t for t in batch])

    async def _write(self, conn: Any) -> None:
        loop = asyncio.get_running_loop()
        next_ping = loop.time() + self._ping_interval
        while True:
            wait = next_ping - loop.time()
            if wait > 0 and not self._wake.is_set():
                try:
                    async with asyncio.timeout(wait):
                        await self._wake.wait()
                except TimeoutError:
                    pass
            if loop.time() >= next_ping:
                if self._ping_outstanding:
                    raise DeadConnection(f"no answer to PING within {self._ping_interval} s")
                self._ping_outstanding = True
                await self._send(conn, "PING")
                next_ping = loop.time() + self._ping_interval
            if self._wake.is_set():
                self._wake.clear()
                dirty, self._dirty = self._dirty, set()
                wanted = self._fanout.topics
                await self._subscribe(conn, [t for t in dirty if t in wanted])
                gone = [self._prefix + t for t in dirty if t not in wanted]
                for start in range(0, len(gone), _BATCH):
                    await self._send(conn, "UNSUBSCRIBE", *gone[start:start + _BATCH])

    async def _read(self, conn: Any) -> None:
        while True:
            # The connection has no socket timeout: silence is normal on a quiet bus, and
            # the writer's PINGs are what tell a dead connection from a quiet one.
            reply = await conn.read_response()
            self._handle(reply)

    def _handle(self, reply: Any) -> None:
        if isinstance(reply, list) and reply:
            kind = reply[0]
            if kind == b"message":
                self._on_message(reply[1][self._cut:].decode(errors="replace"), reply[2])
            elif kind == b"subscribe":
                self._confirmed(reply[1][self._cut:].decode(errors="replace"))
            elif kind == b"pong":
                self._ping_outstanding = False
        elif reply == b"PONG":  # the answer when subscribed to nothing
            self._ping_outstanding = False

    def _confirmed(self, topic: str) -> None:
        left = self._pending.get(topic, 0) - 1
        if left > 0:
            self._pending[topic] = left
            return
        self._pending.pop(topic, None)
        if topic not in self._dirty:
            self._fanout.confirm(topic)


async def _race(*coros: Any) -> None:
    """Run the coroutines until the first one fails; cancel the rest; raise its error."""
    tasks = [asyncio.ensure_future(c) for c in coros]
    try:
        done, _ = await asyncio.wait(tasks, return_when=asyncio.FIRST_EXCEPTION)
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
    for task in done:
        if not task.cancelled() and task.exception() is not None:
            raise task.exception()  # type: ignore[misc]


async def _disconnect(conn: Any) -> None:
    try:
        await conn.disconnect(nowait=True)
    except Exception:
        pass  # already broken; the socket is closed either way
