"""Serving files over real HTTP: types, lengths, validators, index pages, mounts, headers."""

from __future__ import annotations

import threading

import pytest

from pyframe import FileResponse, PyFrameApp
from pyframe.testing import TestClient


@pytest.fixture
def app(site):
    app = PyFrameApp()
    app.add_static_path("/static/", str(site), headers={"Cache-Control": "public, max-age=60"})
    return app


async def test_a_file_with_its_type_length_and_validators(app):
    async with TestClient(app) as client, client.get("/static/hello.txt") as resp:
        assert resp.status == 200
        assert await resp.read() == b"hello world\n"
        assert resp.headers["Content-Type"] == "text/plain; charset=utf-8"
        assert resp.headers["Content-Length"] == "12"
        assert resp.headers["ETag"].startswith('"')
        assert resp.headers["Last-Modified"].endswith(" GMT")
        assert resp.headers["Accept-Ranges"] == "bytes"
        assert resp.headers["Cache-Control"] == "public, max-age=60"


async def test_head_sends_the_headers_only(app):
    async with TestClient(app) as client, client.head("/static/hello.txt") as resp:
        assert resp.status == 200
        assert resp.headers["Content-Length"] == "12"
        assert await resp.read() == b""


@pytest.mark.parametrize("name, content_type", [
    ("style.css", "text/css; charset=utf-8"),
    ("app.js", "text/javascript; charset=utf-8"),
    ("blob.unknownext", "application/octet-stream"),
    ("space%20name.txt", "text/plain; charset=utf-8"),
])
async def test_content_type_comes_from_the_name(app, name, content_type):
    async with TestClient(app) as client, client.get(f"/static/{name}") as resp:
        assert resp.status == 200
        assert resp.headers["Content-Type"] == content_type


async def test_a_gzip_file_asked_for_by_name_is_sent_as_gzip_data(app, site):
    async with TestClient(app) as client, client.get("/static/data.json.gz") as resp:
        assert resp.status == 200
        assert resp.headers["Content-Type"] == "application/gzip"
        assert "Content-Encoding" not in resp.headers
        assert await resp.read() == (site / "data.json.gz").read_bytes()


async def test_the_file_goes_out_as_a_file_response(app):
    # A FileResponse is sent by aiohttp with sendfile, never read whole into memory.
    seen = []

    async def spy(context, call_next):
        response = await call_next(context)
        seen.append(response)
        return response

    app.middleware.append(spy)
    async with TestClient(app) as client, client.get("/static/hello.txt") as resp:
        assert resp.status == 200
    assert isinstance(seen[0], FileResponse) and seen[0].body is None


async def test_filesystem_checks_run_off_the_event_loop(app, monkeypatch):
    import pyframe_static.mount as mount_module

    threads = []
    real_lookup = mount_module.lookup

    def recording_lookup(*args):
        threads.append(threading.get_ident())
        return real_lookup(*args)

    monkeypatch.setattr(mount_module, "lookup", recording_lookup)
    async with TestClient(app) as client, client.get("/static/hello.txt") as resp:
        assert resp.status == 200
    assert threads and threads[0] != threading.get_ident()


async def test_index_html_for_directories(app):
    async with TestClient(app) as client:
        async with client.get("/static/") as resp:
            assert resp.status == 200
            assert resp.headers["Content-Type"] == "text/html; charset=utf-8"
            assert await resp.read() == b"<h1>home</h1>"
        async with client.get("/static/sub/") as resp:
            assert await resp.read() == b"<h1>sub</h1>"
        async with client.get("/static", allow_redirects=False) as resp:
            assert resp.status == 301
            assert resp.headers["Location"] == "/static/"
        async with client.get("/static/sub?x=1", allow_redirects=False) as resp:
            assert resp.status == 301
            assert resp.headers["Location"] == "/static/sub/?x=1"
        # A folder without index.html: no listing, ever.
        async with client.get("/static/noindex/") as resp:
            assert resp.status == 404


async def test_index_can_be_turned_off(site):
    app = PyFrameApp()
    app.add_static_path("/static/", str(site), index=False)
    async with TestClient(app) as client:
        for path in ("/static", "/static/", "/static/sub/", "/static/sub"):
            async with client.get(path, allow_redirects=False) as resp:
                assert resp.status == 404, path
        async with client.get("/static/sub/index.html") as resp:
            assert resp.status == 200


async def test_missing_files_and_other_methods(app):
    async with TestClient(app) as client:
        async with client.get("/static/nope.txt") as resp:
            assert resp.status == 404
            assert await resp.json() == {"error": "Not Found"}
        async with client.post("/static/hello.txt") as resp:
            assert resp.status == 405
            assert resp.headers["Allow"] == "GET, HEAD"


async def test_several_mounts_each_with_its_headers(site, tmp_path):
    other = tmp_path / "assets"
    other.mkdir()
    (other / "logo.svg").write_bytes(b"<svg/>")
    app = PyFrameApp()
    app.add_static_path("/static/", str(site))
    app.add_static_path("/assets", str(other), headers={"Cache-Control": "max-age=31536000"})
    async with TestClient(app) as client:
        async with client.get("/assets/logo.svg") as resp:
            assert resp.status == 200
            assert resp.headers["Content-Type"] == "image/svg+xml"
            assert resp.headers["Cache-Control"] == "max-age=31536000"
        async with client.get("/static/hello.txt") as resp:
            assert resp.status == 200
            assert "Cache-Control" not in resp.headers
        async with client.get("/assets/hello.txt") as resp:
            assert resp.status == 404


async def test_config_file_mounts_and_code_mounts_together(site, tmp_path):
    assets = tmp_path / "assets"
    assets.mkdir()
    (assets / "a.txt").write_bytes(b"from config")
    config = tmp_path / "pyframe.toml"
    config.write_text(f'''
[[plugins.static.mounts]]
path = "/assets/"
directory = "{assets}"
headers = {{ X-Mount = "assets" }}
index = false
''')
    app = PyFrameApp(config=str(config))
    app.add_static_path("/static/", str(site))
    async with TestClient(app) as client:
        async with client.get("/assets/a.txt") as resp:
            assert (resp.status, await resp.read()) == (200, b"from config")
            assert resp.headers["X-Mount"] == "assets"
        async with client.get("/static/hello.txt") as resp:
            assert resp.status == 200


async def test_a_mount_at_the_root_leaves_other_routes_alone(site):
    app = PyFrameApp()
    app.add_static_path("/", str(site))

    @app.get("/api/ping")
    async def ping(context):
        return {"pong": True}

    async with TestClient(app) as client:
        async with client.get("/api/ping") as resp:
            assert await resp.json() == {"pong": True}
        async with client.get("/") as resp:
            assert await resp.read() == b"<h1>home</h1>"
        async with client.get("/hello.txt") as resp:
            assert await resp.read() == b"hello world\n"


async def test_symlinks_that_stay_inside_the_mount_are_followed(app):
    async with TestClient(app) as client, client.get("/static/inside.txt") as resp:
        assert (resp.status, await resp.read()) == (200, b"hello world\n")


async def test_an_app_route_at_the_bare_prefix_wins(site):
    app = PyFrameApp()
    app.add_static_path("/static/", str(site))
    app.get("/static")(lambda context: "the app's own page")
    async with TestClient(app) as client:
        async with client.get("/static") as resp:
            assert await resp.text() == "the app's own page"
        async with client.get("/static/hello.txt") as resp:
            assert resp.status == 200
