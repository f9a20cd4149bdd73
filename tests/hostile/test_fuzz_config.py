"""Property tests of config loading: whatever a config file holds, ``load_config(path)``
returns a config or raises ``ConfigError`` naming the file, nothing else; an app built from a
config that loaded fails only with ``ConfigError`` or ``PluginError``.
"""

from __future__ import annotations

import datetime
import json
import math
import os
from pathlib import Path

from hypothesis import given
from hypothesis import strategies as st

from pyframe import ConfigError, PluginError, PyFrameApp
from pyframe.config import load_config

from .fuzzing import FUZZ

SERVER_KEYS = ["host", "port", "workers", "debug", "max_body_size", "max_line_size",
               "max_field_size", "max_headers", "backlog", "max_connections",
               "keepalive_timeout", "header_timeout", "body_timeout", "handler_timeout",
               "shutdown_timeout", "sync_workers", "tls_cert", "tls_key", "unknown_key"]
LOGGING_KEYS = ["level", "format", "access_log", "colour"]
# The plugins of this workspace that are done, plus ids nothing provides.
PLUGIN_KEYS = {
    "cors": ["allow_origins", "allow_methods", "allow_headers", "allow_credentials",
             "allow_origin_regex", "expose_headers", "max_age", "enabled"],
    "compression": ["minimum_size", "compression_level", "codecs", "brotli_quality",
                    "zstd_level", "exclude_media_types", "compress_streams",
                    "thread_threshold", "enabled"],
    "metrics": ["enabled", "path"],
    "not-installed": ["enabled", "anything"],
}

scalars = st.one_of(
    st.booleans(), st.integers(min_value=-(2 ** 70), max_value=2 ** 70),
    st.floats(allow_nan=True, allow_infinity=True), st.text(max_size=30),
    st.sampled_from(["debug", "json", "console", "*", "https://a.example", "gzip", "br",
                     "[a-z", "127.0.0.1", "0.0.0.0", "", "null", "GET"]),
    st.datetimes(min_value=datetime.datetime(1900, 1, 1), max_value=datetime.datetime(2100, 1, 1)))
values = st.recursive(scalars, lambda inner: st.one_of(
    st.lists(inner, max_size=4), st.dictionaries(st.text(max_size=8), inner, max_size=3)),
    max_leaves=8)


def toml_value(value) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        if math.isnan(value):
            return "nan"
        if math.isinf(value):
            return "inf" if value > 0 else "-inf"
        return repr(value)
    if isinstance(value, int):
        return str(value)
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)  # not always valid TOML: fine too
    if isinstance(value, datetime.datetime):
        return value.isoformat()
    if isinstance(value, list):
        return "[" + ", ".join(toml_value(v) for v in value) + "]"
    return "{" + ", ".join(f"{json.dumps(k)} = {toml_value(v)}" for k, v in value.items()) + "}"


def table(name: str, keys: list[str]):
    return st.dictionaries(st.sampled_from(keys), values, max_size=5).map(
        lambda entries: f"[{name}]\n" + "".join(f"{k} = {toml_value(v)}\n"
                                                for k, v in entries.items()))


documents = st.lists(st.one_of(
    table("server", SERVER_KEYS), table("logging", LOGGING_KEYS),
    *(table(f"plugins.{pid}", keys) for pid, keys in PLUGIN_KEYS.items()),
    st.text(max_size=40)), max_size=5).map("\n".join)


def check(path: Path) -> None:
    try:
        load_config(path)
    except ConfigError as exc:
        assert str(path) in str(exc) or "environment variable" in str(exc), str(exc)
        return
    try:
        PyFrameApp(config=str(path)).build()
    except (ConfigError, PluginError) as exc:
        assert str(exc)


@FUZZ
@given(text=st.text(max_size=300))
def test_any_text_loads_or_is_a_config_error(tmp_path, text):
    path = tmp_path / "pyframe.toml"
    path.write_text(text, encoding="utf-8")
    check(path)


@FUZZ
@given(data=st.binary(max_size=300))
def test_any_bytes_load_or_are_a_config_error(tmp_path, data):
    path = tmp_path / "pyframe.toml"
    path.write_bytes(data)
    check(path)


@FUZZ
@given(document=documents)
def test_any_document_loads_or_is_a_config_error(tmp_path, document):
    path = tmp_path / "pyframe.toml"
    path.write_text(document, encoding="utf-8")
    check(path)


@FUZZ
@given(key=st.sampled_from(SERVER_KEYS + ["", "a__b"]), raw=st.text(max_size=30).filter(
    lambda v: "\x00" not in v))
def test_any_environment_override_loads_or_is_a_config_error(tmp_path, key, raw):
    path = tmp_path / "pyframe.toml"
    path.write_text("[server]\nport = 8000\n")
    name = f"PYFRAME_SERVER__{key.upper()}"
    os.environ[name] = raw
    try:
        check(path)
    finally:
        del os.environ[name]
