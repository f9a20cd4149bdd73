"""The ``redis://``, ``rediss://`` and ``unix://`` entry points: URL checks and client settings.

This module is what the entry points load; checking a URL imports nothing of redis-py's and
opens no connection.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Any, Literal
from urllib.parse import SplitResult

from msgspec import Meta

from pyframe.backends import BackendOptions, InvalidBackendURL, parse_options, redact_url, split_url

if TYPE_CHECKING:
    from .backend import RedisBackend

__all__ = ["RedisOptions", "check_url", "create", "parse_url", "SCHEMES"]

SCHEMES = ("redis", "rediss", "unix")
_TLS_OPTIONS = ("ssl_ca_certs", "ssl_certfile", "ssl_keyfile", "ssl_cert_reqs",
                "ssl_check_hostname")


class RedisOptions(BackendOptions, frozen=True, kw_only=True, forbid_unknown_fields=True):
    # Put before every key, channel and stream, so apps (and tests) can share one Redis.
    prefix: Annotated[str, Meta(max_length=200, pattern=r"^\S*$")] = "pyframe:"
    # The command connection pool's size; a call waits at most ``timeout`` for a connection.
    max_connections: Annotated[int, Meta(ge=1, le=10_000)] = 32
    # Seconds before reconnecting: doubling from reconnect_min up to reconnect_max.
    reconnect_min: Annotated[float, Meta(gt=0, le=60)] = 0.1
    reconnect_max: Annotated[float, Meta(gt=0, le=600)] = 5.0
    # Seconds between PINGs on the pub/sub connection; no answer by the next one means it is
    # dead, even when the network dropped it silently.
    ping_interval: Annotated[float, Meta(gt=0, le=300)] = 5.0
    # unix:// only (redis:// and rediss:// take the database from the path).
    db: Annotated[int, Meta(ge=0, le=100_000)] | None = None
    # rediss:// only.
    ssl_ca_certs: str | None = None
    ssl_certfile: str | None = None
    ssl_keyfile: str | None = None
    ssl_cert_reqs: Literal["required", "optional", "none"] = "required"
    ssl_check_hostname: bool = True


def _check_parts(url: str, parts: SplitResult, options: RedisOptions, raw_query: str) -> None:
    shown = redact_url(url)
    scheme = parts.scheme.lower()
    given = {pair.split("=", 1)[0] for pair in raw_query.split("&") if pair}
    if scheme == "unix":
        if not parts.path or parts.path == "/":
            raise InvalidBackendURL(f"{shown}: a unix:// URL names the socket's path, e.g. "
                                    "'unix:///run/redis/redis.sock?db=0'")
        if parts.hostname:
            raise InvalidBackendURL(f"{shown}: a unix:// URL takes no host; write "
                                    "'unix:///path/to/redis.sock' (three slashes)")
    else:
        if not parts.hostname:
            raise InvalidBackendURL(f"{shown}: no host; e.g. '{scheme}://127.0.0.1:6379/0'")
        path = parts.path.strip("/")
        if path and not (path.isdigit() and path.isascii()):
            raise InvalidBackendURL(f"{shown}: the path is the database number "
                                    f"('/0' to '/15' usually), got '/{path}'")
        if options.db is not None:
            raise InvalidBackendURL(f"{shown}: option 'db' is for unix:// URLs; "
                                    f"{scheme}:// takes the database from the path ('/1')")
    tls = sorted(given & set(_TLS_OPTIONS))
    if tls and scheme != "rediss":
        raise InvalidBackendURL(f"{shown}: option {tls[0]!r} needs TLS: use rediss://")
    if options.reconnect_min > options.reconnect_max:
        raise InvalidBackendURL(f"{shown}: reconnect_min ({options.reconnect_min}) is more "
                                f"than reconnect_max ({options.reconnect_max})")


def parse_url(url: str) -> tuple[str, RedisOptions]:
    """The URL for redis-py (our query parameters removed) and the validated options."""
    parts = split_url(url)
    if parts.scheme.lower() not in SCHEMES:
        raise InvalidBackendURL(f"{redact_url(url)}: not a redis://, rediss:// or unix:// URL")
    options = parse_options(url, parts.query, RedisOptions)
    _check_parts(url, parts, options, parts.query)
    # Everything before '?' as written (urlunsplit would turn unix:///p into unix:/p).
    return url.partition("?")[0], options


def check_url(url: str) -> None:
    parse_url(url)


def create(url: str) -> RedisBackend:
    from .backend import RedisBackend  # redis-py is imported only to build a backend

    base, options = parse_url(url)
    return RedisBackend(url, base, options)


def client_kwargs(options: RedisOptions, scheme: str) -> dict[str, Any]:
    """Settings for redis-py's pool and connections; ``timeout`` bounds every wait."""
    kwargs: dict[str, Any] = {
        "max_connections": options.max_connections,
        "timeout": options.timeout,  # waiting for a free connection from the pool
        "socket_timeout": options.timeout,
        "socket_connect_timeout": options.timeout,
        "health_check_interval": 0,
        "decode_responses": False,
        # RESP2 everywhere: the replies (pub/sub messages, script results) have one shape
        # whatever redis-py's default protocol is.
        "protocol": 2,
        "client_name": "pyframe",
    }
    if options.db is not None:
        kwargs["db"] = options.db
    if scheme != "unix":
        kwargs["socket_keepalive"] = True  # the kernel notices a vanished peer eventually
    if scheme == "rediss":
        kwargs.update({name: getattr(options, name) for name in _TLS_OPTIONS})
    return kwargs
