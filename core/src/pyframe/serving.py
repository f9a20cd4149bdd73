"""Running an app on a socket: the server handle, draining on shutdown, TLS, and ``app.run``.

Shutdown drains: the listening socket closes, the app's draining event is set (long-lived
responses such as SSE streams and WebSockets watch it and end), in-flight requests get
``shutdown_timeout`` seconds to finish, then the shutdown hooks run.
"""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import ssl as ssl_module
import sys
from collections.abc import AsyncIterable, AsyncIterator, Awaitable, Callable
from time import perf_counter
from typing import TYPE_CHECKING, Any

from aiohttp import web
from aiohttp.abc import AbstractAccessLogger

from .handling import CONTEXT_KEY
from .logging import configure_logging, get_logger

if TYPE_CHECKING:
    from .app import PyFrameApp
    from .protocol import PyFrameServer

__all__ = ["AccessLogger", "AppServer", "run_app", "serve", "draining", "until_draining",
           "tls_context", "gunicorn_app", "PyFrameRunner", "run_loop", "DRAINING_KEY"]

log = get_logger("pyframe")
DRAINING_KEY = "pyframe.draining"


class AccessLogger(AbstractAccessLogger):
    """One structlog line per request, written after the response went out."""

    def log(self, request: web.BaseRequest, response: web.StreamResponse, time: float) -> None:
        # Taking the context off the request breaks the request <-> context cycle, so both
        # are freed by reference counting instead of waiting for the cyclic collector.
        context = request.pop(CONTEXT_KEY, None)
        started = getattr(context, "started", None)
        if started is not None:
            time = perf_counter() - started
        self.logger.info("request_finished",
                         request_id=context.request_id if context is not None else None,
                         method=request.method, path=request.path, status=response.status,
                         bytes=response.body_length, duration_ms=round(time * 1000, 3),
                         remote=request.remote)


def draining(app: PyFrameApp) -> asyncio.Event:
    """The app's draining event: set when the server starts shutting down (SIGTERM,
    ``stop()``, or a dev-server reload retiring this app).

    Long-lived responses watch it and finish cleanly: an SSE stream ends, a WebSocket closes
    with 1001 (going away). It lives in ``app.state["pyframe.draining"]``.
    """
    event = app.state.get(DRAINING_KEY)
    if event is None:
        event = app.state[DRAINING_KEY] = asyncio.Event()
    return event


async def until_draining(app: PyFrameApp, source: AsyncIterable[Any]) -> AsyncIterator[Any]:
    """Yield from ``source`` until it ends or the server starts draining, then close it.

    ``return StreamingResponse(until_draining(context.app, events()))`` makes a stream end
    cleanly (a complete chunked body) on shutdown instead of being cut.
    """
    stop = draining(app)
    iterator = aiter(source)
    waiter = asyncio.ensure_future(stop.wait())
    try:
        while not stop.is_set():
            step = asyncio.ensure_future(anext(iterator))
            done, _ = await asyncio.wait({step, waiter}, return_when=asyncio.FIRST_COMPLETED)
            if step not in done:
                step.cancel()
                await asyncio.gather(step, return_exceptions=True)
                break
            try:
                yield step.result()
            except StopAsyncIteration:
                break
    finally:
        waiter.cancel()
        aclose = getattr(iterator, "aclose", None)
        if aclose is not None:
            await aclose()


def tls_context(cert: str, key: str | None = None) -> ssl_module.SSLContext:
    """A server TLS context from a certificate chain file and its private key file."""
    context = ssl_module.create_default_context(ssl_module.Purpose.CLIENT_AUTH)
    try:
        context.load_cert_chain(cert, key)
    except (OSError, ssl_module.SSLError) as exc:
        raise ValueError(f"cannot load the TLS certificate {cert!r} / key {key!r}: {exc}") from exc
    return context


