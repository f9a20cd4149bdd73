"""RequestContext: what a handler and middleware know about the request.

Everything is computed on first access and cached. The body is read before the handler runs
(so ``context.json`` is a plain attribute); it is decoded only when asked for.
"""

from __future__ import annotations

import asyncio
import itertools
import os
from collections.abc import AsyncIterator
from typing import TYPE_CHECKING, Any

import msgspec
from aiohttp import web

from ..errors import (
    BadRequest,
    HTTPError,
    PayloadTooLarge,
    UnprocessableContent,
    UnsupportedMediaType,
)
from .bodies import MultiValueDict, decode_json, decode_multipart, decode_urlencoded
from .negotiation import accept_quality, media_type_of, parse_accept

if TYPE_CHECKING:
    from ..app import PyFrameApp
    from .routing import Route

__all__ = ["RequestContext", "read_body", "read_chunk"]

_ids = itertools.count(1)
_id_prefix = os.urandom(4).hex()
_UNSET: Any = object()
_JSON_TYPES = ("application/json",)


class RequestContext:
    """The current request. Middleware may set attributes of its own on it."""

    # Defaults live on the class: a request sets only what it has, the rest is read through.
    user: Any = None
    route_error: Exception | None = None
    started: float | None = None
    _body: bytes | None = None
    _request_id: str | None = None
    _query: MultiValueDict | None = None
    _json: Any = _UNSET
    _form: Any = _UNSET
    _files: Any = _UNSET
    _data: Any = _UNSET
    _session: Any = _UNSET

    def __init__(self, app: PyFrameApp, request: web.BaseRequest, route: Route | None = None,
                 params: dict[str, Any] | None = None) -> None:
        self.app = app
        self.request = request
        self.route = route
        self.params = params if params is not None else {}
        self.method: str = request.method

    def __repr__(self) -> str:
        return f"<RequestContext {self.method} {self.full_path}>"

    # The request line and its parts.
    @property
    def path(self) -> str:
        return self.request.path

    @property
    def full_path(self) -> str:
        return self.request.path_qs

    @property
    def raw_path(self) -> str:
        """The path as sent, still percent-encoded (what the router matched)."""
        return self.request.rel_url.raw_path

    @property
    def query_string(self) -> str:
        """The query string as sent, still percent-encoded, without the ``?``."""
        return self.request.rel_url.raw_query_string

    @property
    def scheme(self) -> str:
        """``"https"`` over TLS, else ``"http"``."""
        return self.request.scheme

    @property
    def host(self) -> str | None:
        """The ``Host`` the client asked for (``host[:port]``)."""
        return self.request.host

    @property
    def query_params(self) -> MultiValueDict:
        if self._query is None:
            self._query = MultiValueDict(self.request.query.items())
        return self._query

    @property
    def headers(self):
        return self.request.headers

    @property
    def cookies(self):
        return self.request.cookies

    @property
    def remote_addr(self) -> str | None:
        return self.request.remote

    @property
    def remote_port(self) -> int | None:
        """The client's port (None over a Unix socket, or when the peer is unknown)."""
        transport = self.request.transport
        peer = transport.get_extra_info("peername") if transport is not None else None
        return peer[1] if isinstance(peer, tuple) and len(peer) >= 2 else None

    @property
    def http_version(self) -> str:
        """``"1.1"`` or ``"1.0"``."""
        version = self.request.version
        return f"{version.major}.{version.minor}"

    @property
    def user_agent(self) -> str:
        return self.request.headers.get("User-Agent", "")

    @property
    def content_type(self) -> str:
        return self.request.headers.get("Content-Type", "")

    @property
    def request_id(self) -> str:
        """The request's id: the client's ``X-Request-ID`` when it is sane, else a new one."""
        rid = self._request_id
        if rid is None:
            given = self.request.headers.get("X-Request-ID", "")
            if 0 < len(given) <= 128 and given.isascii() and given.isprintable():
                rid = given
            else:
                rid = f"{_id_prefix}-{next(_ids):x}"
            self._request_id = rid
        return rid

    @request_id.setter
    def request_id(self, value: str) -> None:
        self._request_id = value

    @property
    def session(self) -> Any:
        """Session data, set up by a sessions plugin (``pip install 'pyframe[auth]'``)."""
        if self._session is _UNSET:
            raise RuntimeError("context.session needs a sessions plugin: enable 'auth' "
                               "(pip install 'pyframe[auth]') or set context.session in middleware")
        return self._session

    @session.setter
    def session(self, value: Any) -> None:
        self._session = value

    # Lookups.
    def get_header(self, name: str, default: Any = None) -> Any:
        return self.request.headers.get(name, default)

    def get_cookie(self, name: str, default: Any = None) -> Any:
        return self.request.cookies.get(name, default)

    def get_query_param(self, name: str, default: Any = None) -> Any:
        return self.query_params.get(name, default)

    def is_ajax(self) -> bool:
        return self.request.headers.get("X-Requested-With", "").lower() == "xmlhttprequest"

    def is_json(self) -> bool:
        media = media_type_of(self.content_type)
        return media in _JSON_TYPES or media.endswith("+json")

    def accepts(self, content_type: str) -> bool:
        """Whether the ``Accept`` header allows ``content_type`` (q-values and wildcards)."""
        header = self.request.headers.get("Accept")
        if not header:
            return True
        return accept_quality(parse_accept(header), content_type) > 0

    # The body.
    @property
    def has_body(self) -> bool:
        return self.request.body_exists

    async def load_body(self) -> bytes:
        """Read the whole body (once), enforcing the route's or the app's size limit."""
        if self._body is None:
            limit = self.app.max_body_size
            if self.route is not None and self.route.max_body_size is not None:
                limit = self.route.max_body_size
            self._body = await read_body(self.request, limit)
        return self._body

    async def stream(self) -> AsyncIterator[bytes]:
        """Iterate over the body as it arrives, for routes registered with ``stream_body``.

        The server's body inactivity timeout applies; a ``max_body_size`` given on the route
        is enforced (the app-wide default is not: streaming is for bodies larger than that).
        """
        if self._body is not None:
            yield self._body
            return
        limit = self.route.max_body_size if self.route is not None else None
        size = 0
        while chunk := await read_chunk(self.request):
            size += len(chunk)
            if limit is not None and size > limit:
                raise PayloadTooLarge(detail=f"the body is over the limit of {limit} bytes")
            yield chunk

    @property
    def raw_body(self) -> bytes:
        if self._body is None:
            if not self.request.body_exists:
                return b""
            raise RuntimeError("the body has not been read: this route streams its body "
                               "(use `async for chunk in context.stream()`) or call "
                               "`await context.load_body()` first in middleware")
        return self._body

    @property
    def json(self) -> Any:
        """The body decoded as JSON; None without a body. 415 for another content type."""
        if self._json is _UNSET:
            body = self.raw_body
            if not body:
                self._json = None
            elif not self.is_json():
                raise UnsupportedMediaType(detail=f"expected a JSON body (application/json), "
                                                  f"got {self.content_type or 'no Content-Type'}")
            else:
                self._json = decode_json(body)
        return self._json

    def json_as(self, type: type[Any]) -> Any:
        """The JSON body validated as ``type`` (a msgspec Struct, dataclass, TypedDict, ...).

        A body that does not fit gets 422 naming the path of the bad value.
        """
        if not self.is_json():
            raise UnsupportedMediaType(detail=f"expected a JSON body (application/json), "
                                              f"got {self.content_type or 'no Content-Type'}")
        try:
            return msgspec.json.decode(self.raw_body, type=type)
        except msgspec.ValidationError as exc:
            raise UnprocessableContent(detail=str(exc)) from None
        except msgspec.DecodeError as exc:
            raise BadRequest(detail=f"malformed JSON body: {exc}") from None

    def _parse_form(self) -> None:
        body = self.raw_body
        media = media_type_of(self.content_type)
        if media == "multipart/form-data":
            self._form, self._files = decode_multipart(body, self.content_type)
        elif media == "application/x-www-form-urlencoded" or (not body and not media):
            self._form, self._files = decode_urlencoded(body), MultiValueDict()
        else:
            raise UnsupportedMediaType(
                detail="expected a form body (application/x-www-form-urlencoded or "
                       f"multipart/form-data), got {self.content_type or 'no Content-Type'}")

    @property
    def form(self) -> MultiValueDict:
        if self._form is _UNSET:
            self._parse_form()
        return self._form

    @property
    def files(self) -> MultiValueDict:
        if self._files is _UNSET:
            self._parse_form()
        return self._files

    @property
    def data(self) -> Any:
        """The body decoded by whichever decoder is registered for its content type."""
        if self._data is _UNSET:
            body = self.raw_body
            media = media_type_of(self.content_type)
            if not body:
                self._data = None
            else:
                decoder = self.app.body_decoders.get(media)
                if decoder is None and media.endswith("+json"):
                    decoder = decode_json
                if decoder is None:
                    known = ", ".join(sorted(self.app.body_decoders))
                    raise UnsupportedMediaType(detail=f"no decoder for "
                                                      f"{media or 'a body without Content-Type'}; "
                                                      f"this app reads {known}")
                self._data = decoder(body, self.content_type)
        return self._data


