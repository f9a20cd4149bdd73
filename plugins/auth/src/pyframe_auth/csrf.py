"""The cross-site request forgery decision for cookie sessions, from the headers browsers set.

A state-changing request is refused when the browser says it came from another site
(``Sec-Fetch-Site``), or, from browsers too old to send that, when ``Origin`` is not the
request's own origin. Requests with neither header do not come from a browser page's script
or form, and cannot carry a victim's cookies against their will.
"""

from __future__ import annotations

import re
from collections.abc import Collection
from typing import NamedTuple

__all__ = ["CsrfDecision", "SAFE_METHODS", "check_csrf", "normalize_origin", "request_origin"]

# RFC 9110 §9.2.1: methods that must not change state, so never need the check.
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "TRACE"})
_ORIGIN = re.compile(r"(?P<scheme>[a-z][a-z0-9+.\-]*)://(?P<host>\[[0-9a-f:.]+\]|[^/?#@\[\]:\s]+)"
                     r"(?::(?P<port>\d{1,5}))?")
_DEFAULT_PORTS = {"http": "80", "https": "443"}
_REFUSED_SITES = {"cross-site": "cross_site", "same-site": "same_site"}


class CsrfDecision(NamedTuple):
    """``allowed``, and ``reason``: a snake_case code for logs and tests."""

    allowed: bool
    reason: str


def normalize_origin(origin: str) -> str | None:
    """``scheme://host[:port]`` lower-cased without its default port, as browsers serialise an
    origin; None for ``null`` or anything that is not an origin."""
    match = _ORIGIN.fullmatch(origin.strip().lower())
    if match is None:
        return None
    scheme, host, port = match["scheme"], match["host"], match["port"]
    if port is None or _DEFAULT_PORTS.get(scheme) == port:
        return f"{scheme}://{host}"
    return f"{scheme}://{host}:{int(port)}"


def request_origin(scheme: str, host: str) -> str | None:
    """The origin a request was sent to, from its scheme (``https`` over TLS) and ``Host``."""
    return normalize_origin(f"{scheme}://{host}")


def check_csrf(*, method: str, origin: str | None, sec_fetch_site: str | None,
               own_origin: str | None, trusted_origins: Collection[str] = (),
               allow_without_headers: bool = True) -> CsrfDecision:
    """Whether a request may go on. ``trusted_origins`` are other origins allowed to make
    state-changing requests (normalised like ``normalize_origin``).

    ``allow_without_headers=False`` also refuses unsafe requests that carry neither
    ``Sec-Fetch-Site`` nor ``Origin`` (scripts and other non-browser clients then need a
    bearer token).
    """
    if method.upper() in SAFE_METHODS:
        return CsrfDecision(True, "safe_method")
    seen = normalize_origin(origin) if origin else None
    if seen is not None and seen in trusted_origins:
        return CsrfDecision(True, "trusted_origin")
    if sec_fetch_site:
        site = sec_fetch_site.strip().lower()
        if site == "same-origin":
            return CsrfDecision(True, "same_origin")
        if site == "none":  # the user typed the address or used a bookmark
            return CsrfDecision(True, "user_initiated")
        # same-site included: a sibling subdomain is a different, possibly hostile, origin.
        return CsrfDecision(False, _REFUSED_SITES.get(site, "unknown_fetch_site"))
    if origin is not None:
        if seen is None:
            return CsrfDecision(False, "opaque_origin")  # "null": sandboxed frame, data: URL
        if own_origin is not None and seen == normalize_origin(own_origin):
            return CsrfDecision(True, "same_origin")
        return CsrfDecision(False, "cross_origin")
    if allow_without_headers:
        return CsrfDecision(True, "no_browser_headers")
    return CsrfDecision(False, "no_browser_headers")
