"""SimpleDevServer: serve an app while developing it, swapping in new code on save.

One listening socket stays open for the server's whole life, so no request is ever refused
during a reload. A change under the app's folder builds a fresh app from the changed modules
(:mod:`pyframe.serve.reload`), starts it, and swaps it in behind the socket; requests already
running finish on the old app, which is then shut down. A reload that fails (a syntax error,
an exception at import or start-up) keeps the last good app: the failure is logged, shown in
``get_status()``, and in debug mode every request gets an error page naming it (HTML for
browsers, JSON for API clients) until the file is fixed.
"""

from __future__ import annotations

import asyncio
import os
import ssl as ssl_module
import time
import traceback
from html import escape
from pathlib import Path
from typing import TYPE_CHECKING, Any

import structlog
from aiohttp import web

from ..errors import install_hint
from ..http.access import AccessLogger
from ..http.connection import make_server
from ..logging import configure_logging, get_logger
from ..plugin.discovery import installed_plugins
from ..request.negotiation import accept_quality, parse_accept
from ..request.responses import json_encode
from ..request.streams import draining
from .lifecycle import Server
from .reload import Reloader
from .target import resolve_target

if TYPE_CHECKING:
    from ..app import PyFrameApp

__all__ = ["SimpleDevServer"]

log = get_logger("pyframe", server="dev")


class _Default(str):
    """Marks the default ``static_path`` so an explicit one can be told apart."""


_STATIC_DEFAULT = _Default("static")


