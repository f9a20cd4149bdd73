"""The limiter over real HTTP, on the memory backend with an injected clock: bursts, refusals,
refills, the 429 and the RateLimit fields, rules, decorators, keys, and its place in the chain."""

from __future__ import annotations

import asyncio
import json
import shutil

import pytest

from pyframe import MiddlewareOrder
from pyframe.plugin import Route, hookimpl
from pyframe.testing import TestClient
from pyframe_ratelimit import RateLimitMiddleware, exempt, limit

from .support import FakeClock, app_with, statuses, use_clock

pytestmark = pytest.mark.usefixtures("isolated")


def limited_app(tmp_path, config="[plugins.ratelimit]\n", clock=None):
    app = app_with(tmp_path, config)
    use_clock(app, clock or FakeClock())
    return app


async def get(client, path="/", **kwargs):
    async with client.get(path, **kwargs) as resp:
        return resp.status, resp.headers, await resp.read()


async def test_a_burst_then_refusals_until_the_refill_then_the_steady_rate(tmp_path):
    clock = FakeClock()
    app = limited_app(tmp_path, "[plugins.ratelimit]\nrequests_per_minute = 60\n"
                                "burst_size = 10\n", clock)
    async with TestClient(app) as client:
        fields = []
        for _ in range(10):
            status, headers, _ = await get(client)
            assert status == 200
            fields.append(headers["RateLimit"])
        assert fields[0] == '"default";r=9;t=1' and fields[-1] == '"default";r=0;t=1'
        status, headers, _ = await get(client)
        assert (status, headers["Retry-After"]) == (429, "1")
        clock.advance(0.5)
        status, headers, _ = await get(client)
        assert (status, headers["Retry-After"]) == (429, "1")  # 0.5 s, rounded up
        clock.advance(0.5)
        assert await statuses(client) == [200]
        # Then one a second: each admitted, a second one within the same second refused.
        for _ in range(5):
            clock.advance(1)
            assert await statuses(client, count=2) == [200, 429]
        # Idle for 10 s: the whole burst is back, and not one more.
        clock.advance(10)
        assert await statuses(client, count=11) == [200] * 10 + [429]


async def test_a_refusal_is_a_429_with_the_fields_and_a_json_reason(tmp_path):
    clock = FakeClock()
    app = limited_app(tmp_path, "[plugins.ratelimit]\nburst_size = 1\n", clock)
    served = []

    @app.get("/work")
    async def work(context):
        served.append(1)
        return {"done": True}

    async with TestClient(app) as client:
        assert (await get(client, "/work"))[0] == 200
        status, headers, body = await get(client, "/work")
    assert status == 429 and served == [1]  # the handler never ran for the refusal
    assert headers["Content-Type"] == "application/problem+json"
    assert headers["Retry-After"] == "1"
    assert headers["RateLimit"] == '"default";r=0;t=1'
    assert headers["RateLimit-Policy"] == '"default";q=60;w=60'
    assert headers["X-Content-Type-Options"] == "nosniff"
    assert json.loads(body) == {
        "type": "https://iana.org/assignments/http-problem-types#quota-exceeded",
        "title": "Too Many Requests", "status": 429, "error": "Too Many Requests",
        "detail": "rate limit exceeded (default); retry in 1 s",
        "violated-policies": ["default"], "retry_after": 1}


async def test_every_route_and_every_miss_spend_the_default_bucket(tmp_path):
    app = limited_app(tmp_path, "[plugins.ratelimit]\nburst_size = 3\n")
    app.post("/other")(lambda context: "other")
    async with TestClient(app) as client:
        assert await statuses(client, "/no/such/page", count=2) == [404, 404]
        async with client.post("/other") as resp:
            assert resp.status == 200
        assert await statuses(client, "/") == [429]
        async with client.post("/other") as resp:
            assert resp.status == 429


async def test_the_header_switch_and_internal_routes(tmp_path):
    class AdminPlugin:
        @hookimpl
        def pyframe_add_routes(self, app):
            return [Route("/admin/stats", ["GET"], lambda context: {"up": True})]

    for config, app_route, internal_route in [
        ("", True, False),                              # the defaults
        ("headers = false\n", False, False),
        ("internal_headers = true\n", True, True),
    ]:
        app = limited_app(tmp_path, f"[plugins.ratelimit]\nburst_size = 2\n{config}")
        app.plugins.register(AdminPlugin(), "admin")
        async with TestClient(app) as client:
            status, headers, _ = await get(client, "/")
            assert status == 200 and ("RateLimit" in headers) is app_route, config
            status, headers, _ = await get(client, "/admin/stats")
            assert status == 200 and ("RateLimit" in headers) is internal_route, config
            # The bucket is spent all the same, and a refusal always carries the fields.
            status, headers, _ = await get(client, "/")
            assert status == 429 and headers["RateLimit"] == '"default";r=0;t=1'


