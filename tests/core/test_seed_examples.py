"""Every plugin-free example of the API reference behaves as the reference says."""

import pytest

from pyframe.testing import TestClient

from . import seed_examples


@pytest.fixture
async def client(tmp_path, monkeypatch):
    (tmp_path / "report.txt").write_bytes(b"uploaded bytes")
    pdf = tmp_path / "file.pdf"
    pdf.write_bytes(b"%PDF-1.4 tiny")
    monkeypatch.setattr(seed_examples, "UPLOADS", str(tmp_path))
    async with TestClient(seed_examples.create_app(str(pdf))) as client:
        yield client


async def fetch(client, path):
    async with client.get(path, allow_redirects=False) as resp:
        return resp.status, resp.headers, await resp.read()


async def test_route_with_params_and_query(client):
    status, _, body = await fetch(client, "/users/17?include=posts")
    assert status == 200 and body == b'{"user_id":"17","include":"posts"}'


async def test_basic_json_html_and_redirect_dicts(client):
    status, headers, body = await fetch(client, "/hello")
    assert (status, headers["Content-Type"], body) == (200, "text/plain", b"Hello, World!")
    status, headers, body = await fetch(client, "/api/users")
    assert headers["Content-Type"] == "application/json"
    assert body == b'[{"name": "ada"}, {"name": "grace"}]'
    status, headers, body = await fetch(client, "/dashboard")
    assert headers["Content-Type"] == "text/html" and body == b"<h1>Dashboard for None</h1>"
    status, headers, _ = await fetch(client, "/old-path")
    assert (status, headers["Location"]) == (302, "/new-path")


async def test_file_download_dict(client):
    status, headers, body = await fetch(client, "/download/report.txt")
    assert status == 200 and body == b"uploaded bytes"
    assert headers["Content-Disposition"] == 'attachment; filename="report.txt"'
    assert headers["Content-Length"] == "14"
    status, _, body = await fetch(client, "/download/missing.txt")
    assert (status, body) == (404, b"File not found")


async def test_response_helpers(client):
    assert (await fetch(client, "/api/data"))[2] == b'{"message":"Hello, API!"}'
    status, headers, body = await fetch(client, "/page")
    assert headers["Content-Type"] == "text/html; charset=utf-8" and body == b"<h1>Welcome</h1>"
    status, headers, _ = await fetch(client, "/redirect")
    assert (status, headers["Location"]) == (302, "/destination")
    status, headers, body = await fetch(client, "/file")
    assert status == 200 and body == b"%PDF-1.4 tiny"
    assert headers["Content-Disposition"] == 'attachment; filename="download.pdf"'


async def test_middleware_examples_add_their_headers(client):
    status, headers, _ = await fetch(client, "/hello")
    assert headers["X-Response-Time"].endswith("s")
    assert len(headers["X-Request-ID"]) == 36
    assert headers["X-Frame-Options"] == "DENY"
    assert headers["Content-Security-Policy"] == "default-src 'self'"


async def test_error_handling_middleware(client):
    status, _, body = await fetch(client, "/value-error")
    assert status == 400 and b'"message": "bad value"' in body
    status, _, body = await fetch(client, "/permission-error")
    assert status == 403 and b"not yours" in body
    status, _, body = await fetch(client, "/crash")
    assert status == 500 and body == b'{"error": "Internal Server Error"}'
    # A 404 from the router is a response, not an exception the middleware turns into a 500.
    status, _, _ = await fetch(client, "/nowhere")
    assert status == 404


async def test_metrics_middleware_and_endpoint(client):
    await fetch(client, "/hello")
    await fetch(client, "/nowhere")
    status, _, body = await fetch(client, "/admin/metrics")
    import json

    stats = json.loads(body)
    assert set(stats) == {"uptime_seconds", "request_count", "error_count", "error_rate",
                          "avg_response_time", "requests_per_second"}
    assert stats["request_count"] == 2 and stats["error_count"] == 1
