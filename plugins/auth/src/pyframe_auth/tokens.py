"""Verifying bearer JWTs and issuing them, on PyJWT, with every refusal mapped to a Reason.

The verifier picks the key from its own list by ``kid`` and checks that the token's ``alg`` is
the one that key is bound to, so a token cannot choose its algorithm (RFC 8725 §2.1, §3.1).
"""

from __future__ import annotations

import base64
import binascii
import math
import secrets
from collections.abc import Collection, Mapping
from datetime import timedelta
from typing import Any, Protocol

import msgspec
from jwt.exceptions import InvalidKeyError, InvalidSignatureError, PyJWTError

from .bearer import MAX_TOKEN_LENGTH
from .cache import BoundedCache
from .claims import check_claims
from .clock import Clock, system_clock
from .errors import AuthError, Reason
from .keys import KeyRing, make_jws

__all__ = ["CachingVerifier", "KeySource", "TokenIssuer", "TokenVerifier", "VerifiedToken",
           "RESERVED_CLAIMS"]

# Claims the issuer sets itself; extra claims may not override them.
RESERVED_CLAIMS = frozenset({"sub", "exp", "iat", "nbf", "iss", "aud", "jti"})
_header_decoder = msgspec.json.Decoder(dict[str, Any])
_json_encoder = msgspec.json.Encoder()


class KeySource(Protocol):
    """Where a verifier gets its keys: a KeyRing, or a JWKS client whose ring changes."""

    algorithms: frozenset[str]

    def current(self) -> KeyRing | None: ...

    def note_unknown_kid(self, kid: str) -> None: ...


class VerifiedToken(msgspec.Struct, frozen=True, kw_only=True):
    """A token that passed every check. ``claims`` is its payload."""

    claims: dict[str, Any]
    header: dict[str, Any]
    kid: str
    algorithm: str

    @property
    def subject(self) -> str | None:
        return self.claims.get("sub")


def _header(token: str) -> dict[str, Any]:
    parts = token.split(".")
    if len(parts) != 3:  # five parts is an encrypted JWE, which is not supported either
        raise AuthError(Reason.MALFORMED_TOKEN, "not a compact JWS")
    segment = parts[0]
    try:
        raw = base64.urlsafe_b64decode(segment + "=" * (-len(segment) % 4))
        header = _header_decoder.decode(raw)
    except (binascii.Error, ValueError, msgspec.DecodeError, RecursionError):
        # RecursionError: JSON nested deeper than the interpreter's limit, sent to cost us.
        raise AuthError(Reason.MALFORMED_TOKEN, "unreadable header") from None
    return header


def _check_header(header: dict[str, Any], algorithms: frozenset[str]) -> str:
    alg = header.get("alg")
    # "none" is never in ``algorithms``: make_jws and the key loaders refuse it.
    if not isinstance(alg, str) or alg not in algorithms:
        raise AuthError(Reason.ALGORITHM_NOT_ALLOWED)
    if "crit" in header:
        # RFC 7515 §4.1.11: a recipient must refuse an extension it does not understand, and
        # this verifier understands none (b64=false payloads included).
        raise AuthError(Reason.UNSUPPORTED_CRITICAL)
    if "b64" in header:
        raise AuthError(Reason.MALFORMED_TOKEN, "b64 outside crit")
    kid = header.get("kid")
    if kid is not None and not isinstance(kid, str):
        raise AuthError(Reason.MALFORMED_TOKEN, "kid is not a string")
    return alg


class TokenVerifier:
    """Checks ``Authorization: Bearer`` JWTs: signature, algorithm, ``crit`` and claims.

    ``verify(token)`` returns a VerifiedToken or raises AuthError. Keys come from ``keys`` (a
    KeyRing, or a JWKS client); ``jku``, ``x5u`` and embedded ``jwk`` headers are never used to
    find a key. ``leeway`` (seconds, small) absorbs clock skew on ``exp``, ``nbf`` and ``iat``.
    """

    def __init__(self, keys: KeySource, *, issuer: str | None = None,
                 audience: str | None = None, leeway: float = 10.0,
                 required_claims: Collection[str] = (), max_length: int = MAX_TOKEN_LENGTH,
                 clock: Clock = system_clock) -> None:
        if not 0 <= leeway <= 300:
            raise ValueError("leeway is in seconds and at most 300 (five minutes)")
        self.keys = keys
        self.algorithms = frozenset(keys.algorithms)
        self.issuer = issuer
        self.audience = audience
        self.leeway = float(leeway)
        self.required_claims = tuple(required_claims)
        self.max_length = max_length
        self.clock = clock
        self._jws = make_jws(self.algorithms)

    def verify(self, token: str) -> VerifiedToken:
        if len(token) > self.max_length:
            raise AuthError(Reason.TOKEN_TOO_LONG)
        ring = self.keys.current()
        if ring is None:
            raise AuthError(Reason.KEYS_UNAVAILABLE)
        header = _header(token)
        alg = _check_header(header, self.algorithms)
        kid = header.get("kid")
        if kid is not None:
            key = ring.by_kid.get(kid)
            if key is None:
                self.keys.note_unknown_kid(kid)
                raise AuthError(Reason.UNKNOWN_KID)
            if key.algorithm != alg:  # the key decides the algorithm, never the token
                raise AuthError(Reason.ALGORITHM_NOT_ALLOWED, "not the key's algorithm")
            candidates: tuple[Any, ...] = (key,)
        elif ring.requires_kid:
            raise AuthError(Reason.UNKNOWN_KID, "no kid")
        else:
            candidates = ring.by_algorithm.get(alg, ())
            if not candidates:
                raise AuthError(Reason.ALGORITHM_NOT_ALLOWED)
        payload = None
        for key in candidates:
            try:
                decoded = self._jws.decode_complete(token, key=key.verifying, algorithms=[alg])
            except (InvalidSignatureError, InvalidKeyError):
                continue
            except PyJWTError:
                raise AuthError(Reason.MALFORMED_TOKEN) from None
            payload = decoded["payload"]
            break
        if payload is None:
            raise AuthError(Reason.BAD_SIGNATURE)
        try:
            claims = _header_decoder.decode(payload)
        except (msgspec.DecodeError, RecursionError):
            raise AuthError(Reason.MALFORMED_TOKEN, "payload is not a JSON object") from None
        check_claims(claims, now=self.clock(), leeway=self.leeway, issuer=self.issuer,
                     audience=self.audience, required=self.required_claims)
        return VerifiedToken(claims=claims, header=header, kid=key.kid, algorithm=alg)


