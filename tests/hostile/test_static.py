"""The static plugin under attack: traversal however the path is spelled, and byte ranges
(malformed, overlapping, huge, and with ``Accept-Encoding``, finding 10).
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from pyframe.testing import TestClient

from .support import assert_still_serving, connect

HOST = b"Host: hostile.test\r\n"
SECRET = b"SECRET-OUTSIDE-THE-MOUNT"
HELLO = b"hello world\n"
BIG = b"0123456789abcdef" * 131072  # 2 MiB, compressible


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    """tmp/site/static is served; tmp/site/secret.txt and tmp/outside must never be."""
    static = tmp_path / "site" / "static"
    (static / "sub").mkdir(parents=True)
    (tmp_path / "outside").mkdir()
    (tmp_path / "site" / "secret.txt").write_bytes(SECRET)
    (tmp_path / "outside" / "passwd").write_bytes(SECRET)
    (static / "hello.txt").write_bytes(HELLO)
    (static / "big.txt").write_bytes(BIG)
    (static / "sub" / "index.html").write_bytes(b"<p>sub</p>")
    (static / ".env").write_bytes(SECRET)
    os.symlink(tmp_path / "site" / "secret.txt", static / "escape.txt")
    os.symlink(tmp_path / "outside", static / "escape_dir")
    return static


@pytest.fixture
async def port(make_app, folder):
    app = make_app()
    app.add_static_path("/static/", str(folder))
    async with TestClient(app) as client:
        yield client.port


async def get(port: int, target: bytes, *headers: bytes, method: bytes = b"GET"):
    async with await connect(port) as conn:
        await conn.send(method + b" " + target + b" HTTP/1.1\r\n" + HOST
                        + b"".join(h + b"\r\n" for h in headers) + b"\r\n")
        return await conn.response(method=method.decode())


TRAVERSALS = [
    b"/static/../secret.txt", b"/static/sub/../../secret.txt", b"/static/%2e%2e/secret.txt",
    b"/static/%2E%2E%2Fsecret.txt", b"/static/..%2fsecret.txt", b"/static/.%2e/secret.txt",
    b"/static/%252e%252e/secret.txt", b"/static/%c0%ae%c0%ae/secret.txt",
    b"/static/..\\secret.txt", b"/static/%5c..%5csecret.txt", b"/static//etc/passwd",
    b"/static/%2Fetc%2Fpasswd", b"/static/hello.txt%00.png", b"/static/escape.txt",
    b"/static/escape_dir/passwd", b"/static/.env", b"/static/sub/%2e%2e/%2e%2e/secret.txt",
    b"/static/./hello.txt/../../secret.txt", b"/static/%u002e%u002e/secret.txt",
]


@pytest.mark.parametrize("target", TRAVERSALS, ids=[t.decode() for t in TRAVERSALS])
async def test_traversal_is_refused(port, target):
    response = await get(port, target)
    assert response is not None and response.status in (400, 403, 404)
    assert SECRET not in response.body
    await assert_still_serving(port)


@pytest.mark.parametrize("target", [b"/static/hello.txt/", b"/static/sub/index.html/",
                                    b"/static/hello.txt%2f"],
                         ids=["file", "index", "encoded-slash"])
async def test_a_file_asked_for_as_a_folder_is_not_found(port, target):
    response = await get(port, target)
    assert response is not None and response.status == 404
    assert HELLO not in response.body and b"<p>sub</p>" not in response.body
    await assert_still_serving(port)


async def test_the_folder_is_served(port):
    # The traps are real: the mount serves what it should.
    response = await get(port, b"/static/hello.txt")
    assert (response.status, response.body) == (200, HELLO)


RANGES = {
    "first-bytes": (b"bytes=0-1", 206, HELLO[:2]),
    "suffix": (b"bytes=-6", 206, HELLO[-6:]),
    "open-ended": (b"bytes=6-", 206, HELLO[6:]),
    "end-past-the-file": (b"bytes=0-" + b"9" * 30, 206, HELLO),
    "suffix-past-the-file": (b"bytes=-" + b"9" * 30, 206, HELLO),
    "start-past-the-file": (b"bytes=99999999-", 416, None),
    "empty-suffix": (b"bytes=-0", 416, None),
    "reversed": (b"bytes=5-1", 200, HELLO),
    "two-ranges": (b"bytes=0-1,5-6", 200, HELLO),
    "overlapping-ranges": (b"bytes=" + b",".join([b"0-"] * 200), 200, HELLO),
    "other-unit": (b"items=0-1", 200, HELLO),
    "not-numbers": (b"bytes=a-b", 200, HELLO),
    "three-parts": (b"bytes=1-2-3", 200, HELLO),
}


@pytest.mark.parametrize("value,status,body", RANGES.values(), ids=RANGES.keys())
async def test_range(port, value, status, body):
    response = await get(port, b"/static/hello.txt", b"Range: " + value)
    assert response is not None and response.status == status
    if body is not None:
        assert response.body == body
        assert int(response.header("Content-Length")) == len(body)
    else:
        assert response.header("Content-Range") == f"bytes */{len(HELLO)}"
    await assert_still_serving(port)


async def test_range_on_head_sends_no_body(port):
    response = await get(port, b"/static/hello.txt", b"Range: bytes=0-1", method=b"HEAD")
    assert response.status in (200, 206) and response.body == b""
    await assert_still_serving(port)


@pytest.fixture
async def compressing_port(make_app, folder):
    app = make_app()
    app.add_static_path("/static/", str(folder))
    app.plugins.enable("compression")
    async with TestClient(app) as client:
        yield client.port


async def test_single_range_with_accept_encoding_is_not_compressed(compressing_port):
    response = await get(compressing_port, b"/static/big.txt", b"Range: bytes=0-99",
                         b"Accept-Encoding: gzip")
    assert (response.status, response.body) == (206, BIG[:100])
    assert response.header("Content-Encoding") is None
    await assert_still_serving(compressing_port)


@pytest.mark.parametrize("value", [b"bytes=0-1,5-6", b"bytes=" + b",".join([b"0-"] * 200)],
                         ids=["two-ranges", "overlapping-ranges"])
async def test_several_ranges_with_accept_encoding_are_not_compressed(compressing_port, value):
    response = await get(compressing_port, b"/static/big.txt", b"Range: " + value,
                         b"Accept-Encoding: gzip")
    assert response.status in (200, 206)
    assert response.header("Content-Encoding") is None
    assert not response.chunked
    if response.status == 200:  # the whole file, by sendfile, with its length
        assert (int(response.header("Content-Length")), response.body) == (len(BIG), BIG)
    await assert_still_serving(compressing_port)
