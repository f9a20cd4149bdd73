"""Token verification: every check, each failure with its own internal reason."""

import hashlib
import hmac
import json
from datetime import timedelta

import jwt
import pytest
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from pyframe_auth import (AuthError, KeyRing, Reason, TokenIssuer, TokenVerifier, hmac_key,
                          pem_key)
from pyframe_auth.keys import ASYMMETRIC_ALGORITHMS

from .support import (NOW, OLD_SECRET, SECRET, asymmetric_private, b64, private_pem,
                      public_pem, raw_token)

ISS, AUD = "https://issuer.example", "api"


@pytest.fixture
def ring():
    return KeyRing([hmac_key(SECRET, kid="k1")])


@pytest.fixture
def verifier(ring, clock):
    return TokenVerifier(ring, clock=clock)


def sign(claims, secret=SECRET, headers=None, algorithm="HS256"):
    return jwt.encode(claims, secret, algorithm=algorithm, headers=headers)


def refused(verifier, token):
    with pytest.raises(AuthError) as caught:
        verifier.verify(token)
    return caught.value.reason


def claims(**extra):
    return {"sub": "42", "exp": NOW + 60, "iat": NOW, **extra}


def test_a_valid_token(verifier):
    token = sign(claims(roles=["admin"]), headers={"kid": "k1"})
    verified = verifier.verify(token)
    assert verified.subject == "42"
    assert verified.claims["roles"] == ["admin"]
    assert (verified.kid, verified.algorithm) == ("k1", "HS256")


def test_a_token_without_kid_is_tried_against_the_keys_of_its_algorithm(verifier):
    assert verifier.verify(sign(claims())).subject == "42"


def test_expired(verifier, clock):
    token = sign(claims())
    clock.advance(60 + 10)  # exp plus the default leeway
    assert refused(verifier, token) is Reason.EXPIRED


def test_expiry_has_a_small_leeway(verifier, clock):
    token = sign(claims())
    clock.advance(60 + 9)
    assert verifier.verify(token).subject == "42"


def test_exp_is_required_and_numeric(verifier):
    assert refused(verifier, sign({"sub": "42"})) is Reason.MISSING_CLAIM
    for bad in ("soon", True, None, [1]):
        token = sign({"sub": "42", "exp": bad})
        assert refused(verifier, token) in (Reason.INVALID_CLAIM, Reason.MISSING_CLAIM)


def test_not_yet_valid(verifier):
    assert refused(verifier, sign(claims(nbf=NOW + 11))) is Reason.NOT_YET_VALID
    assert verifier.verify(sign(claims(nbf=NOW + 9))).subject == "42"


def test_issued_in_the_future(verifier):
    assert refused(verifier, sign(claims(iat=NOW + 11))) is Reason.ISSUED_IN_FUTURE
    assert refused(verifier, sign(claims(iat="now"))) is Reason.INVALID_CLAIM


def test_a_non_string_subject_is_refused(verifier):
    assert refused(verifier, sign(claims(sub=42))) is Reason.INVALID_CLAIM


def test_wrong_signature(verifier):
    assert refused(verifier, sign(claims(), secret=OLD_SECRET)) is Reason.BAD_SIGNATURE
    head, body, sig = sign(claims()).split(".")
    forged_body = b64(b'{"sub":"1","exp":1900000000}')
    assert refused(verifier, f"{head}.{forged_body}.{sig}") is Reason.BAD_SIGNATURE
    assert refused(verifier, f"{head}.{body}.{sig[:-4]}AAAA") is Reason.BAD_SIGNATURE


@pytest.mark.parametrize("alg", ["none", "None", "NONE", "nOnE"])
def test_alg_none_is_refused(verifier, alg):
    token = raw_token({"alg": alg, "typ": "JWT"}, claims())
    assert refused(verifier, token) is Reason.ALGORITHM_NOT_ALLOWED
    assert refused(verifier, raw_token({"alg": alg, "kid": "k1"}, claims())) \
        is Reason.ALGORITHM_NOT_ALLOWED


def test_a_missing_or_odd_alg_is_refused(verifier):
    assert refused(verifier, raw_token({"typ": "JWT"}, claims())) is Reason.ALGORITHM_NOT_ALLOWED
    assert refused(verifier, raw_token({"alg": ["HS256"]}, claims())) \
        is Reason.ALGORITHM_NOT_ALLOWED


def _hs256_with(secret: bytes, header: dict, body: dict) -> str:
    unsigned = raw_token(header, body).rsplit(".", 1)[0]
    return f"{unsigned}.{b64(hmac.new(secret, unsigned.encode(), hashlib.sha256).digest())}"


