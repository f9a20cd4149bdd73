"""Puts the ids of an event log in order: plain counters ("42") and Redis Streams ids
("1700000000000-0") under one sort key, so replay works the same on either log.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

__all__ = ["IdKey", "is_log_id", "lost_to_trimming", "stream_id_key"]

# A function from an id to something sortable, or None for a string that is no id of the log.
IdKey = Callable[[str], Any]

# "<milliseconds>-<sequence>" as Redis writes it, or a bare number ("5" is "5-0", as XRANGE
# reads it). [0-9], not \d, which also matches other scripts' digits.
_STREAM_ID = re.compile(r"([0-9]{1,20})(?:-([0-9]{1,20}))?")
_U64 = (1 << 64) - 1
# What pyframe's event logs hand out (docs/backends.md): "<15 digits>-<10 digits>", so the ids
# of one stream compare as plain strings in log order.
_LOG_ID = re.compile(r"[0-9]{15}-[0-9]{10}")


def stream_id_key(event_id: str) -> tuple[int, int] | None:
    """``(milliseconds, sequence)`` for a Redis Streams id or a counter, else None."""
    match = _STREAM_ID.fullmatch(event_id)
    if match is None:
        return None
    high, low = int(match[1]), int(match[2] or 0)
    if high > _U64 or low > _U64:
        return None
    return high, low


def is_log_id(event_id: str) -> bool:
    """Whether ``event_id`` has the form of a pyframe event-log id (memory or Redis)."""
    return type(event_id) is str and _LOG_ID.fullmatch(event_id) is not None


def lost_to_trimming(last_event_id: str, trimmed_through: str | None, *,
                     key: IdKey = stream_id_key) -> bool:
    """Whether a log that has dropped every id up to ``trimmed_through`` (its high-water mark
    of trimmed ids, None if it never trimmed) lost events the client after ``last_event_id``
    has not seen. An id the key cannot read counts as lost: the log cannot vouch for it.
    """
    if trimmed_through is None:
        return False
    resume, trimmed = key(last_event_id), key(trimmed_through)
    if trimmed is None:
        raise ValueError(f"{trimmed_through!r} is not an id of this log")
    return resume is None or resume < trimmed
