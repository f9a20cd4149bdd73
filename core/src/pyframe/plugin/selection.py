"""Which plugins one app enables: code's enable and disable calls, the config file's
``[plugins.<id>]`` sections and what the app needs; and the switched-off sections, checked too.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Iterable, Mapping
from typing import TYPE_CHECKING, Any

from ..config import toml_type, validate_plugin_section
from ..errors import ConfigError, PluginError
from ..logging import get_logger
from .discovery import blocked_ids, installed_plugins

if TYPE_CHECKING:
    from ..config import LoadedConfig

__all__ = ["wanted_plugins", "check_switched_off"]

log = get_logger("pyframe")

# Plugin id -> (its options, what enabled it: "code", "config" or the reason it is needed).
Wanted = dict[str, tuple[dict[str, Any], str]]


def wanted_plugins(loaded: LoadedConfig, requested: Mapping[str, dict[str, Any]],
                   disabled: set[str], required: Iterable[tuple[str, str]]
                   ) -> tuple[Wanted, dict[str, dict[str, Any]]]:
    """The plugins to enable, from code (``requested``, ``disabled``), the config file and
    what needs one (``required``: (id, reason)); and the settings of the sections that are
    switched off, by id."""
    source = loaded.describe()
    switched_off: dict[str, dict[str, Any]] = {}
    wanted: Wanted = {pid: (dict(options), "code") for pid, options in requested.items()}
    for pid, section in loaded.config.plugins.items():
        if not isinstance(section, dict):
            raise ConfigError(f"{source}: plugins.{pid}: expected table, "
                              f"got {toml_type(section)}")
        section = dict(section)
        enabled = section.pop("enabled", True)
        if not isinstance(enabled, bool):
            raise ConfigError(f"{source}: plugins.{pid}.enabled: expected bool, "
                              f"got {toml_type(enabled)}")
        if not enabled or pid in disabled:
            wanted.pop(pid, None)
            switched_off[pid] = section
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
        if pid in disabled or pid in switched_off:
            where = "app.plugins.disable" if pid in disabled else f"enabled = false in {source}"
            raise PluginError(f"{reason} needs the {pid!r} plugin, but {where} turns it off; "
                              f"remove one or the other")
        wanted.setdefault(pid, ({}, reason))
    return wanted, switched_off


def check_switched_off(sections: Mapping[str, dict[str, Any]], objects: Mapping[str, Any],
                       loaded: LoadedConfig, schema_of: Callable[[Any], Any]) -> None:
    """Validate the settings of plugins that are switched off, so a mistake there stops
    start-up now rather than on the day the plugin is switched on.

    ``objects`` are plugin objects registered in code; the others are looked up among the
    installed plugins. A plugin not installed here has no schema to check against, and a
    blocked one is not loaded at all: their sections pass.
    """
    blocked = blocked_ids()
    sections = {pid: s for pid, s in sections.items() if s and pid not in blocked}
    installed = installed_plugins() if any(p not in objects for p in sections) else {}
    for pid, section in sections.items():
        if pid not in objects and pid not in installed:
            continue
        try:
            obj = objects[pid] if pid in objects else installed[pid].load()
            schema = schema_of(obj() if inspect.isclass(obj) else obj)
        except Exception as exc:  # noqa: BLE001 - it is off: a broken plugin must not stop start-up
            log.warning("plugin_config_unchecked", plugin=pid,
                        reason=f"{type(exc).__name__}: {exc}")
            continue
        validate_plugin_section(pid, schema, section, loaded.describe(), loaded.env_keys)
