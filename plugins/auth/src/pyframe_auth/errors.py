"""Why a credential was refused: one internal reason code per check, one vague outward message.

The reason goes to logs and tests; clients only ever see the RFC 6750 error code and a sentence
that is the same for every failed token check, so a response never says which check failed.
"""

from __future__ import annotations

from enum import StrEnum

__all__ = ["AuthError", "Reason", "www_authenticate"]


class Reason(StrEnum):
    """The internal reason a credential was refused (log field ``reason``)."""

    NO_CREDENTIALS = "no_credentials"
    MALFORMED_HEADER = "malformed_header"
    MALFORMED_TOKEN = "malformed_token"
    TOKEN_TOO_LONG = "token_too_long"
    ALGORITHM_NOT_ALLOWED = "algorithm_not_allowed"
    UNSUPPORTED_CRITICAL = "unsupported_critical"
    UNKNOWN_KID = "unknown_kid"
    BAD_SIGNATURE = "bad_signature"
    MISSING_CLAIM = "missing_claim"
    INVALID_CLAIM = "invalid_claim"
    EXPIRED = "expired"
    NOT_YET_VALID = "not_yet_valid"
    ISSUED_IN_FUTURE = "issued_in_future"
    WRONG_ISSUER = "wrong_issuer"
    WRONG_AUDIENCE = "wrong_audience"
    KEYS_UNAVAILABLE = "keys_unavailable"
    INSUFFICIENT_SCOPE = "insufficient_scope"
    UNKNOWN_USER = "unknown_user"  # a valid token whose subject the user loader does not know
    SESSION_STORE_UNAVAILABLE = "session_store_unavailable"


# (status, RFC 6750 error code, outward description). Every token check shares one row's
# wording, so an attacker probing with forged tokens learns nothing about which check caught it.
_INVALID_TOKEN = (401, "invalid_token", "The access token is invalid.")
_OUTWARD: dict[Reason, tuple[int, str | None, str]] = {
    # RFC 6750 §3.1: a request with no credentials gets no error code at all.
    Reason.NO_CREDENTIALS: (401, None, "Authentication is required."),
    Reason.MALFORMED_HEADER: (400, "invalid_request",
                              "The Authorization header is not a valid Bearer credential."),
    Reason.KEYS_UNAVAILABLE: (503, None, "Authentication is temporarily unavailable."),
    Reason.SESSION_STORE_UNAVAILABLE: (503, None, "Authentication is temporarily unavailable."),
    Reason.INSUFFICIENT_SCOPE: (403, "insufficient_scope",
                                "The access token does not grant access to this resource."),
}


class AuthError(Exception):
    """A refused credential. ``reason`` is for logs; ``status``, ``error`` and ``description``
    are what a response may show.

    ``detail`` is an internal note written by this package (a claim's name, never a value
    taken from the token), so the exception is safe to log.
    """

    def __init__(self, reason: Reason, detail: str | None = None) -> None:
        self.reason = reason
        self.detail = detail
        self.status, self.error, self.description = _OUTWARD.get(reason, _INVALID_TOKEN)
        super().__init__(reason.value if detail is None else f"{reason.value}: {detail}")

    def public(self) -> dict[str, str]:
        """The JSON body a response may carry: the same for every failed token check."""
        return {"error": self.error or "unauthorized", "detail": self.description}


def _quoted(value: str) -> str:
    # RFC 9110 quoted-string: only the quote and the backslash need escaping.
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def www_authenticate(error: AuthError | None = None, *, realm: str | None = None,
                     scope: str | None = None) -> str:
    """The ``WWW-Authenticate`` value for a 401 or 403 (RFC 6750 §3).

    ``Bearer realm="api", error="invalid_token", error_description="..."``; with no error (no
    credentials were sent) only the realm, as the RFC asks.
    """
    params: list[str] = []
    if realm is not None:
        params.append(f"realm={_quoted(realm)}")
    if scope is not None:
        params.append(f"scope={_quoted(scope)}")
    if error is not None and error.error is not None:
        params.append(f"error={_quoted(error.error)}")
        params.append(f"error_description={_quoted(error.description)}")
    return "Bearer " + ", ".join(params) if params else "Bearer"
