"""SimpleDevServer: serve an app while developing it, swapping in new code on save.

One listening socket stays open for the server's whole life, so no request is ever refused
during a reload. A change under the app's source directory re-imports the app's modules as
fresh module objects, starts the new app, and swaps it in behind the socket; requests already
running finish on the old app, which is then shut down. A reload that fails (a syntax error,
an exception at import or start-up) keeps the last good app: the failure is logged, shown in
``get_status()``, and in debug mode every request gets an error page naming it (HTML for
browsers, JSON for API clients) until the file is fixed.
"""

from __future__ import annotations

import asyncio
import importlib
import importlib.util
import os
import signal
import sys
import sysconfig
import time
import traceback
from html import escape
from pathlib import Path
from typing import TYPE_CHECKING, Any

import structlog
from aiohttp import web

from .context import accept_quality, parse_accept
from .logging import configure_logging, get_logger
from .plugins import installed_plugins
from .protocol import PyFrameServer, make_server
from .responses import json_encode
from .runner import bind_socket, locate_app, resolve_target
from .serving import AccessLogger, draining, run_loop

if TYPE_CHECKING:
    from .app import PyFrameApp

__all__ = ["SimpleDevServer"]

log = get_logger("pyframe", server="dev")


class _Default(str):
    """Marks the default ``static_path`` so an explicit one can be told apart."""


_STATIC_DEFAULT = _Default("static")
# Modules that are never re-imported: the interpreter's, installed packages', pyframe's.
_FIXED_ROOTS = tuple({os.path.realpath(p) + os.sep for p in
                      (sysconfig.get_paths()["stdlib"], sysconfig.get_paths()["purelib"],
                       sysconfig.get_paths()["platlib"], sys.prefix, sys.base_prefix)})


