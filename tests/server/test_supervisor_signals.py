"""The supervisor's signals to its workers leave reaping to asyncio's child watcher.

Process.send_signal polls the child first; for a worker that has just exited, that poll
reaped it before the watcher could, and the watcher then logged "Unknown child process"
(sometimes onto the same line as a JSON log line) and reported the worker's exit code as 255.
"""

from __future__ import annotations

import asyncio
import signal
import socket
import subprocess
import sys
import time
from types import SimpleNamespace

from pyframe.serve.supervisor import Supervisor, _Worker

from .support import DEADLINE


def state_of(pid: int) -> str | None:
    """The process state letter from /proc (Z for a zombie), None once it is reaped."""
    try:
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().rsplit(")", 1)[1].split()[0]
    except FileNotFoundError:
        return None


def test_signalling_a_worker_that_just_exited_does_not_reap_it():
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    deadline = time.monotonic() + DEADLINE
    while state_of(child.pid) != "Z":  # exited, not yet reaped: the moment of the race
        assert time.monotonic() < deadline, "the child did not exit"
        time.sleep(0.01)
    # What the supervisor holds for a worker, as asyncio's Process has it: no exit code seen
    # yet, and a send_signal that polls (and so reaps) the child first.
    proc = SimpleNamespace(pid=child.pid, returncode=None, send_signal=child.send_signal)
    with socket.socket() as sock:
        supervisor = Supervisor({}, sock, 1, shutdown_timeout=1.0)
        loop = asyncio.new_event_loop()
        try:
            worker = _Worker(0, proc, loop.create_future(), 0.0)  # type: ignore[arg-type]
            supervisor._signal(worker, signal.SIGTERM)
        finally:
            loop.close()
    try:
        assert state_of(child.pid) == "Z", "the signal reaped the worker: its watcher sees 255"
    finally:
        assert child.wait(timeout=DEADLINE) == 0  # reaped here, with its real exit code
