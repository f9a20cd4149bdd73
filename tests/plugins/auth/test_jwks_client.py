"""The JWKS URL client against a real aiohttp server on 127.0.0.1: loading, failing, recovering.

The client's wait between attempts is replaced by ``Steps``, which records the delay asked for
and lets the next attempt go only when the test says so: the backoff is checked, not waited out.
"""

from __future__ import annotations

import asyncio

import jwt
import pytest
import pytest_asyncio
from aiohttp import web
from structlog.testing import capture_logs

from pyframe_auth import AuthError, JWKSClient, Reason, TokenVerifier
from pyframe_auth import jwks_client as jwks_client_module

from .support import NOW, jwk, private_pem


class JWKSServer:
    def __init__(self) -> None:
        self.document: dict = {"keys": []}
        self.status = 200
        self.requests = 0
        self.hang = False
        self.released = asyncio.Event()
        self.body: bytes | None = None
        self.url = ""

    async def handle(self, request: web.Request) -> web.StreamResponse:
        self.requests += 1
        if self.hang:
            await self.released.wait()
        if self.status in (301, 302):
            raise web.HTTPFound("https://elsewhere.example/jwks")
        if self.status != 200:
            return web.Response(status=self.status, text="down")
        if self.body is not None:  # streamed, with no Content-Length to trust
            response = web.StreamResponse()
            response.enable_chunked_encoding()
            await response.prepare(request)
            for start in range(0, len(self.body), 1000):
                await response.write(self.body[start:start + 1000])
            await response.write_eof()
            return response
        return web.json_response(self.document)


@pytest_asyncio.fixture
async def server(rsa_private):
    jwks = JWKSServer()
    jwks.document = {"keys": [jwk(rsa_private, "RS256", "rsa-1")]}
    app = web.Application()
    app.router.add_get("/jwks", jwks.handle)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    jwks.url = f"http://127.0.0.1:{port}/jwks"
    yield jwks
    jwks.released.set()
    await runner.cleanup()


class Steps:
    """The client's sleeper: records each delay; the next attempt waits for a permit (or for the
    client's own wake-up, as an unknown kid gives)."""

    def __init__(self) -> None:
        self.delays: list[float] = []
        self._permits = asyncio.Semaphore(0)

    def allow(self, attempts: int = 1) -> None:
        for _ in range(attempts):
            self._permits.release()

    async def __call__(self, delay: float, wake: asyncio.Event) -> None:
        self.delays.append(delay)
        permit = asyncio.ensure_future(self._permits.acquire())
        woken = asyncio.ensure_future(wake.wait())
        _, pending = await asyncio.wait({permit, woken}, return_when=asyncio.FIRST_COMPLETED)
        for task in pending:
            task.cancel()


@pytest_asyncio.fixture
async def steps():
    return Steps()


def token(rsa_private, kid="rsa-1"):
    return jwt.encode({"sub": "7", "exp": NOW + 60}, private_pem(rsa_private), algorithm="RS256",
                      headers={"kid": kid})


def make_client(server, steps, clock, **options):
    defaults = dict(algorithms=["RS256"], retry_initial=0.5, retry_max=2.0, jitter=0.0,
                    refresh_interval=300.0, min_refresh_interval=0.0, sleep=steps, clock=clock)
    return JWKSClient(server.url, **{**defaults, **options})


async def test_loads_and_verifies(server, steps, clock, rsa_private):
    client = make_client(server, steps, clock)
    verifier = TokenVerifier(client, clock=clock)
    await client.start()
    try:
        assert await client.wait_ready(5)
        state = client.state
        assert (state.status, state.keys, state.last_success_at) == ("ready", 1, clock.now)
        assert verifier.verify(token(rsa_private)).kid == "rsa-1"
        assert steps.delays == [300.0]  # next refresh after the interval
        assert client.state.next_attempt_in == 300.0
    finally:
        await client.aclose()
    assert client.state.status == "closed"


async def test_failing_then_recovering(server, steps, clock, rsa_private):
    server.status = 503
    client = make_client(server, steps, clock)
    verifier = TokenVerifier(client, clock=clock)
    with capture_logs() as logs:
        await client.start()
        try:
            state = await client.wait_for(lambda s: s.consecutive_failures == 1, 5)
            assert (state.status, state.last_error) == ("unavailable", "http_503")
            with pytest.raises(AuthError) as caught:
                verifier.verify(token(rsa_private))
            assert caught.value.reason is Reason.KEYS_UNAVAILABLE

            steps.allow(3)
            await client.wait_for(lambda s: s.consecutive_failures == 4, 5)
            assert steps.delays == [0.5, 1.0, 2.0, 2.0]  # doubling, capped at retry_max
            assert server.requests == 4

            server.status = 200
            steps.allow()
            state = await client.wait_for(lambda s: s.status == "ready", 5)
            assert state.consecutive_failures == 0 and state.last_error is None
            assert steps.delays[-1] == 300.0
            assert verifier.verify(token(rsa_private)).subject == "7"
        finally:
            await client.aclose()
    events = [entry["event"] for entry in logs]
    assert events.count("auth_jwks_unavailable") == 4
    assert "auth_jwks_recovered" in events
    assert all(entry.get("url") == server.url for entry in logs if "url" in entry)


async def test_stale_keys_keep_working_while_the_url_is_down(server, steps, clock, rsa_private):
    client = make_client(server, steps, clock)
    verifier = TokenVerifier(client, clock=clock)
    await client.start()
    try:
        await client.wait_ready(5)
        server.status = 500
        # A token naming a key the set lacks asks for an early refresh...
        with pytest.raises(AuthError) as caught:
            verifier.verify(token(rsa_private, kid="rsa-2"))
        assert caught.value.reason is Reason.UNKNOWN_KID
        state = await client.wait_for(lambda s: s.status == "stale", 5)
        assert (state.keys, state.last_error) == (1, "http_500")
        assert verifier.verify(token(rsa_private)).kid == "rsa-1"
        # ...but not while the URL is failing: the backoff stands.
        client.note_unknown_kid("rsa-2")
        assert not client.refresh_pending
    finally:
        await client.aclose()


