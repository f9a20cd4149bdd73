"""HTTPS from cert and key files or an SSLContext, and the HTTP-to-HTTPS redirect server."""

from __future__ import annotations

import shutil

import aiohttp
import pytest

from pyframe import PyFrameApp
from pyframe.redirect import RedirectServer
from pyframe.serving import tls_context
from pyframe.testing import TestClient

from .support import client_context, make_certificate, raw_exchange

pytestmark = pytest.mark.skipif(shutil.which("openssl") is None, reason="needs the openssl CLI")


@pytest.fixture(scope="module")
def certificate(tmp_path_factory):
    return make_certificate(tmp_path_factory.mktemp("tls"))


def hello_app(config: str = "", directory=None) -> PyFrameApp:
    path = None
    if config:
        path = directory / "pyframe.toml"
        path.write_text(config)
    app = PyFrameApp(config=str(path) if path else None)

    @app.get("/")
    async def index(context):
        return {"secure": context.request.secure, "path": context.full_path}

    return app


async def test_https_from_config_files(tmp_path, certificate):
    cert, key = certificate
    app = hello_app(f"[server]\ntls_cert = {cert!r}\ntls_key = {key!r}\n", tmp_path)
    async with TestClient(app) as client:
        assert client.url("/").startswith("https://")
        async with client.get("/", ssl=client_context(cert)) as resp:
            assert resp.status == 200
            assert await resp.json() == {"secure": True, "path": "/"}
        # A client that does not trust the certificate is refused by its own TLS check.
        with pytest.raises(aiohttp.ClientConnectorCertificateError):
            await client.get("/")


async def test_https_from_an_ssl_context(certificate):
    cert, key = certificate
    async with TestClient(hello_app(), ssl_context=tls_context(cert, key)) as client:
        async with client.get("/", ssl=client_context(cert)) as resp:
            assert (await resp.json())["secure"] is True


def test_unreadable_certificate_is_a_clear_error(tmp_path):
    with pytest.raises(ValueError, match="cannot load the TLS certificate"):
        tls_context(str(tmp_path / "missing.pem"), str(tmp_path / "missing.key"))


async def test_redirect_keeps_path_and_query():
    redirect = RedirectServer("127.0.0.1", 0, "https://example.com:8443/")
    await redirect.start()
    try:
        base = f"http://127.0.0.1:{redirect.port}"
        async with aiohttp.ClientSession() as session:
            for method in ("GET", "POST", "HEAD"):
                async with session.request(method, base + "/a/b%20c?x=1&y=2",
                                           allow_redirects=False) as resp:
                    assert resp.status == 308
                    assert resp.headers["Location"] == "https://example.com:8443/a/b%20c?x=1&y=2"
        # The target is kept byte for byte (no re-encoding of %2F in the query).
        response = await raw_exchange(redirect.port, b"GET /a/b%20c?x=1&y=%2F HTTP/1.1\r\n"
                                                     b"Host: h\r\nConnection: close\r\n\r\n")
        assert b"Location: https://example.com:8443/a/b%20c?x=1&y=%2F\r\n" in response
        # An absolute-form request line cannot steer the redirect to another host.
        response = await raw_exchange(redirect.port,
                                      b"GET http://evil.example/x?q HTTP/1.1\r\n"
                                      b"Host: evil.example\r\nConnection: close\r\n\r\n")
        assert b"Location: https://example.com:8443/x?q\r\n" in response
    finally:
        await redirect.stop()


async def test_redirect_with_a_path_prefix_and_status():
    redirect = RedirectServer("127.0.0.1", 0, "https://example.com/app", status=301)
    await redirect.start()
    try:
        async with aiohttp.ClientSession() as session, session.get(
                f"http://127.0.0.1:{redirect.port}/login", allow_redirects=False) as resp:
            assert resp.status == 301
            assert resp.headers["Location"] == "https://example.com/app/login"
    finally:
        await redirect.stop()


@pytest.mark.parametrize("destination, status", [
    ("example.com", 308), ("ftp://example.com", 308), ("https://example.com/?a=1", 308),
    ("https://example.com", 200),
])
def test_redirect_rejects_bad_settings(destination, status):
    with pytest.raises(ValueError):
        RedirectServer("127.0.0.1", 0, destination, status=status)


async def test_http_front_door_to_https(certificate):
    cert, key = certificate
    async with TestClient(hello_app(), ssl_context=tls_context(cert, key)) as client:
        redirect = RedirectServer("127.0.0.1", 0, f"https://127.0.0.1:{client.port}")
        await redirect.start()
        try:
            async with aiohttp.ClientSession() as session, session.get(
                    f"http://127.0.0.1:{redirect.port}/?from=http",
                    ssl=client_context(cert)) as resp:
                assert resp.status == 200
                assert str(resp.url) == f"https://127.0.0.1:{client.port}/?from=http"
                assert await resp.json() == {"secure": True, "path": "/?from=http"}
        finally:
            await redirect.stop()
