"""Compressed request bodies (finding 2): ``Content-Length`` counts the bytes on the wire and
``max_body_size`` the decoded ones.

Whether pyframe decodes request bodies by default is for the fix to decide, so each case
takes either answer: the body arrives whole and decoded, or it is refused with 415. What is
never allowed: a body cut short, passed on still encoded, or decoded past the limit.
"""

from __future__ import annotations

import gzip
import zlib

import brotli
import pytest

from pyframe.testing import TestClient

from .support import assert_still_serving, connect

HOST = b"Host: hostile.test\r\n"
CODECS = {"gzip": gzip.compress, "deflate": zlib.compress, "br": brotli.compress}


def post(path: str, body: bytes, encoding: str, content_type: str = "application/json"
         ) -> bytes:
    return (f"POST {path} HTTP/1.1\r\n".encode() + HOST
            + f"Content-Type: {content_type}\r\nContent-Encoding: {encoding}\r\n"
              f"Content-Length: {len(body)}\r\n\r\n".encode() + body)


@pytest.fixture
async def port(make_app):
    async with TestClient(make_app("[server]\nmax_body_size = 1048576\n")) as client:
        yield client.port


async def answer(port: int, data: bytes):
    async with await connect(port) as conn:
        response, _ = await conn.send_until_answered([data])
    assert response is not None, "the server closed without answering"
    return response


def assert_decoded_or_refused(response, expected) -> None:
    if response.status != 415:
        assert (response.status, response.json()) == (200, expected)


async def test_compressed_form_arrives_whole(port):
    plain = b"x=" + b"a" * 900_000 + b"&admin=1"
    response = await answer(port, post("/form", gzip.compress(plain), "gzip",
                                       "application/x-www-form-urlencoded"))
    assert_decoded_or_refused(response, {"keys": ["admin", "x"],
                                         "sizes": {"admin": 1, "x": 900_000}})
    await assert_still_serving(port)


@pytest.mark.parametrize("codec", CODECS, ids=CODECS)
async def test_small_compressed_json_is_decoded(port, codec):
    response = await answer(port, post("/json", CODECS[codec](b'{"a": 1}'), codec))
    assert_decoded_or_refused(response, {"json": {"a": 1}})
    await assert_still_serving(port)


@pytest.mark.parametrize("codec", CODECS, ids=CODECS)
async def test_compression_bomb_is_413(port, codec):
    bomb = CODECS[codec](b"a" * 10_000_000)
    assert len(bomb) < 64 * 1024  # small on the wire: the expansion is the attack
    response = await answer(port, post("/echo", bomb, codec, "application/octet-stream"))
    assert response.status in (413, 415)
    await assert_still_serving(port)


async def test_unknown_content_encoding_is_refused(port):
    response = await answer(port, post("/echo", b"hello", "x-bogus", "text/plain"))
    assert response.status in (400, 415)
    await assert_still_serving(port)


async def test_encoding_chain_is_decoded_or_refused(port):
    response = await answer(port, post("/echo", gzip.compress(gzip.compress(b"hello world")),
                                       "gzip, gzip", "text/plain"))
    assert response.status in (400, 415) or (response.status, response.json()) == (
        200, {"size": 11})
    await assert_still_serving(port)


async def test_broken_gzip_is_400(port):
    response = await answer(port, post("/json", b"this is not gzip", "gzip"))
    assert response.status in (400, 415)
    await assert_still_serving(port)


async def test_truncated_gzip_is_400(port):
    response = await answer(port, post("/json", gzip.compress(b'{"a": 1}')[:-6], "gzip"))
    assert response.status in (400, 415)
    await assert_still_serving(port)


async def test_unsupported_but_known_encoding_is_400_or_415(port):
    response = await answer(port, post("/json", b'{"a": 1}', "zstd"))
    assert response.status in (400, 415) or (response.status, response.json()) == (
        200, {"json": {"a": 1}})
    await assert_still_serving(port)


async def test_compressed_body_over_the_limit_on_the_wire_is_413(make_app):
    # Incompressible bytes: the wire size alone is over the limit.
    async with TestClient(make_app("[server]\nmax_body_size = 1000\n")) as client:
        body = gzip.compress(bytes(range(256)) * 8, compresslevel=0)
        response = await answer(client.port, post("/echo", body, "gzip", "text/plain"))
        assert response.status == 413
        await assert_still_serving(client.port)


async def test_truncated_gzip_is_400_even_where_any_bytes_would_do(port):
    # /echo takes any body: a stream cut short must still be refused, not read as a short one.
    body = gzip.compress(b"x" * 50_000)[:-8]
    response = await answer(port, post("/echo", body, "gzip", "application/octet-stream"))
    assert response.status == 400
    await assert_still_serving(port)


async def test_gzip_of_several_members_is_decoded_whole(port):
    # RFC 1952: a gzip file may be a series of members (what `cat a.gz b.gz` makes).
    body = gzip.compress(b"x" * 1000) + gzip.compress(b"y" * 2000)
    response = await answer(port, post("/echo", body, "gzip", "application/octet-stream"))
    assert (response.status, response.json()) == (200, {"size": 3000})
    await assert_still_serving(port)


async def test_deflate_without_its_zlib_header_is_decoded(port):
    # Some clients send raw deflate for "deflate"; RFC 9110's deflate is zlib-wrapped.
    packer = zlib.compressobj(wbits=-zlib.MAX_WBITS)
    body = packer.compress(b'{"a": 1}') + packer.flush()
    response = await answer(port, post("/json", body, "deflate"))
    assert (response.status, response.json()) == (200, {"json": {"a": 1}})
    await assert_still_serving(port)


async def test_broken_body_is_answered_without_a_traceback(port, caplog):
    # aiohttp logged "Unhandled exception" when it lingered over a body that had failed.
    for data in (post("/json", b"this is not gzip" * 100, "gzip"),
                 b"POST /echo HTTP/1.1\r\n" + HOST + b"Transfer-Encoding: chunked\r\n\r\n"
                 b"5\r\nabcde\r\nzz\r\n0\r\n\r\n"):
        response = await answer(port, data)
        assert response.status == 400
    assert not [r for r in caplog.records if r.levelname == "ERROR"], caplog.text
    await assert_still_serving(port)


async def test_decompression_turned_off_refuses_coded_bodies(make_app):
    async with TestClient(make_app("[server]\ndecompress_bodies = false\n")) as client:
        response = await answer(client.port, post("/json", gzip.compress(b'{"a": 1}'), "gzip"))
        assert response.status == 415
        assert response.header("Accept-Encoding") == "identity"
        response = await answer(client.port, post("/json", b'{"a": 1}', "identity"))
        assert (response.status, response.json()) == (200, {"json": {"a": 1}})
        await assert_still_serving(client.port)
