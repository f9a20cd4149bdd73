"""The plugins of one app (``app.plugins``): enabling, registering with pluggy, validating each
plugin's config, and calling the hooks.

Installed is not enabled: a plugin runs when the config file has a ``[plugins.<id>]`` section
for it, or code enables it. The entry point name is the plugin's id. Hooks go through pluggy, so
``tryfirst``, ``trylast`` and ``wrapper=True`` implementations behave as pluggy documents.
"""

from __future__ import annotations

import inspect
import os
from collections.abc import Awaitable, Callable, Iterable
from typing import TYPE_CHECKING, Any

import pluggy

from ..config import validate_plugin_section
from ..errors import PluginError
from ..logging import get_logger
from . import specs
from .discovery import (
    ENV_BLOCK,
    ENV_TRACE,
    blocked_ids,
    installed_plugins,
    missing_plugin_hint,
    missing_plugin_message,
)
from .selection import check_switched_off, wanted_plugins

if TYPE_CHECKING:
    from ..app import PyFrameApp
    from ..config import LoadedConfig
    from ..request.routing import Route

__all__ = ["Plugins", "PluginInfo", "new_manager", "config_schema_of"]

log = get_logger("pyframe")


def new_manager() -> pluggy.PluginManager:
    """A pluggy manager with pyframe's hook specs; ``PYFRAME_TRACE_PLUGINS=1`` logs each call."""
    manager = pluggy.PluginManager("pyframe")
    manager.add_hookspecs(specs)
    if os.environ.get(ENV_TRACE, "").strip().lower() in ("1", "true", "yes", "on"):
        manager.trace.root.setwriter(
            lambda line: log.info("plugin_hook_trace", line=line.rstrip()))
        manager.enable_tracing()
    return manager


def config_schema_of(obj: Any) -> Any:
    """A plugin object's config schema (its ``pyframe_get_config_schema``), asked outside any
    app: for a section the config switches off, and for ``pyframe config schema``."""
    manager = new_manager()
    try:
        manager.register(obj, name="schema")
    except (pluggy.PluginValidationError, ValueError) as exc:
        raise PluginError(f"plugin {obj!r} cannot be registered: {exc}") from None
    schema = manager.hook.pyframe_get_config_schema()
    if inspect.isawaitable(schema):
        _close(schema)
        raise PluginError(f"plugin {obj!r}: pyframe_get_config_schema must not be async")
    return schema


