"""outside's ``Response``, ``FilePath`` and ``ResponseCookie`` (pyframe's, reading outside's
arguments as outside did); ``get_description`` is pyframe's own."""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Any

import pyframe
from pyframe import get_description

if TYPE_CHECKING:
    from .request import Request

__all__ = ["Response", "FilePath", "ResponseCookie", "get_description"]


class FilePath:
    """A file to answer with. pyframe sends it from disk without blocking the event loop and
    answers ``Range`` requests with 206, whatever the file's size.

    ``read_start`` and ``read_end`` (end exclusive) are the part of the file to send: the whole
    file unless a handler narrows them. The size is read when the object is made, as outside
    did, so a missing file fails in the handler (and reaches the 500 error handler).
    """

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = os.fspath(path)
        self.read_start = 0
        self.read_end = self._size = os.path.getsize(self.path)
        self._content: bytes | None = None

    def read(self, read_range: tuple[int, int] | None = None, twice: bool = False) -> bytes:
        """The file's bytes, or those from ``read_range[0]`` up to (not including)
        ``read_range[1]``. The result is kept: a later call returns it again, even for another
        range, unless ``twice`` asks for the file to be read again."""
        if twice or self._content is None:
            with open(self.path, "rb") as file:
                if read_range is None:
                    self._content = file.read()
                else:
                    start, end = read_range
                    file.seek(start)
                    self._content = file.read(max(0, end - start))
        return self._content

    @property
    def narrowed(self) -> bool:
        """Whether a handler asked for only part of the file."""
        return self.read_start != 0 or self.read_end != self._size

    def __repr__(self) -> str:
        return f"FilePath({self.path!r})"


class ResponseCookie(pyframe.ResponseCookie):
    """``ResponseCookie(value, max_age, domain, http_only, secure, path, same_site)``:
    pyframe's cookie, with outside's reading of its arguments: every one is needed, and a
    falsy one (``0``, ``""``, ``None``) means the attribute is left out. ``same_site`` is
    ``"Strict"``, ``"Lax"`` or ``"None"`` in any case (``"None"`` needs ``secure``)."""

    __slots__ = ()

    def __init__(self, value: str, max_age: int | None, domain: str | None, http_only: Any,
                 secure: Any, path: str | None, same_site: str | None, *,
                 expires: Any = None) -> None:
        super().__init__(value, max_age or None, domain or None, bool(http_only), bool(secure),
                         path or None, same_site or None, expires=expires)


class Response:
    """An HTTP response as outside's handlers return it.

    ``content`` is ``str`` (sent as UTF-8), ``bytes``, a :class:`FilePath`, or a dict (sent as
    JSON, as outside did). ``cookies`` maps names to :class:`ResponseCookie` objects (or plain
    values). Unlike outside, whose default ``cookies`` dict was one dict shared by every
    response, each response gets its own.
    """

    def __init__(self, status_code: int, headers: dict[str, Any],
                 content: str | bytes | FilePath | dict[str, Any],
                 cookies: dict[str, ResponseCookie | str] | None = None) -> None:
        self.request: Request | None = None
        self.status_code = status_code
        self.headers = headers
        self.content = content
        self.cookies = cookies if cookies is not None else {}

    def __repr__(self) -> str:
        return f"<outside Response {self.status_code}>"
