"""The ratelimit plugin's settings: the ``[plugins.ratelimit]`` section and the middleware's arguments.

A section with nothing in it limits every route to 60 requests a minute with bursts of 10 per
client address, in this process's memory; see the README for every key.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

import msgspec
from msgspec import Meta

from pyframe.plugin import PluginConfig

from .keys import parse_key_spec
from .limits import Limit, parse_limit
from .proxies import HEADERS, TrustedProxies
from .rules import RouteRule, RuleSet
from .strategy import GcraStrategy

__all__ = ["RateLimitConfig", "RouteConfig", "build_config", "OnBackendError"]

# What a request gets when the backend cannot answer: admitted (fail open) or a 503.
OnBackendError = Literal["allow", "deny"]


class RouteConfig(PluginConfig):
    """One ``[[plugins.ratelimit.routes]]`` entry: limits (or an exemption) for a route pattern.

    ``name`` names the rule's policy in the RateLimit fields (with several limits, each is
    ``<name>-<its own name>``); ``headers`` overrides the plugin's header switch for it.
    """

    pattern: str
    limits: tuple[str, ...] = ()
    exempt: bool = False
    methods: tuple[str, ...] = ()
    key: str | None = None
    headers: bool | None = None
    name: str | None = None

    def __post_init__(self) -> None:
        # A ValueError raised here names the file and the entry (plugins.ratelimit.routes[0]).
        self.rule()

    def rule(self) -> RouteRule:
        return RouteRule(self.pattern, _named(self.limits, self.name), self.exempt,
                         self.methods, self.key, self.headers)


def _named(texts: tuple[str, ...], name: str | None) -> tuple[Limit, ...]:
    if name is None:
        return tuple(parse_limit(text) for text in texts)
    if len(texts) == 1:
        return (parse_limit(texts[0], name=name),)
    return tuple(parse_limit(text, name=f"{name}-{parse_limit(text).name}") for text in texts)


class RateLimitConfig(PluginConfig):
    """Every setting has a safe default; ``requests_per_minute`` and ``burst_size`` are the
    reference's ``RateLimitMiddleware`` arguments."""

    # The default limit, for every route no rule covers (and for requests no route matched).
    requests_per_minute: Annotated[int, Meta(ge=1, le=60_000_000)] = 60
    burst_size: Annotated[int, Meta(ge=1, le=1_000_000_000)] = 10
    # Where buckets live: memory:// (this process only) or redis://... (shared by every worker
    # and machine naming the same URL). None is memory://.
    backend: str | None = None
    # Whose bucket a request spends: 'ip', 'user', 'header:<Name>', 'function:<module>:<name>'.
    key: str = "ip"
    # Proxies whose X-Forwarded-For (or Forwarded) is believed; nobody's by default.
    trusted_proxies: tuple[str, ...] = ()
    forwarded_header: str = "x-forwarded-for"
    # IPv6 clients are keyed by their network of this prefix length (one host has many).
    ipv6_prefix: Annotated[int, Meta(ge=1, le=128)] = 64
    # Put before every bucket's key (the Redis backend adds its own prefix too).
    key_prefix: str = "ratelimit:"
    routes: tuple[RouteConfig, ...] = ()
    # RateLimit and RateLimit-Policy on admitted responses: of the app's routes, and of the
    # routes plugins add (metrics, admin pages: "internal" ones). A 429 always carries them.
    headers: bool = True
    internal_headers: bool = False
    on_backend_error: OnBackendError = "allow"

    def __post_init__(self) -> None:
        _check(self)

    def default_limit(self) -> Limit:
        return Limit.per_minute(self.requests_per_minute, self.burst_size)

    def rules(self) -> list[RouteRule]:
        return [route.rule() for route in self.routes]


def _check(config: RateLimitConfig) -> None:
    # Each check raises ValueError with the key first, as the config error then reads
    # "pyframe.toml: plugins.ratelimit: <key>: <what is wrong>".
    try:
        config.default_limit()
    except ValueError as exc:
        raise ValueError(f"requests_per_minute / burst_size: {exc}") from None
    try:
        parse_key_spec(config.key)
    except ValueError as exc:
        raise ValueError(f"key: {exc}") from None
    try:
        TrustedProxies(config.trusted_proxies)
    except ValueError as exc:
        raise ValueError(str(exc)) from None
    if config.forwarded_header.lower() not in HEADERS:
        raise ValueError(f"forwarded_header: expected one of {', '.join(HEADERS)}, got "
                         f"{config.forwarded_header!r}")
    try:
        GcraStrategy().keys_for(config.key_prefix, "default", [config.default_limit()])
    except ValueError as exc:
        raise ValueError(f"key_prefix: {exc}") from None
    try:
        RuleSet([config.default_limit()], config.rules())
    except ValueError as exc:
        raise ValueError(f"routes: {exc}") from None


def build_config(options: dict[str, Any]) -> RateLimitConfig:
    """Validate keyword arguments given to ``RateLimitMiddleware`` the way the file is."""
    try:
        return msgspec.convert(options, RateLimitConfig, strict=True)
    except msgspec.ValidationError as exc:
        raise ValueError(f"RateLimitMiddleware: {exc}") from None
