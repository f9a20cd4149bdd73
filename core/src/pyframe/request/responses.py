"""Response objects, and the rules that turn whatever a handler returns into one.

Every response is also a mutable mapping with the keys ``status``, ``headers``, ``body`` and
``cookies``, so middleware written against response dicts works on any response.
"""

from __future__ import annotations

import mimetypes
import os
from collections.abc import AsyncIterable, Callable, Iterator, Mapping, MutableMapping
from datetime import datetime
from typing import Any
from urllib.parse import quote

import msgspec
from multidict import CIMultiDict

__all__ = [
    "Response",
    "JSONResponse",
    "HTMLResponse",
    "PlainTextResponse",
    "RedirectResponse",
    "FileResponse",
    "StreamingResponse",
    "ResponseCookie",
    "RESPONSE_KEYS",
    "RESPONSE_CLASSES",
    "is_response_dict",
    "dict_response",
    "json_encode",
    "add_vary",
]

RESPONSE_KEYS = frozenset({"status", "headers", "body", "cookies"})
TEXT = "text/plain; charset=utf-8"
HTML = "text/html; charset=utf-8"
JSON = "application/json"
OCTETS = "application/octet-stream"

_json_encoder = msgspec.json.Encoder()
json_encode: Callable[[Any], bytes] = _json_encoder.encode
_ENCODED_TYPES = {"gzip": "application/gzip", "br": "application/x-brotli",
                  "bzip2": "application/x-bzip2", "xz": "application/x-xz",
                  "compress": "application/x-compress"}
_SAME_SITE = {"strict": "Strict", "lax": "Lax", "none": "None"}


class ResponseCookie:
    """A cookie to set on a response, with its attributes.

    The positional order follows the ``outside`` framework: value, max_age, domain, http_only,
    secure, path, same_site.
    """

    __slots__ = ("value", "max_age", "domain", "http_only", "secure", "path", "same_site",
                 "expires")

    def __init__(
        self,
        value: str,
        max_age: int | None = None,
        domain: str | None = None,
        http_only: bool = False,
        secure: bool = False,
        path: str | None = "/",
        same_site: str | None = None,
        *,
        expires: datetime | str | None = None,
    ) -> None:
        if same_site is not None:
            normalised = _SAME_SITE.get(same_site.lower())
            if normalised is None:
                raise ValueError(f"same_site must be 'Strict', 'Lax' or 'None', got {same_site!r}")
            if normalised == "None" and not secure:
                raise ValueError("same_site='None' needs secure=True: browsers drop it otherwise")
            same_site = normalised
        self.value = str(value)
        self.max_age = max_age
        self.domain = domain
        self.http_only = http_only
        self.secure = secure
        self.path = path
        self.same_site = same_site
        self.expires = expires

    @classmethod
    def coerce(cls, value: Any) -> ResponseCookie:
        if isinstance(value, ResponseCookie):
            return value
        if isinstance(value, Mapping):
            return cls(**value)
        return cls(str(value))

    def expires_header(self) -> str | None:
        if self.expires is None or isinstance(self.expires, str):
            return self.expires
        from email.utils import format_datetime

        return format_datetime(self.expires, usegmt=True)

    def __repr__(self) -> str:
        return f"ResponseCookie({self.value!r}, max_age={self.max_age!r}, path={self.path!r})"