def _tls_from(app: PyFrameApp, ssl_context: ssl_module.SSLContext | None, cert: str | None,
              key: str | None) -> ssl_module.SSLContext | None:
    if ssl_context is not None:
        return ssl_context
    server = app.config.server
    cert, key = cert or server.tls_cert, key or server.tls_key
    if cert is None and key is None:
        return None
    if cert is None:
        raise ValueError("a TLS key was given without a certificate (tls_cert / --cert)")
    return tls_context(cert, key)


class AppServer:
    """An app listening on a socket: ``await start()``, ``port``, ``await stop()``.

    ``ssl_context`` (or ``cert``/``key`` files, or the config's ``tls_cert``/``tls_key``)
    serves HTTPS; ``sock`` serves on an already bound socket (the multi-worker runner).
    """

    def __init__(self, app: PyFrameApp, host: str = "127.0.0.1", port: int = 0, *,
                 sock: socket.socket | None = None, ssl_context: ssl_module.SSLContext | None = None,
                 cert: str | None = None, key: str | None = None,
                 reuse_port: bool = False, **handler_options: Any) -> None:
        self.app = app
        self.host = host
        self.requested_port = port
        self.sock = sock
        self.ssl_context = ssl_context
        self._tls_files = (cert, key)
        self.reuse_port = reuse_port
        self.handler_options = handler_options
        self.handler: PyFrameServer | None = None
        self.server: asyncio.AbstractServer | None = None

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
        app = self.app
        await app.startup()
        self.ssl_context = _tls_from(app, self.ssl_context, *self._tls_files)
        self.handler = app.make_handler(**self.handler_options)  # type: ignore[assignment]
        loop = asyncio.get_running_loop()
        backlog = app.config.server.backlog
        if self.sock is not None:
            self.server = await loop.create_server(self.handler, sock=self.sock,
                                                   ssl=self.ssl_context, backlog=backlog)
        else:
            self.server = await loop.create_server(self.handler, self.host, self.requested_port,
                                                   ssl=self.ssl_context, backlog=backlog,
                                                   reuse_port=self.reuse_port or None)

    async def stop(self, timeout: float | None = None) -> None:
        """Drain: stop accepting, signal long-lived responses, let in-flight requests finish
        within ``timeout`` (default: the config's ``shutdown_timeout``), then stop the app."""
        if timeout is None:
            timeout = self.app.config.server.shutdown_timeout
        if self.server is not None:
            self.server.close()
        draining(self.app).set()
        if self.handler is not None:
            in_flight = sum(1 for conn in self.handler.connections if conn._request_in_progress)
            log.info("server_draining", in_flight=in_flight, timeout_s=timeout)
            await self.handler.shutdown(timeout)
        if self.server is not None:
            await self.server.wait_closed()
        await self.app.shutdown()


def run_loop(main: Awaitable[Any]) -> Any:
    """Run ``main`` on uvloop when it is installed, else on asyncio's loop."""
    try:
        import uvloop
    except ImportError:
        return asyncio.run(main)  # type: ignore[arg-type]
    return uvloop.run(main)  # type: ignore[arg-type]


def run_app(app: PyFrameApp, host: str | None = None, port: int | None = None, *,
            workers: int | None = None, ssl_context: ssl_module.SSLContext | None = None,
            cert: str | None = None, key: str | None = None, **options: Any) -> None:
    """Serve ``app`` until SIGINT or SIGTERM, then drain and exit.

    More than one worker (``workers`` or the config's ``server.workers``) hands over to
    :func:`pyframe.runner.run_target`, which needs the app importable as ``module:attr``.
    """
    from . import runner

    if runner.importing_target():
        return  # a worker is importing the module that calls app.run(): serve from the worker
    loaded = app.load_config()
    logging_config = loaded.config.logging
    configure_logging(logging_config.level, logging_config.format)
    server_config = loaded.config.server
    workers = workers if workers is not None else server_config.workers
    if workers > 1:
        code = runner.run_app_workers(app, host=host, port=port, workers=workers, cert=cert,
                                      key=key)
        if code:
            raise SystemExit(code)
        return
    host = host if host is not None else server_config.host
    port = port if port is not None else server_config.port
    run_loop(serve(app, host=host, port=port, ssl_context=ssl_context, cert=cert, key=key,
                   **options))