def test_key_confusion_hs256_signed_with_the_rsa_public_key(rsa_private, clock):
    public = pem_key(public_pem(rsa_private), "RS256")
    verifier = TokenVerifier(KeyRing([public]), clock=clock)
    for header in ({"alg": "HS256"}, {"alg": "HS256", "kid": public.kid}):
        token = _hs256_with(public_pem(rsa_private), header, claims())
        assert refused(verifier, token) is Reason.ALGORITHM_NOT_ALLOWED
    # The same attack spelled with the DER bytes of the key is refused the same way.
    der = public.verifying.public_bytes(Encoding.DER, PublicFormat.SubjectPublicKeyInfo)
    der_token = _hs256_with(der, {"alg": "HS256"}, claims())
    assert refused(verifier, der_token) is Reason.ALGORITHM_NOT_ALLOWED


def test_an_rsa_token_is_refused_by_an_hmac_verifier(verifier, rsa_private):
    token = jwt.encode(claims(), private_pem(rsa_private), algorithm="RS256")
    assert refused(verifier, token) is Reason.ALGORITHM_NOT_ALLOWED


def test_the_key_decides_the_algorithm(rsa_private, clock):
    pem = private_pem(rsa_private)
    ring = KeyRing([pem_key(pem, "RS256", kid="rs"), pem_key(pem, "PS256", kid="ps")])
    verifier = TokenVerifier(ring, clock=clock)
    token = jwt.encode(claims(), pem, algorithm="PS256", headers={"kid": "rs"})
    assert refused(verifier, token) is Reason.ALGORITHM_NOT_ALLOWED
    good = jwt.encode(claims(), pem, algorithm="PS256", headers={"kid": "ps"})
    assert verifier.verify(good).kid == "ps"


def test_unknown_kid(verifier):
    assert refused(verifier, sign(claims(), headers={"kid": "k9"})) is Reason.UNKNOWN_KID
    assert refused(verifier, raw_token({"alg": "HS256", "kid": 7}, claims())) \
        is Reason.MALFORMED_TOKEN


def test_issuer_and_audience_are_matched_exactly(ring, clock):
    verifier = TokenVerifier(ring, issuer=ISS, audience=AUD, clock=clock)
    assert verifier.verify(sign(claims(iss=ISS, aud=AUD))).subject == "42"
    assert verifier.verify(sign(claims(iss=ISS, aud=["other", AUD]))).subject == "42"
    assert refused(verifier, sign(claims(iss=ISS + "/", aud=AUD))) is Reason.WRONG_ISSUER
    assert refused(verifier, sign(claims(iss=ISS.upper(), aud=AUD))) is Reason.WRONG_ISSUER
    assert refused(verifier, sign(claims(aud=AUD))) is Reason.MISSING_CLAIM
    assert refused(verifier, sign(claims(iss=ISS, aud="apix"))) is Reason.WRONG_AUDIENCE
    assert refused(verifier, sign(claims(iss=ISS, aud=["a", "b"]))) is Reason.WRONG_AUDIENCE
    assert refused(verifier, sign(claims(iss=ISS))) is Reason.MISSING_CLAIM
    assert refused(verifier, sign(claims(iss=ISS, aud=[1]))) is Reason.INVALID_CLAIM
    # PyJWT will not encode a non-string iss, so this one is signed by hand.
    odd = jwt.PyJWS().encode(json.dumps(claims(iss=["x"], aud=AUD)).encode(), SECRET,
                             algorithm="HS256")
    assert refused(verifier, odd) is Reason.WRONG_ISSUER


def test_a_token_for_an_audience_is_refused_when_none_is_configured(verifier):
    assert refused(verifier, sign(claims(aud="someone-else"))) is Reason.WRONG_AUDIENCE


def test_required_claims(ring, clock):
    verifier = TokenVerifier(ring, required_claims=["sub", "scope"], clock=clock)
    assert refused(verifier, sign(claims())) is Reason.MISSING_CLAIM
    assert verifier.verify(sign(claims(scope="read"))).claims["scope"] == "read"


def test_unknown_critical_headers_are_refused(verifier):
    token = sign(claims(), headers={"crit": ["exp"], "exp": 1})
    assert refused(verifier, token) is Reason.UNSUPPORTED_CRITICAL
    assert refused(verifier, sign(claims(), headers={"crit": ["b64"], "b64": True})) \
        is Reason.UNSUPPORTED_CRITICAL
    assert refused(verifier, raw_token({"alg": "HS256", "b64": False}, claims())) \
        is Reason.MALFORMED_TOKEN


@pytest.mark.parametrize("token", ["", "abc", "a.b", "a.b.c.d.e", "!!!.e30.", "W10.e30.c2ln",
                                   "eyJhbGciOiJIUzI1NiJ9.e30", "bm90IGpzb24.e30.c2ln"])
def test_malformed_tokens(verifier, token):
    assert refused(verifier, token) is Reason.MALFORMED_TOKEN


def test_a_signed_payload_that_is_not_an_object(ring, clock):
    token = jwt.PyJWS().encode(b"[1, 2]", SECRET, algorithm="HS256")
    assert refused(TokenVerifier(ring, clock=clock), token) is Reason.MALFORMED_TOKEN


