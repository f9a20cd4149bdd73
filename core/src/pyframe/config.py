"""The config file: ``pyframe.toml``, ``[tool.pyframe]`` in ``pyproject.toml``, or a given path.

Environment variables ``PYFRAME_<SECTION>__<KEY>`` override single keys. Validation is strict:
an unknown key, a wrong type or a value out of bounds stops start-up with the file, the key path,
what was expected and what was found. :func:`config_json_schema` gives the same rules to editors.
"""

from __future__ import annotations

import copy
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
           "load_config", "validate_section", "validate_plugin_section", "toml_type",
           "config_json_schema", "ENV_PREFIX", "SCHEMA_DIALECT"]

ENV_PREFIX = "PYFRAME_"
SCHEMA_DIALECT = "https://json-schema.org/draft/2020-12/schema"
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
    # The whole head (request line and headers), and a chunked body's framing beyond its data
    # (chunk extensions, trailers): counted as the bytes arrive.
    max_head_size: Annotated[int, Meta(ge=1024)] = 64 * 1024
    backlog: Count = 1024
    max_connections: Count = 10_000
    keepalive_timeout: Seconds = 75.0
    header_timeout: Seconds = 10.0
    body_timeout: Seconds = 30.0
    # A body must average this many bytes a second once body_timeout has passed; 0 turns it off.
    body_min_rate: Annotated[float, Meta(ge=0)] = 1024.0
    # A response whose bytes the client does not take for this long is cut.
    send_timeout: Seconds = 30.0
    # gzip, deflate, br and zstd request bodies decoded (off: 415 for any Content-Encoding).
    decompress_bodies: bool = True
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
    # dotted key path -> the environment variable that set it (or CODE_ORIGIN for settings
    # given in code that the file does not override)
    env_keys: dict[str, str]
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


# The origin recorded for a key set by ``PyFrameApp(settings=...)``.
CODE_ORIGIN = "PyFrameApp(settings=...)"


def _dotted_keys(data: Mapping[str, Any], prefix: str = "") -> list[str]:
    keys = []
    for key, value in data.items():
        path = f"{prefix}.{key}" if prefix else str(key)
        keys.append(path)
        if isinstance(value, Mapping):
            keys.extend(_dotted_keys(value, path))
    return keys


def _merged(base: Mapping[str, Any], over: Mapping[str, Any]) -> dict[str, Any]:
    """``over`` on top of ``base``, tables merged key by key."""
    out = {k: _merged(v, {}) if isinstance(v, Mapping) else v for k, v in base.items()}
    for key, value in over.items():
        if isinstance(value, Mapping) and isinstance(out.get(key), dict):
            out[key] = _merged(out[key], value)
        else:
            out[key] = _merged(value, {}) if isinstance(value, Mapping) else value
    return out


def load_config(path: str | os.PathLike[str] | None = None,
                env: Mapping[str, str] | None = None,
                settings: Mapping[str, Any] | None = None) -> LoadedConfig:
    """The config: ``settings`` (given in code, shaped like the file) below the file's keys,
    the environment's ``PYFRAME_<SECTION>__<KEY>`` variables above them."""
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
    code_keys: dict[str, str] = {}
    if settings:
        from_file = set(_dotted_keys(data))
        code_keys = {k: CODE_ORIGIN for k in _dotted_keys(settings) if k not in from_file}
        data = _merged(settings, data)
    plugins = data.get("plugins")
    file_plugins = frozenset(plugins) if isinstance(plugins, dict) else frozenset()
    env_keys = _apply_env(data, env)
    env_keys = {**code_keys, **env_keys}
    config = validate_section(Config, data, "", source or "the environment", env_keys)
    return LoadedConfig(config=config, source=source, env_keys=env_keys,
                        file_plugins=file_plugins)


_LOCATION = re.compile(r" - at `\$(?P<path>[^`]*)`$")
_EXPECTED = re.compile(r"^Expected `(?P<want>[^`]+)`, got `(?P<got>[^`]+)`")
_BOUND = re.compile(r"^Expected `(?P<want>[^`]+)` (?P<bound>.+)$")
_UNKNOWN = re.compile(r"^Object contains unknown field `(?P<field>[^`]+)`")
_MISSING = re.compile(r"^Object missing required field `(?P<field>[^`]+)`")
# msgspec's names for what a value is, in the words of a TOML file.
_TOML_NAMES = {"object": "table"}
_NOT_FOUND = object()


def validate_section(schema: type[Any], data: Any, prefix: str, source: str,
                     env_keys: Mapping[str, str] | None = None) -> Any:
    """Convert ``data`` to ``schema`` strictly; errors name the source, key path and type.

    One wording for every error: ``<source>: <key path>: expected <what>, got <what>``, as in
    ``expected int, got str`` and ``expected int >= 1, got 0``. A string out of bounds is never
    quoted back (it may be a secret): a length error gives its length.
    """
    try:
        return msgspec.convert(data, schema, strict=True)
    except msgspec.ValidationError as exc:
        raise ConfigError(_explain(str(exc), schema, data, prefix, source,
                                   env_keys or {})) from None


def validate_plugin_section(plugin_id: str, schema: type[Any] | None, options: dict[str, Any],
                            source: str, env_keys: Mapping[str, str] | None = None) -> Any:
    """One plugin's ``[plugins.<id>]`` settings (without ``enabled``), validated against its
    schema; a plugin whose schema is None takes no settings."""
    if schema is None:
        if options:
            raise ConfigError(f"{source}: plugins.{plugin_id}: plugin {plugin_id!r} takes no "
                              f"settings, got {', '.join(sorted(options))}")
        return None
    return validate_section(schema, options, f"plugins.{plugin_id}", source, env_keys)


