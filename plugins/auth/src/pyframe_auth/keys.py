"""Signing and verification keys for tokens, each bound to one algorithm, and the key ring.

A key ring is either all HMAC secrets or all asymmetric keys, never both: a verifier that holds
both is the setting for key-confusion attacks (an RSA public key used as an HMAC secret).
"""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import msgspec
from jwt import PyJWS
from jwt.algorithms import HMACAlgorithm, get_default_algorithms
from jwt.exceptions import InvalidKeyError, PyJWTError

__all__ = ["ASYMMETRIC_ALGORITHMS", "HMAC_MIN_KEY_BYTES", "Key", "KeyRing", "SUPPORTED_ALGORITHMS",
           "hmac_key", "load_pem_file", "make_jws", "pem_key", "thumbprint"]

# RFC 7518 §3.2: an HMAC key is at least as long as the hash output.
HMAC_MIN_KEY_BYTES = {"HS256": 32, "HS384": 48, "HS512": 64}
ASYMMETRIC_ALGORITHMS = frozenset({"RS256", "RS384", "RS512", "PS256", "PS384", "PS512",
                                   "ES256", "ES384", "ES512", "EdDSA"})
SUPPORTED_ALGORITHMS = frozenset(HMAC_MIN_KEY_BYTES) | ASYMMETRIC_ALGORITHMS
# NIST SP 800-131A; PyJWT refuses smaller RSA keys with enforce_minimum_key_length too.
MIN_RSA_BITS = 2048
# RFC 7638 §3.2: the members of a JWK that its thumbprint covers, by key type.
_THUMBPRINT_MEMBERS = {"RSA": ("e", "kty", "n"), "EC": ("crv", "kty", "x", "y"),
                       "OKP": ("crv", "kty", "x"), "oct": ("k", "kty")}
_ALGORITHMS = get_default_algorithms()


def _check_algorithm(algorithm: str) -> None:
    if algorithm not in SUPPORTED_ALGORITHMS:
        raise ValueError(f"unsupported token algorithm {algorithm!r}; use one of "
                         f"{', '.join(sorted(SUPPORTED_ALGORITHMS))}")


@dataclass(frozen=True, slots=True, eq=False, repr=False)
class Key:
    """One key and the one algorithm it is used with.

    ``verifying`` is the HMAC secret (bytes) or a public key; ``signing`` the secret or the
    private key, None when the key can only verify. ``short`` marks an HMAC secret below the
    RFC 7518 minimum, accepted only when asked (debug).
    """

    kid: str
    algorithm: str
    verifying: Any
    signing: Any | None
    short: bool = False

    @property
    def symmetric(self) -> bool:
        return self.algorithm in HMAC_MIN_KEY_BYTES

    def __repr__(self) -> str:  # never the key material
        return (f"Key(kid={self.kid!r}, algorithm={self.algorithm!r}, "
                f"can_sign={self.signing is not None})")


def thumbprint(key_object: Any, algorithm: str) -> str:
    """The RFC 7638 JWK thumbprint (SHA-256, base64url), used as the default ``kid``."""
    jwk = _ALGORITHMS[algorithm].to_jwk(key_object, as_dict=True)
    members = {name: jwk[name] for name in _THUMBPRINT_MEMBERS[jwk["kty"]]}
    digest = hashlib.sha256(msgspec.json.encode(members, order="sorted")).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


def hmac_key(secret: str | bytes, algorithm: str = "HS256", *, kid: str | None = None,
             allow_short: bool = False) -> Key:
    """An HMAC secret for ``algorithm`` (HS256, HS384, HS512).

    A secret below the hash size raises ValueError unless ``allow_short`` (debug only: the
    plugin warns loudly first). PEM, SSH and DER keys are refused: an asymmetric key is never an
    HMAC secret.
    """
    if algorithm not in HMAC_MIN_KEY_BYTES:
        raise ValueError(f"{algorithm!r} is not an HMAC algorithm (HS256, HS384, HS512)")
    raw = secret.encode() if isinstance(secret, str) else bytes(secret)
    if not raw:
        raise ValueError("the HMAC secret is empty")
    try:
        raw = _ALGORITHMS[algorithm].prepare_key(raw)
    except InvalidKeyError:
        raise ValueError("an asymmetric key or certificate cannot be an HMAC secret; give it "
                         "as a PEM key with an RS/PS/ES/EdDSA algorithm instead") from None
    minimum = HMAC_MIN_KEY_BYTES[algorithm]
    short = len(raw) < minimum
    if short and not allow_short:
        raise ValueError(f"the HMAC secret is {len(raw)} bytes; {algorithm} needs at least "
                         f"{minimum} (RFC 7518 §3.2)")
    return Key(kid=kid or thumbprint(raw, algorithm), algorithm=algorithm, verifying=raw,
               signing=raw, short=short)


