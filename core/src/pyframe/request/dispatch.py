"""The request path of a started app: route, context, middleware chain, handler, response.

The app builds one :class:`Dispatcher` when it starts, from its routes, middleware and what
plugins contributed; aiohttp's connection calls :meth:`Dispatcher.handle` for every request.
Every line of ``handle`` and ``endpoint`` runs on every request.
"""

from __future__ import annotations

import asyncio
import inspect
import traceback
from collections.abc import AsyncIterable, Awaitable, Callable, Mapping, Sequence
from dataclasses import is_dataclass
from time import perf_counter
from types import CoroutineType
from typing import TYPE_CHECKING, Any

import msgspec
from aiohttp import web

from ..errors import HTTPError, ServiceUnavailable
from ..logging import get_logger
from .context import RequestContext
from .finished import Observers, RequestObserver
from .middleware import compose
from .negotiation import accept_quality, parse_accept
from .responses import (
    JSON,
    RESPONSE_CLASSES,
    Response,
    StreamingResponse,
    dict_response,
    is_response_dict,
    json_encode,
)
from .routing import WEBSOCKET, Route

if TYPE_CHECKING:
    from ..app import PyFrameApp

__all__ = ["Dispatcher", "Deadlines", "CONTEXT_KEY", "Writer", "debug_response", "maybe_await",
           "NOSNIFF"]

# Writes a finished Response to aiohttp (pyframe.http.writer.send): what it returns is the
# aiohttp response, or for a stream a coroutine producing it.
Writer = Callable[[web.BaseRequest, RequestContext, Response], Any]

log = get_logger("pyframe")
# Where the access logger finds the context of a finished request.
CONTEXT_KEY: Any = (web.RequestKey("pyframe.context", RequestContext)
                    if hasattr(web, "RequestKey") else "pyframe.context")
# On every error body: a browser must read an error as the JSON (or HTML) it says it is, never
# sniff it into something else.
NOSNIFF = {"X-Content-Type-Options": "nosniff"}
_INTERNAL_ERROR = b'{"error":"Internal Server Error"}'