class SimpleDevServer:
    """Serve ``app`` (a PyFrameApp, or a ``"module:attr"`` string) for development.

    ``await start()`` returns once listening; ``await serve_forever()`` then serves until
    Ctrl-C/SIGTERM or ``stop()``. ``debug=True`` turns on the app's traceback pages.
    ``static_path`` is mounted at ``/static/`` when that folder exists.
    """

    def __init__(self, app: PyFrameApp | str, host: str = "localhost", port: int = 3000,
                 hot_reload: bool = True, debug: bool = True,
                 static_path: str | None = _STATIC_DEFAULT) -> None:
        self.app: PyFrameApp = resolve_target(app) if isinstance(app, str) else app
        self.host = host
        self.requested_port = port
        self.hot_reload = hot_reload
        self.debug = debug
        self.static_path = static_path
        self._static = self._static_folder(static_path)
        self._handler: PyFrameServer | None = None
        self._server: asyncio.AbstractServer | None = None
        self._started_at: float | None = None
        self._closing = asyncio.Event()
        self._requests = 0
        self._errors = 0
        self._reloads = 0
        self._last_reload: dict[str, Any] | None = None
        self._failure: BaseException | None = None
        self._source: tuple[str, Path, str] | None = None
        self._watcher: asyncio.Task[None] | None = None
        self._watch_stop: asyncio.Event | None = None
        self._reload_lock = asyncio.Lock()
        self._in_flight: dict[PyFrameApp, int] = {}
        self._idle: dict[PyFrameApp, asyncio.Event] = {}
        self._retiring: set[asyncio.Task[None]] = set()

    # Set-up.
    @staticmethod
    def _static_folder(static_path: str | None) -> str | None:
        if static_path is None:
            return None
        explicit = not isinstance(static_path, _Default)
        folder = Path(static_path)
        if not folder.is_dir():
            if explicit:
                log.warning("static_path_missing", path=str(folder))
            return None
        if "static" not in installed_plugins():
            if explicit:
                raise ImportError(f"static_path={static_path!r} needs the static plugin: "
                                  "pip install 'pyframe[static]'")
            log.warning("static_not_served", path=str(folder),
                        detail="pip install 'pyframe[static]' to serve it at /static/")
            return None
        return str(folder.resolve())

    def _prepare(self, app: PyFrameApp) -> None:
        app.load_config()
        app.debug = self.debug
        if self._static and not app.started and \
                not any(m.url_path == "/static/" for m in app.static_paths):
            app.add_static_path("/static/", self._static)

    @property
    def port(self) -> int:
        assert self._server is not None and self._server.sockets, "the server is not started"
        return self._server.sockets[0].getsockname()[1]

    @property
    def url(self) -> str:
        host = self.host if self.host not in ("", "0.0.0.0", "::") else "localhost"
        return f"http://{host}:{self.port}"

    # Lifecycle.
    async def start(self) -> None:
        """Start the app and listen; returns once connections are being accepted."""
        if self._server is not None:
            raise RuntimeError("the server is already running")
        app = self.app
        loaded = app.load_config()
        if not structlog.is_configured():
            configure_logging(loaded.config.logging.level, "console")
        self._prepare(app)
        await app.startup()
        config = app.config.server
        self._handler = make_server(self._dispatch, config, access_log_class=AccessLogger,
                                    access_log=log if app.access_log else None)
        sock = bind_socket(self.host, self.requested_port, config.backlog)
        self._server = await asyncio.get_running_loop().create_server(
            self._handler, sock=sock, backlog=config.backlog)
        self._started_at = time.monotonic()
        self._closing.clear()
        log.info("server_listening", url=self.url, pid=os.getpid(), debug=self.debug,
                 hot_reload=self.hot_reload, static=self._static)
        if self.hot_reload:
            await self._watch()

    async def serve_forever(self) -> None:
        """Serve until Ctrl-C, SIGTERM or ``stop()`` (starting first if needed)."""
        if self._server is None:
            await self.start()
        loop = asyncio.get_running_loop()
        installed = []
        for sig in (signal.SIGINT, signal.SIGTERM):
            try:
                loop.add_signal_handler(sig, self._closing.set)
                installed.append(sig)
            except (NotImplementedError, RuntimeError, ValueError):
                pass  # not the main thread, or not Unix: stop() still works
        try:
            await self._closing.wait()
        finally:
            # The handlers stay during the drain, so a repeated Ctrl-C is not a traceback.
            await self.stop()
            for sig in installed:
                loop.remove_signal_handler(sig)

    def run(self) -> None:
        """Blocking: start, serve until Ctrl-C, stop."""
        run_loop(self.serve_forever())

    async def stop(self) -> None:
        """Stop watching, stop accepting, let requests finish, shut the app down."""
        self._closing.set()
        if self._server is None:
            return
        if self._watch_stop is not None:
            self._watch_stop.set()
        if self._watcher is not None:
            try:
                await asyncio.wait_for(self._watcher, 5)
            except (TimeoutError, asyncio.CancelledError):
                pass
            self._watcher = None
        server, self._server = self._server, None
        server.close()
        app = self.app
        draining(app).set()
        assert self._handler is not None
        await self._handler.shutdown(app.config.server.shutdown_timeout)
        await server.wait_closed()
        if self._retiring:
            await asyncio.gather(*self._retiring, return_exceptions=True)
        await app.shutdown()
        log.info("server_stopped", requests=self._requests, errors=self._errors)

    async def restart(self) -> bool:
        """Load the app's code again and swap it in (what a file change does); the socket
        stays open. An app without a source module is restarted in place. Returns whether
        the new code is serving."""
        if self._source is None and self._locate() is None:
            await self.app.shutdown()
            self._prepare(self.app)
            await self.app.startup()
            return True
        return await self.reload()

    def get_status(self) -> dict[str, Any]:
        """Uptime, request and error counts, open connections, the last reload, pid, url."""
        running = self._server is not None
        return {
            "running": running,
            "url": self.url if running else None,
            "pid": os.getpid(),
            "workers": 1,
            "uptime": round(time.monotonic() - self._started_at, 3)
            if running and self._started_at is not None else 0.0,
            "requests": self._requests,
            "errors": self._errors,
            "active_connections": len(self._handler.connections) if self._handler else 0,
            "debug": self.debug,
            "hot_reload": self._watcher is not None,
            "reloads": self._reloads,
            "last_reload": dict(self._last_reload) if self._last_reload else None,
        }

    # The request path: whichever app is current answers.
    async def _dispatch(self, request: web.BaseRequest) -> web.StreamResponse:
        self._requests += 1
        if self._failure is not None and self.debug:
            self._errors += 1
            return _failure_page(request, self._failure)
        app = self.app
        counts = self._in_flight
        counts[app] = counts.get(app, 0) + 1
        try:
            response = await app.handle(request)
        except BaseException:
            self._errors += 1
            raise
        finally:
            left = counts[app] - 1
            if left:
                counts[app] = left
            else:
                del counts[app]
                idle = self._idle.pop(app, None)
                if idle is not None:
                    idle.set()
        if response.status >= 500:
            self._errors += 1
        return response

    # Reloading.
    def _locate(self) -> tuple[str, Path, str] | None:
        located = locate_app(self.app)
        if located is None:
            return None
        name, module, attr = located
        self._source = (name, Path(module.__file__).resolve(), attr)
        return self._source

    async def _watch(self) -> None:
        try:
            from watchfiles import PythonFilter, awatch
        except ImportError:
            log.warning("hot_reload_unavailable", detail="pip install 'pyframe[reload]'")
            return
        if self._locate() is None:
            log.warning("hot_reload_unavailable",
                        detail="the app is not a module-level name in a source file")
            return
        assert self._source is not None
        root = self._source[1].parent
        self._watch_stop = asyncio.Event()
        changes = awatch(root, watch_filter=PythonFilter(extra_extensions=(".toml",)),
                         stop_event=self._watch_stop)
        self._watcher = asyncio.create_task(self._follow(changes, root))
        # The watcher registers its file-system watches in its first step: let it run so a
        # change made right after start() returns is seen.
        await asyncio.sleep(0)
        log.info("watching", path=str(root))

    async def _follow(self, changes: Any, root: Path) -> None:
        try:
            async for batch in changes:
                files = sorted({os.path.relpath(path, root) for _, path in batch})
                log.info("change_detected", files=files[:10])
                await self.reload()
        except Exception:
            log.exception("watcher_failed")

    async def reload(self) -> bool:
        """Re-import the app's modules and swap the new app in; False (old app kept) if that
        fails."""
        async with self._reload_lock:
            when = time.time()
            new_app: PyFrameApp | None = None
            try:
                new_app = self._import_fresh()
                self._prepare(new_app)
                await new_app.startup()
            except (Exception, SystemExit) as exc:
                if new_app is not None and new_app.started:
                    await new_app.shutdown()
                self._failure = exc
                self._last_reload = {"time": when, "ok": False, "error": _summary(exc)}
                log.error("reload_failed", error=_summary(exc), exc_info=exc,
                          detail="the last good app keeps serving until the file is fixed")
                return False
            old, self.app = self.app, new_app
            self._failure = None
            self._reloads += 1
            self._last_reload = {"time": when, "ok": True, "error": None}
            log.info("reloaded", reloads=self._reloads,
                     duration_ms=round((time.time() - when) * 1000, 1))
            task = asyncio.create_task(self._retire(old))
            self._retiring.add(task)
            task.add_done_callback(self._retiring.discard)
            return True

    def _import_fresh(self) -> PyFrameApp:
        from .app import PyFrameApp

        source = self._source or self._locate()
        if source is None:
            raise RuntimeError("the app's source module is unknown: it cannot be reloaded")
        name, path, attr = source
        root = str(path.parent) + os.sep
        previous = {n: m for n, m in list(sys.modules.items()) if _reloadable(n, m, root)}
        for n, module in previous.items():
            del sys.modules[n]
            _drop_bytecode(getattr(module, "__cached__", None))
        _drop_bytecode(importlib.util.cache_from_source(str(path)))
        importlib.invalidate_caches()
        try:
            if name == "__main__":
                # Registered like any module: libraries that resolve annotations look the
                # defining module up in sys.modules.
                spec = importlib.util.spec_from_file_location("__pyframe_dev_main__", path)
                assert spec is not None and spec.loader is not None
                module = importlib.util.module_from_spec(spec)
                sys.modules[spec.name] = module
                spec.loader.exec_module(module)
            else:
                module = importlib.import_module(name)
            obj = getattr(module, attr)
            if not isinstance(obj, PyFrameApp) and callable(obj):
                obj = obj()
            if not isinstance(obj, PyFrameApp):
                raise TypeError(f"{name}.{attr} is a {type(obj).__name__}, not a PyFrameApp")
            return obj
        except BaseException:
            # Put the last good modules back: the old app may still import from them.
            for n, m in list(sys.modules.items()):
                if _reloadable(n, m, root):
                    del sys.modules[n]
            sys.modules.update(previous)
            raise

    async def _retire(self, old: PyFrameApp) -> None:
        draining(old).set()  # its open streams end; clients reconnect to the new code
        if old in self._in_flight:
            idle = self._idle.setdefault(old, asyncio.Event())
            try:
                await asyncio.wait_for(idle.wait(), old.config.server.shutdown_timeout)
            except TimeoutError:
                log.warning("old_app_busy", detail="shutting it down with requests running")
        await old.shutdown()


