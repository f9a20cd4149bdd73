"""WebSocket and Server-Sent Events handshakes are authenticated like any request: a header, the
session cookie, or the ``?token=`` browser fallback, over a real socket with the real
``websockets`` client and an EventSource-style GET.

Most WebSocket cases serve the route with a few lines on aiohttp's own WebSocketResponse,
registered as a plugin the way the ws plugin is (its handler runs inside the middleware chain),
so they test auth and not the ws plugin's details; the last one uses the ws plugin itself.
"""

import asyncio
import json

import pytest
from aiohttp import web
from structlog.testing import capture_logs
from websockets.asyncio.client import connect
from websockets.exceptions import InvalidStatus

from pyframe import WEBSOCKET, StreamingResponse, hookimpl
from pyframe.plugin import UpgradedResponse
from pyframe.testing import TestClient

from .support import auth_app, bearer, issue

pytestmark = pytest.mark.usefixtures("isolated")


class AiohttpWebSockets:
    """Serves WebSocket routes with aiohttp: ``handler(context, ws)``."""

    @hookimpl
    def pyframe_make_websocket_handler(self, app):
        async def serve(context, route):
            ws = web.WebSocketResponse()
            await ws.prepare(context.request)
            await route.handler(context, ws)
            return UpgradedResponse(ws)

        return serve


def handshake_app(clock, **settings):
    app = auth_app(clock, **settings)
    app.plugins.register(AiohttpWebSockets(), "test-websockets")

    async def whoami(context, ws):
        await ws.send_str(json.dumps({"user": context.user.id, "via": context.user.via}))
        await ws.close()

    app.add_route("/ws", whoami, [WEBSOCKET])

    @app.get("/events")
    async def events(context):
        user = context.user.id if context.user else "anonymous"

        async def stream():
            yield f"event: hello\ndata: {user}\n\n"

        return StreamingResponse(stream(), headers={"Content-Type": "text/event-stream",
                                                    "Cache-Control": "no-cache"})

    return app


def ws_url(client, path="/ws"):
    return client.url(path).replace("http://", "ws://")


async def first_message(url, **options):
    async with connect(url, open_timeout=10, **options) as ws:
        return json.loads(await asyncio.wait_for(ws.recv(), 10))


@pytest.fixture
async def client(clock):
    async with TestClient(handshake_app(clock)) as client:
        yield client


async def test_websocket_with_an_authorization_header(client, clock):
    message = await first_message(ws_url(client), additional_headers=bearer(issue(clock)))
    assert message == {"user": "alice", "via": "token"}


async def test_websocket_with_the_query_token_browser_fallback(client, clock):
    token = issue(clock, "bob")
    with capture_logs() as logs:
        message = await first_message(f"{ws_url(client)}?token={token}")
    assert message == {"user": "bob", "via": "token"}
    assert all(token not in repr(event) for event in logs)  # never logged


async def test_websocket_without_a_credential_is_refused_before_the_upgrade(client, clock):
    with pytest.raises(InvalidStatus) as info:
        await first_message(ws_url(client))
    assert info.value.response.status_code == 401
    assert info.value.response.headers["WWW-Authenticate"] == "Bearer"
    with pytest.raises(InvalidStatus) as info:
        await first_message(f"{ws_url(client)}?token=not.a.token")
    assert info.value.response.status_code == 401
    assert "invalid_token" in info.value.response.headers["WWW-Authenticate"]


async def test_websocket_with_the_session_cookie(clock):
    from pyframe_auth import login

    app = handshake_app(clock, exclude_paths=["/login"])

    @app.post("/login")
    async def do_login(context):
        login(context, "carol")
        return "in"

    async with TestClient(app) as client:
        async with client.post("/login") as resp:
            cookie = resp.headers["Set-Cookie"].split(";")[0]
        message = await first_message(ws_url(client), additional_headers={"Cookie": cookie})
    assert message == {"user": "carol", "via": "session"}


async def read_events(client, path, headers=None):
    async with client.get(path, headers={"Accept": "text/event-stream", **(headers or {})}
                          ) as resp:
        return resp.status, resp.headers.get("Content-Type"), (await resp.read()).decode()


async def test_sse_with_the_query_token(client, clock):
    status, kind, body = await read_events(client, f"/events?token={issue(clock, 'dan')}")
    assert (status, kind) == (200, "text/event-stream")
    assert body == "event: hello\ndata: dan\n\n"


async def test_sse_with_a_header_and_without_a_credential(client, clock):
    assert (await read_events(client, "/events", bearer(issue(clock, "eve"))))[2] == \
        "event: hello\ndata: eve\n\n"
    status, _, body = await read_events(client, "/events")
    assert status == 401 and json.loads(body)["error"] == "unauthorized"


async def test_an_open_event_stream_sees_anonymous_users(clock):
    async with TestClient(handshake_app(clock, exclude_paths=["/events"])) as client:
        assert (await read_events(client, "/events"))[2] == "event: hello\ndata: anonymous\n\n"


async def test_the_ws_plugin_handler_sees_the_user(clock):
    # With the real ws plugin serving the route (auth never imports it; both sit in the chain).
    app = auth_app(clock)
    app.plugins.enable("ws")

    @app.websocket("/chat")
    async def chat(websocket):
        await websocket.send_json({"user": websocket.user.id, "via": websocket.user.via})
        await websocket.close()

    async with TestClient(app) as client:
        message = await first_message(ws_url(client, "/chat") + f"?token={issue(clock, 'zoe')}")
        assert message == {"user": "zoe", "via": "token"}
        with pytest.raises(InvalidStatus) as info:
            await first_message(ws_url(client, "/chat"))
        assert info.value.response.status_code == 401
