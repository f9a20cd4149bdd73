"""PyFrameApp: routes, middleware, plugins, and the request path from aiohttp and back."""

from __future__ import annotations

import inspect
import time
from collections.abc import Awaitable, Callable, Iterable, Mapping
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from aiohttp import web

from .bodies import BUILTIN_DECODERS
from .config import Config, LoadedConfig, load_config
from .context import RequestContext
from .errors import PluginError
from .handling import Deadlines, RequestHandling, maybe_await
from .logging import get_logger
from .ordering import order_of
from .plugins import Plugins
from .responses import Response
from .routing import HTTP_METHODS, WEBSOCKET, Route, Router
from .wire import stream_item_encoder

__all__ = ["PyFrameApp", "MiddlewareList"]

Handler = Callable[[RequestContext], Any]
Middleware = Callable[[RequestContext, Callable[[RequestContext], Awaitable[Response]]],
                      Awaitable[Any]]
log = get_logger("pyframe")


class MiddlewareList(list):
    """``app.middleware``: a list until the app starts, then frozen."""

    frozen = False

    def _check(self) -> None:
        if self.frozen:
            raise RuntimeError("middleware is composed when the app starts; add it before that")

    def append(self, item: Any) -> None:
        self._check()
        super().append(item)

    def insert(self, index: Any, item: Any) -> None:
        self._check()
        super().insert(index, item)

    def extend(self, items: Iterable[Any]) -> None:
        self._check()
        super().extend(items)

    def remove(self, item: Any) -> None:
        self._check()
        super().remove(item)


class StaticMount:
    """A folder declared with ``app.add_static_path``; the static plugin serves it."""

    __slots__ = ("url_path", "directory", "headers", "options")

    def __init__(self, url_path: str, directory: str, headers: Mapping[str, str] | None,
                 options: dict[str, Any]) -> None:
        self.url_path = url_path
        self.directory = directory
        self.headers = dict(headers or {})
        self.options = options


