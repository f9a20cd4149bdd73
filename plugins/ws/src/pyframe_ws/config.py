"""The ws plugin's settings: the ``[plugins.ws]`` section.

Safe by default: 64 KiB messages, no compression, heartbeats on, browsers only from the app's
own origin, connection caps per client address and per user, the embedded backend.
"""

from __future__ import annotations

import re
from typing import Annotated

from msgspec import Meta

from pyframe.plugin import PluginConfig

from .options import ConnectionOptions, MessageSize, QueueBytes, QueueMessages, Seconds

__all__ = ["WsConfig"]

# scheme "://" host [":" port]: an origin as a browser sends it, nothing after.
_ORIGIN = re.compile(r"^[a-z][a-z0-9+.\-]*://(\[[0-9a-f:.]+\]|[^/?#@\[\]\s:]+)(:\d{1,5})?$")
Cap = Annotated[int, Meta(ge=0, le=10_000_000)]


class WsConfig(PluginConfig):
    """``[plugins.ws]``; plugins/ws/README.md documents every key."""

    # Per connection (pyframe_ws.ConnectionOptions).
    max_message_size: MessageSize = 64 * 1024
    send_queue_messages: QueueMessages = 256
    send_queue_bytes: QueueBytes = 1024 * 1024
    send_timeout: Seconds = 10.0
    # 0 turns heartbeats off (TOML has no null).
    heartbeat: Annotated[float, Meta(ge=0, le=3600)] = 20.0
    close_timeout: Seconds = 5.0
    compress: bool = False
    # Browsers' Origin header: [] allows the app's own origin only, ["*"] any; a handshake
    # without Origin (not from a browser) is always allowed.
    allowed_origins: tuple[str, ...] = ()
    # Open connections per client address and per user (context.user), in each process;
    # 0 means no cap.
    max_connections_per_ip: Cap = 256
    max_connections_per_user: Cap = 32
    # The shared backend: memory:// (one process) or redis://... (every worker and machine).
    backend: str | None = None
    # How often each process writes its presence record, and how long one lasts: a process
    # that stops (a crash) stops counting within presence_ttl.
    presence_interval: Annotated[float, Meta(ge=0.05, le=300)] = 5.0
    presence_ttl: Annotated[float, Meta(ge=0.1, le=3600)] = 15.0

    def __post_init__(self) -> None:
        # A ValueError here becomes a config error naming the file and the section.
        if "*" in self.allowed_origins and len(self.allowed_origins) > 1:
            raise ValueError(f"allowed_origins: '*' means any and must be listed alone, got "
                             f"{list(self.allowed_origins)}")
        for origin in self.allowed_origins:
            if origin != "*" and not _ORIGIN.match(origin.lower()):
                hint = " (drop the trailing '/')" if origin.endswith("/") else ""
                raise ValueError(f"allowed_origins: {origin!r} is not an origin{hint}; an origin"
                                 f" is scheme://host[:port], e.g. 'https://chat.example.com'")
        if self.presence_ttl < 2 * self.presence_interval:
            raise ValueError(f"presence_ttl ({self.presence_ttl:g} s) must be at least twice "
                             f"presence_interval ({self.presence_interval:g} s), or a live "
                             f"process drops out between two refreshes")

    def connection_options(self) -> ConnectionOptions:
        return ConnectionOptions(
            max_message_size=self.max_message_size, send_queue_messages=self.send_queue_messages,
            send_queue_bytes=self.send_queue_bytes, send_timeout=self.send_timeout,
            heartbeat=self.heartbeat or None, close_timeout=self.close_timeout,
            compress=self.compress)
