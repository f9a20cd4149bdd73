"""The pyframe bench app and how every pyframe variant is served.

Handlers are written the way the README teaches (return a str or a dict), so the numbers are
those of ordinary pyframe code, not of hand-built Response objects. The ``/ref/...`` routes
answer the same bodies in the API reference's own shapes: a response dict with ``status``,
``headers`` and ``body`` ("Basic Response", "JSON Response"), and the response classes
(``JSONResponse``, ``HTMLResponse``); each is compared with the bare return of its twin.
"""

from __future__ import annotations

import os

from pyframe import HTMLResponse, JSONResponse, PyFrameApp

from _args import parse_args

__all__ = ["build_app", "serve"]


def build_app(extra_routes: int = 0) -> PyFrameApp:
    app = PyFrameApp(name="bench")

    @app.get("/plaintext")
    async def plaintext(context):
        return "Hello, World!"

    @app.get("/json")
    async def json_(context):
        return {"message": "Hello, World!"}

    @app.get("/users/<int:id>")
    async def user(context):
        return {"id": context.params["id"]}

    @app.post("/echo")
    async def echo(context):
        return context.json

    # The reference's shapes, twins of /plaintext and /json.
    @app.get("/ref/plaintext")
    async def plaintext_dict(context):
        return {"status": 200, "headers": {"Content-Type": "text/plain"},
                "body": "Hello, World!"}

    @app.get("/ref/json")
    async def json_dict(context):
        return {"status": 200, "headers": {"Content-Type": "application/json"},
                "body": {"message": "Hello, World!"}}

    @app.get("/ref/json-class")
    async def json_class(context):
        return JSONResponse({"message": "Hello, World!"})

    @app.get("/ref/html")
    async def html_class(context):
        return HTMLResponse("Hello, World!")

    # The 1 000-route variant: many dynamic routes; the harness hits the last one.
    for i in range(extra_routes):
        app.add_route(f"/r{i}/<int:id>", user, name=f"r{i}")
    return app


def serve(app: PyFrameApp, description: str) -> None:
    args = parse_args(description)
    # The benchmark measures the framework, not a log line per request (aiohttp's reference
    # app runs without an access log too). An explicit environment value still wins.
    os.environ.setdefault("PYFRAME_LOGGING__ACCESS_LOG", "false")
    app.run(args.host, args.port)  # uvloop when installed (core/src/pyframe/serving.py)
