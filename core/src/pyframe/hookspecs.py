"""The hook specifications: the whole surface a plugin can implement.

Hooks run while the app is built, started and stopped, never per request. A plugin that wants
to act on requests contributes middleware (``pyframe_add_middleware``) or routes.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable, Mapping
from typing import TYPE_CHECKING, Any

import pluggy

if TYPE_CHECKING:
    import argparse

    import msgspec

    from .app import PyFrameApp
    from .routing import Route

hookspec = pluggy.HookspecMarker("pyframe")
hookimpl = pluggy.HookimplMarker("pyframe")

# Hooks the core calls once per plugin, with that plugin's own arguments, instead of once for
# all of them.
PER_PLUGIN_HOOKS = ("pyframe_get_config_schema", "pyframe_configure_plugin")


@hookspec(firstresult=True)
def pyframe_get_config_schema() -> type[msgspec.Struct] | None:
    """Return the msgspec Struct that validates this plugin's ``[plugins.<id>]`` section.

    When: while the app is built, before ``pyframe_configure_plugin``; also by
    ``pyframe config schema``. Called once per plugin (not broadcast).
    Returns: a Struct class (frozen, ``kw_only``, ``forbid_unknown_fields`` is the convention),
    or None for a plugin without settings. Must not return an awaitable.
    """


@hookspec
def pyframe_configure_plugin(app: PyFrameApp, config: Any) -> None:
    """Receive the app and this plugin's validated config (an instance of its schema, or None).

    When: while the app is built, once per plugin, after every plugin's config validated.
    Keep what you need on the plugin object; do no I/O here (use ``pyframe_start_app``).
    Returns nothing.
    """


@hookspec
def pyframe_start_app(app: PyFrameApp) -> Awaitable[None] | None:
    """Start the plugin's resources (connection pools, background tasks).

    When: once, when the app starts, after it is built and before it serves a request.
    Returns: None, or an awaitable the core awaits (an ``async def`` implementation works).
    Implementations run in the order plugins were enabled.
    """


@hookspec
def pyframe_stop_app(app: PyFrameApp) -> Awaitable[None] | None:
    """Release what ``pyframe_start_app`` acquired.

    When: once, when the app stops, after the last request finished or the grace period ran out.
    Returns: None, or an awaitable the core awaits. Runs in the reverse order of start-up.
    """


@hookspec
def pyframe_add_routes(app: PyFrameApp) -> Iterable[Route] | None:
    """Contribute routes: HTTP routes, and WebSocket routes (``Route(..., [WEBSOCKET], ...)``).

    When: while the app is built. The routes are listed by ``pyframe routes`` with this
    plugin's id. Returns: an iterable of ``pyframe.routing.Route``, or None.
    """


@hookspec(firstresult=True)
def pyframe_make_websocket_handler(
    app: PyFrameApp,
) -> Callable[[Any, Route], Awaitable[Any]] | None:
    """Provide the code that upgrades a request and runs a WebSocket route's handler.

    When: while the app is built, only if it has WebSocket routes. firstresult: the first
    plugin to answer serves every WebSocket route. Returns: ``async fn(context, route)``
    returning the finished ``aiohttp.web.WebSocketResponse``, or None.
    """


@hookspec
def pyframe_add_middleware(app: PyFrameApp) -> Iterable[Any] | None:
    """Contribute middleware: ``async def mw(context, call_next)`` callables.

    When: while the app is built. Each middleware's ``order`` attribute (an int, see
    ``pyframe.MiddlewareOrder``) places it in the chain, smallest outermost; without one it
    sits with the app's own middleware. Returns: an iterable of middleware, or None.
    """


@hookspec
def pyframe_add_body_decoders(app: PyFrameApp) -> Mapping[str, Callable[[bytes, str], Any]] | None:
    """Teach the core to decode request bodies of new media types for ``context.data``.

    When: while the app is built. Returns: ``{media_type: decode(body, content_type_header)}``.
    A decoder raises ``pyframe.BadRequest`` for a malformed body. Later plugins override.
    """


@hookspec
def pyframe_add_response_encoders(app: PyFrameApp) -> Mapping[type, Callable[[Any], Any]] | None:
    """Teach the core to send handler return values of new types.

    When: while the app is built. Returns: ``{type: encode(value)}``; ``encode`` returns
    anything a handler may return (a Response, a response dict, str, bytes, JSON data).
    Subclasses match their nearest registered base.
    """


@hookspec
def pyframe_add_stream_encoders(app: PyFrameApp) -> Mapping[str, Callable[[Any], bytes]] | None:
    """Encode the items of a streamed body for a media type (``text/event-stream``).

    When: while the app is built. Returns: ``{media_type: encode(item) -> bytes}``, used for
    items that are not already bytes or str.
    """


@hookspec
def pyframe_add_exception_handlers(
    app: PyFrameApp,
) -> Mapping[type[BaseException], Callable[[Any, BaseException], Any]] | None:
    """Map exception types to responses.

    When: while the app is built. Returns: ``{ExceptionType: handler(context, exc)}``; the
    handler may be async and returns anything a route handler may return. The nearest
    base class wins; unhandled exceptions become a 500.
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
