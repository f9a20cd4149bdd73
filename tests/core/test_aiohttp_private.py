"""Every private aiohttp name pyframe relies on, in one place.

All of them are used in pyframe.http and nowhere else (the boundary test keeps aiohttp's
internals there). An aiohttp upgrade that renames or removes one fails here, by name, before it
fails somewhere obscure.
"""

from __future__ import annotations

import inspect

import aiohttp
import pytest
from aiohttp import web
from aiohttp.web_protocol import RequestHandler

# (name, where pyframe uses it, why)
REQUEST_HANDLER_ATTRIBUTES = [
    ("_request_count", "http/connection.py", "tells a parsed head from a partial one"),
    ("_messages", "http/connection.py", "no head timeout while requests are queued"),
    ("_force_close", "http/connection.py", "stop serving a connection (head timeout, drain)"),
    ("_waiter", "http/connection.py", "wake the handler loop so a forced close takes effect"),
    ("_request_in_progress", "http/connection.py", "count requests in flight when draining"),
    ("_lingering_time", "http/connection.py", "close at once after a stalled body's 408"),
    ("_loop", "http/connection.py", "timers for the head deadline"),
]
REQUEST_HANDLER_METHODS = [
    # (name, parameters pyframe's override passes on)
    ("finish_response", ["self", "request", "resp", "start_time"]),
    ("handle_error", ["self", "request", "status", "exc", "message"]),
    ("shutdown", ["self", "timeout"]),
    ("data_received", ["self", "data"]),
    ("connection_made", ["self", "transport"]),
    ("connection_lost", ["self", "exc"]),
]


@pytest.mark.parametrize("name, where, why", REQUEST_HANDLER_ATTRIBUTES)
def test_request_handler_attribute(name, where, why):
    # RequestHandler and its base declare __slots__, so each name is a class attribute.
    assert hasattr(RequestHandler, name), (
        f"aiohttp {aiohttp.__version__}: RequestHandler.{name} is gone; {where} uses it to {why}")


@pytest.mark.parametrize("name, parameters", REQUEST_HANDLER_METHODS)
def test_request_handler_method(name, parameters):
    method = getattr(RequestHandler, name)
    assert list(inspect.signature(method).parameters) == parameters, (
        f"aiohttp {aiohttp.__version__}: RequestHandler.{name} changed its signature; "
        "pyframe.http.connection overrides it")


async def test_server_attributes():
    async def handler(request):
        return web.Response()

    server = web.Server(handler)
    for name, why in [("_connections", "the connection cap counts open connections"),
                      ("_kwargs", "each connection is made with the server's options"),
                      ("_loop", "each connection is made on the server's loop")]:
        assert hasattr(server, name), f"aiohttp {aiohttp.__version__}: web.Server.{name} is " \
                                      f"gone; pyframe.http.connection uses it: {why}"
    await server.shutdown(0)


def test_app_runner_server_factory():
    # pyframe.http.runner serves gunicorn's aiohttp worker by overriding these two.
    for name in ("_make_server", "_cleanup_server"):
        assert inspect.iscoroutinefunction(getattr(web.AppRunner, name)), name


def test_header_serializer_and_date():
    from aiohttp.helpers import rfc822_formatted_time
    from aiohttp.http_writer import _serialize_headers
    from multidict import CIMultiDict

    # pyframe.http.direct writes small responses itself with aiohttp's own (injection-safe)
    # header serializer and its once-a-second Date.
    head = _serialize_headers("HTTP/1.1 200 OK", CIMultiDict({"X-A": "1"}))
    assert head == b"HTTP/1.1 200 OK\r\nX-A: 1\r\n\r\n"
    with pytest.raises(ValueError):
        _serialize_headers("HTTP/1.1 200 OK", CIMultiDict({"X-A": "1\r\nX-B: 2"}))
    assert rfc822_formatted_time().endswith(" GMT")
