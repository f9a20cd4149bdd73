"""The compression plugin over real HTTP: negotiation, what is left alone, headers, streams."""

import asyncio
import gzip
import os
import threading
import zlib

import brotli
import msgspec
import pytest
import zstandard

from pyframe import (FileResponse, HTMLResponse, JSONResponse, PyFrameApp, Response,
                     StreamingResponse)
from pyframe.middleware import CompressionMiddleware
from pyframe.testing import TestClient
from pyframe_compression import CompressionPlugin
from pyframe_compression.codecs import GzipCodec, _ZlibStream

DATA = {"items": [{"id": i, "name": f"item {i}", "tags": ["a", "b", "c"]} for i in range(300)]}
BODY = msgspec.json.encode(DATA)
TEXT = "Grüße aus Köln – " * 200  # a str body, not ASCII


@pytest.fixture(autouse=True)
def _no_stray_config(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)


def decompress(coding, data):
    if coding == "gzip":
        return gzip.decompress(data)
    if coding == "br":
        return brotli.decompress(data)
    if coding == "zstd":
        # Streamed frames carry no content size, so read them incrementally.
        return zstandard.ZstdDecompressor().decompressobj().decompress(data)
    raise AssertionError(f"unexpected coding {coding!r}")


def incremental(coding):
    """A decoder for a body that arrives piece by piece: feed(bytes) -> bytes."""
    if coding == "gzip":
        d = zlib.decompressobj(31)
        return d.decompress
    if coding == "br":
        return brotli.Decompressor().process
    return zstandard.ZstdDecompressor().decompressobj().decompress


def vary_tokens(resp):
    return [t.strip().lower() for v in resp.headers.getall("Vary", []) for t in v.split(",")]


def make_app(tmp_path=None, **options):
    app = PyFrameApp()
    app.plugins.register(CompressionPlugin(), "compression", **options)

    @app.get("/json")
    async def json_body(context):
        return JSONResponse(DATA)

    @app.get("/text")
    async def text(context):
        return TEXT

    @app.get("/small")
    async def small(context):
        return {"ok": True}

    @app.get("/png")
    async def png(context):
        return Response(b"\x89PNG" + b"\0" * 5000, content_type="image/png")

    @app.get("/svg")
    async def svg(context):
        return Response("<svg>" + "<g/>" * 2000 + "</svg>", content_type="image/svg+xml")

    @app.get("/woff2")
    async def woff2(context):
        return Response(b"wOF2" + b"\0" * 5000, content_type="font/woff2")

    @app.get("/encoded")
    async def encoded(context):
        return Response(gzip.compress(BODY), headers={"Content-Encoding": "gzip"},
                        content_type="application/json")

    @app.get("/etag")
    async def etag(context):
        return Response(BODY, headers={"ETag": '"v1"'}, content_type="application/json")

    @app.get("/weak-etag")
    async def weak_etag(context):
        return Response(BODY, headers={"ETag": 'W/"v1"'}, content_type="application/json")

    @app.get("/vary")
    async def vary(context):
        return Response(BODY, headers={"Vary": "Cookie"}, content_type="application/json")

    @app.get("/stale-length")
    async def stale_length(context):
        return Response(BODY, headers={"Content-Length": str(len(BODY))},
                        content_type="application/json")

    @app.get("/no-transform")
    async def no_transform(context):
        return Response(BODY, headers={"Cache-Control": "no-transform"},
                        content_type="application/json")

    @app.get("/random")
    async def random(context):
        return Response(os.urandom(4096), content_type="application/octet-stream")

    @app.get("/empty")
    async def empty(context):
        return {"status": 204}

    @app.get("/not-modified")
    async def not_modified(context):
        return Response(BODY, status=304, content_type="application/json")

    @app.get("/opt-out", compress=False)
    async def opt_out(context):
        return JSONResponse(DATA)

    if tmp_path is not None:
        path = tmp_path / "big.txt"
        path.write_bytes(BODY)

        @app.get("/file")
        async def file(context):
            return FileResponse(path, content_type="application/json")

    return app


@pytest.mark.parametrize("coding", ["gzip", "br", "zstd"])
async def test_each_codec_round_trips(coding):
    async with TestClient(make_app()) as client:
        async with client.get("/json", headers={"Accept-Encoding": coding}) as resp:
            raw = await resp.read()
            assert resp.status == 200
            assert resp.headers["Content-Encoding"] == coding
            assert resp.headers["Content-Length"] == str(len(raw))
            assert len(raw) < len(BODY)
            assert vary_tokens(resp) == ["accept-encoding"]
            assert resp.headers["Content-Type"] == "application/json"
            assert decompress(coding, raw) == BODY
        async with client.get("/text", headers={"Accept-Encoding": coding}) as resp:
            assert decompress(coding, await resp.read()).decode() == TEXT


