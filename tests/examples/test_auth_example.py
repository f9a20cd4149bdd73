"""The auth example (examples/auth/app.py) driven over real HTTP as a browser and an API
client would: the login form, the protected page, logout, CSRF, and a bearer token."""

import importlib.util
import secrets
from pathlib import Path

import aiohttp
import pytest

from pyframe.testing import TestClient

EXAMPLE = Path(__file__).parents[2] / "examples" / "auth" / "app.py"
BROWSER = {"Accept": "text/html,application/xhtml+xml,*/*;q=0.8"}


@pytest.fixture(scope="module")
def example():
    """The example module, imported once: it hashes its users' passwords at import."""
    spec = importlib.util.spec_from_file_location("pyframe_auth_example_app", EXAMPLE)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture
async def served(example, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # no stray pyframe.toml
    monkeypatch.setenv("APP_SECRET", secrets.token_urlsafe(32))
    async with TestClient(example.create_app()) as client:
        # A browser: it keeps cookies (for 127.0.0.1 too) and follows no redirect unasked.
        jar = aiohttp.CookieJar(unsafe=True)
        async with aiohttp.ClientSession(cookie_jar=jar, headers=BROWSER) as browser:
            yield client, browser


async def test_login_protected_page_and_logout(served):
    client, browser = served
    url = client.url
    async with browser.get(url("/account"), allow_redirects=False) as resp:
        assert resp.status == 303 and resp.headers["Location"] == "/?next=/account"
    async with browser.get(url("/?next=/account")) as resp:
        assert "<form method=post action=/login>" in await resp.text()
    async with browser.post(url("/login"), data={"username": "ada", "password": "wrong",
                                                 "next": "/account"}) as resp:
        assert resp.status == 401 and "Wrong user name or password" in await resp.text()
    async with browser.post(url("/login"), allow_redirects=False, data={
            "username": "ada", "password": "correct horse", "next": "/account"}) as resp:
        assert resp.status == 303 and resp.headers["Location"] == "/account"
        assert "HttpOnly" in resp.headers["Set-Cookie"]
    async with browser.get(url("/account")) as resp:
        assert resp.status == 200 and "Hello, Ada Lovelace (user 1)" in await resp.text()
    async with browser.get(url("/api/me")) as resp:
        assert await resp.json() == {"id": 1, "name": "Ada Lovelace"}
    async with browser.post(url("/logout"), allow_redirects=False) as resp:
        assert resp.status == 303 and "Max-Age=0" in resp.headers["Set-Cookie"]
    async with browser.get(url("/account"), allow_redirects=False) as resp:
        assert resp.status == 303  # logged out: back to the form


async def test_a_cross_site_form_cannot_log_anyone_out_or_in(served):
    client, browser = served
    async with browser.post(client.url("/login"), data={"username": "brian", "password":
                                                         "hunter22"}) as resp:
        assert resp.status == 200
    evil = {"Origin": "https://evil.example", "Sec-Fetch-Site": "cross-site"}
    async with browser.post(client.url("/logout"), headers=evil) as resp:
        assert resp.status == 403
    async with browser.get(client.url("/api/me")) as resp:
        assert (await resp.json())["name"] == "Brian Kernighan"  # still logged in


async def test_the_next_parameter_never_leaves_the_site(served):
    client, browser = served
    async with browser.post(client.url("/login"), allow_redirects=False, data={
            "username": "ada", "password": "correct horse", "next": "//evil.example/"}) as resp:
        assert resp.headers["Location"] == "/account"


async def test_an_api_client_with_a_bearer_token(served):
    client, _ = served
    async with client.post("/api/token", json={"username": "brian",
                                               "password": "nope"}) as resp:
        assert resp.status == 401
    async with client.post("/api/token", json={"username": "brian",
                                               "password": "hunter22"}) as resp:
        grant = await resp.json()
    assert grant["token_type"] == "Bearer" and grant["expires_in"] == 900
    headers = {"Authorization": f"Bearer {grant['access_token']}"}
    async with client.get("/api/me", headers=headers) as resp:
        assert await resp.json() == {"id": 2, "name": "Brian Kernighan"}
    async with client.get("/api/me") as resp:
        assert resp.status == 401 and resp.headers["WWW-Authenticate"] == "Bearer"
        assert (await resp.json())["error"] == "unauthorized"
