"""Counters shared by the connections of one manager: messages in, out, dropped, closes."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

__all__ = ["CLOSE_REASONS", "WebSocketCounters"]

# Every reason a connection can end with; each closed connection counts exactly one.
CLOSE_REASONS = (
    "client",             # the client sent a close frame with a valid code
    "server",             # the application closed it
    "shutdown",           # the server is draining (1001)
    "protocol_error",     # 1002: a frame RFC 6455 forbids, or an invalid close code
    "invalid_data",       # 1007: text that is not UTF-8
    "message_too_big",    # 1009: over max_message_size
    "slow_consumer",      # 1008: the outgoing queue was full
    "send_timeout",       # 1008: a write stayed blocked for send_timeout
    "heartbeat_timeout",  # no pong: the peer is gone (1006, nothing could be sent)
    "connection_lost",    # the TCP connection ended without a closing handshake (1006)
    "internal_error",     # 1011: the handler or the sender failed
)


@dataclass
class WebSocketCounters:
    """Plain integers: every connection of one event loop updates them, without locks."""

    opened: int = 0
    messages_in: int = 0
    messages_out: int = 0
    # Messages accepted for sending that never reached the wire: left in the queue of a
    # connection that closed, or given to a connection that was already closed.
    dropped: int = 0
    closes: Counter[str] = field(default_factory=Counter)

    @property
    def open(self) -> int:
        return self.opened - sum(self.closes.values())

    def snapshot(self) -> dict[str, object]:
        return {"open": self.open, "opened": self.opened, "messages_in": self.messages_in,
                "messages_out": self.messages_out, "dropped": self.dropped,
                "closes": dict(self.closes)}
