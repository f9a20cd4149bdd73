"""Script calls (EVALSHA) made in the same turn of the event loop, sent to Redis together: one
pipeline — one write, one read, one pooled connection — instead of a round trip each.

Redis runs the scripts one after another, as it would anyway; a pipeline is not a transaction
and each call gets its own answer or its own error, so batching changes nothing but the cost.
The calls are written in the protocol here, not through redis-py's Pipeline: its generic
command packing and per-command bookkeeping cost about 6 µs a call, a third of a whole
request without the limiter (bench/RESULTS.md, "Performance, round three, second pass"); the
replies are read with the connection's own parser (hiredis).
"""

from __future__ import annotations

import asyncio
import math
import re
from typing import Any, NamedTuple

from redis import __version__ as redis_version
from redis import exceptions as redis_errors
from redis.asyncio import Redis

from pyframe.backends import (BackendClosed, BackendError, BackendUnavailable, HealthTracker,
                              OperationFailed)

from .errors import guarded

__all__ = ["ScriptCalls", "MAX_BATCH", "MAX_WAITING"]

# Calls in one pipeline; more waiting at once go in several, each on a connection of its own.
MAX_BATCH = 256
# Calls waiting for their batch at most; past this a call fails at once with
# BackendUnavailable (Redis is not keeping up: queueing more would only add latency).
MAX_WAITING = 8192


def _version(text: str) -> tuple[int, ...]:
    return tuple(int(number) for number in re.findall(r"\d+", text)[:3])


class _Call(NamedTuple):
    what: str
    lua: str
    sha: str
    keys: list[str]
    argv: list[bytes]
    future: asyncio.Future[Any]


# The replies of a batch are read without a timer each: the batch has one (guarded() in
# _send). redis-py reads math.inf as "no timeout for this read" from 8.0.1 on; an older one
# would arm a timer at infinity, so there each read keeps the socket timeout (slower only).
_READ_TIMEOUT = math.inf if _version(redis_version) >= (8, 0, 1) else None


# The head of an EVALSHA call, up to its keys: per (sha, number of keys, number of args).
_heads: dict[tuple[str, int, int], bytes] = {}


def packed(sha: str, keys: list[str], argv: list[bytes]) -> bytes:
    """``EVALSHA sha len(keys) *keys *argv`` as the bytes Redis reads (RESP2: an array of
    bulk strings); keys are encoded as UTF-8, as redis-py's default encoder does."""
    shape = (sha, len(keys), len(argv))
    head = _heads.get(shape)
    if head is None:
        count = b"%d" % len(keys)
        head = (b"*%d\r\n$7\r\nEVALSHA\r\n$%d\r\n%s\r\n$%d\r\n%s\r\n"
                % (3 + len(keys) + len(argv), len(sha), sha.encode(), len(count), count))
        if len(_heads) < 256:  # scripts times shapes: a handful
            _heads[shape] = head
    parts = [head]
    for key in keys:
        data = key.encode()
        parts.append(b"$%d\r\n%s\r\n" % (len(data), data))
    for arg in argv:
        parts.append(b"$%d\r\n%s\r\n" % (len(arg), arg))
    return b"".join(parts)


