"""The cors plugin over real HTTP: preflights as browsers send them, simple and actual requests."""

import asyncio

import pytest

from pyframe import HTTPError, PyFrameApp
from pyframe.middleware import CORSMiddleware
from pyframe.testing import TestClient
from pyframe_cors import CorsPlugin

ORIGIN = "https://app.example"
OTHER = "https://evil.example"


@pytest.fixture(autouse=True)
def _no_stray_config(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # no pyframe.toml from the working directory


def make_app(**cors):
    app = PyFrameApp()
    app.plugins.register(CorsPlugin(), "cors", **cors)
    calls = []

    @app.route("/items", methods=["GET", "PUT", "DELETE"])
    async def items(context):
        calls.append(context.method)
        return {"items": [1, 2]}

    @app.get("/vary")
    async def vary(context):
        return {"status": 200, "headers": {"Vary": "Accept-Language"}, "body": "hi"}

    @app.get("/boom")
    async def boom(context):
        raise RuntimeError("handler failed")

    @app.get("/gone")
    async def gone(context):
        raise HTTPError(410, "no longer here")

    @app.options("/opts")
    async def opts(context):
        calls.append("OPTIONS")
        return "options handler"

    app.state["calls"] = calls
    return app


def preflight_headers(origin=ORIGIN, method="PUT", headers="content-type,x-token"):
    # What a browser sends before a cross-origin PUT with a JSON body and a custom header.
    sent = {"Origin": origin, "Access-Control-Request-Method": method}
    if headers is not None:
        sent["Access-Control-Request-Headers"] = headers
    return sent


def vary_tokens(resp):
    return [t.strip().lower() for v in resp.headers.getall("Vary", []) for t in v.split(",")]


def cors_headers(resp):
    return {k: v for k, v in resp.headers.items() if k.lower().startswith("access-control-")}


SEED = dict(allow_origins=["*"], allow_methods=["GET", "POST", "PUT", "DELETE"],
            allow_headers=["*"], allow_credentials=True)


async def test_seed_usage_preflight_echoes_origin_and_headers_with_credentials():
    app = PyFrameApp()
    app.middleware.append(CORSMiddleware(**SEED))

    @app.route("/items", methods=["PUT"])
    async def items(context):
        return {"ok": True}

    async with TestClient(app) as client:
        async with client.options("/items", headers=preflight_headers()) as resp:
            assert resp.status in (200, 204)
            assert resp.headers["Access-Control-Allow-Origin"] == ORIGIN  # never '*'
            assert resp.headers["Access-Control-Allow-Credentials"] == "true"
            assert "PUT" in resp.headers["Access-Control-Allow-Methods"].split(", ")
            assert resp.headers["Access-Control-Allow-Headers"] == "content-type, x-token"
            assert "Access-Control-Max-Age" not in resp.headers
            assert "origin" in vary_tokens(resp)
        async with client.put("/items", headers={"Origin": ORIGIN}) as resp:
            assert resp.status == 200
            assert resp.headers["Access-Control-Allow-Origin"] == ORIGIN
            assert resp.headers["Access-Control-Allow-Credentials"] == "true"
            assert "origin" in vary_tokens(resp)


async def test_preflight_is_answered_before_the_route_even_without_an_options_handler():
    app = make_app(allow_origins=[ORIGIN], allow_methods=["GET", "PUT"],
                   allow_headers=["X-Token"], max_age=600)
    async with TestClient(app) as client:
        async with client.options("/items", headers=preflight_headers()) as resp:
            assert resp.status == 204
            assert await resp.read() == b""
            assert resp.headers["Access-Control-Allow-Origin"] == ORIGIN
            assert resp.headers["Access-Control-Allow-Methods"] == "GET, PUT"
            assert resp.headers["Access-Control-Allow-Headers"] == "content-type, x-token"
            assert resp.headers["Access-Control-Max-Age"] == "600"
            assert "Access-Control-Allow-Credentials" not in resp.headers
            assert {"origin", "access-control-request-method"} <= set(vary_tokens(resp))
        # A path with no route at all is answered too: the browser only wants permission.
        async with client.options("/nowhere", headers=preflight_headers(headers=None)) as resp:
            assert resp.status == 204
            assert "Access-Control-Allow-Headers" not in resp.headers
    assert app.state["calls"] == []  # the handler never saw a preflight


@pytest.mark.parametrize("sent, reason", [
    (preflight_headers(origin=OTHER), "origin 'https://evil.example' is not allowed"),
    (preflight_headers(method="DELETE"), "method 'DELETE' is not allowed"),
    (preflight_headers(headers="x-token, x-secret"), "header x-secret not allowed"),
])
async def test_refused_preflight_is_a_400_with_a_reason_and_no_allow_headers(sent, reason):
    app = make_app(allow_origins=[ORIGIN], allow_methods=["GET", "PUT"], allow_headers=["X-Token"])
    async with TestClient(app) as client, client.options("/items", headers=sent) as resp:
        assert resp.status == 400
        body = await resp.json()
        assert body["error"] == "Bad Request"
        assert reason in body["detail"]
        assert cors_headers(resp) == {}
        assert "origin" in vary_tokens(resp)


async def test_actual_request_from_allowed_origin_is_labelled():
    app = make_app(allow_origins=[ORIGIN], expose_headers=["X-Total", "X-Page"])
    async with TestClient(app) as client:
        async with client.get("/items", headers={"Origin": ORIGIN}) as resp:
            assert resp.status == 200
            assert await resp.json() == {"items": [1, 2]}
            assert resp.headers["Access-Control-Allow-Origin"] == ORIGIN
            assert resp.headers["Access-Control-Expose-Headers"] == "X-Total, X-Page"
            assert "Access-Control-Allow-Credentials" not in resp.headers
            assert vary_tokens(resp) == ["origin"]
        # An existing Vary keeps its value; Origin is appended once.
        async with client.get("/vary", headers={"Origin": ORIGIN}) as resp:
            assert vary_tokens(resp) == ["accept-language", "origin"]


async def test_actual_request_from_other_origin_gets_no_permission_but_still_vary():
    app = make_app(allow_origins=[ORIGIN])
    async with TestClient(app) as client:
        async with client.get("/items", headers={"Origin": OTHER}) as resp:
            assert resp.status == 200  # the server answers; the browser withholds it
            assert cors_headers(resp) == {}
            assert vary_tokens(resp) == ["origin"]


async def test_request_without_origin_passes_untouched():
    app = make_app(allow_origins=[ORIGIN])
    async with TestClient(app) as client:
        async with client.get("/vary") as resp:
            assert cors_headers(resp) == {}
            assert resp.headers.getall("Vary") == ["Accept-Language"]
        async with client.options("/items") as resp:
            assert resp.status == 405  # no preflight without Origin: the router answers


async def test_options_without_request_method_is_an_ordinary_request():
    app = make_app(allow_origins=[ORIGIN])
    async with TestClient(app) as client, client.options("/opts", headers={"Origin": ORIGIN}) as resp:
        assert await resp.text() == "options handler"
        assert resp.headers["Access-Control-Allow-Origin"] == ORIGIN
    assert app.state["calls"] == ["OPTIONS"]


async def test_any_origin_without_credentials_sends_a_literal_star():
    app = make_app(allow_origins=["*"], allow_headers=["*"], allow_methods=["*"])
    async with TestClient(app) as client:
        async with client.get("/items", headers={"Origin": OTHER}) as resp:
            assert resp.headers["Access-Control-Allow-Origin"] == "*"
            assert "Vary" not in resp.headers  # the same answer for every origin
        async with client.options("/items", headers=preflight_headers(
                method="PATCH", headers="authorization, x-anything")) as resp:
            assert resp.status == 204
            assert resp.headers["Access-Control-Allow-Origin"] == "*"
            assert resp.headers["Access-Control-Allow-Methods"] == "PATCH"
            # Echoed: a '*' would not cover Authorization.
            assert resp.headers["Access-Control-Allow-Headers"] == "authorization, x-anything"


async def test_credentials_with_listed_origin():
    app = make_app(allow_origins=[ORIGIN], allow_credentials=True, allow_headers=["*"])
    async with TestClient(app) as client:
        async with client.options("/items", headers=preflight_headers(method="GET")) as resp:
            assert resp.status == 204
            assert resp.headers["Access-Control-Allow-Origin"] == ORIGIN
            assert resp.headers["Access-Control-Allow-Credentials"] == "true"
            assert resp.headers["Access-Control-Allow-Headers"] == "content-type, x-token"
        async with client.get("/items", headers={"Origin": OTHER}) as resp:
            assert cors_headers(resp) == {}


async def test_origin_regex():
    app = make_app(allow_origin_regex=r"https://[a-z0-9-]+\.example\.com")
    async with TestClient(app) as client:
        async with client.get("/items", headers={"Origin": "https://shop.example.com"}) as resp:
            assert resp.headers["Access-Control-Allow-Origin"] == "https://shop.example.com"
        # fullmatch: a suffix after the match does not sneak through.
        async with client.get("/items",
                              headers={"Origin": "https://shop.example.com.evil.org"}) as resp:
            assert "Access-Control-Allow-Origin" not in resp.headers


async def test_default_config_allows_nothing():
    app = make_app()
    async with TestClient(app) as client:
        async with client.get("/items", headers={"Origin": ORIGIN}) as resp:
            assert cors_headers(resp) == {}
        async with client.options("/items", headers=preflight_headers(method="GET",
                                                                      headers=None)) as resp:
            assert resp.status == 400
            assert cors_headers(resp) == {}


async def test_error_responses_carry_cors_headers():
    app = make_app(allow_origins=[ORIGIN])
    async with TestClient(app) as client:
        async with client.get("/boom", headers={"Origin": ORIGIN}) as resp:
            assert resp.status == 500
            assert await resp.json() == {"error": "Internal Server Error"}
            assert resp.headers["Access-Control-Allow-Origin"] == ORIGIN
        async with client.get("/gone", headers={"Origin": ORIGIN}) as resp:
            assert resp.status == 410
            assert resp.headers["Access-Control-Allow-Origin"] == ORIGIN
        async with client.get("/missing", headers={"Origin": ORIGIN}) as resp:
            assert resp.status == 404
            assert resp.headers["Access-Control-Allow-Origin"] == ORIGIN


async def test_inner_middleware_http_error_is_rendered_with_cors_headers():
    app = make_app(allow_origins=[ORIGIN])

    async def refuse(context, call_next):
        raise HTTPError(403, "inner middleware says no")

    app.middleware.append(refuse)
    async with TestClient(app) as client, client.get("/items", headers={"Origin": ORIGIN}) as resp:
        assert resp.status == 403
        assert (await resp.json())["detail"] == "inner middleware says no"
        assert resp.headers["Access-Control-Allow-Origin"] == ORIGIN


async def test_preflight_with_curl():
    app = make_app(allow_origins=[ORIGIN], allow_methods=["GET", "PUT"],
                   allow_headers=["Content-Type", "X-Token"], max_age=86400)
    async with TestClient(app) as client:
        proc = await asyncio.create_subprocess_exec(
            "curl", "-sS", "-D", "-", "-o", "/dev/null", "-X", "OPTIONS", client.url("/items"),
            "-H", f"Origin: {ORIGIN}", "-H", "Access-Control-Request-Method: PUT",
            "-H", "Access-Control-Request-Headers: content-type,x-token",
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
        out, err = await asyncio.wait_for(proc.communicate(), 20)
    assert proc.returncode == 0, err
    lines = out.decode().splitlines()
    assert lines[0].split()[1] == "204"
    headers = {k.strip().lower(): v.strip() for k, _, v in (line.partition(":") for line in lines[1:])
               if k}
    assert headers["access-control-allow-origin"] == ORIGIN
    assert headers["access-control-allow-methods"] == "GET, PUT"
    assert headers["access-control-allow-headers"] == "content-type, x-token"
    assert headers["access-control-max-age"] == "86400"


async def test_with_compression_both_vary_tokens_survive():
    app = make_app(allow_origins=[ORIGIN])
    app.plugins.enable("compression", minimum_size=10)

    @app.get("/big")
    async def big(context):
        return {"status": 200, "headers": {"Vary": "Cookie"}, "body": "x" * 2000}

    async with TestClient(app) as client:
        async with client.get("/big", headers={"Origin": ORIGIN, "Accept-Encoding": "gzip"}) as resp:
            assert resp.headers["Content-Encoding"] == "gzip"
            assert resp.headers["Access-Control-Allow-Origin"] == ORIGIN
            assert vary_tokens(resp) == ["cookie", "accept-encoding", "origin"]
        # A preflight is answered before compression ever sees it.
        async with client.options("/big", headers=preflight_headers(method="GET",
                                                                    headers=None)) as resp:
            assert resp.status == 204
            assert "Content-Encoding" not in resp.headers
