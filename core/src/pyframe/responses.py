"""``from pyframe.responses import JSONResponse, ...``: the API reference's import path for the
response classes, which live in :mod:`pyframe.request.responses`."""

from .request.responses import (
    FileResponse,
    HTMLResponse,
    JSONResponse,
    PlainTextResponse,
    RedirectResponse,
    Response,
    ResponseCookie,
    StreamingResponse,
    add_vary,
    is_response_dict,
    json_encode,
)

__all__ = ["Response", "JSONResponse", "HTMLResponse", "PlainTextResponse", "RedirectResponse",
           "FileResponse", "StreamingResponse", "ResponseCookie", "add_vary",
           "is_response_dict", "json_encode"]
