"""RequestContext over real HTTP: every attribute and method of the reference, bodies, limits."""

import io

import aiohttp
import pytest

from pyframe import PyFrameApp
from pyframe.testing import TestClient


@pytest.fixture
def app():
    return PyFrameApp()


async def test_request_attributes(app):
    @app.route("/users/<user_id>", methods=["GET"])
    async def get_user(context):
        return {
            "method": context.method, "path": context.path, "full_path": context.full_path,
            "params": context.params, "query": context.query_params,
            "include": context.get_query_param("include"), "all_tags": context.query_params.getall("tag"),
            "header": context.get_header("x-custom"), "header_default": context.get_header("nope", "d"),
            "cookie": context.get_cookie("sid"), "cookies": dict(context.cookies),
            "remote_addr": context.remote_addr, "user_agent": context.user_agent,
            "user": context.user, "app": context.app is app, "is_ajax": context.is_ajax(),
            "headers_ci": context.headers["X-CUSTOM"],
        }

    async with TestClient(app) as client:
        async with client.get("/users/42?include=posts&tag=a&tag=b", headers={
            "X-Custom": "v", "Cookie": "sid=abc", "User-Agent": "tester/1",
            "X-Requested-With": "XMLHttpRequest"}) as resp:
            data = await resp.json()
    assert data == {
        "method": "GET", "path": "/users/42", "full_path": "/users/42?include=posts&tag=a&tag=b",
        "params": {"user_id": "42"}, "query": {"include": "posts", "tag": "a"},
        "include": "posts", "all_tags": ["a", "b"], "header": "v", "header_default": "d",
        "cookie": "abc", "cookies": {"sid": "abc"}, "remote_addr": "127.0.0.1",
        "user_agent": "tester/1", "user": None, "app": True, "is_ajax": True, "headers_ci": "v",
    }


@pytest.mark.parametrize("accept,content_type,expected", [
    (None, "application/json", True),
    ("application/json", "application/json", True),
    ("text/html", "application/json", False),
    ("text/*", "text/html", True),
    ("*/*", "image/png", True),
    ("text/html, */*;q=0", "application/json", False),
    ("application/json;q=0, */*", "application/json", False),
    ("text/*;q=0, text/html", "text/html", True),
    ("text/*;q=0, text/html", "text/plain", False),
])
async def test_accepts_honours_q_values_and_wildcards(app, accept, content_type, expected):
    app.get("/a")(lambda context: {"accepts": context.accepts(content_type)})
    headers = {"Accept": accept} if accept else {"Accept": ""}
    async with TestClient(app) as client, client.get("/a", headers=headers) as resp:
        assert (await resp.json())["accepts"] is expected


async def test_json_body(app):
    @app.post("/echo")
    async def echo(context):
        return {"json": context.json, "is_json": context.is_json(), "raw": context.raw_body.decode()}

    async with TestClient(app) as client:
        async with client.post("/echo", json={"a": [1, 2]}) as resp:
            assert await resp.json() == {"json": {"a": [1, 2]}, "is_json": True, "raw": '{"a": [1, 2]}'}
        async with client.post("/echo", data=b"{oops", headers={"Content-Type": "application/json"}) as resp:
            assert resp.status == 400
            assert "malformed JSON body" in (await resp.json())["detail"]
        async with client.post("/echo", data=b'{"a":1}', headers={"Content-Type": "text/plain"}) as resp:
            assert resp.status == 415
            assert "expected a JSON body" in (await resp.json())["detail"]


async def test_typed_json_body(app):
    import msgspec

    class User(msgspec.Struct):
        name: str
        age: int

    app.post("/users")(lambda context: {"name": context.json_as(User).name})
    async with TestClient(app) as client:
        async with client.post("/users", json={"name": "ada", "age": 36}) as resp:
            assert await resp.json() == {"name": "ada"}
        async with client.post("/users", json={"name": "ada", "age": "old"}) as resp:
            assert resp.status == 422
            assert "$.age" in (await resp.json())["detail"]


async def test_form_and_files(app):
    @app.post("/upload")
    async def upload(context):
        upload = context.files.get("doc")
        return {"form": context.form, "files": {k: [f.filename, f.content_type, f.content.decode()]
                                                for k, f in context.files.items()},
                "size": upload.size if upload else None}

    async with TestClient(app) as client:
        async with client.post("/upload", data={"name": "ada", "lang": "en"}) as resp:
            assert await resp.json() == {"form": {"name": "ada", "lang": "en"}, "files": {}, "size": None}
        form = aiohttp.FormData()
        form.add_field("title", "report")
        form.add_field("doc", b"hello file", filename="a.txt", content_type="text/plain")
        async with client.post("/upload", data=form) as resp:
            assert await resp.json() == {"form": {"title": "report"},
                                         "files": {"doc": ["a.txt", "text/plain", "hello file"]},
                                         "size": 10}
        async with client.post("/upload", json={"a": 1}) as resp:
            assert resp.status == 415


