"""The ws plugin's hook implementations: ``[plugins.ws]`` serves the app's WebSocket routes."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from pyframe.plugin import PluginError, check_backend_url, hookimpl, open_backend

from .config import WsConfig
from .metrics import ws_samples
from .registry import RUNTIME
from .route import serve_websocket, sync_handlers
from .runtime import WsRuntime

__all__ = ["WsPlugin"]


class WsPlugin:
    plugin_id = "ws"

    def __init__(self) -> None:
        self.config = WsConfig()
        self.backend_url = "memory://"

    @hookimpl
    def pyframe_get_config_schema(self) -> type[WsConfig]:
        return WsConfig

    @hookimpl
    def pyframe_configure_plugin(self, app: Any, config: WsConfig, source: str) -> None:
        self.config = config
        self.backend_url = check_backend_url(config.backend, source=source,
                                             key="plugins.ws.backend")

    @hookimpl
    def pyframe_make_websocket_handler(self, app: Any) -> Callable[..., Any]:
        blocking = sync_handlers(app.router)
        if blocking:
            raise PluginError(f"the WebSocket route {blocking[0].path} has a plain def handler "
                              f"({blocking[0].name}); WebSocket handlers are async def")
        return serve_websocket

    @hookimpl
    async def pyframe_start_app(self, app: Any) -> None:
        lease = await open_backend(app, self.backend_url)
        runtime = WsRuntime(app, self.config, lease)
        app.state[RUNTIME] = runtime
        await runtime.start()

    @hookimpl
    async def pyframe_stop_app(self, app: Any) -> None:
        runtime = app.state.pop(RUNTIME, None)
        if runtime is not None:
            await runtime.stop()

    @hookimpl
    def pyframe_add_metric_sources(self, app: Any) -> list[Callable[[], Any]]:
        return [lambda: ws_samples(app)]
