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
    ("_close", "http/connection.py", "no more reading once aiohttp closes a connection"),
    ("_paused", "http/sending.py", "whether the transport still holds the client's bytes"),
]
REQUEST_HANDLER_METHODS = [
    # (name, parameters pyframe's override passes on)
    ("finish_response", ["self", "request", "resp", "start_time"]),
    ("handle_error", ["self", "request", "status", "exc", "message"]),
    ("shutdown", ["self", "timeout"]),
    ("data_received", ["self", "data"]),
    ("connection_made", ["self", "transport"]),
    ("connection_lost", ["self", "exc"]),
    ("pause_writing", ["self"]),
    ("resume_writing", ["self"]),
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


def test_request_handler_knows_an_upgraded_connection():
    # http/connection.py: an upgraded connection's bytes are not heads. 3.14 keeps the flag
    # as _upgraded (BaseProtocol), 3.13 as _upgrade.
    assert hasattr(RequestHandler, "_upgraded") or hasattr(RequestHandler, "_upgrade"), (
        f"aiohttp {aiohttp.__version__}: RequestHandler has neither _upgraded nor _upgrade")


def test_parse_errors_queue_an_error_message():
    from aiohttp.web_protocol import _ErrInfo

    # pyframe.http.connection reads aiohttp's queued parse error (status, exc) and queues its
    # own refusals the same way, each paired with the shared empty payload.
    info = _ErrInfo(status=400, exc=ValueError("x"), message="")
    assert (info.status, type(info.exc), info.message) == (400, ValueError, "")
    from aiohttp.streams import EMPTY_PAYLOAD
    assert EMPTY_PAYLOAD.is_eof() and EMPTY_PAYLOAD.exception() is None


def test_request_keeps_its_parsed_message_and_protocol():
    from aiohttp.test_utils import make_mocked_request

    # finish_response tells the head of an upgrade it did not make by the request's message;
    # the direct writer asks the request's protocol whether the transport is full.
    request = make_mocked_request("GET", "/")
    assert request._message.path == "/", (
        f"aiohttp {aiohttp.__version__}: BaseRequest._message is gone; "
        "pyframe.http.connection reads it")
    assert request._protocol is request.protocol, (
        f"aiohttp {aiohttp.__version__}: BaseRequest._protocol is gone; "
        "pyframe.http.direct reads it")


def test_the_c_parser_is_the_one_the_handler_uses():
    from aiohttp import web_protocol

    # pyframe.http.framing.require_c_parser looks at the parser class RequestHandler builds.
    assert web_protocol.HttpRequestParser.__module__ in ("aiohttp._http_parser",
                                                        "aiohttp.http_parser")


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


# The strict WebSocket reader (http/websocket.py, and PyFrameRequestHandler.set_parser).
def test_websocket_reader_is_installed_through_set_parser():
    # pyframe.http.connection overrides set_parser to put MaskGuard in front of the reader.
    # 3.14 takes (parser, data_received_cb), 3.13 (parser): the override passes the rest on.
    assert list(inspect.signature(RequestHandler.set_parser).parameters)[:2] == [
        "self", "parser"], (
        f"aiohttp {aiohttp.__version__}: RequestHandler.set_parser changed its signature")
    # ...which works only while aiohttp's server installs its WebSocket reader that way, after
    # the 101 (feeding it the bytes that came with the handshake).
    assert "set_parser(" in inspect.getsource(web.WebSocketResponse._post_start), (
        f"aiohttp {aiohttp.__version__}: WebSocketResponse no longer installs its reader "
        "with set_parser; unmasked client frames would be accepted again")
    # accept_websocket reads it back to tell whether the guard is in place.
    assert hasattr(RequestHandler, "_payload_parser"), (
        f"aiohttp {aiohttp.__version__}: RequestHandler._payload_parser is gone; "
        "http/websocket.py reads it")


async def test_websocket_reader_fails_a_reserved_opcode_with_1002():
    import asyncio
    import base64
    import os
    import struct

    # MaskGuard passes bytes on with the reader's feed_data(data) -> (eof, tail) and
    # feed_eof(), and fails a connection by feeding it exactly b"\x83\x00" (FIN, the reserved
    # opcode 0x3, no mask, no payload): aiohttp's reader must answer that with 1002.
    async def handler(request):
        ws = web.WebSocketResponse()
        await ws.prepare(request)
        await ws.receive()
        return ws

    server = web.Server(handler)
    listener = await asyncio.get_running_loop().create_server(server, "127.0.0.1", 0)
    port = listener.sockets[0].getsockname()[1]
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        key = base64.b64encode(os.urandom(16)).decode()
        writer.write(f"GET / HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade"
                     f"\r\nSec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n"
                     .encode() + b"\x83\x00")
        await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 10)
        first, size = await asyncio.wait_for(reader.readexactly(2), 10)
        payload = await asyncio.wait_for(reader.readexactly(size & 0x7F), 10)
        assert first & 0x0F == 0x8 and struct.unpack("!H", payload[:2])[0] == 1002, (
            f"aiohttp {aiohttp.__version__}: the WebSocket reader no longer fails a reserved "
            "opcode with 1002; MaskGuard relies on it")
    finally:
        writer.close()
        await writer.wait_closed()
        listener.close()
        await server.shutdown(1.0)
