"""``Request`` as a handler sees it, over real HTTP: method, headers as sent, cookies, the body
byte for byte (chunked too), version, url, params, the client's address, ``json()``."""

from __future__ import annotations

import json
import shutil
import socket
import subprocess

import aiohttp
import pytest

from pyframe.compat.outside import OutsideHTTP, Request, Response, get_insensitive_header

from .support import DEADLINE, running, split_response


def capturing_server():
    server = OutsideHTTP(("127.0.0.1", 0))
    seen: list[Request] = []

    def capture(request):
        seen.append(request)
        return Response(200, {}, "ok")

    server.set_route("/", capture)
    return server, seen


def raw_request(port: int, data: bytes) -> tuple[bytes, tuple[str, int]]:
    with socket.create_connection(("127.0.0.1", port), timeout=DEADLINE) as sock:
        local = sock.getsockname()
        sock.sendall(data)
        chunks = []
        while chunk := sock.recv(65536):
            chunks.append(chunk)
    return b"".join(chunks), local


def test_every_attribute_of_a_raw_request():
    server, seen = capturing_server()
    body = b"line one\r\nline two\r\n\r\nafter a blank line"
    with running(server) as r:
        raw, local = raw_request(
            r.server.port,
            b"POST /files/a%20b?x=1&y=two&x=3&empty= HTTP/1.1\r\nHost: example\r\n"
            b"x-lower-case: kept\r\nCookie: session=abc; theme=dark\r\n"
            b"Content-Length: " + str(len(body)).encode() + b"\r\nConnection: close\r\n\r\n" + body)
    assert split_response(raw)[0] == "HTTP/1.1 200 OK"
    (request,) = seen
    assert request.method == "POST"
    assert request.url == "/files/a%20b"  # as sent, without the query
    assert request.params == {"x": "1", "y": "two"}  # first values; blank ones dropped
    assert request.version == "HTTP/1.1"
    assert request.address == local  # the client's IP and port
    assert request.headers["x-lower-case"] == "kept"  # names as the client sent them
    assert request.headers["Host"] == "example"
    assert request.headers["Content-Length"] == len(body)  # an int, as in outside
    assert request.cookies == {"session": "abc", "theme": "dark"}
    # Unlike outside, whose parser dropped every \r, the body arrives byte for byte.
    assert request.content == body
    assert request.context is not None and request.context.method == "POST"


def test_http_1_0_and_no_body():
    server, seen = capturing_server()
    with running(server) as r:
        raw, _ = raw_request(r.server.port, b"GET / HTTP/1.0\r\n\r\n")
    assert raw.startswith(b"HTTP/1.0 200") or raw.startswith(b"HTTP/1.1 200")
    (request,) = seen
    assert (request.version, request.content, request.cookies, request.params) == (
        "HTTP/1.0", b"", {}, {})
    assert "Content-Length" not in request.headers


@pytest.mark.skipif(shutil.which("curl") is None, reason="needs curl")
def test_a_chunked_upload_arrives_whole():
    # outside read bodies by Content-Length only; a chunked upload (curl's, from stdin) was lost.
    server, seen = capturing_server()
    payload = b"\r\n".join(b"chunk %d" % i for i in range(2000))
    with running(server) as r:
        result = subprocess.run(
            ["curl", "-sS", "--max-time", str(DEADLINE), "-H", "Transfer-Encoding: chunked",
             "--data-binary", "@-", r.base + "/upload"],
            input=payload, capture_output=True, check=True)
    assert result.stdout == b"ok"
    (request,) = seen
    assert request.content == payload
    assert "Transfer-Encoding" in request.headers


async def test_json_and_bad_json():
    server, seen = capturing_server()
    with running(server) as r:
        async with aiohttp.ClientSession() as session:
            for data in (json.dumps({"a": [1, 2]}).encode(), b"{not json", b"\xff\xfe", b""):
                async with session.post(r.base + "/", data=data) as resp:
                    assert resp.status == 200
    assert [request.json() for request in seen] == [{"a": [1, 2]}, None, None, None]


def test_get_insensitive_header():
    headers = {"Content-Type": "application/json", "User-Agent": "my-app"}
    assert get_insensitive_header(headers, "content-type") == "application/json"
    assert get_insensitive_header(headers, "USER-AGENT") == "my-app"
    assert get_insensitive_header(headers, "Accept") is None


def test_a_request_made_by_hand():
    request = Request("GET", {"cookie": "a=1"}, b'{"k": 1}', "HTTP/1.1", "/x",
                      ("10.0.0.1", 5000))
    assert request.cookies == {"a": "1"}
    assert request.params == {}
    assert request.json() == {"k": 1}
    assert request.context is None
