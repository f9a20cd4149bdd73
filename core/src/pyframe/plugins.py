"""Plugin discovery (entry point group ``pyframe.plugins``), enabling, and validation.

Installed is not enabled: a plugin runs when the config file has a ``[plugins.<id>]`` section
for it, or code enables it. The entry point name is the plugin's id.
"""

from __future__ import annotations

import functools
import inspect
import os
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any

import importlib_metadata
import pluggy

from . import hookspecs
from .config import validate_section
from .errors import ConfigError, PluginError
from .logging import get_logger

if TYPE_CHECKING:
    from .app import PyFrameApp
    from .config import LoadedConfig

__all__ = ["Plugins", "PluginInfo", "installed_plugins", "ENTRY_POINT_GROUP", "EXPORTS_GROUP",
           "ENV_NO_AUTOLOAD", "ENV_BLOCK", "blocked_ids"]

ENTRY_POINT_GROUP = "pyframe.plugins"
EXPORTS_GROUP = "pyframe.exports"
ENV_NO_AUTOLOAD = "PYFRAME_DISABLE_PLUGIN_AUTOLOAD"
ENV_BLOCK = "PYFRAME_BLOCK_PLUGINS"
log = get_logger("pyframe")


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


class PluginInfo:
    """An enabled plugin: its id, where it came from, its object and validated config."""

    __slots__ = ("id", "distribution", "version", "obj", "options", "config", "enabled_by")

    def __init__(self, id: str, distribution: str, version: str, obj: Any,
                 options: dict[str, Any], enabled_by: str) -> None:
        self.id = id
        self.distribution = distribution
        self.version = version
        self.obj = obj
        self.options = options
        self.config: Any = None
        self.enabled_by = enabled_by

    def __repr__(self) -> str:
        return f"<PluginInfo {self.id} ({self.distribution} {self.version}) by {self.enabled_by}>"


