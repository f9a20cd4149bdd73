"""Forged bearer tokens against the auth plugin, sent as raw bytes: ``alg: none`` in every
spelling, key confusion (the RSA public key as an HMAC secret), keys the token names for
itself, ``kid`` injection, ``crit``, and tokens built to cost the server.

Each is refused with the one 401 every bad token gets, never a 500, and a normal request is
still served afterwards.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
import time

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from structlog.testing import capture_logs

from pyframe.testing import TestClient

from .support import assert_still_serving, exchange

SECRET = secrets.token_urlsafe(32)
NOW = int(time.time())
CLAIMS = {"sub": "admin", "iat": NOW, "exp": NOW + 600, "roles": ["admin"]}
INVALID = {"error": "invalid_token", "detail": "The access token is invalid."}
CHALLENGE = 'Bearer error="invalid_token", error_description="The access token is invalid."'


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def segment(value: object) -> str:
    return b64(json.dumps(value).encode())


def token(header: dict, claims: dict = CLAIMS, signature: bytes = b"") -> str:
    return f"{segment(header)}.{segment(claims)}.{b64(signature)}"


def hmac_token(key: bytes, header: dict | None = None, claims: dict = CLAIMS) -> str:
    head = f"{segment(header or {'alg': 'HS256', 'typ': 'JWT'})}.{segment(claims)}"
    return f"{head}.{b64(hmac.new(key, head.encode(), hashlib.sha256).digest())}"


@pytest.fixture(scope="module")
def rsa_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def public_pem(key: rsa.RSAPrivateKey) -> bytes:
    return key.public_key().public_bytes(serialization.Encoding.PEM,
                                         serialization.PublicFormat.SubjectPublicKeyInfo)


def protected(app):
    app.get("/admin")(lambda context: {"admin": context.user.id})
    return app


@pytest.fixture
async def hs_port(make_app):
    app = protected(make_app())
    app.plugins.enable("auth", secret_key=SECRET, exclude_paths=["/"], sessions=False)
    async with TestClient(app) as client:
        yield client.port


@pytest.fixture
async def rs_port(make_app, rsa_key, tmp_path):
    (tmp_path / "public.pem").write_bytes(public_pem(rsa_key))
    app = protected(make_app())
    app.plugins.enable("auth", algorithms=["RS256"], public_keys=[str(tmp_path / "public.pem")],
                       exclude_paths=["/"], sessions=False)
    async with TestClient(app) as client:
        yield client.port


async def refused(port: int, value: str | bytes, *, status: int = 401) -> None:
    raw = value if isinstance(value, bytes) else f"Bearer {value}".encode("latin-1")
    response = await exchange(port, b"GET /admin HTTP/1.1\r\nHost: hostile.test\r\n"
                                    b"Authorization: " + raw + b"\r\n\r\n")
    assert response is not None, "the server closed instead of answering"
    assert response.status == status, response.body[:300]
    if status == 401:
        assert response.header("WWW-Authenticate") == CHALLENGE
        assert response.json() == INVALID
    await assert_still_serving(port)


@pytest.mark.parametrize("alg", ["none", "None", "NONE", "nOnE", "none ", ""])
async def test_alg_none_unsigned(hs_port, alg):
    await refused(hs_port, token({"alg": alg, "typ": "JWT"}))


async def test_alg_none_with_a_signature_anyway(hs_port):
    await refused(hs_port, token({"alg": "none"}, signature=b"x" * 32))


async def test_alg_missing_or_not_a_string(hs_port):
    for header in ({"typ": "JWT"}, {"alg": None}, {"alg": ["HS256"]}, {"alg": {"x": 1}}):
        await refused(hs_port, token(header, signature=b"s"))


async def test_key_confusion_public_key_as_hmac_secret(rs_port, rsa_key):
    # The classic: the verifier's RSA public key, which is public, used as an HS256 secret.
    await refused(rs_port, hmac_token(public_pem(rsa_key)))


async def test_key_confusion_other_encodings_of_the_public_key(rs_port, rsa_key):
    der = rsa_key.public_key().public_bytes(serialization.Encoding.DER,
                                            serialization.PublicFormat.SubjectPublicKeyInfo)
    ssh = rsa_key.public_key().public_bytes(serialization.Encoding.OpenSSH,
                                            serialization.PublicFormat.OpenSSH)
    for key in (der, ssh, public_pem(rsa_key).strip()):
        for alg in ("HS256", "HS384", "HS512"):
            await refused(rs_port, hmac_token(key, {"alg": alg, "typ": "JWT"}))


async def test_the_genuine_rs256_token_still_works(rs_port, rsa_key):
    good = jwt.encode(CLAIMS, rsa_key, algorithm="RS256")
    response = await exchange(rs_port, b"GET /admin HTTP/1.1\r\nHost: hostile.test\r\n"
                                       b"Authorization: Bearer " + good.encode() + b"\r\n\r\n")
    assert response.status == 200 and response.json() == {"admin": "admin"}


async def test_a_key_the_token_brings_itself_is_never_used(rs_port):
    # Signed with the attacker's own key, which the header offers as jwk, jku or x5u.
    attacker = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    own_jwk = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(attacker.public_key()))
    for extra in ({"jwk": own_jwk}, {"jku": "https://evil.example/jwks.json"},
                  {"x5u": "https://evil.example/cert.pem"}):
        forged = jwt.encode(CLAIMS, attacker, algorithm="RS256", headers=extra)
        await refused(rs_port, forged)


@pytest.mark.parametrize("kid", ["../../../../dev/null", "' OR '1'='1", "\u0000", "x" * 5000,
                                 "key-1\r\nX-Injected: 1"])
async def test_kid_injection(hs_port, kid):
    await refused(hs_port, jwt.encode(CLAIMS, SECRET, algorithm="HS256", headers={"kid": kid}))


async def test_crit_names_an_extension_nobody_understands(hs_port):
    forged = jwt.encode(CLAIMS, SECRET, algorithm="HS256",
                        headers={"crit": ["exp"], "b64": False})
    await refused(hs_port, forged)


async def test_a_signature_for_other_claims(hs_port):
    genuine = jwt.encode({**CLAIMS, "sub": "guest", "roles": []}, SECRET, algorithm="HS256")
    head, _, signature = genuine.split(".")
    await refused(hs_port, f"{head}.{segment(CLAIMS)}.{signature}")


async def test_expired_and_not_yet_valid(hs_port):
    await refused(hs_port, jwt.encode({**CLAIMS, "exp": NOW - 3600}, SECRET, algorithm="HS256"))
    await refused(hs_port, jwt.encode({**CLAIMS, "nbf": NOW + 3600}, SECRET, algorithm="HS256"))


async def test_a_deeply_nested_header_is_refused_not_a_500(hs_port):
    # Deeper than the interpreter's recursion limit, small enough for the header line limit.
    nested = b64(b'{"alg":' + b"[" * 2500 + b"]" * 2500 + b"}")
    with capture_logs() as logs:
        await refused(hs_port, f"{nested}.{segment(CLAIMS)}.c2ln")
    assert [e["reason"] for e in logs if e["event"] == "auth_refused"] == ["malformed_token"]
    assert not [e for e in logs if e["event"] == "auth_token_check_crashed"]


async def test_a_payload_that_is_not_an_object(hs_port):
    for payload in ([1, 2], "admin", 7, None):
        await refused(hs_port, hmac_token(SECRET.encode(), claims=payload))


async def test_non_numeric_dates(hs_port):
    for claims in ({**CLAIMS, "exp": "never"}, {**CLAIMS, "exp": True},
                   {**CLAIMS, "exp": 1e400}, {**CLAIMS, "nbf": [0]}):
        await refused(hs_port, hmac_token(SECRET.encode(), claims=claims))


@pytest.mark.parametrize("raw, status", [
    (b"Bearer \xff\xfe.\xfd.\xfc", 400),  # not a b64token: a malformed header
    (b"Bearer " + b"=" * 40, 400),
    (b"Bearer\x00abc", 400),
    (b"Bearer a.b.c.d.e", 401),  # well formed, but no JWS (five parts: an encrypted JWE)
    (b"Bearer ....", 401),
])
async def test_bytes_that_are_not_a_token(hs_port, raw, status):
    await refused(hs_port, raw, status=status)


async def test_a_huge_token_is_refused_before_any_decoding(hs_port):
    # Just under the server's header line limit: the plugin's own length cap answers.
    await refused(hs_port, "A" * 8100 + ".B.C")


async def test_the_query_token_is_not_taken_on_ordinary_requests(hs_port):
    good = jwt.encode(CLAIMS, SECRET, algorithm="HS256")
    response = await exchange(hs_port, f"GET /admin?token={good} HTTP/1.1\r\n"
                                       f"Host: hostile.test\r\n\r\n".encode())
    assert response.status == 401
    await assert_still_serving(hs_port)
