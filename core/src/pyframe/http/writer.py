"""Turning a Response into what aiohttp writes: bytes, a stream, or a file.

A response aiohttp cannot write safely (a bad status, a header name that is not a token, a
value with a line break or NUL) becomes a 500 here, before any byte of it is sent.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from aiohttp import web
from aiohttp.streams import EmptyStreamReader
from multidict import CIMultiDict

from ..logging import get_logger
from ..request.responses import FileResponse, Response, ResponseCookie, json_encode
from ..request.streams import stream_item_encoder
from .direct import check_headers, check_value, direct_response

if TYPE_CHECKING:
    from ..request.context import RequestContext

__all__ = ["send", "UpgradedResponse"]

log = get_logger("pyframe")
_FALLBACK_BODY = b'{"error":"Internal Server Error"}'
# One header mapping per content type, shared by every response that sets no other header
# (bounded: content types beyond the first 256 get a mapping of their own).
_PLAIN_HEADERS: dict[str, CIMultiDict[str]] = {}


class UpgradedResponse(Response):
    """A response already written by a protocol upgrade (a WebSocket session)."""

    __slots__ = ("raw",)

    def __init__(self, raw: web.StreamResponse) -> None:
        super().__init__(b"", status=raw.status)
        self.raw = raw


def _headers_for(content_type: str | None) -> CIMultiDict[str] | None:
    if content_type is None:
        return None
    headers = _PLAIN_HEADERS.get(content_type)
    if headers is None:
        headers = CIMultiDict({"Content-Type": check_value(content_type)})
        if len(_PLAIN_HEADERS) < 256:
            _PLAIN_HEADERS[content_type] = headers
    return headers


def _set_cookies(resp: web.StreamResponse, cookies: dict[str, ResponseCookie]) -> None:
    for name, c in cookies.items():
        resp.set_cookie(name, c.value, expires=c.expires_header(), domain=c.domain,
                        max_age=c.max_age, path=c.path or "/", secure=c.secure or None,
                        httponly=c.http_only or None, samesite=c.same_site)


def send(request: web.BaseRequest, context: RequestContext, response: Response) -> Any:
    """What aiohttp should write for ``response``: a response object, or for a stream a
    coroutine that writes it."""
    try:
        return _send(context, request, response)
    except (ValueError, TypeError) as exc:
        # A middleware or handler built a response aiohttp cannot write (a bad status, a
        # body of the wrong type): a 500, never a traceback to the client.
        log.error("response_invalid", request_id=context.request_id, path=context.path,
                  exc_info=exc)
        return web.Response(body=_FALLBACK_BODY, status=500, content_type="application/json",
                            headers={"X-Content-Type-Options": "nosniff"})


def _send(context: RequestContext, request: web.BaseRequest, response: Response) -> Any:
    status = response.status
    if type(status) is not int or not 100 <= status <= 599:
        raise ValueError(f"a response status is an int from 100 to 599, got {status!r}")
    body = response.body
    if type(body) is bytes or type(body) is str:
        data = body.encode() if type(body) is str else body
        headers = response._headers
        if not response._cookies:
            direct = direct_response(request, status, headers, response.content_type, data)
            if direct is not None:
                return direct
        if headers is not None:
            check_headers(headers.items())
        resp = web.Response(body=data, status=status,
                            headers=headers if headers is not None else
                            _headers_for(response.content_type))
    elif isinstance(response, UpgradedResponse):
        return response.raw
    elif isinstance(response, FileResponse):
        check_headers(response.headers.items())
        resp = web.FileResponse(response.path, chunk_size=response.chunk_size,
                                status=response.status, headers=response.headers)
    elif response.is_stream:
        check_headers(response.headers.items())
        return _stream(context, request, response)
    else:
        check_headers(response.headers.items())
        resp = web.Response(body=_coerce_body(body), status=response.status,
                            headers=response.headers)
    if response._cookies:
        _set_cookies(resp, response._cookies)
    return resp


def _coerce_body(body: Any) -> bytes:
    if body is None:
        return b""
    if isinstance(body, (bytearray, memoryview)):
        return bytes(body)
    if isinstance(body, (dict, list)):
        return json_encode(body)
    raise TypeError(f"a response body is bytes, str, JSON data or an async iterator, "
                    f"got {type(body).__name__}")


async def _stream(context: RequestContext, request: web.BaseRequest,
                  response: Response) -> web.StreamResponse:
    resp = web.StreamResponse(status=response.status, headers=response.headers)
    if response._cookies:
        _set_cookies(resp, response._cookies)
    body = response.body
    encode = stream_item_encoder(context.app,
                                 response.content_type or response.headers.get("Content-Type"))
    await resp.prepare(request)
    try:
        if request.method != "HEAD":
            await _until_disconnected(request, _write_items(resp, body, encode))
    except (ConnectionResetError, ConnectionError):
        pass  # the client went away; nothing left to tell it
    except _StreamCut:
        # The body ended its own stream (the sse plugin cuts a client that stopped reading):
        # abort, so the client sees an incomplete body rather than a complete one.
        if request.transport is not None:
            request.transport.abort()
    except Exception as exc:
        # The status line is gone already: log, and cut the connection so the client sees a
        # broken body rather than a complete one.
        log.error("stream_failed", path=request.path, exc_info=exc)
        if request.transport is not None:
            request.transport.abort()
    finally:
        aclose = getattr(body, "aclose", None)
        if aclose is not None:
            await aclose()
    return resp


class _StreamCut(Exception):
    """The task writing a stream was cancelled by the stream's own body, not by a disconnect."""


