"""The middleware and the two endpoints over real HTTP."""

from __future__ import annotations

import asyncio

import pytest
from prometheus_client import REGISTRY
from prometheus_client.parser import text_string_to_metric_families

from pyframe import HTTPError, NotFound, PyFrameApp, Unauthorized
from pyframe.testing import TestClient

STATS_KEYS = {"uptime_seconds", "request_count", "error_count", "error_rate",
              "avg_response_time", "requests_per_second"}


def make_app(**options):
    app = PyFrameApp()
    app.plugins.enable("metrics", **options)

    @app.get("/users/<int:id>")
    async def user(context):
        return {"id": context.params["id"]}

    @app.get("/boom")
    async def boom(context):
        raise RuntimeError("handler bug")

    @app.get("/missing")
    async def missing(context):
        raise NotFound(detail="no such thing")

    @app.get("/teapot")
    async def teapot(context):
        return {"status": 418, "body": "short and stout"}

    return app


async def scrape(client, **headers) -> dict:
    """{(sample name, frozenset(labels)): value} from /metrics, read by prometheus-client."""
    async with client.get("/metrics", headers=headers) as resp:
        assert resp.status == 200
        text = await resp.text()
    return {(s.name, frozenset(s.labels.items())): s.value
            for family in text_string_to_metric_families(text) for s in family.samples}


def requests_total(values, route, status, method="GET"):
    key = ("pyframe_http_requests_total",
           frozenset({"method": method, "route": route, "status": str(status)}.items()))
    return values.get(key, 0)


async def test_requests_are_counted_by_method_route_pattern_and_status():
    app = make_app()
    async with TestClient(app) as client:
        for path in ("/users/1", "/users/2", "/users/3", "/boom", "/missing", "/teapot",
                     "/no/such/path"):
            async with client.get(path) as resp:
                await resp.read()
        async with client.post("/users/1") as resp:
            assert resp.status == 405
        values = await scrape(client)
    assert requests_total(values, "/users/<int:id>", 200) == 3  # the pattern, not /users/1
    assert requests_total(values, "/boom", 500) == 1
    assert requests_total(values, "/missing", 404) == 1
    assert requests_total(values, "/teapot", 418) == 1
    assert requests_total(values, "<unmatched>", 404) == 1
    assert requests_total(values, "<unmatched>", 405, method="POST") == 1
    assert not any("/users/1" in dict(labels).get("route", "") for _, labels in values)
    count = values[("pyframe_http_request_duration_seconds_count",
                    frozenset({"method": "GET", "route": "/users/<int:id>"}.items()))]
    assert count == 3


async def test_one_route_answering_two_statuses_has_one_histogram():
    app = make_app()
    async with TestClient(app) as client:
        for path in ("/users/1", "/users/2", "/users/x"):  # /users/x: no route, a 404
            async with client.get(path) as resp:
                await resp.read()

        @app.get("/flaky/<int:n>")
        async def flaky(context):
            if context.params["n"] % 2:
                raise NotFound()
            return "ok"

        for n in range(5):
            async with client.get(f"/flaky/{n}") as resp:
                await resp.read()
        values = await scrape(client)
    assert requests_total(values, "/flaky/<int:n>", 200) == 3
    assert requests_total(values, "/flaky/<int:n>", 404) == 2
    labels = frozenset({"method": "GET", "route": "/flaky/<int:n>"}.items())
    assert values[("pyframe_http_request_duration_seconds_count", labels)] == 5
    assert values[("pyframe_http_request_duration_seconds_bucket",
                   labels | {("le", "+Inf")})] == 5
    assert values[("pyframe_http_request_duration_seconds_sum", labels)] > 0


async def test_an_exception_is_recorded_as_500_and_still_rendered_by_the_core():
    app = make_app()
    async with TestClient(app) as client:
        async with client.get("/boom") as resp:
            assert resp.status == 500
            assert await resp.json() == {"error": "Internal Server Error"}
        stats = app.plugins.get("metrics").server_metrics.get_stats()
    assert (stats["request_count"], stats["error_count"]) == (1, 1)


async def test_an_http_error_raised_by_inner_middleware_keeps_its_status():
    app = make_app()

    async def guard(context, call_next):
        if context.path == "/users/7":
            raise Unauthorized()
        return await call_next(context)

    app.middleware.append(guard)
    async with TestClient(app) as client:
        async with client.get("/users/7") as resp:
            assert resp.status == 401
        values = await scrape(client)
    assert requests_total(values, "/users/<int:id>", 401) == 1
    assert requests_total(values, "/users/<int:id>", 500) == 0


