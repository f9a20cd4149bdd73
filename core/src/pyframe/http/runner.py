"""An aiohttp AppRunner that serves a PyFrameApp, for gunicorn's aiohttp worker classes."""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Any

from aiohttp import web

from ..logging import get_logger
from ..request.streams import draining
from .access import AccessLogger

if TYPE_CHECKING:
    from ..app import PyFrameApp

__all__ = ["PyFrameRunner"]

log = get_logger("pyframe")


class PyFrameRunner(web.AppRunner):
    """Serves a PyFrameApp with its limits under aiohttp's gunicorn worker. The aiohttp
    Application it holds is an empty carrier: aiohttp's worker accepts only AppRunner
    instances, and asks it for a server through the private ``_make_server``."""

    def __init__(self, app: PyFrameApp, **kwargs: Any) -> None:
        super().__init__(web.Application(), access_log_class=AccessLogger, **kwargs)
        self.pyframe_app = app

    async def shutdown(self) -> None:
        draining(self.pyframe_app).set()

    async def _make_server(self) -> web.Server:
        await self.pyframe_app.startup()
        log.info("server_listening", server="gunicorn", pid=os.getpid())
        return self.pyframe_app.make_handler()

    async def _cleanup_server(self) -> None:
        await self.pyframe_app.shutdown()
