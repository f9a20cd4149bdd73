"""Seed-compatible names that live in plugins, found through the ``pyframe.exports`` group.

``from pyframe.middleware import CORSMiddleware`` loads the name from whichever installed
distribution exports it, so the core never imports a plugin. Where none does, the ImportError
names the extra to install.
"""

from __future__ import annotations

import functools
from typing import Any

import importlib_metadata

from .discovery import EXPORTS_GROUP, blocked_ids

__all__ = ["load_export", "exports_getattr"]


@functools.cache
def _exports() -> dict[str, importlib_metadata.EntryPoint]:
    return {ep.name: ep for ep in importlib_metadata.entry_points(group=EXPORTS_GROUP)}


def load_export(module: str, name: str, plugin_id: str) -> Any:
    ep = _exports().get(name)
    if ep is None or plugin_id in blocked_ids():
        raise ImportError(f"{name} is provided by the {plugin_id} plugin, which is not "
                          f"installed: pip install 'pyframe[{plugin_id}]'", name=module)
    return ep.load()


def exports_getattr(module: str, providers: dict[str, str]) -> Any:
    """A module ``__getattr__`` that loads each of ``providers`` (name -> plugin id)."""

    def __getattr__(name: str) -> Any:
        plugin_id = providers.get(name)
        if plugin_id is None:
            raise AttributeError(f"module {module!r} has no attribute {name!r}")
        return load_export(module, name, plugin_id)

    return __getattr__
