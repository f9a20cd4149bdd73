"""Reading a bearer token from ``Authorization: Bearer <token>`` or the ``?token=`` fallback."""

from __future__ import annotations

import re

from .errors import AuthError, Reason

__all__ = ["MAX_TOKEN_LENGTH", "bearer_token", "query_token"]

# Far above any real JWT, far below the header limit: a bigger token is refused before any
# base64 or JSON work is spent on it.
MAX_TOKEN_LENGTH = 8192
# RFC 6750 §2.1 b64token.
_B64TOKEN = re.compile(r"[A-Za-z0-9\-._~+/]+=*")
# An auth-scheme is an RFC 9110 token; the rest is everything after it.
_SCHEME = re.compile(r"([!#$%&'*+\-.^_`|~0-9A-Za-z]+)(.*)", re.DOTALL)


def _checked(token: str, max_length: int) -> str:
    if len(token) > max_length:
        raise AuthError(Reason.TOKEN_TOO_LONG)
    if not _B64TOKEN.fullmatch(token):
        raise AuthError(Reason.MALFORMED_HEADER, "not a b64token")
    return token


def bearer_token(authorization: str | None, *, max_length: int = MAX_TOKEN_LENGTH) -> str | None:
    """The token in an ``Authorization`` header value, or None when it holds no Bearer credential.

    Another scheme (``Basic ...``) is not ours and counts as no credential. ``Bearer`` with a
    missing or ill-formed token raises AuthError(MALFORMED_HEADER), which RFC 6750 answers with
    400 ``invalid_request``.
    """
    if not authorization:
        return None
    match = _SCHEME.match(authorization)
    if match is None or match[1].lower() != "bearer":
        return None
    rest = match[2]
    token = rest.strip(" ")
    if not rest.startswith(" ") or not token:  # RFC 7235: the scheme, then one or more spaces
        raise AuthError(Reason.MALFORMED_HEADER, "Bearer without a token")
    return _checked(token, max_length)


def query_token(value: str | None, *, max_length: int = MAX_TOKEN_LENGTH) -> str | None:
    """The ``?token=`` fallback for browser WebSocket and EventSource handshakes, which cannot
    set headers. Same checks as the header; an empty value is no credential."""
    if not value:
        return None
    return _checked(value, max_length)
