"""The auth plugin's settings: the ``[plugins.auth]`` section and ``AuthMiddleware``'s arguments.

Checks that need nothing but the settings live here; those that need the app (debug mode, the
environment, key files, the backend) are made when the plugin is configured (setup.py).
"""

from __future__ import annotations

import re
from typing import Annotated, Any

import msgspec
from msgspec import Meta

from pyframe.plugin import PluginConfig

from .cookies import CookieSettings
from .csrf import normalize_origin
from .keys import ASYMMETRIC_ALGORITHMS, HMAC_MIN_KEY_BYTES, SUPPORTED_ALGORITHMS
from .paths import PathMatcher

__all__ = ["AuthConfig", "build_config", "DEFAULT_SESSION_MAX_AGE", "DEFAULT_IDLE_TIMEOUT"]

DEFAULT_SESSION_MAX_AGE = 14 * 24 * 3600
DEFAULT_IDLE_TIMEOUT = 2 * 3600.0
# An environment variable name as POSIX shells accept one.
_ENV_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
# RFC 3986 unreserved characters: a query parameter name that needs no escaping.
_PARAM = re.compile(r"[A-Za-z0-9\-._~]+")
_SECRET_MASK = "'***'"


class AuthConfig(PluginConfig):
    """Tokens, which requests need one, sessions and CSRF. README.md documents every key."""

    # Tokens: HMAC secrets (newest first), or asymmetric public keys, a JWKS file or URL.
    secret_key: str | tuple[str, ...] | None = None
    secret_key_env: str | None = None
    algorithms: tuple[str, ...] = ("HS256",)
    public_keys: tuple[str, ...] = ()
    jwks_url: str | None = None
    jwks_file: str | None = None
    allowed_kids: tuple[str, ...] | None = None
    jwks_refresh_interval: Annotated[float, Meta(gt=0)] = 300.0
    jwks_timeout: Annotated[float, Meta(gt=0, le=60)] = 5.0
    jwks_startup_timeout: Annotated[float, Meta(ge=0, le=60)] = 5.0
    issuer: str | None = None
    audience: str | None = None
    leeway: Annotated[float, Meta(ge=0, le=300)] = 10.0
    required_claims: tuple[str, ...] = ()
    token_ttl: Annotated[int, Meta(ge=1)] = 900
    roles_claim: str = "roles"
    credential_cache_size: Annotated[int, Meta(ge=0, le=100_000)] = 1024
    # Which requests must carry a credential.
    require_auth: bool = True
    exclude_paths: tuple[str, ...] = ()
    query_token: bool = True
    query_token_param: str = "token"
    realm: str | None = None
    # Sessions: a signed cookie by default, server-side records on a shared backend if named.
    sessions: bool = True
    session_backend: str | None = None
    session_cookie: CookieSettings = msgspec.field(default_factory=CookieSettings)
    session_max_age: Annotated[int, Meta(ge=60)] = DEFAULT_SESSION_MAX_AGE
    session_idle_timeout: Annotated[float, Meta(gt=0)] | None = None  # 2 h, or max_age
    # Cross-site request forgery, for requests that authenticate with the session cookie.
    csrf: bool = True
    csrf_trusted_origins: tuple[str, ...] = ()
    csrf_allow_without_headers: bool = True

    def __post_init__(self) -> None:
        # msgspec turns a ValueError raised here into a validation error, so the config
        # file's message names the file and the section.
        _check_tokens(self)
        _check_requests(self)
        _check_sessions(self)

    @property
    def hmac(self) -> bool:
        """Whether tokens are HMAC-signed (with ``secret_key``) rather than asymmetric."""
        return self.algorithms[0] in HMAC_MIN_KEY_BYTES

    @property
    def idle_timeout(self) -> float:
        """Server-side sessions end after this long unused (``session_idle_timeout``)."""
        if self.session_idle_timeout is not None:
            return self.session_idle_timeout
        return min(DEFAULT_IDLE_TIMEOUT, float(self.session_max_age))

    @property
    def secret_keys(self) -> tuple[str, ...]:
        """``secret_key`` as a tuple, newest first (empty when it is not set here)."""
        if self.secret_key is None:
            return ()
        return (self.secret_key,) if isinstance(self.secret_key, str) else self.secret_key

    def __repr__(self) -> str:
        # Never the secret: a repr lands in tracebacks with locals and in debug output.
        fields = ", ".join(
            f"{name}={_SECRET_MASK if name == 'secret_key' and value is not None else repr(value)}"
            for name in self.__struct_fields__ for value in (getattr(self, name),))
        return f"AuthConfig({fields})"


