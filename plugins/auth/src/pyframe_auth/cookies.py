"""The session cookie's name and attributes, and the exact ``Set-Cookie`` text they make.

The text is measured before it is sent: browsers drop a cookie over 4 096 bytes (name, value and
attributes together, RFC 6265 §6.1) without telling anyone, so a cookie that would not fit is an
error here instead.
"""

from __future__ import annotations

import re
from typing import Any, Literal

import msgspec

__all__ = ["CookieSettings", "CookieTooLarge", "HOST_PREFIX", "MAX_COOKIE_BYTES"]

MAX_COOKIE_BYTES = 4096
HOST_PREFIX = "__Host-"
# RFC 6265 §4.1.1: a cookie name is an RFC 2616 token.
_TOKEN = re.compile(r"[!#$%&'*+\-.^_`|~0-9A-Za-z]+")
# Cookie-octets (RFC 6265 §4.1.1): what a value may hold without quoting.
_COOKIE_OCTETS = re.compile(r"[\x21\x23-\x2B\x2D-\x3A\x3C-\x5B\x5D-\x7E]*")
_HOST = re.compile(r"\.?[A-Za-z0-9](?:[A-Za-z0-9.\-]*[A-Za-z0-9])?")
_EPOCH = "Thu, 01 Jan 1970 00:00:00 GMT"


class CookieTooLarge(ValueError):
    """A ``Set-Cookie`` over the browser limit; carries sizes, never the cookie."""

    def __init__(self, size: int, limit: int) -> None:
        super().__init__(f"the session cookie would be {size} bytes; browsers drop cookies over "
                         f"{limit} bytes (name, value and attributes). Store less in the "
                         f"session, or use a server-side session backend")
        self.size = size
        self.limit = limit


class CookieSettings(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """How the session cookie is set. ``secure=None`` means Secure exactly when the request came
    over TLS; ``host_prefix`` names it ``__Host-<name>`` (Secure, ``Path=/``, no Domain: a
    subdomain cannot plant or overwrite it)."""

    name: str = "session"
    path: str = "/"
    domain: str | None = None
    secure: bool | None = None
    http_only: bool = True
    same_site: Literal["Lax", "Strict", "None"] = "Lax"
    host_prefix: bool = False

    def __post_init__(self) -> None:
        if not _TOKEN.fullmatch(self.name):
            raise ValueError(f"cookie name {self.name!r} is not an HTTP token")
        if not self.path.startswith("/") or ";" in self.path:
            raise ValueError(f"cookie path {self.path!r} must start with '/' and hold no ';'")
        if self.domain is not None and not _HOST.fullmatch(self.domain):
            raise ValueError(f"cookie domain {self.domain!r} is not a host name")
        if self.host_prefix:
            if self.path != "/" or self.domain is not None or self.secure is False:
                raise ValueError("a __Host- cookie needs path '/', no domain, and secure "
                                 "left on (browsers refuse it otherwise)")
        if self.same_site == "None" and self.secure is False:
            raise ValueError("SameSite=None needs Secure (browsers refuse it otherwise)")

    @property
    def cookie_name(self) -> str:
        """The name on the wire, prefix included."""
        return HOST_PREFIX + self.name if self.host_prefix else self.name

    def is_secure(self, tls: bool) -> bool:
        if self.host_prefix or self.same_site == "None":
            return True
        return tls if self.secure is None else self.secure

    def attributes(self, *, max_age: int, tls: bool) -> dict[str, Any]:
        """Keyword arguments for the core's ``Response.set_cookie``."""
        return {"max_age": max_age, "path": self.path, "domain": self.domain,
                "secure": self.is_secure(tls), "http_only": self.http_only,
                "same_site": self.same_site}

    def set_cookie(self, value: str, *, max_age: int, tls: bool,
                   limit: int = MAX_COOKIE_BYTES) -> str:
        """The ``Set-Cookie`` header value; CookieTooLarge when it exceeds ``limit`` bytes."""
        if not _COOKIE_OCTETS.fullmatch(value):
            raise ValueError("a cookie value holds only cookie-octets (no space, quote, comma, "
                             "semicolon or backslash)")
        text = self._format(value, f"Max-Age={max_age}", tls)
        size = len(text.encode())
        if size > limit:
            raise CookieTooLarge(size, limit)
        return text

    def delete_cookie(self, *, tls: bool) -> str:
        """The ``Set-Cookie`` value that removes the cookie (same name, path and domain)."""
        return self._format("", f"Max-Age=0; Expires={_EPOCH}", tls)

    def _format(self, value: str, lifetime: str, tls: bool) -> str:
        parts = [f"{self.cookie_name}={value}", lifetime, f"Path={self.path}"]
        if self.domain is not None:
            parts.append(f"Domain={self.domain}")
        if self.is_secure(tls):
            parts.append("Secure")
        if self.http_only:
            parts.append("HttpOnly")
        parts.append(f"SameSite={self.same_site}")
        return "; ".join(parts)
