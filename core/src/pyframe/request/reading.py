"""Reading a request body: deadlines and a minimum rate, ``Expect: 100-continue``, the size
limit, and ``Content-Encoding`` decoded here with the decoded bytes counted.

``Content-Length`` frames the bytes on the wire (aiohttp's parser reads exactly that many);
``max_body_size`` counts both those and the decoded bytes. A coded body is decoded in steps
of at most 64 KiB, so a compression bomb is refused once it passes the limit, never expanded
whole. The connection handler carries the settings (``body_timeout``, ``body_min_rate``,
``decompress_bodies``); served some other way, the body is read without them.
"""

from __future__ import annotations

import asyncio
import zlib
from typing import Any

from aiohttp import web

from ..errors import BadRequest, HTTPError, PayloadTooLarge, UnsupportedMediaType

__all__ = ["BodyReader", "read_body", "read_chunk", "check_declared_length",
           "DECODED_CODINGS"]

_CONTINUE = b"HTTP/1.1 100 Continue\r\n\r\n"
_STEP = 64 * 1024  # decoded bytes per step
_CLOSE = {"Connection": "close"}

try:
    import brotli
except ImportError:  # pragma: no cover - brotli comes with the compression extra
    brotli = None
# Only a brotli that can bound its output per call is safe against a bomb (brotli >= 1.2).
_BROTLI = brotli is not None and hasattr(brotli.Decompressor(), "can_accept_more_data")


class _Undecodable(Exception):
    """A coded body that does not decode; its message is the 400's detail."""


class _Zlib:
    """gzip (one member or several) and deflate (zlib-wrapped, or raw as some clients send)."""

    def __init__(self, coding: str) -> None:
        self.coding = coding
        self.obj: Any = None
        self.tail = b""  # input not yet decompressed
        self.full = False  # the last step filled its output: zlib may hold more

    def push(self, data: bytes) -> None:
        if self.obj is None:
            if self.coding == "gzip":
                wbits = 16 + zlib.MAX_WBITS
            else:  # RFC 9110's deflate is the zlib format; a raw stream has no zlib header
                wbits = zlib.MAX_WBITS if data[0] & 0x0F == 8 else -zlib.MAX_WBITS
            self.obj = zlib.decompressobj(wbits)
        self.tail = data

    def pull(self) -> bytes:
        obj = self.obj
        if obj is None:
            return b""
        if obj.eof:
            extra = obj.unused_data + self.tail
            if not extra:
                return b""
            if self.coding != "gzip":
                raise _Undecodable("malformed deflate body: data after its end")
            # Another gzip member follows (RFC 1952 allows a series of them).
            self.obj = obj = zlib.decompressobj(16 + zlib.MAX_WBITS)
            self.tail = extra
        if not self.tail and not self.full:
            return b""
        try:
            out = obj.decompress(self.tail, _STEP)
        except zlib.error:
            raise _Undecodable(f"malformed {self.coding} body") from None
        self.tail = obj.unconsumed_tail
        self.full = len(out) == _STEP
        return out

    def end(self) -> None:
        if self.obj is not None and not self.obj.eof:
            raise _Undecodable(f"malformed {self.coding} body: it is cut short")


class _Brotli:
    def __init__(self) -> None:
        self.obj: Any = brotli.Decompressor()
        self.tail = b""
        self.started = False

    def push(self, data: bytes) -> None:
        self.tail = data
        self.started = True

    def pull(self) -> bytes:
        obj = self.obj
        try:
            if obj.can_accept_more_data():
                data, self.tail = self.tail, b""
                return obj.process(data, output_buffer_limit=_STEP)
            return obj.process(b"", output_buffer_limit=_STEP)
        except brotli.error:
            raise _Undecodable("malformed br body") from None

    def end(self) -> None:
        if self.started and not self.obj.is_finished():
            raise _Undecodable("malformed br body: it is cut short")


_DECODERS: dict[str, Any] = {"gzip": lambda: _Zlib("gzip"), "x-gzip": lambda: _Zlib("gzip"),
                             "deflate": lambda: _Zlib("deflate")}
if _BROTLI:
    _DECODERS["br"] = _Brotli
DECODED_CODINGS = tuple(c for c in _DECODERS if c != "x-gzip")
_ACCEPTED = ", ".join(DECODED_CODINGS)


def _decoder(request: web.BaseRequest, allowed: bool) -> Any:
    """The decoder for the body's Content-Encoding; None when it is not coded. 415 for a
    coding not decoded here (RFC 7694: the answer lists the ones that are)."""
    header = request.headers.get("Content-Encoding")
    if header is None:
        return None
    codings = [c for c in (part.strip(" \t").lower() for part in header.split(","))
               if c and c != "identity"]
    if not codings:
        return None
    if not allowed:
        raise UnsupportedMediaType(detail="request bodies are not decompressed by this server: "
                                          "send it without Content-Encoding",
                                   headers={"Accept-Encoding": "identity"})
    factory = _DECODERS.get(codings[0]) if len(codings) == 1 else None
    if factory is None:
        raise UnsupportedMediaType(detail=f"a request body may be coded with one of "
                                          f"{_ACCEPTED}, and with one coding only",
                                   headers={"Accept-Encoding": _ACCEPTED})
    return factory()


