"""The config file: ``pyframe.toml``, ``[tool.pyframe]`` in ``pyproject.toml``, or a given path.

Environment variables ``PYFRAME_<SECTION>__<KEY>`` override single keys. Validation is strict:
an unknown key or a wrong type stops start-up with the file, the key path and the expected type.
"""

from __future__ import annotations

import os
import re
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Annotated, Any, Literal

import msgspec
from msgspec import Meta

from .errors import ConfigError

__all__ = ["Config", "ServerConfig", "LoggingConfig", "PluginConfig", "LoadedConfig",
           "load_config", "validate_section", "ENV_PREFIX"]

ENV_PREFIX = "PYFRAME_"
MiB = 1024 * 1024
Seconds = Annotated[float, Meta(gt=0)]
Count = Annotated[int, Meta(ge=1)]


class PluginConfig(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """Base for plugin config Structs: frozen, keyword-only, unknown keys refused."""


class ServerConfig(PluginConfig):
    host: str = "127.0.0.1"
    port: Annotated[int, Meta(ge=0, le=65535)] = 8000
    workers: Count = 1
    debug: bool = False
    # Request limits. Sizes in bytes, times in seconds.
    max_body_size: Annotated[int, Meta(ge=0)] = MiB
    max_line_size: Annotated[int, Meta(ge=256)] = 8190
    max_field_size: Annotated[int, Meta(ge=256)] = 8190
    max_headers: Count = 128
    backlog: Count = 1024
    max_connections: Count = 10_000
    keepalive_timeout: Seconds = 75.0
    header_timeout: Seconds = 10.0
    body_timeout: Seconds = 30.0
    # 0 turns it off (TOML has no null).
    handler_timeout: Annotated[float, Meta(ge=0)] = 60.0
    shutdown_timeout: Seconds = 30.0
    # Plain `def` handlers run in a thread pool of this size.
    sync_workers: Count = 32
    tls_cert: str | None = None
    tls_key: str | None = None


class LoggingConfig(PluginConfig):
    level: Literal["debug", "info", "warning", "error", "critical"] = "info"
    format: Literal["console", "json"] = "console"
    access_log: bool = True


class Config(PluginConfig):
    server: ServerConfig = msgspec.field(default_factory=ServerConfig)
    logging: LoggingConfig = msgspec.field(default_factory=LoggingConfig)
    # Validated per plugin against the plugin's own schema once plugins are loaded.
    plugins: dict[str, Any] = msgspec.field(default_factory=dict)


class LoadedConfig(msgspec.Struct, kw_only=True):
    config: Config
    source: str | None
    env_keys: dict[str, str]  # dotted key path -> the environment variable that set it
    # Plugin ids with a section in the file itself: environment variables override settings
    # of plugins that are on, they do not switch a plugin on (except ..._ENABLED=true).
    file_plugins: frozenset[str] = frozenset()

    def describe(self) -> str:
        return self.source or "the defaults"


def _find_file(path: str | os.PathLike[str] | None, env: Mapping[str, str]) -> tuple[Path | None, bool]:
    """The file to read and whether it is a pyproject.toml."""
    given = path if path is not None else env.get("PYFRAME_CONFIG")
    if given:
        p = Path(given)
        if not p.is_file():
            raise ConfigError(f"config file {p} does not exist")
        return p, p.name == "pyproject.toml"
    if Path("pyframe.toml").is_file():
        return Path("pyframe.toml"), False
    if Path("pyproject.toml").is_file():
        return Path("pyproject.toml"), True
    return None, False


def _parse_env_value(raw: str) -> Any:
    """Read an environment value as a TOML value (8000, true, ["a"]), else as a string."""
    try:
        return tomllib.loads(f"v = {raw}")["v"]
    except tomllib.TOMLDecodeError:
        return raw


def _apply_env(data: dict[str, Any], env: Mapping[str, str]) -> dict[str, str]:
    applied = {}
    for name, raw in env.items():
        if not name.startswith(ENV_PREFIX) or "__" not in name:
            continue
        keys = [k.lower() for k in name[len(ENV_PREFIX):].split("__")]
        if not all(keys):
            raise ConfigError(f"environment variable {name}: empty key in its name")
        target = data
        for key in keys[:-1]:
            target = target.setdefault(key, {})
            if not isinstance(target, dict):
                raise ConfigError(f"environment variable {name}: {'.'.join(keys[:-1])} is not a table")
        target[keys[-1]] = _parse_env_value(raw)
        applied[".".join(keys)] = name
    return applied


def load_config(path: str | os.PathLike[str] | None = None,
                env: Mapping[str, str] | None = None) -> LoadedConfig:
    env = os.environ if env is None else env
    file, is_pyproject = _find_file(path, env)
    data: dict[str, Any] = {}
    source = None
    if file is not None:
        try:
            raw = tomllib.loads(file.read_text(encoding="utf-8"))
        except tomllib.TOMLDecodeError as exc:
            raise ConfigError(f"{file}: not valid TOML: {exc}") from None
        except (OSError, UnicodeDecodeError) as exc:
            raise ConfigError(f"{file}: cannot be read: {exc}") from None
        if is_pyproject:
            data = raw.get("tool", {}).get("pyframe", {})
            source = f"{file} [tool.pyframe]" if data else None
        else:
            data, source = raw, str(file)
    plugins = data.get("plugins")
    file_plugins = frozenset(plugins) if isinstance(plugins, dict) else frozenset()
    env_keys = _apply_env(data, env)
    config = validate_section(Config, data, "", source or "the environment", env_keys)
    return LoadedConfig(config=config, source=source, env_keys=env_keys,
                        file_plugins=file_plugins)


_LOCATION = re.compile(r" - at `\$(?P<path>[^`]*)`$")
_EXPECTED = re.compile(r"^Expected `(?P<want>[^`]+)`, got `(?P<got>[^`]+)`")
_UNKNOWN = re.compile(r"^Object contains unknown field `(?P<field>[^`]+)`")


def validate_section(schema: type[Any], data: Any, prefix: str, source: str,
                     env_keys: Mapping[str, str] | None = None) -> Any:
    """Convert ``data`` to ``schema`` strictly; errors name the source, key path and type."""
    try:
        return msgspec.convert(data, schema, strict=True)
    except msgspec.ValidationError as exc:
        raise ConfigError(_explain(str(exc), schema, prefix, source, env_keys or {})) from None


def _explain(message: str, schema: type[Any], prefix: str, source: str,
             env_keys: Mapping[str, str]) -> str:
    m = _LOCATION.search(message)
    where = _dotted(m.group("path")) if m else ""
    text = message[: m.start()] if m else message
    path = ".".join(p for p in (prefix, where) if p)
    unknown = _UNKNOWN.match(text)
    if unknown:
        key = f"{path}.{unknown.group('field')}" if path else unknown.group("field")
        struct = _type_at(schema, where)
        allowed = [f.encode_name for f in struct.fields] if isinstance(
            struct, msgspec.inspect.StructType) else []
        hint = f" (known keys: {', '.join(allowed)})" if allowed else ""
        detail = f"{key}: unknown key{hint}"
        path = key
    else:
        expected = _EXPECTED.match(text)
        if expected:
            text = f"expected {expected.group('want')}, got {expected.group('got')}"
        else:
            text = text[0].lower() + text[1:] if text else text
        choices = _literal_values(_type_at(schema, where))
        if choices and text.startswith("invalid enum value"):
            text += f" (expected one of: {', '.join(map(str, choices))})"
        detail = f"{path or '(top level)'}: {text}"
    origin = env_keys.get(path)
    if origin:
        return f"{source}: {detail} (set by environment variable {origin})"
    return f"{source}: {detail}"


def _dotted(json_path: str) -> str:
    # msgspec paths look like `.server.port` or `.codecs[1]`.
    return json_path.lstrip(".")


def _type_at(schema: type[Any], dotted: str) -> Any:
    """The msgspec.inspect type at a key path (`codecs[1]` is the item type of `codecs`)."""
    current: Any = msgspec.inspect.type_info(schema)
    for part in filter(None, re.split(r"\.|(?=\[)", dotted)):
        current = _strip_optional(current)
        if part.startswith("["):
            current = getattr(current, "item_type", None) or getattr(current, "value_type", None)
        elif isinstance(current, msgspec.inspect.StructType):
            current = next((f.type for f in current.fields if f.encode_name == part), None)
        elif isinstance(current, msgspec.inspect.DictType):
            current = current.value_type
        else:
            return None
        if current is None:
            return None
    return _strip_optional(current)


def _strip_optional(kind: Any) -> Any:
    if isinstance(kind, msgspec.inspect.UnionType):
        rest = [t for t in kind.types if not isinstance(t, msgspec.inspect.NoneType)]
        if len(rest) == 1:
            return rest[0]
    return kind


def _literal_values(kind: Any) -> tuple[Any, ...]:
    if isinstance(kind, msgspec.inspect.LiteralType):
        return kind.values
    if isinstance(kind, msgspec.inspect.EnumType):
        return tuple(member.value for member in kind.cls)
    return ()