async def test_unknown_methods_share_one_label():
    app = make_app()
    async with TestClient(app) as client:
        for method in ("PURGE", "PROPFIND", "MKCOL"):  # methods llhttp knows
            async with client.request(method, "/users/1") as resp:
                await resp.read()
        values = await scrape(client)
    assert requests_total(values, "<unmatched>", 405, method="OTHER") == 3
    assert {dict(labels).get("method") for _, labels in values} <= {None, "GET", "OTHER"}


async def test_requests_in_flight():
    app = make_app()
    entered, release = asyncio.Event(), asyncio.Event()

    @app.get("/slow")
    async def slow(context):
        entered.set()
        await release.wait()
        return "done"

    async with TestClient(app) as client:
        async def call_slow():
            async with client.get("/slow") as resp:
                return await resp.text()

        task = asyncio.create_task(call_slow())
        await asyncio.wait_for(entered.wait(), 5)
        during = await scrape(client)
        release.set()
        assert await task == "done"
        after = await scrape(client)
    # The scrape itself is in flight too.
    assert during[("pyframe_http_requests_in_flight", frozenset())] == 2
    assert after[("pyframe_http_requests_in_flight", frozenset())] == 1


async def test_admin_metrics_returns_the_reference_stats():
    app = make_app()
    async with TestClient(app) as client:
        for path in ("/users/1", "/users/2", "/missing"):
            async with client.get(path) as resp:
                await resp.read()
        async with client.get("/admin/metrics") as resp:
            assert resp.status == 200
            assert resp.headers["Content-Type"] == "application/json"
            stats = await resp.json()
    assert set(stats) == STATS_KEYS
    assert stats["request_count"] == 3
    assert stats["error_count"] == 1
    assert stats["error_rate"] == pytest.approx(1 / 3)
    assert stats["avg_response_time"] > 0
    assert stats["uptime_seconds"] > 0


async def test_the_plugins_server_metrics_is_a_server_metrics():
    from pyframe_metrics import ServerMetrics

    app = make_app()
    async with TestClient(app) as client:
        async with client.get("/users/1") as resp:
            await resp.read()
        plugin = app.plugins.get("metrics")
        assert isinstance(plugin.server_metrics, ServerMetrics)
        assert plugin.server_metrics.request_count == 1
        assert plugin.get_stats()["request_count"] == 1
        # Code of the app's own can count into it too, as into any ServerMetrics.
        plugin.server_metrics.record_request(0.25, 503)
        assert (plugin.server_metrics.request_count, plugin.server_metrics.error_count) == (2, 1)
        assert plugin.server_metrics.total_response_time >= 0.25
        assert plugin.get_stats()["error_rate"] == 0.5


@pytest.mark.parametrize("header", [None, "Bearer wrong", "Basic s3cret", "Bearer"])
async def test_admin_token_is_required_when_set(header):
    app = make_app(admin_token="s3cret")
    async with TestClient(app) as client:
        headers = {"Authorization": header} if header else {}
        async with client.get("/admin/metrics", headers=headers) as resp:
            assert resp.status == 401
            assert resp.headers["WWW-Authenticate"] == 'Bearer realm="metrics"'
        async with client.get("/admin/metrics",
                              headers={"Authorization": "Bearer s3cret"}) as resp:
            assert resp.status == 200
            assert set(await resp.json()) == STATS_KEYS
        # The admin token does not protect /metrics, which has its own.
        async with client.get("/metrics") as resp:
            assert resp.status == 200


async def test_prometheus_token_is_required_when_set():
    app = make_app(prometheus_token="scrape-me")
    async with TestClient(app) as client:
        async with client.get("/metrics") as resp:
            assert resp.status == 401
        values = await scrape(client, Authorization="Bearer scrape-me")
    assert requests_total(values, "/metrics", 401) == 1


async def test_paths_are_configurable_and_endpoints_can_be_turned_off():
    app = make_app(admin_path="/_stats", prometheus_path="/_prom")
    async with TestClient(app) as client:
        async with client.get("/_stats") as resp:
            assert set(await resp.json()) == STATS_KEYS
        async with client.get("/_prom") as resp:
            assert "pyframe_http_requests_total" in await resp.text()
        for path in ("/admin/metrics", "/metrics"):
            async with client.get(path) as resp:
                assert resp.status == 404

    app = make_app(admin_enabled=False, prometheus_enabled=False)
    async with TestClient(app) as client:
        for path in ("/admin/metrics", "/metrics"):
            async with client.get(path) as resp:
                assert resp.status == 404
        async with client.get("/users/1") as resp:
            assert resp.status == 200
        assert app.plugins.get("metrics").get_stats()["request_count"] == 3


