"""The HTTP errors auth raises: 401 and 400 with ``WWW-Authenticate: Bearer`` (RFC 6750), 403
for a missing role or scope or a cross-site request, 503 while keys or sessions are down.

They are ``HTTPError``s, so the core renders them in its one place (an app's
``set_errorhandler(401, ...)`` answers them too); the JSON body is the RFC 6750 error code and
a description that is the same for every failed token check.
"""

from __future__ import annotations

from pyframe.plugin import HTTPError

from .errors import AuthError, Reason, www_authenticate

__all__ = ["AccessDenied", "AuthenticationFailed", "CrossSiteRefused"]


class AuthenticationFailed(HTTPError):
    """A missing, malformed or refused credential (``error.status``: 401, 400 or 503).

    ``reason`` (the body's ``error``) is the RFC 6750 code: ``invalid_token``,
    ``invalid_request``, ``insufficient_scope``, ``unauthorized`` when no credential came, or
    ``temporarily_unavailable`` (503).
    """

    def __init__(self, error: AuthError, *, realm: str | None = None,
                 scope: str | None = None) -> None:
        headers = {}
        if error.status == 503:
            headers["Retry-After"] = "1"
        else:
            headers["WWW-Authenticate"] = www_authenticate(error, realm=realm, scope=scope)
        super().__init__(error.status, error.description, headers)
        self.auth_error = error
        # RFC 6749's word for "try again later"; RFC 6750 has none.
        self.code = "temporarily_unavailable" if error.status == 503 else error.public()["error"]

    @property
    def reason(self) -> str:  # type: ignore[override]
        return self.code

    @classmethod
    def missing(cls, realm: str | None = None) -> AuthenticationFailed:
        return cls(AuthError(Reason.NO_CREDENTIALS), realm=realm)


class AccessDenied(HTTPError):
    """403: the user is known but lacks a role. The body does not say which one."""

    status = 403

    def __init__(self) -> None:
        super().__init__(detail="You are not allowed to access this resource.")

    @property
    def reason(self) -> str:  # type: ignore[override]
        return "forbidden"


class CrossSiteRefused(HTTPError):
    """403: a state-changing request that a browser sent from another site (CSRF)."""

    status = 403

    def __init__(self) -> None:
        super().__init__(detail="Cross-site requests that change state are refused.")

    @property
    def reason(self) -> str:  # type: ignore[override]
        return "cross_site_request"
