"""Helpers for the server tests: waiting with a deadline, raw sockets, server processes."""

from __future__ import annotations

import asyncio
import json
import os
import ssl
import subprocess
import sys
import textwrap
from collections.abc import Callable
from pathlib import Path
from typing import Any

from pyframe import testing

DEADLINE = 20.0  # seconds; generous so a loaded machine does not fail a correct server


async def wait_until(predicate: Callable[[], Any], timeout: float = DEADLINE,
                     what: str = "the condition", interval: float = 0.02) -> Any:
    """pyframe.testing.wait_until with this folder's longer deadline."""
    return await testing.wait_until(predicate, timeout, what, interval)


async def raw_exchange(port: int, data: bytes, *, timeout: float = DEADLINE) -> bytes:
    """Send ``data`` on a fresh connection and read until the server closes it."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        writer.write(data)
        await writer.drain()
        return await asyncio.wait_for(reader.read(), timeout)
    finally:
        writer.close()


def write_module(directory: Path, name: str, source: str) -> Path:
    path = directory / f"{name}.py"
    path.write_text(textwrap.dedent(source))
    return path


def make_certificate(directory: Path) -> tuple[str, str]:
    """A self-signed certificate for 127.0.0.1 and localhost (openssl CLI)."""
    cert, key = directory / "cert.pem", directory / "key.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
         "-nodes", "-keyout", str(key), "-out", str(cert), "-days", "2", "-subj", "/CN=localhost",
         "-addext", "subjectAltName=IP:127.0.0.1,DNS:localhost"],
        check=True, capture_output=True)
    return str(cert), str(key)


def client_context(cert: str) -> ssl.SSLContext:
    """A client TLS context that trusts only ``cert``."""
    return ssl.create_default_context(cafile=cert)


class ServerProcess:
    """``pyframe.runner.run_target`` in a child process, its JSON log lines collected."""

    def __init__(self, proc: asyncio.subprocess.Process) -> None:
        self.proc = proc
        self.events: list[dict[str, Any]] = []
        self.raw: list[str] = []
        self._reader = asyncio.ensure_future(self._read())

    @classmethod
    async def start(cls, cwd: Path, target: str, **kwargs: Any) -> ServerProcess:
        """``run_target(target, **kwargs)`` in a fresh interpreter."""
        code = ("import sys; from pyframe.runner import run_target; "
                f"sys.exit(run_target({target!r}, **{kwargs!r}))")
        return await cls.command(cwd, sys.executable, "-c", code)

    @classmethod
    async def command(cls, cwd: Path, *argv: str) -> ServerProcess:
        env = {k: v for k, v in os.environ.items() if not k.startswith("PYFRAME_")}
        proc = await asyncio.create_subprocess_exec(
            *argv, cwd=cwd, env=env, stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        return cls(proc)

    async def _read(self) -> None:
        assert self.proc.stderr is not None
        async for line in self.proc.stderr:
            text = line.decode(errors="replace").rstrip()
            self.raw.append(text)
            try:
                event = json.loads(text)
            except ValueError:
                continue
            if isinstance(event, dict):
                self.events.append(event)

    def find(self, event: str, **match: Any) -> list[dict[str, Any]]:
        return [e for e in self.events if e.get("event") == event
                and all(e.get(k) == v for k, v in match.items())]

    async def wait_for(self, event: str, count: int = 1, timeout: float = DEADLINE,
                       **match: Any) -> list[dict[str, Any]]:
        try:
            return await wait_until(lambda: len(self.find(event, **match)) >= count
                                    and self.find(event, **match), timeout, f"log {event}")
        except AssertionError:
            tail = "\n".join(self.raw[-30:])
            raise AssertionError(f"no {count} x {event} {match} within {timeout} s; "
                                 f"output:\n{tail}") from None

    async def url(self) -> str:
        # Workers and the supervisor all report the one shared address.
        return (await self.wait_for("server_listening"))[0]["url"]

    async def exit_code(self, timeout: float = DEADLINE) -> int:
        code = await asyncio.wait_for(self.proc.wait(), timeout)
        await self._reader
        return code

    async def close(self) -> None:
        if self.proc.returncode is None:
            self.proc.kill()
            await self.proc.wait()
        await self._reader
