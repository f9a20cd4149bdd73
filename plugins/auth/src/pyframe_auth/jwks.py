"""Reading a JWK Set (RFC 7517) into a key ring: public signature keys only, each bound to one
algorithm from the configured list, optionally only the ``kid`` values on an allow-list."""

from __future__ import annotations

from collections.abc import Collection, Mapping
from pathlib import Path
from typing import Any, NamedTuple

import msgspec
from jwt import PyJWK
from jwt.exceptions import PyJWTError

from .keys import ASYMMETRIC_ALGORITHMS, Key, KeyRing, MIN_RSA_BITS

__all__ = ["JWKS", "JWKSError", "MAX_JWKS_BYTES", "MAX_JWKS_KEYS", "check_jwks_algorithms",
           "load_jwks_file", "parse_jwks"]

# Real sets hold a handful of keys and a few kilobytes; anything far bigger is a mistake or an
# attack, refused whole rather than parsed.
MAX_JWKS_BYTES = 256 * 1024
MAX_JWKS_KEYS = 64
# Members only a private JWK has (RFC 7518 §6.2.2, §6.3.2, RFC 8037 §2).
_PRIVATE_MEMBERS = frozenset({"d", "p", "q", "dp", "dq", "qi", "oth", "k"})
_EC_CURVES = {"ES256": "P-256", "ES384": "P-384", "ES512": "P-521"}


class JWKSError(ValueError):
    """The document is not a usable JWK Set (the message says why, without key material)."""


class JWKS(NamedTuple):
    """A parsed set: the ring, and ``(kid, why)`` for every key that was left out."""

    keyring: KeyRing
    skipped: list[tuple[str | None, str]]


def check_jwks_algorithms(algorithms: Collection[str]) -> frozenset[str]:
    chosen = frozenset(algorithms)
    if not chosen:
        raise ValueError("a JWKS needs the list of algorithms its keys may be used with")
    wrong = chosen - ASYMMETRIC_ALGORITHMS
    if wrong:
        raise ValueError(f"a JWKS provides public keys: {sorted(wrong)} are not asymmetric "
                         f"algorithms (use {', '.join(sorted(ASYMMETRIC_ALGORITHMS))})")
    return chosen


def _fits(jwk: Mapping[str, Any], algorithm: str) -> bool:
    kty = jwk.get("kty")
    if algorithm[:2] in ("RS", "PS"):
        return kty == "RSA"
    if algorithm in _EC_CURVES:
        return kty == "EC" and jwk.get("crv") == _EC_CURVES[algorithm]
    return kty == "OKP" and jwk.get("crv") in ("Ed25519", "Ed448")


def _algorithm_for(jwk: Mapping[str, Any], algorithms: frozenset[str]) -> str:
    """The one algorithm this key is used with, or ValueError saying why there is none."""
    named = jwk.get("alg")
    if named is not None:
        if named not in algorithms:
            raise ValueError(f"alg {named!r} is not allowed")
        if not _fits(jwk, named):
            raise ValueError(f"key type does not fit alg {named!r}")
        return named
    # No "alg": usable only when exactly one allowed algorithm fits the key type, since an RSA
    # key could be RS256 or PS256 and binding it to both would undo the binding.
    fitting = sorted(a for a in algorithms if _fits(jwk, a))
    if len(fitting) != 1:
        raise ValueError("no alg, and the allowed algorithms do not settle one"
                         if fitting else "no allowed algorithm fits the key type")
    return fitting[0]


def _key(jwk: Any, algorithms: frozenset[str],
         allowed_kids: frozenset[str] | None) -> Key:
    if not isinstance(jwk, dict):
        raise ValueError("not a JSON object")
    kid = jwk.get("kid")
    if not isinstance(kid, str) or not kid:
        raise ValueError("no kid")
    if allowed_kids is not None and kid not in allowed_kids:
        raise ValueError("kid not on the allow-list")
    if jwk.get("use", "sig") != "sig":
        raise ValueError("not a signature key")
    ops = jwk.get("key_ops")
    if ops is not None and (not isinstance(ops, list) or "verify" not in ops):
        raise ValueError("key_ops does not include verify")
    if jwk.get("kty") == "oct":
        raise ValueError("symmetric keys are never taken from a JWKS")
    if _PRIVATE_MEMBERS & jwk.keys():
        raise ValueError("the set publishes a private key")
    algorithm = _algorithm_for(jwk, algorithms)
    try:
        public = PyJWK(jwk, algorithm=algorithm).key
    except PyJWTError as exc:
        raise ValueError(f"unreadable key: {exc}") from None
    if algorithm[:2] in ("RS", "PS") and public.key_size < MIN_RSA_BITS:
        raise ValueError(f"RSA key below {MIN_RSA_BITS} bits")
    return Key(kid=kid, algorithm=algorithm, verifying=public, signing=None)


def parse_jwks(document: bytes | str | Mapping[str, Any], *, algorithms: Collection[str],
               allowed_kids: Collection[str] | None = None) -> JWKS:
    """The usable keys of a JWK Set; JWKSError when the set is malformed or none is usable.

    A key is left out (and listed in ``skipped``) when it has no ``kid``, is not on
    ``allowed_kids``, is not for signatures, is symmetric or private, or no single allowed
    algorithm fits it. Tokens checked against the ring must carry a ``kid``.
    """
    chosen = check_jwks_algorithms(algorithms)
    kids = frozenset(allowed_kids) if allowed_kids is not None else None
    if isinstance(document, (bytes, str)):
        if len(document) > MAX_JWKS_BYTES:
            raise JWKSError(f"the JWKS is over {MAX_JWKS_BYTES} bytes")
        try:
            document = msgspec.json.decode(document)
        except msgspec.DecodeError:
            raise JWKSError("the JWKS is not JSON") from None
    if not isinstance(document, Mapping) or not isinstance(document.get("keys"), list):
        raise JWKSError('a JWKS is a JSON object with a "keys" list')
    entries = document["keys"]
    if len(entries) > MAX_JWKS_KEYS:
        raise JWKSError(f"the JWKS has {len(entries)} keys; at most {MAX_JWKS_KEYS} are read")
    keys: dict[str, Key] = {}
    skipped: list[tuple[str | None, str]] = []
    for entry in entries:
        kid = entry.get("kid") if isinstance(entry, dict) else None
        kid = kid if isinstance(kid, str) else None
        try:
            key = _key(entry, chosen, kids)
        except ValueError as exc:
            skipped.append((kid, str(exc)))
            continue
        if key.kid in keys:
            skipped.append((kid, "a second key with this kid"))
            continue
        keys[key.kid] = key
    if not keys:
        reasons = "; ".join(f"{kid or '?'}: {why}" for kid, why in skipped) or "it is empty"
        raise JWKSError(f"the JWKS has no usable key ({reasons})")
    return JWKS(KeyRing(keys.values(), requires_kid=True), skipped)


def load_jwks_file(path: str | Path, *, algorithms: Collection[str],
                   allowed_kids: Collection[str] | None = None) -> JWKS:
    """``parse_jwks`` on a file, read once at start-up."""
    file = Path(path)
    if file.stat().st_size > MAX_JWKS_BYTES:
        raise JWKSError(f"{file} is over {MAX_JWKS_BYTES} bytes")
    return parse_jwks(file.read_bytes(), algorithms=algorithms, allowed_kids=allowed_kids)
