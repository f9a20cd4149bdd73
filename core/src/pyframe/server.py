"""``from pyframe.server import SimpleDevServer``: the API reference's import path for the
development server, which lives in :mod:`pyframe.serve.dev`."""

from .serve.dev import SimpleDevServer

__all__ = ["SimpleDevServer"]
