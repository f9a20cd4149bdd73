"""Authentication for pyframe: tokens, sessions and users.

This round holds the parts that do not need the core: token verification and issuing, the
session cookie codec and server-side record pieces, passwords, weak-secret, CSRF and
``exclude_paths`` decisions. None of these modules imports pyframe.
"""

from .bearer import bearer_token, query_token
from .cookies import CookieSettings, CookieTooLarge
from .csrf import CsrfDecision, check_csrf, normalize_origin, request_origin
from .errors import AuthError, Reason, www_authenticate
from .jwks import JWKS, JWKSError, load_jwks_file, parse_jwks
from .jwks_client import JWKSClient, JWKSState
from .keys import Key, KeyRing, hmac_key, load_pem_file, pem_key
from .passwords import Passwords, hash_password, verify_and_update, verify_password
from .paths import PathMatcher, normalize_path
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
from .weak_secrets import WeakSecretError, Weakness, check_secret_key, find_weaknesses

__all__ = [
    "AuthError", "CookieSettings", "CookieTooLarge", "CsrfDecision", "Expiry",
    "InvalidSessionCookie", "InvalidSessionRecord", "JWKS", "JWKSClient", "JWKSError",
    "JWKSState", "Key", "KeyRing", "PathMatcher", "Passwords", "Reason", "RecordTooLarge",
    "Session", "SessionCookieCodec", "SessionLifetime", "SessionRecord", "SessionTooLarge",
    "SessionValueError", "TokenIssuer", "TokenVerifier", "VerifiedToken", "WeakSecretError",
    "Weakness", "bearer_token", "check_csrf", "check_secret_key", "find_weaknesses",
    "hash_password", "hmac_key", "is_session_id", "load_jwks_file", "load_pem_file",
    "new_session_id", "normalize_origin", "normalize_path", "parse_jwks", "pem_key",
    "query_token", "request_origin", "storage_key", "verify_and_update", "verify_password",
    "www_authenticate",
]
