"""Reads a ``text/event-stream`` the way a browser does (HTML standard, 9.2.6 "Interpreting an
event stream"), incrementally: bytes in, dispatched events out. Used by tests and clients.
"""

from __future__ import annotations

import codecs
import re
from collections.abc import Callable

import msgspec

__all__ = ["DEFAULT_MAX_EVENT_SIZE", "EventStreamParser", "EventTooLargeError", "ReceivedEvent",
           "parse"]

# Characters one pending event may hold (its unfinished line plus its data lines). The
# standard sets no limit; a client must, or one endless line from a server exhausts it.
DEFAULT_MAX_EVENT_SIZE = 1 << 20

_LINE_END = re.compile(r"\r\n|\r|\n")
# Python's int() refuses strings of more than 4300 digits; no reconnection delay is that long.
_MAX_RETRY_DIGITS = 4000


class ReceivedEvent(msgspec.Struct, frozen=True, kw_only=True):
    """One dispatched event, as a browser's ``MessageEvent`` would carry it."""

    event: str = "message"  # the type; an empty or missing ``event`` field means "message"
    data: str = ""
    last_event_id: str = ""  # carried over from earlier events until an ``id`` field changes it

    def json(self) -> object:
        """``data`` decoded as JSON (what the encoder wrote for a dict or list)."""
        return msgspec.json.decode(self.data)


class EventTooLargeError(ValueError):
    """The stream's pending event grew past the parser's ``max_event_size``."""


class EventStreamParser:
    """Feed it the stream's bytes in any chunks; ``feed`` returns the events they complete.

    ``last_event_id`` is what a browser would send as ``Last-Event-ID`` on reconnecting and
    ``retry`` the reconnection time the stream last set (None until one is). ``on_comment``,
    if given, is called with each comment's text (without ``:`` and one leading space); the
    standard ignores comments, but a test may want to see keep-alives.
    """

    def __init__(self, *, max_event_size: int = DEFAULT_MAX_EVENT_SIZE,
                 on_comment: Callable[[str], None] | None = None) -> None:
        # utf-8-sig strips one leading BOM, also when it arrives split across chunks;
        # "replace" is the standard's UTF-8 decode (malformed bytes become U+FFFD).
        self._decoder = codecs.getincrementaldecoder("utf-8-sig")("replace")
        self._max = max_event_size
        self._on_comment = on_comment
        self._partial: list[str] = []  # the unfinished last line, in pieces
        self._size = 0  # characters held in _partial and _data
        self._skip_lf = False  # the previous chunk ended in CR: an LF starting the next is its pair
        self._data: list[str] = []  # the data buffer, one item per data line
        self._event_type = ""
        self._id_buffer = ""
        self._closed = False
        self.last_event_id = ""
        self.retry: int | None = None

    def feed(self, chunk: bytes) -> list[ReceivedEvent]:
        """Parse ``chunk`` (any length, split anywhere) and return the events it dispatched."""
        if self._closed:
            raise RuntimeError("the event stream parser is closed")
        text = self._decoder.decode(chunk)
        events: list[ReceivedEvent] = []
        if not text:
            return events
        if self._skip_lf:
            self._skip_lf = False
            if text[0] == "\n":
                text = text[1:]
        start = 0
        for match in _LINE_END.finditer(text):
            line = text[start:match.start()]
            if self._partial:
                self._partial.append(line)
                line = "".join(self._partial)
                self._partial.clear()
                self._size -= len(line) - (match.start() - start)
            self._line(line, events)
            start = match.end()
        if start < len(text):
            rest = text[start:]
            self._partial.append(rest)
            self._grow(len(rest))
        elif text and text[-1] == "\r":
            self._skip_lf = True
        return events

    def close(self) -> None:
        """The stream ended: an event without its final blank line is discarded, as specified."""
        self._closed = True
        self._partial.clear()
        self._data.clear()
        self._size = 0
        self._event_type = ""

    def _grow(self, count: int) -> None:
        self._size += count
        if self._size > self._max:
            raise EventTooLargeError(f"an event of the stream is over {self._max} characters")

    def _line(self, line: str, events: list[ReceivedEvent]) -> None:
        if not line:
            self._dispatch(events)
            return
        if line[0] == ":":
            if self._on_comment is not None:
                self._on_comment(line[2:] if line[1:2] == " " else line[1:])
            return
        name, _, value = line.partition(":")
        if value[:1] == " ":
            value = value[1:]
        # Field names are compared literally: "Data" and "data " are unknown fields.
        if name == "data":
            self._data.append(value)
            self._grow(len(value) + 1)
        elif name == "event":
            self._event_type = value
        elif name == "id":
            if "\0" not in value:
                self._id_buffer = value
        elif name == "retry":
            if value.isascii() and value.isdigit():
                digits = value.lstrip("0") or "0"
                if len(digits) <= _MAX_RETRY_DIGITS:
                    self.retry = int(digits)

    def _dispatch(self, events: list[ReceivedEvent]) -> None:
        # The last event ID is set even when nothing is dispatched, and never reset.
        self.last_event_id = self._id_buffer
        if self._data:
            # Joining with LF is appending value + LF per line, then removing the last LF.
            events.append(ReceivedEvent(event=self._event_type or "message",
                                        data="\n".join(self._data),
                                        last_event_id=self.last_event_id))
            self._data.clear()
        self._event_type = ""
        self._size = 0  # a blank line was just read whole, so nothing is pending


def parse(stream: bytes, *, max_event_size: int = DEFAULT_MAX_EVENT_SIZE) -> list[ReceivedEvent]:
    """Every event a whole stream dispatches; an unfinished last event is dropped."""
    parser = EventStreamParser(max_event_size=max_event_size)
    events = parser.feed(stream)
    parser.close()
    return events
