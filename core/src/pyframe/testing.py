"""A test client that serves the app on a real socket and talks to it with aiohttp's client."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import aiohttp

from .serve.process import AppServer

if TYPE_CHECKING:
    from .app import PyFrameApp

__all__ = ["TestClient", "wait_until"]


class TestClient:
    """``async with TestClient(app) as client: resp = await client.get('/')``.

    The app runs on 127.0.0.1 on a free port for the duration of the block (``client.port``;
    ``client.url("/x")`` is ``http://127.0.0.1:<port>/x``, ``https`` with an ``ssl_context``);
    requests go through a real TCP connection. Responses are ``aiohttp.ClientResponse``
    objects. Leaving the block shuts the app down: plugins' stop hooks and ``on_shutdown``.
    """

    __test__ = False  # not a pytest test class

    def __init__(self, app: PyFrameApp, **server_options: Any) -> None:
        self.app = app
        self.server = AppServer(app, "127.0.0.1", 0, **server_options)
        self.session: aiohttp.ClientSession | None = None

    @property
    def port(self) -> int:
        return self.server.port

    def url(self, path: str = "/") -> str:
        """The absolute URL of ``path`` on the served app, for other clients (websockets, curl)."""
        return f"{self.server.scheme}://127.0.0.1:{self.port}{path}"

    async def __aenter__(self) -> TestClient:
        await self.server.start()
        self.session = aiohttp.ClientSession(auto_decompress=False,
                                             cookie_jar=aiohttp.DummyCookieJar())
        return self

    async def __aexit__(self, *exc: Any) -> None:
        if self.session is not None:
            await self.session.close()
        await self.server.stop(timeout=5)

    def request(self, method: str, path: str, **kwargs: Any) -> Any:
        assert self.session is not None, "use `async with TestClient(app) as client`"
        return self.session.request(method, self.url(path), **kwargs)

    def get(self, path: str, **kwargs: Any) -> Any:
        return self.request("GET", path, **kwargs)

    def post(self, path: str, **kwargs: Any) -> Any:
        return self.request("POST", path, **kwargs)

    def put(self, path: str, **kwargs: Any) -> Any:
        return self.request("PUT", path, **kwargs)

    def patch(self, path: str, **kwargs: Any) -> Any:
        return self.request("PATCH", path, **kwargs)

    def delete(self, path: str, **kwargs: Any) -> Any:
        return self.request("DELETE", path, **kwargs)

    def head(self, path: str, **kwargs: Any) -> Any:
        return self.request("HEAD", path, **kwargs)

    def options(self, path: str, **kwargs: Any) -> Any:
        return self.request("OPTIONS", path, **kwargs)


async def wait_until(predicate: Callable[[], Any], timeout: float = 10.0,
                     what: str = "the condition", interval: float = 0.005) -> Any:
    """Poll ``predicate`` every ``interval`` seconds until it returns something truthy, and
    return that; raise ``AssertionError`` naming ``what`` after ``timeout`` seconds.

    For a test that waits on something it cannot await (a counter another task bumps, a
    connection the server has not yet seen): a deadline instead of a sleep, so the test is as
    fast as the code and fails instead of hanging.
    """
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"{what} did not happen within {timeout} s")
        await asyncio.sleep(interval)
