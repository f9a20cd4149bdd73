"""The server-side session's pieces: an opaque random id for the cookie, the key it is stored
under, and the stored record (msgspec JSON, never pickle) with idle and absolute expiry.

The store itself is the shared key-value backend; these parts decide what goes in it.
"""

from __future__ import annotations

import hashlib
import math
import re
import secrets
from collections.abc import Mapping
from enum import StrEnum
from typing import Any

import msgspec

from .clock import Clock, system_clock
from .session import check_session_data

__all__ = ["Expiry", "InvalidSessionRecord", "RecordTooLarge", "SESSION_ID_BYTES",
           "SessionLifetime", "SessionRecord", "is_session_id", "new_session_id", "storage_key"]

# 256 bits: far past the 128 that OWASP asks of a session id, at 43 characters of cookie.
SESSION_ID_BYTES = 32
_ID_LENGTH = math.ceil(SESSION_ID_BYTES * 4 / 3)
_ID = re.compile(rf"[A-Za-z0-9_-]{{{_ID_LENGTH}}}")


def new_session_id() -> str:
    """A fresh id from the OS's CSPRNG; the only thing the cookie holds."""
    return secrets.token_urlsafe(SESSION_ID_BYTES)


def is_session_id(value: str | None) -> bool:
    """Whether ``value`` has the shape of an id we issue: anything else is refused before it
    reaches the store."""
    return value is not None and _ID.fullmatch(value) is not None


def storage_key(session_id: str, *, prefix: str = "pyframe:auth:session:") -> str:
    """The store key for an id: its SHA-256, so the ids (which are bearer credentials) do not
    show up in the store's key list, its slow log or a MONITOR session."""
    return prefix + hashlib.sha256(session_id.encode()).hexdigest()


class SessionRecord(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """What the store holds for one session. Times are seconds since the epoch."""

    data: dict[str, Any]
    created_at: float
    last_seen: float


class Expiry(StrEnum):
    LIVE = "live"
    IDLE = "idle"  # unused for longer than the idle timeout
    ABSOLUTE = "absolute"  # older than the absolute timeout, however busy


class InvalidSessionRecord(ValueError):
    """Stored bytes that are not a record of ours (treated like an unknown id)."""


class RecordTooLarge(ValueError):
    def __init__(self, size: int, limit: int) -> None:
        super().__init__(f"the session record would be {size} bytes; the limit is {limit}")
        self.size = size
        self.limit = limit


class SessionLifetime:
    """Makes, encodes and ages records.

    ``idle_timeout``: a session unused this long ends. ``absolute_timeout``: a session ends
    this long after it began, however busy. ``touch_interval``: how stale ``last_seen`` may get
    before an unchanged session is written again (writing on every request would cost a store
    round trip per request; the price is an idle expiry up to this much late).
    """

    def __init__(self, *, idle_timeout: float = 2 * 3600, absolute_timeout: float = 14 * 86400,
                 touch_interval: float | None = None, max_bytes: int = 64 * 1024,
                 clock: Clock = system_clock) -> None:
        if not 0 < idle_timeout <= absolute_timeout:
            raise ValueError("idle_timeout must be positive and at most absolute_timeout")
        self.idle_timeout = idle_timeout
        self.absolute_timeout = absolute_timeout
        self.touch_interval = (min(60.0, idle_timeout / 10) if touch_interval is None
                               else touch_interval)
        self.max_bytes = max_bytes
        self.clock = clock
        self._encoder = msgspec.json.Encoder()
        self._decoder = msgspec.json.Decoder(SessionRecord)

    def new(self, data: Mapping[str, Any] | None = None) -> SessionRecord:
        now = self.clock()
        return SessionRecord(data=dict(data or {}), created_at=now, last_seen=now)

    def updated(self, record: SessionRecord, data: Mapping[str, Any]) -> SessionRecord:
        """The record with new data, seen now."""
        return msgspec.structs.replace(record, data=dict(data), last_seen=self.clock())

    def touched(self, record: SessionRecord) -> SessionRecord:
        return msgspec.structs.replace(record, last_seen=self.clock())

    def needs_touch(self, record: SessionRecord) -> bool:
        return self.clock() - record.last_seen >= self.touch_interval

    def expiry(self, record: SessionRecord) -> Expiry:
        now = self.clock()
        if now - record.created_at >= self.absolute_timeout:
            return Expiry.ABSOLUTE
        if now - record.last_seen >= self.idle_timeout:
            return Expiry.IDLE
        return Expiry.LIVE

    def ttl(self, record: SessionRecord) -> int:
        """Whole seconds until the record expires either way: the store's TTL for it, so an
        abandoned session disappears without a sweeper."""
        ends = min(record.last_seen + self.idle_timeout,
                   record.created_at + self.absolute_timeout)
        return max(1, math.ceil(ends - self.clock()))

    def encode(self, record: SessionRecord) -> bytes:
        check_session_data(record.data)
        raw = self._encoder.encode(record)
        if len(raw) > self.max_bytes:
            raise RecordTooLarge(len(raw), self.max_bytes)
        return raw

    def decode(self, raw: bytes) -> SessionRecord:
        try:
            return self._decoder.decode(raw)
        except msgspec.DecodeError:
            raise InvalidSessionRecord("not a session record") from None