def test_oversized_tokens_are_refused_first(ring, clock):
    verifier = TokenVerifier(ring, max_length=100, clock=clock)
    assert refused(verifier, "a" * 101) is Reason.TOKEN_TOO_LONG


def test_rotation_old_key_verifies_new_key_signs(clock):
    old_ring = KeyRing([hmac_key(OLD_SECRET)])
    old_token = TokenIssuer(old_ring, clock=clock).issue("7")
    rotated = KeyRing([hmac_key(SECRET), hmac_key(OLD_SECRET)])
    verifier = TokenVerifier(rotated, clock=clock)
    assert verifier.verify(old_token).kid == old_ring.keys[0].kid
    new_token = TokenIssuer(rotated, clock=clock).issue("7")
    assert verifier.verify(new_token).kid == rotated.keys[0].kid
    assert jwt.get_unverified_header(new_token)["kid"] == hmac_key(SECRET).kid
    # Once the old key is retired, its tokens stop working.
    retired = TokenVerifier(KeyRing([hmac_key(SECRET)]), clock=clock)
    assert refused(retired, old_token) is Reason.UNKNOWN_KID
    assert refused(retired, sign(claims(), secret=OLD_SECRET)) is Reason.BAD_SIGNATURE


def test_a_short_secret_in_debug_verifies_without_warnings(clock):
    ring = KeyRing([hmac_key("your-secret-key", allow_short=True)])
    token = TokenIssuer(ring, clock=clock).issue("1")  # warnings are errors in this suite
    assert TokenVerifier(ring, clock=clock).verify(token).subject == "1"


@pytest.mark.parametrize("algorithm", sorted(ASYMMETRIC_ALGORITHMS))
def test_every_asymmetric_algorithm(algorithm, rsa_private, other_rsa_private, clock):
    private = asymmetric_private(algorithm, rsa_private)
    signer = KeyRing([pem_key(private_pem(private), algorithm)])
    verifier = TokenVerifier(KeyRing([pem_key(public_pem(private), algorithm)]), clock=clock)
    token = TokenIssuer(signer, clock=clock).issue("u1")
    assert verifier.verify(token).algorithm == algorithm
    if algorithm[:2] in ("RS", "PS"):
        stranger = KeyRing([pem_key(private_pem(other_rsa_private), algorithm,
                                    kid=signer.keys[0].kid)])
        forged = TokenIssuer(stranger, clock=clock).issue("u1")
        assert refused(verifier, forged) is Reason.BAD_SIGNATURE


def test_the_issuer_sets_the_registered_claims(clock):
    ring = KeyRing([hmac_key(SECRET)])
    issuer = TokenIssuer(ring, issuer=ISS, audience=AUD, clock=clock)
    token = issuer.issue(42, expires_in=timedelta(minutes=5), claims={"roles": ["a"]},
                         not_before=NOW)
    verified = TokenVerifier(ring, issuer=ISS, audience=AUD, clock=clock).verify(token)
    c = verified.claims
    assert (c["sub"], c["iat"], c["exp"], c["nbf"], c["iss"], c["aud"], c["roles"]) == (
        "42", int(NOW), int(NOW) + 300, int(NOW), ISS, AUD, ["a"])
    assert len(c["jti"]) >= 16 and c["jti"] != jwt.decode(
        issuer.issue(42), options={"verify_signature": False})["jti"]
    assert TokenIssuer(ring, default_ttl=60, clock=clock).issue("x") != token


def test_the_issuer_refuses_what_it_must_set_itself(clock):
    issuer = TokenIssuer(KeyRing([hmac_key(SECRET)]), clock=clock)
    for claim in ("exp", "sub", "iss", "aud", "iat", "nbf", "jti"):
        with pytest.raises(ValueError, match="set by the issuer"):
            issuer.issue("1", claims={claim: 1})
    for ttl in (0, -1, float("inf"), float("nan")):
        with pytest.raises(ValueError, match="positive"):
            issuer.issue("1", expires_in=ttl)


def test_an_issuer_needs_a_private_key(rsa_private):
    with pytest.raises(ValueError, match="cannot sign"):
        TokenIssuer(KeyRing([pem_key(public_pem(rsa_private), "RS256")]))


class _NoKeysYet:
    algorithms = frozenset({"RS256"})

    def current(self):
        return None

    def note_unknown_kid(self, kid):
        raise AssertionError("not reached")


def test_no_keys_yet_is_its_own_reason(clock):
    verifier = TokenVerifier(_NoKeysYet(), clock=clock)
    with pytest.raises(AuthError) as caught:
        verifier.verify("a.b.c")
    assert caught.value.reason is Reason.KEYS_UNAVAILABLE and caught.value.status == 503


def test_leeway_is_small(ring):
    with pytest.raises(ValueError, match="at most 300"):
        TokenVerifier(ring, leeway=3600)
    with pytest.raises(ValueError):
        TokenVerifier(ring, leeway=-1)
