"""HTTP semantics of a file request (RFC 9110): validators, preconditions, Range, codings.

The plugin decides 304, 412 and 416 itself and tells aiohttp only to send 200 or 206, so the
status every middleware sees (metrics, logs) is the one the client gets, and the cases where
aiohttp's own reading of the headers falls short (an ETag in If-Range, several ranges, a Range
on HEAD, ``br;q=0``) are answered correctly.
"""

from __future__ import annotations

import os
import re
from email.utils import parsedate_to_datetime
from typing import Final

__all__ = ["etag_of", "precondition_status", "parse_range", "if_range_holds", "UNSATISFIABLE",
           "accepts", "naive_pick", "CODINGS"]

# Preferred first; the suffix of the precompressed sibling of a file.
CODINGS: Final = (("br", ".br"), ("gzip", ".gz"))
UNSATISFIABLE: Final = (-1, -1)
# The only shape aiohttp's FileResponse reads; anything else we answer ourselves.
_SINGLE_RANGE = re.compile(r"^bytes=([0-9]*)-([0-9]*)$", re.IGNORECASE)


def etag_of(st: os.stat_result) -> str:
    """The strong ETag aiohttp's FileResponse sends for a file with this stat."""
    return f'"{st.st_mtime_ns:x}-{st.st_size:x}"'


def _http_date(value: str) -> float | None:
    try:
        parsed = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError, OverflowError):
        return None
    if parsed is None or parsed.tzinfo is None:
        return None
    return parsed.timestamp()


def _tags(value: str) -> list[tuple[bool, str]] | None:
    """An If-Match / If-None-Match list as (weak, opaque-tag) pairs; None means ``*``."""
    if value.strip() == "*":
        return None
    tags = []
    for part in value.split(","):
        part = part.strip()
        weak = part.startswith("W/")
        if weak:
            part = part[2:]
        if len(part) >= 2 and part[0] == part[-1] == '"':
            tags.append((weak, part))
    return tags


def precondition_status(headers: object, etag: str, mtime: float) -> int | None:
    """304 or 412 when the request's preconditions say so (RFC 9110 section 13.2.2), else None.

    ``headers`` is the request's case-insensitive header mapping.
    """
    get = headers.get  # type: ignore[attr-defined]
    if_match = get("If-Match")
    if if_match is not None:
        tags = _tags(if_match)
        if tags is not None and not any(not weak and tag == etag for weak, tag in tags):
            return 412
    else:
        since = get("If-Unmodified-Since")
        if since is not None:
            when = _http_date(since)
            if when is not None and mtime > when:
                return 412
    if_none_match = get("If-None-Match")
    if if_none_match is not None:
        tags = _tags(if_none_match)
        if tags is None or any(tag == etag for _, tag in tags):
            return 304
        return None
    since = get("If-Modified-Since")
    if since is not None:
        when = _http_date(since)
        # Last-Modified is sent rounded up to the second, so a client echoing it matches.
        if when is not None and mtime <= when:
            return 304
    return None


def parse_range(value: str, size: int) -> tuple[int, int] | None:
    """The (first, last) byte of a single ``bytes=`` range, ``UNSATISFIABLE``, or None.

    None means the header is to be ignored and the whole file sent (RFC 9110 section 14.2):
    another unit, bad syntax, a last byte before the first, or several ranges.
    """
    m = _SINGLE_RANGE.match(value.strip())
    if m is None:
        return None
    first, last = m.group(1), m.group(2)
    if not first:
        if not last:
            return None
        length = int(last)
        if length == 0 or size == 0:
            return UNSATISFIABLE
        return max(size - length, 0), size - 1
    start = int(first)
    if last and int(last) < start:
        return None
    if start >= size:
        return UNSATISFIABLE
    end = min(int(last), size - 1) if last else size - 1
    return start, end


def if_range_holds(value: str, etag: str, mtime: float) -> tuple[bool, bool]:
    """Whether a Range may be honoured under this If-Range, and whether it named a date.

    An entity tag must match strongly. For a date, the rule is aiohttp's (the file was not
    modified after it), so aiohttp reaches the same answer when it checks again.
    """
    value = value.strip()
    if value.startswith('"') or value.startswith("W/"):
        return value == etag, False
    when = _http_date(value)
    return when is not None and mtime <= when, True


def accepts(codings: dict[str, float], coding: str) -> bool:
    if coding in codings:
        return codings[coding] > 0
    return codings.get("*", 0.0) > 0


def naive_pick(accept_encoding: str, available: object) -> str | None:
    """The sibling aiohttp's FileResponse sends: the first coding named anywhere in the header."""
    lowered = accept_encoding.lower()
    for coding, _ in CODINGS:
        if coding in lowered and coding in available:  # type: ignore[operator]
            return coding
    return None
