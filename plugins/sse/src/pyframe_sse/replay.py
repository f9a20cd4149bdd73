"""Merges a reconnecting client's replay (what the log holds after its ``Last-Event-ID``) with
the live events that arrive meanwhile: each event once, in id order, and a notice for any gap.
"""

from __future__ import annotations

from collections.abc import Iterable
from operator import itemgetter
from typing import Any, Literal, NamedTuple

import msgspec

from .ids import IdKey, stream_id_key

__all__ = ["DEFAULT_MAX_PENDING", "MISSED_EVENTS", "Entry", "MissedEvents", "ReplayMerge",
           "ReplayOverflowError"]

# The event type of the notice; its data is MissedEvents' fields as JSON.
MISSED_EVENTS = "missed_events"
# Live events held per stream while its log read is in flight; past this the stream is cut.
DEFAULT_MAX_PENDING = 1024


class Entry(NamedTuple):
    """One event of a channel as the log and the broker carry it: its id and its payload."""

    id: str
    payload: Any


class MissedEvents(msgspec.Struct, frozen=True, kw_only=True):
    """Told to a client that cannot be given everything after its id, so it can resync.

    ``reason``: ``"expired"`` — the log no longer holds events just after ``last_event_id``
    (trimmed by length or age); what it still holds follows. ``"reset"`` — the log's ids went
    behind ``last_event_id`` (a memory log restarted, a Redis stream was deleted); events
    follow from the log's present. ``last_event_id`` is the id the gap starts after.
    """

    reason: Literal["expired", "reset"]
    last_event_id: str

    def event(self) -> dict[str, Any]:
        """The notice as an event dict. It has no id, so the client keeps its own."""
        return {"event": MISSED_EVENTS,
                "data": {"reason": self.reason, "last_event_id": self.last_event_id}}


class ReplayOverflowError(Exception):
    """More live events arrived during the log read than the merge may hold: cut the stream
    (the client reconnects with its ``Last-Event-ID`` and is replayed from the log)."""