@pytest.mark.parametrize("accept, expected", [
    ("gzip, deflate, br, zstd", "br"),          # equal q: the server's order decides
    ("gzip, br;q=0.5", "gzip"),                 # the client's q-values come first
    ("br;q=0, *", "zstd"),                      # q=0 refuses; * covers the rest
    ("deflate", None),                          # nothing offered in common
    ("identity", None),
    ("gzip;q=0.5, identity", None),             # identity preferred over gzip
    ("*;q=0", None),                            # everything refused: identity body anyway
    ("br;q=0, zstd;q=0, gzip;q=0, identity;q=0", None),
    ("gzip;q=nonsense, zstd;q=0.2", "zstd"),    # a malformed entry is skipped, not a 500
    ("", None),
])
async def test_negotiation(accept, expected):
    async with TestClient(make_app()) as client:
        async with client.get("/json", headers={"Accept-Encoding": accept}) as resp:
            raw = await resp.read()
            assert resp.status == 200
            assert resp.headers.get("Content-Encoding") == expected
            assert "accept-encoding" in vary_tokens(resp)
            assert (decompress(expected, raw) if expected else raw) == BODY


async def test_no_accept_encoding_gets_identity_with_vary():
    async with TestClient(make_app()) as client:
        # aiohttp's client adds Accept-Encoding unless told to skip it.
        async with client.get("/json", skip_auto_headers=["Accept-Encoding"]) as resp:
            assert "Content-Encoding" not in resp.headers
            assert await resp.read() == BODY
            assert vary_tokens(resp) == ["accept-encoding"]


async def test_codecs_option_sets_what_is_offered_and_the_order():
    async with TestClient(make_app(codecs=["gzip", "br"])) as client:
        async with client.get("/json", headers={"Accept-Encoding": "br, gzip, zstd"}) as resp:
            assert resp.headers["Content-Encoding"] == "gzip"
        async with client.get("/json", headers={"Accept-Encoding": "zstd"}) as resp:
            assert "Content-Encoding" not in resp.headers


@pytest.mark.parametrize("path", ["/small", "/png", "/woff2", "/empty", "/not-modified",
                                  "/opt-out", "/file"])
async def test_left_alone_and_not_varied(tmp_path, path):
    async with TestClient(make_app(tmp_path)) as client:
        async with client.get(path, headers={"Accept-Encoding": "gzip, br, zstd"}) as resp:
            assert resp.status in (200, 204, 304)
            assert "Content-Encoding" not in resp.headers
            assert "accept-encoding" not in vary_tokens(resp)
            if path in ("/opt-out", "/file"):
                assert await resp.read() == BODY


async def test_already_encoded_and_no_transform_are_left_alone():
    async with TestClient(make_app()) as client:
        async with client.get("/encoded", headers={"Accept-Encoding": "br"}) as resp:
            assert resp.headers["Content-Encoding"] == "gzip"
            assert gzip.decompress(await resp.read()) == BODY
        async with client.get("/no-transform", headers={"Accept-Encoding": "br"}) as resp:
            assert "Content-Encoding" not in resp.headers
            assert await resp.read() == BODY


async def test_head_is_left_alone():
    async with TestClient(make_app()) as client:
        async with client.head("/json", headers={"Accept-Encoding": "gzip"}) as resp:
            assert resp.status == 200
            assert "Content-Encoding" not in resp.headers
            assert resp.headers["Content-Length"] == str(len(BODY))


async def test_svg_is_compressed_but_random_bytes_fall_back_to_identity():
    async with TestClient(make_app()) as client:
        async with client.get("/svg", headers={"Accept-Encoding": "gzip"}) as resp:
            assert resp.headers["Content-Encoding"] == "gzip"
            assert gzip.decompress(await resp.read()).startswith(b"<svg><g/>")
        async with client.get("/random", headers={"Accept-Encoding": "gzip"}) as resp:
            # Compressing made it bigger: the identity body goes out instead.
            assert "Content-Encoding" not in resp.headers
            assert len(await resp.read()) == 4096
            assert "accept-encoding" in vary_tokens(resp)


