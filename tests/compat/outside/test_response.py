"""``Response``, ``FilePath`` and ``ResponseCookie`` over real HTTP: content kinds, headers,
cookies with every attribute, files with ranges of any size (suffix ranges too)."""

from __future__ import annotations

import os
import shutil
import subprocess

import aiohttp
import pytest

from pyframe.compat.outside import (
    FilePath,
    OutsideHTTP,
    Response,
    ResponseCookie,
    get_description,
)

from .support import DEADLINE, exchange, running, split_response


def serve(routes):
    server = OutsideHTTP(("127.0.0.1", 0))
    for path, handler in routes.items():
        server.set_route(path, handler)
    return server


async def get(url, **kwargs):
    async with aiohttp.ClientSession() as session:
        async with session.get(url, **kwargs) as resp:
            return resp.status, resp.headers, await resp.read()


async def test_str_bytes_and_dict_content_and_their_default_types():
    server = serve({
        "/str": lambda r: Response(201, {"X-Custom": 7}, "héllo"),
        "/bytes": lambda r: Response(200, {}, b"\x00\x01"),
        "/dict": lambda r: Response(200, {}, {"a": 1}),
        "/typed": lambda r: Response(200, {"content-type": "text/html"}, "<b>hi</b>"),
    })
    with running(server) as r:
        status, headers, body = await get(r.base + "/str")
        assert (status, body) == (201, "héllo".encode())
        assert headers["Content-Type"] == "text/plain; charset=utf-8"
        assert headers["X-Custom"] == "7"  # header values become strings, as in outside
        status, headers, body = await get(r.base + "/bytes")
        assert (body, headers["Content-Type"]) == (b"\x00\x01", "application/octet-stream")
        status, headers, body = await get(r.base + "/dict")
        assert (body, headers["Content-Type"]) == (b'{"a": 1}', "application/json")
        status, headers, body = await get(r.base + "/typed")
        assert (body, headers["Content-Type"]) == (b"<b>hi</b>", "text/html")


def test_cookies_are_set_with_every_attribute():
    cookie = ResponseCookie("abc", 3600, "example.com", True, True, "/app", "Strict")
    server = serve({"/": lambda r: Response(200, {}, "ok", cookies={
        "session": cookie,
        "plain": "v",
        "bare": ResponseCookie("x", 0, "", False, False, "", ""),
    })})
    with running(server) as r:
        raw = exchange(r.server.port, b"GET / HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n")
    _, headers, body = split_response(raw)
    assert body == b"ok"
    cookies = {value.split("=", 1)[0]: value for name, value in headers if name == "Set-Cookie"}
    attributes = {part.strip() for part in cookies["session"].split(";")}
    assert attributes == {"session=abc", "Domain=example.com", "HttpOnly", "Max-Age=3600",
                          "Path=/app", "SameSite=Strict", "Secure"}
    assert cookies["plain"].startswith("plain=v;")
    # outside left falsy attributes out: max_age=0 is no Max-Age (not "expire now").
    assert "Max-Age" not in cookies["bare"] and "Domain" not in cookies["bare"]


def test_response_cookie_is_pyframes_and_reads_falsy_as_absent():
    import pyframe

    cookie = ResponseCookie("v", 0, "", 1, 0, "", "lax")
    assert isinstance(cookie, pyframe.ResponseCookie)
    assert (cookie.max_age, cookie.domain, cookie.http_only, cookie.secure, cookie.path,
            cookie.same_site) == (None, None, True, False, None, "Lax")
    with pytest.raises(TypeError):
        ResponseCookie("v")  # outside needs every argument
    with pytest.raises(ValueError, match="secure"):
        ResponseCookie("v", 1, "", False, False, "/", "None")  # browsers drop such a cookie


def test_a_response_without_cookies_gets_a_dict_of_its_own():
    first, second = Response(200, {}, ""), Response(200, {}, "")
    first.cookies["leak"] = "x"
    assert second.cookies == {}


@pytest.fixture
def data_file(tmp_path):
    path = tmp_path / "data.bin"
    path.write_bytes(bytes(range(256)) * 16)  # 4096 bytes, far below outside's 50 MB floor
    return path


async def test_a_file_is_sent_whole_with_its_type(tmp_path, data_file):
    page = tmp_path / "page.html"
    page.write_text("<p>page</p>")
    server = serve({"/file": lambda r: Response(200, {}, FilePath(str(data_file))),
                    "/page": lambda r: Response(200, {}, FilePath(page))})
    with running(server) as r:
        status, headers, body = await get(r.base + "/file")
        assert (status, body) == (200, data_file.read_bytes())
        assert headers["Accept-Ranges"] == "bytes"
        assert headers["Content-Type"] == "application/octet-stream"
        status, headers, body = await get(r.base + "/page")
        assert (body, headers["Content-Type"]) == (b"<p>page</p>", "text/html")