ROUTE_RULES = """
[plugins.ratelimit]
burst_size = 3

[[plugins.ratelimit.routes]]
pattern = "/login"
methods = ["POST"]
limits = ["2/minute"]
name = "login"

[[plugins.ratelimit.routes]]
pattern = "/health"
exempt = true

[[plugins.ratelimit.routes]]
pattern = "/api/<path:rest>"
limits = ["2/hour"]
headers = false
"""


async def test_route_rules_limits_exemptions_and_shared_buckets(tmp_path):
    app = limited_app(tmp_path, ROUTE_RULES)
    app.post("/login")(lambda context: "welcome")
    app.get("/login")(lambda context: "the form")
    app.get("/health")(lambda context: "fine")
    app.get("/api/users")(lambda context: [])
    app.get("/api/users/<int:id>")(lambda context: {})
    async with TestClient(app) as client:
        for _ in range(2):
            async with client.post("/login") as resp:
                assert resp.status == 200
                assert resp.headers["RateLimit-Policy"] == '"login";q=2;w=60'
        async with client.post("/login") as resp:
            assert resp.status == 429
            assert resp.headers["RateLimit"] == '"login";r=0;t=30'
            assert resp.headers["Retry-After"] == "30"
        # GET /login is not the rule's method: the default limit, its own bucket.
        assert await statuses(client, "/login") == [200]
        # Exempt: never limited, never labelled.
        for _ in range(10):
            status, headers, _ = await get(client, "/health")
            assert status == 200 and "RateLimit" not in headers
        # One rule's routes share its bucket; its headers are off.
        status, headers, _ = await get(client, "/api/users")
        assert status == 200 and "RateLimit" not in headers
        assert await statuses(client, "/api/users/7") == [200]
        status, headers, _ = await get(client, "/api/users/8")
        assert status == 429 and headers["RateLimit"].startswith('"2-per-hour";r=0;t=')


async def test_decorators_win_over_the_rules(tmp_path):
    app = limited_app(tmp_path, ROUTE_RULES)

    @app.get("/api/export")
    @limit("1/minute")
    async def export(context):
        return "csv"

    @app.get("/api/ping")
    @exempt
    async def ping(context):
        return "pong"

    async with TestClient(app) as client:
        assert await statuses(client, "/api/export", count=2) == [200, 429]
        assert await statuses(client, "/api/ping", count=5) == [200] * 5


async def test_several_limits_are_decided_together_in_one_backend_call(tmp_path):
    clock = FakeClock()
    app = limited_app(tmp_path, "[plugins.ratelimit]\n\n[[plugins.ratelimit.routes]]\n"
                                'pattern = "/"\nlimits = ["2/second", "3/minute"]\n', clock)
    async with TestClient(app) as client:
        limiter = app.plugins.get("ratelimit").own.limiter
        calls = []
        store = limiter.store
        original = store.run

        async def counted(op, keys=(), args=()):
            calls.append(list(keys))
            return await original(op, keys, args)

        store.run = counted
        try:
            status, headers, _ = await get(client)
            assert status == 200 and len(calls) == 1 and len(calls[0]) == 2
            assert headers["RateLimit"] == '"2-per-second";r=1;t=1, "3-per-minute";r=2;t=20'
            assert await statuses(client, count=2) == [200, 429]
            # Refused by the per-second limit only: the field names that one.
            _, headers, _ = await get(client)
            assert headers["RateLimit"] == '"2-per-second";r=0;t=1'
            clock.advance(1)
            assert await statuses(client) == [200]   # the minute's third
            clock.advance(1)
            status, headers, body = await get(client)
            # The refusals above spent nothing: the minute bucket is just empty now.
            assert status == 429 and json.loads(body)["violated-policies"] == ["3-per-minute"]
            assert headers["Retry-After"] == "18"
            assert len(calls) == 6  # one call per request, whatever the limits
        finally:
            store.run = original


async def test_an_api_key_header_keys_the_bucket(tmp_path):
    app = limited_app(tmp_path, '[plugins.ratelimit]\nburst_size = 1\nkey = "header:X-API-Key"\n')
    async with TestClient(app) as client:
        assert await statuses(client, headers={"X-API-Key": "alpha"}, count=2) == [200, 429]
        assert await statuses(client, headers={"X-API-Key": "beta"}) == [200]
        # Without the header: the address's bucket, its own.
        assert await statuses(client, count=2) == [200, 429]


