"""What the property tests share: hypothesis profiles, an app served from a background thread,
and a blocking HTTP client with a timeout on every read.

``PYFRAME_HOSTILE_FUZZ=long`` selects the long profile (see README.md); the default is short,
derandomized and repeatable, for CI.
"""

from __future__ import annotations

import asyncio
import os
import socket
import threading
from typing import Any

from hypothesis import HealthCheck, settings

from pyframe import PyFrameApp
from pyframe.testing import TestClient

from .support import RawResponse, parse_head

__all__ = ["FUZZ", "ThreadedServer", "http", "PROFILE_VARIABLE"]

PROFILE_VARIABLE = "PYFRAME_HOSTILE_FUZZ"
_COMMON: dict[str, Any] = {
    "deadline": None,  # a loaded CI machine's pauses are not a property failure
    "database": None,  # nothing written into the checkout
    # The suite's autouse fixture (a working directory, a clean environment) holds for
    # every example of a test alike.
    "suppress_health_check": [HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
}
settings.register_profile("pyframe-hostile-ci", max_examples=40, derandomize=True, **_COMMON)
settings.register_profile("pyframe-hostile-long", max_examples=5000, **_COMMON)
# Applied per test (``@FUZZ``), so the profile never leaks into other suites.
FUZZ = settings.get_profile(
    "pyframe-hostile-long" if os.environ.get(PROFILE_VARIABLE) == "long"
    else "pyframe-hostile-ci")
TIMEOUT = 10.0


class ThreadedServer:
    """``with ThreadedServer(app) as server: http(server.port, ...)``: the app served by a
    TestClient on an event loop of its own thread, so sync property tests can call it."""

    def __init__(self, app: PyFrameApp) -> None:
        self.app = app
        self.port = 0
        self._ready = threading.Event()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stop: asyncio.Event | None = None
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, name="hostile-fuzz-server",
                                        daemon=True)

    def __enter__(self) -> ThreadedServer:
        self._thread.start()
        if not self._ready.wait(TIMEOUT * 2) or self._error is not None:
            raise RuntimeError(f"the fuzz server did not start: {self._error!r}")
        return self

    def __exit__(self, *exc: Any) -> None:
        if self._loop is not None and self._stop is not None:
            self._loop.call_soon_threadsafe(self._stop.set)
        self._thread.join(TIMEOUT * 2)
        assert not self._thread.is_alive(), "the fuzz server did not stop"

    def _run(self) -> None:
        try:
            asyncio.run(self._serve())
        except BaseException as exc:  # reported by __enter__, not lost in the thread
            self._error = exc
            self._ready.set()

    async def _serve(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._stop = asyncio.Event()
        async with TestClient(self.app) as client:
            self.port = client.port
            self._ready.set()
            await self._stop.wait()


def http(port: int, head: bytes, body: bytes = b"") -> RawResponse | None:
    """One request on a fresh blocking connection (``Connection: close`` is added); the
    response, or None when the server closed without one."""
    with socket.create_connection(("127.0.0.1", port), timeout=TIMEOUT) as sock:
        sock.settimeout(TIMEOUT)
        try:
            sock.sendall(head + b"Connection: close\r\n\r\n" + body)
        except (BrokenPipeError, ConnectionResetError):
            pass  # answered and closed before taking it all
        chunks = []
        try:
            while chunk := sock.recv(65536):
                chunks.append(chunk)
        except ConnectionResetError:
            pass
    data = b"".join(chunks)
    if not data:
        return None
    raw_head, _, rest = data.partition(b"\r\n\r\n")
    status, reason, headers = parse_head(raw_head)
    response = RawResponse(status, reason, headers, rest, raw_head)
    length = response.header("Content-Length")
    if length is not None and not head.startswith(b"HEAD "):
        assert len(rest) == int(length), "the body does not match its Content-Length"
    return response
