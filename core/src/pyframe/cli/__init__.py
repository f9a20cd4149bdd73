"""The ``pyframe`` command (``python -m pyframe``): run, routes, plugins, config, new-plugin, and
the subcommands installed plugins add."""

from .commands import build_parser, load_app, main

__all__ = ["main", "build_parser", "load_app"]
