"""The exceptions a WebSocket handler sees: the peer went away, or a message of the wrong kind."""

from __future__ import annotations

__all__ = ["MessageTypeError", "WebSocketDisconnect"]


class WebSocketDisconnect(Exception):
    """The connection is over; every ``receive_*`` and ``send_*`` after that raises this.

    ``code`` is the close code of the closing handshake (1006 when the connection ended without
    one) and ``reason`` the counted close reason (``"client"``, ``"heartbeat_timeout"``, ...).
    A subclass of Exception, so the reference's ``except Exception`` / ``finally`` path runs.
    """

    def __init__(self, code: int, reason: str, detail: str = "") -> None:
        self.code = code
        self.reason = reason
        self.detail = detail
        super().__init__(f"websocket closed: {code} {reason}" + (f" ({detail})" if detail else ""))


class MessageTypeError(TypeError):
    """``receive_text`` got a binary message or ``receive_bytes`` a text one.

    The connection stays open: the handler decides what a wrong kind of message means.
    """
