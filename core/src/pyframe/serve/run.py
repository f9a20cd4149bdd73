"""``pyframe run module:app``: serve an app in one process, in N worker processes under a
supervisor, or with hot reload; the one entry point the CLI and ``app.run()`` share."""

from __future__ import annotations

import asyncio
import importlib.util
import ssl as ssl_module
import sys
from typing import TYPE_CHECKING, Any

from ..errors import install_hint
from ..logging import configure_logging, get_logger
from .lifecycle import bind_socket, run_loop
from .process import serve
from .supervisor import Supervisor
from .target import TargetError, importing_target, resolve_target, target_of
from .tls import tls_context

if TYPE_CHECKING:
    from ..app import PyFrameApp

__all__ = ["run_app", "run_target", "run_app_workers"]

log = get_logger("pyframe")


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
                    reload: bool = False, cert: str | None = None, key: str | None = None) -> int:
    """``app.run()`` with several workers (each imports the app by its module path) or with
    reload (which imports fresh copies of the app's module)."""
    target = target_of(app)
    if target is None:
        what = "reloading" if reload else "serving several workers"
        raise TargetError(f"{what} imports the app again, but this app is not a module-level "
                          "name: define it at module level, or run `pyframe run module:app`")
    config = app._config_path
    if reload and target.split(":")[0].endswith(".py"):
        # The app lives in the script being run, which a reload never runs again: serve the
        # copy its file gives as a module (its `if __name__ == "__main__":` part does not run).
        app = resolve_target(target, config=config)
    return _run(app, target, host=host, port=port, workers=workers, reload=reload,
                config=config, cert=cert, key=key)


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
    if reload:
        if workers > 1:
            print("error: --reload serves one process that swaps in new code on save; drop "
                  "--workers (SIGHUP replaces the workers of a multi-worker server)",
                  file=sys.stderr)
            return 2
        return _reload(app, host=host, port=port, cert=cert, key=key)
    try:
        sock = bind_socket(host, port, server.backlog)
    except OSError as exc:
        log.error("bind_failed", error=str(exc))
        print(f"error: {exc}", file=sys.stderr)
        return 1
    try:
        if workers == 1:
            run_loop(serve(app, sock=sock, cert=cert, key=key))
            return 0
        spec = {"target": target, "config": config, "cert": cert, "key": key}
        supervisor = Supervisor(spec, sock, workers, shutdown_timeout=server.shutdown_timeout,
                                tls=bool(cert))
        return asyncio.run(supervisor.run())
    finally:
        sock.close()


def _reload(app: PyFrameApp, *, host: str, port: int, cert: str | None,
            key: str | None) -> int:
    from .dev import SimpleDevServer
    from .reload import reload_unavailable

    problem = reload_unavailable(app)
    if problem is None and importlib.util.find_spec("watchfiles") is None:
        # Asked for on the command line, a reload that cannot happen is an error, not a
        # warning lost in the log of a server that seems to work.
        problem = f"watching files needs watchfiles: {install_hint('reload')}"
    if problem:
        print(f"error: --reload: {problem}", file=sys.stderr)
        return 2
    ssl_context = tls_context(cert, key) if cert else None
    server = SimpleDevServer(app, host=host, port=port, hot_reload=True, debug=app.debug,
                             static_path=None, ssl_context=ssl_context)
    try:
        run_loop(server.serve_forever())
    except OSError as exc:
        log.error("bind_failed", error=str(exc))
        print(f"error: {exc}", file=sys.stderr)
        return 1
    return 0


def run_app(app: PyFrameApp, host: str | None = None, port: int | None = None, *,
            workers: int | None = None, reload: bool = False,
            ssl_context: ssl_module.SSLContext | None = None,
            cert: str | None = None, key: str | None = None, **options: Any) -> None:
    """Serve ``app`` until SIGINT or SIGTERM, then drain and exit.

    More than one worker (``workers`` or the config's ``server.workers``) hands over to the
    supervisor, which needs the app importable as ``module:attr``; so does ``reload``.
    """
    if importing_target():
        return  # a worker is importing the module that calls app.run(): serve from the worker
    loaded = app.load_config()
    logging_config = loaded.config.logging
    configure_logging(logging_config.level, logging_config.format)
    server_config = loaded.config.server
    workers = workers if workers is not None else server_config.workers
    if workers > 1 or reload:
        code = run_app_workers(app, host=host, port=port, workers=workers,
                                          reload=reload, cert=cert, key=key)
        if code:
            raise SystemExit(code)
        return
    host = host if host is not None else server_config.host
    port = port if port is not None else server_config.port
    run_loop(serve(app, host=host, port=port, ssl_context=ssl_context, cert=cert, key=key,
                   **options))
