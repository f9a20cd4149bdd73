"""One mounted folder: its routes and the handler that answers a file request.

The file itself goes out through ``pyframe.FileResponse`` (aiohttp's sendfile path: no loop
blocking, never read whole). Filesystem checks run in the app's thread pool.

Files are never compressed on the fly (the routes say ``compress=False`` to the compression
plugin): a file goes out as it is on disk, or as its precompressed sibling. Compressing it
would break the byte ranges a client asks for and could resume from, and for a large file
it would cost a thread and the CPU for every download.
"""

from __future__ import annotations

import math
import os
import time
from collections.abc import AsyncIterator
from typing import Any

from pyframe.plugin import (
    ConfigError,
    FileResponse,
    HTTPError,
    NotFound,
    RedirectResponse,
    RequestContext,
    Response,
    Route,
    StreamingResponse,
    parse_accept_encoding,
)

from .conditional import (
    UNSATISFIABLE,
    accepts,
    etag_of,
    if_range_holds,
    naive_pick,
    parse_range,
    precondition_status,
)
from .config import MountConfig
from .resolve import REDIRECT, Target, content_type_for, lookup, url_segments

__all__ = ["Mount"]

_CHUNK = 256 * 1024
# Route options: the compression plugin leaves these responses as they are.
_AS_IS = {"compress": False}
_SUFFIX = {"br": ".br", "gzip": ".gz"}


class Mount:
    """A folder served under a URL prefix. ``root`` is set when the app starts."""

    def __init__(self, prefix: str, config: MountConfig, where: str) -> None:
        self.prefix = prefix
        self.directory = config.directory
        self.headers = dict(config.headers)
        self.index = config.index
        self.hidden = config.hidden
        self.where = where  # for error messages: the config key or the add_static_path call
        self.root: str | None = None

    def routes(self) -> list[Route]:
        name = f"static:{self.prefix}"
        return [Route(self.prefix, ["GET"], self.serve, name=name, options=_AS_IS),
                Route(self.prefix + "<path:path>", ["GET"], self.serve, name=name,
                      options=_AS_IS)]

    def bare_route(self) -> Route | None:
        """``/static`` without its slash, redirected to the index when there is one."""
        if not self.index or self.prefix == "/":
            return None
        return Route(self.prefix.rstrip("/"), ["GET"], self.serve, name=f"static:{self.prefix}",
                     options=_AS_IS)

    def resolve_root(self) -> str:
        """The real path of the directory, relative to the working directory; must exist."""
        root = os.path.realpath(self.directory)
        if not os.path.isdir(root):
            raise ConfigError(f"{self.where}: the static directory {self.directory!r} for "
                              f"{self.prefix} does not exist (looked for {root})")
        self.root = root
        return root

    async def serve(self, context: RequestContext) -> Response:
        segments = url_segments(context.params.get("path", ""), self.hidden)
        if segments is None:
            raise NotFound()
        found = await context.app.run_sync(lookup, self.root, segments, self.hidden, self.index,
                                           context.path.endswith("/"))
        if found is None:
            raise NotFound()
        if found is REDIRECT:
            return self._redirect(context)
        return self._respond(context, found)  # type: ignore[arg-type]

    def _redirect(self, context: RequestContext) -> Response:
        location = "/" + context.raw_path.lstrip("/") + "/"  # never "//host/..."
        if context.query_string:
            location += "?" + context.query_string
        return RedirectResponse(location, 301)

    def _respond(self, context: RequestContext, target: Target) -> Response:
        request_headers = context.headers
        content_type = content_type_for(target.name)
        headers = dict(self.headers)
        if target.siblings:
            headers["Vary"] = "Accept-Encoding"

        # Which representation: the file or a precompressed sibling. aiohttp picks a sibling
        # when the coding is named anywhere in Accept-Encoding; when that pick is one the
        # client refused (br;q=0), we send our own pick without aiohttp.
        chosen = naive = None
        if target.siblings:
            accept = request_headers.get("Accept-Encoding", "")
            chosen = naive = naive_pick(accept, target.siblings)
            if naive is not None:
                codings = parse_accept_encoding(accept)
                if not accepts(codings, naive):
                    chosen = next((c for c in target.siblings
                                   if c != naive and accepts(codings, c)), None)
        aiohttp_agrees = chosen == naive
        st = target.siblings[chosen] if chosen else target.stat
        etag = etag_of(st)

        status = precondition_status(request_headers, etag, st.st_mtime)
        if status == 304:
            headers.update(_validators(etag, st.st_mtime))
            return Response(b"", status=304, headers=headers)
        if status == 412:
            raise HTTPError(412)

        status, ignore_range = 200, False
        range_header = request_headers.get("Range")
        if range_header is not None:
            if context.method != "GET":
                ignore_range = True  # Range is defined for GET only; aiohttp would 206 a HEAD
            else:
                holds, by_date = True, False
                if_range = request_headers.get("If-Range")
                if if_range is not None:
                    holds, by_date = if_range_holds(if_range, etag, st.st_mtime)
                span = parse_range(range_header, st.st_size) if holds else None
                if span == UNSATISFIABLE:
                    raise HTTPError(416, headers={"Content-Range": f"bytes */{st.st_size}"})
                if span is None:
                    ignore_range = True
                elif not by_date:
                    # aiohttp sets 206 itself; saying so here lets middleware see it. After an
                    # If-Range date aiohttp checks the date again, so it keeps the 200 it gets.
                    status = 206
        if status == 206 and not range_header.lstrip().startswith("bytes="):  # type: ignore
            # aiohttp before 3.14 reads the range unit case-sensitively, but RFC 9110's
            # "bytes" is case-insensitive (BYTES=0-0): send the part here instead.
            return self._own_file(context, target.path, chosen, st, etag, headers,
                                  content_type, span)  # type: ignore[arg-type]
        if aiohttp_agrees and not ignore_range:
            return FileResponse(target.path, status=status, headers=headers,
                                content_type=content_type)
        return self._own_file(context, target.path, chosen, st, etag, headers, content_type)

    def _own_file(self, context: RequestContext, path: str, coding: str | None,
                  st: os.stat_result, etag: str, headers: dict[str, str], content_type: str,
                  span: tuple[int, int] | None = None) -> Response:
        """The whole representation (200) or one range of it (206), read here, for the cases
        aiohttp would answer wrongly."""
        if coding is not None:
            path += _SUFFIX[coding]
            headers["Content-Encoding"] = coding
        headers.update(_validators(etag, st.st_mtime))
        headers["Accept-Ranges"] = "bytes"
        first, last = span if span is not None else (0, st.st_size - 1)
        headers["Content-Length"] = str(last - first + 1)
        if span is not None:
            headers["Content-Range"] = f"bytes {first}-{last}/{st.st_size}"
        return StreamingResponse(_read(context.app, path, last - first + 1, first),
                                 status=206 if span is not None else 200, headers=headers,
                                 content_type=content_type)


def _validators(etag: str, mtime: float) -> dict[str, str]:
    last_modified = time.strftime("%a, %d %b %Y %H:%M:%S GMT", time.gmtime(math.ceil(mtime)))
    return {"ETag": etag, "Last-Modified": last_modified}


async def _read(app: Any, path: str, size: int, offset: int = 0) -> AsyncIterator[bytes]:
    handle = await app.run_sync(open, path, "rb")
    try:
        if offset:
            await app.run_sync(handle.seek, offset)
        remaining = size
        while remaining > 0:
            chunk = await app.run_sync(handle.read, min(_CHUNK, remaining))
            if not chunk:
                break
            remaining -= len(chunk)
            yield chunk
    finally:
        handle.close()
