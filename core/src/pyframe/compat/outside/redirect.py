"""``OutsideHTTP_Redirect``: outside's redirect server on pyframe's ``RedirectServer``."""

from __future__ import annotations

import asyncio
import threading
from typing import Any

from pyframe.redirect import RedirectServer
from pyframe.serving import run_loop

__all__ = ["OutsideHTTP_Redirect"]


class OutsideHTTP_Redirect:  # noqa: N801 - outside's name
    """``OutsideHTTP_Redirect((host, port), "https://example.com").run()``: every request gets
    ``301 Location: https://example.com<path>?<query>``, path and query as sent.

    301 is what outside answered; ``status=308`` keeps the method and body of a POST. The
    destination may end in ``/`` or not (outside needed the slash). ``ready`` and ``port``
    are as on ``OutsideHTTP``.
    """

    def __init__(self, host: tuple[str, int], destination: str, *, status: int = 301) -> None:
        self.host = tuple(host)
        self.destination_host = destination
        self.server = RedirectServer(self.host[0], self.host[1], destination, status)
        self.ready = threading.Event()
        self.port: int | None = None
        self._terminate_process = False
        self._loop: asyncio.AbstractEventLoop | None = None
        self._runs = 0

    def run(self) -> None:
        """Redirect until ``terminate()``, SIGINT or SIGTERM."""
        if self._runs:
            self._terminate_process = False  # a new run after an earlier one ended
        self._runs += 1
        try:
            run_loop(self.server.serve_forever(on_ready=self._on_ready))
        finally:
            self._loop = None
            self.port = None
            self.ready.clear()

    def terminate(self, signum: int | None = None, stackframe: Any = None) -> None:
        """Stop ``run()``: from any thread, or as a signal handler."""
        self._terminate_process = True
        loop = self._loop
        if loop is None:
            return  # _on_ready sees the flag
        try:
            loop.call_soon_threadsafe(self.server.terminate)
        except RuntimeError:
            pass  # the loop closed meanwhile: the server has stopped already

    def _on_ready(self, server: Any) -> None:
        self._loop = asyncio.get_running_loop()
        self.port = server.port
        self.ready.set()
        if self._terminate_process:
            server.terminate()