class ReplayMerge:
    """The order of one stream's events, between the log, the live channel and the client.

    Use: subscribe to the channel first, then create the merge; if ``awaiting_backlog``, read
    the log after ``read_after`` and pass what it returned to ``backlog``; pass every live
    event to ``live``. Both return what to send now: ``Entry`` items and ``MissedEvents``
    notices. Subscribing before reading is what makes "no gap" hold: an event appended before
    the subscription is in the read, one after it arrives live, one in between is in both and
    is sent once.

    The live channel must deliver a channel's events in id order, as the log numbered them.
    Then a live event at or below the client's position is a copy of one already sent, or one
    the log trimmed before it could be read (covered by the ``expired`` notice); anything else
    below it means the log's ids went backwards, and it is sent after a ``reset`` notice,
    never dropped. A ``last_event_id`` the key cannot read was not issued by this log: the
    stream starts fresh, as for a first connection.
    """

    def __init__(self, last_event_id: str | None, *, key: IdKey = stream_id_key,
                 max_pending: int = DEFAULT_MAX_PENDING) -> None:
        self._key = key
        self._max_pending = max_pending
        resume = key(last_event_id) if last_event_id is not None else None
        self._cursor: Any = resume  # key of the newest event the client has; None: no position
        self._cursor_id: str | None = last_event_id if resume is not None else None
        self._awaiting = resume is not None
        self._pending: list[tuple[Any, Entry]] = []
        # The last merge's span (after, newest] and the keys it sent: a live event in that
        # span is a late copy or a trimmed one, not a sign of ids going backwards.
        self._span_after: Any = None
        self._span_newest: Any = None
        self._span_keys: set[Any] = set()
        self.duplicates = 0  # live events not sent because the client has them (or lost them)

    @property
    def awaiting_backlog(self) -> bool:
        return self._awaiting

    @property
    def read_after(self) -> str | None:
        """The id to read the log after, while a read is awaited; None otherwise."""
        return self._cursor_id if self._awaiting else None

    @property
    def last_id(self) -> str | None:
        """The id of the newest event handed out: the client's Last-Event-ID from now on."""
        return self._cursor_id

    def catch_up(self) -> str | None:
        """Start another log read (the live channel lost messages): live events are held
        until ``backlog``. Returns the id to read after, or None when no event was handed out
        yet and there is nothing to catch up from."""
        if self._cursor is not None:
            self._awaiting = True
        return self.read_after

    def live(self, entry: tuple[str, Any]) -> list[Entry | MissedEvents]:
        """A live ``(id, payload)``: held while a log read is awaited, else sent unless the
        client has it."""
        entry = Entry._make(entry)
        key = self._key_of(entry.id)
        if self._awaiting:
            if len(self._pending) >= self._max_pending:
                raise ReplayOverflowError(f"over {self._max_pending} live events arrived "
                                          f"while the log was read")
            self._pending.append((key, entry))
            return []
        if self._cursor is None or key > self._cursor:
            if self._span_newest is not None:
                self._end_span()  # the channel is past the last read: no copies can follow
            self._cursor, self._cursor_id = key, entry.id
            return [entry]
        if key == self._cursor or self._in_span(key):
            self.duplicates += 1
            return []
        notice = MissedEvents(reason="reset", last_event_id=self._cursor_id or "")
        self._end_span()
        self._cursor, self._cursor_id = key, entry.id
        return [notice, entry]

    def backlog(self, entries: Iterable[tuple[str, Any]], *, expired: bool = False,
                newest_id: str | None = None) -> list[Entry | MissedEvents]:
        """The ``(id, payload)`` pairs the log returned after ``read_after``, merged with the
        live events held.

        ``expired``: the log says it no longer holds everything after ``read_after`` (see
        ``ids.lost_to_trimming``). ``newest_id``: the newest id the log holds, if the read
        tells it; one older than ``read_after`` means the log was reset.
        """
        if not self._awaiting:
            raise RuntimeError("backlog() without a log read to answer (see awaiting_backlog)")
        self._awaiting = False
        after, out = self._cursor, []
        # Held live events are newer than the client's position unless the ids went back.
        went_back = (newest_id is not None and self._key_of(newest_id) < after) or any(
            key < after and not self._in_span(key) for key, _ in self._pending)
        if went_back:
            out.append(MissedEvents(reason="reset", last_event_id=self._cursor_id or ""))
            after = None
        elif expired:
            out.append(MissedEvents(reason="expired", last_event_id=self._cursor_id or ""))
        merged: dict[Any, Entry] = {}
        for event_id, payload in entries:
            key = self._key_of(event_id)
            if after is None or key > after:
                merged.setdefault(key, Entry(event_id, payload))
        for key, entry in self._pending:
            if (after is not None and key <= after) or key in merged:
                self.duplicates += 1
            else:
                merged[key] = entry
        self._pending.clear()
        ordered = sorted(merged.items(), key=itemgetter(0))
        if ordered:
            self._cursor, self._cursor_id = ordered[-1][0], ordered[-1][1].id
        elif went_back:
            self._cursor = self._cursor_id = None
        self._span_after, self._span_newest, self._span_keys = after, self._cursor, set(merged)
        out.extend(entry for _, entry in ordered)
        return out

    def _in_span(self, key: Any) -> bool:
        if key in self._span_keys:
            return True
        # Without a resume point (a fresh start, a reset) only the keys sent are known.
        return self._span_after is not None and self._span_after < key <= self._span_newest

    def _end_span(self) -> None:
        self._span_after = self._span_newest = None
        self._span_keys = set()

    def _key_of(self, event_id: str) -> Any:
        key = self._key(event_id)
        if key is None:
            # Ids on this path come from the log itself: a key that cannot read them is a bug.
            raise ValueError(f"{event_id!r} is not an id of this log (wrong key function?)")
        return key
