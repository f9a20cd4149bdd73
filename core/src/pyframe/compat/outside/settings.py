"""The ``config`` dict of an ``outside`` server: its keys and defaults, their validation, and the
pyframe ``[server]`` settings they become. Pure: no pyframe import.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Annotated, Any

import msgspec
from msgspec import Meta

__all__ = ["OutsideSettings", "default_config", "read_settings", "server_section",
           "IGNORED_KEYS", "MiB"]

MiB = 1024 * 1024
Seconds = Annotated[float, Meta(ge=0)]
Positive = Annotated[float, Meta(gt=0)]

# Keys that meant something to outside's process-per-connection server and have no
# counterpart on aiohttp's: accepted (so an outside app's config still loads), not used.
IGNORED_KEYS = ("recv_size", "send_size", "keep_alive", "accept_timeout",
                "allow_range_from_mb", "big_definition_mb", "big_send_limit_mb")


class OutsideSettings(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """Every key of outside 1.5.5's ``config``, with its default; see
    docs/migrating-from-outside.md for what each becomes."""

    host: tuple[str, Annotated[int, Meta(ge=0, le=65535)]] = ("0.0.0.0", 80)
    backlog_length: Annotated[int, Meta(ge=1)] = 50
    max_workers: Annotated[int, Meta(ge=1)] = 150
    process_timeout: Seconds = 60.0
    termination_timeout: Positive = 5.0
    recv_size: int = 1024
    send_size: int = 1024
    keep_alive: bool = True
    ssl_enabled: bool = False
    ssl_keyfile: str = ""
    ssl_certfile: str = ""
    accept_timeout: float = 1.0
    max_body_size_mb: Annotated[float, Meta(ge=0)] = 250.0
    allow_range_from_mb: float = 50.0
    big_definition_mb: float = 50.0
    big_send_limit_mb: float = 100.0
    post_callback: Any = None
    pre_send: Any = None
    server_cleanup: Any = None

    def __post_init__(self) -> None:
        for key in ("post_callback", "pre_send", "server_cleanup"):
            value = getattr(self, key)
            if value is not None and not callable(value):
                raise ValueError(f"{key} must be a function or None, got "
                                 f"{type(value).__name__}")
        if self.ssl_enabled and not (self.ssl_certfile and self.ssl_keyfile):
            raise ValueError("ssl_enabled needs ssl_certfile and ssl_keyfile")


def default_config(host: tuple[str, int]) -> dict[str, Any]:
    """A fresh ``config`` dict as outside builds it, with ``host`` filled in."""
    config = msgspec.structs.asdict(OutsideSettings())
    config["host"] = host
    return config


def read_settings(config: Mapping[str, Any]) -> OutsideSettings:
    """Validate the ``config`` dict strictly; the error names the key and what was expected."""
    try:
        return msgspec.convert(dict(config), OutsideSettings, strict=True)
    except msgspec.ValidationError as exc:
        raise ValueError(f"config: {_explain(str(exc))}") from None


def _explain(message: str) -> str:
    # msgspec says "Expected `int`, got `str` - at `$.backlog_length`"; name the key first.
    text, _, where = message.partition(" - at `$")
    key = where.rstrip("`").lstrip(".")
    if text.startswith("Object contains unknown field"):
        known = ", ".join(f.name for f in msgspec.structs.fields(OutsideSettings))
        return f"{text.split('`')[1]!r} is not an outside setting (known: {known})"
    return f"{key}: {text[0].lower()}{text[1:]}" if key else text


def server_section(settings: OutsideSettings) -> dict[str, Any]:
    """The pyframe ``[server]`` settings that carry the same meaning (TLS goes separately:
    the certificate and key files are handed to the server, not written here)."""
    host, port = settings.host
    section: dict[str, Any] = {
        "host": host,
        "port": port,
        "backlog": settings.backlog_length,
        # outside ran at most max_workers requests at once (one process each); pyframe runs
        # plain `def` handlers on that many threads.
        "sync_workers": settings.max_workers,
        "shutdown_timeout": settings.termination_timeout,
        # Bodies are counted in bytes by pyframe; outside counted MB of 1024 * 1024.
        "max_body_size": math.floor(settings.max_body_size_mb * MiB),
        # 0 switches the handler deadline off; pyframe's other timeouts must stay positive.
        "handler_timeout": settings.process_timeout,
    }
    if settings.process_timeout > 0:
        # outside cut a connection after process_timeout without a byte either way: an idle
        # kept-alive connection, or an upload gone silent.
        section["keepalive_timeout"] = settings.process_timeout
        section["body_timeout"] = settings.process_timeout
    return section


