"""The README's demo app serves what its page links to."""

import importlib.util
from pathlib import Path

import brotli

from pyframe.testing import TestClient

DEMO = Path(__file__).parents[2] / "examples" / "demo" / "app.py"


def load_demo():
    spec = importlib.util.spec_from_file_location("pyframe_demo_app", DEMO)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.app


async def test_demo_pages_api_and_plugins():
    app = load_demo()
    async with TestClient(app) as client:
        async with client.get("/", headers={"Accept-Encoding": "br"}) as resp:
            assert resp.status == 200 and resp.headers["Content-Encoding"] == "br"
            assert b"<h1>pyframe demo</h1>" in brotli.decompress(await resp.read())
        async with client.get("/static/style.css") as resp:
            assert resp.status == 200 and resp.headers["Content-Type"].startswith("text/css")
        async with client.post("/api/notes", json={"text": "hello"}) as resp:
            assert resp.status == 201 and (await resp.json())["text"] == "hello"
        async with client.post("/api/notes", json={"txt": "typo"}) as resp:
            assert resp.status == 422
        async with client.get("/api/notes/99") as resp:
            assert resp.status == 404 and (await resp.json())["detail"] == "no note 99"
        async with client.get("/admin/metrics") as resp:
            assert (await resp.json())["request_count"] == 5
        async with client.get("/metrics", headers={"Accept-Encoding": "identity"}) as resp:
            assert "# TYPE" in (await resp.read()).decode()
        async with client.options("/api/notes", headers={
                "Origin": "http://localhost:3000", "Access-Control-Request-Method": "POST"}) as resp:
            assert resp.headers["Access-Control-Allow-Origin"] == "http://localhost:3000"
