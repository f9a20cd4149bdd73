"""The static plugin's hook implementations: mounts from config and ``app.add_static_path``."""

from __future__ import annotations

from typing import Any

from pyframe.plugin import ConfigError, Route, get_logger, hookimpl

from .config import StaticConfig, check_mount, mount_from_code
from .mount import Mount

__all__ = ["StaticPlugin"]

log = get_logger("pyframe.static", plugin="static")


class StaticPlugin:
    """Serves folders of files. The core enables it when ``app.add_static_path`` is used."""

    plugin_id = "static"

    def __init__(self) -> None:
        self.config = StaticConfig()
        self.mounts: list[Mount] = []

    @hookimpl
    def pyframe_get_config_schema(self) -> type[StaticConfig]:
        return StaticConfig

    @hookimpl
    def pyframe_configure_plugin(self, app: Any, config: StaticConfig, source: str) -> None:
        self.config = config
        mounts: dict[str, Mount] = {}
        declared = [(m, f"{source}: plugins.static.mounts[{i}]")
                    for i, m in enumerate(config.mounts)]
        for sm in app.static_paths:
            declared.append((mount_from_code(sm.url_path, sm.directory, sm.headers, sm.options),
                             f"app.add_static_path({sm.url_path!r}, {sm.directory!r})"))
        for mount_config, where in declared:
            prefix = check_mount(mount_config, where)
            other = mounts.get(prefix)
            if other is not None:
                raise ConfigError(f"{where}: {prefix} is already mounted by {other.where}")
            mounts[prefix] = Mount(prefix, mount_config, where)
        self.mounts = list(mounts.values())

    @hookimpl
    def pyframe_add_routes(self, app: Any) -> list[Route]:
        routes = []
        for mount in self.mounts:
            for route in mount.routes():
                taken = next((r for r in app.router
                              if r.path == route.path and "GET" in r.methods), None)
                if taken is not None:
                    raise ConfigError(f"{mount.where}: GET {route.path} is already routed to "
                                      f"{taken.name} by the app; mount the folder elsewhere")
                routes.append(route)
            bare = mount.bare_route()
            if bare is not None and not any(r.path == bare.path for r in app.router):
                routes.append(bare)  # only where the app has nothing of its own
        return routes

    @hookimpl
    def pyframe_start_app(self, app: Any) -> None:
        # Relative directories are read against the working directory at start-up.
        for mount in self.mounts:
            root = mount.resolve_root()
            log.info("static_mounted", url=mount.prefix, directory=root, index=mount.index,
                     hidden=mount.hidden)
