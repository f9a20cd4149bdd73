"""Shared test set-up: Redis is required in CI and optional elsewhere."""

from __future__ import annotations

import os
import socket

import pytest

REDIS_HOST, REDIS_PORT = "127.0.0.1", 6379


def redis_available() -> bool:
    try:
        with socket.create_connection((REDIS_HOST, REDIS_PORT), timeout=0.5):
            return True
    except OSError:
        return False


@pytest.fixture(scope="session")
def redis_url() -> str:
    """A Redis URL for distributed-backend tests: fails in CI without Redis, skips elsewhere."""
    if not redis_available():
        if os.environ.get("CI") == "true":
            pytest.fail(f"Redis is not reachable on {REDIS_HOST}:{REDIS_PORT} and CI=true: "
                        "tests that need Redis must run in CI")
        pytest.skip(f"Redis is not reachable on {REDIS_HOST}:{REDIS_PORT}")
    return f"redis://{REDIS_HOST}:{REDIS_PORT}/0"



@pytest.fixture
def isolated(tmp_path, monkeypatch):
    """No pyframe.toml from the working directory, no PYFRAME_* variable from the shell: the
    tests that build apps or start servers see only what they set up. Returns tmp_path."""
    monkeypatch.chdir(tmp_path)
    for name in list(os.environ):
        if name.startswith("PYFRAME_"):
            monkeypatch.delenv(name)
    return tmp_path

@pytest.fixture
def redis_server(tmp_path):
    """``redis_server(**options)`` starts a redis-server of the test's own on a free port
    (never the shared one on 6379), a ``tests.backends.support.RedisServer``: ``kill()`` it,
    ``start()`` it again on the same port, ``pause()`` it. Every one is killed when the test
    ends. Fails in CI, skips elsewhere, when redis-server is not installed."""
    from tests.backends.support import RedisServer

    servers: list[RedisServer] = []

    def start(**options) -> RedisServer:
        directory = tmp_path / f"redis{len(servers)}"
        directory.mkdir()
        server = RedisServer(directory, **options)
        servers.append(server)
        server.start()
        return server

    yield start
    for server in servers:
        server.kill()


# A real browser for the pages the examples serve: headless Chromium, driven over the Chrome
# DevTools Protocol with the websockets client (no browser download, no extra driver).
CHROMIUM_FLAGS = ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-quic",
                  "--no-first-run", "--disable-background-networking",
                  "--disable-component-update", "--disable-sync", "--disable-extensions",
                  "--remote-debugging-port=0", "--remote-allow-origins=*"]


class BrowserPage:
    """One tab: ``await page.evaluate("js")``, ``await page.wait_for("js predicate")``."""

    def __init__(self, browser: "Browser", session: str) -> None:
        self.browser, self.session = browser, session
        self.console: list[str] = []

    async def evaluate(self, expression: str):
        reply = await self.browser.send("Runtime.evaluate", session=self.session,
                                        expression=expression, returnByValue=True,
                                        awaitPromise=True)
        if "exceptionDetails" in reply:
            raise AssertionError(f"page script failed: {reply['exceptionDetails']}")
        return reply["result"].get("value")

    async def wait_for(self, predicate: str, timeout: float = 10.0, what: str = ""):
        """Poll ``predicate`` (a JS expression) until it is truthy; its value."""
        import asyncio

        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            value = await self.evaluate(predicate)
            if value:
                return value
            if loop.time() > deadline:
                raise AssertionError(f"page never showed {what or predicate} within {timeout} s;"
                                     f" console: {self.console[-20:]}")
            await asyncio.sleep(0.05)


class Browser:
    """A headless Chromium process and its DevTools connection."""

    def __init__(self, proc, connection) -> None:
        self.proc, self.connection = proc, connection
        self._next = 0
        self._waiting: dict = {}
        self._pages: dict[str, BrowserPage] = {}
        self._reader = None

    async def _read(self) -> None:
        import json

        async for raw in self.connection:
            message = json.loads(raw)
            future = self._waiting.pop(message.get("id"), None)
            if future is not None and not future.done():
                future.set_result(message)
            elif message.get("method") == "Runtime.consoleAPICalled":
                page = self._pages.get(message.get("sessionId"))
                if page is not None:
                    page.console.append(" ".join(str(a.get("value", a.get("description")))
                                                 for a in message["params"]["args"]))

    async def send(self, method: str, session: str | None = None, **params):
        import asyncio
        import json

        self._next += 1
        future = asyncio.get_running_loop().create_future()
        self._waiting[self._next] = future
        message = {"id": self._next, "method": method, "params": params}
        if session is not None:
            message["sessionId"] = session
        await self.connection.send(json.dumps(message))
        reply = await asyncio.wait_for(future, 20)
        if "error" in reply:
            raise AssertionError(f"DevTools {method} failed: {reply['error']}")
        return reply.get("result", {})

    async def open(self, url: str) -> BrowserPage:
        """A new tab at ``url``, loaded (its load event fired)."""
        target = await self.send("Target.createTarget", url="about:blank")
        attached = await self.send("Target.attachToTarget", targetId=target["targetId"],
                                   flatten=True)
        page = BrowserPage(self, attached["sessionId"])
        self._pages[page.session] = page
        await self.send("Runtime.enable", session=page.session)
        await self.send("Page.enable", session=page.session)
        await self.send("Page.navigate", session=page.session, url=url)
        await page.wait_for("document.readyState === 'complete' && location.href !== "
                            "'about:blank'", what="the page loaded")
        return page


@pytest.fixture
async def browser(tmp_path):
    """Headless Chromium: skips without it, fails in CI (``.ci/run`` installs it)."""
    import asyncio
    import re
    import shutil

    import websockets

    binary = shutil.which("chromium") or shutil.which("chromium-browser")
    if binary is None:
        if os.environ.get("CI") == "true":
            pytest.fail("headless Chromium is not installed and CI=true: .ci/run installs it")
        pytest.skip("headless Chromium is not installed (Debian package chromium)")
    proc = await asyncio.create_subprocess_exec(
        binary, *CHROMIUM_FLAGS, f"--user-data-dir={tmp_path / 'chromium'}", "about:blank",
        stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.PIPE)
    endpoint = None
    try:
        async with asyncio.timeout(30):
            while endpoint is None:
                line = await proc.stderr.readline()
                if not line:
                    raise AssertionError("Chromium exited before it listened for DevTools")
                match = re.search(rb"DevTools listening on (ws://\S+)", line)
                if match:
                    endpoint = match.group(1).decode()
        connection = await websockets.connect(endpoint, max_size=None)
        browser = Browser(proc, connection)
        browser._reader = asyncio.ensure_future(browser._read())
        drain = asyncio.ensure_future(proc.stderr.read())  # keep its pipe from filling
        yield browser
        browser._reader.cancel()
        await connection.close()
        drain.cancel()
    finally:
        if proc.returncode is None:
            proc.terminate()
            try:
                await asyncio.wait_for(proc.wait(), 10)
            except TimeoutError:
                proc.kill()
                await proc.wait()
