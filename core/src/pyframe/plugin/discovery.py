"""Finding installed plugins: the ``pyframe.plugins`` entry point group, the switches that
block them (``PYFRAME_BLOCK_PLUGINS``) or turn discovery off (``PYFRAME_DISABLE_PLUGIN_AUTOLOAD``),
and what to tell a user about a plugin that is not there.
"""

from __future__ import annotations

import difflib
import functools
import os
from collections.abc import Iterable, Mapping
from typing import Any

import importlib_metadata

from ..errors import PluginError, install_hint

__all__ = ["InstalledPlugin", "installed_plugins", "blocked_ids", "autoload_disabled",
           "installed_version", "missing_plugin_hint", "missing_plugin_message", "OWN_PLUGINS",
           "ENTRY_POINT_GROUP", "EXPORTS_GROUP", "ENV_NO_AUTOLOAD", "ENV_BLOCK", "ENV_TRACE"]

ENTRY_POINT_GROUP = "pyframe.plugins"
EXPORTS_GROUP = "pyframe.exports"
ENV_NO_AUTOLOAD = "PYFRAME_DISABLE_PLUGIN_AUTOLOAD"
ENV_BLOCK = "PYFRAME_BLOCK_PLUGINS"
ENV_TRACE = "PYFRAME_TRACE_PLUGINS"
# pyframe's own plugins: plugin <id> is the distribution pyframe-<id> and the umbrella's extra
# <id> (a test holds this to the umbrella's pyproject).
OWN_PLUGINS = ("cors", "auth", "ratelimit", "compression", "static", "metrics", "ws", "sse")


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


def installed_version(distribution: str) -> str | None:
    """The version of an installed distribution, or None."""
    try:
        return importlib_metadata.version(distribution)
    except importlib_metadata.PackageNotFoundError:
        return None


def missing_plugin_hint(plugin_id: str, known: Iterable[str] = ()) -> str:
    """What to do about a plugin id that no installed distribution registers.

    Never a circle: when pyframe's own distribution for the id is installed but does not
    register the plugin (a release that has only the plugin's building blocks), installing
    the extra again would change nothing, so the hint says so instead. ``known`` are the ids
    that are installed, for a "did you mean".
    """
    if plugin_id in OWN_PLUGINS:
        distribution = f"pyframe-{plugin_id}"
        version = installed_version(distribution)
        if version is not None:
            return (f"{distribution} {version} is installed but does not register the "
                    f"{plugin_id!r} plugin yet, so installing it again changes nothing")
        return install_hint(plugin_id)
    close = difflib.get_close_matches(plugin_id, sorted({*known, *OWN_PLUGINS}), n=1)
    guess = f"did you mean {close[0]!r}? If not, " if close else ""
    return (f"{guess}install the distribution that provides it (it names the id in its "
            f"{ENTRY_POINT_GROUP!r} entry points)")


def missing_plugin_message(plugin_id: str, enabled_by: str, source: str) -> str:
    """The start-up error for an enabled plugin that is not installed: what enabled it, what
    to install, and how to undo what enabled it."""
    if enabled_by == "config":
        what = f"{source} has a [plugins.{plugin_id}] section"
        undo = "remove that section, or set enabled = false in it"
    elif enabled_by == "code":
        what = f"the app enables plugin {plugin_id!r}"
        undo = f"remove the app.plugins.enable({plugin_id!r}) call"
    else:
        what, undo = enabled_by, f"remove what needs it ({enabled_by})"
    hint = (f"autoloading is off ({ENV_NO_AUTOLOAD}), so only app.plugins.register(obj, "
            f"{plugin_id!r}) enables it" if autoload_disabled() else
            missing_plugin_hint(plugin_id, installed_plugins()))
    return f"{what}, but no plugin with the id {plugin_id!r} is installed: {hint}. Or {undo}"
