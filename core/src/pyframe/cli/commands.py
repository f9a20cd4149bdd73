"""The ``pyframe`` command line: run, routes, plugins, config, new-plugin, and plugin commands."""

from __future__ import annotations

import argparse
import inspect
import os
import sys
from collections.abc import Sequence
from typing import Any

import msgspec

from ..errors import ConfigError, PluginError

__all__ = ["main", "load_app"]


def load_app(target: str) -> Any:
    """Import ``module:attr`` (an app, or a factory returning one) from the working directory."""
    from ..serve.target import TargetError, resolve_target

    try:
        return resolve_target(target)
    except TargetError as exc:
        raise SystemExit(f"error: {exc}") from None


def _cmd_run(args: argparse.Namespace) -> int:
    from ..serve.run import run_target

    return run_target(args.target, host=args.host, port=args.port, workers=args.workers,
                      reload=args.reload, config=args.config, cert=args.cert, key=args.key)


def _built_app(args: argparse.Namespace) -> Any:
    from ..app import PyFrameApp

    if getattr(args, "target", None):
        app = load_app(args.target)
        if args.config:
            app._config_path = args.config
    else:
        app = PyFrameApp(config=args.config)
    app.build()
    return app


def _cmd_routes(args: argparse.Namespace) -> int:
    app = _built_app(args)
    rows = []
    for route in app.router:
        handler = getattr(route.handler, "__module__", "?") + "." + (route.name or "?")
        rows.append({"methods": list(route.methods), "pattern": route.path, "handler": handler,
                     "plugin": route.plugin or "app"})
    rows.sort(key=lambda r: (r["pattern"], r["methods"]))
    if args.json:
        print(msgspec.json.encode(rows).decode())
        return 0
    _table(["METHODS", "PATTERN", "HANDLER", "FROM"],
           [[",".join(r["methods"]), r["pattern"], r["handler"], r["plugin"]] for r in rows])
    return 0


def _plugin_rows(args: argparse.Namespace) -> list[dict[str, Any]]:
    from ..plugin.discovery import installed_plugins

    enabled: dict[str, str] = {}
    if getattr(args, "target", None) or args.config or _config_file_present():
        app = _built_app(args)
        enabled = {p.id: p.enabled_by for p in app.plugins.enabled}
    rows = []
    for pid, plugin in sorted(installed_plugins().items()):
        obj = plugin.load()
        names = sorted(n for n in dir(obj) if n.startswith("pyframe_")
                       and hasattr(getattr(obj, n), "pyframe_impl"))
        rows.append({"id": pid, "distribution": plugin.distribution, "version": plugin.version,
                     "enabled": pid in enabled, "enabled_by": enabled.get(pid), "hooks": names})
    return rows


def _config_file_present() -> bool:
    return os.path.isfile("pyframe.toml") or os.path.isfile("pyproject.toml") or bool(
        os.environ.get("PYFRAME_CONFIG"))


def _cmd_plugins(args: argparse.Namespace) -> int:
    rows = _plugin_rows(args)
    if args.json:
        print(msgspec.json.encode(rows).decode())
        return 0
    _table(["ID", "DISTRIBUTION", "VERSION", "ENABLED", "HOOKS"],
           [[r["id"], r["distribution"], r["version"],
             f"yes ({r['enabled_by']})" if r["enabled"] else "no",
             ", ".join(h.removeprefix("pyframe_") for h in r["hooks"])] for r in rows])
    return 0


def _cmd_config_show(args: argparse.Namespace) -> int:
    app = _built_app(args)
    data = msgspec.to_builtins(app.config)
    data["plugins"] = {p.id: msgspec.to_builtins(p.config) if p.config is not None else {}
                       for p in app.plugins.enabled}
    out = {"source": app.config_source or "defaults", "config": data}
    print(msgspec.json.format(msgspec.json.encode(out)).decode())
    return 0