class BodyReader:
    """One request's body as it is read (``await reader.next()``, b"" at its end): the wire
    bytes, the time spent waiting for them, and the decoder, if the body is coded."""

    __slots__ = ("request", "protocol", "timeout", "min_rate", "waited", "received", "decoder",
                 "asked")

    def __init__(self, request: web.BaseRequest) -> None:
        self.request = request
        self.protocol = protocol = request.protocol
        self.waited = 0.0
        self.received = 0
        self.asked = False  # the first wait has come: Expect answered, the settings read
        self.timeout: float | None = None
        self.min_rate = 0.0
        self.decoder = (None if "Content-Encoding" not in request.headers
                        else _decoder(request, getattr(protocol, "decompress_bodies", True)))

    async def next(self) -> bytes:
        decoder = self.decoder
        if decoder is None:
            return await self._wire()
        try:
            while True:
                out = decoder.pull()
                if out:
                    return out
                data = await self._wire()
                if not data:
                    decoder.end()
                    return b""
                decoder.push(data)
        except _Undecodable as exc:
            self._give_up()
            raise BadRequest(detail=str(exc), headers=_CLOSE) from None

    async def _wire(self) -> bytes:
        request = self.request
        content = request.content
        try:
            chunk = content.read_nowait()  # what has arrived is taken without a timer
            if chunk or content.at_eof():
                self.received += len(chunk)
                return chunk
            if not self.asked:  # a body that arrived with its head never gets here
                self.asked = True
                _answer_expect(request)
                protocol = self.protocol
                self.timeout = getattr(protocol, "body_timeout", None)
                self.min_rate = getattr(protocol, "body_min_rate", 0.0) or 0.0
            loop = asyncio.get_running_loop()
            allowance, by_rate = self._allowance()
            started = loop.time()
            try:
                if allowance is None:
                    chunk = await content.readany()
                else:
                    async with asyncio.timeout(allowance):
                        chunk = await content.readany()
            finally:
                self.waited += loop.time() - started
        except TimeoutError:
            self._give_up()
            detail = (f"the body arrived slower than {self.min_rate:g} bytes a second"
                      if by_rate else f"no body data arrived for {self.timeout:g} s")
            raise HTTPError(408, detail=detail, headers=_CLOSE) from None
        except HTTPError:
            self._give_up()  # the connection found the framing broken (an oversized trailer)
            raise
        except Exception as exc:  # a broken chunked encoding, a connection reset
            self._give_up()
            raise BadRequest(detail="the body could not be read: malformed or cut off",
                             headers=_CLOSE) from exc
        self.received += len(chunk)
        return chunk

    def _allowance(self) -> tuple[float | None, bool]:
        """How long the next wait may last, and whether the minimum rate (not the silence
        timeout) sets it: ``body_timeout`` up front, plus the time each byte received buys."""
        timeout = self.timeout
        if timeout is None or not self.min_rate:
            return timeout, False
        budget = timeout + self.received / self.min_rate - self.waited
        if budget < timeout:
            return max(budget, 0.0), True
        return timeout, False

    def _give_up(self) -> None:
        # Answer and close without reading (lingering over) the rest of a body that failed.
        give_up = getattr(self.protocol, "body_failed", None)
        if give_up is not None:
            give_up()


# A request's reader for read_chunk, kept in the request's own mapping.
_STATE: Any = (web.RequestKey("pyframe.body", BodyReader) if hasattr(web, "RequestKey")
               else "pyframe.body")


def _answer_expect(request: web.BaseRequest) -> None:
    """``100 Continue`` before the first wait for a body the client holds back until told."""
    if request.version < (1, 1) or request.headers.get("Expect", "").lower() != "100-continue":
        return
    transport = request.transport
    if transport is not None and not transport.is_closing() and request.writer.output_size == 0:
        transport.write(_CONTINUE)


async def read_chunk(request: web.BaseRequest) -> bytes:
    """The next piece of the body, decoded, b"" at its end (a BodyReader kept on the request).

    408 after ``body_timeout`` of silence, or when the body falls below ``body_min_rate``;
    400 for a body that is malformed or cut off; 415 for a coding not decoded here.
    """
    reader = request.get(_STATE)
    if reader is None:
        reader = request[_STATE] = BodyReader(request)
    return await reader.next()


async def _rest_of(request: web.BaseRequest, first: bytes, length: int, limit: int) -> bytes:
    reader = BodyReader(request)
    reader.received = len(first)
    chunks, size = [first], len(first)
    while size < length and (chunk := await reader.next()):
        size += len(chunk)
        if size > limit:
            raise PayloadTooLarge(detail=f"the body is over the limit of {limit} bytes")
        chunks.append(chunk)
    return b"".join(chunks)


def check_declared_length(request: web.BaseRequest, limit: int) -> None:
    """413 at once for a declared ``Content-Length`` over ``limit``: before any ``100
    Continue``, so the client never sends the body."""
    length = request.content_length
    if length is not None and length > limit:
        raise PayloadTooLarge(detail=f"the body is {length} bytes; the limit is {limit}")


async def read_body(request: web.BaseRequest, limit: int) -> bytes:
    """The whole body, decoded; 413 once the bytes on the wire or the decoded ones pass
    ``limit``."""
    length = request.content_length
    if length is not None:
        if length > limit:
            raise PayloadTooLarge(detail=f"the body is {length} bytes; the limit is {limit}")
        if "Content-Encoding" not in request.headers:
            # The usual case: a small body that came with its head, taken whole at once.
            try:
                whole = request.content.read_nowait()
            except Exception:
                whole = b""  # the reader below says what went wrong
            if len(whole) == length:
                return whole
            if whole:
                return await _rest_of(request, whole, length, limit)
    reader = BodyReader(request)
    if reader.decoder is not None:
        # Not coded, a body is done at its Content-Length (the parser frames it), with no
        # read of the end; a coded one is read to its end, where its decoder checks it whole.
        length = None
    chunks, size = [], 0
    while chunk := await reader.next():
        size += len(chunk)
        if size > limit:
            raise PayloadTooLarge(detail=f"the body is over the limit of {limit} bytes")
        chunks.append(chunk)
        if size == length:
            break
    return chunks[0] if len(chunks) == 1 else b"".join(chunks)
