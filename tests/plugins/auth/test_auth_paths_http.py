"""Which requests need a credential: ``exclude_paths`` (prefixes and route patterns, matched on
the normalised path, sent as raw bytes so no client tidies the path first), per-route
``auth=False`` / ``auth=True``, and ``require_auth = false``."""

import asyncio

import pytest

from pyframe.testing import TestClient
from pyframe_auth import login_required

from .support import auth_app, bearer, issue

pytestmark = pytest.mark.usefixtures("isolated")


async def raw_status(port: int, target: str) -> int:
    """The status for ``GET <target>`` sent byte for byte."""
    reader, writer = await asyncio.wait_for(asyncio.open_connection("127.0.0.1", port), 10)
    try:
        writer.write(f"GET {target} HTTP/1.1\r\nHost: auth.test\r\nConnection: close\r\n\r\n"
                     .encode())
        await writer.drain()
        line = await asyncio.wait_for(reader.readline(), 10)
        return int(line.split()[1])
    finally:
        writer.close()


def app_with_routes(clock, **settings):
    app = auth_app(clock, **settings)
    for path in ("/admin", "/public", "/public/<path:rest>", "/publicity", "/users/<int:id>",
                 "/users/<int:id>/edit", "/login"):
        app.get(path)(lambda context: {"user": context.user and context.user.id})
    return app


@pytest.fixture
async def port(clock):
    app = app_with_routes(clock, exclude_paths=["/public", "/users/<int:id>", "/login"])
    async with TestClient(app) as client:
        yield client.port


@pytest.mark.parametrize("target", ["/public", "/public/a/b.css", "/users/7", "/login",
                                    "/public?x=1"])
async def test_excluded_paths_are_open(port, target):
    assert await raw_status(port, target) == 200


@pytest.mark.parametrize("target", ["/public/", "/login/extra"])
async def test_a_prefix_covers_what_is_below_it(port, target):
    assert await raw_status(port, target) == 404  # open, and no route there


@pytest.mark.parametrize("target", ["/admin", "/publicity", "/users/7/edit", "/users/x",
                                    "/loginx", "/nowhere"])
async def test_everything_else_needs_a_credential(port, target):
    assert await raw_status(port, target) == 401


@pytest.mark.parametrize("target", [
    "/public/../admin", "/public/%2e%2e/admin", "/public/%2E%2E/admin", "/public/.%2e/admin",
    "/public/..%2fadmin", "/public/%2e%2e%2fadmin", "/public/%252e%252e/admin",
    "/public/..\\admin", "/public/%5c..%5cadmin", "//public/../admin", "/public/./../admin",
    "/users/7/../../admin", "/public/%00/../admin",
])
async def test_traversal_out_of_an_excluded_path_is_not_excluded(port, target):
    # Whatever the router makes of it (404, or the protected route), never an open 200.
    assert await raw_status(port, target) in (400, 401)


async def test_a_route_can_opt_out_and_in(clock):
    app = auth_app(clock, exclude_paths=["/open"])
    app.get("/health", auth=False)(lambda context: "up")
    app.get("/open/secret", auth=True)(lambda context: "needs a token even here")
    async with TestClient(app) as client:
        async with client.get("/health") as resp:
            assert resp.status == 200
        async with client.get("/open/secret") as resp:
            assert resp.status == 401
        async with client.get("/open/secret", headers=bearer(issue(clock))) as resp:
            assert resp.status == 200


async def test_without_require_auth_only_guarded_routes_ask(clock):
    app = auth_app(clock, require_auth=False)
    app.get("/")(lambda context: {"user": context.user and context.user.id})
    app.get("/account")(login_required(lambda context: {"user": context.user.id}))
    async with TestClient(app) as client:
        async with client.get("/") as resp:
            assert resp.status == 200 and await resp.json() == {"user": None}
        async with client.get("/", headers=bearer(issue(clock))) as resp:
            assert await resp.json() == {"user": "alice"}
        async with client.get("/account") as resp:
            assert resp.status == 401 and resp.headers["WWW-Authenticate"] == "Bearer"
        async with client.get("/account", headers=bearer(issue(clock, "bob"))) as resp:
            assert resp.status == 200 and await resp.json() == {"user": "bob"}
