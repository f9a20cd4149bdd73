"""WebSocketManager: connections, groups and users, with broadcasts that reach every worker and
machine when ``[plugins.ws] backend`` is shared (the reference's "WebSocket Manager API").

Every send encodes the message once, queues it for each local receiver without waiting, and
publishes it once for the other processes. Counts are this process's exact ones plus the other
processes' from their presence records.
"""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import Callable
from typing import Any

import msgspec

from .connection import WebSocket
from .hub import Hub
from .outgoing import Outgoing, encode_bytes, encode_json, encode_text
from .registry import check_namespace, running, runtime_of
from .relay import ALL, Target
from .users import check_key, user_id_of

__all__ = ["WebSocketManager"]

_unnamed = itertools.count(1)


class WebSocketManager:
    """``ws_manager = WebSocketManager()`` at module level, as in the reference.

    ``namespace`` keeps several managers of one app apart (their groups, users and counts),
    and must be the same for one manager in every process; unnamed managers are called
    ``default``, ``default-2``, ... in the order they are made, which is the same in every
    worker running the same code. Messages: ``str`` goes as a text frame, ``bytes`` as a
    binary one, anything else as JSON text (``json_encode``, msgspec's by default).
    """

    def __init__(self, namespace: str | None = None, *,
                 json_encode: Callable[[Any], bytes] = msgspec.json.encode) -> None:
        if namespace is None:
            number = next(_unnamed)
            namespace = "default" if number == 1 else f"default-{number}"
        self.namespace = check_namespace(namespace)
        self._encode = json_encode
        self._hub: Hub | None = None

    def __repr__(self) -> str:
        hub = self._hub  # never binds: a repr has no side effects
        local = len(hub.members) if hub is not None and not hub.closed else 0
        return f"<WebSocketManager {self.namespace!r} local_connections={local}>"

    # -- the reference's API -----------------------------------------------------------------

    async def connect(self, websocket: WebSocket, user_id: Any = None) -> None:
        """Register a connection. Its user (for :meth:`send_to_user`) is ``user_id`` when given,
        else the id of ``websocket.user`` (the auth plugin's ``context.user``). When the
        connection closes it is disconnected by itself."""
        hub = self._hub_of(websocket)
        if user_id is None:
            user_id = user_id_of(websocket.context.user if websocket.context is not None
                                 else None)
        user = check_key("user id", user_id) if user_id is not None else None
        for subscription in hub.add(websocket, user):
            await subscription.ready()  # bounded by the backend's timeout; never raises

    async def disconnect(self, websocket: WebSocket) -> None:
        """Remove a connection from the manager and its groups; idempotent."""
        hub = self._hub
        if hub is not None:
            hub.remove(websocket)

    async def broadcast(self, message: Any) -> None:
        """Send ``message`` to every connection of this manager, in every process."""
        await self._send(ALL, message)

    async def send_to_user(self, user_id: Any, message: Any) -> None:
        """Send ``message`` to every connection of one user, in every process."""
        await self._send(("user", check_key("user id", user_id)), message)

    async def join_group(self, websocket: WebSocket, group_name: str) -> None:
        """Add a connection to a group (connecting it first if needed)."""
        group = check_key("group name", group_name)
        hub = self._hub_of(websocket)
        if websocket not in hub.members:
            await self.connect(websocket)
            if websocket not in hub.members:
                return  # it closed meanwhile
        subscription = hub.join(websocket, group)
        if subscription is not None:
            await subscription.ready()

    async def leave_group(self, websocket: WebSocket, group_name: str) -> None:
        """Remove a connection from a group; idempotent."""
        group = check_key("group name", group_name)
        if self._hub is not None:
            self._hub.leave(websocket, group)

    async def broadcast_to_group(self, group_name: str, message: Any) -> None:
        """Send ``message`` to every connection in a group, in every process."""
        await self._send(("group", check_key("group name", group_name)), message)

    def get_connection_count(self) -> int:
        """Open connections of this manager, over every process (this process's exactly, the
        others' as of their last presence record)."""
        hub = self._current()
        return hub.connection_count() if hub is not None else 0

    def get_group_size(self, group_name: str) -> int:
        """Connections in a group, over every process."""
        hub = self._current()
        return hub.group_size(check_key("group name", group_name)) if hub is not None else 0

    # -- beyond the reference ----------------------------------------------------------------

    def local_connections(self) -> list[WebSocket]:
        """This process's connections (the others are not reachable as objects)."""
        hub = self._current()
        return list(hub.members) if hub is not None else []

    def encode(self, message: Any) -> Outgoing:
        """What :meth:`broadcast` puts in every queue: ``message`` encoded once."""
        if isinstance(message, str):
            return encode_text(message)
        if isinstance(message, (bytes, bytearray, memoryview)):
            return encode_bytes(message)
        return encode_json(message, self._encode)

    # -- binding to an app -------------------------------------------------------------------

    async def _send(self, target: Target, message: Any) -> None:
        item = self.encode(message)
        hub = self._current()
        if hub is None:
            return  # no app with the ws plugin is running: nobody to send to
        hub.deliver(target, item)
        if hub.relay is not None:
            await hub.relay.publish(target, item)

    def _current(self) -> Hub | None:
        hub = self._hub
        if hub is not None and not hub.closed:
            return hub
        if len(running) != 1:
            return None
        try:
            asyncio.get_running_loop()
        except RuntimeError:
            return None  # a sync handler's thread: binding starts tasks, which needs the loop
        return self._bind(running[0])

    def _hub_of(self, websocket: WebSocket) -> Hub:
        if not isinstance(websocket, WebSocket):
            raise TypeError(f"expected the websocket a @app.websocket handler received, got "
                            f"{type(websocket).__name__}")
        runtime = runtime_of(websocket.context.app if websocket.context is not None else None)
        if runtime is None:
            raise RuntimeError("this WebSocket does not belong to an app the ws plugin serves")
        hub = self._hub
        if hub is None or hub.closed:
            return self._bind(runtime)
        if hub.runtime is not runtime:
            raise RuntimeError(f"WebSocketManager {self.namespace!r} serves another running app;"
                               " make one manager per app")
        return hub

    def _bind(self, runtime: Any) -> Hub:
        self._hub = hub = runtime.hub_for(self)
        return hub
