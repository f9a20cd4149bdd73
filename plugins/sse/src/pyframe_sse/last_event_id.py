"""Reads a request's ``Last-Event-ID`` header; a value that could not be an id we issued is
treated as absent, so a hostile or broken header costs nothing but a fresh start.
"""

from __future__ import annotations

from collections.abc import Iterable

__all__ = ["MAX_LAST_EVENT_ID_LENGTH", "last_event_id_from_headers", "parse_last_event_id"]

# Ids we issue are a few dozen characters ("1700000000000-0"); anything far longer is not one.
MAX_LAST_EVENT_ID_LENGTH = 256


def parse_last_event_id(value: str | bytes | None, *,
                        max_length: int = MAX_LAST_EVENT_ID_LENGTH) -> str | None:
    """The id a reconnecting client gave, or None to treat the request as a first connection.

    None for: no value, an empty one, more than ``max_length`` bytes, non-ASCII (including
    text an HTTP parser decoded with surrogate escapes), or any control character (NUL, CR,
    LF, TAB, DEL...). Spaces and tabs around the value are HTTP whitespace and are dropped.
    """
    if value is None:
        return None
    if isinstance(value, (bytes, bytearray)):
        try:
            value = value.decode("ascii")
        except UnicodeDecodeError:
            return None
    elif not isinstance(value, str):
        return None
    value = value.strip(" \t")
    # For ASCII text, isprintable() is False exactly for the controls 0x00-0x1F and 0x7F.
    if not value or len(value) > max_length or not value.isascii() or not value.isprintable():
        return None
    return value


def last_event_id_from_headers(values: Iterable[str | bytes], *,
                               max_length: int = MAX_LAST_EVENT_ID_LENGTH) -> str | None:
    """Like ``parse_last_event_id`` for every ``Last-Event-ID`` header of a request
    (``request.headers.getall("Last-Event-ID", ())``): more than one is ambiguous, so absent.
    """
    found: str | bytes | None = None
    for count, value in enumerate(values):
        if count:
            return None
        found = value
    return parse_last_event_id(found, max_length=max_length)
