"""Event-log ids: ``<ms>-<seq>`` zero-padded to a fixed width, so ids of one stream compare as
plain strings in the order the log assigned them, in every implementation."""

from __future__ import annotations

import re

from .contracts import InvalidLogId

__all__ = ["format_log_id", "parse_log_id", "check_limit", "MAX_READ"]

# The most entries one read_after returns.
MAX_READ = 10_000
_LOG_ID = re.compile(r"\A(\d{15})-(\d{10})\Z")


def format_log_id(ms: int, seq: int) -> str:
    return f"{ms:015d}-{seq:010d}"


def parse_log_id(value: str) -> tuple[int, int]:
    """(milliseconds, sequence) of an id from ``append``; InvalidLogId for anything else."""
    match = _LOG_ID.match(value) if isinstance(value, str) else None
    if match is None:
        shown = value[:40] if isinstance(value, str) else type(value).__name__
        raise InvalidLogId(f"{shown!r} is not an event-log id (expected "
                           "'<15 digits>-<10 digits>', as append returns)")
    return int(match.group(1)), int(match.group(2))


def check_limit(limit: int) -> int:
    if isinstance(limit, bool) or not isinstance(limit, int):
        raise TypeError(f"limit must be an int, got {type(limit).__name__}")
    if not 1 <= limit <= MAX_READ:
        raise ValueError(f"limit must be 1 to {MAX_READ}, got {limit}")
    return limit