class Response(MutableMapping):
    """An HTTP response: ``status``, ``headers``, ``body`` and ``cookies``.

    ``body`` is ``bytes``, ``str``, ``None`` or an async iterator (a stream). Headers are
    case-insensitive; ``Content-Type`` is filled from the body's kind unless given.
    """

    __slots__ = ("status", "_headers", "body", "_cookies", "content_type")
    default_content_type: str | None = None

    def __init__(
        self,
        body: Any = b"",
        status: int = 200,
        headers: Mapping[str, str] | None = None,
        cookies: Mapping[str, Any] | None = None,
        content_type: str | None = None,
    ) -> None:
        self.status = status
        self.body = body
        self.content_type = content_type or self.default_content_type or _content_type_for(body)
        self._headers: CIMultiDict[str] | None = None
        if headers:
            self.headers.update(headers)
        self._cookies: dict[str, ResponseCookie] | None = None
        if cookies:
            for name, value in cookies.items():
                self.cookies[name] = ResponseCookie.coerce(value)

    @property
    def headers(self) -> CIMultiDict[str]:
        headers = self._headers
        if headers is None:
            headers = self._headers = CIMultiDict()
            if self.content_type is not None:
                headers["Content-Type"] = self.content_type
        return headers

    @headers.setter
    def headers(self, value: Mapping[str, str]) -> None:
        self._headers = None
        self.headers.update(value)

    @property
    def cookies(self) -> dict[str, ResponseCookie]:
        if self._cookies is None:
            self._cookies = {}
        return self._cookies

    @cookies.setter
    def cookies(self, value: Mapping[str, Any]) -> None:
        self._cookies = {name: ResponseCookie.coerce(v) for name, v in value.items()}

    def set_cookie(self, name: str, value: str, **attributes: Any) -> None:
        self.cookies[name] = ResponseCookie(value, **attributes)

    def delete_cookie(self, name: str, path: str = "/", domain: str | None = None) -> None:
        self.cookies[name] = ResponseCookie("", max_age=0, path=path, domain=domain,
                                            expires="Thu, 01 Jan 1970 00:00:00 GMT")

    @property
    def is_stream(self) -> bool:
        return isinstance(self.body, AsyncIterable)

    # Mapping protocol: the four keys of a response dict.
    def __getitem__(self, key: str) -> Any:
        if key == "status":
            return self.status
        if key == "headers":
            return self.headers
        if key == "body":
            return self.body
        if key == "cookies":
            return self.cookies
        raise KeyError(key)

    def __setitem__(self, key: str, value: Any) -> None:
        if key == "status":
            self.status = int(value)
        elif key == "headers":
            self.headers = value
        elif key == "body":
            self.body = value
        elif key == "cookies":
            self.cookies = value
        else:
            raise KeyError(f"a response has no key {key!r}; use one of {sorted(RESPONSE_KEYS)}")

    def __delitem__(self, key: str) -> None:
        if key == "headers":
            self._headers = CIMultiDict()
        elif key == "cookies":
            self._cookies = None
        elif key == "body":
            self.body = b""
        else:
            raise KeyError(key)

    def __iter__(self) -> Iterator[str]:
        return iter(("status", "headers", "body", "cookies"))

    def __len__(self) -> int:
        return 4

    def __repr__(self) -> str:
        return f"<{type(self).__name__} status={self.status} content_type={self.content_type!r}>"

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Response:
        """Build a response from a response dict (see :func:`is_response_dict`)."""
        if cls is Response and type(data) is dict:
            response = dict_response(data)
            if response is not None:
                return response
        body = data.get("body", b"")
        if body is None:
            body = b""
        content_type = None
        if isinstance(body, (dict, list)):
            body, content_type = json_encode(body), JSON
        return cls(body, status=data.get("status", 200), headers=data.get("headers"),
                   cookies=data.get("cookies"), content_type=content_type)


_MISSING: Any = object()
_new = object.__new__


def dict_response(data: dict[str, Any]) -> Response | None:
    """The Response a handler's dict stands for, or None when it is JSON data (the rule of
    :func:`is_response_dict`): the check and the building in one pass, for the request path.
    """
    if not data or not data.keys() <= RESPONSE_KEYS:
        return None
    get = data.get
    body = get("body", _MISSING)
    status = get("status", _MISSING)
    if body is _MISSING:
        if type(status) is not int and (not isinstance(status, int) or isinstance(status, bool)):
            return None  # no body and no integer status: JSON data, such as {"status": "ok"}
        body = b""
    elif status is _MISSING:
        status = 200
    headers = get("headers")
    cookies = get("cookies")
    content_type = None
    if body is None:
        body = b""
    elif isinstance(body, (dict, list)):
        body, content_type = json_encode(body), JSON
    if type(headers) is dict and len(headers) == 1:
        # The reference's own shape, ``{'Content-Type': 'text/plain'}``: the content type
        # alone, with no header map to build (and the writer's prebuilt head to use).
        for name, value in headers.items():
            if type(name) is str and type(value) is str and value and (
                    name == "Content-Type" or name.lower() == "content-type"):
                headers, content_type = None, value
    if headers or cookies:
        return Response(body, status=status, headers=headers, cookies=cookies,
                        content_type=content_type)
    # Nothing but a status, a body and its type: the slots set directly, without __init__.
    response = _new(Response)
    response.status = status
    response.body = body
    response.content_type = content_type or _content_type_for(body)
    response._headers = None
    response._cookies = None
    return response



def add_vary(headers: CIMultiDict[str], *names: str) -> None:
    """Add ``names`` to a response's ``Vary``, keeping what is there and repeating nothing.

    Middleware whose answer depends on a request header calls this so caches keep the
    variants apart; ``Vary: *`` already covers everything.
    """
    existing = headers.getall("Vary", None)
    if existing is None:
        headers["Vary"] = ", ".join(names)
        return
    present = {token.strip().lower() for value in existing for token in value.split(",")}
    if "*" in present:
        return
    missing = [n for n in names if n.lower() not in present]
    if missing:
        headers["Vary"] = ", ".join([*(v for v in existing if v.strip()), *missing])


