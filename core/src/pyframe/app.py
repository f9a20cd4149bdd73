"""PyFrameApp: where an app's routes, middleware, error handlers, static mounts, plugins and
lifecycle hooks are registered, and where they are assembled into a request path at start-up.

The request path itself is :mod:`pyframe.request.dispatch`; serving is :mod:`pyframe.serve`.
"""

from __future__ import annotations

import asyncio
import contextvars
import functools
import time
from collections.abc import Callable, Iterable, Mapping
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from aiohttp import web

from .backends import BackendRegistry
from .config import Config, LoadedConfig, load_config
from .errors import PluginError
from .http.access import access_observer
from .http.connection import PyFrameServer, make_server
from .http.writer import send
from .logging import get_logger
from .plugin.manager import Plugins
from .request.bodies import BUILTIN_DECODERS
from .request.context import RequestContext
from .request.dispatch import Dispatcher, maybe_await
from .request.middleware import MiddlewareList, describe
from .request.routing import HTTP_METHODS, WEBSOCKET, Route, Router
from .request.state import AppState
from .request.streams import stream_item_encoder

__all__ = ["PyFrameApp", "StaticMount"]

Handler = Callable[[RequestContext], Any]
log = get_logger("pyframe")


class StaticMount:
    """A folder declared with ``app.add_static_path``; the static plugin serves it."""

    __slots__ = ("url_path", "directory", "headers", "options")

    def __init__(self, url_path: str, directory: str, headers: Mapping[str, str] | None,
                 options: dict[str, Any]) -> None:
        self.url_path = url_path
        self.directory = directory
        self.headers = dict(headers or {})
        self.options = options


