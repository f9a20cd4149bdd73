"""The compression plugin's hook implementations: ``[plugins.compression]`` → the middleware."""

from __future__ import annotations

from typing import Any

from pyframe.plugin import hookimpl

from .config import CompressionConfig
from .middleware import CompressionMiddleware

__all__ = ["CompressionPlugin"]


class CompressionPlugin:
    plugin_id = "compression"

    def __init__(self) -> None:
        self.config = CompressionConfig()

    @hookimpl
    def pyframe_get_config_schema(self) -> type[CompressionConfig]:
        return CompressionConfig

    @hookimpl
    def pyframe_configure_plugin(self, app: Any, config: CompressionConfig) -> None:
        self.config = config

    @hookimpl
    def pyframe_add_middleware(self, app: Any) -> list[CompressionMiddleware]:
        return [CompressionMiddleware.from_config(self.config)]