def _check_asymmetric(key_object: Any, algorithm: str) -> None:
    if algorithm[:2] in ("RS", "PS") and key_object.key_size < MIN_RSA_BITS:
        raise ValueError(f"the RSA key has {key_object.key_size} bits; at least "
                         f"{MIN_RSA_BITS} are required")


def pem_key(pem: str | bytes, algorithm: str, *, kid: str | None = None) -> Key:
    """A PEM public key (verify only) or private key (sign and verify) for an asymmetric
    ``algorithm``. The key's type must fit the algorithm (an ES256 key is on P-256)."""
    _check_algorithm(algorithm)
    if algorithm not in ASYMMETRIC_ALGORITHMS:
        raise ValueError(f"{algorithm} takes a secret, not a PEM key")
    try:
        loaded = _ALGORITHMS[algorithm].prepare_key(pem)
    except (PyJWTError, ValueError, TypeError) as exc:
        raise ValueError(f"not a PEM key usable with {algorithm}: {exc}") from None
    _check_asymmetric(loaded, algorithm)
    if hasattr(loaded, "public_key"):  # a private key: it signs, its public half verifies
        signing, verifying = loaded, loaded.public_key()
    else:
        signing, verifying = None, loaded
    return Key(kid=kid or thumbprint(verifying, algorithm), algorithm=algorithm,
               verifying=verifying, signing=signing)


def load_pem_file(path: str | Path, algorithm: str, *, kid: str | None = None) -> Key:
    """``pem_key`` on a file's contents; read once, at start-up."""
    return pem_key(Path(path).read_bytes(), algorithm, kid=kid)


class KeyRing:
    """An immutable list of keys, newest first: the first key signs, every key verifies.

    Rotation is a new key put first and the old one kept until the tokens it signed expire.
    ``requires_kid``: a token must name its key (set for JWKS sets, where trying every key would
    let one token cost dozens of signature checks).
    """

    def __init__(self, keys: Iterable[Key], *, requires_kid: bool = False) -> None:
        self.keys = tuple(keys)
        if not self.keys:
            raise ValueError("a key ring needs at least one key")
        kinds = {key.symmetric for key in self.keys}
        if len(kinds) > 1:
            raise ValueError("HMAC secrets and asymmetric keys cannot share one verifier: a "
                             "verifier that accepts both can be fooled into using a public key "
                             "as an HMAC secret")
        self.by_kid: dict[str, Key] = {}
        by_algorithm: dict[str, list[Key]] = {}
        for key in self.keys:
            if key.kid in self.by_kid:
                raise ValueError(f"two keys share the kid {key.kid!r}")
            self.by_kid[key.kid] = key
            by_algorithm.setdefault(key.algorithm, []).append(key)
        self.by_algorithm = {alg: tuple(keys) for alg, keys in by_algorithm.items()}
        self.algorithms = frozenset(self.by_algorithm)
        self.symmetric = kinds == {True}
        self.requires_kid = requires_kid
        self.has_short_keys = any(key.short for key in self.keys)

    @property
    def signing_key(self) -> Key | None:
        """The newest key, when it can sign."""
        first = self.keys[0]
        return first if first.signing is not None else None

    # The key-source protocol the verifier reads keys through (a JWKS client is the other).
    def current(self) -> KeyRing:
        return self

    def note_unknown_kid(self, kid: str) -> None:
        """A fixed ring has nothing to refresh."""

    def __len__(self) -> int:
        return len(self.keys)

    def __repr__(self) -> str:
        return f"KeyRing({list(self.keys)!r})"


class _VettedHMAC(HMACAlgorithm):
    """HMAC for secrets ``hmac_key`` already checked: PyJWT would otherwise re-run its PEM and
    DER sniffing on every token, and warn on a short secret the app was allowed in debug."""

    def prepare_key(self, key: str | bytes) -> bytes:
        return key if isinstance(key, bytes) else key.encode()

    def check_key_length(self, key: bytes) -> str | None:
        return None


def make_jws(algorithms: Iterable[str]) -> PyJWS:
    """A PyJWS that knows only ``algorithms`` (never ``none``) and refuses weak RSA keys."""
    names = sorted(set(algorithms))
    for name in names:
        _check_algorithm(name)
    jws = PyJWS(algorithms=names, options={"verify_signature": True,
                                           "enforce_minimum_key_length": True})
    for name in names:
        if name in HMAC_MIN_KEY_BYTES:
            jws.unregister_algorithm(name)
            jws.register_algorithm(name, _VettedHMAC(_ALGORITHMS[name].hash_alg))
    return jws