class SimpleDevServer(Server):
    """Serve ``app`` (a PyFrameApp, or a ``"module:attr"`` string) for development.

    ``await start()`` returns once listening; ``await serve_forever()`` then serves until
    Ctrl-C/SIGTERM or ``stop()``. ``debug=True`` turns on the app's traceback pages.
    ``static_path`` is mounted at ``/static/`` when that folder exists.
    """

    def __init__(self, app: PyFrameApp | str, host: str = "localhost", port: int = 3000,
                 hot_reload: bool = True, debug: bool = True,
                 static_path: str | None = _STATIC_DEFAULT, *,
                 ssl_context: ssl_module.SSLContext | None = None) -> None:
        super().__init__(host, port, ssl_context=ssl_context)
        self.app: PyFrameApp = resolve_target(app) if isinstance(app, str) else app
        self.hot_reload = hot_reload
        self.debug = debug
        self.static_path = static_path
        self._static = self._static_folder(static_path)
        self._started_at: float | None = None
        self._requests = 0
        self._errors = 0
        self._reloads = 0
        self._last_reload: dict[str, Any] | None = None
        self._failure: BaseException | None = None
        self._reloader: Reloader | None = None
        self._watcher: asyncio.Task[None] | None = None
        self._watch_stop: asyncio.Event | None = None
        self._reload_lock = asyncio.Lock()
        self._ready = asyncio.Event()  # cleared while the app restarts in place
        self._ready.set()
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
                                  f"{install_hint('static')}")
            log.warning("static_not_served", path=str(folder),
                        detail=f"to serve it at /static/, {install_hint('static')}")
            return None
        return str(folder.resolve())

    def _prepare(self, app: PyFrameApp) -> None:
        app.load_config()
        app.debug = self.debug
        if self._static and not app.started and \
                not any(m.url_path == "/static/" for m in app.static_paths):
            app.add_static_path("/static/", self._static)

    @property
    def url(self) -> str:
        host = self.host if self.host not in ("", "0.0.0.0", "::") else "localhost"
        return f"{self.scheme}://{host}:{self.port}"

    # The lifecycle (see pyframe.serve.lifecycle.Server).
    async def _open(self) -> web.Server:
        app = self.app
        loaded = app.load_config()
        if not structlog.is_configured():
            configure_logging(loaded.config.logging.level, "console")
        self._prepare(app)
        await app.startup()
        config = app.config.server
        self.backlog = config.backlog
        return make_server(self._dispatch, config, access_log_class=AccessLogger,
                           access_log=log if app.access_log else None)

    def _announce(self) -> None:
        self._started_at = time.monotonic()
        log.info("server_listening", url=self.url, pid=os.getpid(), debug=self.debug,
                 hot_reload=self.hot_reload, static=self._static)

    async def start(self) -> None:
        """Start the app and listen; returns once connections are being accepted."""
        await super().start()
        self._reloader_for()  # what is loaded now is what a later reload compares against
        if self.hot_reload:
            await self._watch()

    def _drain_timeout(self) -> float:
        return self.app.config.server.shutdown_timeout

    async def _begin_drain(self) -> None:
        if self._watch_stop is not None:
            self._watch_stop.set()
        if self._watcher is not None:
            try:
                await asyncio.wait_for(self._watcher, 5)
            except (TimeoutError, asyncio.CancelledError):
                pass
            self._watcher = None
        draining(self.app).set()

    async def _close(self) -> None:
        if self._retiring:
            await asyncio.gather(*self._retiring, return_exceptions=True)
        await self.app.shutdown()
        log.info("server_stopped", requests=self._requests, errors=self._errors)

    async def restart(self) -> bool:
        """Load the app's code again and swap it in (what a file change does); the socket
        stays open. An app defined in the running script, or with no source module, is
        restarted in place: its config is read again and its start-up hooks run again, but
        the script is never run again. Returns whether the new code is serving."""
        reloader = self._reloader_for()
        if reloader is None or reloader.in_script:
            return await self.restart_in_place()
        return await self.reload()

    async def restart_in_place(self) -> bool:
        """Stop the app (after its requests finish), read its config again and start it;
        requests arriving meanwhile wait for it. False (and the error logged) if it fails."""
        async with self._reload_lock:
            app = self.app
            self._ready.clear()
            try:
                await self._wait_idle(app)
                await app.shutdown()
                app.reset()
                draining(app).clear()
                self._prepare(app)
                await app.startup()
            except (Exception, SystemExit) as exc:
                self._fail(exc, time.time())
                return False
            finally:
                self._ready.set()
            self._succeed(time.time())
            return True

    def get_status(self) -> dict[str, Any]:
        """Uptime, request and error counts, open connections, the last reload, pid, url."""
        running = self.running
        return {
            "running": running,
            "url": self.url if running else None,
            "pid": os.getpid(),
            "workers": 1,
            "uptime": round(time.monotonic() - self._started_at, 3)
            if running and self._started_at is not None else 0.0,
            "requests": self._requests,
            "errors": self._errors,
            "active_connections": len(self.handler.connections) if self.handler else 0,
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
        if not self._ready.is_set():
            await self._ready.wait()
        app = self.app
        counts = self._in_flight
        counts[app] = counts.get(app, 0) + 1
        try:
            response = await app.dispatcher.handle(request)  # type: ignore[union-attr]
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
    def _reloader_for(self) -> Reloader | None:
        if self._reloader is None:
            try:
                self._reloader = Reloader(self.app)
            except RuntimeError:
                return None
        return self._reloader

    async def _watch(self) -> None:
        try:
            from watchfiles import PythonFilter, awatch
        except ImportError:
            log.warning("hot_reload_unavailable", detail=install_hint("reload"))
            return
        reloader = self._reloader_for()
        if reloader is None:
            log.warning("hot_reload_unavailable",
                        detail="the app is not a module-level name in a source file")
            return
        if reloader.in_script:
            log.warning("hot_reload_limited", script=str(reloader.path),
                        detail="the app is defined in the script being run, which a reload "
                               "never runs again: config changes restart the app in place, "
                               "code changes need `pyframe run "
                               f"{reloader.path.name}:{reloader.attr} --reload` or the app in a "
                               "module of its own")
        root = reloader.root
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
                reloader = self._reloader_for()
                if reloader is not None and reloader.in_script:
                    if any(not f.endswith(".toml") for f in files):
                        log.warning("reload_needs_restart", files=files[:10],
                                    detail="restart the script to load code changes")
                    else:
                        await self.restart_in_place()
                    continue
                await self.reload()
        except Exception:
            log.exception("watcher_failed")

    async def reload(self) -> bool:
        """Build the app from the changed modules and swap it in; False (old app kept) if
        that fails."""
        reloader = self._reloader_for()
        if reloader is None or reloader.in_script:
            return await self.restart_in_place()
        async with self._reload_lock:
            when = time.time()
            new_app: PyFrameApp | None = None
            try:
                new_app = reloader.load()
                self._prepare(new_app)
                await new_app.startup()
            except (Exception, SystemExit) as exc:
                if new_app is not None and new_app.started:
                    await new_app.shutdown()
                self._fail(exc, when)
                return False
            old, self.app = self.app, new_app
            self._succeed(when)
            task = asyncio.create_task(self._retire(old))
            self._retiring.add(task)
            task.add_done_callback(self._retiring.discard)
            return True

    def _fail(self, exc: BaseException, when: float) -> None:
        self._failure = exc
        self._last_reload = {"time": when, "ok": False, "error": _summary(exc)}
        log.error("reload_failed", error=_summary(exc), exc_info=exc,
                  detail="the last good app keeps serving until the file is fixed")

    def _succeed(self, when: float) -> None:
        self._failure = None
        self._reloads += 1
        self._last_reload = {"time": when, "ok": True, "error": None}
        log.info("reloaded", reloads=self._reloads,
                 duration_ms=round((time.time() - when) * 1000, 1))

    async def _wait_idle(self, app: PyFrameApp) -> None:
        if app in self._in_flight:
            idle = self._idle.setdefault(app, asyncio.Event())
            try:
                await asyncio.wait_for(idle.wait(), app.config.server.shutdown_timeout)
            except TimeoutError:
                log.warning("old_app_busy", detail="shutting it down with requests running")

    async def _retire(self, old: PyFrameApp) -> None:
        draining(old).set()  # its open streams end; clients reconnect to the new code
        await self._wait_idle(old)
        await old.shutdown()


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
