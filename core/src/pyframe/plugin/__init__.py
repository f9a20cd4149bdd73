"""The public plugin API: everything a pyframe plugin needs, in one import.

``from pyframe.plugin import hookimpl, Route, PluginConfig, MiddlewareOrder, get_logger, ...``.
A plugin imports from here and from ``pyframe`` (the app-facing names) and nothing else of the
core; a test in pyframe's own suite holds the built-in plugins to that. docs/plugins.md
describes each name.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ..backends import (
    AtomicOp,
    BackendClosed,
    BackendError,
    BackendHealth,
    BackendLease,
    BackendUnavailable,
    Broker,
    BusState,
    DataView,
    EventLog,
    KeyValueStore,
    LogEntry,
    LogRead,
    MessageTooLarge,
    OperationFailed,
    Subscription,
    SubscriptionClosed,
    validate_url,
)
from ..config import PluginConfig, validate_section
from ..errors import (
    BadRequest,
    ConfigError,
    Forbidden,
    HTTPError,
    MethodNotAllowed,
    NotFound,
    PayloadTooLarge,
    PluginError,
    ServiceUnavailable,
    TooManyRequests,
    Unauthorized,
    UnprocessableContent,
    UnsupportedMediaType,
    install_hint,
)
from ..http.websocket import AcceptedWebSocket, accept_websocket
from ..http.writer import UpgradedResponse
from ..logging import get_logger
from ..request.context import RequestContext
from ..request.finished import FinishedRequest, RequestObserver
from ..request.middleware import CallNext, Middleware, MiddlewareOrder, middleware_order
from ..request.negotiation import (
    accept_quality,
    media_type_of,
    parse_accept,
    parse_accept_encoding,
)
from ..request.responses import (
    FileResponse,
    HTMLResponse,
    JSONResponse,
    PlainTextResponse,
    RedirectResponse,
    Response,
    ResponseCookie,
    StreamingResponse,
    add_vary,
    json_encode,
)
from ..request.routing import HTTP_METHODS, WEBSOCKET, Route
from ..request.state import AppKey
from ..request.streams import DRAINING, draining, stream_item_encoder, until_draining
from .observe import MetricSample
from .specs import hookimpl, hookspec

if TYPE_CHECKING:
    from ..app import PyFrameApp

__all__ = [
    # Hooks.
    "hookimpl", "hookspec",
    # Config.
    "PluginConfig", "validate_section", "ConfigError", "PluginError", "install_hint",
    # Routes, middleware, the request and responses.
    "Route", "WEBSOCKET", "HTTP_METHODS", "RequestContext", "Middleware", "CallNext",
    "MiddlewareOrder", "middleware_order", "Response", "JSONResponse", "HTMLResponse",
    "PlainTextResponse", "RedirectResponse", "FileResponse", "StreamingResponse",
    "ResponseCookie", "UpgradedResponse", "json_encode", "add_vary", "error_response",
    # WebSocket handshakes with the strict frame reader.
    "accept_websocket", "AcceptedWebSocket",
    # Negotiation.
    "media_type_of", "parse_accept", "accept_quality", "parse_accept_encoding",
    # HTTP errors.
    "HTTPError", "BadRequest", "Unauthorized", "Forbidden", "NotFound", "MethodNotAllowed",
    "PayloadTooLarge", "UnsupportedMediaType", "UnprocessableContent", "TooManyRequests",
    "ServiceUnavailable",
    # Running beside requests.
    "AppKey", "run_sync", "draining", "until_draining", "DRAINING", "stream_item_encoder",
    # Logging and measurements; watching finished requests.
    "get_logger", "MetricSample", "FinishedRequest", "RequestObserver", "requests_in_flight",
    # The shared backends (docs/backends.md).
    "check_backend_url", "open_backend", "BackendLease", "Broker", "Subscription",
    "KeyValueStore", "AtomicOp", "DataView", "EventLog", "LogEntry", "LogRead", "BusState",
    "BackendHealth", "BackendError", "BackendUnavailable", "BackendClosed", "MessageTooLarge",
    "OperationFailed", "SubscriptionClosed",
    # Command-line subcommands.
    "load_app",
]


async def run_sync(app: PyFrameApp, fn: Any, *args: Any) -> Any:
    """Run a blocking callable in the app's bounded thread pool (``[server] sync_workers``),
    keeping context variables: ``await run_sync(context.app, path.read_bytes)``."""
    return await app.run_sync(fn, *args)


async def error_response(context: RequestContext, exc: BaseException) -> Response:
    """The response the core would give for ``exc`` (an ``HTTPError``'s status and the app's
    error handler for it, or a 500), for middleware that must answer an error itself and still
    add its headers (CORS does)."""
    dispatcher = context.app.dispatcher
    assert dispatcher is not None, "the app is not started"
    return await dispatcher.render_error(context, exc)


def requests_in_flight(app: PyFrameApp) -> int:
    """How many requests the started app is handling now: routed and not yet answered (a
    stream counts until it ends). 0 before the app starts."""
    dispatcher = app.dispatcher
    return dispatcher.in_flight if dispatcher is not None else 0


def check_backend_url(url: str | None, *, source: str, key: str) -> str:
    """Check a backend URL from a plugin's config without connecting: the URL to open later.

    None or "" mean the embedded ``memory://``. A malformed URL, a bad option or a scheme no
    installed distribution serves raises ``ConfigError`` naming ``source`` and ``key``
    (``pyframe.toml: plugins.ws.backend: no installed backend serves redis:// URLs ...``).
    """
    try:
        return validate_url(url)
    except BackendError as exc:
        raise ConfigError(f"{source}: {key}: {exc}") from None


async def open_backend(app: PyFrameApp, url: str | None) -> BackendLease:
    """The shared backend for ``url`` (call it from ``pyframe_start_app``): one instance per
    URL for the whole app, however many plugins name it, given back when the app stops."""
    lease = await app.backends.open(url)
    if lease.scheme == "memory" and app.config.server.workers > 1:
        get_logger("pyframe").warning(
            "backend_memory_with_workers", backend=lease.url,
            workers=app.config.server.workers,
            detail="memory:// is per process: each worker sees only its own state; name a "
                   "redis:// backend to share it")
    return lease


def load_app(target: str | None = None, *, config: str | None = None) -> PyFrameApp:
    """The app a plugin's CLI subcommand works on, built (config read, plugins enabled).

    ``target`` is ``module:attr`` as ``pyframe run`` takes it (a PyFrameApp or a factory), or
    None for an app without routes that reads the config file; ``config`` is a config file
    path (default: ``pyframe.toml`` or ``[tool.pyframe]`` in the working directory). Then
    ``app.config`` is the merged core config and ``app.plugins.config(id)`` a plugin's. An
    error (a target that does not import, a bad config) raises an exception that the
    ``pyframe`` command prints as one line, exiting with 2.
    """
    from ..app import PyFrameApp
    from ..serve.target import resolve_target

    app = resolve_target(target, config=config) if target else PyFrameApp(config=config)
    app.build()
    return app
