"""Serving one app in this process: :class:`AppServer` and :func:`serve`.

Shutdown drains: the listening socket closes, the app's draining event is set (long-lived
responses such as SSE streams and WebSockets watch it and end), in-flight requests get
``shutdown_timeout`` seconds to finish, then the shutdown hooks run.
"""

from __future__ import annotations

import os
import socket
import ssl as ssl_module
import sys
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from aiohttp import web

from ..http.connection import in_flight
from ..logging import get_logger
from ..request.streams import draining
from .lifecycle import Server
from .tls import tls_from

if TYPE_CHECKING:
    from ..app import PyFrameApp

__all__ = ["AppServer", "serve"]

log = get_logger("pyframe")


class AppServer(Server):
    """An app listening on a socket: ``await start()``, ``port``, ``await stop()``.

    ``ssl_context`` (or ``cert``/``key`` files, or the config's ``tls_cert``/``tls_key``)
    serves HTTPS; ``sock`` serves on an already bound socket (the multi-worker runner).
    ``handler_options`` go to the connection handler (see ``pyframe.http.make_server``).
    """

    def __init__(self, app: PyFrameApp, host: str = "127.0.0.1", port: int = 0, *,
                 sock: socket.socket | None = None, ssl_context: ssl_module.SSLContext | None = None,
                 cert: str | None = None, key: str | None = None,
                 **handler_options: Any) -> None:
        super().__init__(host, port, sock=sock, ssl_context=ssl_context)
        self.app = app
        self._tls_files = (cert, key)
        self.handler_options = handler_options

    async def _open(self) -> web.Server:
        app = self.app
        # An app served again in this process (a second TestClient, a restart) starts with its
        # long-lived responses allowed again.
        draining(app).clear()
        await app.startup()
        try:
            self.ssl_context = tls_from(app.config.server, self.ssl_context, *self._tls_files)
            self.backlog = app.config.server.backlog
            return app.make_handler(**self.handler_options)
        except BaseException:
            await app.shutdown()
            raise

    def _drain_timeout(self) -> float:
        return self.app.config.server.shutdown_timeout

    async def _begin_drain(self) -> None:
        draining(self.app).set()
        if self.handler is not None:
            log.info("server_draining", in_flight=in_flight(self.handler),
                     timeout_s=self._drain_timeout())

    async def _close(self) -> None:
        await self.app.shutdown()

    def _announce(self) -> None:
        loop = self._loop
        log.info("server_listening", url=self.url, pid=os.getpid(),
                 loop=type(loop).__module__.split(".")[0], tls=self.ssl_context is not None,
                 python=sys.version.split()[0])


async def serve(app: PyFrameApp, *, host: str = "127.0.0.1", port: int = 0,
                sock: socket.socket | None = None,
                ssl_context: ssl_module.SSLContext | None = None, cert: str | None = None,
                key: str | None = None, on_ready: Callable[[AppServer], None] | None = None,
                lifeline: int | None = None, **options: Any) -> None:
    """Serve until SIGINT/SIGTERM (or EOF on the ``lifeline`` pipe), then drain."""
    server = AppServer(app, host, port, sock=sock, ssl_context=ssl_context, cert=cert, key=key,
                       **options)
    await server.serve_forever(on_ready=on_ready, lifeline=lifeline)  # type: ignore[arg-type]
