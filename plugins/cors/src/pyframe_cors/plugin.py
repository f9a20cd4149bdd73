"""The cors plugin's hook implementations: a ``[plugins.cors]`` section becomes a CORSMiddleware."""

from __future__ import annotations

from typing import Any

from pyframe.plugin import hookimpl

from .config import CorsConfig
from .middleware import CORSMiddleware

__all__ = ["CorsPlugin"]


class CorsPlugin:
    plugin_id = "cors"

    def __init__(self) -> None:
        self.config = CorsConfig()

    @hookimpl
    def pyframe_get_config_schema(self) -> type[CorsConfig]:
        return CorsConfig

    @hookimpl
    def pyframe_configure_plugin(self, app: Any, config: CorsConfig) -> None:
        self.config = config

    @hookimpl
    def pyframe_add_middleware(self, app: Any) -> list[CORSMiddleware]:
        return [CORSMiddleware.from_config(self.config)]
