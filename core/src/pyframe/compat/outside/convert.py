"""An outside ``Response`` (as :class:`ScheduledResponse` leaves it) turned into a pyframe
response: files through ``FileResponse`` (ranges, no blocking), cookies with their
attributes, the headers aiohttp owns left to aiohttp."""

from __future__ import annotations

from typing import Any

import pyframe
from pyframe import FileResponse

from .response import FilePath, Response, ResponseCookie

__all__ = ["to_pyframe", "OWNED_HEADERS"]

# Framing and connection headers describe the bytes on the wire, which aiohttp writes;
# outside overwrote Content-Length too.
OWNED_HEADERS = frozenset({"content-length", "transfer-encoding", "connection", "keep-alive"})


def to_pyframe(response: Response) -> pyframe.Response:
    """The pyframe response for ``response`` (call it in a worker thread: a narrowed
    :class:`FilePath` or a file sent with an error status is read here)."""
    headers = {str(name): str(value) for name, value in response.headers.items()
               if str(name).lower() not in OWNED_HEADERS}
    status = response.status_code
    content = response.content
    if isinstance(content, FilePath):
        if status == 200 and not content.narrowed:
            result: pyframe.Response = FileResponse(content.path, headers=headers)
        else:
            # Part of a file, or a file as an error page: no range or conditional request
            # applies to it, so it goes as the bytes asked for.
            body = content.read((content.read_start, content.read_end), twice=True)
            result = pyframe.Response(body, status, headers)
    else:
        result = pyframe.Response(content, status, headers)
    for name, cookie in response.cookies.items():
        result.cookies[str(name)] = _cookie(cookie)
    return result


def _cookie(value: Any) -> pyframe.ResponseCookie:
    """A copy, read as outside read it: a falsy attribute is left out (``max_age=0`` meant no
    Max-Age, not "expire now"), also when a handler changed the cookie after making it."""
    if not isinstance(value, pyframe.ResponseCookie):
        return pyframe.ResponseCookie(str(value))
    return ResponseCookie(value.value, value.max_age, value.domain, value.http_only,
                          value.secure, value.path, value.same_site, expires=value.expires)