def _cmd_config_schema(args: argparse.Namespace) -> int:
    from ..config import LoggingConfig, ServerConfig
    from ..plugin.discovery import installed_plugins

    sections: dict[str, Any] = {"server": ServerConfig, "logging": LoggingConfig}
    plugins: dict[str, Any] = {}
    for pid, plugin in sorted(installed_plugins().items()):
        obj = plugin.load()
        obj = obj() if inspect.isclass(obj) else obj
        get_schema = getattr(obj, "pyframe_get_config_schema", None)
        schema = get_schema() if get_schema is not None else None
        plugins[pid] = msgspec.json.schema(schema) if schema is not None else {
            "type": "object", "properties": {"enabled": {"type": "boolean"}},
            "additionalProperties": False}
    out = {name: msgspec.json.schema(kind) for name, kind in sections.items()}
    out["plugins"] = plugins
    print(msgspec.json.format(msgspec.json.encode(out)).decode())
    return 0


def _cmd_new_plugin(args: argparse.Namespace) -> int:
    from .scaffold import render_plugin

    target = render_plugin(args.name, args.directory)
    print(f"created {target}")
    print(f"next: pip install -e {target} && pytest {target}")
    return 0


def _table(headers: list[str], rows: list[list[str]]) -> None:
    widths = [max(len(str(x)) for x in col) for col in zip(headers, *rows)]
    for row in [headers, *rows]:
        print("  ".join(str(cell).ljust(w) for cell, w in zip(row, widths)).rstrip())


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="pyframe", description="pyframe's command line")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    run = sub.add_parser("run", help="serve an app")
    run.add_argument("target", metavar="MODULE:APP")
    run.add_argument("--host")
    run.add_argument("--port", type=int)
    run.add_argument("--workers", type=int, help="worker processes sharing the port")
    run.add_argument("--reload", action="store_true", help="restart on source changes")
    run.add_argument("--cert", help="TLS certificate file (PEM)")
    run.add_argument("--key", help="TLS private key file (PEM)")
    run.set_defaults(func=_cmd_run)

    routes = sub.add_parser("routes", help="list an app's routes")
    routes.add_argument("target", metavar="MODULE:APP")
    routes.add_argument("--json", action="store_true")
    routes.set_defaults(func=_cmd_routes)

    plugins = sub.add_parser("plugins", help="list installed plugins")
    plugins.add_argument("--app", dest="target", metavar="MODULE:APP",
                         help="also count plugins this app enables in code")
    plugins.add_argument("--json", action="store_true")
    plugins.set_defaults(func=_cmd_plugins)

    config = sub.add_parser("config", help="show the merged config, or its schema")
    config_sub = config.add_subparsers(dest="config_command", required=True, metavar="ACTION")
    show = config_sub.add_parser("show", help="print the merged, validated config")
    show.add_argument("--app", dest="target", metavar="MODULE:APP")
    show.set_defaults(func=_cmd_config_show)
    schema = config_sub.add_parser("schema", help="print the JSON Schema of every section")
    schema.set_defaults(func=_cmd_config_schema)

    new = sub.add_parser("new-plugin", help="create a plugin distribution from the template")
    new.add_argument("name", help="the plugin id, e.g. greeting")
    new.add_argument("--dir", dest="directory", default=".", help="where to create it")
    new.set_defaults(func=_cmd_new_plugin)

    for cmd in (run, routes, plugins, show, schema):
        cmd.add_argument("--config", help="config file (default: pyframe.toml or pyproject.toml)")
    _add_plugin_commands(sub)
    return parser


def _add_plugin_commands(sub: argparse._SubParsersAction) -> None:
    from ..plugin.discovery import installed_plugins
    from ..plugin.manager import new_manager

    manager = new_manager()
    for pid, plugin in installed_plugins().items():
        obj = plugin.load()
        if hasattr(getattr(obj, "pyframe_add_commands", None), "pyframe_impl"):
            manager.register(obj() if inspect.isclass(obj) else obj, name=pid)
    manager.hook.pyframe_add_commands(subparsers=sub)


def main(argv: Sequence[str] | None = None) -> int:
    try:
        parser = build_parser()
        args = parser.parse_args(argv)
        return int(args.func(args) or 0)
    except (ConfigError, PluginError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
