"""Helpers of the backend tests: an injectable clock, polling with a deadline, Redis servers
of the tests' own (started on a free port, killed, paused and restarted at will), and the
environment the contract suite runs each test in (the memory backend or Redis)."""

from __future__ import annotations

import asyncio
import os
import shutil
import signal
import socket
import ssl
import subprocess
import time
import uuid
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest

from pyframe.backends import MemoryBackend, MemoryOptions

__all__ = ["FakeClock", "RedisServer", "Env", "eventually", "free_port", "unique_prefix",
           "delete_prefix", "make_certificate", "REDIS_SERVER"]

REDIS_SERVER = shutil.which("redis-server")


class FakeClock:
    """Seconds, like time.time, that move only when a test says so."""

    def __init__(self, now: float = 1_800_000_000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


async def eventually(check: Callable[[], Awaitable[bool]], timeout: float = 5.0,
                     interval: float = 0.01, what: str = "the condition") -> None:
    """Poll ``check`` until it is true; fail the test after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while not await check():
        if time.monotonic() > deadline:
            pytest.fail(f"{what} did not hold within {timeout} s")
        await asyncio.sleep(interval)  # a poll interval, with the deadline above


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class RedisServer:
    """A redis-server of the test's own: no persistence, 127.0.0.1 only."""

    def __init__(self, workdir: Path, *, port: int | None = None, unix: bool = False,
                 tls: bool = False, extra: tuple[str, ...] = ()) -> None:
        self.workdir = workdir
        self.unix_path = workdir / "redis.sock" if unix else None
        self.port = 0 if unix else (port or free_port())
        self.cert = make_certificate(workdir) if tls else None
        self.extra = extra
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        if self.unix_path is not None:
            return f"unix://{self.unix_path}"
        if self.cert is not None:
            return f"rediss://127.0.0.1:{self.port}/0?ssl_ca_certs={self.cert[0]}"
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self, timeout: float = 10.0) -> None:
        if REDIS_SERVER is None:
            if os.environ.get("CI") == "true":
                pytest.fail("redis-server is not installed and CI=true: the fault tests "
                            "must run in CI")
            pytest.skip("redis-server is not installed")
        args = [REDIS_SERVER, "--port", str(self.port), "--bind", "127.0.0.1",
                "--save", "", "--appendonly", "no", "--dir", str(self.workdir),
                *self.extra]
        if self.cert is not None:
            cert, key = self.cert
            args[2] = "0"  # no plain-text port: TLS only
            args += ["--tls-port", str(self.port), "--tls-cert-file", cert, "--tls-key-file",
                     key, "--tls-ca-cert-file", cert, "--tls-auth-clients", "no"]
        if self.unix_path is not None:
            args += ["--unixsocket", str(self.unix_path), "--unixsocketperm", "700"]
        self.proc = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        deadline = time.monotonic() + timeout
        while not self._answers():
            if self.proc.poll() is not None:
                err = self.proc.stderr.read().decode(errors="replace") if self.proc.stderr else ""
                raise RuntimeError(f"redis-server exited with {self.proc.returncode}: {err}")
            if time.monotonic() > deadline:
                self.kill()
                raise TimeoutError("redis-server did not answer PING in time")
            time.sleep(0.01)  # a poll interval, with the deadline above

    def _answers(self) -> bool:
        try:
            if self.unix_path is not None:
                sock = socket.socket(socket.AF_UNIX)
                sock.settimeout(0.5)
                try:
                    sock.connect(str(self.unix_path))
                except OSError:
                    sock.close()
                    raise
            else:
                sock = socket.create_connection(("127.0.0.1", self.port), timeout=0.5)
                if self.cert is not None:
                    context = ssl.create_default_context(cafile=self.cert[0])
                    try:
                        sock = context.wrap_socket(sock, server_hostname="127.0.0.1")
                    except OSError:
                        sock.close()
                        raise
        except OSError:
            return False
        with sock:
            try:
                sock.sendall(b"PING\r\n")
                return sock.recv(64).startswith((b"+PONG", b"-NOAUTH"))
            except OSError:
                return False

    def kill(self) -> None:
        """SIGKILL: the way a crash or an OOM kill ends it, no goodbye to clients."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGCONT)  # a paused process is killed all the same
            self.proc.kill()
            self.proc.wait(10)
        if self.proc is not None and self.proc.stderr:
            self.proc.stderr.close()
        self.proc = None

    def pause(self) -> None:
        """SIGSTOP: connections stay open but nothing answers, like a network black hole."""
        assert self.proc is not None
        self.proc.send_signal(signal.SIGSTOP)

    def resume(self) -> None:
        assert self.proc is not None
        self.proc.send_signal(signal.SIGCONT)


def unique_prefix() -> str:
    return f"pftest-{uuid.uuid4().hex[:12]}:"


async def delete_prefix(url: str, prefix: str) -> None:
    """Leave the shared Redis as it was: drop every key a test wrote under its prefix."""
    import redis.asyncio as redis

    client = redis.Redis.from_url(url.split("?")[0])
    try:
        keys = [key async for key in client.scan_iter(match=prefix + "*", count=1000)]
        if keys:
            await client.delete(*keys)
    finally:
        await client.aclose()


class Env:
    """Backends of one kind for a contract test. Time: ``await env.wait_until(check, elapse)``
    moves the memory backend's clock by ``elapse`` and checks once; on Redis, whose clock is
    the server's, it polls ``check`` with a deadline."""

    def __init__(self, kind: str, clock: FakeClock, redis_url: str | None) -> None:
        self.kind = kind
        self.clock = clock
        self.redis_url = redis_url
        self.prefix = unique_prefix()
        self.opened: list[Any] = []

    async def open(self, **options: Any) -> Any:
        if self.kind == "memory":
            backend = MemoryBackend(MemoryOptions(**options), clock=self.clock)
        else:
            from pyframe_redis import create

            query = "&".join(f"{k}={v}" for k, v in {"prefix": self.prefix, **options}.items())
            backend = create(f"{self.redis_url}?{query}")
        await backend.open()
        self.opened.append(backend)
        return backend

    async def wait_until(self, check: Callable[[], Awaitable[bool]], elapse: float) -> None:
        if self.kind == "memory":
            self.clock.advance(elapse)
            assert await check(), f"not true after {elapse} s on the memory backend's clock"
        else:
            await eventually(check, timeout=elapse + 5.0)

    async def tick(self, seconds: float) -> None:
        """Let ``seconds`` pass: the memory clock jumps, Redis's runs (a paced poll step)."""
        if self.kind == "memory":
            self.clock.advance(seconds)
        else:
            await asyncio.sleep(seconds)

    async def close(self) -> None:
        for backend in reversed(self.opened):
            await backend.close()
        if self.kind == "redis":
            await delete_prefix(self.redis_url, self.prefix)


def make_certificate(directory: Path) -> tuple[str, str]:
    """A self-signed certificate for 127.0.0.1 and localhost (openssl CLI); (cert, key)."""
    cert, key = directory / "cert.pem", directory / "key.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
         "-nodes", "-keyout", str(key), "-out", str(cert), "-days", "2", "-subj", "/CN=localhost",
         "-addext", "subjectAltName=IP:127.0.0.1,DNS:localhost"],
        check=True, capture_output=True, timeout=30)
    return str(cert), str(key)
