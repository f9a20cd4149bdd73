"""The hook specifications: the whole surface a plugin can implement.

Hooks run while the app is built, started and stopped, never per request (the one exception,
``pyframe_load_user``, is called by the auth plugin for requests that carry a credential). A
plugin that wants to act on requests contributes middleware (``pyframe_add_middleware``) or
routes; one that only watches them contributes observers (``pyframe_add_request_observers``),
callables the core calls after each response is written.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable, Mapping
from typing import TYPE_CHECKING, Any

import pluggy

if TYPE_CHECKING:
    import argparse

    import msgspec

    from ..app import PyFrameApp
    from ..request.context import RequestContext
    from ..request.finished import FinishedRequest
    from ..request.routing import Route
    from .observe import MetricSample

__all__ = ["hookspec", "hookimpl", "PER_PLUGIN_HOOKS", "ASYNC_HOOKS", "reference_markdown",
           "pyframe_get_config_schema",
           "pyframe_configure_plugin",
           "pyframe_start_app",
           "pyframe_stop_app",
           "pyframe_add_routes",
           "pyframe_make_websocket_handler",
           "pyframe_add_middleware",
           "pyframe_add_request_observers",
           "pyframe_add_body_decoders",
           "pyframe_add_response_encoders",
           "pyframe_add_stream_encoders",
           "pyframe_add_exception_handlers",
           "pyframe_load_user",
           "pyframe_add_metric_sources",
           "pyframe_add_commands",
]

hookspec = pluggy.HookspecMarker("pyframe")
hookimpl = pluggy.HookimplMarker("pyframe")

# Hooks the core calls once per plugin (pluggy's subset_hook_caller, in pluggy's order), so each
# answer is the plugin's own: its schema, its config, its routes, its start-up and shutdown.
PER_PLUGIN_HOOKS = ("pyframe_get_config_schema", "pyframe_configure_plugin", "pyframe_add_routes",
                    "pyframe_add_request_observers", "pyframe_start_app", "pyframe_stop_app")
# Hooks whose implementations may return an awaitable (or be ``async def``) for the core to
# await. None of them is firstresult: pluggy would stop at the first coroutine.
ASYNC_HOOKS = ("pyframe_start_app", "pyframe_stop_app", "pyframe_load_user")


@hookspec(firstresult=True)
def pyframe_get_config_schema() -> type[msgspec.Struct] | None:
    """Return the msgspec Struct that validates this plugin's ``[plugins.<id>]`` section.

    When: while the app is built, before ``pyframe_configure_plugin``; also by
    ``pyframe config schema``. Called once per plugin (not broadcast).
    Returns: a Struct class (frozen, ``kw_only``, ``forbid_unknown_fields`` is the convention),
    or None for a plugin without settings. Must not return an awaitable.
    """


@hookspec
def pyframe_configure_plugin(app: PyFrameApp, config: Any, source: str) -> None:
    """Receive the app and this plugin's validated config (an instance of its schema, or None).

    When: while the app is built, once per plugin, after every plugin's config validated.
    ``source`` says where the settings came from, for your own error messages: the config file
    (``pyframe.toml``), ``app.plugins.enable('<id>')``, or what needed the plugin. Keep what you
    need on the plugin object; do no I/O here (use ``pyframe_start_app``). A setting that is
    wrong in a way the schema cannot say raises ``pyframe.ConfigError`` naming ``source`` and
    the key. Returns nothing.
    """


@hookspec
def pyframe_start_app(app: PyFrameApp) -> Awaitable[None] | None:
    """Start the plugin's resources (connection pools, background tasks).

    When: once, when the app starts, after it is built and before it serves a request.
    Called once per plugin, one plugin at a time in pluggy's order (``tryfirst`` first, else the
    last enabled first). Returns: None, or an awaitable the core awaits (an ``async def``
    implementation works). If one plugin's start fails, the plugins already started are stopped
    and the app does not start.
    """


@hookspec
def pyframe_stop_app(app: PyFrameApp) -> Awaitable[None] | None:
    """Release what ``pyframe_start_app`` acquired.

    When: once, when the app stops, after the last request finished or the grace period ran out.
    Called once per plugin, in the reverse order of start-up. Returns: None, or an awaitable the
    core awaits. A failure is logged and the other plugins still stop.
    """


@hookspec
def pyframe_add_routes(app: PyFrameApp) -> Iterable[Route] | None:
    """Contribute routes: HTTP routes, and WebSocket routes (``Route(..., [WEBSOCKET], ...)``).

    When: while the app is built; called once per plugin, so each route is attributed to the
    plugin that returned it (``route.plugin``, shown by ``pyframe routes``). Returns: an
    iterable of ``pyframe.plugin.Route``, or None. A route that clashes with one already
    there stops start-up with a message naming both sides.
    """


@hookspec(firstresult=True)
def pyframe_make_websocket_handler(
    app: PyFrameApp,
) -> Callable[[Any, Route], Awaitable[Any]] | None:
    """Provide the code that upgrades a request and runs a WebSocket route's handler.

    When: while the app is built, only if it has WebSocket routes, or when the first
    WebSocket route is added to an app already built (``app.websocket(...)`` while serving).
    firstresult: the first plugin to answer serves every WebSocket route. Returns:
    ``async fn(context, route)`` returning a ``pyframe.plugin.UpgradedResponse`` around the
    finished ``aiohttp.web.WebSocketResponse`` (``pyframe.plugin.accept_websocket`` makes the
    handshake with the strict frame reader), or None.
    """


@hookspec
def pyframe_add_middleware(app: PyFrameApp) -> Iterable[Any] | None:
    """Contribute middleware: ``async def mw(context, call_next)`` callables.

    When: while the app is built; broadcast. Each middleware's ``order`` attribute (an int,
    see ``pyframe.plugin.MiddlewareOrder``) places it in the chain, smallest outermost; without
    one it sits with the app's own middleware. Returns: an iterable of middleware, or None. A
    ``wrapper=True`` implementation receives the list of every other answer and returns it
    (changed or not).
    """


@hookspec
def pyframe_add_request_observers(
    app: PyFrameApp,
) -> Iterable[Callable[[FinishedRequest], Any]] | None:
    """Watch every finished request without being a layer of the middleware chain.

    When: while the app is built; called once per plugin. Returns: an iterable of callables
    ``observe(finished)``, or None. The core calls each observer once per request, after the
    response was written (or the client went away while it was), with a
    ``pyframe.plugin.FinishedRequest``: ``status``, ``bytes`` written and ``duration`` in
    seconds, and, read on demand, ``method``, ``route`` (the matched pattern; None when no route
    matched, a 404 or 405), ``path``, ``request_id``, ``remote`` and the ``context``. A request
    whose client left before its answer could be written is observed with ``bytes`` 0;
    requests aiohttp answers itself (one it could not parse) and handlers cancelled by the
    server are not observed. Observers run on the event loop, one after another, for every
    request: keep them short and never block; they must not be ``async`` (nothing awaits
    them: that is a start-up error). One that raises is logged and the others still run.
    ``pyframe.plugin.requests_in_flight(app)`` counts the requests being handled now. An app
    without observers (and without its access log) pays nothing for this hook.
    """


@hookspec
def pyframe_add_body_decoders(app: PyFrameApp) -> Mapping[str, Callable[[bytes, str], Any]] | None:
    """Teach the core to decode request bodies of new media types for ``context.data``.

    When: while the app is built; broadcast. Returns: ``{media_type: decode(body,
    content_type_header)}``. A decoder raises ``pyframe.BadRequest`` for a malformed body.
    Where two plugins decode one media type, the first in pluggy's order wins (``tryfirst``).
    """


@hookspec
def pyframe_add_response_encoders(app: PyFrameApp) -> Mapping[type, Callable[[Any], Any]] | None:
    """Teach the core to send handler return values of new types.

    When: while the app is built; broadcast. Returns: ``{type: encode(value)}``; ``encode``
    returns anything a handler may return (a Response, a response dict, str, bytes, JSON data).
    Subclasses match their nearest registered base; for one type, the first in pluggy's order
    wins.
    """


@hookspec
def pyframe_add_stream_encoders(app: PyFrameApp) -> Mapping[str, Callable[[Any], bytes]] | None:
    """Encode the items of a streamed body for a media type (``text/event-stream``).

    When: while the app is built; broadcast. Returns: ``{media_type: encode(item) -> bytes}``,
    used for items that are not already bytes or str; for one media type, the first in
    pluggy's order wins.
    """


@hookspec
def pyframe_add_exception_handlers(
    app: PyFrameApp,
) -> Mapping[type[BaseException], Callable[[Any, BaseException], Any]] | None:
    """Map exception types to responses.

    When: while the app is built; broadcast. Returns: ``{ExceptionType: handler(context,
    exc)}``; the handler may be async and returns anything a route handler may return. The
    nearest base class wins; the app's own ``add_exception_handler`` wins over a plugin's;
    unhandled exceptions become a 500.
    """


@hookspec
def pyframe_load_user(app: PyFrameApp, context: RequestContext, identity: Any) -> Any:
    """Load the user an authenticated request acts for.

    When: per request, by the auth plugin, only for requests that carry a valid credential and
    only if some plugin implements this hook. ``identity`` is what the credential proved: a
    verified token's claims (a dict, ``identity["sub"]`` the subject) or a session's user id.
    Returns: the user object (``context.user``), None to pass, or an awaitable of either (an
    ``async def`` implementation works); the first non-None answer in pluggy's order wins. A
    user that no longer exists: return None and the request is treated as anonymous.
    """


@hookspec
def pyframe_add_metric_sources(app: PyFrameApp) -> Iterable[Callable[[], Iterable[MetricSample]]] | None:
    """Contribute measurements for the metrics plugin (and anything else that reports them).

    When: while the app is started, by the metrics plugin when it is on; broadcast. Returns:
    callables the reporter calls when it reports (a Prometheus scrape), each giving
    ``pyframe.plugin.MetricSample`` values: open connections, messages dropped, a backend's
    health. Keep them cheap: they run on each scrape, never per request.
    """


@hookspec
def pyframe_add_commands(subparsers: argparse._SubParsersAction) -> None:
    """Add subcommands to the ``pyframe`` command line.

    When: each time the CLI starts, for every installed plugin not blocked (commands are
    available before any config enables the plugin). Add a parser with
    ``subparsers.add_parser(name)`` and ``set_defaults(func=run)``, where ``run(args)``
    returns the exit code. Returns nothing.
    """


def reference_markdown() -> str:
    """The hook reference as Markdown: what docs/hooks.md carries between its markers."""
    import inspect
    import sys

    module = sys.modules[__name__]
    parts = []
    for name, fn in list(vars(module).items()):
        if not name.startswith("pyframe_") or not inspect.isfunction(fn):
            continue
        opts = getattr(fn, "pyframe_spec", {})
        signature = str(inspect.signature(fn)).replace("'", "")
        kind = ["firstresult"] if opts.get("firstresult") else ["broadcast"]
        if name in PER_PLUGIN_HOOKS:
            kind = ["called once per plugin"]
        doc = inspect.cleandoc(fn.__doc__ or "")
        parts.append(f"### `{name}`\n\n```python\n{name}{signature}\n```\n\n*{', '.join(kind)}*\n\n{doc}\n")
    return "\n".join(parts)