async def test_exclude_media_types_and_minimum_size_options():
    app = make_app(exclude_media_types=["application/*"], minimum_size=10)
    async with TestClient(app) as client:
        async with client.get("/json", headers={"Accept-Encoding": "gzip"}) as resp:
            assert "Content-Encoding" not in resp.headers
        async with client.get("/text", headers={"Accept-Encoding": "gzip"}) as resp:
            assert resp.headers["Content-Encoding"] == "gzip"
    app = make_app(minimum_size=len(BODY) + 1)
    async with TestClient(app) as client:
        async with client.get("/json", headers={"Accept-Encoding": "gzip"}) as resp:
            assert "Content-Encoding" not in resp.headers


async def test_vary_is_appended_and_strong_etag_weakened():
    async with TestClient(make_app()) as client:
        async with client.get("/vary", headers={"Accept-Encoding": "gzip"}) as resp:
            assert vary_tokens(resp) == ["cookie", "accept-encoding"]
        async with client.get("/etag", headers={"Accept-Encoding": "gzip"}) as resp:
            assert resp.headers["ETag"] == 'W/"v1"'
        async with client.get("/etag", headers={"Accept-Encoding": "identity"}) as resp:
            assert resp.headers["ETag"] == '"v1"'
        async with client.get("/weak-etag", headers={"Accept-Encoding": "br"}) as resp:
            assert resp.headers["ETag"] == 'W/"v1"'


async def test_stale_content_length_is_dropped():
    async with TestClient(make_app()) as client:
        async with client.get("/stale-length", headers={"Accept-Encoding": "zstd"}) as resp:
            raw = await resp.read()
            assert resp.headers["Content-Length"] == str(len(raw))
            assert len(raw) < len(BODY)
            assert decompress("zstd", raw) == BODY


async def test_seed_usage_in_app_middleware():
    app = PyFrameApp()
    app.middleware.append(CompressionMiddleware(minimum_size=1024, compression_level=6))

    @app.get("/")
    async def index(context):
        return JSONResponse(DATA)

    async with TestClient(app) as client, client.get("/", headers={"Accept-Encoding": "gzip"}) as resp:
        assert resp.headers["Content-Encoding"] == "gzip"
        assert gzip.decompress(await resp.read()) == BODY


@pytest.mark.parametrize("coding", ["gzip", "br", "zstd"])
async def test_event_stream_is_flushed_per_event(coding):
    app = make_app()
    second = asyncio.Event()

    @app.get("/events")
    async def events(context):
        async def gen():
            yield "data: one\n\n"
            await second.wait()  # only released once the client has decoded the first event
            yield "data: two\n\n"

        return StreamingResponse(gen(), content_type="text/event-stream")

    async with TestClient(app) as client, asyncio.timeout(10):
        async with client.get("/events", headers={"Accept-Encoding": coding}) as resp:
            assert resp.headers["Content-Encoding"] == coding
            assert "Content-Length" not in resp.headers
            assert "accept-encoding" in vary_tokens(resp)
            feed = incremental(coding)
            received = b""
            async for piece in resp.content.iter_any():
                received += feed(piece)
                if received == b"data: one\n\n":
                    second.set()
            assert received == b"data: one\n\ndata: two\n\n"
            assert second.is_set()


async def test_streamed_objects_are_encoded_like_the_core_does():
    app = make_app()
    app.stream_encoders["text/x-angle"] = lambda item: f"<{item}>".encode()

    @app.get("/lines")
    async def lines(context):
        async def gen():
            for i in range(3):
                yield {"n": i}
            yield b"raw\n"

        return StreamingResponse(gen(), content_type="application/x-ndjson")

    @app.get("/angles")
    async def angles(context):
        async def gen():
            yield 1
            yield "two"
            yield 3

        return StreamingResponse(gen(), content_type="text/x-angle; charset=utf-8")

    async with TestClient(app) as client:
        async with client.get("/lines", headers={"Accept-Encoding": "br"}) as resp:
            assert decompress("br", await resp.read()) == b'{"n":0}\n{"n":1}\n{"n":2}\nraw\n'
        async with client.get("/angles", headers={"Accept-Encoding": "gzip"}) as resp:
            assert decompress("gzip", await resp.read()) == b"<1>two<3>"


async def test_streams_can_be_left_alone():
    app = make_app(compress_streams=False)

    @app.get("/events")
    async def events(context):
        async def gen():
            yield "data: one\n\n"

        return StreamingResponse(gen(), content_type="text/event-stream")

    async with TestClient(app) as client, client.get("/events",
                                                     headers={"Accept-Encoding": "gzip"}) as resp:
        assert "Content-Encoding" not in resp.headers
        assert await resp.read() == b"data: one\n\n"


