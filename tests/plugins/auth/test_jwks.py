"""JWK Sets from a document or a file: which keys are taken, and tokens checked against them."""

import json

import jwt
import msgspec
import pytest

from pyframe_auth import (AuthError, JWKSError, Reason, TokenVerifier, load_jwks_file,
                          parse_jwks)
from pyframe_auth.jwks import MAX_JWKS_KEYS

from .support import NOW, asymmetric_private, jwk, private_pem


def claims():
    return {"sub": "9", "exp": NOW + 60}


def test_a_jwks_file_verifies_tokens_by_kid(tmp_path, rsa_private, clock):
    es = asymmetric_private("ES256", rsa_private)
    path = tmp_path / "jwks.json"
    path.write_text(json.dumps({"keys": [jwk(rsa_private, "RS256", "rsa-1"),
                                         jwk(es, "ES256", "ec-1")]}))
    parsed = load_jwks_file(path, algorithms=["RS256", "ES256"])
    assert set(parsed.keyring.by_kid) == {"rsa-1", "ec-1"} and parsed.skipped == []
    verifier = TokenVerifier(parsed.keyring, clock=clock)
    rs = jwt.encode(claims(), private_pem(rsa_private), algorithm="RS256",
                    headers={"kid": "rsa-1"})
    es_token = jwt.encode(claims(), private_pem(es), algorithm="ES256", headers={"kid": "ec-1"})
    assert verifier.verify(rs).kid == "rsa-1"
    assert verifier.verify(es_token).kid == "ec-1"
    for headers, reason in (({"kid": "rsa-2"}, Reason.UNKNOWN_KID), (None, Reason.UNKNOWN_KID),
                            ({"kid": "ec-1"}, Reason.ALGORITHM_NOT_ALLOWED)):
        token = jwt.encode(claims(), private_pem(rsa_private), algorithm="RS256",
                           headers=headers)
        with pytest.raises(AuthError) as caught:
            verifier.verify(token)
        assert caught.value.reason is reason


def test_only_allow_listed_kids_are_taken(rsa_private, other_rsa_private):
    doc = {"keys": [jwk(rsa_private, "RS256", "a"), jwk(other_rsa_private, "RS256", "b")]}
    parsed = parse_jwks(doc, algorithms=["RS256"], allowed_kids=["b"])
    assert list(parsed.keyring.by_kid) == ["b"]
    assert parsed.skipped == [("a", "kid not on the allow-list")]


@pytest.mark.parametrize("change, why", [
    ({"use": "enc"}, "not a signature key"),
    ({"key_ops": ["encrypt"]}, "key_ops does not include verify"),
    ({"alg": "PS256"}, "alg 'PS256' is not allowed"),
    ({"alg": "ES256"}, "alg 'ES256' is not allowed"),
    ({"d": "AAAA"}, "the set publishes a private key"),
    ({"kid": None}, "no kid"),
])
def test_unusable_keys_are_skipped_with_a_reason(rsa_private, other_rsa_private, change, why):
    key = {**jwk(rsa_private, "RS256", "x"), **change}
    doc = {"keys": [{k: v for k, v in key.items() if v is not None},
                    jwk(other_rsa_private, "RS256", "good")]}
    parsed = parse_jwks(doc, algorithms=["RS256"])
    assert list(parsed.keyring.by_kid) == ["good"]
    assert parsed.skipped[0][1] == why


def test_a_key_without_alg_is_bound_only_when_one_algorithm_fits(rsa_private):
    bare = {"keys": [jwk(rsa_private, "RS256", "r", alg_member=False)]}
    assert parse_jwks(bare, algorithms=["RS256", "ES256"]).keyring.by_kid["r"].algorithm == "RS256"
    with pytest.raises(JWKSError, match="do not settle one"):
        parse_jwks(bare, algorithms=["RS256", "PS256"])
    with pytest.raises(JWKSError, match="no allowed algorithm fits"):
        parse_jwks(bare, algorithms=["ES256"])


def test_a_curve_must_fit_its_algorithm(rsa_private):
    p384 = asymmetric_private("ES384", rsa_private)
    doc = {"keys": [jwk(p384, "ES384", "e", alg="ES256")]}
    with pytest.raises(JWKSError, match="does not fit alg 'ES256'"):
        parse_jwks(doc, algorithms=["ES256", "ES384"])


def test_symmetric_keys_never_come_from_a_jwks():
    doc = {"keys": [{"kty": "oct", "k": "c2VjcmV0", "kid": "s", "alg": "HS256"}]}
    with pytest.raises(ValueError, match="not asymmetric algorithms"):
        parse_jwks(doc, algorithms=["HS256"])
    with pytest.raises(JWKSError, match="symmetric keys are never taken"):
        parse_jwks(doc, algorithms=["RS256"])


def test_duplicate_kids_keep_the_first(rsa_private, other_rsa_private):
    doc = {"keys": [jwk(rsa_private, "RS256", "a"), jwk(other_rsa_private, "RS256", "a")]}
    parsed = parse_jwks(doc, algorithms=["RS256"])
    assert len(parsed.keyring) == 1 and parsed.skipped == [("a", "a second key with this kid")]


@pytest.mark.parametrize("document, message", [
    (b"not json", "not JSON"), (b"[]", '"keys" list'), (b'{"keys": {}}', '"keys" list'),
    (b'{"keys": []}', "no usable key"), (b'{"keys": [1, "x"]}', "no usable key"),
    (b" " * (256 * 1024 + 1), "over"),
])
def test_malformed_documents(document, message):
    with pytest.raises(JWKSError, match=message):
        parse_jwks(document, algorithms=["RS256"])


def test_too_many_keys_are_refused_whole(rsa_private):
    doc = {"keys": [jwk(rsa_private, "RS256", str(i)) for i in range(MAX_JWKS_KEYS + 1)]}
    with pytest.raises(JWKSError, match="at most"):
        parse_jwks(msgspec.json.encode(doc), algorithms=["RS256"])


def test_algorithms_are_required():
    with pytest.raises(ValueError, match="needs the list"):
        parse_jwks({"keys": []}, algorithms=[])
