"""The ``outside`` framework's API (version 1.5.5) on pyframe: move an outside app by changing
its import to ``from pyframe.compat.outside import OutsideHTTP, Response, ...``.

docs/migrating-from-outside.md maps every name and says what changes.
"""

from .redirect import OutsideHTTP_Redirect
from .request import Request, get_insensitive_header
from .response import FilePath, Response, ResponseCookie, get_description
from .scheduled import ScheduledResponse
from .server import OutsideHTTP
from .websocket import WebSocket, WebSocketClosed, WebSocketConnection

__all__ = [
    "OutsideHTTP", "OutsideHTTP_Redirect", "WebSocket", "WebSocketConnection",
    "WebSocketClosed", "Request", "Response", "ScheduledResponse", "FilePath",
    "ResponseCookie", "get_insensitive_header", "get_description",
]