def _reloadable(name: str, module: Any, root: str) -> bool:
    if name == "__main__" or name.split(".")[0].startswith("pyframe"):
        return False
    path = getattr(module, "__file__", None)
    if not path:
        return False
    path = os.path.realpath(path)
    return path.startswith(root) and not path.startswith(_FIXED_ROOTS)


def _drop_bytecode(cached: str | None) -> None:
    # Python trusts a .pyc whose recorded source mtime (whole seconds) and size match, so an
    # edit within the same second that keeps the size would load the old code.
    if cached:
        try:
            os.unlink(cached)
        except OSError:
            pass


def _summary(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {exc}"


def _failure_page(request: web.BaseRequest, exc: BaseException) -> web.Response:
    """Debug mode after a failed reload: what broke, for a browser or an API client."""
    frames = traceback.format_exception(type(exc), exc, exc.__traceback__)
    note = "The last good app is kept; fix the file and save to reload."
    accept = request.headers.get("Accept", "")
    ranges = parse_accept(accept) if accept else []
    if ranges and accept_quality(ranges, "text/html") > accept_quality(ranges, "application/json"):
        page = (f"<!doctype html><html><head><meta charset=utf-8><title>Reload failed: "
                f"{escape(type(exc).__name__)}</title></head><body><h1>Reload failed</h1>"
                f"<h2>{escape(_summary(exc))}</h2><pre>{escape(''.join(frames))}</pre>"
                f"<p>{note}</p></body></html>")
        return web.Response(status=500, text=page, content_type="text/html")
    body = {"error": "Reload Failed", "exception": type(exc).__name__, "message": str(exc),
            "traceback": frames, "detail": note}
    return web.Response(status=500, body=json_encode(body), content_type="application/json")