class Deadlines:
    """The per-handler timeout, kept by one periodic check instead of a timer per request.

    A running handler is an entry in a dict; every ``interval`` the check cancels the tasks
    past their deadline, and the handler's await turns the cancellation into a 503. The answer
    comes within ``interval`` (a quarter of the timeout, at most a second) of the deadline.
    """

    def __init__(self, app: PyFrameApp, timeout: float) -> None:
        self.app = app
        self.timeout = timeout
        self.interval = min(1.0, timeout / 4)
        self.running: dict[asyncio.Task[Any], float] = {}
        self.expired: set[asyncio.Task[Any]] = set()
        self.watcher: asyncio.Task[None] | None = None

    def start(self) -> None:
        self.watcher = asyncio.get_running_loop().create_task(self._watch())

    async def stop(self) -> None:
        if self.watcher is not None:
            self.watcher.cancel()
            try:
                await self.watcher
            except asyncio.CancelledError:
                pass
            self.watcher = None

    async def _watch(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            await asyncio.sleep(self.interval)
            now = loop.time()
            for task, deadline in list(self.running.items()):
                if now >= deadline and task not in self.expired:
                    self.expired.add(task)
                    task.cancel()

    async def run(self, route: Route, context: RequestContext) -> Any:
        task = asyncio.current_task()
        assert task is not None
        self.running[task] = asyncio.get_running_loop().time() + self.timeout
        try:
            if route.is_async:
                return await route.handler(context)
            return await self.app.run_sync(route.handler, context)
        except asyncio.CancelledError:
            if task not in self.expired:
                raise  # the server is stopping, not a slow handler
            self.expired.discard(task)
            task.uncancel()
            raise ServiceUnavailable(detail=f"the handler took longer than "
                                            f"{self.timeout:g} s") from None
        finally:
            del self.running[task]


class Dispatcher:
    """One started app's request path; see the module docstring.

    ``middleware`` is every middleware of the app and its plugins (ordered here by their
    ``order``); ``write`` turns the final Response into aiohttp's; ``ws_handler`` upgrades
    WebSocket routes (the ws plugin's; set later by the app when its first WebSocket route
    comes while serving); ``encoders`` map handler return types to something sendable;
    ``exception_handlers`` map exception types to handlers; ``observers`` see each
    finished request. The app's error-handler dict is shared, so ``set_errorhandler`` works
    while serving.
    """

    def __init__(self, app: PyFrameApp, *, middleware: list[Any], write: Writer,
                 ws_handler: Callable[..., Awaitable[Any]] | None = None,
                 encoders: Mapping[type, Callable[[Any], Any]] | None = None,
                 exception_handlers: Mapping[type[BaseException], Callable[..., Any]] | None
                 = None, handler_timeout: float | None = None,
                 observers: Sequence[RequestObserver] = ()) -> None:
        self.app = app
        # Called for each request once its response is written; see request/finished.py.
        self.observers = Observers(observers)
        self.observed = bool(observers)
        # Requests between routing and the end of their handler (or stream).
        self.in_flight = 0
        self.router = app.router
        self.write = write
        self.error_handlers = app.error_handlers
        self.exception_handlers = dict(exception_handlers or {})
        self.ws_handler = ws_handler
        self._encoders = dict(encoders or {})
        self._encoder_cache: dict[type, Callable[[Any], Any] | None] = {}
        self.handler_timeout = handler_timeout
        self._deadlines: Deadlines | None = None
        self.chain, self.middleware = compose(middleware, self.endpoint, self.to_response)

    def start(self) -> None:
        """Start what runs beside requests (the handler-timeout check); needs the loop."""
        if self.handler_timeout is not None and self._deadlines is None:
            self._deadlines = Deadlines(self.app, self.handler_timeout)
            self._deadlines.start()

    async def stop(self) -> None:
        if self._deadlines is not None:
            await self._deadlines.stop()
            self._deadlines = None

    async def handle(self, request: web.BaseRequest) -> web.StreamResponse:
        """aiohttp's low-level handler: one request in, one response out."""
        method = request.method
        raw_path = request.rel_url.raw_path
        error = None
        try:
            if (method == "GET" and self.router.websockets
                    and request.headers.get("Upgrade", "").lower() == "websocket"):
                route, params = self._websocket_route(raw_path)
            else:
                route, params = self.router.match(method, raw_path)
        except HTTPError as exc:
            route, params, error = None, {}, exc
        app = self.app
        context = RequestContext(app, request, route, params)
        if error is not None:
            context.route_error = error
        if self.observed:
            # For the observers, called once the response is written (pyframe.http.access).
            # uvloop's clock ticks in milliseconds; durations want better.
            context.started = perf_counter()
            # The request's own dict, as pyframe.http.access takes it off again: a mapping
            # method call less per request.
            request._state[CONTEXT_KEY] = context
        self.in_flight += 1
        try:
            try:
                response = await self.chain(context)
            except HTTPError as exc:
                response = await self.render_http_error(context, exc)
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                response = await self.render_exception(context, exc)
            resp = self.write(request, context, response)
            if type(resp) is CoroutineType:
                return await resp  # a stream: written while the client reads
            return resp
        finally:
            self.in_flight -= 1

    async def endpoint(self, context: RequestContext) -> Response:
        """The innermost link of the chain: run the route's handler."""
        route = context.route
        if route is None:
            return await self.render_http_error(context, context.route_error)
        try:
            if route.kind == "websocket":
                return await self.ws_handler(context, route)  # type: ignore[misc]
            if not route.stream_body and context.request.body_exists:
                await context.load_body()
            deadlines = self._deadlines
            if deadlines is None:
                result = (await route.handler(context) if route.is_async
                          else await self.app.run_sync(route.handler, context))
            else:
                result = await deadlines.run(route, context)
        except HTTPError as exc:
            return await self.render_http_error(context, exc)
        # to_response tests dict and str by identity before the (slower, ABC) Response check.
        return self.to_response(result, context)

    def _websocket_route(self, raw_path: str) -> tuple[Route, dict[str, Any]]:
        """The route of an Upgrade request: its path's WebSocket route, unless there is none
        or the route's ``claims`` declines it; then the request is an ordinary GET."""
        try:
            route, params = self.router.match(WEBSOCKET, raw_path)
        except HTTPError:
            return self.router.match("GET", raw_path)
        claims = route.claims
        if claims is not None:
            try:
                claimed = claims(raw_path)
            except Exception as exc:
                log.error("websocket_claims_failed", route=route.name, path=raw_path[:200],
                          exc_info=exc)
                raise HTTPError(500) from exc
            if not claimed:
                return self.router.match("GET", raw_path)
        return route, params

    def to_response(self, result: Any, context: RequestContext | None = None) -> Response:
        """Turn what a handler or middleware returned into a Response."""
        kind = type(result)
        if kind is Response:
            return result
        if kind is dict:
            response = dict_response(result)
            if response is not None:
                return response
            return Response(json_encode(result), content_type=JSON)
        if kind is str:
            return Response(result)
        if kind in RESPONSE_CLASSES or isinstance(result, Response):
            return result  # (the set first: a Response is a MutableMapping, an ABC to check)
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
    async def render_error(self, context: RequestContext, exc: BaseException) -> Response:
        """The response the core gives for ``exc``: an HTTPError's status, or a 500."""
        if isinstance(exc, HTTPError):
            return await self.render_http_error(context, exc)
        if not isinstance(exc, Exception):
            raise exc
        return await self.render_exception(context, exc)

    async def render_http_error(self, context: RequestContext, exc: HTTPError) -> Response:
        handler = self.error_handlers.get(exc.status)
        if handler is not None:
            try:
                result = await maybe_await(handler(context, exc))
                response = self.to_response(result, context)
                headers = response.headers
                if exc.headers:
                    for key, value in exc.headers.items():
                        headers.setdefault(key, value)
                headers.setdefault("X-Content-Type-Options", "nosniff")
                return response
            except Exception:
                log.exception("error_handler_failed", status=exc.status, path=context.path)
        body: dict[str, Any] = {"error": exc.reason}
        if exc.detail:
            body["detail"] = exc.detail
        return Response(json_encode(body), status=exc.status,
                        headers={**exc.headers, **NOSNIFF} if exc.headers else NOSNIFF,
                        content_type=JSON)

    async def render_exception(self, context: RequestContext, exc: Exception) -> Response:
        handler = self._exception_handler_for(type(exc))
        if handler is not None:
            try:
                response = self.to_response(await maybe_await(handler(context, exc)), context)
                if response.status >= 400:
                    response.headers.setdefault("X-Content-Type-Options", "nosniff")
                return response
            except HTTPError as http_exc:
                return await self.render_http_error(context, http_exc)
            except Exception as handler_exc:
                exc = handler_exc
        log.error("request_failed", request_id=context.request_id, method=context.method,
                  path=context.path, exc_info=exc)
        if self.app.debug:
            return debug_response(context, exc)
        error = HTTPError(500)
        error.__cause__ = exc
        if 500 in self.error_handlers:
            return await self.render_http_error(context, error)
        return Response(_INTERNAL_ERROR, status=500, headers=NOSNIFF, content_type=JSON)

    def _exception_handler_for(self, kind: type[BaseException]) -> Callable[..., Any] | None:
        if not self.exception_handlers:
            return None
        for base in kind.__mro__:
            handler = self.exception_handlers.get(base)
            if handler is not None:
                return handler
        return None


async def maybe_await(value: Any) -> Any:
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
        return Response(page, status=500, headers=NOSNIFF,
                        content_type="text/html; charset=utf-8")
    return Response(json_encode({"error": "Internal Server Error", "exception": type(exc).__name__,
                                 "message": str(exc), "traceback": frames}),
                    status=500, headers=NOSNIFF, content_type=JSON)
