"""Running an app on a socket: a server handle for tests and runners, and ``app.run``."""

from __future__ import annotations

import asyncio
import signal
import socket
import ssl as ssl_module
from typing import TYPE_CHECKING, Any

from aiohttp import web
from aiohttp.abc import AbstractAccessLogger

from .app import CONTEXT_KEY
from .logging import configure_logging, get_logger

if TYPE_CHECKING:
    from .app import PyFrameApp

__all__ = ["AccessLogger", "AppServer", "run_app"]

log = get_logger("pyframe")


class AccessLogger(AbstractAccessLogger):
    """One structlog line per request, written after the response went out."""

    def log(self, request: web.BaseRequest, response: web.StreamResponse, time: float) -> None:
        context = request.get(CONTEXT_KEY)
        self.logger.info("request_finished",
                         request_id=context.request_id if context is not None else None,
                         method=request.method, path=request.path, status=response.status,
                         bytes=response.body_length, duration_ms=round(time * 1000, 3),
                         remote=request.remote)


class AppServer:
    """An app listening on a socket: ``await start()``, ``port``, ``await stop()``."""

    def __init__(self, app: PyFrameApp, host: str = "127.0.0.1", port: int = 0, *,
                 sock: socket.socket | None = None, ssl_context: ssl_module.SSLContext | None = None,
                 reuse_port: bool = False, **handler_options: Any) -> None:
        self.app = app
        self.host = host
        self.requested_port = port
        self.sock = sock
        self.ssl_context = ssl_context
        self.reuse_port = reuse_port
        self.handler_options = handler_options
        self.handler: web.Server | None = None
        self.server: asyncio.AbstractServer | None = None

    @property
    def port(self) -> int:
        assert self.server is not None and self.server.sockets, "the server is not started"
        return self.server.sockets[0].getsockname()[1]

    @property
    def scheme(self) -> str:
        return "https" if self.ssl_context is not None else "http"

    async def start(self) -> None:
        app = self.app
        await app.startup()
        server_config = app.config.server
        options = {
            "keepalive_timeout": server_config.keepalive_timeout,
            "max_line_size": server_config.max_line_size,
            "max_field_size": server_config.max_field_size,
            "max_headers": server_config.max_headers,
            **self.handler_options,
        }
        self.handler = app.make_handler(**options)
        loop = asyncio.get_running_loop()
        if self.sock is not None:
            self.server = await loop.create_server(self.handler, sock=self.sock,
                                                   ssl=self.ssl_context,
                                                   backlog=server_config.backlog)
        else:
            self.server = await loop.create_server(self.handler, self.host, self.requested_port,
                                                   ssl=self.ssl_context,
                                                   backlog=server_config.backlog,
                                                   reuse_port=self.reuse_port or None)

    async def stop(self, timeout: float | None = None) -> None:
        """Stop accepting, let in-flight requests finish within ``timeout``, then stop the app."""
        if timeout is None:
            timeout = self.app.config.server.shutdown_timeout
        if self.server is not None:
            self.server.close()
            await self.server.wait_closed()
        if self.handler is not None:
            await self.handler.shutdown(timeout)
        await self.app.shutdown()


def run_app(app: PyFrameApp, host: str | None = None, port: int | None = None,
            **options: Any) -> None:
    """Serve ``app`` until SIGINT or SIGTERM, then drain and exit."""
    loaded = app.load_config()
    logging_config = loaded.config.logging
    configure_logging(logging_config.level, logging_config.format)
    server_config = loaded.config.server
    host = host if host is not None else server_config.host
    port = port if port is not None else server_config.port
    try:
        import uvloop
    except ImportError:
        runner = asyncio.run
    else:
        runner = uvloop.run
    runner(_serve(app, host, port, **options))


async def _serve(app: PyFrameApp, host: str, port: int, **options: Any) -> None:
    server = AppServer(app, host, port, **options)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    await server.start()
    log.info("server_listening", url=f"{server.scheme}://{host}:{server.port}")
    await stop.wait()
    log.info("server_stopping")
    await server.stop()
