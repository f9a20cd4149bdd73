"""The ``pyframe`` command line: run, routes, plugins, config, new-plugin, and plugin commands."""

from __future__ import annotations

import argparse
import inspect
import shlex
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import msgspec

from ..errors import ConfigError, PluginError
from ..serve.target import TargetError
from .listing import VersionAction, plugin_rows

__all__ = ["main", "load_app"]


def load_app(target: str) -> Any:
    """Import ``module:attr`` (an app, or a factory returning one) from the working directory."""
    from ..serve.target import resolve_target

    try:
        return resolve_target(target)
    except TargetError as exc:
        raise SystemExit(f"error: {exc}") from None


def _cmd_run(args: argparse.Namespace) -> int:
    from ..serve.run import run_target

    return run_target(args.target, host=args.host, port=args.port, workers=args.workers,
                      reload=args.reload, config=args.config, cert=args.cert, key=args.key)


def _built_app(args: argparse.Namespace) -> Any:
    from ..plugin import load_app as load_built_app

    return load_built_app(getattr(args, "target", None), config=args.config)


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


def _cmd_plugins(args: argparse.Namespace) -> int:
    rows, error = plugin_rows(getattr(args, "target", None), args.config)
    if args.json:
        print(msgspec.json.encode(rows).decode())
    else:
        _table(["ID", "DISTRIBUTION", "VERSION", "ENABLED", "HOOKS"],
               [[r["id"], r["distribution"], r["version"], _enabled_cell(r),
                 f"error: {r['error']}" if r["error"] else
                 ", ".join(h.removeprefix("pyframe_") for h in r["hooks"])] for r in rows])
    if error:
        print(f"error: {error}\n(the plugins above are installed; which are enabled is not "
              "known until the config is fixed)", file=sys.stderr)
        return 2
    return 0


def _enabled_cell(row: dict[str, Any]) -> str:
    if row["enabled"] is None:
        return "?"
    return f"yes ({row['enabled_by']})" if row["enabled"] else "no"


# Settings whose values `config show` never prints: a key whose name holds one of these words.
_SECRET_WORDS = ("secret", "password", "token", "private_key", "api_key")


def _masked(value: Any, key: str = "") -> Any:
    if isinstance(value, dict):
        return {k: _masked(v, str(k)) for k, v in value.items()}
    if isinstance(value, list):
        return [_masked(v, key) for v in value]
    lowered = key.lower()
    if value not in (None, "", []) and any(word in lowered for word in _SECRET_WORDS) \
            and not lowered.endswith(("_env", "_file", "_path")):
        return "***"
    return value


def _cmd_config_show(args: argparse.Namespace) -> int:
    app = _built_app(args)
    data = msgspec.to_builtins(app.config)
    data["plugins"] = {p.id: msgspec.to_builtins(p.config) if p.config is not None else {}
                       for p in app.plugins.enabled}
    data = _masked(data)
    out = {"source": app.config_source or "defaults", "config": data}
    print(msgspec.json.format(msgspec.json.encode(out)).decode())
    return 0


def _cmd_config_schema(args: argparse.Namespace) -> int:
    from ..config import config_json_schema
    from ..plugin.discovery import installed_plugins
    from ..plugin.manager import config_schema_of

    schemas: dict[str, Any] = {}
    for pid, plugin in sorted(installed_plugins().items()):
        try:
            obj = plugin.load()
            schemas[pid] = config_schema_of(obj() if inspect.isclass(obj) else obj)
        except PluginError as exc:
            # Its sections then pass only switched off, as they would at start-up.
            print(f"warning: plugin {pid!r} is left out of the schema: {exc}", file=sys.stderr)
    schema = config_json_schema(schemas)
    print(msgspec.json.format(msgspec.json.encode(schema)).decode())
    return 0


def _cmd_new_plugin(args: argparse.Namespace) -> int:
    from .scaffold import render_plugin

    target = render_plugin(args.name, args.directory)
    print(f"created {target}")
    wheelhouse = Path(args.wheelhouse).expanduser()
    found = wheelhouse.is_dir()
    shown = str(wheelhouse.absolute()) if found else args.wheelhouse
    # One line a user can paste into the virtual environment pyframe is installed in: the
    # plugin with its test extra (pytest, pytest-asyncio), from the wheelhouse alone.
    print(f"next: python -m pip install --no-index --find-links {shlex.quote(shown)} "
          f"-e {shlex.quote(f'{target}[test]')} && python -m pytest {shlex.quote(str(target))}")
    if not found:
        print(f"(there is no wheelhouse at {args.wheelhouse}: build one with "
              f"scripts/build-wheelhouse.sh in pyframe's repository, or name yours with "
              f"--wheelhouse DIR)")
    return 0


def _table(headers: list[str], rows: list[list[str]]) -> None:
    widths = [max(len(str(x)) for x in col) for col in zip(headers, *rows)]
    for row in [headers, *rows]:
        print("  ".join(str(cell).ljust(w) for cell, w in zip(row, widths)).rstrip())


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="pyframe", description="pyframe's command line")
    parser.add_argument("--version", action=VersionAction)
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
    schema = config_sub.add_parser(
        "schema", help="print the JSON Schema of pyframe.toml, installed plugins included")
    schema.set_defaults(func=_cmd_config_schema)

    new = sub.add_parser("new-plugin", help="create a plugin distribution from the template")
    new.add_argument("name", help="the plugin id, e.g. greeting")
    new.add_argument("--dir", dest="directory", default=".",
                     help="the folder to create pyframe-NAME in (default: this one)")
    new.add_argument("--wheelhouse", default="wheelhouse",
                     help="the wheelhouse the printed next step installs from (default: "
                          "./wheelhouse, where the README builds it)")
    new.set_defaults(func=_cmd_new_plugin)

    for cmd in (run, routes, plugins, show, schema):
        cmd.add_argument("--config", help="config file (default: pyframe.toml or pyproject.toml)")
    _add_plugin_commands(sub)
    return parser


def _add_plugin_commands(sub: argparse._SubParsersAction) -> None:
    from ..plugin.discovery import installed_plugins
    from ..plugin.manager import new_manager

    manager = new_manager()
    try:
        installed = installed_plugins()
    except PluginError:
        return  # the commands that need the plugins report it
    for pid, plugin in installed.items():
        try:
            obj = plugin.load()
        except PluginError as exc:
            # One broken plugin must not take the whole command line with it.
            print(f"warning: {exc}; its subcommands are not available", file=sys.stderr)
            continue
        if hasattr(getattr(obj, "pyframe_add_commands", None), "pyframe_impl"):
            manager.register(obj() if inspect.isclass(obj) else obj, name=pid)
    manager.hook.pyframe_add_commands(subparsers=sub)


def main(argv: Sequence[str] | None = None) -> int:
    try:
        parser = build_parser()
        args = parser.parse_args(argv)
        return int(args.func(args) or 0)
    except (ConfigError, PluginError, TargetError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
