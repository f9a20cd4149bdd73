"""Helpers for the auth tests: a clock moved by hand, test secrets, PEM and JWK builders, and a
raw token builder for the forgeries PyJWT will not produce."""

from __future__ import annotations

import base64
import json
from typing import Any

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed448, ed25519, rsa
from jwt.algorithms import get_default_algorithms

NOW = 1_800_000_000.0
SECRET = "kV9w2m-xq4TzL0c8HnR7bPsY3uJfA6dE1gWiOeKyQ5v"  # 43 random characters
OLD_SECRET = "Zp3Lq8rT0vX6nB2mC9kD4fG7hJ1sA5wE-yU_oIiPlMa"
_ALGORITHMS = get_default_algorithms()


class FakeClock:
    """Wall-clock seconds that move only when a test says so."""

    def __init__(self, now: float = NOW) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


def private_pem(key: Any) -> bytes:
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                             serialization.NoEncryption())


def public_pem(key: Any) -> bytes:
    return key.public_key().public_bytes(serialization.Encoding.PEM,
                                         serialization.PublicFormat.SubjectPublicKeyInfo)


# One private key per asymmetric algorithm family, made once per test run.
_ASYMMETRIC: dict[str, Any] = {}


def asymmetric_private(algorithm: str, rsa_key: rsa.RSAPrivateKey) -> Any:
    if algorithm[:2] in ("RS", "PS"):
        return rsa_key
    if algorithm not in _ASYMMETRIC:
        curves = {"ES256": ec.SECP256R1(), "ES384": ec.SECP384R1(), "ES512": ec.SECP521R1()}
        if algorithm in curves:
            _ASYMMETRIC[algorithm] = ec.generate_private_key(curves[algorithm])
        elif algorithm == "EdDSA":
            _ASYMMETRIC[algorithm] = ed25519.Ed25519PrivateKey.generate()
        else:
            _ASYMMETRIC[algorithm] = ed448.Ed448PrivateKey.generate()
    return _ASYMMETRIC[algorithm]


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def raw_token(header: dict[str, Any], claims: dict[str, Any], signature: bytes = b"") -> str:
    """An unsigned (or hand-signed) token."""
    return (f"{b64(json.dumps(header).encode())}.{b64(json.dumps(claims).encode())}."
            f"{b64(signature)}")


def jwk(private: Any, algorithm: str, kid: str | None, *, alg_member: bool = True,
        **extra: Any) -> dict[str, Any]:
    """The public JWK of ``private``; ``alg_member=False`` leaves the "alg" member out."""
    data = _ALGORITHMS[algorithm].to_jwk(private.public_key(), as_dict=True)
    if kid is not None:
        data["kid"] = kid
    if alg_member:
        data["alg"] = algorithm
    data.update(extra)
    return data


# -- apps with the plugin, for the tests over HTTP ---------------------------------------------
def auth_app(clock: FakeClock | None = None, *, debug: bool | None = None,
             config: str | None = None, **settings: Any):
    """A PyFrameApp with the auth plugin registered (``secret_key`` defaults to SECRET);
    ``config`` is the path of a config file for the rest."""
    from pyframe import PyFrameApp
    from pyframe_auth import AuthPlugin

    settings.setdefault("secret_key", SECRET)
    app = PyFrameApp(debug=debug, config=config)
    app.plugins.register(AuthPlugin(clock=clock), "auth", **settings)
    return app


def issue(clock: FakeClock, subject: str = "alice", *, secret: str = SECRET,
          expires_in: float = 600, **claims: Any) -> str:
    """A valid HS256 token, issued the way the plugin issues them."""
    from pyframe_auth import KeyRing, TokenIssuer, hmac_key

    issuer = TokenIssuer(KeyRing([hmac_key(secret)]), clock=clock)
    return issuer.issue(subject, expires_in=expires_in, claims=claims or None)


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def cookie_of(response: Any, name: str = "session") -> str | None:
    """The value a response's Set-Cookie gives ``name`` (None: not set; "" : deleted)."""
    for header in response.headers.getall("Set-Cookie", []):
        first = header.split(";", 1)[0]
        key, _, value = first.partition("=")
        if key.strip() == name:
            return value
    return None
