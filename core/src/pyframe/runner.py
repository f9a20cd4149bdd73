"""``pyframe run module:app``: serve an app in one process, or in N worker processes.

With more than one worker (or with reload) a supervisor binds the listening socket once and
starts workers that inherit it, so every worker accepts on the same port and connections
wait in the kernel's queue while a worker is replaced. The supervisor restarts a worker that
dies, replaces all workers on SIGHUP or (with reload) when a source file changes — new
workers first, then the old ones drain — and on SIGTERM/SIGINT has every worker drain.
"""

from __future__ import annotations

import asyncio
import importlib
import importlib.util
import json
import os
import signal
import socket
import subprocess
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

import structlog

from .logging import configure_logging, get_logger
from .serving import run_loop, serve, tls_context

if TYPE_CHECKING:
    from .app import PyFrameApp

__all__ = ["run_target", "resolve_target", "locate_app", "target_of", "bind_socket",
           "TargetError", "Supervisor", "worker_main", "importing_target", "run_app_workers",
           "WORKER_START_TIMEOUT"]

log = get_logger("pyframe")
# A worker that has not imported the app and started listening by then counts as failed.
WORKER_START_TIMEOUT = 60.0
_WORKER_CODE = "from pyframe.runner import worker_main; worker_main()"
_importing = 0


class TargetError(Exception):
    """The ``module:attr`` target cannot be imported or is not a PyFrameApp."""


def importing_target() -> bool:
    """True while a target module is being imported (``app.run()`` then does nothing)."""
    return _importing > 0


def _import_module(name: str) -> Any:
    if name.endswith(".py") or os.sep in name:
        path = Path(name).resolve()
        if not path.is_file():
            raise TargetError(f"{name}: no such file")
        if str(path.parent) not in sys.path:
            sys.path.insert(0, str(path.parent))
        existing = sys.modules.get(path.stem)
        if existing is not None and getattr(existing, "__file__", None) == str(path):
            return existing
        spec = importlib.util.spec_from_file_location(path.stem, path)
        assert spec is not None and spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        sys.modules[path.stem] = module
        try:
            spec.loader.exec_module(module)
        except BaseException:
            del sys.modules[path.stem]
            raise
        return module
    try:
        return importlib.import_module(name)
    except ModuleNotFoundError as exc:
        if exc.name is not None and name.startswith(exc.name):
            raise TargetError(f"cannot import {name!r}: {exc}. Run from the project directory "
                              "or check the module name") from exc
        raise


def resolve_target(target: str, *, config: str | None = None) -> PyFrameApp:
    """Import ``module:attr`` (or ``path/file.py:attr``; attr defaults to ``app``) relative to
    the working directory. ``attr`` is a PyFrameApp or a zero-argument factory returning one.
    ``config`` replaces the app's config file path."""
    from .app import PyFrameApp

    global _importing
    if os.getcwd() not in sys.path and "" not in sys.path:
        sys.path.insert(0, os.getcwd())
    module_name, _, attr = target.partition(":")
    if not module_name:
        raise TargetError(f"{target!r}: expected module:attr, e.g. myapp:app")
    attr = attr or "app"
    _importing += 1
    try:
        obj = _import_module(module_name)
        for part in attr.split("."):
            try:
                obj = getattr(obj, part)
            except AttributeError:
                raise TargetError(f"module {module_name!r} has no attribute {attr!r}") from None
        if not isinstance(obj, PyFrameApp) and callable(obj):
            obj = obj()
    finally:
        _importing -= 1
    if not isinstance(obj, PyFrameApp):
        raise TargetError(f"{target} is a {type(obj).__name__}, not a PyFrameApp or a factory "
                          "returning one")
    if config is not None:
        obj._config_path = config
        obj._loaded = None
    return obj


def locate_app(app: PyFrameApp) -> tuple[str, Any, str] | None:
    """The module that defines ``app`` and the global name bound to it.

    Several modules may hold the app (``from myapp import app``); the earliest imported one
    that is not ``__main__`` is the defining one (it starts importing before the others).
    """
    found = []
    main = sys.modules.get("__main__")
    for name, module in list(sys.modules.items()):
        namespace = getattr(module, "__dict__", None)
        if not namespace or not getattr(module, "__file__", None):
            continue
        if module is main:
            name = "__main__"  # also listed under aliases such as multiprocessing's __mp_main__
        for key, value in list(namespace.items()):
            if value is app:
                found.append((name, module, key))
                break
    for entry in found:
        if entry[0] != "__main__":
            return entry
    return found[0] if found else None


def target_of(app: PyFrameApp) -> str | None:
    """A ``module:attr`` string that imports ``app`` in another process, if there is one."""
    located = locate_app(app)
    if located is None:
        return None
    name, module, attr = located
    return f"{module.__file__}:{attr}" if name == "__main__" else f"{name}:{attr}"


def bind_socket(host: str, port: int, backlog: int) -> socket.socket:
    """A listening TCP socket (IPv4 preferred when the name has both, so ``localhost`` serves
    every client)."""
    infos = socket.getaddrinfo(host or None, port, type=socket.SOCK_STREAM,
                               flags=socket.AI_PASSIVE)
    infos.sort(key=lambda info: info[0] != socket.AF_INET)
    family, kind, proto, _, address = infos[0]
    sock = socket.socket(family, kind, proto)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(address)
        sock.listen(backlog)
    except OSError as exc:
        sock.close()
        raise OSError(exc.errno, f"cannot listen on {host}:{port}: {exc.strerror}") from None
    return sock