class Plugins:
    """The plugins of one app: ``app.plugins``.

    ``enable(id, **options)`` and ``register(obj, id=...)`` take effect when the app starts;
    the config file's ``[plugins.<id>]`` sections are merged in then (the file wins over code,
    the environment over the file).
    """

    def __init__(self, app: PyFrameApp) -> None:
        self.app = app
        self.manager = pluggy.PluginManager("pyframe")
        self.manager.add_hookspecs(hookspecs)
        self._requested: dict[str, dict[str, Any]] = {}
        self._objects: dict[str, Any] = {}
        self._disabled: set[str] = set()
        self._enabled: dict[str, PluginInfo] = {}
        self._built = False

    @property
    def hook(self) -> Any:
        return self.manager.hook

    def enable(self, plugin_id: str, **options: Any) -> None:
        """Turn an installed plugin on with these settings (before the app starts)."""
        self._check_open()
        self._disabled.discard(plugin_id)
        self._requested.setdefault(plugin_id, {}).update(options)

    def disable(self, plugin_id: str) -> None:
        """Keep a plugin off even if the config file enables it."""
        self._check_open()
        self._disabled.add(plugin_id)
        self._requested.pop(plugin_id, None)

    def register(self, obj: Any, plugin_id: str | None = None, **options: Any) -> None:
        """Enable a plugin object that is not installed through an entry point (tests, apps)."""
        self._check_open()
        pid = plugin_id or getattr(obj, "plugin_id", None) or getattr(obj, "__name__", None)
        if not pid:
            raise PluginError(f"cannot tell the id of plugin {obj!r}: pass plugin_id=")
        if pid in self._objects and self._objects[pid] is not obj:
            raise PluginError(f"two plugins registered with the id {pid!r}")
        self._objects[pid] = obj
        self.enable(pid, **options)

    def is_enabled(self, plugin_id: str) -> bool:
        if self._built:
            return plugin_id in self._enabled
        return plugin_id in self._requested

    def get(self, plugin_id: str) -> Any:
        """The object of an enabled plugin (after start-up)."""
        return self._enabled[plugin_id].obj

    def config(self, plugin_id: str) -> Any:
        return self._enabled[plugin_id].config

    @property
    def enabled(self) -> list[PluginInfo]:
        return list(self._enabled.values())

    def _check_open(self) -> None:
        if self._built:
            raise RuntimeError("plugins are fixed once the app has started")

    def build(self, loaded: LoadedConfig, required: Iterable[tuple[str, str]] = ()) -> None:
        """Load, register, validate and configure every enabled plugin."""
        if self._built:
            return
        source = loaded.describe()
        sections = loaded.config.plugins
        switched_off: set[str] = set()
        wanted: dict[str, tuple[dict[str, Any], str]] = {}
        for pid, options in self._requested.items():
            wanted[pid] = (dict(options), "code")
        for pid, section in sections.items():
            if not isinstance(section, dict):
                raise ConfigError(f"{source}: plugins.{pid}: expected a table, "
                                  f"got {type(section).__name__}")
            section = dict(section)
            enabled = section.pop("enabled", True)
            if not isinstance(enabled, bool):
                raise ConfigError(f"{source}: plugins.{pid}.enabled: expected bool, "
                                  f"got {type(enabled).__name__}")
            if not enabled or pid in self._disabled:
                wanted.pop(pid, None)
                switched_off.add(pid)
                continue
            if (pid not in loaded.file_plugins and pid not in wanted
                    and f"plugins.{pid}.enabled" not in loaded.env_keys):
                # Only environment variables name this plugin: they override settings of a
                # plugin that is on, they do not turn one on.
                log.warning("plugin_env_override_unused", plugin=pid,
                            variables=sorted(v for k, v in loaded.env_keys.items()
                                             if k.startswith(f"plugins.{pid}.")),
                            hint=f"set PYFRAME_PLUGINS__{pid.upper()}__ENABLED=true to turn it on")
                continue
            options, _ = wanted.get(pid, ({}, "config"))
            options.update(section)
            wanted[pid] = (options, "config")
        for pid, reason in required:
            if pid in self._disabled or pid in switched_off:
                where = "app.plugins.disable" if pid in self._disabled else \
                    f"enabled = false in {source}"
                raise PluginError(f"{reason} needs the {pid!r} plugin, but {where} turns it off; "
                                  f"remove one or the other")
            wanted.setdefault(pid, ({}, reason))

        installed = installed_plugins() if any(p not in self._objects for p in wanted) else {}
        blocked = blocked_ids()
        for pid, (options, enabled_by) in wanted.items():
            if pid in blocked:
                raise PluginError(f"plugin {pid!r} is enabled by {self._where(enabled_by, source)}"
                                  f" but blocked by {ENV_BLOCK}; remove one or the other")
            if pid in self._objects:
                obj, dist, version = self._objects[pid], "(registered in code)", ""
            elif pid in installed:
                ip = installed[pid]
                obj, dist, version = ip.load(), ip.distribution, ip.version
            else:
                raise PluginError(self._missing_message(pid, enabled_by, source))
            if inspect.isclass(obj):
                obj = obj()
            info = PluginInfo(pid, dist, version, obj, options, enabled_by)
            self._register(info)
            self._enabled[pid] = info
        try:
            self.manager.check_pending()
        except pluggy.PluginValidationError as exc:
            raise PluginError(self._validation_message(exc)) from None
        for info in self._enabled.values():
            schema = self._call_one("pyframe_get_config_schema", info)
            if schema is None:
                if info.options:
                    raise ConfigError(f"{self._where(info.enabled_by, source)}: plugins.{info.id}: "
                                      f"plugin {info.id!r} takes no settings, got "
                                      f"{', '.join(sorted(info.options))}")
                continue
            info.config = validate_section(schema, info.options, f"plugins.{info.id}",
                                           self._where(info.enabled_by, source), loaded.env_keys)
        for info in self._enabled.values():
            self._call_one("pyframe_configure_plugin", info, app=self.app, config=info.config)
        self._built = True

    def _register(self, info: PluginInfo) -> None:
        try:
            self.manager.register(info.obj, name=info.id)
        except pluggy.PluginValidationError as exc:
            raise PluginError(f"plugin {info.id!r} ({info.distribution}): "
                              f"{self._validation_message(exc)}") from None
        except ValueError as exc:
            raise PluginError(f"plugin {info.id!r} ({info.distribution}) cannot be registered: "
                              f"{exc}") from None

    def _validation_message(self, exc: pluggy.PluginValidationError) -> str:
        pid = self.manager.get_name(exc.plugin) if exc.plugin is not None else "?"
        info = self._enabled.get(pid)
        dist = info.distribution if info else "?"
        return (f"plugin {pid!r} ({dist}) implements a hook pyframe does not define or with "
                f"arguments its spec does not have: {exc}. See docs/hooks.md for the hooks; "
                f"update the plugin or block it with {ENV_BLOCK}={pid}")

    @staticmethod
    def _where(enabled_by: str, source: str) -> str:
        return source if enabled_by == "config" else enabled_by

    @staticmethod
    def _missing_message(pid: str, enabled_by: str, source: str) -> str:
        if enabled_by == "config":
            what = f"{source} has a [plugins.{pid}] section"
        elif enabled_by == "code":
            what = f"the app enables plugin {pid!r}"
        else:
            what = enabled_by
        hint = (f"autoloading is off ({ENV_NO_AUTOLOAD}); register it in code"
                if _truthy(os.environ.get(ENV_NO_AUTOLOAD)) else
                f"install it (pip install 'pyframe[{pid}]' for pyframe's own plugins)")
        return f"{what}, but no plugin with the id {pid!r} is installed: {hint}, or remove that"

    def _call_one(self, hook_name: str, info: PluginInfo, **kwargs: Any) -> Any:
        hook = getattr(self.manager.hook, hook_name)
        for impl in hook.get_hookimpls():
            if impl.plugin is info.obj:
                result = impl.function(*(kwargs[name] for name in impl.argnames))
                if inspect.isawaitable(result):
                    raise PluginError(f"plugin {info.id!r}: {hook_name} must not be async")
                return result
        return None

    def collect(self, hook_name: str) -> list[tuple[str, Any]]:
        """Call a broadcast hook with the app; (plugin id, answer) pairs, in enabling order."""
        hook = getattr(self.manager.hook, hook_name)
        answers: dict[Any, Any] = {}
        for impl in hook.get_hookimpls():
            answers[impl.plugin] = impl.function(
                *(self.app if name == "app" else None for name in impl.argnames))
        return [(info.id, answers[info.obj]) for info in self._enabled.values()
                if info.obj in answers and answers[info.obj] is not None]

    def hooks_of(self, plugin_id: str) -> list[str]:
        obj = self._enabled[plugin_id].obj
        return sorted(c.name for c in self.manager.get_hookcallers(obj) or [])
