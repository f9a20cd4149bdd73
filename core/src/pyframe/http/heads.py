"""Feeding each read to aiohttp's parser: one head at a time, each head and a chunked body's
framing measured as the bytes arrive, and what the parser lets through refused.

aiohttp's parser drops every message of a read that turns out malformed; fed one head at a
time, the valid requests pipelined before a bad one are answered. The whole head is capped
(``max_head_size``, a 431), and so is a chunked body's framing beyond its data (chunk
extensions and trailers, which llhttp reads without keeping: a 400). The refusals of
framing.py (HTTP versions, transfer codings) are answered in place of the head refused, in
order; a parse error while a body is being read fails that read with the answer at once.
"""

from __future__ import annotations

from typing import Any

from aiohttp import http_exceptions as hx
from aiohttp.http import HttpVersion11
from aiohttp.streams import EMPTY_PAYLOAD
from aiohttp.web_protocol import RequestHandler, _ErrInfo

from ..errors import HTTPError
from ..status import get_description
from .framing import CHECK_HOST, Refusal, describe, refusal_of

__all__ = ["HeadReading"]

# Heads fed to the parser one by one per read, at most.
_MAX_SPLIT = 32
_END_OF_HEAD = b"\r\n\r\n"
_DEFAULT_HEAD_LIMIT = 64 * 1024
# A chunked body may carry this many framing bytes (size lines, extensions, trailers) per
# byte of data on top of the head limit: 1-byte chunks need 5.
_FRAMING_PER_BYTE = 16
_CLOSE = {"Connection": "close"}
_parse = RequestHandler.data_received


