"""Processes of their own for run.py: each started in a session of its own (its own process
tree, nobody's worker), watched and stopped by pid with a deadline, and probed over TCP."""

from __future__ import annotations

import http.client
import json
import os
import signal
import socket
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any, TypeVar

__all__ = ["ProcessGone", "spawn", "alive", "started_at", "same_process", "stop",
           "wait_until", "free_port", "redis_answers", "http_json", "log_events", "tail"]

T = TypeVar("T")
POLL = 0.05  # seconds between two looks at something we wait for (each wait has a deadline)


class ProcessGone(RuntimeError):
    """A process we were waiting on exited first."""


def spawn(argv: Sequence[str], *, env: Mapping[str, str], log: Path) -> int:
    """Start ``argv`` (argv[0] an absolute path) in a new session, stdout and stderr appended
    to ``log``; its pid. No Popen: in ``run.py start`` the process outlives this one."""
    actions = [(os.POSIX_SPAWN_OPEN, 0, os.devnull, os.O_RDONLY, 0),
               (os.POSIX_SPAWN_OPEN, 1, str(log), os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644),
               (os.POSIX_SPAWN_DUP2, 1, 2)]
    # As subprocess does: SIGPIPE and SIGXFSZ back to their defaults (Python ignores them),
    # and no signal blocked (run.py up blocks SIGINT and SIGTERM to wait for them).
    return os.posix_spawn(argv[0], list(argv), dict(env), file_actions=actions, setsid=True,
                          setsigdef=(signal.SIGPIPE, signal.SIGXFSZ), setsigmask=())


def alive(pid: int) -> bool:
    """Whether ``pid`` still runs; reaps it first if it is our child, and a zombie whose parent
    has not reaped it yet counts as gone."""
    try:
        os.waitpid(pid, os.WNOHANG)
    except ChildProcessError:
        pass  # not ours (run.py start exited since): init reaps it
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return True  # no /proc here: kill(0) is all we know
    return stat.rpartition(")")[2].split()[0] != "Z"


def started_at(pid: int) -> str | None:
    """When ``pid`` started (clock ticks since boot, /proc/<pid>/stat field 22): with the pid,
    the identity of one process. None where there is no /proc to ask."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return stat.rpartition(")")[2].split()[19]


def same_process(pid: int, started: str | None) -> bool:
    """Whether ``pid`` is still the process that started at ``started``, not a stranger that
    got the pid later (nginx and redis rewrite their command lines, so those cannot tell)."""
    if not alive(pid):
        return False
    return started is None or started_at(pid) == started


def stop(targets: Sequence[tuple[int, str | None, int, float]]) -> list[str]:
    """Stop several processes at once: each ``(pid, started, sig, timeout)`` is sent ``sig``,
    then given ``timeout`` s before its whole group gets SIGKILL. How each ended: "stopped in
    0.2 s", "killed after 40 s", or "gone" (it had exited already)."""
    began = time.monotonic()
    outcomes = []
    for pid, started, sig, _ in targets:
        outcomes.append("gone")
        if same_process(pid, started):
            try:
                os.kill(pid, sig)  # the leader alone: nginx's master tells its workers itself
                outcomes[-1] = ""
            except ProcessLookupError:
                pass
    for index, (pid, _, _, timeout) in enumerate(targets):
        while not outcomes[index]:
            if not alive(pid):
                outcomes[index] = f"stopped in {time.monotonic() - began:.1f} s"
            elif time.monotonic() > began + timeout:
                _signal_group(pid, signal.SIGKILL)
                wait_until(lambda: not alive(pid), 10.0, f"pid {pid} to die after SIGKILL")
                outcomes[index] = f"killed after {timeout:g} s"
            else:
                time.sleep(POLL)
    return outcomes


def _signal_group(pid: int, sig: int) -> None:
    # spawn() made each process the leader of its own group: the group is its whole tree
    # (nginx's workers too), and no other process of ours is in it.
    try:
        if os.getpgid(pid) == pid:
            os.killpg(pid, sig)
        else:
            os.kill(pid, sig)
    except ProcessLookupError:
        pass


def wait_until(check: Callable[[], T | None], timeout: float, what: str,
               pid: int | None = None) -> T:
    """Poll ``check`` until it returns something truthy; TimeoutError after ``timeout`` s,
    ProcessGone as soon as ``pid`` (if given) exits."""
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value:
            return value
        if pid is not None and not alive(pid):
            raise ProcessGone(f"pid {pid} exited before {what}")
        if time.monotonic() > deadline:
            raise TimeoutError(f"no {what} within {timeout:g} s")
        time.sleep(POLL)


def free_port(host: str = "127.0.0.1") -> int:
    """A port nobody listens on now (for servers that cannot bind port 0 and tell us)."""
    with socket.socket() as sock:
        sock.bind((host, 0))
        return sock.getsockname()[1]


def redis_answers(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.5) as sock:
            sock.sendall(b"PING\r\n")
            return sock.recv(16).startswith(b"+PONG")
    except OSError:
        return False


def http_json(port: int, path: str, timeout: float = 2.0) -> Any:
    """GET ``path`` from 127.0.0.1:``port`` (no proxy from the environment); the decoded JSON
    body of a 200 answer, else None."""
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        connection.request("GET", path)
        response = connection.getresponse()
        body = response.read()
        return json.loads(body) if response.status == 200 else None
    except (OSError, ValueError, http.client.HTTPException):
        return None
    finally:
        connection.close()


def log_events(log: Path, event: str) -> list[dict[str, Any]]:
    """The JSON log lines of ``log`` whose event is ``event``."""
    found = []
    try:
        lines = log.read_text(errors="replace").splitlines()
    except FileNotFoundError:
        return found
    for line in lines:
        try:
            record = json.loads(line)
        except ValueError:
            continue
        if isinstance(record, dict) and record.get("event") == event:
            found.append(record)
    return found


def tail(log: Path, lines: int = 15) -> str:
    try:
        return "\n".join(log.read_text(errors="replace").splitlines()[-lines:])
    except FileNotFoundError:
        return "(no log)"
