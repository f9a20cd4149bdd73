"""Sessions over real HTTP: the signed cookie (persistence, changes and non-changes, tampering,
the size limit), login and logout, and the CSRF check for requests that ride on the cookie."""

import base64
import os

import pytest
from structlog.testing import capture_logs

from pyframe import JSONResponse
from pyframe.testing import TestClient
from pyframe_auth import SessionTooLarge, login, login_required, logout

from .support import SECRET, auth_app, bearer, cookie_of, issue

pytestmark = pytest.mark.usefixtures("isolated")


def incompressible(size):
    """Random text: the cookie codec compresses what it can, and this it cannot."""
    return base64.b64encode(os.urandom(size))[:size].decode()


def session_routes(app):
    @app.get("/count")
    async def count(context):
        context.session["n"] = context.session.get("n", 0) + 1
        return {"n": context.session["n"]}

    @app.get("/peek")
    async def peek(context):
        return {"keys": sorted(context.session)}

    @app.get("/untouched")
    async def untouched(context):
        return "no session read"

    @app.post("/cart")
    async def cart(context):
        context.session.setdefault("cart", [])
        context.session["cart"].append(context.json["item"])  # a nested change
        return {"cart": context.session["cart"]}

    @app.post("/big")
    async def big(context):
        try:
            context.session["blob"] = context.json["blob"]
        except SessionTooLarge as exc:
            return JSONResponse({"refused": str(exc)}, status=413)
        return {"stored": True}

    @app.post("/login")
    async def do_login(context):
        login(context, context.json["user"], roles=context.json.get("roles", []))
        return {"user": context.user.id}

    @app.post("/logout")
    async def do_logout(context):
        logout(context)
        return {"user": None}

    @app.get("/me")
    @login_required
    async def me(context):
        return {"id": context.user.id, "via": context.user.via, "roles": sorted(context.user.roles)}

    return app


class Jar:
    """The one cookie a browser would keep for the app."""

    def __init__(self, client, name="session"):
        self.client, self.name, self.value = client, name, None

    def headers(self, extra=None):
        headers = dict(extra or {})
        if self.value:
            headers["Cookie"] = f"{self.name}={self.value}"
        return headers

    async def call(self, method, path, *, json=None, headers=None):
        async with self.client.request(method, path, json=json,
                                       headers=self.headers(headers)) as resp:
            given = cookie_of(resp, self.name)
            if given is not None:
                self.value = given or None
            body = await resp.json() if resp.content_type == "application/json" else None
            return resp, body


@pytest.fixture
async def cookie_app(clock):
    app = session_routes(auth_app(clock, require_auth=False))
    async with TestClient(app) as client:
        yield client


async def test_the_session_persists_in_a_signed_cookie(cookie_app):
    jar = Jar(cookie_app)
    for expected in (1, 2, 3):
        resp, body = await jar.call("GET", "/count")
        assert body == {"n": expected}
    header = resp.headers["Set-Cookie"]
    assert "HttpOnly" in header and "SameSite=Lax" in header and "Path=/" in header
    assert "Secure" not in header  # plain HTTP here; Secure comes with TLS
    assert "Max-Age=1209600" in header
    assert resp.headers["Vary"] == "Cookie"


async def test_an_unchanged_session_sets_no_cookie(cookie_app):
    jar = Jar(cookie_app)
    await jar.call("GET", "/count")
    resp, body = await jar.call("GET", "/peek")
    assert body == {"keys": ["n"]} and "Set-Cookie" not in resp.headers
    assert resp.headers["Vary"] == "Cookie"  # it was read: caches must tell sessions apart
    resp, _ = await jar.call("GET", "/untouched")
    assert "Set-Cookie" not in resp.headers and "Vary" not in resp.headers


async def test_a_new_session_left_empty_sets_no_cookie(cookie_app):
    resp, body = await Jar(cookie_app).call("GET", "/peek")
    assert body == {"keys": []} and "Set-Cookie" not in resp.headers


async def test_a_nested_change_is_saved(cookie_app):
    jar = Jar(cookie_app)
    await jar.call("POST", "/cart", json={"item": "apple"})
    resp, body = await jar.call("POST", "/cart", json={"item": "pear"})
    assert body == {"cart": ["apple", "pear"]} and "Set-Cookie" in resp.headers