@pytest.mark.parametrize("body,content_type,reason", [
    (b"--xyz\r\nContent-Disposition: form-data; name=\"a\"\r\n\r\nvalue", "multipart/form-data; boundary=xyz",
     "closing boundary"),
    (b"no boundary here", "multipart/form-data", "without a boundary"),
    (b"--xyz\r\nContent-Type: text/plain\r\n\r\nv\r\n--xyz--\r\n", "multipart/form-data; boundary=xyz",
     "no Content-Disposition"),
])
async def test_malformed_multipart_is_a_400(app, body, content_type, reason):
    app.post("/upload")(lambda context: {"form": context.form})
    async with TestClient(app) as client:
        async with client.post("/upload", data=body, headers={"Content-Type": content_type}) as resp:
            assert resp.status == 400
            assert reason in (await resp.json())["detail"]


async def test_body_size_limit_default_and_per_route(app):
    app.post("/default")(lambda context: {"size": len(context.raw_body)})
    app.post("/small", max_body_size=10)(lambda context: {"size": len(context.raw_body)})
    async with TestClient(app) as client:
        async with client.post("/default", data=io.BytesIO(b"x" * (1024 * 1024))) as resp:
            assert await resp.json() == {"size": 1024 * 1024}
        async with client.post("/default", data=io.BytesIO(b"x" * (1024 * 1024 + 1))) as resp:
            assert resp.status == 413
        async with client.post("/small", data=b"x" * 11) as resp:
            assert resp.status == 413
            assert "limit is 10" in (await resp.json())["detail"]

        async def chunks():
            for _ in range(3):
                yield b"x" * 5

        async with client.post("/small", data=chunks()) as resp:
            assert resp.status == 413


async def test_streamed_body_route(app):
    @app.post("/stream-in", stream_body=True)
    async def stream_in(context):
        total = 0
        async for chunk in context.stream():
            total += len(chunk)
        return {"total": total}

    async with TestClient(app) as client, client.post("/stream-in", data=io.BytesIO(b"y" * 3_000_000)) as resp:
        assert await resp.json() == {"total": 3_000_000}


async def test_body_decoders_through_data(app):
    app.post("/data")(lambda context: {"data": context.data})
    async with TestClient(app) as client:
        async with client.post("/data", json=[1]) as resp:
            assert await resp.json() == {"data": [1]}
        async with client.post("/data", data=b"x", headers={"Content-Type": "application/yaml"}) as resp:
            assert resp.status == 415
            assert "no decoder for application/yaml" in (await resp.json())["detail"]


async def test_middleware_sets_attributes_and_request_id(app):
    async def tag(context, call_next):
        context.request_id = "fixed-id"
        context.tenant = "acme"
        return await call_next(context)

    app.middleware.append(tag)
    app.get("/t")(lambda context: {"rid": context.request_id, "tenant": context.tenant})
    async with TestClient(app) as client, client.get("/t") as resp:
        assert await resp.json() == {"rid": "fixed-id", "tenant": "acme"}


async def test_request_id_from_client_or_generated(app):
    app.get("/t")(lambda context: {"rid": context.request_id})
    async with TestClient(app) as client:
        async with client.get("/t", headers={"X-Request-ID": "abc-123"}) as resp:
            assert (await resp.json())["rid"] == "abc-123"
        async with client.get("/t") as one, client.get("/t") as two:
            assert (await one.json())["rid"] != (await two.json())["rid"]


async def test_session_without_plugin_says_what_to_install(app):
    app.get("/s")(lambda context: {"s": context.session})
    async with TestClient(app) as client, client.get("/s") as resp:
        assert resp.status == 500


async def test_http_version_and_remote_port():
    from pyframe import PyFrameApp
    from pyframe.testing import TestClient

    app = PyFrameApp()
    app.get("/")(lambda context: {"version": context.http_version,
                                  "port": context.remote_port})
    async with TestClient(app) as client, client.get("/") as resp:
        body = await resp.json()
    assert body["version"] == "1.1"
    assert isinstance(body["port"], int) and 0 < body["port"] < 65536
