"""Spotting a secret key that must not protect anything: empty, too short for HMAC, copied from
an example (``your-secret-key``), or too regular to be random.

The plugin refuses to start with one outside debug and warns loudly in debug. Messages name the
setting and the weakness, never the value.
"""

from __future__ import annotations

import re
from enum import StrEnum

import structlog

__all__ = ["WeakSecretError", "Weakness", "check_secret_key", "find_weaknesses"]

log = structlog.get_logger("pyframe.auth", plugin="auth")

# Phrases that only a placeholder contains.
_PLACEHOLDERS = ("yoursecret", "changeme", "changethis", "replaceme", "replacethis",
                 "insecure", "placeholder", "notasecret", "notsecret", "example", "sample",
                 "dummy", "fixme", "password", "passwd", "default", "qwerty", "letmein")
# Words placeholders are made of; what is left once they are removed is the real content.
_FILLER = ("secret", "please", "production", "development", "change", "replace", "string",
           "random", "session", "signing", "token", "super", "value", "your", "this", "here",
           "with", "long", "test", "prod", "key", "jwt", "app", "dev", "the", "my", "me", "in",
           "to", "it", "xxx", "abc", "123")
_FILLER_RE = re.compile("|".join(sorted(_FILLER, key=len, reverse=True)))
_MIN_REAL_CHARS = 16
_MIN_DISTINCT = 8


class Weakness(StrEnum):
    EMPTY = "empty"
    TOO_SHORT = "too_short"
    EXAMPLE = "example"
    REPETITIVE = "repetitive"


_ADVICE = {
    Weakness.EMPTY: "it is empty",
    Weakness.TOO_SHORT: "it is shorter than {minimum} bytes",
    Weakness.EXAMPLE: "it looks like an example or placeholder value",
    Weakness.REPETITIVE: "it is a repeated or sequential pattern, not random",
}


class WeakSecretError(ValueError):
    def __init__(self, name: str, weaknesses: tuple[Weakness, ...], minimum: int) -> None:
        reasons = "; ".join(_ADVICE[w].format(minimum=minimum) for w in weaknesses)
        super().__init__(
            f"{name} is not a usable secret: {reasons}. Generate one with "
            f"`python -c \"import secrets; print(secrets.token_urlsafe(32))\"` and pass it "
            f"through an environment variable rather than the config file")
        self.name = name
        self.weaknesses = weaknesses


def _is_sequence(text: str) -> bool:
    steps = [ord(b) - ord(a) for a, b in zip(text, text[1:])]
    return bool(steps) and sum(1 for s in steps if s in (1, -1)) >= 0.75 * len(steps)


def _is_periodic(text: str) -> bool:
    # "abcabcabc...": the whole string is one short unit repeated.
    return any(len(text) % n == 0 and text == text[:n] * (len(text) // n)
               for n in range(1, min(16, len(text) // 2) + 1))


def _looks_like_example(text: str) -> bool:
    folded = re.sub(r"[^a-z0-9]", "", text.lower())
    if any(p in folded for p in _PLACEHOLDERS):
        return True
    # The filler rule is for phrases people type ("my-super-secret-jwt-key-2024"); random bytes
    # have few letters and digits, and on those a stray "me" would be a false alarm.
    if len(folded) < 0.6 * len(text) or _FILLER_RE.search(folded) is None:
        return False
    return len(_FILLER_RE.sub("", folded)) < _MIN_REAL_CHARS


def find_weaknesses(secret: str | bytes | None, *, min_length: int = 32) -> tuple[Weakness, ...]:
    """Every weakness of ``secret`` (empty tuple when it looks fine). ``min_length`` is in
    bytes: 32 for HS256, 48 for HS384, 64 for HS512 (RFC 7518 §3.2)."""
    if not secret:
        return (Weakness.EMPTY,)
    raw = secret.encode() if isinstance(secret, str) else bytes(secret)
    found: list[Weakness] = []
    if len(raw) < min_length:
        found.append(Weakness.TOO_SHORT)
    text = raw.decode("latin-1")
    if _looks_like_example(text):
        found.append(Weakness.EXAMPLE)
    # Short secrets naturally have few distinct characters; they are already TOO_SHORT.
    distinct_needed = min(_MIN_DISTINCT, max(2, len(raw) // 2))
    if len(set(raw)) < distinct_needed or _is_periodic(text) or _is_sequence(text):
        found.append(Weakness.REPETITIVE)
    return tuple(found)


def check_secret_key(secret: str | bytes | None, *, debug: bool, name: str = "secret_key",
                     min_length: int = 32) -> tuple[Weakness, ...]:
    """Refuse a weak secret outside debug (WeakSecretError); in debug log a warning and go on.

    Returns the weaknesses found, so the caller can also allow a short HMAC key in debug.
    """
    weaknesses = find_weaknesses(secret, min_length=min_length)
    if not weaknesses:
        return weaknesses
    error = WeakSecretError(name, weaknesses, min_length)
    if not debug:
        raise error
    log.warning("auth_weak_secret_key", setting=name,
                weaknesses=[w.value for w in weaknesses], detail=str(error),
                consequence="anyone who guesses it can forge tokens and sessions; "
                            "pyframe refuses to start with it outside debug")
    return weaknesses
