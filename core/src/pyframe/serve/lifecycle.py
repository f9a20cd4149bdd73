"""One lifecycle for every server pyframe runs (the app server, the dev server, the redirect
server): bind, listen, wait for a signal, drain, stop.

A :class:`Server` subclass says what serves its connections (``_open``) and what to release
after the drain (``_close``); binding, signal handling, draining and ``terminate()`` from
another thread are the same for all of them.
"""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import ssl as ssl_module
import threading
from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import web

from ..http.framing import require_c_parser
from ..logging import get_logger

__all__ = ["Server", "bind_socket", "run_loop"]

log = get_logger("pyframe")
_SIGNALS = (signal.SIGINT, signal.SIGTERM)


def run_loop(main: Awaitable[Any]) -> Any:
    """Run ``main`` on uvloop when it is installed, else on asyncio's loop."""
    try:
        import uvloop
    except ImportError:
        return asyncio.run(main)  # type: ignore[arg-type]
    return uvloop.run(main)  # type: ignore[arg-type]


def bind_socket(host: str, port: int, backlog: int) -> socket.socket:
    """A listening TCP socket (IPv4 preferred when the name has both, so ``localhost`` serves
    every client)."""
    infos = socket.getaddrinfo(host or None, port, type=socket.SOCK_STREAM,
                               flags=socket.AI_PASSIVE)
    infos.sort(key=lambda info: info[0] != socket.AF_INET)
    family, kind, proto, _, address = infos[0]
    sock = socket.socket(family, kind, proto)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(address)
        sock.listen(backlog)
    except OSError as exc:
        sock.close()
        raise OSError(exc.errno, f"cannot listen on {host}:{port}: {exc.strerror}") from None
    return sock


class Server:
    """A socket served by an aiohttp low-level server: ``await start()``, ``port``, ``url``,
    ``await stop()``; ``await serve_forever()`` or blocking ``run()`` until SIGINT/SIGTERM,
    ``stop()`` or ``terminate()``.

    ``sock`` serves an already listening socket (a worker's inherited one); otherwise
    ``host``/``port`` are bound at start. ``ssl_context`` serves HTTPS.
    """

    def __init__(self, host: str = "127.0.0.1", port: int = 0, *,
                 sock: socket.socket | None = None,
                 ssl_context: ssl_module.SSLContext | None = None, backlog: int = 1024) -> None:
        self.host = host
        self.requested_port = port
        self.sock = sock
        self.ssl_context = ssl_context
        self.backlog = backlog
        self.handler: web.Server | None = None
        self.server: asyncio.AbstractServer | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stop_requested: asyncio.Event | None = None
        self._stopping = False

    # What a subclass provides.
    async def _open(self) -> web.Server:
        """Start what serves requests and return the connection factory for the socket."""
        raise NotImplementedError

    async def _begin_drain(self) -> None:
        """Called once the socket stopped accepting, before open connections are drained."""

    async def _close(self) -> None:
        """Release what ``_open`` started, after the drain."""

    def _drain_timeout(self) -> float:
        return 30.0

    def _announce(self) -> None:
        log.info("server_listening", url=self.url, pid=os.getpid())

    # The lifecycle.
    @property
    def running(self) -> bool:
        return self.server is not None and not self._stopping

    @property
    def port(self) -> int:
        assert self.server is not None and self.server.sockets, "the server is not started"
        return self.server.sockets[0].getsockname()[1]

    @property
    def scheme(self) -> str:
        return "https" if self.ssl_context is not None else "http"

    @property
    def url(self) -> str:
        host = self.server.sockets[0].getsockname()[0] if self.server else self.host
        host = f"[{host}]" if ":" in host else host
        return f"{self.scheme}://{host}:{self.port}"

    async def start(self) -> None:
        """Start serving; returns once connections are being accepted."""
        if self.server is not None:
            raise RuntimeError("the server is already running")
        require_c_parser()  # before anything starts: the app's start-up hooks included
        self._loop = asyncio.get_running_loop()
        self.handler = await self._open()
        sock = self.sock
        if sock is None:
            sock = bind_socket(self.host, self.requested_port, self.backlog)
        try:
            self.server = await self._loop.create_server(self.handler, sock=sock,
                                                         ssl=self.ssl_context,
                                                         backlog=self.backlog)
        except BaseException:
            await self._close()
            raise
        self._announce()

    async def stop(self, timeout: float | None = None) -> None:
        """Drain: stop accepting, let requests in flight finish within ``timeout`` (by default
        the server's shutdown timeout), then release what serving started."""
        if self._stop_requested is not None:
            self._stop_requested.set()
        server = self.server
        if server is None or self._stopping:
            return
        self._stopping = True
        try:
            server.close()
            await self._begin_drain()
            if self.handler is not None:
                await self.handler.shutdown(self._drain_timeout() if timeout is None else timeout)
            await server.wait_closed()
        finally:
            self.server = None
            self._stopping = False
        await self._close()

    async def serve_forever(self, *, on_ready: Callable[[Server], None] | None = None,
                            lifeline: int | None = None) -> None:
        """Serve until SIGINT/SIGTERM (or EOF on the ``lifeline`` pipe a supervisor holds),
        ``stop()`` or ``terminate()``, then drain.

        A second signal to a lone process skips the rest of the grace period; a worker (one
        with a lifeline) leaves that to its supervisor.
        """
        loop = self._loop = asyncio.get_running_loop()
        stop = self._stop_requested = asyncio.Event()
        installed: list[int] = []

        def on_signal() -> None:
            if not stop.is_set():
                stop.set()
            elif lifeline is None:
                log.warning("forced_exit", pid=os.getpid())
                os._exit(1)

        if threading.current_thread() is threading.main_thread():
            for sig in _SIGNALS:
                try:
                    loop.add_signal_handler(sig, on_signal)
                    installed.append(sig)
                except (NotImplementedError, RuntimeError, ValueError):
                    pass  # not Unix: stop() and terminate() still work
        if lifeline is not None:
            loop.add_reader(lifeline, stop.set)
        try:
            if self.server is None:
                await self.start()
            if on_ready is not None:
                on_ready(self)
            await stop.wait()
        finally:
            if lifeline is not None:
                loop.remove_reader(lifeline)
            log.info("server_stopping", pid=os.getpid())
            # The handlers stay during the drain, so a repeated Ctrl-C is handled, not a
            # traceback.
            await self.stop()
            for sig in installed:
                loop.remove_signal_handler(sig)
                if lifeline is not None:
                    # Closing the loop would restore the default actions, and a late repeated
                    # signal would then turn a worker's clean exit into a kill.
                    signal.signal(sig, signal.SIG_IGN)
            log.info("server_stopped", pid=os.getpid())

    def run(self) -> None:
        """Blocking: serve until Ctrl-C or SIGTERM (or ``terminate()``), then drain."""
        run_loop(self.serve_forever())

    def terminate(self) -> None:
        """Ask a server started with ``run()`` or ``serve_forever()`` to stop; safe from any
        thread and from a signal handler."""
        loop, stop = self._loop, self._stop_requested
        if loop is None or stop is None or loop.is_closed():
            return
        try:
            running = asyncio.get_running_loop()
        except RuntimeError:
            running = None
        if running is loop:
            stop.set()
        else:
            loop.call_soon_threadsafe(stop.set)
