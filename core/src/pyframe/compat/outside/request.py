"""outside's ``Request`` and ``get_insensitive_header``, and the one place a pyframe request
becomes an outside ``Request``."""

from __future__ import annotations

import json
from collections.abc import Mapping
from http.cookies import CookieError, SimpleCookie
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs

if TYPE_CHECKING:
    from pyframe import RequestContext

__all__ = ["Request", "get_insensitive_header", "request_from_context"]


def get_insensitive_header(headers: Mapping[str, Any], header_name: str) -> Any:
    """The value of ``header_name`` in ``headers`` whatever the case of either; None if absent."""
    wanted = header_name.lower()
    for name, value in headers.items():
        if name.lower() == wanted:
            return value
    return None


class Request:
    """An HTTP request as outside's handlers see it.

    ``headers`` is a plain dict with the names as the client sent them (use
    :func:`get_insensitive_header` for any case); ``Content-Length``, when sent, is an int, as
    outside made it. ``url`` is the path as sent (still percent-encoded), without the query;
    ``params`` holds the first value of each query parameter. ``context`` is pyframe's
    ``RequestContext`` for code moving to pyframe bit by bit (None for a Request made by hand).
    """

    def __init__(self, method: str, headers: dict[str, Any], content: bytes, version: str,
                 url: str, address: tuple[str, int], *, params: dict[str, str] | None = None,
                 context: RequestContext | None = None) -> None:
        self.method = method
        self.headers = headers
        self.content = content
        self.version = version
        self.url = url
        self.address = address
        self.params = params if params is not None else {}
        self.cookies = _cookies(get_insensitive_header(headers, "Cookie"))
        self.context = context

    def json(self) -> Any:
        """The body parsed as JSON, or None when it is not JSON (or not UTF-8)."""
        try:
            return json.loads(self.content.decode("utf-8"))
        except (ValueError, UnicodeDecodeError):  # JSONDecodeError is a ValueError
            return None

    def __repr__(self) -> str:
        return f"<outside Request {self.method} {self.url}>"


def _cookies(header: Any) -> dict[str, str]:
    if not header:
        return {}
    jar: SimpleCookie = SimpleCookie()
    try:
        jar.load(str(header))
    except CookieError:
        return {}  # outside's process died on a malformed Cookie header; no cookies instead
    return {name: morsel.value for name, morsel in jar.items()}


def request_from_context(context: RequestContext) -> Request:
    """The outside Request for a pyframe request (call it where blocking is allowed)."""
    headers: dict[str, Any] = {}
    for name, value in context.headers.items():
        headers[str(name)] = value  # a repeated header: the last one, as outside kept it
    length = get_insensitive_header(headers, "Content-Length")
    if length is not None:
        for name in headers:
            if name.lower() == "content-length":
                headers[name] = int(length)  # aiohttp has checked it is digits
    try:
        content = context.raw_body
    except RuntimeError:
        content = b""  # an error answered before the body was read (413, 405, ...)
    params = {name: values[0] for name, values in parse_qs(context.query_string).items()}
    address = (context.remote_addr or "", context.remote_port or 0)
    request = Request(context.method, headers, content, f"HTTP/{context.http_version}",
                      context.raw_path, address, params=params, context=context)
    return request