class PyFrameApp(RequestHandling):
    """A pyframe application.

    ``config`` is a path to a config file; by default ``pyframe.toml`` or the
    ``[tool.pyframe]`` table of ``pyproject.toml`` in the working directory is read when the
    app starts. ``debug`` overrides the config's ``server.debug``.
    """

    def __init__(self, *, config: str | None = None, debug: bool | None = None,
                 name: str = "pyframe") -> None:
        self.name = name
        self.router = Router()
        self.middleware: MiddlewareList = MiddlewareList()
        self.plugins = Plugins(self)
        self.static_paths: list[StaticMount] = []
        self.state: dict[str, Any] = {}
        self.config: Config = Config()
        self.config_source: str | None = None
        self._config_path = config
        self._debug_override = debug
        self.debug = bool(debug)
        self.max_body_size = self.config.server.max_body_size
        self._loaded: LoadedConfig | None = None
        self._error_handlers: dict[int, Callable[..., Any]] = {}
        self._exception_handlers: dict[type[BaseException], Callable[..., Any]] = {}
        self._body_decoders = dict(BUILTIN_DECODERS)
        self._encoders: dict[type, Callable[[Any], Any]] = {}
        self._encoder_cache: dict[type, Callable[[Any], Any] | None] = {}
        self.stream_encoders: dict[str, Callable[[Any], bytes]] = {}
        self._ws_handler: Callable[..., Awaitable[Any]] | None = None
        self._startup: list[Callable[[PyFrameApp], Any]] = []
        self._shutdown: list[Callable[[PyFrameApp], Any]] = []
        self._chain: Callable[[RequestContext], Awaitable[Response]] | None = None
        self.middleware_chain: list[Any] = []
        self._executor: ThreadPoolExecutor | None = None
        self._handler_timeout: float | None = None
        self._deadlines: Deadlines | None = None
        self._websocket_routes = False
        self.started = False
        self.access_log = True
        self.started_at: float | None = None

    # Routes.
    def add_route(self, path: str, handler: Handler, methods: Iterable[str] | None = None, *,
                  name: str | None = None, replace: bool = False, **options: Any) -> Route:
        """Route ``methods`` (GET by default) at ``path`` to ``handler``.

        Options: ``max_body_size`` (bytes), ``stream_body`` (read the body with
        ``context.stream()`` instead of before the handler), and any keyword a plugin reads
        from ``route.options`` (``compress=False`` for the compression plugin).
        """
        route = Route(path, methods or ("GET",), handler, name=name,
                      max_body_size=options.pop("max_body_size", None),
                      stream_body=options.pop("stream_body", False),
                      plugin=options.pop("plugin", None), options=options)
        return self._add(route, replace=replace)

    def _add(self, route: Route, replace: bool = False) -> Route:
        if route.kind == "websocket":
            self._websocket_routes = True
        return self.router.add(route, replace=replace)

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

        Serving it needs the ws plugin (``pip install 'pyframe[ws]'``).
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
        self._error_handlers[errorcode] = handler

    def remove_errorhandler(self, errorcode: int) -> None:
        self._error_handlers.pop(errorcode, None)

    def add_exception_handler(self, exc_type: type[BaseException],
                              handler: Callable[..., Any]) -> None:
        """Answer exceptions of ``exc_type`` (and subclasses) with ``handler(context, exc)``."""
        self._exception_handlers[exc_type] = handler

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
            self._loaded = load_config(self._config_path)
            self.config = self._loaded.config
            self.config_source = self._loaded.source
            server = self.config.server
            self.debug = server.debug if self._debug_override is None else self._debug_override
            self.max_body_size = server.max_body_size
            self._handler_timeout = server.handler_timeout or None
            self.access_log = self.config.logging.access_log
        return self._loaded

    def build(self) -> None:
        """Load config and plugins, collect what they contribute, and compose the chain."""
        if self._chain is not None:
            return
        loaded = self.load_config()
        required = []
        if self.static_paths:
            required.append(("static", "app.add_static_path"))
        required += [(mw.plugin_id, f"app.middleware ({type(mw).__name__})")
                     for mw in self.middleware if isinstance(getattr(mw, "plugin_id", None), str)
                     and getattr(mw, "enables_plugin", False)]
        self.plugins.build(loaded, required)
        plugins = self.plugins
        for pid, routes in plugins.collect("pyframe_add_routes"):
            for route in routes:
                route.plugin = pid
                self._add(route)
        for _, decoders in plugins.collect("pyframe_add_body_decoders"):
            self._body_decoders.update(decoders)
        for _, encoders in plugins.collect("pyframe_add_response_encoders"):
            self._encoders.update(encoders)
        for _, encoders in plugins.collect("pyframe_add_stream_encoders"):
            self.stream_encoders.update(encoders)
        for _, handlers in plugins.collect("pyframe_add_exception_handlers"):
            for exc_type, handler in handlers.items():
                self._exception_handlers.setdefault(exc_type, handler)
        if any(WEBSOCKET in r.methods for r in self.router):
            answers = plugins.collect("pyframe_make_websocket_handler")
            if not answers:
                raise PluginError("the app has WebSocket routes but no plugin serves them: "
                                  "pip install 'pyframe[ws]' and enable [plugins.ws]")
            self._ws_handler = answers[0][1]
        contributed = []
        for pid, mws in plugins.collect("pyframe_add_middleware"):
            for mw in (mws if isinstance(mws, Iterable) else [mws]):
                contributed.append(mw)
        self._compose(contributed + list(self.middleware))
        self.middleware.frozen = True

    def _compose(self, middlewares: list[Any]) -> None:
        for mw in middlewares:
            if not callable(mw):
                raise TypeError(f"middleware {mw!r} is not callable")
            fn = mw if inspect.isfunction(mw) or inspect.ismethod(mw) else getattr(mw, "__call__")
            if not inspect.iscoroutinefunction(fn):
                raise TypeError(f"middleware {_name(mw)} must be `async def mw(context, call_next)`")
        ordered = sorted(middlewares, key=order_of)  # stable: equal orders keep list order
        call = self._endpoint
        for mw in reversed(ordered):
            call = self._link(mw, call)
        self._chain = call
        self.middleware_chain = ordered

    def _link(self, mw: Middleware, call_next: Callable[[RequestContext], Awaitable[Response]]
              ) -> Callable[[RequestContext], Awaitable[Response]]:
        if getattr(mw, "returns_response", False) is True:
            # It promises a Response (as the built-in plugins' middleware does): call it
            # directly, without a normalising coroutine around it.
            return lambda context: mw(context, call_next)
        normalise = self.to_response

        async def run(context: RequestContext) -> Response:
            return normalise(await mw(context, call_next), context)

        return run

    async def startup(self) -> None:
        """Build the app and run start-up hooks; the server calls this before serving."""
        if self.started:
            return
        self.build()
        self._executor = ThreadPoolExecutor(self.config.server.sync_workers,
                                            thread_name_prefix="pyframe-sync")
        if self._handler_timeout is not None:
            self._deadlines = Deadlines(self, self._handler_timeout)
            self._deadlines.start()
        for fn in self._startup:
            await maybe_await(fn(self))
        for _, awaitable in self.plugins.collect("pyframe_start_app"):
            await maybe_await(awaitable)
        self.started = True
        self.started_at = time.time()
        log.info("app_started", plugins=[p.id for p in self.plugins.enabled],
                 middleware=[_name(m) for m in self.middleware_chain],
                 config=self.config_source or "defaults", routes=len(self.router))

    async def shutdown(self) -> None:
        if not self.started:
            return
        self.started = False
        for pid, awaitable in reversed(self.plugins.collect("pyframe_stop_app")):
            try:
                await maybe_await(awaitable)
            except Exception:
                log.exception("plugin_stop_failed", plugin=pid)
        for fn in reversed(self._shutdown):
            try:
                await maybe_await(fn(self))
            except Exception:
                log.exception("shutdown_hook_failed", hook=_name(fn))
        if self._deadlines is not None:
            await self._deadlines.stop()
            self._deadlines = None
        if self._executor is not None:
            self._executor.shutdown(wait=False, cancel_futures=True)
            self._executor = None

    def stream_item_encoder(self, content_type: str | None) -> Callable[[Any], bytes]:
        """How items of a streamed body of ``content_type`` become bytes (see wire.py)."""
        return stream_item_encoder(self, content_type)

    # Serving.
    def make_handler(self, **kwargs: Any) -> web.Server:
        """The aiohttp low-level server for this app (start the app first)."""
        from .protocol import make_server
        from .serving import AccessLogger

        kwargs.setdefault("access_log_class", AccessLogger)
        kwargs.setdefault("access_log", log if self.access_log else None)
        # The [server] limits (head and body timeouts, connection cap, line and header
        # sizes) apply unless a keyword overrides them.
        return make_server(self.handle, self.config.server, **kwargs)

    def run(self, host: str | None = None, port: int | None = None, **options: Any) -> None:
        """Serve until Ctrl-C or SIGTERM. Unset arguments come from the ``[server]`` config."""
        from .serving import run_app

        run_app(self, host=host, port=port, **options)


def _name(obj: Any) -> str:
    return getattr(obj, "__qualname__", None) or type(obj).__name__
