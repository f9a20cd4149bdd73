"""The metrics plugin's hook implementations, and the API other plugins call.

Other plugins report long-lived connections here (``connections_opened("websocket")`` /
``connections_closed("websocket")``) after finding the plugin with
``app.plugins.get("metrics")`` when ``app.plugins.is_enabled("metrics")``.
"""

from __future__ import annotations

import asyncio
import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from pyframe.plugin import (
    ConfigError,
    PluginError,
    Route,
    get_logger,
    hookimpl,
    requests_in_flight,
)

from .config import MetricsConfig
from .endpoints import metrics_routes
from .observer import MetricsObserver
from .server_metrics import ServerMetrics

__all__ = ["MetricsPlugin"]

ENV_MULTIPROC = "PROMETHEUS_MULTIPROC_DIR"
# Across processes, how often a worker writes its in-flight count even when no request ends.
REFRESH_EVERY = 1.0
log = get_logger("pyframe.metrics", plugin="metrics")


class MetricsPlugin:
    plugin_id = "metrics"

    def __init__(self) -> None:
        self.config = MetricsConfig()
        # This process's counts; get_stats() covers every worker in multiprocess mode.
        self.server_metrics = ServerMetrics()
        self.instruments: Any = None  # .instruments.Instruments, once started
        self.multiprocess_dir: str | None = None
        self.app: Any = None
        self.observer = MetricsObserver()
        self._refresher: Any = None  # the in-flight gauge's task, across processes
        self._where = "[plugins.metrics]"

    # Hooks.
    @hookimpl
    def pyframe_get_config_schema(self) -> type[MetricsConfig]:
        return MetricsConfig

    @hookimpl
    def pyframe_configure_plugin(self, app: Any, config: MetricsConfig, source: str) -> None:
        self.config = config
        self.app = app
        self._where = f"{source}: plugins.metrics"
        if any(b >= a for a, b in zip(config.buckets[1:], config.buckets[:-1], strict=True)):
            raise ConfigError(f"{self._where}.buckets: expected increasing numbers, "
                              f"got {config.buckets}")
        if (config.admin_enabled and config.prometheus_enabled
                and config.admin_path == config.prometheus_path):
            raise ConfigError(f"{self._where}: admin_path and prometheus_path are both "
                              f"{config.admin_path!r}; give them different paths")
        self.multiprocess_dir = self._multiprocess_dir(config)

    def _multiprocess_dir(self, config: MetricsConfig) -> str | None:
        env = os.environ.get(ENV_MULTIPROC)
        wanted = config.multiprocess_dir
        if wanted is None:
            return env or None
        if env:
            if os.path.realpath(env) != os.path.realpath(wanted):
                raise ConfigError(f"{self._where}.multiprocess_dir is {wanted!r} but "
                                  f"{ENV_MULTIPROC} is {env!r}; set one of them")
            return env
        values = sys.modules.get("prometheus_client.values")
        if values is not None and not getattr(values.ValueClass, "_multiprocess", False):
            raise PluginError(_too_late(f"{self._where}.multiprocess_dir"))
        # prometheus-client reads the directory from the environment, when first imported.
        os.environ[ENV_MULTIPROC] = wanted
        return wanted

    @hookimpl
    def pyframe_add_routes(self, app: Any) -> list[Route]:
        routes = metrics_routes(self)
        for route in routes:
            taken = next((r for r in app.router if r.path == route.path and "GET" in r.methods),
                         None)
            if taken is not None:
                option = "admin" if route.name == "metrics_admin" else "prometheus"
                raise ConfigError(
                    f"{self._where}: GET {route.path} is already routed to {taken.name} by the "
                    f"app; set {option}_path to another path, or {option}_enabled = false")
        return routes

    @hookimpl
    def pyframe_add_request_observers(self, app: Any) -> list[MetricsObserver]:
        return [self.observer]

    @hookimpl
    def pyframe_start_app(self, app: Any) -> None:
        from .instruments import Instruments, multiprocess_ready

        directory = self.multiprocess_dir
        if directory is not None:
            if not os.path.isdir(directory):
                raise ConfigError(f"{self._where}: the multiprocess directory {directory!r} "
                                  f"does not exist; create it (empty) before the workers start")
            if not multiprocess_ready():
                raise PluginError(_too_late(ENV_MULTIPROC))
        self.instruments = Instruments(self.config.namespace, self.config.buckets, directory)
        from .reported import ReportedCollector, backend_samples

        sources = [lambda: backend_samples(app)]
        for answer in app.plugins.hook.pyframe_add_metric_sources(app=app):
            sources.extend(answer or ())
        self.instruments.add_collector(ReportedCollector(sources))
        self.server_metrics = self.instruments.server_metrics
        self.instruments.watch_in_flight(lambda: requests_in_flight(app))
        self.observer.bind(self.instruments)
        if directory is not None:
            self._refresher = asyncio.get_running_loop().create_task(
                self._refresh_in_flight(), name="pyframe-metrics-in-flight")
        log.info("metrics_started", multiprocess_dir=directory,
                 admin_path=self.config.admin_path if self.config.admin_enabled else None,
                 prometheus_path=(self.config.prometheus_path if self.config.prometheus_enabled
                                  else None))

    @hookimpl
    async def pyframe_stop_app(self, app: Any) -> None:
        task, self._refresher = self._refresher, None
        if task is not None:
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)
        if self.instruments is not None:
            self.instruments.process_stopped(os.getpid())

    async def _refresh_in_flight(self) -> None:
        """Across processes: this worker's in-flight value, written every REFRESH_EVERY
        seconds, so a worker whose requests are all still running is not read as idle.
        A failure is logged and the loop goes on."""
        while True:
            await asyncio.sleep(REFRESH_EVERY)
            try:
                self.instruments.refresh_in_flight()  # a write to an mmap, no I/O wait
            except Exception:
                log.exception("metrics_refresh_failed")

    # Stats.
    def get_stats(self) -> dict[str, Any]:
        """The ServerMetrics stats, over every worker process in multiprocess mode.

        Reads the workers' files in multiprocess mode: from the loop, use get_stats_async.
        """
        if self.instruments is not None and self.multiprocess_dir is not None:
            return self.instruments.aggregated_stats()
        return self.server_metrics.get_stats()

    async def get_stats_async(self) -> dict[str, Any]:
        if self.instruments is not None and self.multiprocess_dir is not None:
            return await self.app.run_sync(self.instruments.aggregated_stats)
        return self.server_metrics.get_stats()

    # Connections, for the WebSocket and SSE plugins.
    def connections_opened(self, kind: str) -> None:
        """One more open connection of ``kind`` ("websocket", "sse", or another short name)."""
        self._gauge(kind).inc()

    def connections_closed(self, kind: str) -> None:
        """One connection of ``kind`` closed; call it once per ``connections_opened``."""
        self._gauge(kind).dec()

    @contextmanager
    def track_connection(self, kind: str) -> Iterator[None]:
        """``with metrics.track_connection("sse"): ...`` counts the block as one connection."""
        gauge = self._gauge(kind)
        gauge.inc()
        try:
            yield
        finally:
            gauge.dec()

    def _gauge(self, kind: str) -> Any:
        if self.instruments is None:
            raise RuntimeError("the metrics plugin has not started yet")
        return self.instruments.connection_gauge(kind)


def _too_late(setting: str) -> str:
    return (f"{setting} asks for Prometheus multiprocess mode, but prometheus-client was "
            f"imported before it was set, so this process keeps its metrics in memory. Set "
            f"{ENV_MULTIPROC} in the environment of the server before it starts")
