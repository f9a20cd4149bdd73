"""Redis stops and comes back under server-side sessions: a Redis of the test's own, paused (a
network black hole) and killed (a crash), while the app serves.

Requests that need the session get 503 within the backend's timeout, never a hang; pages that
need none are still served; a login during the outage is refused rather than half-saved; when
Redis answers again the sessions it kept work again, and after a crash that lost them the
client is simply anonymous.
"""

from __future__ import annotations

import asyncio
import time


from pyframe.testing import TestClient
from pyframe_auth import login

from .support import assert_still_serving, exchange



def session_app(make_app, url: str):
    app = make_app()
    app.plugins.enable("auth", secret_key="kV9w2m-xq4TzL0c8HnR7bPsY3uJfA6dE1gWiOeKyQ5v",
                       exclude_paths=["/", "/login"],
                       session_backend=f"{url}?timeout=0.5&reconnect_min=0.05&reconnect_max=0.2")
    app.get("/admin")(lambda context: {"admin": context.user.id})

    @app.post("/login")
    async def do_login(context):
        login(context, "ops")
        return "in"

    return app


async def request(port: int, method: str, path: str, cookie: bytes | None = None):
    extra = b"Cookie: " + cookie + b"\r\n" if cookie else b""
    response = await exchange(port, f"{method} {path} HTTP/1.1\r\nHost: hostile.test\r\n"
                                    f"Content-Length: 0\r\n".encode() + extra + b"\r\n")
    assert response is not None, "the server closed instead of answering"
    return response


async def log_in(port: int) -> bytes:
    response = await request(port, "POST", "/login")
    assert response.status == 200, response.body
    return response.header("Set-Cookie").split(";")[0].encode()


async def until_status(port: int, path: str, cookie: bytes, status: int) -> None:
    """Poll, with a deadline, until ``path`` answers ``status``."""
    latest: dict[str, int] = {}

    async def check() -> bool:
        latest["status"] = (await request(port, "GET", path, cookie)).status
        return latest["status"] == status

    deadline = time.monotonic() + 20
    while not await check():
        assert time.monotonic() < deadline, f"{path} still answers {latest['status']}"
        await asyncio.sleep(0.05)  # a poll interval, with the deadline above


async def test_redis_paused_then_resumed(make_app, redis_server):
    server = redis_server()
    async with TestClient(session_app(make_app, server.url)) as client:
        port = client.port
        cookie = await log_in(port)
        assert (await request(port, "GET", "/admin", cookie)).json() == {"admin": "ops"}
        server.pause()
        try:
            started = time.monotonic()
            response = await request(port, "GET", "/admin", cookie)
            assert response.status == 503 and response.header("Retry-After") == "1"
            assert time.monotonic() - started < 5  # the backend's timeout, not a hang
            assert (await request(port, "GET", "/", cookie)).status == 200  # open pages serve
            assert (await request(port, "POST", "/login", cookie)).status == 503
            await assert_still_serving(port)
        finally:
            server.resume()
        await until_status(port, "/admin", cookie, 200)  # the session Redis kept is back
        assert (await request(port, "GET", "/admin", cookie)).json() == {"admin": "ops"}


async def test_redis_killed_then_restarted_empty(make_app, redis_server):
    server = redis_server()
    async with TestClient(session_app(make_app, server.url)) as client:
        port = client.port
        cookie = await log_in(port)
        server.kill()
        response = await request(port, "GET", "/admin", cookie)
        assert response.status == 503
        await assert_still_serving(port)
        redis_server(port=server.port)  # back on the same port, without the old data
        await until_status(port, "/admin", cookie, 401)  # that session is gone: anonymous
        fresh = await log_in(port)
        assert fresh != cookie
        assert (await request(port, "GET", "/admin", fresh)).json() == {"admin": "ops"}
