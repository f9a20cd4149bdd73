"""Plugins report measurements through pyframe_add_metric_sources, and the shared backends
their health; the metrics plugin exposes both on /metrics."""

from __future__ import annotations

from prometheus_client.parser import text_string_to_metric_families

from pyframe import PyFrameApp
from pyframe.plugin import MetricSample, hookimpl, open_backend
from pyframe.testing import TestClient


class Reporting:
    """Opens the embedded backend and reports two measurements, one of them broken."""

    def __init__(self) -> None:
        self.open = 3

    @hookimpl
    async def pyframe_start_app(self, app):
        self.lease = await open_backend(app, "memory://")

    @hookimpl
    def pyframe_add_metric_sources(self, app):
        def connections():
            yield MetricSample(name="pyframe_demo_connections", value=self.open,
                               help="Open demo connections.", labels={"namespace": "chat"})
            yield MetricSample(name="pyframe_demo_dropped_total", value=2, kind="counter",
                               help="Dropped demo messages.")

        def broken():
            raise RuntimeError("this source fails")

        return [connections, broken]


async def scrape(client) -> dict:
    async with client.get("/metrics") as resp:
        assert resp.status == 200
        text = await resp.text()
    return {family.name: family for family in text_string_to_metric_families(text)}


async def test_plugin_sources_and_backend_health_are_exposed():
    app = PyFrameApp()
    app.plugins.enable("metrics")
    plugin = Reporting()
    app.plugins.register(plugin, "demo")
    async with TestClient(app) as client:
        families = await scrape(client)
        (sample,) = families["pyframe_demo_connections"].samples
        assert (sample.labels, sample.value) == ({"namespace": "chat"}, 3.0)
        assert families["pyframe_demo_dropped"].type == "counter"
        assert families["pyframe_demo_dropped"].samples[0].value == 2.0
        up = families["pyframe_backend_up"].samples
        assert [(s.labels["url"], s.value) for s in up] == [("memory://", 1.0)]
        assert "pyframe_backend_reconnects" in families
        plugin.open = 5  # read again on each scrape
        families = await scrape(client)
        assert families["pyframe_demo_connections"].samples[0].value == 5.0
