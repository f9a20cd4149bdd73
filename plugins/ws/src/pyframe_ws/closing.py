"""Close codes: which a client may send, which an application may send, and what each means."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

from aiohttp import WebSocketError, WSCloseCode

__all__ = ["Ending", "check_close", "check_close_code", "error_reason", "valid_received_code"]

_MAX_CLOSE_MESSAGE = 123  # a control frame holds 125 bytes, two of them the code

# Codes RFC 6455 §7.4.1 and the IANA registry define for use in a close frame. 1004 is
# reserved, and 1005, 1006 and 1015 stand for "no frame" and must never be on the wire.
_DEFINED = frozenset({1000, 1001, 1002, 1003, 1007, 1008, 1009, 1010, 1011, 1012, 1013, 1014})

_REASON_BY_CODE = {
    WSCloseCode.PROTOCOL_ERROR: "protocol_error",
    WSCloseCode.INVALID_TEXT: "invalid_data",
    WSCloseCode.MESSAGE_TOO_BIG: "message_too_big",
}


def valid_received_code(code: int) -> bool:
    """Whether a client's close frame carries a code it may send (0: the frame had none)."""
    return code == 0 or code in _DEFINED or 3000 <= code <= 4999


def check_close_code(code: int) -> int:
    """An application's close code, or ValueError: a code that must not be sent is a bug."""
    if not (code in _DEFINED or 3000 <= code <= 4999) or code == WSCloseCode.MANDATORY_EXTENSION:
        # 1010 is the client's code ("you did not offer the extension I need").
        raise ValueError(f"{code} is not a close code a server may send "
                         "(1000-1003, 1007-1009, 1011-1014, 3000-4999)")
    return code


def check_close(code: int, reason: str) -> None:
    """What an application passes to ``close()``; ValueError for a code or a reason that
    cannot go in a close frame."""
    check_close_code(code)
    if len(reason.encode("utf-8")) > _MAX_CLOSE_MESSAGE:
        raise ValueError(f"a close reason holds at most {_MAX_CLOSE_MESSAGE} bytes of UTF-8")


@dataclass(frozen=True, slots=True)
class Ending:
    """How a connection ends, decided once."""

    code: int             # what the handler is told (the client's own code when it closed)
    reason: str           # the counted reason
    detail: str           # the close frame's text when we send one; for the log otherwise
    reply: int | None     # the code the sender puts in our close frame; None: no handshake
    graceful: bool        # send what is queued first


def error_reason(error: BaseException | None, default: str = "connection_lost") -> str:
    """The counted reason for an error aiohttp ended the connection with."""
    if isinstance(error, asyncio.TimeoutError):
        return "heartbeat_timeout"  # aiohttp's heartbeat: no pong in time
    if isinstance(error, WebSocketError):
        return _REASON_BY_CODE.get(error.code, "protocol_error")
    return default