def user_from_header(seen):
    """A stand-in for an auth plugin: the smallest middleware that sets context.user."""

    async def authenticate(context, call_next):
        seen.append(context.path)
        name = context.headers.get("X-User")
        if name is not None:
            context.user = {"id": name}
        return await call_next(context)

    authenticate.order = MiddlewareOrder.AUTH
    return authenticate


async def test_user_keyed_limits_run_right_after_authentication(tmp_path):
    seen = []
    app = limited_app(tmp_path, '[plugins.ratelimit]\nburst_size = 2\nkey = "user"\n')
    app.middleware.append(user_from_header(seen))
    async with TestClient(app) as client:
        assert [m.order for m in app.middleware_chain] == [MiddlewareOrder.RATE_LIMIT,
                                                          MiddlewareOrder.AUTH,
                                                          MiddlewareOrder.AUTH + 50]
        assert await statuses(client, headers={"X-User": "ada"}, count=3) == [200, 200, 429]
        assert await statuses(client, headers={"X-User": "bob"}, count=2) == [200, 200]
        # Anonymous: keyed by address, a bucket of its own.
        assert await statuses(client, count=3) == [200, 200, 429]


async def test_address_keyed_limits_refuse_before_authentication_runs(tmp_path):
    seen = []
    app = limited_app(tmp_path, "[plugins.ratelimit]\nburst_size = 1\n")
    app.middleware.append(user_from_header(seen))
    async with TestClient(app) as client:
        assert [m.order for m in app.middleware_chain] == [MiddlewareOrder.RATE_LIMIT,
                                                          MiddlewareOrder.AUTH]
        assert await statuses(client, count=3) == [200, 429, 429]
    assert seen == ["/"]  # authentication spent nothing on the refused requests


async def test_a_trusted_proxy_gives_each_client_its_own_bucket(tmp_path):
    app = limited_app(tmp_path, '[plugins.ratelimit]\nburst_size = 1\n'
                                'trusted_proxies = ["127.0.0.1"]\n')
    async with TestClient(app) as client:
        for client_ip in ("203.0.113.9", "203.0.113.10"):
            assert await statuses(client, headers={"X-Forwarded-For": client_ip},
                                  count=2) == [200, 429]
        # The right-most untrusted hop is the client; what it wrote to the left is not.
        spoofed = {"X-Forwarded-For": "198.51.100.1, 203.0.113.9"}
        assert await statuses(client, headers=spoofed) == [429]


async def test_the_apps_own_429_page_is_used_with_the_fields(tmp_path):
    app = limited_app(tmp_path, "[plugins.ratelimit]\nburst_size = 1\n")
    app.set_errorhandler(429, lambda context, exc: {"status": 429, "body": "slow down"})
    async with TestClient(app) as client:
        await get(client)
        status, headers, body = await get(client)
    assert (status, body) == (429, b"slow down")
    assert headers["Retry-After"] == "1" and headers["RateLimit"] == '"default";r=0;t=1'


@pytest.mark.skipif(shutil.which("curl") is None, reason="curl is not installed")
async def test_curl_sees_the_refusal(tmp_path):
    app = limited_app(tmp_path, "[plugins.ratelimit]\nburst_size = 1\n")
    async with TestClient(app) as client:
        heads = []
        for _ in range(2):
            proc = await asyncio.create_subprocess_exec(
                "curl", "-sS", "-i", "--max-time", "10", client.url("/"),
                stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
            out, err = await asyncio.wait_for(proc.communicate(), 20)
            assert proc.returncode == 0, err
            heads.append(out.decode("latin-1").lower())
    assert heads[0].startswith("http/1.1 200") and 'ratelimit: "default";r=0;t=1' in heads[0]
    assert heads[1].startswith("http/1.1 429") and "retry-after: 1\r\n" in heads[1]


async def test_a_route_keyed_by_user_in_code_gets_the_second_half(tmp_path):
    app = app_with(tmp_path)
    use_clock(app, FakeClock())
    app.middleware.append(user_from_header([]))
    app.middleware.append(RateLimitMiddleware(burst_size=5))

    @app.get("/mine")
    @limit("1/minute", key="user")
    async def mine(context):
        return "yours"

    async with TestClient(app) as client:
        assert [getattr(m, "__name__", type(m).__name__) for m in app.middleware_chain] == [
            "RateLimitMiddleware", "authenticate", "UserKeyedLimits"]
        assert await statuses(client, "/mine", headers={"X-User": "ada"}, count=2) == [200, 429]
        assert await statuses(client, "/mine", headers={"X-User": "bob"}) == [200]
        # The address-keyed default is decided before authentication, as before.
        assert await statuses(client, "/", count=6) == [200] * 5 + [429]
