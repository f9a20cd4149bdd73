"""A server that answers every request with a redirect to another origin: the usual
plain-HTTP front door that sends clients to the HTTPS site, path and query kept."""

from __future__ import annotations

import os
import socket
from typing import Any

from aiohttp import web
from yarl import URL

from ..config import ServerConfig
from ..http.access import AccessLogger
from ..http.connection import make_server
from ..logging import get_logger
from .lifecycle import Server

__all__ = ["RedirectServer", "REDIRECT_STATUSES"]

log = get_logger("pyframe", server="redirect")
REDIRECT_STATUSES = (301, 302, 303, 307, 308)


class RedirectServer(Server):
    """``RedirectServer("0.0.0.0", 80, "https://example.com")``: every request to port 80
    gets ``308 Location: https://example.com<path>?<query>``.

    ``destination`` is an absolute http(s) URL; a path in it is a prefix. ``status`` is 308
    by default (method and body kept; 301 for very old clients). ``await start()`` /
    ``await stop()`` inside a loop, or ``run()`` to block until SIGINT/SIGTERM and
    ``terminate()`` from another thread.
    """

    def __init__(self, host: str, port: int, destination: str, status: int = 308, *,
                 config: ServerConfig | None = None, **handler_options: Any) -> None:
        url = URL(destination)
        if url.scheme not in ("http", "https") or not url.host:
            raise ValueError(f"destination must be an absolute http(s) URL, got {destination!r}")
        if url.query_string or url.fragment:
            raise ValueError(f"destination takes no query or fragment (the request's query is "
                             f"kept): {destination!r}")
        if status not in REDIRECT_STATUSES:
            raise ValueError(f"status must be one of {REDIRECT_STATUSES}, got {status}")
        self.config = config or ServerConfig()
        super().__init__(host, port, backlog=self.config.backlog)
        self.destination = str(url).rstrip("/")
        self.status = status
        self.handler_options = handler_options

    async def _redirect(self, request: web.BaseRequest) -> web.StreamResponse:
        # The request target as sent, when it is a path; for an absolute-form request line
        # (GET http://host/path) only its path and query, so the client cannot pick the host.
        target = request.raw_path
        if not target.startswith("/"):
            target = request.rel_url.raw_path_qs
        location = self.destination + target
        return web.Response(status=self.status, headers={"Location": location})

    async def start(self, sock: socket.socket | None = None) -> None:
        """Listen (on ``sock`` if given) and redirect every request."""
        if sock is not None:
            self.sock = sock
        await super().start()

    async def _open(self) -> web.Server:
        options = {"access_log_class": AccessLogger, "access_log": log, **self.handler_options}
        return make_server(self._redirect, self.config, **options)

    def _drain_timeout(self) -> float:
        return 5.0

    def _announce(self) -> None:
        log.info("server_listening", url=self.url, pid=os.getpid(),
                 destination=self.destination, status=self.status)

    async def _close(self) -> None:
        log.info("server_stopped")
