"""Redis away: the configured policy answers (fail open admits, logs and counts; fail closed is
a 503), nothing hangs, and the limiter decides again by itself once Redis is back. Against a
port nothing listens on, and against a redis-server of the test's own, killed and restarted
mid-test."""

from __future__ import annotations

import json
import time

import pytest
from structlog.testing import capture_logs

from pyframe.testing import TestClient

from .support import app_with, eventually, free_port, unique_prefix

pytestmark = [pytest.mark.usefixtures("isolated"), pytest.mark.timeout(60)]

# Fast reconnects so the tests are quick; the same code paths as the defaults.
FAST = "timeout=0.5&reconnect_min=0.02&reconnect_max=0.2&ping_interval=0.3"



def limited(tmp_path, url: str, policy: str, burst: int = 2):
    # One a minute after the burst: Redis's clock runs, and nothing may refill mid-test.
    return app_with(tmp_path, f'[plugins.ratelimit]\nrequests_per_minute = 1\n'
                              f'burst_size = {burst}\n'
                              f'on_backend_error = "{policy}"\n'
                              f'backend = "{url}&prefix={unique_prefix()}"\n')


async def answer(client):
    async with client.get("/") as resp:
        return resp.status, resp.headers, await resp.read()


def undecided(app) -> int:
    return app.plugins.get("ratelimit").own.limiter.counters.backend_errors


@pytest.mark.parametrize("policy", ["allow", "deny"])
async def test_a_closed_port_gets_the_policy_at_once(tmp_path, policy):
    url = f"redis://127.0.0.1:{free_port()}/0?{FAST}"
    with capture_logs() as logs:
        app = limited(tmp_path, url, policy)
        async with TestClient(app) as client:
            started = time.monotonic()
            answers = [await answer(client) for _ in range(5)]
            took = time.monotonic() - started
    # Down from the start: every call fails at once, not after a timeout each.
    assert took < 2.5
    for status, headers, body in answers:
        assert "RateLimit" not in headers
        if policy == "allow":
            assert (status, body) == (200, b"ok")
        else:
            assert status == 503 and headers["Retry-After"] == "1"
            assert json.loads(body) == {"error": "Service Unavailable", "detail":
                                        "the rate limiter cannot reach its backend; retry "
                                        "shortly"}
    assert undecided(app) == 5
    down = [e for e in logs if e["event"] == "ratelimit_backend_unavailable"]
    assert len(down) == 1 and down[0]["policy"] == policy  # one line, not one per request
    assert down[0]["backend"].startswith("redis://127.0.0.1:")


@pytest.mark.parametrize("policy", ["allow", "deny"])
async def test_redis_killed_and_restarted_mid_test(tmp_path, redis_server, policy):
    server = redis_server()
    with capture_logs() as logs:
        app = limited(tmp_path, f"{server.url}?{FAST}", policy)
        async with TestClient(app) as client:
            assert [(await answer(client))[0] for _ in range(3)] == [200, 200, 429]

            server.kill()

            async def policy_answers() -> bool:
                status, headers, _ = await answer(client)
                return status == (200 if policy == "allow" else 503) and \
                    "RateLimit" not in headers

            await eventually(policy_answers, what=f"the {policy} policy while Redis is down")
            before = undecided(app)
            started = time.monotonic()
            statuses = [(await answer(client))[0] for _ in range(5)]
            assert time.monotonic() - started < 2.5  # nobody waits on a dead server
            assert statuses == [200 if policy == "allow" else 503] * 5
            assert undecided(app) == before + 5

            server.start()  # the same port, no data: every bucket starts full

            async def decided_again() -> bool:
                status, headers, _ = await answer(client)
                return status == 200 and "RateLimit" in headers

            await eventually(decided_again, what="the limiter deciding again")
            # Deciding for real again: the burst, then a refusal.
            assert (await answer(client))[0] == 200
            assert (await answer(client))[0] == 429
            [health] = app.backends.health()
            assert health.up and health.reconnects >= 1
            # The script was loaded again on the restarted server's NOSCRIPT.
            assert health.counters["script_loads"] >= 2
    events = [e["event"] for e in logs]
    assert events.count("ratelimit_backend_unavailable") == 1
    recovered = [e for e in logs if e["event"] == "ratelimit_backend_recovered"]
    assert len(recovered) == 1 and recovered[0]["undecided"] >= 6
