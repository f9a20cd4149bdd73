"""The embedded EventLog: per-stream deques trimmed by length and age, the way the Redis one
trims its streams, with the same ids and the same answer to "did I miss anything?".

Bounds: ``log_maxlen`` entries and ``log_max_age`` seconds per stream; a stream vanishes
twice ``log_max_age`` after its last append (its entries are gone by then; the rest of the
time it keeps its trim mark, so a reader who had seen everything is told so exactly); at most
``max_streams`` streams (a new stream past the cap evicts the least recently used one).
"""

from __future__ import annotations

import bisect
from collections import OrderedDict, deque
from collections.abc import Callable

from .checks import check_name, check_payload
from .contracts import BackendClosed, LogEntry, LogRead
from .logids import check_limit, format_log_id, parse_log_id

__all__ = ["MemoryEventLog"]


class _Stream:
    __slots__ = ("entries", "last_ms", "last_seq", "trimmed_to", "expires")

    def __init__(self) -> None:
        self.entries: deque[tuple[int, LogEntry]] = deque()  # (ms of the id, entry)
        self.last_ms = -1
        self.last_seq = 0
        self.trimmed_to: str | None = None  # the id of the newest entry dropped so far
        self.expires = 0.0


class MemoryEventLog:
    def __init__(self, *, maxlen: int, max_age: float, max_streams: int,
                 max_message_size: int, clock: Callable[[], float],
                 is_closed: Callable[[], bool]) -> None:
        self.maxlen = maxlen
        self.max_age = max_age
        self.max_streams = max_streams
        self.evicted = 0
        self._max = max_message_size
        self._clock = clock
        self._is_closed = is_closed
        self._streams: OrderedDict[str, _Stream] = OrderedDict()

    def __len__(self) -> int:
        return len(self._streams)

    def _check(self, stream: str) -> None:
        if self._is_closed():
            raise BackendClosed("the backend is closed")
        check_name("stream", stream)

    def _lookup(self, name: str, now: float) -> _Stream | None:
        stream = self._streams.get(name)
        if stream is not None and stream.expires <= now:
            del self._streams[name]
            return None
        if stream is not None:
            self._streams.move_to_end(name)
        return stream

    def _trim(self, stream: _Stream, now: float) -> None:
        entries = stream.entries
        # As Redis's MINID: drop every entry whose id is older than the cutoff.
        cutoff_ms = int(now * 1000) - round(self.max_age * 1000)
        while entries and (len(entries) > self.maxlen or entries[0][0] < cutoff_ms):
            stream.trimmed_to = entries.popleft()[1].id

    async def append(self, stream: str, data: bytes) -> str:
        self._check(stream)
        data = check_payload("log entry", data, self._max)
        now = self._clock()
        record = self._lookup(stream, now)
        fresh = record is None
        if record is None:
            while len(self._streams) >= self.max_streams:
                self._streams.popitem(last=False)
                self.evicted += 1
            record = self._streams[stream] = _Stream()
        ms = int(now * 1000)
        if ms > record.last_ms:
            record.last_ms, record.last_seq = ms, 0
        else:  # same millisecond, or the clock went back: keep ids increasing, as Redis does
            record.last_seq += 1
        entry = LogEntry(format_log_id(record.last_ms, record.last_seq), data)
        if fresh:
            # A new stream (or one that expired or was evicted): an id from before it cannot
            # prove it missed nothing, so the mark sits just below the first id.
            record.trimmed_to = format_log_id(max(record.last_ms - 1, 0), 9_999_999_999)
        record.entries.append((record.last_ms, entry))
        record.expires = now + 2 * self.max_age
        self._trim(record, now)
        return entry.id

    async def read_after(self, stream: str, after: str | None, limit: int = 100) -> LogRead:
        self._check(stream)
        check_limit(limit)
        if after is not None:
            parse_log_id(after)
        now = self._clock()
        record = self._lookup(stream, now)
        if record is None:
            # An expired or evicted stream cannot prove that nothing after ``after`` was lost.
            return LogRead([], after is not None)
        self._trim(record, now)
        missed = (after is not None and record.trimmed_to is not None
                  and after < record.trimmed_to)
        entries = record.entries
        start = 0 if after is None else bisect.bisect_right(entries, after,
                                                            key=lambda item: item[1].id)
        return LogRead([entries[i][1] for i in range(start, min(len(entries), start + limit))],
                       missed)

    def sweep(self) -> int:
        """Drop streams idle for twice ``max_age``; how many were dropped."""
        now = self._clock()
        gone = [name for name, stream in self._streams.items() if stream.expires <= now]
        for name in gone:
            del self._streams[name]
        return len(gone)