async def test_openmetrics_when_the_scraper_asks_for_it():
    app = make_app()
    async with TestClient(app) as client:
        async with client.get("/metrics", headers={
                "Accept": "application/openmetrics-text; version=1.0.0"}) as resp:
            assert resp.headers["Content-Type"].startswith("application/openmetrics-text")
            assert (await resp.text()).endswith("# EOF\n")
        async with client.get("/metrics") as resp:
            assert resp.headers["Content-Type"].startswith("text/plain")


async def test_buckets_and_namespace_options():
    app = make_app(buckets=[0.5, 1, 2], namespace="shop")
    async with TestClient(app) as client:
        async with client.get("/users/1") as resp:
            await resp.read()
        async with client.get("/metrics") as resp:
            text = await resp.text()
    bounds = {s.labels["le"] for family in text_string_to_metric_families(text)
              for s in family.samples if s.name == "shop_http_request_duration_seconds_bucket"}
    assert bounds == {"0.5", "1.0", "2.0", "+Inf"}
    assert "pyframe_" not in text


async def test_each_app_has_its_own_registry_not_the_global_one():
    first, second = make_app(), make_app()
    async with TestClient(first) as a, TestClient(second) as b:
        for _ in range(3):
            async with a.get("/users/1") as resp:
                await resp.read()
        a_values, b_values = await scrape(a), await scrape(b)
    assert requests_total(a_values, "/users/<int:id>", 200) == 3
    assert requests_total(b_values, "/users/<int:id>", 200) == 0
    assert REGISTRY.get_sample_value("pyframe_http_requests_total") is None
    assert not any(name.startswith("pyframe_") for name in REGISTRY._names_to_collectors)


async def test_connection_gauges_for_websocket_and_sse_plugins():
    app = make_app()
    async with TestClient(app) as client:
        metrics = app.plugins.get("metrics")
        metrics.connections_opened("websocket")
        metrics.connections_opened("websocket")
        metrics.connections_closed("websocket")
        with metrics.track_connection("sse"):
            inside = await scrape(client)
        after = await scrape(client)
        with pytest.raises(ValueError, match="connection kind"):
            metrics.connections_opened("Not A Kind!")
        with pytest.raises(RuntimeError):
            with metrics.track_connection("sse"):
                raise RuntimeError("the stream failed")
        final = await scrape(client)

    def gauge(values, kind):
        return values[("pyframe_open_connections", frozenset({"kind": kind}.items()))]

    assert (gauge(inside, "websocket"), gauge(inside, "sse")) == (1, 1)
    assert (gauge(after, "websocket"), gauge(after, "sse")) == (1, 0)
    assert gauge(final, "sse") == 0  # closed even when the block raised


def test_the_connection_api_needs_a_started_plugin():
    from pyframe_metrics import MetricsPlugin

    with pytest.raises(RuntimeError, match="not started"):
        MetricsPlugin().connections_opened("websocket")


async def test_http_error_subclass_status_from_a_handler_is_a_response():
    # HTTPError raised by a handler is rendered at the handler: metrics sees the response.
    app = make_app()

    @app.get("/gone")
    async def gone(context):
        raise HTTPError(410, "gone for good")

    async with TestClient(app) as client:
        async with client.get("/gone") as resp:
            assert resp.status == 410
        values = await scrape(client)
    assert requests_total(values, "/gone", 410) == 1


async def test_the_status_counted_is_the_one_written_by_an_exception_handler_too():
    # An observer of finished requests sees what was sent, not what left the chain.
    app = make_app()

    @app.get("/invalid")
    async def invalid(context):
        raise ValueError("not a number")

    app.add_exception_handler(ValueError, lambda context, exc: {"status": 422, "body": "bad"})
    async with TestClient(app) as client:
        async with client.get("/invalid") as resp:
            assert resp.status == 422
        values = await scrape(client)
    assert requests_total(values, "/invalid", 422) == 1
    assert requests_total(values, "/invalid", 500) == 0


async def test_metrics_is_an_observer_not_a_layer_of_the_chain():
    app = make_app()
    async with TestClient(app) as client:
        async with client.get("/users/3") as resp:
            assert resp.status == 200
        assert app.middleware_chain == []
        values = await scrape(client)
    assert requests_total(values, "/users/<int:id>", 200) == 1
