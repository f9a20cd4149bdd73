"""Running one outside handler: ``ScheduledResponse`` (the handler, its ``(code, message)``
shortcut, the 500 handler on an exception, default content types) and the default error
handlers every outside server starts with."""

from __future__ import annotations

import json
import mimetypes
from collections.abc import Callable, Mapping
from http import HTTPStatus
from typing import Any

from pyframe import get_description
from pyframe.plugin import get_logger

from .request import Request
from .response import FilePath, Response

__all__ = ["ScheduledResponse", "default_errorhandler", "ERROR_CODES", "NO_MESSAGE"]

log = get_logger("pyframe", compat="outside")
# outside registers a handler for every status it knows, 1xx to 5xx, so a handler may answer
# with any of them through the `return (code, message)` shortcut.
ERROR_CODES = tuple(sorted(status.value for status in HTTPStatus))
NO_MESSAGE = "No further information."
TEXT = "text/plain; charset=utf-8"
OCTETS = "application/octet-stream"


def default_errorhandler(code: int) -> Callable[..., Response]:
    """outside's stock answer for ``code``: ``"404 Not Found (message)"`` as plain text."""

    def errorhandler(request: Request, message: str | None = None) -> Response:
        detail = NO_MESSAGE if message is None else message
        return Response(code, {}, f"{code} {get_description(code)} ({detail})")

    errorhandler.__name__ = f"default_errorhandler_{code}"
    return errorhandler


class ScheduledResponse:
    """``ScheduledResponse(request, route_function, error_routes).run()``: the Response for
    ``request``, or None when even the 500 error handler failed.

    A handler may return a :class:`Response` or ``(code, message)``, which is answered by the
    error handler for ``code``. Anything it raises, and anything that is not a valid Response,
    goes to the 500 error handler with ``"Unexpected Exception: <type>"``. The Response that
    comes out has ``Content-Type`` set and, unless it is a :class:`FilePath`, bytes content.
    """

    def __init__(self, request: Request, route_function: Callable[..., Any],
                 error_routes: Mapping[int, Callable[..., Any]]) -> None:
        self.request = request
        self.route_function = route_function
        self.error_routes = error_routes

    def run(self) -> Response | None:
        request = self.request
        try:
            result = self.route_function(request)
            if isinstance(result, tuple):
                code, message = result
                result = self.error_routes[code](request, message)
            return _normalise(result, request)
        except Exception as exc:
            log.error("outside_handler_failed", method=request.method, path=request.url,
                      handler=_name(self.route_function), exc_info=exc)
            message = f"Unexpected Exception: {type(exc).__name__}"
        try:
            return _normalise(self.error_routes[500](request, message), request)
        except Exception as exc:
            log.error("outside_errorhandler_failed", status=500, path=request.url,
                      exc_info=exc)
            return None


def _normalise(response: Any, request: Request) -> Response:
    if not isinstance(response, Response):
        raise TypeError(f"a handler returns a Response or (code, message), got "
                        f"{type(response).__name__}")
    status = response.status_code
    if type(status) is not int or not 100 <= status <= 599:
        raise ValueError(f"a response status is an int from 100 to 599, got {status!r}")
    if not isinstance(response.headers, dict):
        raise TypeError(f"response headers are a dict, got {type(response.headers).__name__}")
    response.request = request
    content = response.content
    given = _has_content_type(response.headers)
    if isinstance(content, str):
        response.content = content.encode("utf-8")
        kind = TEXT
    elif isinstance(content, dict):
        response.content = json.dumps(content).encode("utf-8")
        kind = "application/json"
    elif isinstance(content, (bytes, bytearray, memoryview)):
        response.content = bytes(content)
        kind = OCTETS
    elif isinstance(content, FilePath):
        kind = mimetypes.guess_type(content.path)[0] or OCTETS
    else:
        raise TypeError(f"response content is str, bytes, a dict or a FilePath, got "
                        f"{type(content).__name__}")
    if not given:
        response.headers["Content-Type"] = kind
    return response


def _has_content_type(headers: Mapping[str, Any]) -> bool:
    return any(name.lower() == "content-type" for name in headers)


def _name(handler: Any) -> str:
    return getattr(handler, "__qualname__", None) or type(handler).__name__
