"""What docs/plugins.md promises a plugin author, held: the test client's URL, the Route
constructor, reaching a plugin before start-up, run_sync, shutdown, middleware order."""

from __future__ import annotations

import threading

import aiohttp
import pytest

from pyframe import PyFrameApp
from pyframe.plugin import (
    AppKey,
    HTTPError,
    MiddlewareOrder,
    NotFound,
    Route,
    error_response,
    hookimpl,
    run_sync,
)
from pyframe.testing import TestClient


async def test_client_for_is_awaited_and_serves_on_a_known_url(pyframe_client_for):
    app = PyFrameApp()
    app.get("/ping")(lambda context: "pong")
    client = await pyframe_client_for(app)
    assert client.port > 0
    assert client.url("/ping") == f"http://127.0.0.1:{client.port}/ping"
    async with client.get("/ping") as resp:
        assert (resp.status, await resp.text()) == (200, "pong")
    # Any other client reaches the same server through the URL.
    async with aiohttp.ClientSession() as session, session.get(client.url("/ping")) as resp:
        assert await resp.text() == "pong"


class StatusPlugin:
    """Routes built with the Route constructor, one of them named."""

    @hookimpl
    def pyframe_add_routes(self, app):
        async def show(context):
            return {"name": context.params["name"], "route": context.route.name}

        async def upload(context):
            return {"size": sum([len(chunk) async for chunk in context.stream()])}

        return [Route("/status/<name>", ["GET"], show, name="status.show"),
                Route("/upload", ["POST"], upload, stream_body=True, max_body_size=64,
                      options={"compress": False})]


async def test_route_constructor_names_and_options():
    app = PyFrameApp()
    app.plugins.register(StatusPlugin(), "status")
    async with TestClient(app) as client:
        routes = {route.path: route for route in app.router}
        show, upload = routes["/status/<name>"], routes["/upload"]
        assert (show.name, show.plugin, show.methods) == ("status.show", "status", ("GET",))
        assert (upload.name, upload.stream_body, upload.max_body_size) == ("upload", True, 64)
        assert upload.options == {"compress": False}
        async with client.get("/status/db") as resp:
            assert await resp.json() == {"name": "db", "route": "status.show"}
        async with client.post("/upload", data=b"x" * 10) as resp:
            assert await resp.json() == {"size": 10}
    with pytest.raises(ValueError, match="a route path starts with '/'"):
        Route("status", ["GET"], show.handler)
    with pytest.raises(ValueError, match="unknown HTTP method 'FETCH'"):
        Route("/status", ["FETCH"], show.handler)


POOL = AppKey("greeting.pool", dict)


class GreetingPlugin:
    """Keeps its object in app.state under an AppKey while the app is built."""

    @hookimpl
    def pyframe_configure_plugin(self, app):
        app.state[POOL] = {"greeting": "hello"}


def test_a_plugin_is_reached_through_app_state_once_the_app_is_built():
    app = PyFrameApp()
    plugin = GreetingPlugin()
    app.plugins.register(plugin, "greeting")
    with pytest.raises(KeyError, match="the app is not built yet.*AppKey"):
        app.plugins.get("greeting")
    app.build()
    assert app.plugins.get("greeting") is plugin
    assert app.state[POOL] == {"greeting": "hello"}
    # Two keys with one name are two keys: plugins never overwrite each other.
    same_name = AppKey("greeting.pool", dict)
    app.state[same_name] = {"other": True}
    assert app.state[POOL] == {"greeting": "hello"}
    with pytest.raises(KeyError, match="app.state has no 'greeting.missing'"):
        app.state[AppKey("greeting.missing")]
    # Built is not started: routes can still be added, middleware no more.
    app.get("/late")(lambda context: "ok")
    with pytest.raises(RuntimeError, match="middleware is composed when the app starts"):
        app.middleware.append(lambda context, call_next: call_next(context))
    with pytest.raises(KeyError, match="it is not enabled"):
        app.plugins.get("cors")


