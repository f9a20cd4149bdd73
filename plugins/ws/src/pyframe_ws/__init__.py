"""WebSockets for pyframe, with a manager whose broadcasts reach every worker and machine."""

from .config import WsConfig
from .connection import WebSocket
from .counters import CLOSE_REASONS, WebSocketCounters
from .errors import MessageTypeError, WebSocketDisconnect
from .manager import WebSocketManager
from .options import ConnectionOptions, response_options
from .outgoing import Outgoing, encode_bytes, encode_json, encode_text
from .plugin import WsPlugin

__all__ = [
    "CLOSE_REASONS",
    "ConnectionOptions",
    "MessageTypeError",
    "Outgoing",
    "WebSocket",
    "WebSocketCounters",
    "WebSocketDisconnect",
    "WebSocketManager",
    "WsConfig",
    "WsPlugin",
    "encode_bytes",
    "encode_json",
    "encode_text",
    "response_options",
]