def _check_tokens(config: AuthConfig) -> None:
    if config.secret_key is not None and config.secret_key_env is not None:
        raise ValueError("secret_key and secret_key_env: give one of the two (the environment "
                         "variable keeps the secret out of the file)")
    if isinstance(config.secret_key, tuple) and not config.secret_key:
        raise ValueError("secret_key: an empty list; give at least one key (newest first)")
    if config.secret_key_env is not None and not _ENV_NAME.fullmatch(config.secret_key_env):
        raise ValueError("secret_key_env: not an environment variable name (letters, digits "
                         "and '_', not starting with a digit)")
    if not config.algorithms:
        raise ValueError("algorithms: give at least one (HS256 by default)")
    unknown = [a for a in config.algorithms if a not in SUPPORTED_ALGORITHMS]
    if unknown:
        raise ValueError(f"algorithms: {unknown} not supported; use "
                         f"{', '.join(sorted(SUPPORTED_ALGORITHMS))} ('none' never)")
    kinds = {a in HMAC_MIN_KEY_BYTES for a in config.algorithms}
    if len(kinds) > 1:
        raise ValueError("algorithms: HMAC (HS*) and asymmetric algorithms cannot be mixed: a "
                         "verifier holding both can be fooled into using a public key as an "
                         "HMAC secret")
    sources = [name for name, given in (("public_keys", bool(config.public_keys)),
                                        ("jwks_url", config.jwks_url is not None),
                                        ("jwks_file", config.jwks_file is not None)) if given]
    if config.hmac and sources:
        raise ValueError(f"{sources[0]}: HS* algorithms verify with secret_key; list an "
                         f"asymmetric algorithm ({', '.join(sorted(ASYMMETRIC_ALGORITHMS))}) "
                         f"to use public keys")
    if not config.hmac and len(sources) != 1:
        raise ValueError("algorithms: asymmetric tokens need exactly one of public_keys, "
                         f"jwks_url and jwks_file{f' (got {sources})' if sources else ''}")
    if config.allowed_kids is not None and not (config.jwks_url or config.jwks_file):
        raise ValueError("allowed_kids: only for keys from a JWKS (jwks_url or jwks_file)")
    if not config.roles_claim:
        raise ValueError("roles_claim: an empty claim name")


def _check_requests(config: AuthConfig) -> None:
    try:
        PathMatcher(config.exclude_paths)
    except ValueError as exc:
        raise ValueError(str(exc)) from None
    if not _PARAM.fullmatch(config.query_token_param):
        raise ValueError("query_token_param: use letters, digits, '-', '.', '_' or '~'")
    if config.realm is not None and any(c in config.realm for c in '"\\\r\n'):
        raise ValueError("realm: no quotes, backslashes or line breaks")


def _check_sessions(config: AuthConfig) -> None:
    idle = config.session_idle_timeout
    if idle is not None and idle > config.session_max_age:
        raise ValueError("session_idle_timeout: longer than session_max_age, the most a "
                         "session lives however busy")
    for index, origin in enumerate(config.csrf_trusted_origins):
        if origin == "null" or normalize_origin(origin) is None:
            raise ValueError(f"csrf_trusted_origins[{index}]: {origin!r} is not an origin "
                             f"(scheme://host[:port], e.g. 'https://app.example')")


def build_config(options: dict[str, Any]) -> AuthConfig:
    """Validate keyword arguments given to ``AuthMiddleware`` the way the config file is."""
    if isinstance(options.get("session_cookie"), CookieSettings):
        options = {**options, "session_cookie": msgspec.structs.asdict(options["session_cookie"])}
    try:
        return msgspec.convert(options, AuthConfig, strict=True)
    except msgspec.ValidationError as exc:
        # msgspec's messages quote no input value, and the checks above never quote a secret.
        raise ValueError(f"AuthMiddleware: {exc}") from None