async def read_chunk(request: web.BaseRequest) -> bytes:
    """The next piece of the body, b"" at its end.

    A client that stops sending mid-body gets a 408 after the server's ``body_timeout`` of
    silence (the connection handler carries it; None when served some other way). What has
    already arrived is taken without arming a timer.
    """
    protocol = request.protocol
    content = request.content
    timeout = getattr(protocol, "body_timeout", None)
    try:
        chunk = content.read_nowait()
        if not chunk and not content.at_eof():
            if timeout is None:
                chunk = await content.readany()
            else:
                async with asyncio.timeout(timeout):
                    chunk = await content.readany()
    except TimeoutError:
        give_up = getattr(protocol, "body_timed_out", None)
        if give_up is not None:
            give_up()
        raise HTTPError(408, detail=f"no body data arrived for {timeout:g} s",
                        headers={"Connection": "close"}) from None
    except Exception as exc:  # a broken chunked encoding, a connection reset
        raise BadRequest(detail="the body could not be read: malformed or cut off") from exc
    return chunk


async def read_body(request: web.BaseRequest, limit: int) -> bytes:
    length = request.content_length
    if length is not None and length > limit:
        raise PayloadTooLarge(detail=f"the body is {length} bytes; the limit is {limit}")
    chunks, size = [], 0
    while length is None or size < length:
        chunk = await read_chunk(request)
        if not chunk:
            break
        size += len(chunk)
        if size > limit:
            raise PayloadTooLarge(detail=f"the body is over the limit of {limit} bytes")
        chunks.append(chunk)
    if length is not None and size < length:
        raise BadRequest(detail="the body ended before its Content-Length")
    return chunks[0] if len(chunks) == 1 else b"".join(chunks)
