"""The per-connection limits: message size, outgoing queue, timeouts, heartbeat, compression.

Safe by default: small messages, no compression, dead peers found within 30 seconds.
"""

from __future__ import annotations

from typing import Annotated, Any

import msgspec
from msgspec import Meta

__all__ = ["ConnectionOptions", "response_options", "MessageSize", "QueueBytes",
           "QueueMessages", "Seconds"]

Seconds = Annotated[float, Meta(gt=0, le=3600)]
MessageSize = Annotated[int, Meta(ge=125, le=64 * 1024 * 1024)]
QueueMessages = Annotated[int, Meta(ge=1, le=1_000_000)]
QueueBytes = Annotated[int, Meta(ge=1024, le=1024 * 1024 * 1024)]


class ConnectionOptions(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """Limits of one WebSocket connection (the ``[plugins.ws]`` settings embed these)."""

    # Largest incoming message, in bytes, after reassembly and decompression; a bigger one
    # fails the connection with 1009.
    max_message_size: MessageSize = 64 * 1024
    # Outgoing messages waiting for a slow client. When a message does not fit, the client is
    # that far behind: the connection is closed with 1008 ("slow_consumer"), never awaited.
    send_queue_messages: QueueMessages = 256
    send_queue_bytes: QueueBytes = 1024 * 1024
    # A write the client does not take within this closes the connection with 1008
    # ("send_timeout"); a handler's own send waits at most this long for room in the queue.
    send_timeout: Seconds = 10.0
    # Ping after this many idle seconds; no pong within half of it means a dead peer.
    # None turns heartbeats off (not recommended: a vanished client then holds its slot).
    heartbeat: Seconds | None = 20.0
    # How long the closing handshake may take before the TCP connection is cut.
    close_timeout: Seconds = 5.0
    # permessage-deflate, when the client offers it. Off: it costs memory per connection
    # and CPU per message; when on, inflated messages are still held to max_message_size.
    compress: bool = False


def response_options(options: ConnectionOptions) -> dict[str, Any]:
    """Keyword arguments for ``aiohttp.web.WebSocketResponse`` that the connection relies on.

    ``autoclose`` is off so the connection can check a client's close code and answer it
    itself; aiohttp refuses a message of exactly ``max_msg_size`` bytes, hence the + 1.
    """
    return {
        "max_msg_size": options.max_message_size + 1,
        "compress": options.compress,
        "heartbeat": options.heartbeat,
        "timeout": options.close_timeout,
        "autoclose": False,
        "autoping": True,
    }
