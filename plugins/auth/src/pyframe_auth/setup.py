"""From validated settings to working parts: secrets (from the file or the environment) checked
for strength, key rings, the token verifier and issuer, and the session store's kind.

Everything here runs once, when the plugin is configured; errors are ConfigErrors naming the
source and the key, never a secret's value.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from pyframe.plugin import ConfigError, check_backend_url, get_logger

from .clock import Clock, system_clock
from .config import AuthConfig
from .jwks import JWKSError, load_jwks_file
from .jwks_client import JWKSClient
from .keys import HMAC_MIN_KEY_BYTES, Key, KeyRing, hmac_key, pem_key, thumbprint
from .paths import PathMatcher
from .session_cookie import SessionCookieCodec
from .session_records import SessionLifetime
from .tokens import CachingVerifier, KeySource, TokenIssuer, TokenVerifier
from .weak_secrets import WeakSecretError, check_secret_key

__all__ = ["Parts", "build_parts", "describe"]

log = get_logger("pyframe.auth", plugin="auth")
# A session secret has no algorithm to size it by; HS256's minimum is the floor.
_SESSION_KEY_BYTES = 32


class Parts:
    """What one configured auth plugin works with. ``secrets`` never leave this object."""

    __slots__ = ("config", "verifier", "issuer", "jwks_client", "codec", "lifetime",
                 "session_url", "matcher", "token_source", "__weakref__")

    def __init__(self, config: AuthConfig) -> None:
        self.config = config
        self.verifier: CachingVerifier | None = None
        self.issuer: TokenIssuer | None = None
        self.jwks_client: JWKSClient | None = None
        self.codec: SessionCookieCodec | None = None
        self.lifetime: SessionLifetime | None = None
        self.session_url: str | None = None
        self.matcher = PathMatcher(config.exclude_paths)
        self.token_source = "none"

    def __repr__(self) -> str:
        return f"<auth Parts tokens={self.token_source} sessions={self.session_kind}>"

    @property
    def session_kind(self) -> str:
        if self.codec is not None:
            return "cookie"
        return "server" if self.session_url is not None else "off"


class _Where:
    """How messages name a setting: ``pyframe.toml: plugins.auth.secret_key`` or
    ``AuthMiddleware: secret_key``."""

    def __init__(self, source: str, prefix: str) -> None:
        self.source = source
        self.prefix = prefix

    def key(self, name: str) -> str:
        return f"{self.prefix}{name}"

    def error(self, name: str, message: str) -> ConfigError:
        return ConfigError(f"{self.source}: {self.key(name)}: {message}")


def build_parts(config: AuthConfig, *, source: str, prefix: str, debug: bool,
                clock: Clock | None = None, environ: Mapping[str, str] | None = None,
                base_dir: Path | None = None) -> Parts:
    """The working parts for ``config``. ``prefix`` is put before key names in messages
    (``plugins.auth.`` for the config file); ``base_dir`` resolves relative key files."""
    where = _Where(source, prefix)
    clock = clock or system_clock
    parts = Parts(config)
    secrets = _secrets(config, where, environ if environ is not None else os.environ, debug)
    keys: KeySource
    if config.hmac:
        if not secrets:
            raise where.error("secret_key", f"{config.algorithms[0]} tokens are signed with "
                                            "secret_key: set it, or secret_key_env")
        keys = KeyRing(_hmac_keys(secrets, config.algorithms, debug))
        parts.token_source = "secret_key"
    elif config.public_keys:
        keys = _pem_keys(config, where, base_dir)
        parts.token_source = "public_keys"
    elif config.jwks_file is not None:
        keys = _jwks_file(config, where, base_dir)
        parts.token_source = "jwks_file"
    else:
        assert config.jwks_url is not None  # the config's own check
        try:
            parts.jwks_client = JWKSClient(
                config.jwks_url, algorithms=config.algorithms, allowed_kids=config.allowed_kids,
                timeout=config.jwks_timeout, refresh_interval=config.jwks_refresh_interval,
                clock=clock)
        except ValueError as exc:
            raise where.error("jwks_url", str(exc)) from None
        keys = parts.jwks_client
        parts.token_source = "jwks_url"
    verifier = TokenVerifier(keys, issuer=config.issuer, audience=config.audience,
                             leeway=config.leeway,
                             # context.user.id is the subject: a token must name one.
                             required_claims=("sub", *config.required_claims), clock=clock)
    parts.verifier = CachingVerifier(verifier, size=config.credential_cache_size)
    if isinstance(keys, KeyRing) and keys.signing_key is not None:
        parts.issuer = TokenIssuer(keys, issuer=config.issuer, audience=config.audience,
                                   default_ttl=config.token_ttl, clock=clock)
    _sessions(parts, config, where, secrets, clock)
    return parts


def _secrets(config: AuthConfig, where: _Where, environ: Mapping[str, str],
             debug: bool) -> tuple[str, ...]:
    if config.secret_key_env is not None:
        name = config.secret_key_env
        value = environ.get(name, "")
        if not value.strip():
            raise where.error("secret_key_env", f"the environment variable {name} is not set "
                                                f"(or empty)")
        secrets = tuple(value.split())  # several keys: separated by spaces, newest first
        label = f"the environment variable {name} (named by {where.key('secret_key_env')})"
    else:
        secrets = config.secret_keys
        label = where.key("secret_key")
    minimum = max((HMAC_MIN_KEY_BYTES[a] for a in config.algorithms
                   if a in HMAC_MIN_KEY_BYTES), default=_SESSION_KEY_BYTES)
    for index, secret in enumerate(secrets):
        name = label if len(secrets) == 1 else f"{label}[{index}]"
        try:
            check_secret_key(secret, debug=debug, name=name, min_length=minimum)
        except WeakSecretError as exc:
            raise ConfigError(f"{where.source}: {exc}. (In debug mode pyframe only warns.)"
                              ) from None
    return secrets


def _hmac_keys(secrets: tuple[str, ...], algorithms: tuple[str, ...], debug: bool) -> list[Key]:
    keys = []
    for secret in secrets:
        for algorithm in algorithms:
            # One secret under two HS algorithms would get one thumbprint twice; the suffix
            # keeps the kids apart.
            kid = None
            if len(algorithms) > 1:
                kid = f"{thumbprint(secret.encode(), algorithm)}.{algorithm}"
            # A short secret got this far only in debug, after the loud warning.
            keys.append(hmac_key(secret, algorithm, kid=kid, allow_short=debug))
    return keys


def _read(path_text: str, base_dir: Path | None) -> bytes:
    path = Path(path_text).expanduser()
    if not path.is_absolute() and base_dir is not None:
        path = base_dir / path
    return path.read_bytes()


def _pem_keys(config: AuthConfig, where: _Where, base_dir: Path | None) -> KeyRing:
    keys: list[Key] = []
    for index, entry in enumerate(config.public_keys):
        name = f"public_keys[{index}]"
        if entry.lstrip().startswith("-----BEGIN"):
            pem: bytes = entry.encode()
        else:
            try:
                pem = _read(entry, base_dir)
            except OSError as exc:
                raise where.error(name, f"cannot read the key file {entry!r}: "
                                        f"{exc.strerror or exc}") from None
        fitting = []
        for algorithm in config.algorithms:
            try:
                fitting.append(pem_key(pem, algorithm))
            except ValueError:
                continue
        if not fitting:
            raise where.error(name, f"not a PEM key usable with {', '.join(config.algorithms)} "
                                    f"(RSA keys need 2048 bits or more)")
        if len(fitting) > 1:
            raise where.error(name, f"the key fits {', '.join(k.algorithm for k in fitting)}; "
                                    f"list only the one it signs with in algorithms, so each "
                                    f"key has one algorithm")
        keys.append(fitting[0])
    try:
        return KeyRing(keys)
    except ValueError as exc:
        raise where.error("public_keys", str(exc)) from None


def _jwks_file(config: AuthConfig, where: _Where, base_dir: Path | None) -> KeyRing:
    assert config.jwks_file is not None
    path = Path(config.jwks_file).expanduser()
    if not path.is_absolute() and base_dir is not None:
        path = base_dir / path
    try:
        parsed = load_jwks_file(path, algorithms=config.algorithms,
                                allowed_kids=config.allowed_kids)
    except OSError as exc:
        raise where.error("jwks_file", f"cannot read {str(path)!r}: {exc.strerror or exc}"
                          ) from None
    except (JWKSError, ValueError) as exc:
        raise where.error("jwks_file", str(exc)) from None
    if parsed.skipped:
        log.info("auth_jwks_keys_skipped", file=str(path),
                 skipped=[f"{kid}: {why}" for kid, why in parsed.skipped])
    return parsed.keyring


def _sessions(parts: Parts, config: AuthConfig, where: _Where, secrets: tuple[str, ...],
              clock: Clock) -> None:
    if not config.sessions:
        return
    if config.session_backend is None:
        if not secrets:
            raise where.error("sessions", "cookie sessions are signed with secret_key: set "
                                          "secret_key (or secret_key_env), name a "
                                          "session_backend for server-side sessions, or set "
                                          "sessions = false")
        # The session store keeps its own cache of checked cookies (session_stores.py).
        parts.codec = SessionCookieCodec(secrets, max_age=config.session_max_age,
                                         cookie=config.session_cookie, clock=clock)
        return
    parts.session_url = check_backend_url(config.session_backend, source=where.source,
                                          key=where.key("session_backend"))
    parts.lifetime = SessionLifetime(idle_timeout=config.idle_timeout,
                                     absolute_timeout=config.session_max_age, clock=clock)


def describe(parts: Parts) -> dict[str, Any]:
    """What the auth_configured log line says: kinds and counts, never a key."""
    config = parts.config
    return {"tokens": parts.token_source, "algorithms": list(config.algorithms),
            "sessions": parts.session_kind, "require_auth": config.require_auth,
            "exclude_paths": len(config.exclude_paths),
            "csrf": config.csrf and parts.session_kind != "off"}

