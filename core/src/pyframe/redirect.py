"""A server that answers every request with a redirect to another origin: the usual
plain-HTTP front door that sends clients to the HTTPS site, path and query kept."""

from __future__ import annotations

import asyncio
import signal
import socket
from typing import Any

from aiohttp import web
from yarl import URL

from .config import ServerConfig
from .logging import get_logger
from .protocol import PyFrameServer, make_server
from .runner import bind_socket
from .serving import AccessLogger, run_loop

__all__ = ["RedirectServer", "REDIRECT_STATUSES"]

log = get_logger("pyframe", server="redirect")
REDIRECT_STATUSES = (301, 302, 303, 307, 308)


class RedirectServer:
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
        self.host = host
        self.requested_port = port
        self.destination = str(url).rstrip("/")
        self.status = status
        self.config = config or ServerConfig()
        self.handler_options = handler_options
        self._handler: PyFrameServer | None = None
        self._server: asyncio.AbstractServer | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stop: asyncio.Event | None = None

    @property
    def port(self) -> int:
        assert self._server is not None and self._server.sockets, "the server is not started"
        return self._server.sockets[0].getsockname()[1]

    async def _redirect(self, request: web.BaseRequest) -> web.StreamResponse:
        # The request target as sent, when it is a path; for an absolute-form request line
        # (GET http://host/path) only its path and query, so the client cannot pick the host.
        target = request.raw_path
        if not target.startswith("/"):
            target = request.rel_url.raw_path_qs
        location = self.destination + target
        return web.Response(status=self.status, headers={"Location": location})

    async def start(self, sock: socket.socket | None = None) -> None:
        options = {"access_log_class": AccessLogger, "access_log": log, **self.handler_options}
        self._handler = make_server(self._redirect, self.config, **options)
        sock = sock or bind_socket(self.host, self.requested_port, self.config.backlog)
        self._loop = asyncio.get_running_loop()
        self._server = await self._loop.create_server(self._handler, sock=sock,
                                                      backlog=self.config.backlog)
        log.info("server_listening", url=f"http://{self.host}:{self.port}",
                 destination=self.destination, status=self.status)

    async def stop(self, timeout: float = 5.0) -> None:
        if self._server is None:
            return
        server, self._server = self._server, None
        server.close()
        assert self._handler is not None
        await self._handler.shutdown(timeout)
        await server.wait_closed()
        log.info("server_stopped")

    def run(self) -> None:
        """Serve until SIGINT/SIGTERM or :meth:`terminate`."""
        run_loop(self._run())

    async def _run(self) -> None:
        self._stop = asyncio.Event()
        loop = self._loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            try:
                loop.add_signal_handler(sig, self._stop.set)
            except (NotImplementedError, RuntimeError, ValueError):
                pass  # not in the main thread: terminate() still works
        await self.start()
        try:
            await self._stop.wait()
        finally:
            await self.stop()

    def terminate(self) -> None:
        """Stop a server started with :meth:`run` (safe from any thread)."""
        if self._loop is not None and self._stop is not None:
            self._loop.call_soon_threadsafe(self._stop.set)
