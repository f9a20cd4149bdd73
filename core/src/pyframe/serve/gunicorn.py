"""Serving under gunicorn with aiohttp's worker class: gunicorn owns the socket and workers."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING

from ..http.runner import PyFrameRunner
from ..logging import configure_logging

if TYPE_CHECKING:
    from ..app import PyFrameApp

__all__ = ["gunicorn_app", "PyFrameRunner"]


def gunicorn_app(app: PyFrameApp) -> Callable[[], Awaitable[PyFrameRunner]]:
    """Serve ``app`` under gunicorn with aiohttp's worker class::

        # myapp.py
        app = PyFrameApp()
        gunicorn = gunicorn_app(app)

        $ gunicorn myapp:gunicorn --worker-class aiohttp.GunicornWebWorker --workers 4

    gunicorn owns the socket and the workers; the app's ``[server]`` limits still apply.
    """

    async def make_runner() -> PyFrameRunner:
        loaded = app.load_config()
        configure_logging(loaded.config.logging.level, loaded.config.logging.format)
        return PyFrameRunner(app, handle_signals=False,
                             shutdown_timeout=loaded.config.server.shutdown_timeout)

    return make_runner