async def test_a_tampered_cookie_starts_a_new_session(cookie_app):
    jar = Jar(cookie_app)
    await jar.call("POST", "/login", json={"user": "alice", "roles": ["admin"]})
    payload, signature = jar.value.split(".")
    forged = Jar(cookie_app)
    changed = "A" if payload[-2] != "A" else "B"
    forged.value = f"{payload[:-2]}{changed}{payload[-1]}.{signature}"
    with capture_logs() as logs:
        resp, _ = await forged.call("GET", "/me")
    assert resp.status == 401
    assert [e["reason"] for e in logs if e["event"] == "auth_session_refused"] == ["bad_signature"]
    assert cookie_of(resp) == ""  # the bad cookie is cleared
    resp, body = await jar.call("GET", "/me")
    assert body == {"id": "alice", "via": "session", "roles": ["admin"]}


async def test_a_cookie_signed_with_another_key_is_refused(clock):
    from pyframe_auth import SessionCookieCodec

    app = session_routes(auth_app(clock, require_auth=False))
    other = SessionCookieCodec("q" * 12 + SECRET[12:], clock=clock)
    async with TestClient(app) as client:
        jar = Jar(client)
        jar.value = other.dumps({"_auth": {"id": "admin"}})
        resp, _ = await jar.call("GET", "/me")
        assert resp.status == 401


async def test_a_session_too_big_for_a_cookie_fails_where_the_app_sets_it(cookie_app):
    jar = Jar(cookie_app)
    resp, body = await jar.call("POST", "/big", json={"blob": incompressible(100)})
    assert body == {"stored": True}
    resp, body = await jar.call("POST", "/big", json={"blob": incompressible(5000)})
    assert resp.status == 413 and "browsers drop cookies over 4096 bytes" in body["refused"]
    assert "Set-Cookie" not in resp.headers  # the refused value was taken back, nothing changed
    resp, body = await jar.call("GET", "/peek")
    assert body == {"keys": ["blob"]}


async def test_a_session_that_grows_too_big_in_place_is_an_error_not_a_lost_cookie(cookie_app):
    jar = Jar(cookie_app)
    for _ in range(3):  # each item fits; the list grows past 4 096 bytes in place
        resp, _ = await jar.call("POST", "/cart", json={"item": incompressible(1500)})
    assert resp.status == 500 and "Set-Cookie" not in resp.headers


async def test_login_starts_a_new_session_and_logout_ends_it(cookie_app):
    jar = Jar(cookie_app)
    await jar.call("GET", "/count")
    before = jar.value
    resp, body = await jar.call("POST", "/login", json={"user": 42, "roles": ["editor"]})
    assert body == {"user": 42} and jar.value != before
    resp, body = await jar.call("GET", "/me")
    assert body == {"id": 42, "via": "session", "roles": ["editor"]}
    resp, body = await jar.call("GET", "/count")
    assert body == {"n": 2}  # the data before the login stays
    resp, _ = await jar.call("POST", "/logout")
    assert cookie_of(resp) == "" and "Max-Age=0" in resp.headers["Set-Cookie"]
    resp, _ = await jar.call("GET", "/me")
    assert resp.status == 401


async def test_a_logged_in_session_authenticates_protected_routes(clock):
    app = session_routes(auth_app(clock, exclude_paths=["/login"]))
    async with TestClient(app) as client:
        jar = Jar(client)
        assert (await jar.call("GET", "/peek"))[0].status == 401
        await jar.call("POST", "/login", json={"user": "alice"})
        resp, body = await jar.call("GET", "/peek")
        assert resp.status == 200 and resp.headers["Vary"] == "Cookie"


