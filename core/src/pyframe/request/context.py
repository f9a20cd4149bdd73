"""RequestContext: what a handler and middleware know about the request.

Everything is computed on first access and cached. The body is read before the handler runs
(so ``context.json`` is a plain attribute); it is decoded only when asked for.
"""

from __future__ import annotations

import itertools
import os
from collections.abc import AsyncIterator
from typing import TYPE_CHECKING, Any

import msgspec
from aiohttp import web

from ..errors import BadRequest, PayloadTooLarge, UnprocessableContent, UnsupportedMediaType
from .bodies import MultiValueDict, bad_json, decode_json, decode_multipart, decode_urlencoded
from .negotiation import accept_quality, media_type_of, parse_accept
from .reading import BodyReader, check_declared_length, read_body, read_chunk
from .text import quotable, readable, readable_headers, request_cookies

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
    _headers: Any = None
    _cookies: Any = None
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
        # The path only: a query string may carry a credential (?token=) into a traceback.
        return f"<RequestContext {self.method} {self.path}>"

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
        """The request's headers; a value whose bytes are not UTF-8 reads as Latin-1."""
        headers = self._headers
        if headers is None:
            headers = self._headers = readable_headers(self.request.headers)
        return headers

    @property
    def cookies(self):
        """The request's cookies; a name sent twice has its first value (see docs/security.md)."""
        cookies = self._cookies
        if cookies is None:
            request = self.request
            cookies = self._cookies = request_cookies(request.headers.get("Cookie", ""),
                                                      request.cookies)
        return cookies

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
        return readable(self.request.headers.get("User-Agent", ""))

    @property
    def content_type(self) -> str:
        return readable(self.request.headers.get("Content-Type", ""))

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
        value = self.request.headers.get(name)
        return default if value is None else readable(value)

    def get_cookie(self, name: str, default: Any = None) -> Any:
        return self.cookies.get(name, default)

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
        if limit is not None:
            check_declared_length(self.request, limit)
        reader = BodyReader(self.request)
        size = 0
        while chunk := await reader.next():
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
                raise UnsupportedMediaType(detail=self._expected("a JSON body (application/json)"))
            else:
                self._json = decode_json(body)
        return self._json

    def json_as(self, type: type[Any]) -> Any:
        """The JSON body validated as ``type`` (a msgspec Struct, dataclass, TypedDict, ...).

        A body that does not fit gets 422 naming the path of the bad value.
        """
        if not self.is_json():
            raise UnsupportedMediaType(detail=self._expected("a JSON body (application/json)"))
        try:
            return msgspec.json.decode(self.raw_body, type=type)
        except msgspec.ValidationError as exc:
            raise UnprocessableContent(detail=str(exc)) from None
        except (msgspec.DecodeError, UnicodeDecodeError, RecursionError) as exc:
            raise BadRequest(detail=bad_json(exc)) from None

    def _expected(self, what: str) -> str:
        """A 415's detail: what the route reads, and the content type sent when it is a plain
        ``type/subtype`` (never anything that could carry markup back to the client)."""
        sent = self.content_type
        if not sent:
            return f"expected {what}, got no Content-Type"
        shown = quotable(sent, media_type=True)
        return f"expected {what}, got {shown if shown else 'another Content-Type'}"

    def _parse_form(self) -> None:
        body = self.raw_body
        media = media_type_of(self.content_type)
        if media == "multipart/form-data":
            self._form, self._files = decode_multipart(body, self.content_type)
        elif media == "application/x-www-form-urlencoded" or (not body and not media):
            self._form, self._files = decode_urlencoded(body), MultiValueDict()
        else:
            raise UnsupportedMediaType(detail=self._expected(
                "a form body (application/x-www-form-urlencoded or multipart/form-data)"))

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
                    shown = quotable(media, media_type=True) if media else None
                    what = shown or ("another Content-Type" if media
                                     else "a body without Content-Type")
                    raise UnsupportedMediaType(detail=f"no decoder for {what}; this app reads "
                                                      f"{known}")
                self._data = decoder(body, self.content_type)
        return self._data

