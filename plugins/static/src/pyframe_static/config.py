"""The static plugin's settings: ``[plugins.static]`` mounts and the options of one mount.

A mount comes from the config file (``mounts = [{ path = "/assets/", directory = "assets" }]``)
or from code (``app.add_static_path('/static/', 'static/', headers={...}, index=False)``); both
are validated by the same Struct so the two spellings take the same options.
"""

from __future__ import annotations

import re
from typing import Annotated, Any

import msgspec
from msgspec import Meta
from pyframe.plugin import ConfigError, PluginConfig, validate_section

__all__ = ["MountConfig", "StaticConfig", "check_mount", "mount_from_code"]

UrlPath = Annotated[str, Meta(pattern=r"^/", min_length=1)]
_TOKEN = re.compile(r"^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$")
# Headers that describe the bytes on the wire: the file decides these, never a mount.
_FRAMING = frozenset({"content-length", "content-range", "content-encoding",
                      "transfer-encoding", "etag", "last-modified"})


class MountConfig(PluginConfig):
    """One folder served under a URL prefix."""

    path: UrlPath
    directory: Annotated[str, Meta(min_length=1)]
    # Added to every file response of this mount (200, 206 and 304), e.g. Cache-Control.
    headers: dict[str, str] = msgspec.field(default_factory=dict)
    # Serve <dir>/index.html for a request to a directory (never a generated listing).
    index: bool = True
    # Serve files and folders whose name starts with a dot (.env, .git/...). Off: they are 404.
    hidden: bool = False


class StaticConfig(PluginConfig):
    mounts: list[MountConfig] = msgspec.field(default_factory=list)


def mount_from_code(url_path: str, directory: str, headers: dict[str, str],
                    options: dict[str, Any]) -> MountConfig:
    """Validate a mount declared with ``app.add_static_path``."""
    where = f"app.add_static_path({url_path!r}, {directory!r})"
    data = {"path": url_path, "directory": directory, "headers": headers, **options}
    return validate_section(MountConfig, data, "", where)


def check_mount(mount: MountConfig, where: str) -> str:
    """Check what msgspec cannot and return the URL prefix, always ending in ``/``."""
    if "<" in mount.path or ">" in mount.path:
        raise ConfigError(f"{where}.path: a static URL prefix cannot hold route parameters, "
                          f"got {mount.path!r}")
    if any(c in mount.path for c in "?#\\\x00") or "//" in mount.path:
        raise ConfigError(f"{where}.path: expected a plain URL path like '/static/', "
                          f"got {mount.path!r}")
    for name, value in mount.headers.items():
        if not _TOKEN.match(name):
            raise ConfigError(f"{where}.headers: {name!r} is not a valid header name")
        if any(c in value for c in "\r\n\x00"):
            raise ConfigError(f"{where}.headers.{name}: a header value cannot hold CR, LF or NUL")
        if name.lower() in _FRAMING:
            raise ConfigError(f"{where}.headers.{name}: set from the file itself, "
                              f"a mount cannot override it")
    return mount.path if mount.path.endswith("/") else mount.path + "/"
