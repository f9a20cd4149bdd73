"""Turning a Response into what aiohttp writes: bytes, a stream, or a file."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from aiohttp import web
from multidict import CIMultiDict

from ..logging import get_logger
from ..request.responses import FileResponse, Response, ResponseCookie, json_encode
from ..request.streams import stream_item_encoder
from .direct import direct_response

if TYPE_CHECKING:
    from ..request.context import RequestContext

__all__ = ["send", "UpgradedResponse"]

log = get_logger("pyframe")
_FALLBACK = web.Response(body=b'{"error":"Internal Server Error"}', status=500,
                         content_type="application/json")
# One header mapping per content type, shared by every response that sets no other header.
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
        headers = _PLAIN_HEADERS[content_type] = CIMultiDict({"Content-Type": content_type})
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
        return web.Response(body=_FALLBACK.body, status=500, content_type="application/json")


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
        resp = web.Response(body=data, status=status,
                            headers=headers if headers is not None else
                            _headers_for(response.content_type))
    elif isinstance(response, UpgradedResponse):
        return response.raw
    elif isinstance(response, FileResponse):
        resp = web.FileResponse(response.path, chunk_size=response.chunk_size,
                                status=response.status, headers=response.headers)
    elif response.is_stream:
        return _stream(context, request, response)
    else:
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
            async for item in body:
                chunk = encode(item)
                if chunk:
                    await resp.write(chunk)
    except (ConnectionResetError, ConnectionError):
        pass  # the client went away; nothing left to tell it
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