@pytest.mark.parametrize("headers, status", [
    ({"Origin": "https://evil.example"}, 403),
    ({"Origin": "null"}, 403),
    ({"Sec-Fetch-Site": "cross-site"}, 403),
    ({"Sec-Fetch-Site": "same-site"}, 403),
    ({"Sec-Fetch-Site": "cross-site", "Origin": "https://evil.example"}, 403),
    ({"Sec-Fetch-Site": "same-origin"}, 200),
    ({"Sec-Fetch-Site": "none"}, 200),
    ({}, 200),  # no browser sent it: it cannot carry a victim's cookie against their will
])
async def test_csrf_refuses_cross_site_writes_that_ride_on_the_cookie(cookie_app, headers, status):
    jar = Jar(cookie_app)
    await jar.call("POST", "/login", json={"user": "alice"})
    with capture_logs() as logs:
        resp, body = await jar.call("POST", "/cart", json={"item": "x"}, headers=headers)
    assert resp.status == status
    if status == 403:
        assert body == {"error": "cross_site_request",
                        "detail": "Cross-site requests that change state are refused."}
        assert [e["event"] for e in logs if e["event"].startswith("auth_")] == ["auth_csrf_refused"]


async def test_the_own_origin_is_same_origin(cookie_app):
    jar = Jar(cookie_app)
    origin = f"http://127.0.0.1:{cookie_app.port}"
    resp, _ = await jar.call("POST", "/cart", json={"item": "x"}, headers={"Origin": origin})
    assert resp.status == 200


async def test_a_bearer_token_needs_no_csrf_check(clock):
    app = session_routes(auth_app(clock, require_auth=False))
    async with TestClient(app) as client:
        resp, _ = await Jar(client).call("POST", "/cart", json={"item": "x"}, headers={
            "Origin": "https://other.example", **bearer(issue(clock))})
        assert resp.status == 200
        resp, _ = await Jar(client).call("POST", "/cart", json={"item": "x"}, headers={
            "Origin": "https://other.example", **bearer("not.a.token")})
        assert resp.status == 403  # only a valid token proves it did not ride on the cookie


async def test_login_csrf_is_refused_too(cookie_app):
    # No cookie yet: a cross-site form must not log the victim into the attacker's account.
    resp, _ = await Jar(cookie_app).call("POST", "/login", json={"user": "mallory"},
                                         headers={"Sec-Fetch-Site": "cross-site"})
    assert resp.status == 403 and "Set-Cookie" not in resp.headers


@pytest.mark.parametrize("settings, headers, status", [
    ({"csrf_trusted_origins": ["https://app.example"]}, {"Origin": "https://app.example"}, 200),
    ({"csrf_trusted_origins": ["https://app.example"]}, {"Origin": "https://evil.example"}, 403),
    ({"csrf": False}, {"Origin": "https://evil.example"}, 200),
    ({"csrf_allow_without_headers": False}, {}, 403),
])
async def test_csrf_settings(clock, settings, headers, status):
    app = session_routes(auth_app(clock, require_auth=False, **settings))
    async with TestClient(app) as client:
        resp, _ = await Jar(client).call("POST", "/cart", json={"item": "x"}, headers=headers)
        assert resp.status == status


async def test_cookie_attributes_are_configurable(clock):
    app = session_routes(auth_app(clock, require_auth=False, session_max_age=3600,
                                  session_cookie={"name": "sid", "host_prefix": True,
                                                  "same_site": "Strict"}))
    async with TestClient(app) as client:
        resp, _ = await Jar(client, "__Host-sid").call("GET", "/count")
        header = resp.headers["Set-Cookie"]
        assert header.startswith("__Host-sid=") and "Secure" in header
        assert "SameSite=Strict" in header and "Max-Age=3600" in header


async def test_the_absolute_lifetime_of_a_cookie_session(clock):
    app = session_routes(auth_app(clock, require_auth=False, session_max_age=3600))
    async with TestClient(app) as client:
        jar = Jar(client)
        await jar.call("POST", "/login", json={"user": "alice"})
        clock.advance(3000)
        assert (await jar.call("GET", "/count"))[1] == {"n": 1}  # saved again: same start
        clock.advance(700)
        resp, _ = await jar.call("GET", "/me")
        assert resp.status == 401


async def test_sessions_can_be_switched_off(clock):
    app = auth_app(clock, sessions=False)
    app.get("/")(lambda context: {"user": context.user.id})
    async with TestClient(app) as client:
        async with client.post("/", headers={"Origin": "https://evil.example",
                                             **bearer(issue(clock))}) as resp:
            assert resp.status == 405  # no CSRF check without sessions; the route is GET only
        async with client.get("/", headers=bearer(issue(clock))) as resp:
            assert resp.status == 200 and "Set-Cookie" not in resp.headers