def _content_type_for(body: Any) -> str | None:
    if isinstance(body, str):
        return TEXT
    if isinstance(body, (bytes, bytearray, memoryview)):
        return OCTETS if body else None
    return None


def is_response_dict(data: Mapping[str, Any]) -> bool:
    """Tell a response dict from JSON data.

    A dict is a response dict when every key is one of ``status``, ``headers``, ``body`` and
    ``cookies``, and it has a ``body`` or an integer ``status``. Every other dict is JSON data.
    To send a dict like ``{"status": 1}`` as JSON, return ``JSONResponse(data)``.
    """
    if not data or not data.keys() <= RESPONSE_KEYS:
        return False
    if "body" in data:
        return True
    status = data.get("status")
    return isinstance(status, int) and not isinstance(status, bool)


class JSONResponse(Response):
    """``data`` encoded as JSON with msgspec (dicts, lists, Structs, dataclasses, dates)."""

    __slots__ = ()
    default_content_type = JSON

    def __init__(self, data: Any, status: int = 200, headers: Mapping[str, str] | None = None,
                 cookies: Mapping[str, Any] | None = None) -> None:
        Response.__init__(self, json_encode(data), status, headers, cookies)


class HTMLResponse(Response):
    __slots__ = ()
    default_content_type = HTML


class PlainTextResponse(Response):
    __slots__ = ()
    default_content_type = TEXT


class RedirectResponse(Response):
    """A redirect to ``url`` (302 unless told; 301, 303, 307 and 308 also allowed)."""

    __slots__ = ()

    def __init__(self, url: str, status: int = 302, headers: Mapping[str, str] | None = None,
                 cookies: Mapping[str, Any] | None = None) -> None:
        if status not in (301, 302, 303, 307, 308):
            raise ValueError(f"a redirect status is 301, 302, 303, 307 or 308, got {status}")
        super().__init__(b"", status, headers, cookies)
        self.headers["Location"] = url


class StreamingResponse(Response):
    """A body produced piece by piece by an async iterator of ``bytes``, ``str`` or objects.

    Objects other than bytes and str are encoded by the stream encoder registered for the
    response's content type (for ``text/event-stream``, the sse plugin's), else as one JSON
    line each.
    """

    __slots__ = ()

    def __init__(self, body: AsyncIterable[Any], status: int = 200,
                 headers: Mapping[str, str] | None = None,
                 cookies: Mapping[str, Any] | None = None,
                 content_type: str | None = None) -> None:
        if not isinstance(body, AsyncIterable):
            raise TypeError(f"StreamingResponse needs an async iterator, got {type(body).__name__}")
        if content_type is None and not (headers and _has_content_type(headers)):
            content_type = OCTETS
        super().__init__(body, status, headers, cookies, content_type)


def _has_content_type(headers: Mapping[str, str]) -> bool:
    return any(k.lower() == "content-type" for k in headers)


class FileResponse(Response):
    """A file sent from disk without blocking the loop or reading it whole.

    Conditional requests (``If-None-Match``, ``If-Modified-Since`` → 304) and ``Range``
    (→ 206, or 416 when unsatisfiable) are answered; ``ETag`` and ``Last-Modified`` are sent.
    With ``filename``, the browser is told to download it under that name.
    """

    __slots__ = ("path", "chunk_size")

    def __init__(self, path: str | os.PathLike[str], filename: str | None = None,
                 status: int = 200, headers: Mapping[str, str] | None = None,
                 content_type: str | None = None, *, inline: bool = False,
                 chunk_size: int = 256 * 1024) -> None:
        self.path = os.fspath(path)
        self.chunk_size = chunk_size
        if content_type is None:
            guessed, encoding = mimetypes.guess_type(filename or self.path)
            # `data.json.gz` holds gzip bytes: its type is the archive's, not the JSON's.
            content_type = _ENCODED_TYPES.get(encoding) or guessed or OCTETS
        super().__init__(None, status, headers, None, content_type)
        if filename is not None:
            self.headers["Content-Disposition"] = content_disposition(filename, inline=inline)


# The response classes defined here, for a set lookup where ``isinstance`` (an ABC check:
# a Response is a MutableMapping) would cost more.
RESPONSE_CLASSES = frozenset({Response, JSONResponse, HTMLResponse, PlainTextResponse,
                              RedirectResponse, StreamingResponse, FileResponse})


def content_disposition(filename: str, inline: bool = False) -> str:
    """A Content-Disposition value; non-ASCII names also travel as RFC 5987 ``filename*``."""
    kind = "inline" if inline else "attachment"
    ascii_name = filename.encode("ascii", "replace").decode().replace("\\", "_").replace('"', "_")
    value = f'{kind}; filename="{ascii_name}"'
    if ascii_name != filename:
        value += f"; filename*=UTF-8''{quote(filename)}"
    return value
