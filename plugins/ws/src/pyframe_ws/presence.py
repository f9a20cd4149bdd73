"""Connection counts over every process: one presence record per process in the shared store.

Each manager's namespace has one hash, ``ws:{<namespace>}:presence``: a field per process,
``"<expires_ms>:<record>"``, where the record (msgspec JSON) holds the process's connection count
and its count per group. A process rewrites its field every ``interval`` seconds and soon after
its counts change, and reads everyone's in the same atomic step; a field whose lease ran out (a
process that crashed) is dropped then, so a dead worker stops counting within ``ttl``. The
expiry lives in the value because Redis before 7.4 has no per-field TTL.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Sequence
from typing import Any

import msgspec

from pyframe.plugin import AtomicOp, BackendError, DataView, KeyValueStore, get_logger

__all__ = ["PRESENCE", "Presence", "PresenceRecord", "presence_key"]

log = get_logger("pyframe", plugin="ws")


class PresenceRecord(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    n: int                                                      # open connections
    g: dict[str, int] = msgspec.field(default_factory=dict)     # per group, members only


def _presence(data: DataView, keys: Sequence[str], args: Sequence[bytes]) -> list[bytes]:
    seconds, micros = data.time()
    now = seconds * 1000 + micros // 1000
    key, me, ttl, record = keys[0], args[0], int(args[1]), args[2]
    if record:
        data.hset(key, me, b"%d:%s" % (now + ttl, record))
    else:
        data.hdel(key, me)
    live: list[bytes] = []
    for field, value in data.hgetall(key).items():
        expires, _, rest = value.partition(b":")
        if not expires.isdigit() or int(expires) <= now:
            data.hdel(key, field)
        else:
            live += [field, rest]
    data.pexpire(key, ttl)
    return live


# KEYS[1]: the namespace's presence hash. ARGV: this process's id, the lease (ms), its record
# ("" to leave). Writes the process's field, drops fields whose lease ran out, keeps the hash
# one lease past the last write, and returns the live fields as {id, record, id, record, ...}.
PRESENCE: AtomicOp[list[bytes]] = AtomicOp("ws-presence", """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local ttl = tonumber(ARGV[2])
if ARGV[3] ~= '' then
  redis.call('HSET', KEYS[1], ARGV[1], string.format('%d', now + ttl) .. ':' .. ARGV[3])
else
  redis.call('HDEL', KEYS[1], ARGV[1])
end
local live = {}
local all = redis.call('HGETALL', KEYS[1])
for i = 1, #all, 2 do
  local cut = string.find(all[i + 1], ':', 1, true)
  local expires = cut and tonumber(string.sub(all[i + 1], 1, cut - 1))
  if expires == nil or expires <= now then
    redis.call('HDEL', KEYS[1], all[i])
  else
    live[#live + 1] = all[i]
    live[#live + 1] = string.sub(all[i + 1], cut + 1)
  end
end
redis.call('PEXPIRE', KEYS[1], ttl)
return live
""", _presence)


def presence_key(namespace: str) -> str:
    # The braces are a Redis Cluster hash tag: the namespace's keys share a slot.
    return f"ws:{{{namespace}}}:presence"


class Presence:
    """This process's record and the last known counts of the others.

    ``snapshot()`` gives this process's counts; they are always exact here, so only the other
    processes' counts come from the store. Those are dropped when no refresh succeeded for
    ``ttl`` (the backend is down): then the counts are this process's alone, never stale ones.
    """

    def __init__(self, store: KeyValueStore, namespace: str, process_id: str, *,
                 interval: float, ttl: float, snapshot: Callable[[], PresenceRecord],
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.store = store
        self.namespace = namespace
        self.key = presence_key(namespace)
        self.process_id = process_id.encode()
        self.interval = interval
        self.ttl = ttl
        self.snapshot = snapshot
        self._clock = clock
        self._others = PresenceRecord(n=0)
        self._fetched_at: float | None = None
        self._changed = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self.refreshes = 0
        self.failures = 0
        self._failing = False
        self._encode = msgspec.json.Encoder()
        self._decode = msgspec.json.Decoder(PresenceRecord)

    # -- counts ------------------------------------------------------------------------------

    def _fresh(self) -> PresenceRecord | None:
        at = self._fetched_at
        if at is None or self._clock() - at > self.ttl:
            return None
        return self._others

    def others_total(self) -> int:
        others = self._fresh()
        return others.n if others is not None else 0

    def others_in_group(self, group: str) -> int:
        others = self._fresh()
        return others.g.get(group, 0) if others is not None else 0

    # -- the store ---------------------------------------------------------------------------

    def changed(self) -> None:
        """Local counts changed: write them soon (changes in a burst share one write)."""
        self._changed.set()

    async def refresh(self) -> None:
        """Write this process's record and read the others' (one atomic op)."""
        mine = self.snapshot()
        # No connections here: no field either (a process with none does not grow the hash).
        record = self._encode.encode(mine) if mine.n or mine.g else b""
        live = await self.store.run(PRESENCE, [self.key],
                                    [self.process_id, int(self.ttl * 1000), record])
        total, groups = 0, {}
        for field, raw in zip(live[::2], live[1::2], strict=True):
            if field == self.process_id:
                continue
            try:
                other = self._decode.decode(raw)
            except msgspec.DecodeError:
                continue  # a record this version cannot read: leave it out
            total += other.n
            for group, count in other.g.items():
                groups[group] = groups.get(group, 0) + count
        self._others = PresenceRecord(n=total, g=groups)
        self._fetched_at = self._clock()
        self.refreshes += 1

    async def leave(self) -> None:
        """Remove this process's record (a clean shutdown stops counting at once)."""
        try:
            await self.store.run(PRESENCE, [self.key], [self.process_id, int(self.ttl * 1000),
                                                        b""])
        except BackendError as exc:
            log.info("ws_presence_leave_failed", namespace=self.namespace,
                     error=type(exc).__name__)

    # -- the owned task ----------------------------------------------------------------------

    def start(self) -> None:
        self._task = asyncio.get_running_loop().create_task(
            self._run(), name=f"pyframe-ws-presence:{self.namespace}")

    async def stop(self) -> None:
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)
        await self.leave()

    async def _run(self) -> None:
        # Supervised: a failure is logged (once per outage) and the loop goes on at its pace.
        debounce = min(0.05, self.interval / 4)
        while True:
            self._changed.clear()
            try:
                await self.refresh()
                if self._failing:
                    self._failing = False
                    log.info("ws_presence_resumed", namespace=self.namespace)
            except BackendError as exc:
                self._failed(exc)
            except Exception as exc:
                log.exception("ws_presence_crashed", namespace=self.namespace)
                self._failed(exc)
            try:
                async with asyncio.timeout(self.interval):
                    await self._changed.wait()
                await asyncio.sleep(debounce)  # let the rest of a burst of changes arrive
            except TimeoutError:
                pass

    def _failed(self, exc: BaseException) -> None:
        self.failures += 1
        if not self._failing:
            self._failing = True
            log.warning("ws_presence_failed", namespace=self.namespace,
                        error=type(exc).__name__, detail=str(exc))

    def describe(self) -> dict[str, Any]:
        return {"refreshes": self.refreshes, "failures": self.failures,
                "others": self.others_total()}
