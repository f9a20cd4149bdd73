"""Validators, conditional requests, byte ranges and precompressed siblings, over real HTTP."""

from __future__ import annotations

import pytest

from pyframe import PyFrameApp
from pyframe.testing import TestClient

BODY = b"hello world\n"  # hello.txt, 12 bytes
LONG_AGO = "Sat, 01 Jan 2000 00:00:00 GMT"


@pytest.fixture
def statuses():
    return []


@pytest.fixture
def app(site, statuses):
    app = PyFrameApp()
    app.add_static_path("/static/", str(site), headers={"Cache-Control": "no-cache"})

    async def spy(context, call_next):
        response = await call_next(context)
        statuses.append(response.status)
        return response

    app.middleware.append(spy)
    return app


async def validators(client, path="/static/hello.txt", **headers):
    async with client.get(path, headers=headers) as resp:
        assert resp.status == 200
        return resp.headers["ETag"], resp.headers["Last-Modified"]


async def test_if_none_match_gives_304_with_the_validators(app, statuses):
    async with TestClient(app) as client:
        etag, last_modified = await validators(client)
        for value in (etag, f"W/{etag}", f'"other", {etag}', "*"):
            async with client.get("/static/hello.txt", headers={"If-None-Match": value}) as resp:
                assert resp.status == 304, value
                assert await resp.read() == b""
                assert resp.headers["ETag"] == etag
                assert resp.headers["Last-Modified"] == last_modified
                assert resp.headers["Cache-Control"] == "no-cache"
        async with client.get("/static/hello.txt", headers={"If-None-Match": '"other"'}) as resp:
            assert resp.status == 200
    # Middleware (metrics, logs) sees the status the client gets.
    assert statuses[1:5] == [304, 304, 304, 304]


async def test_if_modified_since(app):
    async with TestClient(app) as client:
        _, last_modified = await validators(client)
        async with client.get("/static/hello.txt",
                              headers={"If-Modified-Since": last_modified}) as resp:
            assert resp.status == 304
        async with client.get("/static/hello.txt",
                              headers={"If-Modified-Since": LONG_AGO}) as resp:
            assert resp.status == 200
            assert await resp.read() == BODY
        async with client.get("/static/hello.txt",
                              headers={"If-Modified-Since": "not a date"}) as resp:
            assert resp.status == 200


async def test_failed_preconditions_give_412(app):
    async with TestClient(app) as client:
        etag, _ = await validators(client)
        async with client.get("/static/hello.txt", headers={"If-Match": '"stale"'}) as resp:
            assert resp.status == 412
        async with client.get("/static/hello.txt", headers={"If-Match": etag}) as resp:
            assert resp.status == 200
        async with client.get("/static/hello.txt",
                              headers={"If-Unmodified-Since": LONG_AGO}) as resp:
            assert resp.status == 412


@pytest.mark.parametrize("spec, content_range, body", [
    ("bytes=0-4", "bytes 0-4/12", b"hello"),
    ("bytes=-3", "bytes 9-11/12", b"ld\n"),
    ("bytes=6-", "bytes 6-11/12", b"world\n"),
    ("bytes=6-999", "bytes 6-11/12", b"world\n"),
    ("bytes=-100", "bytes 0-11/12", BODY),
    ("BYTES=0-0", "bytes 0-0/12", b"h"),
])
async def test_single_ranges_give_206(app, statuses, spec, content_range, body):
    async with TestClient(app) as client:
        async with client.get("/static/hello.txt", headers={"Range": spec}) as resp:
            assert resp.status == 206
            assert resp.headers["Content-Range"] == content_range
            assert resp.headers["Content-Length"] == str(len(body))
            assert await resp.read() == body
    assert statuses == [206]


@pytest.mark.parametrize("spec", ["bytes=12-", "bytes=50-60", "bytes=-0"])
async def test_unsatisfiable_ranges_give_416(app, spec):
    async with TestClient(app) as client:
        async with client.get("/static/hello.txt", headers={"Range": spec}) as resp:
            assert resp.status == 416
            assert resp.headers["Content-Range"] == "bytes */12"


@pytest.mark.parametrize("spec", ["bytes=0-1,4-5", "bytes=5-2", "items=0-1", "bytes=x-y",
                                  "bytes=-"])
