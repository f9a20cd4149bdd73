"""Encodes one event dict to the bytes of one ``text/event-stream`` event (HTML standard, 9.2.5).

Everything a sender can get wrong is refused here, where it is sent, so the wire never carries
a field that could end a line early and start a second event.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

import msgspec

__all__ = [
    "EVENT_KEYS",
    "InvalidEventError",
    "PreparedEvent",
    "encode_comment",
    "encode_event",
    "encode_id",
    "prepare_event",
]

EVENT_KEYS = frozenset({"event", "data", "id", "retry", "comment"})

_json = msgspec.json.Encoder()
# Refused rather than sent as base64 JSON (msgspec's default), which nobody would expect.
_BINARY = (bytes, bytearray, memoryview)


class InvalidEventError(ValueError):
    """An event that cannot be sent as given; the message names the key and the rule."""


class PreparedEvent(Mapping[str, Any]):
    """An event validated and encoded once, so every subscriber gets the same bytes.

    Reads like the dict it came from (``event["data"]``); ``frame`` is the encoded event.
    Treat it as read-only: the bytes were made from the values at preparation time.
    Build one with ``prepare_event``.
    """

    __slots__ = ("_fields", "_body", "frame")

    def __init__(self, fields: dict[str, Any], id_line: bytes, body: bytes) -> None:
        self._fields = fields
        self._body = body
        self.frame = id_line + body

    @property
    def id(self) -> str | None:
        return self._fields.get("id")

    def with_id(self, event_id: str | int) -> PreparedEvent:
        """The same event with ``event_id`` as its id (a log assigns ids after validation)."""
        fields = dict(self._fields)
        fields["id"] = _check_id(event_id)
        return PreparedEvent(fields, _id_line(fields["id"]), self._body)

    def __getitem__(self, key: str) -> Any:
        return self._fields[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self._fields)

    def __len__(self) -> int:
        return len(self._fields)

    def __repr__(self) -> str:
        return f"PreparedEvent({self._fields!r})"


def prepare_event(event: Mapping[str, Any]) -> PreparedEvent:
    """Validate and encode ``event`` once; raise ``InvalidEventError`` for anything unsendable.

    Keys: ``event`` (str, no CR/LF), ``data`` (str, split into ``data:`` lines on CR, LF and
    CRLF; any other value but bytes is sent as one line of JSON), ``id`` (str or int, no CR, LF
    or NUL), ``retry`` (int milliseconds >= 0), ``comment`` (str). A key set to None counts as
    absent. An ``event`` name needs ``data``: browsers drop an event without data.
    """
    if isinstance(event, PreparedEvent):
        return event
    fields = _fields(event)
    id_line = _id_line(fields["id"]) if "id" in fields else b""
    return PreparedEvent(fields, id_line, _body(fields))


def encode_event(event: Mapping[str, Any]) -> bytes:
    """The bytes of one event (see ``prepare_event`` for the rules); the stream encoder."""
    if isinstance(event, PreparedEvent):
        return event.frame
    fields = _fields(event)
    if "id" in fields:
        id_line = _id_line(fields["id"])
        return id_line + _body(fields)
    return _body(fields)


def encode_id(event_id: str | int) -> bytes:
    """The ``id:`` line alone, for a body prepared before its log assigned the id."""
    return _id_line(_check_id(event_id))


def encode_comment(text: str = "") -> bytes:
    """A comment event (``: text``), which clients ignore: keep-alives and notes."""
    return _body({"comment": _check_text("comment", text)})


def _fields(event: Mapping[str, Any]) -> dict[str, Any]:
    if not isinstance(event, Mapping):
        raise InvalidEventError(f"an event is a dict, got {type(event).__name__}")
    fields, unknown = {}, []
    for key, value in event.items():
        if key not in EVENT_KEYS:
            unknown.append(repr(key))
        elif value is not None:
            fields[key] = value
    if unknown:
        raise InvalidEventError(f"unknown event key(s) {', '.join(sorted(unknown))}; an event "
                                f"has {', '.join(sorted(EVENT_KEYS))}")
    if not fields:
        raise InvalidEventError("an event needs at least one of " + ", ".join(sorted(EVENT_KEYS)))
    if "event" in fields:
        name = fields["event"] = _check_text("event", fields["event"])
        if "\n" in name or "\r" in name:
            raise InvalidEventError("'event' must not contain CR or LF (it would end the field "
                                    "and let the rest be read as more fields)")
        if "data" not in fields:
            raise InvalidEventError("an event with an 'event' name needs 'data': browsers "
                                    "drop events without data (data='' is enough)")
    if "id" in fields:
        fields["id"] = _check_id(fields["id"])
    if "retry" in fields:
        retry = fields["retry"]
        if not isinstance(retry, int) or isinstance(retry, bool):
            raise InvalidEventError(f"'retry' is an int of milliseconds, got "
                                    f"{type(retry).__name__}")
        if retry < 0:
            raise InvalidEventError("'retry' must be >= 0 milliseconds (clients ignore a sign)")
    if "comment" in fields:
        fields["comment"] = _check_text("comment", fields["comment"])
    data = fields.get("data")
    if isinstance(data, str):
        fields["data"] = _exact(data)
    elif isinstance(data, _BINARY):
        raise InvalidEventError("'data' must be str or JSON-encodable, not bytes: decode it "
                                "first")
    return fields


def _exact(text: str) -> str:
    # A str subclass could override __contains__ or __radd__ and slip a line break past the
    # checks; str.__str__ gives its plain text.
    return text if type(text) is str else str.__str__(text)


def _check_text(key: str, value: Any) -> str:
    if not isinstance(value, str):
        raise InvalidEventError(f"'{key}' must be a str, got {type(value).__name__}")
    return _exact(value)


def _check_id(value: Any) -> str:
    if isinstance(value, int) and not isinstance(value, bool):
        return _decimal("id", value)
    text = _check_text("id", value)
    if "\n" in text or "\r" in text or "\0" in text:
        # CR/LF would end the field early; clients ignore an id with NUL in it.
        raise InvalidEventError("'id' must not contain CR, LF or NUL")
    return text


def _decimal(key: str, number: int) -> str:
    try:
        # int.__index__: the number itself, not what an int subclass's __str__ says.
        return str(int.__index__(number))
    except ValueError:  # more digits than Python converts (sys.get_int_max_str_digits)
        raise InvalidEventError(f"'{key}' is too large a number") from None


def _lines(prefix: str, text: str) -> str:
    # Only CR and LF end lines in an event stream (str.splitlines also splits on \v, \x1c,
    # U+2028 and more, which must stay inside the value).
    if "\r" in text:
        text = text.replace("\r\n", "\n").replace("\r", "\n")
    return prefix + text.replace("\n", "\n" + prefix) + "\n"


def _body(fields: dict[str, Any]) -> bytes:
    head = ""
    if "comment" in fields:
        head = _lines(": ", fields["comment"])
    if "event" in fields:
        head += "event: " + fields["event"] + "\n"
    if "retry" in fields:
        head += "retry: " + _decimal("retry", fields["retry"]) + "\n"
    if "data" not in fields:
        return _utf8(fields, head + "\n")
    data = fields["data"]
    if isinstance(data, str):
        return _utf8(fields, head + _lines("data: ", data) + "\n")
    try:
        # msgspec writes compact JSON and escapes control characters: always one line.
        payload = _json.encode(data)
    except (TypeError, ValueError, OverflowError, msgspec.EncodeError) as exc:
        raise InvalidEventError(f"'data' cannot be encoded as JSON: {exc}") from None
    return _utf8(fields, head) + b"data: " + payload + b"\n\n"


def _id_line(event_id: str) -> bytes:
    return _utf8({"id": event_id}, "id: " + event_id + "\n")


def _utf8(fields: dict[str, Any], text: str) -> bytes:
    try:
        return text.encode()
    except UnicodeEncodeError:
        # Lone surrogates have no UTF-8 form, and an event stream is always UTF-8.
        bad = next(key for key, value in fields.items()
                   if isinstance(value, str) and not _is_utf8(value))
        raise InvalidEventError(f"'{bad}' is not valid Unicode text (lone surrogate)") from None


def _is_utf8(text: str) -> bool:
    try:
        text.encode()
    except UnicodeEncodeError:
        return False
    return True
