"""The middleware contract of the reference: call_next returns a mutable mapping, always."""

import pytest

from pyframe import (HTMLResponse, HTTPError, MiddlewareOrder, PyFrameApp, Unauthorized,
                     middleware_order)
from pyframe.testing import TestClient


async def add_header(context, call_next):
    response = await call_next(context)
    response.setdefault("headers", {})
    response["headers"]["X-Seen"] = str(response.get("status"))
    return response


@pytest.mark.parametrize("result", ["text", b"bytes", {"a": 1}, [1], {"status": 201, "body": "x"},
                                    HTMLResponse("<p>")])
async def test_call_next_result_is_a_mapping_whatever_the_handler_returned(result):
    app = PyFrameApp()
    app.middleware.append(add_header)
    app.get("/")(lambda context: result)
    async with TestClient(app) as client, client.get("/") as resp:
        assert resp.headers["X-Seen"] == str(resp.status)


async def test_order_explicit_then_list_order():
    app = PyFrameApp()
    seen = []

    def recorder(name, order=None):
        async def mw(context, call_next):
            seen.append(name)
            return await call_next(context)
        if order is not None:
            mw.order = order
        return mw

    app.middleware.append(recorder("app-1"))
    app.middleware.append(recorder("inner", MiddlewareOrder.INNERMOST))
    app.middleware.append(recorder("app-2"))
    app.middleware.append(recorder("outer", MiddlewareOrder.OUTERMOST))
    app.get("/")(lambda context: "ok")
    async with TestClient(app) as client, client.get("/") as resp:
        assert resp.status == 200
    assert seen == ["outer", "app-1", "app-2", "inner"]


async def test_short_circuit_and_errors_from_middleware():
    app = PyFrameApp()

    @middleware_order(MiddlewareOrder.AUTH)
    async def guard(context, call_next):
        if context.path == "/blocked":
            return {"status": 403, "body": "no"}
        if context.path == "/raise":
            raise Unauthorized(detail="token missing", headers={"WWW-Authenticate": "Bearer"})
        return await call_next(context)

    calls = []
    app.middleware.append(guard)
    app.get("/blocked")(lambda context: calls.append(1) or "reached")
    app.get("/raise")(lambda context: calls.append(1) or "reached")
    async with TestClient(app) as client:
        async with client.get("/blocked") as resp:
            assert (resp.status, await resp.text()) == (403, "no")
        async with client.get("/raise") as resp:
            assert resp.status == 401 and resp.headers["WWW-Authenticate"] == "Bearer"
            assert await resp.json() == {"error": "Unauthorized", "detail": "token missing"}
    assert calls == []


async def test_handler_http_errors_reach_middleware_as_responses():
    app = PyFrameApp()
    statuses = []

    async def observe(context, call_next):
        response = await call_next(context)
        statuses.append(response["status"])
        return response

    app.middleware.append(observe)

    @app.get("/gone")
    async def gone(context):
        raise HTTPError(410, "moved on")

    async with TestClient(app) as client:
        async with client.get("/gone") as resp:
            assert resp.status == 410
        async with client.get("/missing") as resp:
            assert resp.status == 404
    assert statuses == [410, 404]


async def test_chain_is_composed_once_and_frozen():
    app = PyFrameApp()
    app.get("/")(lambda context: "ok")
    async with TestClient(app):
        with pytest.raises(RuntimeError, match="composed when the app starts"):
            app.middleware.append(add_header)


async def test_sync_middleware_is_refused_at_start():
    app = PyFrameApp()
    app.middleware.append(lambda context, call_next: call_next(context))
    with pytest.raises(TypeError, match="must be `async def"):
        await app.startup()


def test_the_seed_module_and_the_order_decorator_do_not_collide():
    import pyframe
    import pyframe.middleware

    assert callable(pyframe.middleware_order)
    assert pyframe.middleware.__name__ == "pyframe.middleware"


async def test_middleware_that_promises_a_response_is_called_directly():
    class Tag:
        returns_response = True

        async def __call__(self, context, call_next):
            response = await call_next(context)
            response.headers["X-Tag"] = "direct"
            return response

    app = PyFrameApp()
    app.middleware.append(Tag())
    app.get("/")(lambda context: {"a": 1})
    async with TestClient(app) as client, client.get("/") as resp:
        assert resp.headers["X-Tag"] == "direct" and await resp.json() == {"a": 1}
    # No normalising coroutine around it: the link is a plain function returning its coroutine.
    assert not __import__("inspect").iscoroutinefunction(app.dispatcher.chain)
