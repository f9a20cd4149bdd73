"""What is installed: ``pyframe plugins`` (each plugin, and whether the config enables it) and
``pyframe --version`` (pyframe's version and every installed plugin's)."""

from __future__ import annotations

import argparse
import os
import platform
from typing import Any

from ..errors import ConfigError, PluginError
from ..plugin.discovery import autoload_disabled, installed_plugins, installed_version

__all__ = ["plugin_rows", "version_text", "VersionAction", "config_file_present"]


def config_file_present() -> bool:
    return os.path.isfile("pyframe.toml") or os.path.isfile("pyproject.toml") or bool(
        os.environ.get("PYFRAME_CONFIG"))


def plugin_rows(target: str | None, config: str | None) -> tuple[list[dict[str, Any]], str | None]:
    """One row per installed plugin, and the config's error if it is invalid.

    An invalid config (or app) still lists every plugin: what is installed does not depend on
    it, only which plugins are enabled does, so ``enabled`` is None then. A plugin that fails
    to import is listed with its error instead of its hooks.
    """
    from ..plugin import load_app
    from ..serve.target import TargetError

    enabled: dict[str, str] = {}
    error = None
    if target or config or config_file_present():
        try:
            app = load_app(target, config=config)
            enabled = {p.id: p.enabled_by for p in app.plugins.enabled}
        except (ConfigError, PluginError, TargetError) as exc:
            error = str(exc)
    rows = []
    for pid, plugin in sorted(installed_plugins().items()):
        hooks: list[str] = []
        problem = None
        try:
            obj = plugin.load()
            hooks = sorted(n for n in dir(obj) if n.startswith("pyframe_")
                           and hasattr(getattr(obj, n), "pyframe_impl"))
        except PluginError as exc:
            problem = str(exc)
        rows.append({"id": pid, "distribution": plugin.distribution, "version": plugin.version,
                     "enabled": None if error else pid in enabled,
                     "enabled_by": enabled.get(pid), "hooks": hooks, "error": problem})
    return rows, error


def version_text() -> str:
    """pyframe-core's version and Python's, then each installed plugin's distribution."""
    core = installed_version("pyframe-core") or "?"
    lines = [f"pyframe-core {core} on Python {platform.python_version()}"]
    if autoload_disabled():
        return "\n".join([*lines, "plugins: not looked up (PYFRAME_DISABLE_PLUGIN_AUTOLOAD)"])
    try:
        plugins = installed_plugins()
    except PluginError as exc:
        return "\n".join([*lines, f"plugins: {exc}"])
    if not plugins:
        return "\n".join([*lines, "plugins: none installed"])
    width = max(len(pid) for pid in plugins)
    lines.append("plugins:")
    lines += [f"  {pid.ljust(width)}  {p.distribution} {p.version}"
              for pid, p in sorted(plugins.items())]
    return "\n".join(lines)


class VersionAction(argparse.Action):
    """``--version``: computed when asked, so the plugins found are those installed now."""

    def __init__(self, option_strings: list[str], dest: str, **kwargs: Any) -> None:
        kwargs.setdefault("help", "print pyframe's version and the installed plugins', and exit")
        super().__init__(option_strings, dest, nargs=0, **kwargs)

    def __call__(self, parser: argparse.ArgumentParser, namespace: argparse.Namespace,
                 values: Any, option_string: str | None = None) -> None:
        print(version_text())
        parser.exit()
