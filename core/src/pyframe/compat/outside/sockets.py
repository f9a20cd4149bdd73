"""Serving outside's ``WebSocket`` routes on the app: one catch-all WebSocket route (the ws
plugin's) that claims an upgrade only where outside's prefix table has a ``WebSocket``, and
runs its ``on_connection`` handler in the app's thread pool."""

from __future__ import annotations

import asyncio
import importlib.metadata
from typing import TYPE_CHECKING, Any

from pyframe import WEBSOCKET, PluginError
from pyframe.plugin import get_logger, install_hint, run_sync

from .read_ahead import ReadAhead
from .request import request_from_context
from .routing import PrefixRoutes
from .websocket import INTERNAL_ERROR, WebSocket, WebSocketConnection, run_handler

if TYPE_CHECKING:
    from pyframe import PyFrameApp

__all__ = ["WebSocketRoutes", "ws_installed", "WS_PLUGIN"]

log = get_logger("pyframe", compat="outside")
WS_PLUGIN = "ws"
# The same two patterns as the HTTP catch-all: between them they take every path.
PATTERNS = ("/", "/<path:outside_path>")


def ws_installed() -> bool:
    """Whether a distribution registers the ws plugin (the core finds plugins the same way,
    by their entry point in ``pyframe.plugins``)."""
    return bool(importlib.metadata.entry_points(group="pyframe.plugins", name=WS_PLUGIN))


class WebSocketRoutes:
    """The WebSocket side of one ``OutsideHTTP``.

    Nothing is added to the app until the first ``WebSocket`` route is set, so an outside
    app without one has no WebSocket route and no ws plugin. ``timeout`` is the longest wait
    of one ``recv``/``send`` (outside's ``process_timeout``; None: none).
    """

    def __init__(self, app: PyFrameApp, table: PrefixRoutes) -> None:
        self.app = app
        self.table = table
        self.timeout: float | None = 60.0
        self.wanted = False  # a WebSocket route was set
        self.added = False   # and the app has the catch-all WebSocket route for it
        # on_exit calls started when a connection closed under its handler; kept so the loop
        # does not lose them (it holds tasks weakly).
        self._exits: set[asyncio.Future[Any]] = set()

    def serve(self) -> None:
        """Make sure the app serves WebSocket routes; call on every ``set_route`` of one.

        Before the app is built this enables the ws plugin and adds the route, so the app
        serves it however it is run (``run()``, ``pyframe run file.py:server.app``). While
        serving, the app must have started with the plugin (a ``WebSocket`` route set before,
        or ``app.plugins.enable("ws")``); otherwise the core's PluginError says so and nothing
        changes. Between two runs, ``run()`` does it (:meth:`prepare`).
        """
        if self.added:
            return
        if not ws_installed():
            raise ImportError(f"outside's WebSocket routes are served by pyframe's ws plugin, "
                              f"which is not installed: {install_hint(WS_PLUGIN)}",
                              name="pyframe_ws")
        if self.app.started:
            self._add()
            return
        self.wanted = True
        if self.app.dispatcher is None:  # not built yet: its plugins are still open
            self.prepare()

    def prepare(self) -> None:
        """From ``run()``, once the app is reset for its next start: enable the ws plugin and
        add the route if a ``WebSocket`` route was set."""
        if self.wanted and not self.added:
            self.app.plugins.enable(WS_PLUGIN)
            self._add()

    def started(self) -> None:
        """From ``run()`` once serving: a ``WebSocket`` route set while the app was starting
        (after :meth:`prepare`) is added now."""
        if self.wanted and not self.added:
            try:
                self._add()
            except PluginError as exc:
                log.error("outside_websocket_route_unserved", detail=str(exc))

    def _add(self) -> None:
        # Safe from any thread while serving: both patterns are in the router already (the
        # HTTP catch-all), so each add is one write into an existing table.
        for path in PATTERNS:
            self.app.add_route(path, self.connect, [WEBSOCKET], name="outside_websocket",
                               claims=self.claims)
        self.added = True

    def claims(self, raw_path: str) -> bool:
        """Take the upgrade when the longest route of ``raw_path`` is a ``WebSocket``; any
        other path (an HTTP handler's prefix, no route) is answered as HTTP."""
        return isinstance(self.table.match(raw_path), WebSocket)

    async def connect(self, websocket: Any) -> None:
        """The ws plugin's handler: ``websocket`` is its connection, past the handshake."""
        context = websocket.context
        target = self.table.match(context.raw_path)
        handler = target.connection_handler if isinstance(target, WebSocket) else None
        if handler is None:
            # No on_connection handler (outside's process died on it), or the route was
            # removed between the claim and the handshake.
            log.warning("outside_websocket_without_handler", path=context.raw_path[:200])
            await websocket.close(INTERNAL_ERROR, "no WebSocket handler here")
            return
        socket = ReadAhead(websocket)
        connection = WebSocketConnection(request_from_context(context), socket,
                                         timeout=self.timeout)
        connection.on_exit = target.exit_handler
        websocket.add_close_callback(lambda _: self._closed(connection))
        try:
            # One thread of the app's pool for as long as the handler runs: as in outside,
            # where max_workers counted WebSocket connections too.
            await run_sync(self.app, run_handler, handler, connection)
        finally:
            await socket.stop()

    def _closed(self, connection: WebSocketConnection) -> None:
        # The connection went down (the client left, the server drains, a deadline): on_exit
        # runs now, not when the handler next calls recv() or send().
        if connection.closed:
            return
        future = asyncio.ensure_future(run_sync(self.app, connection.exit))
        self._exits.add(future)
        future.add_done_callback(self._exit_done)

    def _exit_done(self, future: asyncio.Future[Any]) -> None:
        self._exits.discard(future)
        if not future.cancelled() and future.exception() is not None:
            log.error("outside_on_exit_failed", exc_info=future.exception())
