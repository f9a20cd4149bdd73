"""``OutsideHTTP``: outside's server API on a PyFrameApp. One catch-all pyframe route hands
every request to outside's prefix table; handlers run in the app's thread pool."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import pyframe
from pyframe import HTTPError, JSONResponse, PyFrameApp
from pyframe.plugin import HTTP_METHODS, run_sync
from pyframe.serving import run_app

from .convert import to_pyframe
from .request import Request, request_from_context
from .response import Response
from .routing import PrefixRoutes
from .scheduled import ERROR_CODES, ScheduledResponse, default_errorhandler
from .settings import default_config, read_settings, server_section
from .sockets import WebSocketRoutes
from .websocket import WebSocket

if TYPE_CHECKING:
    from pyframe import RequestContext
    from pyframe.serving import AppServer

__all__ = ["OutsideHTTP"]

Handler = Callable[..., Any]
# The request path never reaches these without a route: both serve every method.
CATCH_ALL = ("/", "/<path:outside_path>")
UPGRADE_ONLY = "this route takes WebSocket connections only"


class OutsideHTTP:
    """``OutsideHTTP((host, port))``: ``set_route``, ``set_errorhandler``, ``run()`` until
    ``terminate()``.

    A request goes to the longest route its path starts with (an exact match wins); with no
    route, to the 404 error handler. Handlers are plain functions and run in a pool of
    ``config["max_workers"]`` threads, so a slow one holds only its own request; a
    :class:`WebSocket` route's handler holds one for as long as its connection lasts.
    ``config`` is read when ``run()`` starts (docs/migrating-from-outside.md maps every key).

    pyframe adds: ``app`` (the PyFrameApp underneath: plugins, middleware), ``ready`` (a
    ``threading.Event`` set once the socket accepts connections) and ``port`` (the bound port
    while running, useful with port 0).
    """

    def __init__(self, host: tuple[str, int]) -> None:
        self.config: dict[str, Any] = default_config(tuple(host))  # type: ignore[arg-type]
        self._terminate_process = False
        self._active_requests: list[Request] = []
        self._routes: dict[str, Handler] = {}
        self._error_routes: dict[int, Handler] = {}
        self._table = PrefixRoutes(self._routes)
        self.app = PyFrameApp(name="outside")
        self._sockets = WebSocketRoutes(self.app, self._table)
        self.ready = threading.Event()
        self.port: int | None = None
        self._server: AppServer | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._running = threading.Lock()
        self._runs = 0
        for path in CATCH_ALL:
            self.app.set_route(path, self._serve, methods=HTTP_METHODS)
        for code in ERROR_CODES:
            self.set_errorhandler(code, default_errorhandler(code))

    # Routes and error handlers; each takes effect at once, also while serving.
    def set_route(self, route: str, handler: Handler | WebSocket) -> None:
        """``handler(request)`` answers requests to ``route``; a :class:`WebSocket` takes the
        WebSocket connections to it (the ws plugin, ``pyframe[ws]``, serves them)."""
        if not isinstance(route, str):
            raise TypeError(f"a route is a str, got {type(route).__name__}")
        if isinstance(handler, WebSocket):
            self._sockets.serve()
        elif not callable(handler):
            raise TypeError(f"a route handler is a function, got {type(handler).__name__}")
        self._routes[route] = handler
        self._table.refresh()

    def remove_route(self, route: str) -> None:
        del self._routes[route]
        self._table.refresh()

    def set_errorhandler(self, errorcode: int, handler: Handler) -> None:
        """``handler(request, message=None)`` answers ``errorcode``: a handler's
        ``return (code, message)``, no route (404), an exception in a handler (500), and the
        errors pyframe itself answers (405, 413, a handler past its deadline: 503, ...)."""
        self._error_routes[errorcode] = handler
        if 400 <= errorcode <= 599:
            self.app.set_errorhandler(errorcode, self._framework_error)

    def remove_errorhandler(self, errorcode: int) -> None:
        """Drop the handler for ``errorcode``; outside's stock answer for it comes back."""
        del self._error_routes[errorcode]

    # Serving.
    def run(self) -> None:
        """Serve until ``terminate()``, SIGINT or SIGTERM; then let requests in flight finish
        (up to ``termination_timeout`` seconds) and return."""
        if not self._running.acquire(blocking=False):
            raise RuntimeError("this server is already running")
        served = False
        try:
            if self._runs:
                self._terminate_process = False  # a new run after an earlier one ended
            self._runs += 1
            settings = read_settings(self.config)
            self._sockets.timeout = settings.process_timeout or None
            self.app.settings = {"server": server_section(settings)}
            self.app.reset()
            self._sockets.prepare()
            cert, key = ((settings.ssl_certfile, settings.ssl_keyfile) if settings.ssl_enabled
                         else (None, None))
            host, port = settings.host
            run_app(self.app, host, port, cert=cert, key=key, on_ready=self._on_ready)
            served = self.port is not None
        finally:
            self._server = self._loop = None
            self.port = None
            self.ready.clear()
            self._running.release()
        if served:
            # Not when run_app returned at once: `pyframe run file.py:server.app` imports the
            # module (and so this call) and serves the app itself, with these settings.
            self._terminate_process = True
            if settings.server_cleanup is not None:
                settings.server_cleanup()

    def terminate(self, signum: int | None = None, stackframe: Any = None) -> None:
        """Stop a running ``run()``: from any thread, or as a signal handler
        (``signal.signal(signal.SIGUSR1, server.terminate)``). Called before the server is
        listening, it stops it as soon as it is."""
        self._terminate_process = True
        loop, server = self._loop, self._server
        if loop is None or server is None:
            return  # _on_ready sees the flag
        try:
            # Also from a signal handler on the loop's own thread: the wake-up byte makes the
            # loop notice at once, where setting the event directly would wait for its next tick.
            loop.call_soon_threadsafe(server.terminate)
        except RuntimeError:
            pass  # the loop closed meanwhile: the server has stopped already

    def _on_ready(self, server: AppServer) -> None:
        self._loop = asyncio.get_running_loop()
        self._server = server
        self.port = server.port
        self._sockets.started()
        self.ready.set()
        if self._terminate_process:
            server.terminate()

    # The request path (in a worker thread).
    def _serve(self, context: RequestContext) -> pyframe.Response:
        request = request_from_context(context)
        active = self._active_requests
        active.append(request)
        try:
            handler = self._table.match(request.url)
            if isinstance(handler, WebSocket):
                return self._upgrade_required(request)
            if handler is None:
                handler = self._error_routes.get(404) or default_errorhandler(404)
            response = ScheduledResponse(request, handler, self._error_routes).run()
            return self._finish(request, response)
        finally:
            active.remove(request)

    def _finish(self, request: Request, response: Response | None) -> pyframe.Response:
        if response is None:  # the 500 error handler failed as well (logged)
            return JSONResponse({"error": "Internal Server Error"}, status=500)
        config = self.config
        pre_send = config.get("pre_send")
        if pre_send is not None:
            pre_send(response)
        result = to_pyframe(response)
        post_callback = config.get("post_callback")
        if post_callback is not None:
            post_callback(request, response)
        return result

    def _upgrade_required(self, request: Request) -> pyframe.Response:
        """A request that is not a WebSocket handshake, to a WebSocket route: 426 through
        outside's handler for it (outside answered its 400 handler)."""
        handler = self._error_routes.get(426) or default_errorhandler(426)
        response = ScheduledResponse(request, lambda r: handler(r, UPGRADE_ONLY),
                                     self._error_routes).run()
        if response is not None and response.status_code == 426:
            response.headers.setdefault("Upgrade", "websocket")  # RFC 9110 15.5.22
        return self._finish(request, response)

    async def _framework_error(self, context: RequestContext,
                               error: HTTPError) -> pyframe.Response:
        """The errors pyframe answers itself (405, 413, 503, ...), through outside's handler
        for that status."""
        if error.status == 404 and context.route is None:
            # A path the catch-all pattern cannot take (an empty segment, as in //x) still
            # belongs to outside's prefix table.
            try:
                await context.load_body()
            except HTTPError as exc:
                error = exc
            else:
                return await run_sync(context.app, self._serve, context)
        handler = self._error_routes.get(error.status) or default_errorhandler(error.status)
        message = error.detail
        cause = error.__cause__
        if message is None and cause is not None:
            message = f"Unexpected Exception: {type(cause).__name__}"
        return await run_sync(context.app, self._answer_error, context, handler, message)

    def _answer_error(self, context: RequestContext, handler: Handler,
                      message: str | None) -> pyframe.Response:
        request = request_from_context(context)
        response = ScheduledResponse(request, lambda r: handler(r, message),
                                     self._error_routes).run()
        return self._finish(request, response)