class Resources:
    def __init__(self, calls: list[str]) -> None:
        self.calls = calls

    @hookimpl
    async def pyframe_start_app(self, app):
        self.calls.append("plugin start")

    @hookimpl
    async def pyframe_stop_app(self, app):
        self.calls.append("plugin stop")


async def test_run_sync_and_shutdown():
    calls: list[str] = []
    app = PyFrameApp()
    app.plugins.register(Resources(calls), "resources")
    app.on_shutdown(lambda app: calls.append("on_shutdown"))
    await app.startup()
    thread = await run_sync(app, lambda: threading.current_thread().name)
    assert thread.startswith("pyframe-sync")
    assert await app.run_sync(pow, 2, 10) == 1024
    await app.shutdown()
    await app.shutdown()  # a second call does nothing
    assert calls == ["plugin start", "plugin stop", "on_shutdown"]


async def test_the_test_client_runs_the_stop_hooks():
    calls: list[str] = []
    app = PyFrameApp()
    app.plugins.register(Resources(calls), "resources")
    async with TestClient(app):
        assert calls == ["plugin start"]
    assert calls == ["plugin start", "plugin stop"]


def recorder(seen: list, name: str, order: int):
    async def mw(context, call_next):
        seen.append(name)
        try:
            response = await call_next(context)
        except Exception as exc:
            seen.append(f"{name} saw {type(exc).__name__}")
            response = await error_response(context, exc)
        response.headers[f"X-{name}"] = "1"
        return response

    mw.order = order
    mw.__qualname__ = name
    return mw


async def test_any_int_orders_middleware_and_the_outermost_sees_exceptions():
    seen: list[str] = []
    app = PyFrameApp()
    app.get("/boom")(lambda context: 1 / 0)

    @app.get("/missing")
    def missing(context):
        raise NotFound(detail="no such thing")

    app.middleware.append(recorder(seen, "inner", 5000))        # past INNERMOST
    app.middleware.append(recorder(seen, "outer", -10))         # outside OUTERMOST
    app.middleware.append(recorder(seen, "named", MiddlewareOrder.OUTERMOST))
    async with TestClient(app) as client:
        assert [m.__qualname__ for m in app.middleware_chain] == ["outer", "named", "inner"]
        async with client.get("/boom") as resp:
            assert resp.status == 500
            assert resp.headers["X-outer"] == "1"
        # A handler's exception reaches each middleware as an exception, innermost first.
        assert seen == ["outer", "named", "inner", "inner saw ZeroDivisionError"]
        seen.clear()
        async with client.get("/missing") as resp:
            assert resp.status == 404 and resp.headers["X-inner"] == "1"
        # An HTTPError from the handler is already a response when middleware sees it.
        assert seen == ["outer", "named", "inner"]
        seen.clear()
        async with client.get("/nowhere") as resp:
            assert resp.status == 404 and resp.headers["X-outer"] == "1"
        assert seen == ["outer", "named", "inner"]


async def test_an_http_error_from_middleware_is_an_exception_outside_it():
    seen: list[str] = []

    async def refuse(context, call_next):
        raise HTTPError(429, "slow down")

    refuse.order = MiddlewareOrder.RATE_LIMIT
    app = PyFrameApp()
    app.get("/")(lambda context: "ok")
    app.middleware.extend([refuse, recorder(seen, "outer", MiddlewareOrder.OUTERMOST)])
    async with TestClient(app) as client, client.get("/") as resp:
        assert resp.status == 429 and resp.headers["X-outer"] == "1"
    assert seen == ["outer", "outer saw HTTPError"]


def test_an_order_must_be_an_int():
    async def mw(context, call_next):
        return await call_next(context)

    mw.order = True
    app = PyFrameApp()
    app.middleware.append(mw)
    with pytest.raises(TypeError, match="it must be an int"):
        app.build()
