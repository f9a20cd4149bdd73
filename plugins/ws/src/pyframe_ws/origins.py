"""Which web pages may open a WebSocket: the browser's ``Origin`` against the allow-list.

A browser sends ``Origin`` with every WebSocket handshake and lets any page open one to any
site, cookies included, so a server that does not check it can be driven by a foreign page
(cross-site WebSocket hijacking). Programs that are not browsers send no ``Origin``; they are
allowed, since they could claim any origin anyway.
"""

from __future__ import annotations

from urllib.parse import urlsplit

__all__ = ["OriginPolicy", "normalise_origin"]

_DEFAULT_PORTS = {"http": 80, "ws": 80, "https": 443, "wss": 443}


def _split(origin: str) -> tuple[str, str, int | None] | None:
    try:
        parts = urlsplit(origin.strip().lower())
        port = parts.port
    except ValueError:
        return None
    if not parts.scheme or not parts.hostname or parts.path or parts.query or parts.fragment:
        return None
    return parts.scheme, parts.hostname, port if port is not None else \
        _DEFAULT_PORTS.get(parts.scheme)


def normalise_origin(origin: str) -> str | None:
    """``HTTPS://Chat.Example:443`` -> ``https://chat.example``; None if it is not an origin."""
    split = _split(origin)
    if split is None:
        return None
    scheme, host, port = split
    host = f"[{host}]" if ":" in host else host
    if port is None or port == _DEFAULT_PORTS.get(scheme):
        return f"{scheme}://{host}"
    return f"{scheme}://{host}:{port}"


class OriginPolicy:
    """``allows(origin, host)``: no Origin, the app's own origin, or one listed (``"*"``: any).

    The app's own origin is the one whose host and port are the request's ``Host``. The scheme
    is not compared, because a proxy that ends TLS turns https into http on the way in; list
    origins explicitly to pin the scheme as well.
    """

    def __init__(self, allowed: tuple[str, ...] = ()) -> None:
        self.any = "*" in allowed
        self.listed = frozenset(filter(None, (normalise_origin(o) for o in allowed if o != "*")))

    def allows(self, origin: str | None, host: str | None) -> bool:
        if origin is None or self.any:
            return True
        normal = normalise_origin(origin)
        if normal is None:
            return False  # "null" (a sandboxed page, a file) or garbage
        if normal in self.listed:
            return True
        return host is not None and _same_authority(normal, host)


def _same_authority(origin: str, host: str) -> bool:
    split = _split(origin)
    if split is None:
        return False
    scheme, name, port = split
    try:
        given = urlsplit(f"//{host.strip().lower()}")
        host_port = given.port
    except ValueError:
        return False
    if host_port is None:
        host_port = _DEFAULT_PORTS.get(scheme)  # a Host without a port: the scheme's default
    return given.hostname == name and host_port == port
