"""The cors plugin's settings: the ``[plugins.cors]`` section and the middleware's arguments.

The defaults allow nothing: no origin is allowed until one is listed.
"""

from __future__ import annotations

import re
from typing import Annotated, Any

import msgspec
from msgspec import Meta

from pyframe.plugin import PluginConfig

__all__ = ["CorsConfig", "build_config", "DEFAULT_METHODS"]

# The CORS-safelisted methods (Fetch standard): browsers send them without asking first.
DEFAULT_METHODS = ("GET", "HEAD", "POST")

# RFC 9110 token: what a method or header name may be made of.
_TOKEN = re.compile(r"^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$")
# scheme "://" host [":" port], nothing after: the serialisation of an origin.
_ORIGIN = re.compile(r"^[A-Za-z][A-Za-z0-9+.\-]*://"
                     r"(\[[0-9A-Fa-f:.]+\]|[^/?#@\[\]\s:]+)(:\d{1,5})?$")


class CorsConfig(PluginConfig):
    """``allow_*`` lists take ``"*"`` alone for "any"; origins are ``scheme://host[:port]``."""

    allow_origins: tuple[str, ...] = ()
    allow_origin_regex: str | None = None
    allow_methods: tuple[str, ...] = DEFAULT_METHODS
    allow_headers: tuple[str, ...] = ()
    allow_credentials: bool = False
    expose_headers: tuple[str, ...] = ()
    max_age: Annotated[int, Meta(ge=0)] | None = None

    def __post_init__(self) -> None:
        # msgspec turns a ValueError raised here into a validation error, so the config file's
        # message names the file and the section.
        _check(self)


def _check_wildcard(key: str, values: tuple[str, ...]) -> None:
    if "*" in values and len(values) > 1:
        raise ValueError(f"{key}: '*' means any and must be listed alone, got {list(values)}")


def _check_tokens(key: str, values: tuple[str, ...]) -> None:
    for value in values:
        if value != "*" and not _TOKEN.match(value):
            raise ValueError(f"{key}: {value!r} is not a valid HTTP token")


def _check(config: CorsConfig) -> None:
    _check_wildcard("allow_origins", config.allow_origins)
    for origin in config.allow_origins:
        if origin in ("*", "null"):
            continue
        if not _ORIGIN.match(origin):
            hint = " (drop the trailing '/')" if origin.endswith("/") else ""
            raise ValueError(f"allow_origins: {origin!r} is not an origin{hint}; an origin is "
                             f"scheme://host[:port], e.g. 'https://app.example.com'")
    if config.allow_origin_regex is not None:
        if "*" in config.allow_origins:
            raise ValueError("allow_origin_regex: allow_origins=['*'] already allows every "
                             "origin; use one or the other")
        try:
            re.compile(config.allow_origin_regex)
        except re.error as exc:
            raise ValueError(f"allow_origin_regex: {config.allow_origin_regex!r} is not a "
                             f"valid regular expression: {exc}") from None
    for key in ("allow_methods", "allow_headers", "expose_headers"):
        values = getattr(config, key)
        _check_wildcard(key, values)
        _check_tokens(key, values)
    if config.allow_credentials and "*" in config.expose_headers:
        # With credentials the Fetch standard reads '*' literally, as a header named '*'.
        raise ValueError("expose_headers: '*' does not work with allow_credentials=True "
                         "(browsers read it as a header named '*'); list the headers")


def build_config(options: dict[str, Any]) -> CorsConfig:
    """Validate keyword arguments given to ``CORSMiddleware`` the way the config file is."""
    try:
        return msgspec.convert(options, CorsConfig, strict=True)
    except msgspec.ValidationError as exc:
        raise ValueError(f"CORSMiddleware: {exc}") from None
