"""Finding installed plugins: the ``pyframe.plugins`` entry point group, and the switches that
block them (``PYFRAME_BLOCK_PLUGINS``) or turn discovery off (``PYFRAME_DISABLE_PLUGIN_AUTOLOAD``).
"""

from __future__ import annotations

import functools
import os
from collections.abc import Mapping
from typing import Any

import importlib_metadata

from ..errors import PluginError

__all__ = ["InstalledPlugin", "installed_plugins", "blocked_ids", "autoload_disabled",
           "ENTRY_POINT_GROUP", "EXPORTS_GROUP", "ENV_NO_AUTOLOAD", "ENV_BLOCK", "ENV_TRACE"]

ENTRY_POINT_GROUP = "pyframe.plugins"
EXPORTS_GROUP = "pyframe.exports"
ENV_NO_AUTOLOAD = "PYFRAME_DISABLE_PLUGIN_AUTOLOAD"
ENV_BLOCK = "PYFRAME_BLOCK_PLUGINS"
ENV_TRACE = "PYFRAME_TRACE_PLUGINS"


class InstalledPlugin:
    """An entry point in ``pyframe.plugins``: id, distribution, version; loaded on demand."""

    __slots__ = ("id", "distribution", "version", "entry_point")

    def __init__(self, entry_point: importlib_metadata.EntryPoint) -> None:
        self.id = entry_point.name
        dist = entry_point.dist
        self.distribution = dist.name if dist is not None else "?"
        self.version = dist.version if dist is not None else "?"
        self.entry_point = entry_point

    def load(self) -> Any:
        try:
            return self.entry_point.load()
        except Exception as exc:
            raise PluginError(
                f"plugin {self.id!r} (distribution {self.distribution} {self.version}) failed "
                f"to import {self.entry_point.value}: {type(exc).__name__}: {exc}. Reinstall "
                f"it, or block it with {ENV_BLOCK}={self.id}") from exc


@functools.cache
def _scan() -> tuple[dict[str, InstalledPlugin], str | None]:
    found: dict[str, InstalledPlugin] = {}
    problem = None
    for ep in importlib_metadata.entry_points(group=ENTRY_POINT_GROUP):
        plugin = InstalledPlugin(ep)
        other = found.get(plugin.id)
        if other is not None and other.distribution != plugin.distribution:
            problem = (f"two installed plugins use the id {plugin.id!r}: distributions "
                       f"{other.distribution} and {plugin.distribution}. Uninstall one of them, "
                       f"or block the id with {ENV_BLOCK}")
        found.setdefault(plugin.id, plugin)
    return found, problem


def installed_plugins(env: Mapping[str, str] | None = None) -> dict[str, InstalledPlugin]:
    """Every plugin installed in this environment by id (nothing when autoload is off)."""
    env = os.environ if env is None else env
    if _truthy(env.get(ENV_NO_AUTOLOAD)):
        return {}
    found, problem = _scan()
    if problem:
        raise PluginError(problem)
    blocked = blocked_ids(env)
    return {pid: p for pid, p in found.items() if pid not in blocked}


def blocked_ids(env: Mapping[str, str] | None = None) -> set[str]:
    env = os.environ if env is None else env
    return {p.strip() for p in env.get(ENV_BLOCK, "").split(",") if p.strip()}


def _truthy(value: str | None) -> bool:
    return (value or "").strip().lower() in ("1", "true", "yes", "on")


def autoload_disabled(env: Mapping[str, str] | None = None) -> bool:
    return _truthy((os.environ if env is None else env).get(ENV_NO_AUTOLOAD))
