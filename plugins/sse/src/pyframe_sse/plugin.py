"""The sse plugin's hook implementations: the ``text/event-stream`` encoder, the middleware
that makes such responses event streams, and the per-app hub on the shared backend."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from pyframe.plugin import MetricSample, get_logger, hookimpl, open_backend

from .config import SSEConfig, backend_url
from .encoder import encode_event
from .hub import HUB, SSEHub
from .middleware import EVENT_STREAM, SSEMiddleware

__all__ = ["SSEPlugin"]

log = get_logger("pyframe", plugin="sse")


class SSEPlugin:
    plugin_id = "sse"

    def __init__(self) -> None:
        self.config = SSEConfig()
        self.url = "memory://"

    @hookimpl
    def pyframe_get_config_schema(self) -> type[SSEConfig]:
        return SSEConfig

    @hookimpl
    def pyframe_configure_plugin(self, app: Any, config: SSEConfig, source: str) -> None:
        self.config = config
        self.url = backend_url(config, source=source)

    @hookimpl
    def pyframe_add_stream_encoders(self, app: Any) -> dict[str, Callable[[Any], bytes]]:
        return {EVENT_STREAM: encode_event}

    @hookimpl
    def pyframe_add_middleware(self, app: Any) -> list[SSEMiddleware]:
        return [SSEMiddleware()]

    @hookimpl
    async def pyframe_start_app(self, app: Any) -> None:
        lease = await open_backend(app, self.url)
        hub = SSEHub(app, lease, self.config)
        await hub.start()
        app.state[HUB] = hub
        log.info("sse_started", backend=lease.url, ping_interval_s=self.config.ping_interval,
                 queue_size=self.config.queue_size)

    @hookimpl
    async def pyframe_stop_app(self, app: Any) -> None:
        hub = app.state.pop(HUB, None)
        if hub is not None:
            await hub.close()

    @hookimpl
    def pyframe_add_metric_sources(self, app: Any
                                   ) -> list[Callable[[], Iterable[MetricSample]]]:
        def sse_samples() -> Iterable[MetricSample]:
            hub = app.state.get(HUB)
            return hub.samples() if hub is not None else ()

        return [sse_samples]
