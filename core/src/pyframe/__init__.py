"""pyframe: an async web framework with a minimal core and every feature a plugin."""

from .app import PyFrameApp
from .errors import (
                     BadRequest,
                     ConfigError,
                     Forbidden,
                     HTTPError,
                     MethodNotAllowed,
                     NotFound,
                     PayloadTooLarge,
                     PluginError,
                     ServiceUnavailable,
                     TooManyRequests,
                     Unauthorized,
                     UnprocessableContent,
                     UnsupportedMediaType,
)
from .plugin.specs import hookimpl
from .request.context import RequestContext
from .request.middleware import MiddlewareOrder, middleware_order
from .request.responses import (
                     FileResponse,
                     HTMLResponse,
                     JSONResponse,
                     PlainTextResponse,
                     RedirectResponse,
                     Response,
                     ResponseCookie,
                     StreamingResponse,
)
from .request.routing import WEBSOCKET, Route
from .request.state import AppKey
from .status import get_description

__version__ = "0.1.0"

__all__ = [
    "PyFrameApp", "RequestContext", "Route", "WEBSOCKET",
    "Response", "JSONResponse", "HTMLResponse", "PlainTextResponse", "RedirectResponse",
    "FileResponse", "StreamingResponse", "ResponseCookie", "get_description",
    "HTTPError", "BadRequest", "Unauthorized", "Forbidden", "NotFound", "MethodNotAllowed",
    "PayloadTooLarge", "UnsupportedMediaType", "UnprocessableContent", "TooManyRequests",
    "ServiceUnavailable", "ConfigError", "PluginError",
    "hookimpl", "MiddlewareOrder", "middleware_order", "AppKey",
]