async def serve(app: PyFrameApp, *, host: str = "127.0.0.1", port: int = 0,
                sock: socket.socket | None = None,
                ssl_context: ssl_module.SSLContext | None = None, cert: str | None = None,
                key: str | None = None, on_ready: Callable[[AppServer], None] | None = None,
                lifeline: int | None = None, **options: Any) -> None:
    """Serve until SIGINT/SIGTERM (or EOF on the ``lifeline`` pipe), then drain."""
    server = AppServer(app, host, port, sock=sock, ssl_context=ssl_context, cert=cert, key=key,
                       **options)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    signals = (signal.SIGINT, signal.SIGTERM)

    def on_signal() -> None:
        if not stop.is_set():
            stop.set()
        elif lifeline is None:
            # A second Ctrl-C or SIGTERM to a lone process: skip the rest of the grace period.
            log.warning("forced_exit", pid=os.getpid())
            os._exit(1)
        # A worker ignores repeats (Ctrl-C reaches it and its supervisor, which forwards
        # SIGTERM); the supervisor bounds the drain itself.

    for sig in signals:
        loop.add_signal_handler(sig, on_signal)
    if lifeline is not None:
        # The supervisor holds the pipe's other end: EOF means it is gone.
        loop.add_reader(lifeline, stop.set)
    await server.start()
    log.info("server_listening", url=server.url, pid=os.getpid(),
             loop=type(loop).__module__.split(".")[0], tls=server.ssl_context is not None,
             python=sys.version.split()[0])
    if on_ready is not None:
        on_ready(server)
    await stop.wait()
    if lifeline is not None:
        loop.remove_reader(lifeline)
    log.info("server_stopping", pid=os.getpid())
    await server.stop()
    if lifeline is not None:
        # Closing the loop would restore the default actions, and a late repeated signal
        # would then turn this clean exit into a kill.
        for sig in signals:
            loop.remove_signal_handler(sig)
            signal.signal(sig, signal.SIG_IGN)
    log.info("server_stopped", pid=os.getpid())


class PyFrameRunner(web.AppRunner):
    """An aiohttp runner serving a PyFrameApp with its limits, for gunicorn's aiohttp worker
    classes (see :func:`gunicorn_app`). The aiohttp Application it holds is an empty carrier:
    aiohttp's worker accepts only AppRunner instances."""

    def __init__(self, app: PyFrameApp, **kwargs: Any) -> None:
        super().__init__(web.Application(), access_log_class=AccessLogger, **kwargs)
        self.pyframe_app = app

    async def shutdown(self) -> None:
        draining(self.pyframe_app).set()

    async def _make_server(self) -> web.Server:
        await self.pyframe_app.startup()
        log.info("server_listening", server="gunicorn", pid=os.getpid())
        return self.pyframe_app.make_handler()

    async def _cleanup_server(self) -> None:
        await self.pyframe_app.shutdown()


def gunicorn_app(app: PyFrameApp) -> Callable[[], Awaitable[PyFrameRunner]]:
    """Serve ``app`` under gunicorn with aiohttp's worker class::

        # myapp.py
        app = PyFrameApp()
        gunicorn = gunicorn_app(app)

        $ gunicorn myapp:gunicorn --worker-class aiohttp.GunicornWebWorker --workers 4

    gunicorn owns the socket and the workers; the app's ``[server]`` limits still apply.
    """

    async def make_runner() -> PyFrameRunner:
        loaded = app.load_config()
        configure_logging(loaded.config.logging.level, loaded.config.logging.format)
        return PyFrameRunner(app, handle_signals=False,
                             shutdown_timeout=loaded.config.server.shutdown_timeout)

    return make_runner