async def test_ranges_we_do_not_serve_are_ignored_for_the_whole_file(app, spec):
    # RFC 9110 section 14.2: a server may ignore Range; several ranges or a bad one is not
    # "unsatisfiable".
    async with TestClient(app) as client:
        async with client.get("/static/hello.txt", headers={"Range": spec}) as resp:
            assert resp.status == 200
            assert resp.headers["Content-Length"] == "12"
            assert "Content-Range" not in resp.headers
            assert resp.headers["ETag"]
            assert await resp.read() == BODY


async def test_range_on_head_is_ignored(app):
    async with TestClient(app) as client:
        async with client.head("/static/hello.txt", headers={"Range": "bytes=0-4"}) as resp:
            assert resp.status == 200
            assert resp.headers["Content-Length"] == "12"
            assert await resp.read() == b""


async def test_if_range(app):
    async with TestClient(app) as client:
        etag, last_modified = await validators(client)
        cases = [
            (etag, 206),
            ('"stale-etag"', 200),  # the file changed: send all of the new one
            (f"W/{etag}", 200),  # weak tags never match If-Range
            (last_modified, 206),
            (LONG_AGO, 200),
        ]
        for value, status in cases:
            async with client.get("/static/hello.txt",
                                  headers={"Range": "bytes=0-4", "If-Range": value}) as resp:
                assert resp.status == status, value
                assert await resp.read() == (b"hello" if status == 206 else BODY)


@pytest.mark.parametrize("accept, body, coding", [
    ("br", b"BROTLI-BYTES", "br"),
    ("gzip, deflate, br", b"BROTLI-BYTES", "br"),
    ("gzip", b"GZIP-BYTES", "gzip"),
    ("", b"console.log('identity');", None),
    ("identity", b"console.log('identity');", None),
    # Refusals aiohttp alone would not read: q=0 means "not this one".
    ("br;q=0, gzip", b"GZIP-BYTES", "gzip"),
    ("gzip;q=0, br;q=0", b"console.log('identity');", None),
])
async def test_precompressed_siblings(app, accept, body, coding):
    async with TestClient(app) as client:
        async with client.get("/static/app.js", headers={"Accept-Encoding": accept}) as resp:
            assert resp.status == 200
            assert await resp.read() == body
            assert resp.headers.get("Content-Encoding") == coding
            assert resp.headers["Content-Type"] == "text/javascript; charset=utf-8"
            assert resp.headers["Content-Length"] == str(len(body))
            assert resp.headers["Vary"] == "Accept-Encoding"


async def test_each_representation_has_its_own_etag(app):
    async with TestClient(app) as client:
        plain, _ = await validators(client, "/static/app.js", **{"Accept-Encoding": "identity"})
        br, _ = await validators(client, "/static/app.js", **{"Accept-Encoding": "br"})
        assert plain != br
        async with client.get("/static/app.js", headers={"Accept-Encoding": "br",
                                                         "If-None-Match": br}) as resp:
            assert resp.status == 304
        async with client.get("/static/app.js", headers={"Accept-Encoding": "identity",
                                                         "If-None-Match": br}) as resp:
            assert resp.status == 200


async def test_only_existing_siblings_are_used(app):
    async with TestClient(app) as client:
        async with client.get("/static/only-gz.css", headers={"Accept-Encoding": "br"}) as resp:
            assert await resp.read() == b"p{}"
            assert "Content-Encoding" not in resp.headers
        async with client.get("/static/only-gz.css",
                              headers={"Accept-Encoding": "br, gzip"}) as resp:
            assert await resp.read() == b"GZ-CSS"
            assert resp.headers["Content-Encoding"] == "gzip"
        async with client.get("/static/hello.txt", headers={"Accept-Encoding": "br"}) as resp:
            assert "Vary" not in resp.headers  # no sibling: one representation only


async def test_a_big_file_arrives_intact(site):
    data = bytes(range(256)) * 8192  # 2 MiB
    (site / "big.bin").write_bytes(data)
    app = PyFrameApp()
    app.add_static_path("/static/", str(site))
    async with TestClient(app) as client:
        async with client.get("/static/big.bin") as resp:
            assert await resp.read() == data
        # The path that streams the file itself (a Range it ignores) sends it whole too.
        async with client.get("/static/big.bin", headers={"Range": "bytes=0-1,5-6"}) as resp:
            assert resp.status == 200
            assert await resp.read() == data
