"""The multi-worker server: a supervisor process and the workers it keeps serving.

With more than one worker a supervisor binds the listening socket once and starts workers
that inherit it, so every worker accepts on the same port and connections wait in the kernel's
queue while a worker is replaced. The supervisor restarts a worker that dies, replaces all
workers on SIGHUP (a deploy: new workers first, then the old ones drain) and on SIGTERM/SIGINT
has every worker drain. On that stop it closes its own copy of the listening socket at once,
so once the workers have closed theirs a new connection is refused, not accepted into a queue
that no process will ever serve.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import socket
import subprocess
import sys
from typing import Any

import structlog

from ..logging import configure_logging, get_logger
from .lifecycle import run_loop
from .process import serve
from .target import resolve_target

__all__ = ["Supervisor", "worker_main", "WORKER_START_TIMEOUT"]

log = get_logger("pyframe")
# A worker that has not imported the app and started listening by then counts as failed.
WORKER_START_TIMEOUT = 60.0
_WORKER_CODE = "from pyframe.serve.supervisor import worker_main; worker_main()"


class _Worker:
    __slots__ = ("slot", "proc", "ready", "started", "retired")

    def __init__(self, slot: int, proc: asyncio.subprocess.Process,
                 ready: asyncio.Future[bool], started: float) -> None:
        self.slot, self.proc, self.ready, self.started = slot, proc, ready, started
        self.retired = False


class Supervisor:
    """Keeps ``workers`` processes serving on ``sock``; see the module docstring."""

    def __init__(self, spec: dict[str, Any], sock: socket.socket, workers: int, *,
                 shutdown_timeout: float, tls: bool = False) -> None:
        self.spec, self.sock, self.size = spec, sock, workers
        self.shutdown_timeout = shutdown_timeout
        self.tls = tls
        self.current: list[_Worker | None] = [None] * workers
        self.live: set[_Worker] = set()
        self.stopping = False
        self._failures = [0] * workers
        self._tasks: set[asyncio.Task[Any]] = set()

    @property
    def url(self) -> str:
        host, port = self.sock.getsockname()[:2]
        host = f"[{host}]" if ":" in host else host
        return f"{'https' if self.tls else 'http'}://{host}:{port}"

    def _task(self, coro: Any) -> None:
        task = asyncio.ensure_future(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def run(self) -> int:
        loop = asyncio.get_running_loop()
        self._stop, self._replace = asyncio.Event(), asyncio.Event()
        # Workers hold the read end; when this process dies they see EOF and drain.
        self._lifeline, lifeline_w = os.pipe()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, self._stop.set)
        loop.add_signal_handler(signal.SIGHUP, self._replace.set)
        code = 1
        try:
            first = await self._start_generation()
            if first is None:
                log.error("workers_failed_to_start", detail="see the worker output above")
                return code
            self.current = list(first)
            log.info("server_listening", role="supervisor", url=self.url, workers=self.size,
                     pid=os.getpid())
            while not self._stop.is_set():
                waiters = [asyncio.ensure_future(self._stop.wait()),
                           asyncio.ensure_future(self._replace.wait())]
                await asyncio.wait(waiters, return_when=asyncio.FIRST_COMPLETED)
                for waiter in waiters:
                    waiter.cancel()
                if not self._stop.is_set():
                    self._replace.clear()
                    await self._replace_all()
            code = 0
        finally:
            code = await self._stop_all(code)
            for task in list(self._tasks):
                task.cancel()
            for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
                loop.remove_signal_handler(sig)
            os.close(lifeline_w)
            os.close(self._lifeline)
        return code

    async def _spawn(self, slot: int) -> _Worker:
        loop = asyncio.get_running_loop()
        ready_r, ready_w = os.pipe()
        fd = self.sock.fileno()
        spec = dict(self.spec, fd=fd, ready_fd=ready_w, lifeline_fd=self._lifeline, slot=slot)
        try:
            proc = await asyncio.create_subprocess_exec(
                sys.executable, "-c", _WORKER_CODE, json.dumps(spec),
                pass_fds=(fd, ready_w, self._lifeline), stdin=subprocess.DEVNULL)
        except BaseException:
            os.close(ready_r)
            raise
        finally:
            os.close(ready_w)
        ready: asyncio.Future[bool] = loop.create_future()

        def on_ready() -> None:  # one byte once listening; EOF if it exits before that
            try:
                data = os.read(ready_r, 1)
            except OSError:
                data = b""
            loop.remove_reader(ready_r)
            os.close(ready_r)
            if not ready.done():
                ready.set_result(data == b"1")

        loop.add_reader(ready_r, on_ready)
        worker = _Worker(slot, proc, ready, loop.time())
        self.live.add(worker)
        self._task(self._monitor(worker))
        log.info("worker_started", pid=proc.pid, slot=slot)
        return worker

    async def _start_generation(self) -> list[_Worker] | None:
        """Start a full set of workers; None (and the started ones stopped) if any fails."""
        workers = [await self._spawn(slot) for slot in range(self.size)]
        done, _ = await asyncio.wait([w.ready for w in workers], timeout=WORKER_START_TIMEOUT)
        if all(w.ready in done and w.ready.result() for w in workers):
            return workers
        for worker in workers:
            worker.retired = True
            self._signal(worker, signal.SIGTERM)
        return None

    async def _replace_all(self) -> None:
        log.info("workers_replacing", workers=self.size)
        new = await self._start_generation()
        if new is None:
            log.error("workers_replace_failed", detail="the new workers did not start (see their "
                      "output above); the running workers keep serving")
            return
        old, self.current = self.current, list(new)
        for worker in old:
            if worker is not None:
                worker.retired = True
                self._signal(worker, signal.SIGTERM)
        log.info("workers_replaced", pids=[w.proc.pid for w in new])

    async def _monitor(self, worker: _Worker) -> None:
        code = await worker.proc.wait()
        self.live.discard(worker)
        if self.stopping or worker.retired or self.current[worker.slot] is not worker:
            log.info("worker_exited", pid=worker.proc.pid, slot=worker.slot, code=code)
            return
        log.warning("worker_died", pid=worker.proc.pid, slot=worker.slot, code=code)
        loop = asyncio.get_running_loop()
        slot = worker.slot
        # A worker that keeps dying young is restarted with a growing pause (up to 5 s).
        young = loop.time() - worker.started < 5.0
        self._failures[slot] = self._failures[slot] + 1 if young else 0
        if self._failures[slot] > 1:
            pause = min(5.0, 0.1 * 2 ** self._failures[slot])
            try:
                await asyncio.wait_for(self._stop.wait(), pause)
                return
            except TimeoutError:
                pass
        if self.stopping or self.current[slot] is not worker:
            return
        replacement = await self._spawn(slot)
        self.current[slot] = replacement
        log.info("worker_replaced", slot=slot, old_pid=worker.proc.pid,
                 pid=replacement.proc.pid)

    def _signal(self, worker: _Worker, sig: int) -> None:
        # os.kill, not Process.send_signal: that polls the child first (waitpid), and when the
        # worker has just exited the poll can reap it before asyncio's child watcher does,
        # which then logs "Unknown child process" and reports the exit code as 255.
        if worker.proc.returncode is None:
            try:
                os.kill(worker.proc.pid, sig)
            except ProcessLookupError:
                pass

    async def _stop_all(self, code: int) -> int:
        self.stopping = True
        # The workers close their copies as they drain; with this one left open, the kernel
        # would go on completing handshakes for connections nobody accepts.
        self.sock.close()
        workers = list(self.live)
        log.info("server_stopping", role="supervisor", workers=len(workers))
        for worker in workers:
            self._signal(worker, signal.SIGTERM)
        waits = {asyncio.ensure_future(w.proc.wait()): w for w in workers}
        if waits:
            # Workers drain for shutdown_timeout; allow a little more for their hooks.
            _, pending = await asyncio.wait(waits, timeout=self.shutdown_timeout + 5)
            for task in pending:
                log.error("worker_killed", pid=waits[task].proc.pid,
                          detail="did not stop within the shutdown timeout")
                self._signal(waits[task], signal.SIGKILL)
            await asyncio.gather(*waits)
        if any(w.proc.returncode != 0 for w in workers):
            code = code or 1
        log.info("server_stopped", role="supervisor", code=code)
        return code


def worker_main() -> None:
    """A worker process: import the target, serve on the inherited socket, drain on SIGTERM."""
    spec = json.loads(sys.argv[1])
    structlog.contextvars.bind_contextvars(worker=spec["slot"])
    sock = socket.socket(fileno=spec["fd"])
    ready_fd = spec["ready_fd"]
    app = resolve_target(spec["target"], config=spec["config"])
    loaded = app.load_config()
    configure_logging(loaded.config.logging.level, loaded.config.logging.format)

    def on_ready(_: Any) -> None:
        os.write(ready_fd, b"1")
        os.close(ready_fd)

    run_loop(serve(app, sock=sock, cert=spec["cert"], key=spec["key"], on_ready=on_ready,
                   lifeline=spec["lifeline_fd"]))