class ScriptCalls:
    """``await run(what, lua, sha, keys, argv)`` runs a script by SHA1 on ``client``: queued,
    then sent with every call queued in the same loop turn.

    A script Redis does not have (NOSCRIPT: first use, a restart, a flush) is loaded once and
    its calls sent again. Each batch is bounded by ``timeout`` (waiting for a connection
    included) and fails as a whole when Redis is unreachable; while the backend is down, a
    call fails at once, as every other call on it does.
    """

    def __init__(self, client: Redis, *, timeout: float, tracker: HealthTracker,
                 max_batch: int = MAX_BATCH, max_waiting: int = MAX_WAITING) -> None:
        self._client = client
        self._timeout = timeout
        self._tracker = tracker
        self._max_batch = max_batch
        self._max_waiting = max_waiting
        self._waiting: list[_Call] = []
        self._flush_handle: asyncio.Handle | None = None
        self._sending: set[asyncio.Task[None]] = set()
        self._closed = False
        self.script_loads = 0  # SCRIPT LOADs sent: once per script, again after NOSCRIPT
        self.batches = 0  # pipelines sent

    async def run(self, what: str, lua: str, sha: str, keys: list[str],
                  argv: list[bytes]) -> Any:
        if self._closed:
            raise BackendClosed("the backend is closed")
        tracker = self._tracker
        if not tracker.up:
            raise BackendUnavailable(f"{what}: the backend is down ({tracker.last_error})")
        waiting = self._waiting
        if len(waiting) >= self._max_waiting:
            raise BackendUnavailable(f"{what}: {len(waiting)} calls are already waiting for "
                                     f"Redis")
        loop = asyncio.get_running_loop()
        future = loop.create_future()
        waiting.append(_Call(what, lua, sha, keys, argv, future))
        if self._flush_handle is None:
            self._flush_handle = loop.call_soon(self._flush)
        return await future

    def _flush(self) -> None:
        self._flush_handle = None
        waiting, self._waiting = self._waiting, []
        size = self._max_batch
        for start in range(0, len(waiting), size):
            task = asyncio.ensure_future(self._send(waiting[start:start + size]))
            self._sending.add(task)
            task.add_done_callback(self._sending.discard)

    async def _send(self, calls: list[_Call]) -> None:
        what = calls[0].what if len(calls) == 1 else f"{len(calls)} script calls"
        try:
            async with guarded(what, self._timeout, self._tracker):
                results = await self._pipeline(calls)
                missing = [i for i, result in enumerate(results)
                           if isinstance(result, redis_errors.NoScriptError)]
                if missing:
                    for lua in {calls[i].lua: None for i in missing}:
                        await self._client.script_load(lua)
                        self.script_loads += 1
                    again = await self._pipeline([calls[i] for i in missing])
                    for i, result in zip(missing, again, strict=True):
                        results[i] = result
        except BaseException as exc:
            for call in calls:
                if not call.future.done():
                    call.future.set_exception(_own_copy(exc, what, call.what))
            if not isinstance(exc, Exception):
                raise  # cancelled (the backend is closing): the calls were told above
            return
        for call, result in zip(calls, results, strict=True):
            if call.future.done():
                continue  # its caller gave up (cancelled): nobody wants the answer
            if isinstance(result, redis_errors.ResponseError):
                call.future.set_exception(OperationFailed(f"{call.what}: {result}"))
            elif isinstance(result, Exception):
                call.future.set_exception(BackendError(
                    f"{call.what}: {self._tracker.record_error(result)}"))
            else:
                call.future.set_result(result)

    async def _pipeline(self, calls: list[_Call]) -> list[Any]:
        """Every call written at once on one pooled connection, then each reply read: a
        value, or the ResponseError (NOSCRIPT included) Redis answered for that call."""
        pool = self._client.connection_pool
        connection = await pool.get_connection()
        try:
            await connection.send_packed_command(
                b"".join([packed(call.sha, call.keys, call.argv) for call in calls]))
            self.batches += 1
            results: list[Any] = []
            for _ in calls:
                try:
                    results.append(await connection.read_response(timeout=_READ_TIMEOUT))
                except redis_errors.ResponseError as exc:
                    results.append(exc)
        except BaseException:
            # Replies may be left unread on the socket: it must not go back to the pool as
            # it is (redis-py disconnects it too on a failed read; this covers the write and
            # a cancellation between reads).
            await connection.disconnect(nowait=True)
            raise
        finally:
            await pool.release(connection)
        return results

    async def close(self) -> None:
        """Fail the calls still waiting (BackendClosed) and wait, at most ``timeout``, for the
        batches already sent."""
        self._closed = True
        if self._flush_handle is not None:
            self._flush_handle.cancel()
            self._flush_handle = None
        waiting, self._waiting = self._waiting, []
        for call in waiting:
            if not call.future.done():
                call.future.set_exception(BackendClosed("the backend is closed"))
        if self._sending:
            await asyncio.wait(set(self._sending), timeout=self._timeout)


def _own_copy(exc: BaseException, batch: str, what: str) -> BaseException:
    """The batch's error for one of its calls, named after the call: a new exception each, so
    the calls of a batch do not share (and grow) one traceback."""
    if isinstance(exc, BackendError):
        message = str(exc).removeprefix(f"{batch}: ")
        copy = type(exc)(f"{what}: {message}")
        copy.__cause__ = exc.__cause__
        return copy
    if isinstance(exc, asyncio.CancelledError):
        return BackendClosed(f"{what}: the backend is closing")
    return BackendError(f"{what}: {type(exc).__name__}: {exc}")