class HeadReading:
    """Mixed into the connection, ahead of aiohttp's RequestHandler, whose ``data_received``
    it wraps. The connection declares the slots and sets: ``head_limit``, ``line_limit``,
    ``field_limit``, ``_head_bytes``, ``_line_length``, ``_last_payload``, ``_framing``,
    ``_refusing``, ``_unmade_upgrade``, ``_awaiting_head``, ``_first_request``,
    ``_head_timer``; and it provides ``_arm_head_timer`` and ``_cancel_head_timer``."""

    __slots__ = ()
    head_limit: int | None
    line_limit: int
    field_limit: int
    _head_bytes: int
    _line_length: int | None
    _last_payload: Any
    _framing: int
    _refusing: bool
    _unmade_upgrade: Any
    _awaiting_head: bool
    _first_request: Any
    _head_timer: Any

    if not hasattr(RequestHandler, "_upgraded"):
        # aiohttp 3.13 keeps "the connection switched protocols" as _upgrade; 3.14 as
        # _upgraded, on its BaseProtocol.
        @property
        def _upgraded(self) -> bool:
            return self._upgrade  # type: ignore[attr-defined, no-any-return]

    def data_received(self, data: bytes) -> None:
        if self._refusing or self._force_close or self._close:
            return  # aiohttp drops these bytes too
        if self._upgraded or self._payload_parser is not None:
            super().data_received(data)  # a WebSocket's frames, or bytes behind an upgrade
            return
        if not data:  # aiohttp resuming its parser (the body reader drained its buffer)
            count = self._request_count
            _parse(self, data)
            if self._request_count != count:
                payload = self._last_payload
                self._parsed(count, payload if payload is not None and not payload.is_eof()
                             else None, False, data, self._head_bytes)
            return
        # Heads go to the parser one at a time (cut after each blank line, while no body is
        # being read): aiohttp's parser drops every message of a read that turns out
        # malformed, so a valid request pipelined before a bad one in the same read would go
        # unanswered, and the 400 read as its answer. A read with one blank line at most (one
        # head, or a head and its body) goes in whole. Written out inline: this runs per read.
        end = data.find(_END_OF_HEAD)
        if end < 0 or end + 4 == len(data) or data.find(_END_OF_HEAD, end + 4) < 0:
            self._feed(data)
            return
        start = 0
        for _ in range(_MAX_SPLIT):
            cut = end + 4
            self._feed(data[start:cut])
            start = cut
            if (self._refusing or self._force_close or self._close or self._upgraded
                    or len(self._messages) >= _MAX_SPLIT):
                break
            payload = self._last_payload
            if payload is not None and not payload.is_eof():
                break  # a body follows: the rest goes in as one piece
            end = data.find(_END_OF_HEAD, start)
            if end < 0 or end + 4 >= len(data):
                break
        if start < len(data) and not (self._refusing or self._force_close or self._close):
            if self._upgraded:
                super().data_received(data[start:])
            else:
                self._feed(data[start:])

    def _feed(self, data: bytes) -> None:
        """One piece of a read through aiohttp's parser, with the head and framing counted."""
        payload = self._last_payload
        if payload is not EMPTY_PAYLOAD and payload is not None and not payload.is_eof():
            self._feed_body(data, payload)
            return
        count = self._request_count
        before = self._head_bytes
        _parse(self, data)
        if self._request_count == count:
            self._partial_head(data, before)
            return
        limit = self.head_limit
        # A head that arrived whole in this piece is measured too, when it might be over.
        large = limit is not None and before + len(data) > limit
        messages = self._messages
        if self._request_count == count + 1 and not large and messages:
            message, payload = messages[-1]
            if (type(message) is not _ErrInfo and message.version is HttpVersion11
                    and not message.chunked and not message.upgrade and not CHECK_HOST):
                # The usual head, served as it is (written out: this runs per request).
                self._last_payload = payload
                self._head_bytes = 0
                self._line_length = None
                self._framing = 0
                self._awaiting_head = False
                if self._head_timer is not None:
                    self._cancel_head_timer()
                if self._first_request is not None and not self._first_request.done():
                    self._first_request.set_result(None)
                return
        self._parsed(count, None, large, data, before)

    def _feed_body(self, data: bytes, payload: Any) -> None:
        delivered = payload.total_bytes
        count = self._request_count
        _parse(self, data)
        if self._request_count != count:  # a parse error, or the next head after the body
            self._parsed(count, None if payload.is_eof() else payload, False, data, 0)
            return
        # Bytes of a chunked body that did not become body data: chunk-size lines, their
        # extensions, trailers. llhttp keeps none of them, but a client could send them
        # for ever against a body that never grows.
        self._framing += len(data) - (payload.total_bytes - delivered)
        limit = self.head_limit or _DEFAULT_HEAD_LIMIT
        if self._framing > limit + _FRAMING_PER_BYTE * payload.total_bytes:
            self._refuse(400, f"the chunked body carries more than {limit} bytes of framing "
                              f"(chunk extensions, trailers)", payload)

    def _partial_head(self, data: bytes, before: int) -> None:
        self._head_bytes = before + len(data)
        if self._line_length is None:
            end = data.find(b"\n")
            if end >= 0:
                self._line_length = before + end
        limit = self.head_limit
        if limit is not None and self._head_bytes > limit:
            self._refuse(431, f"the request head is larger than {limit} bytes")
        elif self._line_length is None and self._head_bytes > self.line_limit:
            # aiohttp 3.13's parser measures the request line per read, not in total.
            self._refuse(414, f"the request line is longer than {self.line_limit} bytes")
        elif self._awaiting_head and self._head_timer is None:
            # Part of a head: its deadline starts now (a whole head in one read, the usual
            # case, never sets a timer).
            self._arm_head_timer()

    def _parsed(self, count: int, body: Any, large: bool, data: bytes, before: int) -> None:
        """New messages from the parser: refuse what framing.py refuses and heads over
        ``max_head_size`` (``large``: one may be), and give a parse error its answer now (as
        the answer of a body being read, when there is one). ``data`` is the piece they came
        in, after ``before`` bytes of their head."""
        messages = self._messages
        first = max(len(messages) - (self._request_count - count), 0)
        for index in range(first, len(messages)):
            message = messages[index][0]
            if type(message) is _ErrInfo:
                if body is not None and isinstance(message.exc, hx.LineTooLong):
                    status, detail = 431, f"a trailer is longer than {self.field_limit} bytes"
                else:
                    if self._line_length is None and body is None:
                        end = data.find(b"\n")  # a line too long is in the line or a header
                        self._line_length = before + end if end >= 0 else None
                    status, detail = describe(self, message.status, message.exc)
                refusal = Refusal(status, detail or get_description(status))
                if body is not None and not body.is_eof():
                    # The request being served is reading its body (a trailer too long, a
                    # broken chunk): its read fails with this answer now, instead of waiting
                    # out body_timeout for data that will never come.
                    self._fail_body(body, status, refusal.detail)
            else:
                refusal = refusal_of(message)
                if refusal is None and large and _head_size(message) > self.head_limit:
                    refusal = Refusal(431, f"the request head is larger than "
                                           f"{self.head_limit} bytes")
                if refusal is None:
                    if message.upgrade and not self._upgraded:
                        # An upgrade pyframe does not make (h2c, or one no route takes): the
                        # answer closes the connection (finish_response), so nothing sent
                        # after it is read as a request, whatever the reads' boundaries.
                        self._unmade_upgrade = message
                        while len(messages) > index + 1:
                            messages.pop()
                        if messages[index][1].is_eof():
                            self._refusing = True  # no body to read: nothing more to read
                        break
                    continue
            messages[index] = (_ErrInfo(status=refusal.status, exc=refusal, message=""),
                               EMPTY_PAYLOAD)
            while len(messages) > index + 1:
                messages.pop()
            self._refusing = True
            break
        self._last_payload = messages[-1][1] if messages and not self._refusing else None
        self._head_bytes = 0
        self._line_length = None
        self._framing = 0
        self._awaiting_head = False
        if self._first_request is not None and not self._first_request.done():
            self._first_request.set_result(None)
        if self._head_timer is not None:
            self._cancel_head_timer()

    def _fail_body(self, body: Any, status: int, detail: str) -> None:
        """The body being read fails with this answer; nothing is lingered for after it."""
        body.set_exception(HTTPError(status, detail, headers=_CLOSE))
        self._lingering_time = 0.0

    def _refuse(self, status: int, detail: str, body: Any = None) -> None:
        """Stop reading and answer ``status``: as the answer of the body being read, or
        after the requests already queued, then close."""
        self._refusing = True
        self._cancel_head_timer()
        if body is not None:
            self._fail_body(body, status, detail)
            return
        self._request_count += 1
        self._messages.append((_ErrInfo(status=status, exc=Refusal(status, detail), message=""),
                               EMPTY_PAYLOAD))
        waiter = self._waiter
        if waiter is not None and not waiter.done():
            waiter.set_result(None)


def _head_size(message: Any) -> int:
    """About the bytes of a parsed head: its request line and header lines."""
    return len(message.method) + len(message.path) + 12 + sum(
        len(name) + len(value) + 4 for name, value in message.raw_headers)