class CachingVerifier:
    """A TokenVerifier that remembers tokens it verified, so a client sending the same token
    on every request pays for the signature once.

    A hit is taken only while the key ring is the one that verified it (a JWKS refresh or a
    new ring starts over) and while the token's time window (``exp``, ``nbf``, ``iat``, with
    the leeway) holds at the clock's now; outside it the token is verified afresh, which
    refuses it with the exact reason. Refused tokens are never remembered. Tokens longer than
    ``max_token`` are not kept, so the cache holds at most ``size * max_token`` bytes of them.
    """

    def __init__(self, verifier: TokenVerifier, *, size: int = 1024,
                 max_token: int = 2048) -> None:
        self.verifier = verifier
        self.keys = verifier.keys
        self.max_token = max_token
        self._cache: BoundedCache[str, tuple[KeyRing, VerifiedToken, float, float]] = \
            BoundedCache(size)

    def cached(self, token: str) -> VerifiedToken | None:
        """The remembered verification of ``token``, if it still holds; else None."""
        hit = self._cache.get(token)
        if hit is None:
            return None
        ring, verified, valid_from, valid_until = hit
        if ring is not self.keys.current():
            return None
        now = self.verifier.clock()
        return verified if valid_from <= now < valid_until else None

    def verify(self, token: str) -> VerifiedToken:
        verified = self.cached(token)
        if verified is not None:
            return verified
        ring = self.keys.current()
        verified = self.verifier.verify(token)
        if ring is not None and len(token) <= self.max_token:
            claims, leeway = verified.claims, self.verifier.leeway
            # check_claims passed, so these are numbers where present and exp is there.
            starts = max(float(claims.get("nbf", -math.inf)), float(claims.get("iat", -math.inf)))
            self._cache.put(token, (ring, verified, starts - leeway,
                                    float(claims["exp"]) + leeway))
        return verified

    def __len__(self) -> int:
        return len(self._cache)


class TokenIssuer:
    """Issues tokens for users, signed with the ring's newest key (its ``kid`` in the header).

    ``issue("42", expires_in=900, claims={"roles": ["admin"]})``. ``iat`` and ``exp`` come from
    the clock, ``jti`` is random, ``iss`` and ``aud`` are the issuer's own.
    """

    def __init__(self, keys: KeyRing, *, issuer: str | None = None,
                 audience: str | None = None, default_ttl: float = 900.0,
                 clock: Clock = system_clock) -> None:
        signing = keys.signing_key
        if signing is None:
            raise ValueError("the newest key in the ring has no private half: it cannot sign")
        self.key = signing
        self.issuer = issuer
        self.audience = audience
        self.default_ttl = default_ttl
        self.clock = clock
        self._jws = make_jws([signing.algorithm])

    def issue(self, subject: str | int, *, expires_in: float | timedelta | None = None,
              claims: Mapping[str, Any] | None = None, not_before: float | None = None) -> str:
        ttl = self.default_ttl if expires_in is None else expires_in
        if isinstance(ttl, timedelta):
            ttl = ttl.total_seconds()
        if not ttl > 0 or not math.isfinite(ttl):
            raise ValueError("expires_in must be a positive number of seconds")
        extra = dict(claims or {})
        clash = RESERVED_CLAIMS & extra.keys()
        if clash:
            raise ValueError(f"claims {sorted(clash)} are set by the issuer; use its arguments")
        now = int(self.clock())
        payload: dict[str, Any] = {**extra, "sub": str(subject), "iat": now,
                                   "exp": now + math.ceil(ttl),
                                   "jti": secrets.token_urlsafe(16)}
        if not_before is not None:
            payload["nbf"] = int(not_before)
        if self.issuer is not None:
            payload["iss"] = self.issuer
        if self.audience is not None:
            payload["aud"] = self.audience
        return self._jws.encode(_json_encoder.encode(payload), self.key.signing,
                                algorithm=self.key.algorithm, headers={"kid": self.key.kid})
