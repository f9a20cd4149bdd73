"""Server processes for the battery: ``pyframe run`` in a child, its JSON log, its memory.

A child process is what RSS can be measured on, and what SIGTERM and kill -9 can be sent to.
"""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .support import DEADLINE, wait_until

__all__ = ["ServerProcess", "served_project", "rss_kib", "peak_rss_growth", "open_sockets"]

_HERE = Path(__file__).resolve().parent


def rss_kib(pid: int) -> int:
    """Resident set size of a process, from /proc (KiB)."""
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    raise AssertionError(f"no VmRSS for pid {pid}")


async def peak_rss_growth(pid: int, base_kib: int, *, bound_kib: int, window: float,
                          done: Callable[[], bool]) -> int:
    """Watch a process's RSS until ``done()`` or ``window`` seconds pass; the highest growth
    over ``base_kib`` seen (KiB). Returns early once the growth passes ``bound_kib``: the
    caller's assertion fails then, with no need to let the server eat more."""
    peak = 0
    deadline = time.monotonic() + window
    while True:
        peak = max(peak, rss_kib(pid) - base_kib)
        if peak > bound_kib or done() or time.monotonic() > deadline:
            return peak
        await asyncio.sleep(0.02)


def served_project(directory: Path, config: str = "", app_module: str = "served_app") -> Path:
    """``directory`` with a copy of the battery's app module and a ``pyframe.toml``.

    ``config`` is TOML added to the JSON-logging config every server process needs (its
    ``server_listening`` line gives the address).
    """
    shutil.copy(_HERE / f"{app_module}.py", directory / f"{app_module}.py")
    (directory / "pyframe.toml").write_text(config + '\n[logging]\nformat = "json"\n')
    return directory


_DECODER = json.JSONDecoder()


def _event(line: str) -> Any:
    """The JSON object a log line starts with, if any.

    Another thread's stdlib logging (asyncio's child watcher warns "Unknown child process")
    can land on the same line, right after the object and before its newline: the object is
    still read.
    """
    if not line.startswith("{"):
        return None
    try:
        return _DECODER.raw_decode(line)[0]
    except ValueError:
        return None


@dataclass
class ServerProcess:
    """``pyframe run module:app --port 0`` in a child process; its JSON log lines collected.

    The output is read by a thread, so the handle works from sync fixtures and async tests.
    """

    proc: subprocess.Popen[bytes]
    events: list[dict[str, Any]] = field(default_factory=list)
    raw: list[str] = field(default_factory=list)
    _changed: threading.Condition = field(default_factory=threading.Condition)
    _eof: bool = False
    _reader: threading.Thread | None = None

    @classmethod
    def start(cls, cwd: Path, target: str, *args: str,
              env: dict[str, str] | None = None) -> ServerProcess:
        environment = {k: v for k, v in os.environ.items() if not k.startswith("PYFRAME_")}
        environment.update(env or {})
        proc = subprocess.Popen(
            [sys.executable, "-m", "pyframe", "run", target, "--host", "127.0.0.1",
             "--port", "0", *args],
            cwd=cwd, env=environment, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE, start_new_session=True)
        server = cls(proc)
        server._reader = threading.Thread(target=server._read, name="server-output",
                                          daemon=True)
        server._reader.start()
        return server

    def _read(self) -> None:
        assert self.proc.stderr is not None
        for line in self.proc.stderr:
            text = line.decode(errors="replace").rstrip()
            event = _event(text)
            with self._changed:
                self.raw.append(text)
                if isinstance(event, dict):
                    self.events.append(event)
                self._changed.notify_all()
        with self._changed:
            self._eof = True
            self._changed.notify_all()

    @property
    def pid(self) -> int:
        return self.proc.pid

    def output(self, lines: int = 40) -> str:
        with self._changed:
            return "\n".join(self.raw[-lines:])

    def find(self, event: str, **match: Any) -> list[dict[str, Any]]:
        with self._changed:
            return [e for e in self.events if e.get("event") == event
                    and all(e.get(k) == v for k, v in match.items())]

    def count(self, event: str, **match: Any) -> int:
        return len(self.find(event, **match))

    def wait_for_sync(self, event: str, count: int = 1, timeout: float = DEADLINE,
                      **match: Any) -> list[dict[str, Any]]:
        """Block until ``count`` lines of ``event`` arrived (for sync fixtures)."""
        deadline = time.monotonic() + timeout
        with self._changed:
            while True:
                found = [e for e in self.events if e.get("event") == event
                         and all(e.get(k) == v for k, v in match.items())]
                if len(found) >= count:
                    return found
                left = deadline - time.monotonic()
                if left <= 0 or self._eof:
                    break
                self._changed.wait(min(left, 0.5))
        raise AssertionError(f"no {count} x {event} {match} within {timeout} s (exit code "
                             f"{self.proc.poll()}); output:\n{self.output()}")

    async def wait_for(self, event: str, count: int = 1, timeout: float = DEADLINE,
                       **match: Any) -> list[dict[str, Any]]:
        def seen() -> Any:
            found = self.find(event, **match)
            if len(found) >= count:
                return found
            if self._eof:  # the process is gone: nothing more will come
                raise AssertionError("exited")
            return None

        try:
            return await wait_until(seen, timeout, f"log {event}")
        except AssertionError:
            code = self.proc.poll()
            why = (f"the server exited with code {code} first" if self._eof and code is not None
                   else f"not within {timeout} s")
            raise AssertionError(f"no {count} x {event} {match}: {why}; "
                                 f"output:\n{self.output()}") from None

    def port_sync(self, **match: Any) -> int:
        return int(self.wait_for_sync("server_listening", **match)[0]["url"].rsplit(":", 1)[1])

    async def port(self, **match: Any) -> int:
        """The listening port, from the ``server_listening`` line (all workers share it)."""
        url = (await self.wait_for("server_listening", **match))[0]["url"]
        return int(url.rsplit(":", 1)[1])

    def send_signal(self, sig: int = signal.SIGTERM) -> None:
        self.proc.send_signal(sig)

    async def exit_code(self, timeout: float = DEADLINE) -> int:
        """Wait for the process to exit; fail (and kill it) after ``timeout``."""
        deadline = time.monotonic() + timeout
        while self.proc.poll() is None:
            if time.monotonic() > deadline:
                self.kill()
                raise AssertionError(f"the server did not exit within {timeout} s; "
                                     f"output:\n{self.output()}")
            await asyncio.sleep(0.02)
        # Its last lines may still be on their way through the pipe (workers that outlive
        # it hold the pipe open too: give up waiting for them after a while).
        await wait_until(lambda: self._eof, timeout=5, what="the end of the server's output")
        return self.proc.returncode

    def kill(self) -> None:
        """Kill the server and any workers it started (the process group it leads)."""
        try:
            os.killpg(self.proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        self.proc.wait(timeout=DEADLINE)

    def close(self) -> None:
        self.kill()
        # Every process of the group is gone, so the pipe ends and the reader with it; only
        # then is the pipe closed, never under a thread still reading it.
        if self._reader is not None:
            self._reader.join(DEADLINE)
        if self.proc.stderr is not None and not (self._reader and self._reader.is_alive()):
            self.proc.stderr.close()


def open_sockets(pid: int) -> int:
    """How many sockets a process holds open (its listener and its connections)."""
    count = 0
    for fd in os.listdir(f"/proc/{pid}/fd"):
        try:
            if os.readlink(f"/proc/{pid}/fd/{fd}").startswith("socket:"):
                count += 1
        except OSError:
            pass  # closed while we looked
    return count
