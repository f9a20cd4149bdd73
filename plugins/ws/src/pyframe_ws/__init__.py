"""WebSockets for pyframe, with a manager whose broadcasts reach every worker."""

from .connection import WebSocket
from .counters import CLOSE_REASONS, WebSocketCounters
from .errors import MessageTypeError, WebSocketDisconnect
from .options import ConnectionOptions, response_options
from .outgoing import Outgoing, encode_bytes, encode_json, encode_text

__all__ = [
    "CLOSE_REASONS",
    "ConnectionOptions",
    "MessageTypeError",
    "Outgoing",
    "WebSocket",
    "WebSocketCounters",
    "WebSocketDisconnect",
    "encode_bytes",
    "encode_json",
    "encode_text",
    "response_options",
]