class PluginInfo:
    """An enabled plugin: its id, where it came from, its object and validated config.

    ``source`` says where its settings came from, for messages: the config file (as
    ``LoadedConfig.describe()`` names it), ``app.plugins.enable('<id>')`` for code, or what
    needed it (``app.add_static_path``).
    """

    __slots__ = ("id", "distribution", "version", "obj", "options", "config", "enabled_by",
                 "source")

    def __init__(self, id: str, distribution: str, version: str, obj: Any,
                 options: dict[str, Any], enabled_by: str, source: str) -> None:
        self.id = id
        self.distribution = distribution
        self.version = version
        self.obj = obj
        self.options = options
        self.config: Any = None
        self.enabled_by = enabled_by
        self.source = source

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
        self.manager = new_manager()
        self._requested: dict[str, dict[str, Any]] = {}
        self._objects: dict[str, Any] = {}
        self._disabled: set[str] = set()
        self._enabled: dict[str, PluginInfo] = {}
        self._started: list[PluginInfo] = []
        self._built = False

    @property
    def hook(self) -> Any:
        """pluggy's hook relay: ``app.plugins.hook.pyframe_<name>(...)``."""
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
        """The object of an enabled plugin, once the app is built (``app.build()``, ``await
        app.startup()``, or in a start-up hook). Before that, share objects through
        ``app.state`` under a ``pyframe.plugin.AppKey``."""
        return self._info(plugin_id).obj

    def config(self, plugin_id: str) -> Any:
        """The validated config of an enabled plugin (after the app is built)."""
        return self._info(plugin_id).config

    def info(self, plugin_id: str) -> PluginInfo:
        return self._info(plugin_id)

    def _info(self, plugin_id: str) -> PluginInfo:
        try:
            return self._enabled[plugin_id]
        except KeyError:
            if self._built:
                raise KeyError(f"no enabled plugin {plugin_id!r}: it is not enabled") from None
            raise KeyError(
                f"no enabled plugin {plugin_id!r}: the app is not built yet. app.plugins.get() "
                "works once it is (app.build(), await app.startup(), or in a start-up hook); "
                "to reach a plugin's objects before that, the plugin keeps them in app.state "
                "under a pyframe.plugin.AppKey") from None

    @property
    def enabled(self) -> list[PluginInfo]:
        return list(self._enabled.values())

    def _check_open(self) -> None:
        if self._built:
            raise RuntimeError("plugins are fixed once the app has started")

    def reset(self) -> None:
        """Unregister every plugin so the app can be built again (an in-place restart)."""
        for info in self._enabled.values():
            self.manager.unregister(info.obj)
        self._enabled.clear()
        self._started.clear()
        self._built = False

    # Building: which plugins, their objects, their validated config.
    def build(self, loaded: LoadedConfig, required: Iterable[tuple[str, str]] = ()) -> None:
        """Load, register, validate and configure every enabled plugin."""
        if self._built:
            return
        source = loaded.describe()
        wanted, switched_off = wanted_plugins(loaded, self._requested, self._disabled,
                                              required)
        installed = installed_plugins() if any(p not in self._objects for p in wanted) else {}
        blocked = blocked_ids()
        for pid, (options, enabled_by) in wanted.items():
            if pid in blocked:
                where = source if enabled_by == "config" else enabled_by
                raise PluginError(f"plugin {pid!r} is enabled by {where} but blocked by "
                                  f"{ENV_BLOCK}; remove one or the other")
            if pid in self._objects:
                obj, dist, version = self._objects[pid], "(registered in code)", ""
            elif pid in installed:
                ip = installed[pid]
                obj, dist, version = ip.load(), ip.distribution, ip.version
            else:
                raise PluginError(missing_plugin_message(pid, enabled_by, source))
            if inspect.isclass(obj):
                obj = obj()
            where = (source if enabled_by == "config" else
                     f"app.plugins.enable({pid!r})" if enabled_by == "code" else enabled_by)
            info = PluginInfo(pid, dist, version, obj, options, enabled_by, where)
            self._enabled[pid] = info
            self._register(info)
        try:
            self.manager.check_pending()
        except pluggy.PluginValidationError as exc:
            raise PluginError(self._validation_message(exc)) from None
        for info in self._enabled.values():
            schema = self.call_one("pyframe_get_config_schema", info)
            info.config = validate_plugin_section(info.id, schema, info.options, info.source,
                                                  loaded.env_keys)
        check_switched_off(switched_off, self._objects, loaded, config_schema_of)
        for info in self._enabled.values():
            self.call_one("pyframe_configure_plugin", info, app=self.app, config=info.config,
                          source=info.source)
        self._built = True

    def _register(self, info: PluginInfo) -> None:
        try:
            self.manager.register(info.obj, name=info.id)
        except pluggy.PluginValidationError as exc:
            raise PluginError(self._validation_message(exc)) from None
        except ValueError as exc:
            raise PluginError(f"plugin {info.id!r} ({info.distribution}) cannot be registered: "
                              f"{exc}") from None

    def _validation_message(self, exc: pluggy.PluginValidationError) -> str:
        pid = self.manager.get_name(exc.plugin) if exc.plugin is not None else None
        if pid is None:  # registration failed, so pluggy does not know the name yet
            pid = next((p for p, i in self._enabled.items() if i.obj is exc.plugin), "?")
        info = self._enabled.get(pid)
        dist = info.distribution if info else "?"
        return (f"plugin {pid!r} ({dist}) implements a hook pyframe does not define or with "
                f"arguments its spec does not have: {exc}. See docs/hooks.md for the hooks; "
                f"update the plugin or block it with {ENV_BLOCK}={pid}")

    # Calling hooks.
    def order(self, hook_name: str) -> list[PluginInfo]:
        """The enabled plugins implementing ``hook_name``, in the order pluggy calls them
        (``tryfirst`` first, ``trylast`` last, else the last registered first)."""
        by_obj = {id(info.obj): info for info in self._enabled.values()}
        seen: dict[str, PluginInfo] = {}
        for impl in reversed(getattr(self.manager.hook, hook_name).get_hookimpls()):
            info = by_obj.get(id(impl.plugin))
            if info is not None and not impl.hookwrapper and not impl.wrapper:
                seen.setdefault(info.id, info)
        return list(seen.values())

    def call_one(self, hook_name: str, info: PluginInfo, **kwargs: Any) -> Any:
        """Call a per-plugin hook for one plugin only (pluggy's ``subset_hook_caller``)."""
        others = [i.obj for i in self._enabled.values() if i is not info]
        caller = self.manager.subset_hook_caller(hook_name, remove_plugins=others)
        result = caller(**kwargs)
        if isinstance(result, list):  # not firstresult: one plugin, at most one answer
            result = result[0] if result else None
        if inspect.isawaitable(result) and hook_name not in specs.ASYNC_HOOKS:
            _close(result)
            raise PluginError(f"plugin {info.id!r}: {hook_name} must not be async")
        return result

    def _broadcast(self, hook_name: str) -> list[Any]:
        results = getattr(self.manager.hook, hook_name)(app=self.app)
        return [r for r in results if r is not None]

    def routes(self) -> list[Route]:
        """Every plugin's ``pyframe_add_routes``, each route tagged with its plugin's id."""
        routes = []
        for info in self.order("pyframe_add_routes"):
            for route in self.call_one("pyframe_add_routes", info, app=self.app) or ():
                if route.plugin is None:
                    route.plugin = info.id
                routes.append(route)
        return routes

    def middleware(self) -> list[Any]:
        contributed: list[Any] = []
        for answer in self._broadcast("pyframe_add_middleware"):
            contributed.extend(answer if isinstance(answer, Iterable) else [answer])
        return contributed

    def request_observers(self) -> list[Callable[..., Any]]:
        """Every plugin's ``pyframe_add_request_observers``, in pluggy's order, checked now: an
        observer that is not callable, or is async (nothing would await it), fails start-up."""
        observers: list[Callable[..., Any]] = []
        for info in self.order("pyframe_add_request_observers"):
            answer = self.call_one("pyframe_add_request_observers", info, app=self.app)
            for observer in ([answer] if callable(answer) else answer or ()):
                if not callable(observer) or inspect.iscoroutinefunction(observer) or \
                        inspect.iscoroutinefunction(getattr(observer, "__call__", None)):
                    raise PluginError(f"plugin {info.id!r}: pyframe_add_request_observers "
                                      f"returned {observer!r}; an observer is a plain (not "
                                      f"async) callable taking a FinishedRequest")
                observers.append(observer)
        return observers

    def _merged(self, hook_name: str) -> dict[Any, Any]:
        # pluggy's order is priority order (tryfirst first): the first answer for a key wins.
        merged: dict[Any, Any] = {}
        for answer in self._broadcast(hook_name):
            for key, value in answer.items():
                merged.setdefault(key, value)
        return merged

    def body_decoders(self) -> dict[str, Callable[[bytes, str], Any]]:
        return self._merged("pyframe_add_body_decoders")

    def response_encoders(self) -> dict[type, Callable[[Any], Any]]:
        return self._merged("pyframe_add_response_encoders")

    def stream_encoders(self) -> dict[str, Callable[[Any], bytes]]:
        return self._merged("pyframe_add_stream_encoders")

    def exception_handlers(self) -> dict[type[BaseException], Callable[..., Any]]:
        return self._merged("pyframe_add_exception_handlers")

    def websocket_handler(self) -> Callable[..., Awaitable[Any]]:
        handler = self.manager.hook.pyframe_make_websocket_handler(app=self.app)
        if handler is None:
            hint = "" if "ws" in installed_plugins() else f" ({missing_plugin_hint('ws')})"
            raise PluginError("the app has WebSocket routes but no plugin serves them: enable "
                              "the ws plugin with a [plugins.ws] section or "
                              f"app.plugins.enable('ws'){hint}")
        return handler

    async def start(self) -> None:
        """Each plugin's ``pyframe_start_app``, one plugin at a time in pluggy's order.

        If one fails, the plugins already started are stopped again and the error goes on,
        naming the plugin in the log.
        """
        for info in self.order("pyframe_start_app"):
            try:
                result = self.call_one("pyframe_start_app", info, app=self.app)
                if inspect.isawaitable(result):
                    await result
            except BaseException:
                log.error("plugin_start_failed", plugin=info.id)
                await self.stop()
                raise
            self._started.append(info)

    async def stop(self) -> None:
        """``pyframe_stop_app`` for every plugin, in the reverse of the start order; a failure
        is logged and the others still stop."""
        with_start = {info.id for info in self.order("pyframe_start_app")}
        stopping = list(reversed(self._started))
        stopping += [i for i in reversed(self.order("pyframe_stop_app"))
                     if i.id not in with_start]
        self._started.clear()
        for info in stopping:
            try:
                result = self.call_one("pyframe_stop_app", info, app=self.app)
                if inspect.isawaitable(result):
                    await result
            except Exception:
                log.exception("plugin_stop_failed", plugin=info.id)

    def hooks_of(self, plugin_id: str) -> list[str]:
        obj = self._info(plugin_id).obj
        return sorted(c.name for c in self.manager.get_hookcallers(obj) or [])


def _close(awaitable: Any) -> None:
    close = getattr(awaitable, "close", None)
    if close is not None:
        close()
