"""Tampered, forged, oversized and odd session cookies against the auth plugin, sent as raw
bytes, on the signed cookie and on server-side sessions.

Each is refused as an anonymous request (401 on a protected path, never a 500, never the
session it pretends to be), the bad cookie is cleared, and a normal request is still served.
"""

from __future__ import annotations

import base64
import json
import secrets
import time
import zlib

import pytest
from itsdangerous import URLSafeSerializer

from pyframe.testing import TestClient
from pyframe_auth import login, new_session_id

from .support import assert_still_serving, exchange

SECRET = secrets.token_urlsafe(32)


def session_app(make_app, **settings):
    app = make_app()
    app.plugins.enable("auth", secret_key=SECRET, exclude_paths=["/", "/login"], **settings)
    app.get("/admin")(lambda context: {"admin": context.user.id})

    @app.post("/login")
    async def do_login(context):
        login(context, "guest")
        return "in"

    return app


@pytest.fixture
async def port(make_app):
    async with TestClient(session_app(make_app)) as client:
        yield client.port


@pytest.fixture
async def server_port(make_app):
    async with TestClient(session_app(make_app, session_backend="memory://")) as client:
        yield client.port


async def get_admin(port: int, cookie: bytes):
    response = await exchange(port, b"GET /admin HTTP/1.1\r\nHost: hostile.test\r\nCookie: "
                                    + cookie + b"\r\n\r\n")
    assert response is not None, "the server closed instead of answering"
    return response


async def logged_in(port: int) -> bytes:
    """A genuine session cookie (``session=<value>``) of the user "guest"."""
    response = await exchange(port, b"POST /login HTTP/1.1\r\nHost: hostile.test\r\n"
                                    b"Content-Length: 0\r\n\r\n")
    assert response.status == 200
    return response.header("Set-Cookie").split(";")[0].encode()


async def refused(port: int, cookie: bytes, *, cleared: bool = True) -> None:
    response = await get_admin(port, cookie)
    assert response.status == 401, response.body[:300]
    assert response.json() == {"error": "unauthorized", "detail": "Authentication is required."}
    if cleared:
        assert any(v.startswith("session=;") for v in response.all("Set-Cookie"))
    await assert_still_serving(port)


def unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


async def test_a_genuine_cookie_works(port):
    assert (await get_admin(port, await logged_in(port))).json() == {"admin": "guest"}


async def test_every_flipped_payload_byte_is_refused(port):
    cookie = (await logged_in(port)).decode()
    value = cookie.split("=", 1)[1]
    payload, signature = value.rsplit(".", 1)
    for index in range(0, len(payload), max(1, len(payload) // 8)):
        flipped = payload[:index] + ("A" if payload[index] != "A" else "B") + payload[index + 1:]
        await refused(port, f"session={flipped}.{signature}".encode())


async def test_a_rewritten_user_with_the_old_signature(port):
    value = (await logged_in(port)).decode().split("=", 1)[1]
    payload, signature = value.rsplit(".", 1)
    forged = base64.urlsafe_b64encode(json.dumps(
        [1, int(time.time()), {"_auth": {"id": "admin"}}]).encode()).rstrip(b"=").decode()
    await refused(port, f"session={forged}.{signature}".encode())


async def test_a_cookie_signed_with_a_guessed_key(port):
    for guess in ("your-secret-key", "secret", "changeme", ""):
        serializer = URLSafeSerializer(guess or "x", salt="pyframe_auth.session")
        forged = serializer.dumps([1, int(time.time()), {"_auth": {"id": "admin"}}])
        await refused(port, f"session={forged}".encode())


async def test_no_signature_at_all(port):
    payload = base64.urlsafe_b64encode(b'[1,0,{"_auth":{"id":"admin"}}]').rstrip(b"=")
    for value in (payload, payload + b".", b"." + payload, b"", b"."):
        await refused(port, b"session=" + value, cleared=bool(value))


async def test_an_unsigned_compressed_bomb_is_never_inflated(port):
    # itsdangerous marks zlib payloads with a leading "."; the signature is checked first.
    bomb = base64.urlsafe_b64encode(zlib.compress(b"[" * 3_000_000, 9)).rstrip(b"=")
    assert len(bomb) < 4000
    await refused(port, b"session=." + bomb + b".AAAA")


async def test_an_oversized_cookie_is_refused_before_any_hmac(port):
    await refused(port, b"session=" + b"A" * 6000 + b".sig")


async def test_many_cookies_and_duplicates(port):
    genuine = await logged_in(port)
    junk = b"; ".join(b"c%d=%d" % (i, i) for i in range(300))
    assert (await get_admin(port, junk + b"; " + genuine)).json() == {"admin": "guest"}
    # A planted second "session" before the genuine one: the first is taken, and refused.
    await refused(port, b"session=forged.value; " + genuine)


async def test_bytes_that_are_not_text_in_the_cookie(port):
    await refused(port, b"session=\xff\xfe\xfd; other=\x80", cleared=True)


async def test_a_quoted_cookie_value_is_read_as_its_content(port):
    genuine = await logged_in(port)
    name, _, value = genuine.partition(b"=")
    assert (await get_admin(port, name + b'="' + value + b'"')).json() == {"admin": "guest"}


async def test_server_side_a_planted_id_is_never_adopted(server_port):
    planted = new_session_id().encode()
    await refused(server_port, b"session=" + planted)
    response = await exchange(server_port, b"POST /login HTTP/1.1\r\nHost: hostile.test\r\n"
                                           b"Cookie: session=" + planted + b"\r\n"
                                           b"Content-Length: 0\r\n\r\n")
    issued = response.header("Set-Cookie").split(";")[0].encode()
    assert issued != b"session=" + planted
    await refused(server_port, b"session=" + planted)  # the planted id is still nobody's


@pytest.mark.parametrize("value", [b"../../../etc/passwd", b"*", b"x" * 4000, b"%00" * 10,
                                   b"pyframe:auth:session:*", b"\t"])
async def test_server_side_ids_that_are_not_ids(server_port, value):
    await refused(server_port, b"session=" + value)
