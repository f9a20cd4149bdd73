"""Authentication for pyframe: bearer tokens, sessions and users, safe by default.

The plugin (``[plugins.auth]``, or ``AuthMiddleware`` appended to ``app.middleware``) fills
``context.user`` and ``context.session``. The building blocks underneath (token verification
and issuing, the session cookie codec and server-side records, passwords, weak-secret, CSRF
and ``exclude_paths`` decisions) import nothing of pyframe and can be used on their own.
"""

from .account import issue_token, login, logout
from .bearer import bearer_token, query_token
from .config import AuthConfig
from .cookies import CookieSettings, CookieTooLarge
from .csrf import CsrfDecision, check_csrf, normalize_origin, request_origin
from .errors import AuthError, Reason, www_authenticate
from .failures import AccessDenied, AuthenticationFailed, CrossSiteRefused
from .guards import login_required, roles_required, scopes_required
from .jwks import JWKS, JWKSError, load_jwks_file, parse_jwks
from .jwks_client import JWKSClient, JWKSState
from .keys import Key, KeyRing, hmac_key, load_pem_file, pem_key
from .middleware import AuthMiddleware
from .passwords import Passwords, hash_password, verify_and_update, verify_password
from .paths import PathMatcher, normalize_path
from .plugin import AuthPlugin
from .session import Session, SessionValueError
from .session_cookie import InvalidSessionCookie, SessionCookieCodec, SessionTooLarge
from .session_records import (
    Expiry,
    InvalidSessionRecord,
    RecordTooLarge,
    SessionLifetime,
    SessionRecord,
    is_session_id,
    new_session_id,
    storage_key,
)
from .tokens import TokenIssuer, TokenVerifier, VerifiedToken
from .users import AuthUser, user_loader
from .weak_secrets import WeakSecretError, Weakness, check_secret_key, find_weaknesses

__all__ = [
    # The plugin and what apps call.
    "AuthPlugin", "AuthMiddleware", "AuthConfig", "AuthUser", "login", "logout",
    "issue_token", "login_required", "roles_required", "scopes_required", "user_loader",
    "hash_password", "verify_password", "verify_and_update", "Passwords",
    "AuthenticationFailed", "AccessDenied", "CrossSiteRefused",
    # The building blocks.
    "AuthError", "CookieSettings", "CookieTooLarge", "CsrfDecision", "Expiry",
    "InvalidSessionCookie", "InvalidSessionRecord", "JWKS", "JWKSClient", "JWKSError",
    "JWKSState", "Key", "KeyRing", "PathMatcher", "Reason", "RecordTooLarge",
    "Session", "SessionCookieCodec", "SessionLifetime", "SessionRecord", "SessionTooLarge",
    "SessionValueError", "TokenIssuer", "TokenVerifier", "VerifiedToken", "WeakSecretError",
    "Weakness", "bearer_token", "check_csrf", "check_secret_key", "find_weaknesses",
    "hmac_key", "is_session_id", "load_jwks_file", "load_pem_file",
    "new_session_id", "normalize_origin", "normalize_path", "parse_jwks", "pem_key",
    "query_token", "request_origin", "storage_key", "www_authenticate",
]
