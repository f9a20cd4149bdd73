"""Seed-compatible names that live in plugins, found through the ``pyframe.exports`` group.

``from pyframe.middleware import CORSMiddleware`` loads the name from whichever installed
distribution exports it, so the core never imports a plugin. Where none does, the ImportError
says why: the plugin is blocked, its distribution does not have the name yet, or the extra to
install.
"""

from __future__ import annotations

import functools
from typing import Any

import importlib_metadata

from ..errors import install_hint
from .discovery import ENV_BLOCK, EXPORTS_GROUP, blocked_ids, installed_version

__all__ = ["load_export", "exports_getattr"]


@functools.cache
def _exports() -> dict[str, importlib_metadata.EntryPoint]:
    return {ep.name: ep for ep in importlib_metadata.entry_points(group=EXPORTS_GROUP)}


def load_export(module: str, name: str, plugin_id: str) -> Any:
    """Load ``name`` of ``module`` from the distribution that exports it, or raise an
    ImportError saying what to do (pyframe's plugin ``<id>`` is distribution ``pyframe-<id>``)."""
    provided = f"{name} is provided by the {plugin_id} plugin"
    if plugin_id in blocked_ids():
        raise ImportError(f"{provided}, which {ENV_BLOCK} blocks: take {plugin_id} out of it",
                          name=module)
    ep = _exports().get(name)
    if ep is None:
        distribution = f"pyframe-{plugin_id}"
        version = installed_version(distribution)
        if version is not None:
            # Installing the extra again would change nothing: say so, not "install it".
            raise ImportError(f"{provided}, but the installed {distribution} {version} does not "
                              f"provide it yet, so installing it again changes nothing",
                              name=module)
        raise ImportError(f"{provided}, which is not installed: {install_hint(plugin_id)}",
                          name=module)
    return ep.load()


def exports_getattr(module: str, providers: dict[str, str]) -> Any:
    """A module ``__getattr__`` that loads each of ``providers`` (name -> plugin id)."""

    def __getattr__(name: str) -> Any:
        plugin_id = providers.get(name)
        if plugin_id is None:
            raise AttributeError(f"module {module!r} has no attribute {name!r}")
        return load_export(module, name, plugin_id)

    return __getattr__