def toml_type(value: Any) -> str:
    """What a value read from TOML is, named as config errors name it (``table``, ``array``)."""
    if isinstance(value, dict):
        return "table"
    if isinstance(value, list):
        return "array"
    return type(value).__name__


def _explain(message: str, schema: type[Any], data: Any, prefix: str, source: str,
             env_keys: Mapping[str, str]) -> str:
    m = _LOCATION.search(message)
    where = _dotted(m.group("path")) if m else ""
    text = message[: m.start()] if m else message
    path = ".".join(p for p in (prefix, where) if p)
    unknown = _UNKNOWN.match(text)
    missing = _MISSING.match(text)
    if unknown:
        key = f"{path}.{unknown.group('field')}" if path else unknown.group("field")
        struct = _type_at(schema, where)
        allowed = [f.encode_name for f in struct.fields] if isinstance(
            struct, msgspec.inspect.StructType) else []
        hint = f" (known keys: {', '.join(allowed)})" if allowed else ""
        detail = f"{key}: unknown key{hint}"
        path = key
    elif missing:
        path = f"{path}.{missing.group('field')}" if path else missing.group("field")
        detail = f"{path}: missing (this key is required)"
    else:
        expected = _EXPECTED.match(text)
        bound = _BOUND.match(text)
        if expected:
            text = f"expected {_kind(expected.group('want'))}, got {_kind(expected.group('got'))}"
        elif bound:
            text = f"expected {_kind(bound.group('want'))} {bound.group('bound')}"
            got = _got(_value_at(data, where), bound.group("bound"))
            text += f", got {got}" if got else ""
        else:
            text = text[0].lower() + text[1:] if text else text
        choices = _literal_values(_type_at(schema, where))
        if choices and text.startswith("invalid enum value"):
            text += f" (expected one of: {', '.join(map(str, choices))})"
        detail = f"{path or '(top level)'}: {text}"
    origin = env_keys.get(path)
    if origin == CODE_ORIGIN:
        return f"{source}: {detail} (set in code, {CODE_ORIGIN})"
    if origin:
        return f"{source}: {detail} (set by environment variable {origin})"
    return f"{source}: {detail}"


def _kind(name: str) -> str:
    # TOML has no null, so `str | null` is a str that may be left out.
    names = [_TOML_NAMES.get(n, n) for n in name.split(" | ") if n != "null"]
    return " | ".join(names) or name


def _value_at(data: Any, dotted: str) -> Any:
    """The value at a key path of the data that failed (`codecs[1]`), or _NOT_FOUND."""
    current = data
    for part in filter(None, re.split(r"\.|(?=\[)", dotted)):
        if part.startswith("["):
            index = part[1:-1]
            if not index.isdigit() or not isinstance(current, list) or \
                    int(index) >= len(current):
                return _NOT_FOUND
            current = current[int(index)]
        elif isinstance(current, dict) and part in current:
            current = current[part]
        else:
            return _NOT_FOUND
    return current


def _got(value: Any, bound: str) -> str | None:
    """What a value out of bounds was: a number as it is, a length, never a string's text."""
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return repr(value)
    if bound.startswith("of length") and isinstance(value, (str, list, dict)):
        return f"length {len(value)}"
    if isinstance(value, str):
        return "a str that does not match"
    return None


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


def config_json_schema(plugins: Mapping[str, type[Any] | None]) -> dict[str, Any]:
    """One JSON Schema (Draft 2020-12) of a whole ``pyframe.toml``, for editors.

    ``plugins`` maps each installed plugin's id to its config schema (None for a plugin without
    settings). Each ``[plugins.<id>]`` section takes its settings and the ``enabled`` switch; a
    section for a plugin not installed passes only with ``enabled = false``, as at start-up.
    Unknown keys fail everywhere (``additionalProperties: false``), as they do at start-up.
    """
    ids = sorted(plugins)
    kinds = [ServerConfig, LoggingConfig, *(plugins[i] for i in ids if plugins[i] is not None)]
    refs, defs = msgspec.json.schema_components(kinds, ref_template="#/$defs/{name}")
    server, logging, *plugin_refs = refs
    enabled = {"type": "boolean", "default": True,
               "description": "false switches the plugin off and keeps its settings"}
    sections: dict[str, Any] = {}
    for pid in ids:
        if plugins[pid] is None:
            section: dict[str, Any] = {"type": "object", "additionalProperties": False}
        else:
            ref = plugin_refs.pop(0)
            # A copy, so `enabled` joins this section without changing a shared definition.
            name = ref.get("$ref", "").rpartition("/")[2]
            section = copy.deepcopy(defs[name] if name in defs else ref)
        section["title"] = f"[plugins.{pid}]"
        section["properties"] = {"enabled": enabled, **section.get("properties", {})}
        sections[pid] = section
    not_installed = {
        "type": "object", "required": ["enabled"],
        "properties": {"enabled": {"const": False}},
        "description": "a plugin not installed here: pyframe starts only if it is switched off"}
    return {
        "$schema": SCHEMA_DIALECT,
        "title": "pyframe.toml",
        "description": "pyframe's config file; generated by `pyframe config schema`",
        "type": "object",
        "properties": {
            "server": server, "logging": logging,
            "plugins": {"type": "object", "properties": sections,
                        "additionalProperties": not_installed},
        },
        "additionalProperties": False,
        "$defs": defs,
    }