class PyFrameApp:
    """A pyframe application.

    ``config`` is a path to a config file; by default ``pyframe.toml`` or the
    ``[tool.pyframe]`` table of ``pyproject.toml`` in the working directory is read when the
    app starts. ``settings`` gives config in code, shaped like the file
    (``{"server": {"port": 8080}}``): the file's keys win over it, the environment's over
    both. ``debug`` overrides the config's ``server.debug``.
    """

    def __init__(self, *, config: str | None = None, debug: bool | None = None,
                 name: str = "pyframe", settings: Mapping[str, Any] | None = None) -> None:
        self.name = name
        self.router = Router()
        self.middleware: MiddlewareList = MiddlewareList()
        self.plugins = Plugins(self)
        self.static_paths: list[StaticMount] = []
        # Objects kept for the app's lifetime, under pyframe.plugin.AppKey keys.
        self.state = AppState()
        self.config: Config = Config()
        self.config_source: str | None = None
        self._config_path = config
        self.settings: dict[str, Any] = dict(settings or {})
        self._debug_override = debug
        self.debug = bool(debug)
        self.max_body_size = self.config.server.max_body_size
        self._loaded: LoadedConfig | None = None
        # Shared with the dispatcher, so handlers set while serving take effect.
        self.error_handlers: dict[int, Callable[..., Any]] = {}
        self._exception_handlers: dict[type[BaseException], Callable[..., Any]] = {}
        self.body_decoders = dict(BUILTIN_DECODERS)
        self.stream_encoders: dict[str, Callable[[Any], bytes]] = {}
        self._startup: list[Callable[[PyFrameApp], Any]] = []
        self._shutdown: list[Callable[[PyFrameApp], Any]] = []
        self.dispatcher: Dispatcher | None = None
        self._plugin_routes: list[Route] = []
        # The shared backends plugins open by URL (pyframe.plugin.open_backend): one instance
        # per URL, closed after the plugins' stop hooks.
        self.backends = BackendRegistry()
        self._executor: ThreadPoolExecutor | None = None
        self._handler_timeout: float | None = None
        self.started = False
        self.access_log = True
        self.started_at: float | None = None

    # Routes.
    def add_route(self, path: str, handler: Handler, methods: Iterable[str] | None = None, *,
                  name: str | None = None, replace: bool = False, **options: Any) -> Route:
        """Route ``methods`` (GET by default) at ``path`` to ``handler``.

        Options: ``max_body_size`` (bytes), ``stream_body`` (read the body with
        ``context.stream()`` instead of before the handler), ``claims`` (WebSocket routes:
        ``claims(raw_path) -> bool``, asked before the handshake; False serves the request as
        a plain GET), and any keyword a plugin reads from ``route.options``
        (``compress=False`` for the compression plugin).
        """
        route = Route(path, methods or ("GET",), handler, name=name,
                      max_body_size=options.pop("max_body_size", None),
                      stream_body=options.pop("stream_body", False),
                      plugin=options.pop("plugin", None), claims=options.pop("claims", None),
                      options=options)
        if route.kind == "websocket":
            self._serve_websockets()
        return self.router.add(route, replace=replace)

    def _serve_websockets(self) -> None:
        # A WebSocket route for an app built without any: the plugin that serves them is
        # asked now, so the route works at once (or the caller learns why it cannot).
        dispatcher = self.dispatcher
        if dispatcher is None or dispatcher.ws_handler is not None:
            return
        try:
            dispatcher.ws_handler = self.plugins.websocket_handler()
        except PluginError as exc:
            raise PluginError(f"{exc}, before the app starts (this WebSocket route came "
                              "after)") from None

    def route(self, path: str, methods: Iterable[str] | None = None,
              **options: Any) -> Callable[[Handler], Handler]:
        """Decorator: ``@app.route('/users/<int:id>', methods=['GET', 'PUT'])``."""

        def register(handler: Handler) -> Handler:
            self.add_route(path, handler, methods, **options)
            return handler

        return register

    def get(self, path: str, **options: Any) -> Callable[[Handler], Handler]:
        return self.route(path, ["GET"], **options)

    def post(self, path: str, **options: Any) -> Callable[[Handler], Handler]:
        return self.route(path, ["POST"], **options)

    def put(self, path: str, **options: Any) -> Callable[[Handler], Handler]:
        return self.route(path, ["PUT"], **options)

    def patch(self, path: str, **options: Any) -> Callable[[Handler], Handler]:
        return self.route(path, ["PATCH"], **options)

    def delete(self, path: str, **options: Any) -> Callable[[Handler], Handler]:
        return self.route(path, ["DELETE"], **options)

    def head(self, path: str, **options: Any) -> Callable[[Handler], Handler]:
        return self.route(path, ["HEAD"], **options)

    def options(self, path: str, **options: Any) -> Callable[[Handler], Handler]:
        return self.route(path, ["OPTIONS"], **options)

    def websocket(self, path: str, **options: Any) -> Callable[[Handler], Handler]:
        """Decorator for a WebSocket route; the handler receives the WebSocket connection.

        Serving it needs the ws plugin (``pip install 'pyframe[ws]'``), enabled when the app
        starts; then routes added while serving are served too.
        """

        def register(handler: Handler) -> Handler:
            self.add_route(path, handler, [WEBSOCKET], **options)
            return handler

        return register

    def set_route(self, route: str, handler: Handler, methods: Iterable[str] | None = None,
                  **options: Any) -> Route:
        """Route every method (or ``methods``) at ``route`` to ``handler``, replacing any route
        already there. Works while the app is serving."""
        methods = methods or [m for m in HTTP_METHODS if m not in ("HEAD", "OPTIONS")]
        return self.add_route(route, handler, methods, replace=True, **options)

    def remove_route(self, route: str, methods: Iterable[str] | None = None) -> None:
        """Remove the route at ``route`` (every method unless named). Works while serving."""
        self.router.remove(route, methods)

    # Errors.
    def set_errorhandler(self, errorcode: int, handler: Callable[..., Any]) -> None:
        """Answer HTTP errors of ``errorcode`` with ``handler(context, error)`` (sync or async).

        It runs for errors the framework raises (404, 405, 413, a 500 from an exception) and
        for ``HTTPError`` raised by handlers, not for error responses a handler returns itself.
        """
        if not 400 <= errorcode <= 599:
            raise ValueError(f"error handlers are for 4xx and 5xx codes, got {errorcode}")
        self.error_handlers[errorcode] = handler

    def remove_errorhandler(self, errorcode: int) -> None:
        self.error_handlers.pop(errorcode, None)

    def add_exception_handler(self, exc_type: type[BaseException],
                              handler: Callable[..., Any]) -> None:
        """Answer exceptions of ``exc_type`` (and subclasses) with ``handler(context, exc)``."""
        self._exception_handlers[exc_type] = handler
        if self.dispatcher is not None:
            self.dispatcher.exception_handlers[exc_type] = handler

    # Static files, served by the static plugin.
    def add_static_path(self, url_path: str, directory: str,
                        headers: Mapping[str, str] | None = None, **options: Any) -> None:
        """Serve the files under ``directory`` at ``url_path`` (needs pyframe[static])."""
        if self.started:
            raise RuntimeError("static paths are mounted when the app starts; add them before")
        if not url_path.startswith("/"):
            raise ValueError(f"a static URL path starts with '/', got {url_path!r}")
        self.static_paths.append(StaticMount(url_path, str(directory), headers, options))

    # Lifecycle.
    def on_startup(self, fn: Callable[[PyFrameApp], Any]) -> Callable[[PyFrameApp], Any]:
        self._startup.append(fn)
        return fn

    def on_shutdown(self, fn: Callable[[PyFrameApp], Any]) -> Callable[[PyFrameApp], Any]:
        self._shutdown.append(fn)
        return fn

    def load_config(self) -> LoadedConfig:
        """Read the config file and environment once (idempotent)."""
        if self._loaded is None:
            self._loaded = load_config(self._config_path, settings=self.settings)
            self.config = self._loaded.config
            self.config_source = self._loaded.source
            server = self.config.server
            self.debug = server.debug if self._debug_override is None else self._debug_override
            self.max_body_size = server.max_body_size
            self._handler_timeout = server.handler_timeout or None
            self.access_log = self.config.logging.access_log
        return self._loaded

    def reset(self, config: str | None = None) -> None:
        """Forget the loaded config and the built request path, so the next start reads the
        config again and rebuilds (``SimpleDevServer.restart`` in place). Not while started."""
        if self.started:
            raise RuntimeError("stop the app before resetting it")
        if config is not None:
            self._config_path = config
        self._loaded = None
        self.dispatcher = None
        self.middleware.frozen = False
        self.plugins.reset()
        for route in self._plugin_routes:
            self.router.remove(route.path, route.methods)
        self._plugin_routes = []

    def build(self) -> None:
        """Load config and plugins, collect what they contribute, and compose the chain."""
        if self.dispatcher is not None:
            return
        loaded = self.load_config()
        required = []
        if self.static_paths:
            required.append(("static", "app.add_static_path"))
        required += [(mw.plugin_id, f"app.middleware ({type(mw).__name__})")
                     for mw in self.middleware if isinstance(getattr(mw, "plugin_id", None), str)
                     and getattr(mw, "enables_plugin", False)]
        plugins = self.plugins
        plugins.build(loaded, required)
        for route in plugins.routes():
            try:
                self.router.add(route)
            except ValueError as exc:
                raise PluginError(f"plugin {route.plugin!r} adds a route that clashes: {exc} "
                                  f"({_origin(self.router, route)}); change one of the two "
                                  "paths, or switch the plugin's route off") from None
            self._plugin_routes.append(route)
        self.body_decoders.update(plugins.body_decoders())
        self.stream_encoders.update(plugins.stream_encoders())
        exception_handlers = plugins.exception_handlers()
        exception_handlers.update(self._exception_handlers)
        ws_handler = None
        if any(route.kind == "websocket" for route in self.router):
            ws_handler = plugins.websocket_handler()
        # Observers of finished requests, the access log's line among them (it logs first,
        # through a logger of its own: bound at its first line, under the logging set up then).
        observers = [access_observer(get_logger("pyframe"))] if self.access_log else []
        observers += plugins.request_observers()
        self.dispatcher = Dispatcher(
            self, middleware=[*plugins.middleware(), *self.middleware], write=send,
            ws_handler=ws_handler, encoders=plugins.response_encoders(),
            exception_handlers=exception_handlers, handler_timeout=self._handler_timeout,
            observers=observers)
        self.middleware.frozen = True

    @property
    def middleware_chain(self) -> list[Any]:
        """Every middleware of the started app, outermost first."""
        return self.dispatcher.middleware if self.dispatcher is not None else []

    async def startup(self) -> None:
        """Build the app and run start-up hooks; the server calls this before serving."""
        if self.started:
            return
        self.build()
        assert self.dispatcher is not None
        self._executor = ThreadPoolExecutor(self.config.server.sync_workers,
                                            thread_name_prefix="pyframe-sync")
        self.dispatcher.start()
        try:
            for fn in self._startup:
                await maybe_await(fn(self))
            await self.plugins.start()
        except BaseException:
            await self._release()
            raise
        self.started = True
        self.started_at = time.time()
        log.info("app_started", plugins=[p.id for p in self.plugins.enabled],
                 middleware=[describe(m) for m in self.middleware_chain],
                 config=self.config_source or "defaults", routes=len(self.router))

    async def shutdown(self) -> None:
        """Run the plugins' stop hooks (in reverse start order), then the app's shutdown hooks;
        a failing hook is logged and the others still run."""
        if not self.started:
            return
        self.started = False
        await self.plugins.stop()
        for fn in reversed(self._shutdown):
            try:
                await maybe_await(fn(self))
            except Exception:
                log.exception("shutdown_hook_failed", hook=describe(fn))
        await self._release()

    async def _release(self) -> None:
        if self.dispatcher is not None:
            await self.dispatcher.stop()
        if self._executor is not None:
            self._executor.shutdown(wait=False, cancel_futures=True)
            self._executor = None
        backends, self.backends = self.backends, BackendRegistry()
        await backends.close()

    # The request path, for code that serves the app itself.
    async def handle(self, request: web.BaseRequest) -> web.StreamResponse:
        """aiohttp's low-level handler for this app (start the app first)."""
        assert self.dispatcher is not None, "the app is not started"
        return await self.dispatcher.handle(request)

    async def run_sync(self, fn: Callable[..., Any], *args: Any) -> Any:
        """Run a blocking callable in the app's bounded thread pool (``[server] sync_workers``
        threads), keeping the caller's context variables."""
        loop = asyncio.get_running_loop()
        ctx = contextvars.copy_context()
        return await loop.run_in_executor(self._executor, functools.partial(ctx.run, fn, *args))

    def stream_item_encoder(self, content_type: str | None) -> Callable[[Any], bytes]:
        """How items of a streamed body of ``content_type`` become bytes."""
        return stream_item_encoder(self, content_type)

    # Serving.
    def make_handler(self, **kwargs: Any) -> PyFrameServer:
        """The aiohttp low-level server for this app (start the app first)."""
        from .http.access import AccessLogger

        assert self.dispatcher is not None, "start the app first"
        kwargs.setdefault("access_log_class", AccessLogger)
        kwargs.setdefault("access_log", get_logger("pyframe") if self.access_log else None)
        # The [server] limits (head and body timeouts, connection cap, line and header
        # sizes) apply unless a keyword overrides them.
        return make_server(self.dispatcher.handle, self.config.server, **kwargs)

    def run(self, host: str | None = None, port: int | None = None, **options: Any) -> None:
        """Serve until Ctrl-C or SIGTERM. Unset arguments come from the ``[server]`` config."""
        from .serve.run import run_app

        run_app(self, host=host, port=port, **options)


def _origin(router: Router, route: Route) -> str:
    """Who owns the route already at ``route``'s path: "the app" or "plugin 'x'"."""
    for existing in router:
        if existing.path == route.path and set(existing.methods) & set(route.methods):
            return f"plugin {existing.plugin!r}" if existing.plugin else "added by the app"
    return "added earlier"