async def _write_items(resp: web.StreamResponse, body: Any,
                       encode: Callable[[Any], bytes]) -> None:
    async for item in body:
        chunk = encode(item)
        if chunk:
            await resp.write(chunk)


class _DisconnectSignal(EmptyStreamReader):
    """Stands in for a bodiless request's (shared, inert) empty payload while its response
    streams: aiohttp tells the current request's payload about a lost connection
    (``BaseRequest._cancel``), which here resolves a future the writer waits on."""

    __slots__ = ("lost",)

    def __init__(self, lost: asyncio.Future[None]) -> None:
        super().__init__()
        self.lost = lost

    def set_exception(self, exc: BaseException, exc_cause: BaseException | None = None) -> None:
        if not self.lost.done():
            self.lost.set_result(None)


async def _until_disconnected(request: web.BaseRequest, writing: Any) -> None:
    """Write a stream in a task of its own and cancel it when the client disconnects, so an
    idle stream (an SSE subscription with nothing to say) is noticed at once, not at its
    next write: its generator's ``finally`` runs while the server still has it.

    Only a bodiless request (a GET, as EventSource sends) is watched this way; a stream that
    answers a request with a body notices the disconnect at its next write. A body may also
    end its stream early by cancelling the task that iterates it (``asyncio.current_task()``
    in its ``__anext__``): that raises _StreamCut, and the connection is aborted.
    """
    loop = asyncio.get_running_loop()
    lost: asyncio.Future[None] = loop.create_future()
    payload = request.content
    watched = type(payload) is EmptyStreamReader
    if request.transport is None:
        lost.set_result(None)
    elif watched:
        request._payload = _DisconnectSignal(lost)  # in BaseRequest.ATTRS: no warning
    task = asyncio.ensure_future(writing)
    try:
        await asyncio.wait((task, lost), return_when=asyncio.FIRST_COMPLETED)
    finally:
        if watched:
            request._payload = payload
        if not task.done():
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)
        if not lost.done():
            lost.cancel()
    if task.cancelled():
        if lost.done() and not lost.cancelled():
            return  # the client went away; cancelling closed the body where it waited
        raise _StreamCut
    task.result()
