"""Helpers for the outside compat tests: a server's run() in a thread, raw HTTP exchanges,
``pyframe run`` on an app file."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import socket
import sys
import textwrap
import threading
import time
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path
from typing import Any

DEADLINE = 20.0  # seconds; generous so a loaded machine does not fail a correct server


class Running:
    """A server whose blocking ``run()`` is on another thread."""

    def __init__(self, server: Any) -> None:
        self.server = server
        self.error: BaseException | None = None
        self.thread = threading.Thread(target=self._run, name="outside-run", daemon=True)

    def _run(self) -> None:
        try:
            self.server.run()
        except BaseException as exc:  # reported by the test, not lost in the thread
            self.error = exc

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.server.port}"

    def start(self) -> Running:
        self.thread.start()
        deadline = time.monotonic() + DEADLINE
        while not self.server.ready.wait(0.05):
            if self.error is not None:
                raise AssertionError("run() failed before listening") from self.error
            if time.monotonic() > deadline:
                raise AssertionError(f"the server did not listen within {DEADLINE} s")
        return self

    def stop(self) -> None:
        self.server.terminate()
        self.thread.join(DEADLINE)
        assert not self.thread.is_alive(), "run() did not return after terminate()"
        if self.error is not None:
            raise AssertionError("run() failed") from self.error


@contextlib.contextmanager
def running(server: Any) -> Iterator[Running]:
    """``with running(server) as r:`` serves during the block; ``r.base`` is its URL."""
    handle = Running(server).start()
    try:
        yield handle
    finally:
        handle.stop()


def exchange(port: int, data: bytes, timeout: float = DEADLINE) -> bytes:
    """Send raw bytes on a fresh connection and read until the server closes it."""
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as sock:
        sock.sendall(data)
        chunks = []
        while chunk := sock.recv(65536):
            chunks.append(chunk)
    return b"".join(chunks)


def split_response(raw: bytes) -> tuple[str, list[tuple[str, str]], bytes]:
    """Status line, header pairs (as sent) and body of one raw response."""
    head, _, body = raw.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    headers = [tuple(line.split(": ", 1)) for line in lines[1:]]
    return lines[0], headers, body  # type: ignore[return-value]


def wait_until(predicate: Callable[[], Any], what: str, timeout: float = DEADLINE) -> Any:
    """Poll ``predicate`` (from a plain thread) until truthy; fail after ``timeout``."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"{what} did not happen within {timeout} s")
        time.sleep(0.01)


@contextlib.asynccontextmanager
async def pyframe_run(directory: Path, source: str, *args: str, role: str | None = None
                      ) -> AsyncIterator[tuple[asyncio.subprocess.Process, str]]:
    """``pyframe run app.py:server.app *args`` on ``source`` (written to ``directory/app.py``),
    with JSON logs: yields the process and its URL once it logs ``server_listening`` (from
    the process of ``role``, such as ``"supervisor"`` with ``--workers``). Killed at the end if
    it is still running."""
    (directory / "app.py").write_text(textwrap.dedent(source))
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYFRAME_")}
    env["PYFRAME_LOGGING__FORMAT"] = "json"
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "pyframe", "run", "app.py:server.app", *args, cwd=directory,
        env=env, stdin=asyncio.subprocess.DEVNULL, stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.PIPE)
    try:
        async with asyncio.timeout(DEADLINE):
            url = await _listening_url(proc, role)
        yield proc, url
    finally:
        if proc.returncode is None:
            proc.kill()
            await proc.wait()


async def _listening_url(proc: asyncio.subprocess.Process, role: str | None) -> str:
    assert proc.stderr is not None
    while True:
        line = await proc.stderr.readline()
        if not line:
            raise AssertionError("pyframe run exited before listening")
        try:
            event = json.loads(line)
        except ValueError:
            continue
        if event.get("event") == "server_listening" and (role is None
                                                          or event.get("role") == role):
            asyncio.ensure_future(proc.stderr.read())  # keep the pipe from filling
            return event["url"]