async def test_stream_closed_early_closes_the_handler_iterator():
    app = make_app()
    closed = asyncio.Event()

    @app.get("/forever")
    async def forever(context):
        async def gen():
            try:
                while True:
                    yield "x" * 100
                    await asyncio.sleep(0)
            finally:
                closed.set()

        return StreamingResponse(gen(), content_type="text/plain")

    async with TestClient(app) as client, asyncio.timeout(10):
        async with client.get("/forever", headers={"Accept-Encoding": "gzip"}) as resp:
            assert resp.headers["Content-Encoding"] == "gzip"
            assert await resp.content.readany()
            resp.close()  # the client goes away mid-stream
        await closed.wait()


async def test_large_stream_chunks_are_compressed_in_a_thread(monkeypatch):
    loop_thread = threading.get_ident()
    threads = []
    real_chunk = _ZlibStream.chunk

    def recording_chunk(self, data):
        threads.append((len(data), threading.get_ident()))
        return real_chunk(self, data)

    monkeypatch.setattr(_ZlibStream, "chunk", recording_chunk)
    app = make_app(thread_threshold=1000)

    @app.get("/chunks")
    async def chunks(context):
        async def gen():
            yield b"a" * 10
            yield b"b" * 5000

        return StreamingResponse(gen(), content_type="text/plain")

    async with TestClient(app) as client, client.get("/chunks",
                                                     headers={"Accept-Encoding": "gzip"}) as resp:
        assert gzip.decompress(await resp.read()) == b"a" * 10 + b"b" * 5000
    assert threads[0] == (10, loop_thread)
    assert threads[1][0] == 5000 and threads[1][1] != loop_thread


async def test_large_body_is_compressed_while_other_requests_are_answered(monkeypatch):
    loop_thread = threading.get_ident()
    started, release = threading.Event(), threading.Event()
    seen = {}
    real_compress = GzipCodec.compress

    def gated_compress(self, data):
        seen["thread"] = threading.get_ident()
        started.set()
        # Had this run on the event loop, the loop would be stuck here and no other request
        # could finish: the wait would time out and the assertions below fail.
        seen["released"] = release.wait(10)
        return real_compress(self, data)

    monkeypatch.setattr(GzipCodec, "compress", gated_compress)
    big = msgspec.json.encode([{"id": i, "name": f"row {i}", "ok": i % 2 == 0}
                               for i in range(130_000)])
    assert len(big) > 5 * 1024 * 1024
    app = make_app()

    @app.get("/big")
    async def big_body(context):
        return Response(big, content_type="application/json")

    @app.get("/ping")
    async def ping(context):
        return "pong"

    async with TestClient(app) as client:
        async def fetch_big():
            async with client.get("/big", headers={"Accept-Encoding": "gzip"}) as resp:
                return resp.headers.get("Content-Encoding"), await resp.read()

        big_task = asyncio.create_task(fetch_big())
        assert await asyncio.to_thread(started.wait, 10)
        async with client.get("/ping") as resp:
            assert await resp.text() == "pong"
        assert not big_task.done()  # the big one is still being compressed
        release.set()
        coding, raw = await asyncio.wait_for(big_task, 30)
    assert seen == {"thread": seen["thread"], "released": True}
    assert seen["thread"] != loop_thread
    assert coding == "gzip"
    assert gzip.decompress(raw) == big


async def test_compressed_request_with_curl():
    async with TestClient(make_app()) as client:
        proc = await asyncio.create_subprocess_exec(
            "curl", "-sS", "-D", "-", "--compressed", client.url("/json"),
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
        out, err = await asyncio.wait_for(proc.communicate(), 20)
    assert proc.returncode == 0, err
    head, _, body = out.partition(b"\r\n\r\n")
    lines = head.decode().split("\r\n")
    headers = {k.strip().lower(): v.strip() for k, _, v in (line.partition(":")
                                                            for line in lines[1:])}
    assert lines[0].split()[1] == "200"
    assert headers["content-encoding"] in ("br", "zstd", "gzip")
    assert "accept-encoding" in headers["vary"].lower()
    assert int(headers["content-length"]) < len(BODY)
    assert body == BODY  # curl decoded it


async def test_responses_without_a_route_are_compressed_too():
    app = make_app()
    page = "<p>Nothing here.</p>" * 200
    app.set_errorhandler(404, lambda context, error: HTMLResponse(page, status=404))
    async with TestClient(app) as client, client.get("/missing",
                                                     headers={"Accept-Encoding": "br"}) as resp:
        assert resp.status == 404
        assert resp.headers["Content-Encoding"] == "br"
        assert brotli.decompress(await resp.read()).decode() == page