def run_target(target: str, *, host: str | None = None, port: int | None = None,
               workers: int | None = None, reload: bool = False, config: str | None = None,
               cert: str | None = None, key: str | None = None) -> int:
    """Serve ``target`` ("module:attr") until SIGTERM/SIGINT; return the exit code.

    Unset arguments come from the app's ``[server]`` config. Raises TargetError or
    ConfigError before serving when the target or its config is wrong.
    """
    try:
        app = resolve_target(target, config=config)
    except TargetError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    return _run(app, target, host=host, port=port, workers=workers, reload=reload,
                config=config, cert=cert, key=key)


def run_app_workers(app: PyFrameApp, *, host: str | None, port: int | None, workers: int,
                    cert: str | None = None, key: str | None = None) -> int:
    """``app.run()`` with several workers: each worker imports the app by its module path."""
    target = target_of(app)
    if target is None:
        raise TargetError("serving several workers imports the app in each worker, but this "
                          "app is not a module-level name: define it at module level, or run "
                          "`pyframe run module:app --workers N`")
    return _run(app, target, host=host, port=port, workers=workers, reload=False,
                config=app._config_path, cert=cert, key=key)


def _run(app: PyFrameApp, target: str, *, host: str | None, port: int | None,
         workers: int | None, reload: bool, config: str | None, cert: str | None,
         key: str | None) -> int:
    loaded = app.load_config()
    configure_logging(loaded.config.logging.level, loaded.config.logging.format)
    server = loaded.config.server
    host = server.host if host is None else host
    port = server.port if port is None else port
    workers = server.workers if workers is None else workers
    if workers < 1:
        raise ValueError(f"workers must be at least 1, got {workers}")
    cert, key = cert or server.tls_cert, key or server.tls_key
    if cert or key:
        tls_context(cert or "", key)  # fail here, not in every worker
    watch: list[str] = []
    if reload:
        try:
            import watchfiles  # noqa: F401
        except ImportError:
            raise ImportError("--reload needs watchfiles: pip install 'pyframe[reload]'") from None
        located = locate_app(app)
        if located is None:
            raise TargetError(f"cannot find the source of {target} to watch for --reload")
        watch.append(str(Path(located[1].__file__).resolve().parent))
    try:
        sock = bind_socket(host, port, server.backlog)
    except OSError as exc:
        log.error("bind_failed", error=str(exc))
        print(f"error: {exc}", file=sys.stderr)
        return 1
    try:
        if not reload and workers == 1:
            run_loop(serve(app, sock=sock, cert=cert, key=key))
            return 0
        spec = {"target": target, "config": config, "cert": cert, "key": key}
        supervisor = Supervisor(spec, sock, workers, shutdown_timeout=server.shutdown_timeout,
                                watch=watch, tls=bool(cert))
        return asyncio.run(supervisor.run())
    finally:
        sock.close()


class _Worker:
    __slots__ = ("slot", "proc", "ready", "started", "retired")

    def __init__(self, slot: int, proc: asyncio.subprocess.Process,
                 ready: asyncio.Future[bool], started: float) -> None:
        self.slot, self.proc, self.ready, self.started = slot, proc, ready, started
        self.retired = False


class Supervisor:
    """Keeps ``workers`` processes serving on ``sock``; see the module docstring."""

    def __init__(self, spec: dict[str, Any], sock: socket.socket, workers: int, *,
                 shutdown_timeout: float, watch: list[str] | None = None,
                 tls: bool = False) -> None:
        self.spec, self.sock, self.size = spec, sock, workers
        self.shutdown_timeout = shutdown_timeout
        self.watch = watch or []
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
        self._stop, self._reload = asyncio.Event(), asyncio.Event()
        # Workers hold the read end; when this process dies they see EOF and drain.
        self._lifeline, lifeline_w = os.pipe()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, self._stop.set)
        loop.add_signal_handler(signal.SIGHUP, self._reload.set)
        code = 1
        try:
            if self.watch:
                self._task(self._watch_files())
                await asyncio.sleep(0)  # its first step registers the file-system watches
            first = await self._start_generation()
            if first is None:
                log.error("workers_failed_to_start", detail="see the worker output above")
                return code
            self.current = list(first)
            log.info("server_listening", role="supervisor", url=self.url, workers=self.size,
                     pid=os.getpid(), reload=bool(self.watch))
            while not self._stop.is_set():
                waiters = [asyncio.ensure_future(self._stop.wait()),
                           asyncio.ensure_future(self._reload.wait())]
                await asyncio.wait(waiters, return_when=asyncio.FIRST_COMPLETED)
                for waiter in waiters:
                    waiter.cancel()
                if not self._stop.is_set():
                    self._reload.clear()
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
        log.info("reload_started", workers=self.size)
        new = await self._start_generation()
        if new is None:
            log.error("reload_failed", detail="the new workers did not start (see their "
                      "output above); the running workers keep serving")
            return
        old, self.current = self.current, list(new)
        for worker in old:
            if worker is not None:
                worker.retired = True
                self._signal(worker, signal.SIGTERM)
        log.info("reload_finished", pids=[w.proc.pid for w in new])

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
        if worker.proc.returncode is None:
            try:
                worker.proc.send_signal(sig)
            except ProcessLookupError:
                pass

    async def _stop_all(self, code: int) -> int:
        self.stopping = True
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

    async def _watch_files(self) -> None:
        from watchfiles import (  # run_target checked it is installed
            PythonFilter,
            awatch,
        )

        async for changes in awatch(*self.watch, watch_filter=PythonFilter(
                extra_extensions=(".toml",))):
            log.info("change_detected", files=sorted({Path(p).name for _, p in changes})[:10])
            self._reload.set()


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
