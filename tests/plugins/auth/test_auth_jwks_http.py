"""Keys from a JWKS URL, wired into the app: fetched at start-up (waited for, with a deadline),
used by ``kid``, refused while unavailable (503, never a hang), closed at shutdown."""

import asyncio
import time

import jwt
import pytest
from aiohttp import web
from structlog.testing import capture_logs

from pyframe.testing import TestClient
from pyframe_auth.middleware import AUTH

from .support import NOW, auth_app, bearer, jwk, private_pem

pytestmark = pytest.mark.usefixtures("isolated")


class JWKSServer:
    """A real HTTP server for the key set, on 127.0.0.1; ``down`` makes it answer 503."""

    def __init__(self, document):
        self.document = document
        self.down = False
        self.requests = 0

    async def handle(self, request):
        self.requests += 1
        if self.down:
            return web.Response(status=503, text="down")
        return web.json_response(self.document)


@pytest.fixture
async def jwks(rsa_private):
    server = JWKSServer({"keys": [jwk(rsa_private, "RS256", "key-1")]})
    app = web.Application()
    app.router.add_get("/jwks.json", server.handle)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    server.url = f"http://127.0.0.1:{site._server.sockets[0].getsockname()[1]}/jwks.json"
    yield server
    await runner.cleanup()


def rs256(rsa_private, kid, **claims):
    payload = {"sub": "alice", "iat": int(NOW), "exp": int(NOW) + 600, **claims}
    return jwt.encode(payload, private_pem(rsa_private), algorithm="RS256",
                      headers={"kid": kid})


def jwks_app(clock, url, **settings):
    app = auth_app(clock, secret_key=None, algorithms=["RS256"], jwks_url=url, sessions=False,
                   **settings)
    app.get("/me")(lambda context: {"id": context.user.id})
    return app


async def status_of(client, token):
    async with client.get("/me", headers=bearer(token)) as resp:
        return resp.status


async def test_tokens_are_checked_against_the_fetched_keys(clock, jwks, rsa_private,
                                                           other_rsa_private):
    app = jwks_app(clock, jwks.url, allowed_kids=["key-1"])
    async with TestClient(app) as client:
        assert jwks.requests == 1  # fetched before the first request was served
        assert await status_of(client, rs256(rsa_private, "key-1")) == 200
        assert await status_of(client, rs256(other_rsa_private, "key-1")) == 401
        assert await status_of(client, rs256(rsa_private, "key-2")) == 401  # unknown kid
        client_state = app.state[AUTH].parts.jwks_client
    assert client_state.state.status == "closed"  # stopped with the app


async def test_start_up_waits_a_bounded_time_then_serves_with_503_for_tokens(clock, jwks,
                                                                             rsa_private):
    jwks.down = True
    app = jwks_app(clock, jwks.url, jwks_startup_timeout=0.2)
    app.get("/open", auth=False)(lambda context: "still serving")
    started = time.monotonic()
    with capture_logs() as logs:
        async with TestClient(app) as client:
            assert time.monotonic() - started < 5
            assert [e["state"] for e in logs if e["event"] == "auth_jwks_not_ready"] == \
                ["unavailable"]
            async with client.get("/me", headers=bearer(rs256(rsa_private, "key-1"))) as resp:
                assert resp.status == 503 and resp.headers["Retry-After"] == "1"
                assert await resp.json() == {"error": "temporarily_unavailable", "detail":
                                             "Authentication is temporarily unavailable."}
            async with client.get("/open") as resp:
                assert resp.status == 200
            jwks.down = False  # the URL comes back: the client's retry picks the keys up
            deadline = time.monotonic() + 10
            while await status_of(client, rs256(rsa_private, "key-1")) != 200:
                assert time.monotonic() < deadline, "the keys never arrived"
                await asyncio.sleep(0.05)  # a poll interval, with the deadline above
