"""PyFrameApp: routes, middleware, plugins, and the request path from aiohttp and back."""

from __future__ import annotations

import asyncio
import contextvars
import functools
import inspect
import time
import traceback
from time import perf_counter
from collections.abc import AsyncIterable, Awaitable, Callable, Iterable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import is_dataclass
from typing import Any

import msgspec
from aiohttp import web

from .bodies import BUILTIN_DECODERS
from .config import Config, LoadedConfig, load_config
from .context import RequestContext, accept_quality, parse_accept
from .errors import HTTPError, PluginError, ServiceUnavailable
from .logging import get_logger
from .ordering import order_of
from .plugins import Plugins
from .responses import (JSON, Response, StreamingResponse, is_response_dict,
                        json_encode)
from .routing import HTTP_METHODS, WEBSOCKET, Route, Router
from .wire import send, stream_item_encoder

__all__ = ["PyFrameApp", "MiddlewareList"]

Handler = Callable[[RequestContext], Any]
Middleware = Callable[[RequestContext, Callable[[RequestContext], Awaitable[Response]]],
                      Awaitable[Any]]
log = get_logger("pyframe")
# Where the access logger finds the context of a finished request.
CONTEXT_KEY: Any = (web.RequestKey("pyframe.context", RequestContext)
                    if hasattr(web, "RequestKey") else "pyframe.context")


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


