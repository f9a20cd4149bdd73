"""What the ws plugin keeps for one started app: its settings, backend lease, open connections,
counters, caps, the managers' hubs, and the task that closes every socket when the app drains.
"""

from __future__ import annotations

import asyncio
import os
import secrets
import socket
from collections import Counter
from typing import TYPE_CHECKING, Any

from pyframe.plugin import BackendLease, BusState, draining, get_logger

from .caps import ConnectionCaps
from .config import WsConfig
from .connection import WebSocket
from .counters import WebSocketCounters
from .hub import Hub
from .origins import OriginPolicy
from .presence import Presence
from .registry import running
from .relay import Relay

if TYPE_CHECKING:
    from .manager import WebSocketManager

__all__ = ["WsRuntime"]

log = get_logger("pyframe", plugin="ws")


class WsRuntime:
    """Started by the plugin's ``pyframe_start_app``, stopped by its ``pyframe_stop_app``."""

    def __init__(self, app: Any, config: WsConfig, lease: BackendLease) -> None:
        self.app = app
        self.config = config
        self.lease = lease
        self.options = config.connection_options()
        self.accept_options = {
            # aiohttp refuses a message of exactly max_msg_size bytes: hence the + 1.
            "max_msg_size": config.max_message_size + 1, "compress": config.compress,
            "heartbeat": self.options.heartbeat, "close_timeout": config.close_timeout}
        self.counters = WebSocketCounters()
        self.refused: Counter[str] = Counter()
        self.caps = ConnectionCaps(config.max_connections_per_ip,
                                   config.max_connections_per_user)
        self.origins = OriginPolicy(config.allowed_origins)
        # memory:// is one process's: there is nobody to relay to or count with.
        self.shared = lease.scheme != "memory"
        self.process_id = f"{socket.gethostname()}:{os.getpid()}:{secrets.token_hex(4)}"
        self.origin = secrets.token_bytes(8)
        self.connections: dict[WebSocket, None] = {}
        self.hubs: dict[str, Hub] = {}
        self.draining = draining(app)
        self.warned_not_strict = False
        self._drain_task: asyncio.Task[None] | None = None
        self._closing: set[asyncio.Task[None]] = set()  # kept: the loop holds tasks weakly

    # -- lifecycle ---------------------------------------------------------------------------

    async def start(self) -> None:
        running.append(self)
        self._drain_task = asyncio.get_running_loop().create_task(
            self._close_when_draining(), name="pyframe-ws-drain")
        if self.shared:
            self.lease.broker.add_state_listener(self._bus_state)
        log.info("ws_started", backend=self.lease.url, shared=self.shared)

    async def stop(self) -> None:
        if self in running:
            running.remove(self)
        task, self._drain_task = self._drain_task, None
        if task is not None:
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)
        await self.close_all()
        for hub in list(self.hubs.values()):
            await hub.close()
        if self.shared:
            self.lease.broker.remove_state_listener(self._bus_state)

    async def _close_when_draining(self) -> None:
        await self.draining.wait()
        log.info("ws_draining", connections=len(self.connections))
        await self.close_all()

    async def close_all(self) -> None:
        """Close every open connection with 1001, each after its queued messages; returns
        within send_timeout + close_timeout (the connections' own bound)."""
        if self.connections:
            await asyncio.gather(*(ws.shutdown() for ws in list(self.connections)),
                                 return_exceptions=True)

    def _bus_state(self, state: BusState) -> None:
        # Subscriptions come back by themselves (the backend re-subscribes); what other
        # processes sent in between is gone, which is worth a line.
        if state is BusState.DOWN:
            log.warning("ws_relay_down", backend=self.lease.url,
                        detail="broadcasts reach this process's connections only")
        else:
            log.info("ws_relay_resumed", backend=self.lease.url)

    # -- connections -------------------------------------------------------------------------

    def track(self, ws: WebSocket) -> None:
        self.connections[ws] = None
        ws.add_close_callback(self._untrack)
        if self.draining.is_set():  # accepted just as the drain began
            task = asyncio.get_running_loop().create_task(ws.shutdown())
            self._closing.add(task)
            task.add_done_callback(self._closing.discard)

    def _untrack(self, ws: WebSocket) -> None:
        self.connections.pop(ws, None)

    # -- managers ----------------------------------------------------------------------------

    def hub_for(self, manager: WebSocketManager) -> Hub:
        """A new hub for ``manager`` in this app (its namespace must be free here)."""
        name = manager.namespace
        hub = self.hubs.get(name)
        if hub is not None and not hub.closed:
            raise ValueError(f"two WebSocketManagers named {name!r} in one app: give each "
                             f"its own namespace, WebSocketManager('chat')")
        hub = self.hubs[name] = Hub(name, self)
        if self.shared:
            hub.relay = Relay(self.lease.broker, name, self.origin, hub.deliver)
            hub.presence = Presence(self.lease.store, name, self.process_id,
                                    interval=self.config.presence_interval,
                                    ttl=self.config.presence_ttl, snapshot=hub.record)
            hub.presence.start()
        return hub

    def relay_totals(self) -> dict[str, int]:
        totals: Counter[str] = Counter()
        for hub in self.hubs.values():
            if hub.relay is not None:
                totals.update(published=hub.relay.published, received=hub.relay.received,
                              publish_failed=hub.relay.publish_failed, lagged=hub.relay.lagged)
        return dict(totals)