async def test_a_rotated_key_is_fetched_when_a_token_names_it(server, steps, clock, rsa_private,
                                                             other_rsa_private):
    client = make_client(server, steps, clock)
    verifier = TokenVerifier(client, clock=clock)
    await client.start()
    try:
        await client.wait_ready(5)
        server.document = {"keys": [jwk(other_rsa_private, "RS256", "rsa-2"),
                                    jwk(rsa_private, "RS256", "rsa-1")]}
        new = token(other_rsa_private, kid="rsa-2")
        with pytest.raises(AuthError):
            verifier.verify(new)
        await client.wait_for(lambda s: s.keys == 2, 5)
        assert verifier.verify(new).kid == "rsa-2"
        assert server.requests == 2
    finally:
        await client.aclose()


async def test_unknown_kids_are_rate_limited(server, steps, clock, rsa_private):
    client = make_client(server, steps, clock, min_refresh_interval=3600.0)
    await client.start()
    try:
        await client.wait_ready(5)
        client.note_unknown_kid("nope")
        assert not client.refresh_pending
    finally:
        await client.aclose()


async def test_a_hanging_url_times_out(server, steps, clock):
    server.hang = True
    client = make_client(server, steps, clock, timeout=0.1)
    await client.start()
    try:
        state = await client.wait_for(lambda s: s.consecutive_failures == 1, 5)
        assert state.last_error == "timeout"
    finally:
        await client.aclose()


async def test_wait_ready_gives_up_at_its_deadline(server, steps, clock):
    server.status = 503
    client = make_client(server, steps, clock)
    await client.start()
    try:
        assert await client.wait_ready(0.05) is False
        assert client.state.status == "unavailable"
    finally:
        await client.aclose()


@pytest.mark.parametrize("setup, error", [
    ({"status": 302}, "http_302"),
    ({"document": {"keys": "no"}}, 'invalid_jwks:a JWKS is a JSON object with a "keys" list'),
    ({"body": b" " * 5000}, "invalid_jwks:the JWKS is over 2000 bytes"),
    ({"document": {"keys": [], "pad": "x" * 3000}}, "invalid_jwks:the JWKS is over 2000 bytes"),
])
async def test_bad_answers_are_failures(server, steps, clock, setup, error):
    for name, value in setup.items():
        setattr(server, name, value)
    client = make_client(server, steps, clock, max_bytes=2000)
    await client.start()
    try:
        state = await client.wait_for(lambda s: s.consecutive_failures == 1, 5)
        assert state.last_error == error
    finally:
        await client.aclose()


async def test_a_crash_inside_the_loop_is_logged_and_retried(server, steps, clock, monkeypatch):
    real = jwks_client_module.parse_jwks
    calls = []

    def flaky(*args, **kwargs):
        calls.append(1)
        if len(calls) == 1:
            raise RuntimeError("bug")
        return real(*args, **kwargs)

    monkeypatch.setattr(jwks_client_module, "parse_jwks", flaky)
    client = make_client(server, steps, clock)
    with capture_logs() as logs:
        await client.start()
        try:
            state = await client.wait_for(lambda s: s.consecutive_failures == 1, 5)
            assert state.last_error == "internal_error"
            steps.allow()
            await client.wait_for(lambda s: s.status == "ready", 5)
        finally:
            await client.aclose()
    assert any(entry["event"] == "auth_jwks_refresh_crashed" for entry in logs)


def test_the_url_must_be_https_except_on_loopback():
    for url in ("http://idp.example/jwks", "ftp://127.0.0.1/jwks", "https:///jwks", "jwks"):
        with pytest.raises(ValueError, match="https://"):
            JWKSClient(url, algorithms=["RS256"])
    assert JWKSClient("https://idp.example/jwks", algorithms=["RS256"]).url
    assert JWKSClient("http://localhost:9/jwks", algorithms=["ES256"]).url
    with pytest.raises(ValueError, match="not asymmetric"):
        JWKSClient("https://idp.example/jwks", algorithms=["HS256"])
    with pytest.raises(ValueError, match="retry_initial"):
        JWKSClient("https://idp.example/jwks", algorithms=["RS256"], retry_initial=5,
                   retry_max=1)


async def test_logs_name_the_url_without_credentials(server, steps, clock):
    server.status = 503
    url = server.url.replace("//", "//jwks-user:s3cret@") + "?api_key=hunter2"
    client = JWKSClient(url, algorithms=["RS256"], sleep=steps, clock=clock)
    with capture_logs() as logs:
        await client.start()
        try:
            await client.wait_for(lambda s: s.consecutive_failures == 1, 5)
        finally:
            await client.aclose()
    assert logs and "hunter2" not in repr(logs) and "s3cret" not in repr(logs)
    assert logs[0]["url"] == server.url


async def test_a_refresh_loop_that_dies_says_so(server, clock):
    async def broken_sleep(delay, wake):
        raise RuntimeError("sleeper bug")

    client = JWKSClient(server.url, algorithms=["RS256"], sleep=broken_sleep, clock=clock)
    with capture_logs() as logs:
        await client.start()
        try:
            await client.wait_ready(5)
            task = client._task
            assert task is not None
            with pytest.raises(RuntimeError):
                await asyncio.wait_for(asyncio.shield(task), 5)
        finally:
            await client.aclose()
    assert any(entry["event"] == "auth_jwks_refresh_stopped" for entry in logs)
