"""The "Example Usage" of outside's page, verbatim but for its import line (which also imports
``Response``, the name the page's example uses without importing it), serves /hello."""

from __future__ import annotations

import threading
from pathlib import Path

import aiohttp

import pyframe.compat.outside as compat

from .support import DEADLINE, wait_until

EXAMPLE = Path(__file__).with_name("page_example.py")
PAGE_IMPORT = "from outside import OutsideHTTP"


def test_the_example_differs_from_the_page_in_its_import_line_only():
    lines = EXAMPLE.read_text().splitlines()
    assert lines[0] == "from pyframe.compat.outside import OutsideHTTP, Response"
    assert PAGE_IMPORT not in lines  # the page's line, replaced
    # The rest is the page's code as printed there (the page's host tuple included).
    assert 'server = OutsideHTTP(("127.0.0.1", 8080))' in lines
    assert "server.run()" == lines[-1]


async def test_the_page_example_serves_hello(monkeypatch):
    # The example listens on 8080, which another program may hold on a shared machine: for
    # this test the class it imports binds a free port instead. Nothing else changes.
    class OnAFreePort(compat.OutsideHTTP):
        def __init__(self, host):
            super().__init__((host[0], 0))

    monkeypatch.setattr(compat, "OutsideHTTP", OnAFreePort)
    namespace: dict = {"__name__": "page_example"}
    failure: list[BaseException] = []

    def run_example() -> None:
        try:
            exec(compile(EXAMPLE.read_text(), str(EXAMPLE), "exec"), namespace)
        except BaseException as exc:
            failure.append(exc)

    thread = threading.Thread(target=run_example, daemon=True)
    thread.start()
    server = wait_until(lambda: failure or namespace.get("server"), "the example's server")
    assert not failure, failure
    assert server.ready.wait(DEADLINE), "the example never listened"
    try:
        async with aiohttp.ClientSession() as session:
            async with session.get(f"http://127.0.0.1:{server.port}/hello") as resp:
                assert resp.status == 200
                assert resp.headers["Content-Type"] == "text/plain"
                assert await resp.text() == "Hello, World!"
    finally:
        server.terminate()
        thread.join(DEADLINE)
    assert not thread.is_alive(), "server.run() did not return after terminate()"
    assert not failure, failure
    assert server._terminate_process is True