class PyFrameApp:
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
            self._handler_timeout = server.handler_timeout
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
                self.router.add(route)
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
        normalise = self.to_response

        async def run(context: RequestContext) -> Response:
            result = await mw(context, call_next)
            return result if isinstance(result, Response) else normalise(result, context)

        return run

    async def startup(self) -> None:
        """Build the app and run start-up hooks; the server calls this before serving."""
        if self.started:
            return
        self.build()
        self._executor = ThreadPoolExecutor(self.config.server.sync_workers,
                                            thread_name_prefix="pyframe-sync")
        for fn in self._startup:
            await _maybe_await(fn(self))
        for _, awaitable in self.plugins.collect("pyframe_start_app"):
            await _maybe_await(awaitable)
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
                await _maybe_await(awaitable)
            except Exception:
                log.exception("plugin_stop_failed", plugin=pid)
        for fn in reversed(self._shutdown):
            try:
                await _maybe_await(fn(self))
            except Exception:
                log.exception("shutdown_hook_failed", hook=_name(fn))
        if self._executor is not None:
            self._executor.shutdown(wait=False, cancel_futures=True)
            self._executor = None

    # The request path.
    async def handle(self, request: web.BaseRequest) -> web.StreamResponse:
        """aiohttp's low-level handler: one request in, one response out."""
        method = request.method
        raw_path = request.rel_url.raw_path
        try:
            if method == "GET" and request.headers.get("Upgrade", "").lower() == "websocket":
                try:
                    route, params = self.router.match(WEBSOCKET, raw_path)
                except HTTPError:
                    # An Upgrade to a path without a WebSocket route is an ordinary GET.
                    route, params = self.router.match("GET", raw_path)
            else:
                route, params = self.router.match(method, raw_path)
            error = None
        except HTTPError as exc:
            route, params, error = None, {}, exc
        context = RequestContext(self, request, route, params)
        context.route_error = error
        if self.access_log:
            # uvloop's clock ticks in milliseconds; the access line wants better.
            context.started = perf_counter()
        try:
            response = await self._chain(context)  # type: ignore[misc]
        except HTTPError as exc:
            response = await self.render_http_error(context, exc)
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            response = await self.render_exception(context, exc)
        request[CONTEXT_KEY] = context
        return await send(self, request, context, response)

    async def _endpoint(self, context: RequestContext) -> Response:
        route = context.route
        if route is None:
            return await self.render_http_error(context, context.route_error)
        try:
            if route.methods == (WEBSOCKET,):
                return await self._ws_handler(context, route)  # type: ignore[misc]
            if not route.stream_body and context.request.body_exists:
                await context.load_body()
            if route.is_async:
                if self._handler_timeout is None:
                    result = await route.handler(context)
                else:
                    result = await self._with_timeout(route, context)
            else:
                result = await self.run_sync(route.handler, context)
        except HTTPError as exc:
            return await self.render_http_error(context, exc)
        return result if isinstance(result, Response) else self.to_response(result, context)

    async def _with_timeout(self, route: Route, context: RequestContext) -> Any:
        try:
            async with asyncio.timeout(self._handler_timeout):
                return await route.handler(context)
        except TimeoutError:
            raise ServiceUnavailable(detail=f"the handler took longer than "
                                            f"{self._handler_timeout:g} s") from None

    async def run_sync(self, fn: Callable[..., Any], *args: Any) -> Any:
        """Run a blocking callable in the app's bounded thread pool."""
        loop = asyncio.get_running_loop()
        ctx = contextvars.copy_context()
        return await loop.run_in_executor(self._executor, functools.partial(ctx.run, fn, *args))

    def to_response(self, result: Any, context: RequestContext | None = None) -> Response:
        """Turn what a handler or middleware returned into a Response."""
        kind = type(result)
        if kind is dict:
            if is_response_dict(result):
                return Response.from_dict(result)
            return Response(json_encode(result), content_type=JSON)
        if kind is str:
            return Response(result)
        if isinstance(result, Response):
            return result
        if kind is bytes or kind is bytearray or kind is memoryview:
            return Response(bytes(result))
        encoder = self._encoder_for(kind)
        if encoder is not None:
            return self.to_response(encoder(result), context)
        if isinstance(result, Mapping):
            return (Response.from_dict(result) if is_response_dict(result)
                    else Response(json_encode(dict(result)), content_type=JSON))
        if isinstance(result, (list, tuple, msgspec.Struct)) or is_dataclass(result):
            return Response(json_encode(result), content_type=JSON)
        if isinstance(result, AsyncIterable):
            return StreamingResponse(result)
        where = f" by {context.route.name}" if context is not None and context.route else ""
        if result is None:
            raise TypeError(f"None was returned{where}: return a response, a str, JSON data, or "
                            "{'status': 204} for an empty answer")
        raise TypeError(f"{kind.__name__} was returned{where}; pyframe sends Response objects, "
                        "dicts, lists, str, bytes, msgspec Structs, dataclasses and async "
                        "iterators (a plugin can add types via pyframe_add_response_encoders)")

    def _encoder_for(self, kind: type) -> Callable[[Any], Any] | None:
        try:
            return self._encoder_cache[kind]
        except KeyError:
            pass
        found = None
        if self._encoders:
            for base in kind.__mro__:
                if base in self._encoders:
                    found = self._encoders[base]
                    break
        self._encoder_cache[kind] = found
        return found

    # Errors.
    async def render_http_error(self, context: RequestContext, exc: HTTPError) -> Response:
        handler = self._error_handlers.get(exc.status)
        if handler is not None:
            try:
                result = await _maybe_await(handler(context, exc))
                response = self.to_response(result, context)
                if exc.headers:
                    for key, value in exc.headers.items():
                        response.headers.setdefault(key, value)
                return response
            except Exception:
                log.exception("error_handler_failed", status=exc.status, path=context.path)
        body: dict[str, Any] = {"error": exc.reason}
        if exc.detail:
            body["detail"] = exc.detail
        return Response(json_encode(body), status=exc.status, headers=exc.headers or None,
                        content_type=JSON)

    async def render_exception(self, context: RequestContext, exc: Exception) -> Response:
        handler = self._exception_handler_for(type(exc))
        if handler is not None:
            try:
                return self.to_response(await _maybe_await(handler(context, exc)), context)
            except HTTPError as http_exc:
                return await self.render_http_error(context, http_exc)
            except Exception as handler_exc:
                exc = handler_exc
        log.error("request_failed", request_id=context.request_id, method=context.method,
                  path=context.path, exc_info=exc)
        if self.debug:
            return debug_response(context, exc)
        error = HTTPError(500)
        error.__cause__ = exc
        if 500 in self._error_handlers:
            return await self.render_http_error(context, error)
        return Response(b'{"error":"Internal Server Error"}', status=500, content_type=JSON)

    def _exception_handler_for(self, kind: type[BaseException]) -> Callable[..., Any] | None:
        if not self._exception_handlers:
            return None
        for base in kind.__mro__:
            handler = self._exception_handlers.get(base)
            if handler is not None:
                return handler
        return None

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


async def _maybe_await(value: Any) -> Any:
    if inspect.isawaitable(value):
        return await value
    return value


def debug_response(context: RequestContext, exc: BaseException) -> Response:
    """The traceback page of debug mode: HTML for browsers, JSON for API clients."""
    frames = traceback.format_exception(type(exc), exc, exc.__traceback__)
    accept = context.request.headers.get("Accept", "")
    ranges = parse_accept(accept) if accept else []
    if ranges and accept_quality(ranges, "text/html") > accept_quality(ranges, JSON):
        from html import escape

        page = (f"<!doctype html><html><head><meta charset=utf-8><title>500: "
                f"{escape(type(exc).__name__)}</title></head><body><h1>{escape(type(exc).__name__)}"
                f": {escape(str(exc))}</h1><p>{escape(context.method)} {escape(context.path)}"
                f"</p><pre>{escape(''.join(frames))}</pre><p>Debug mode is on: never in "
                f"production.</p></body></html>")
        return Response(page, status=500, content_type="text/html; charset=utf-8")
    return Response(json_encode({"error": "Internal Server Error", "exception": type(exc).__name__,
                                 "message": str(exc), "traceback": frames}),
                    status=500, content_type=JSON)
