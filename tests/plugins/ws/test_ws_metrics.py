"""With the metrics plugin on, /metrics shows the ws plugin's measurements (through the
``pyframe_add_metric_sources`` hook: neither plugin imports the other)."""

from __future__ import annotations

from prometheus_client.parser import text_string_to_metric_families

from pyframe.testing import TestClient
from pyframe_ws import WebSocketManager

from .support import DEADLINE, client, wait_until, ws_app


async def scrape(server) -> dict[str, dict[tuple, float]]:
    async with server.get("/metrics", headers={"Accept-Encoding": "identity"}) as resp:
        assert resp.status == 200
        text = await resp.text()
    found: dict[str, dict[tuple, float]] = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            found.setdefault(sample.name, {})[tuple(sorted(sample.labels.items()))] = sample.value
    return found


async def test_connections_and_messages_are_exposed(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    manager = WebSocketManager("metered")
    app = ws_app(tmp_path, "[plugins.ws]\n\n[plugins.metrics]\n")

    @app.websocket("/ws")
    async def echo(websocket):
        await manager.connect(websocket)
        async for message in websocket:
            await websocket.send_text(message)

    async with TestClient(app) as server:
        async with client(server.port, "/ws") as one, client(server.port, "/ws") as two:
            for ws in (one, two):
                for text in ("a", "b", "c"):
                    await ws.send(text)
                    assert await ws.recv(DEADLINE) == text
            metrics = await scrape(server)
            assert metrics["pyframe_ws_connections"][()] == 2
            assert metrics["pyframe_ws_messages_in_total"][()] == 6
            assert metrics["pyframe_ws_messages_out_total"][()] == 6
            assert metrics["pyframe_ws_messages_dropped_total"][()] == 0
            assert metrics["pyframe_ws_manager_connections"][(("namespace", "metered"),)] == 2
        await wait_until(lambda: manager.get_connection_count() == 0, what="both closed")
        metrics = await scrape(server)
        assert metrics["pyframe_ws_connections"][()] == 0
        assert metrics["pyframe_ws_closes_total"][(("reason", "client"),)] == 2
        assert metrics["pyframe_ws_connections_opened_total"][()] == 2