@pytest.mark.parametrize(("range_header", "first", "last"), [
    ("bytes=0-9", 0, 9),
    ("bytes=100-", 100, 4095),
    ("bytes=-5", 4091, 4095),          # a suffix range: the last five bytes
    ("bytes=4000-99999", 4000, 4095),  # past the end: up to the end
])
def test_a_range_is_answered_206(data_file, range_header, first, last):
    server = serve({"/file": lambda r: Response(200, {}, FilePath(str(data_file)))})
    with running(server) as r:
        raw = exchange(r.server.port, b"GET /file HTTP/1.1\r\nHost: h\r\nConnection: close\r\n"
                       b"Range: " + range_header.encode() + b"\r\n\r\n")
    status, headers, body = split_response(raw)
    assert status == "HTTP/1.1 206 Partial Content"
    assert dict(headers)["Content-Range"] == f"bytes {first}-{last}/4096"
    assert body == data_file.read_bytes()[first:last + 1]


def test_an_unsatisfiable_range_is_416(data_file):
    server = serve({"/file": lambda r: Response(200, {}, FilePath(str(data_file)))})
    with running(server) as r:
        raw = exchange(r.server.port, b"GET /file HTTP/1.1\r\nHost: h\r\nConnection: close\r\n"
                       b"Range: bytes=5000-6000\r\n\r\n")
    status, headers, _ = split_response(raw)
    assert status.startswith("HTTP/1.1 416 ")
    assert dict(headers)["Content-Range"] == "bytes */4096"


@pytest.mark.skipif(shutil.which("curl") is None, reason="needs curl")
def test_curl_resumes_a_large_download(tmp_path):
    # 3 MiB: outside honoured ranges only above 50 MB; here any file is resumable.
    big = tmp_path / "big.bin"
    big.write_bytes(os.urandom(3 * 1024 * 1024))
    partial = tmp_path / "download.bin"
    partial.write_bytes(big.read_bytes()[:1_000_000])  # an interrupted download
    server = serve({"/big": lambda r: Response(200, {}, FilePath(str(big)))})
    with running(server) as r:
        subprocess.run(["curl", "-sS", "--fail", "--max-time", str(DEADLINE), "-C", "-",
                        "-o", str(partial), r.base + "/big"], check=True, capture_output=True)
    assert partial.read_bytes() == big.read_bytes()


async def test_a_narrowed_file_and_a_file_as_an_error_page(tmp_path, data_file):
    def part(request):
        file = FilePath(str(data_file))
        file.read_start, file.read_end = 10, 20
        return Response(200, {}, file)

    missing = tmp_path / "missing.html"
    missing.write_text("<p>not here</p>")
    server = serve({"/part": part})
    server.set_errorhandler(404, lambda request, message=None: Response(
        404, {}, FilePath(str(missing))))
    with running(server) as r:
        status, _, body = await get(r.base + "/part")
        assert (status, body) == (200, data_file.read_bytes()[10:20])
        status, headers, body = await get(r.base + "/nowhere", headers={"Range": "bytes=0-1"})
        assert (status, body) == (404, b"<p>not here</p>")  # no range on an error page
        assert headers["Content-Type"] == "text/html"


def test_filepath_read(data_file):
    file = FilePath(str(data_file))
    assert (file.path, file.read_start, file.read_end) == (str(data_file), 0, 4096)
    whole = data_file.read_bytes()
    assert file.read((0, 4)) == whole[:4]
    assert file.read((8, 12)) == whole[:4]  # kept from the first read, as in outside
    assert file.read((8, 12), twice=True) == whole[8:12]
    assert file.read(twice=True) == whole
    with pytest.raises(FileNotFoundError):
        FilePath(str(data_file) + ".missing")


def test_get_description():
    assert get_description(404) == "Not Found"
    assert get_description(200) == "OK"
    assert get_description(599) == "Server Error"  # outside raised KeyError here


async def test_pre_send_post_callback_and_server_cleanup():
    calls = []
    server = serve({"/": lambda r: Response(200, {}, "body")})

    def pre_send(response):
        calls.append(("pre_send", response.status_code))
        response.headers["X-Pre-Send"] = "yes"

    server.config.update(
        pre_send=pre_send,
        post_callback=lambda request, response: calls.append(("post", request.url,
                                                              response.content)),
        server_cleanup=lambda: calls.append(("cleanup",)))
    with running(server) as r:
        status, headers, body = await get(r.base + "/")
        assert (status, body, headers["X-Pre-Send"]) == (200, b"body", "yes")
    assert calls == [("pre_send", 200), ("post", "/", b"body"), ("cleanup",)]
