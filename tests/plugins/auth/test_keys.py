"""Loading keys: each bound to one algorithm, HMAC and asymmetric never mixed, weak ones refused."""

import pytest
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from pyframe_auth import Key, KeyRing, hmac_key, load_pem_file, pem_key
from pyframe_auth.keys import HMAC_MIN_KEY_BYTES, make_jws, thumbprint

from .support import OLD_SECRET, SECRET, asymmetric_private, private_pem, public_pem


@pytest.mark.parametrize("algorithm, minimum", sorted(HMAC_MIN_KEY_BYTES.items()))
def test_hmac_secrets_must_be_as_long_as_the_hash(algorithm, minimum):
    assert hmac_key("k" * minimum, algorithm).algorithm == algorithm
    with pytest.raises(ValueError, match=f"{minimum - 1} bytes; {algorithm} needs at least "
                                         f"{minimum}"):
        hmac_key("k" * (minimum - 1), algorithm)


def test_a_short_secret_is_allowed_only_when_asked_and_is_marked():
    key = hmac_key("your-secret-key", allow_short=True)
    assert key.short
    assert KeyRing([key]).has_short_keys
    assert not hmac_key(SECRET).short


def test_an_empty_secret_is_refused_even_when_short_ones_are_allowed():
    with pytest.raises(ValueError, match="empty"):
        hmac_key("", allow_short=True)


def test_a_public_key_is_never_an_hmac_secret(rsa_private):
    with pytest.raises(ValueError, match="asymmetric key"):
        hmac_key(public_pem(rsa_private))


def test_hmac_and_asymmetric_keys_cannot_share_a_ring(rsa_private):
    with pytest.raises(ValueError, match="cannot share one verifier"):
        KeyRing([hmac_key(SECRET), pem_key(public_pem(rsa_private), "RS256")])


def test_a_ring_needs_keys_with_distinct_kids():
    with pytest.raises(ValueError, match="at least one key"):
        KeyRing([])
    with pytest.raises(ValueError, match="share the kid"):
        KeyRing([hmac_key(SECRET, kid="a"), hmac_key(OLD_SECRET, kid="a")])


def test_the_newest_key_signs(rsa_private):
    new, old = hmac_key(SECRET), hmac_key(OLD_SECRET)
    ring = KeyRing([new, old])
    assert ring.signing_key is new
    assert set(ring.by_kid) == {new.kid, old.kid}
    public_only = KeyRing([pem_key(public_pem(rsa_private), "RS256")])
    assert public_only.signing_key is None


@pytest.mark.parametrize("algorithm", ["RS256", "PS384", "ES256", "ES384", "ES512", "EdDSA"])
def test_pem_keys_private_and_public(algorithm, rsa_private):
    private = asymmetric_private(algorithm, rsa_private)
    signing = pem_key(private_pem(private), algorithm)
    verifying = pem_key(public_pem(private), algorithm)
    assert signing.signing is not None and verifying.signing is None
    assert signing.kid == verifying.kid  # the thumbprint is of the public half
    assert not signing.symmetric


def test_ed448_is_eddsa(rsa_private):
    assert pem_key(public_pem(asymmetric_private("Ed448", rsa_private)), "EdDSA").kid


@pytest.mark.parametrize("algorithm, other", [("ES256", "ES384"), ("ES384", "ES512"),
                                              ("RS256", "ES256"), ("EdDSA", "RS256")])
def test_a_key_of_another_type_does_not_load(algorithm, other, rsa_private):
    pem = public_pem(asymmetric_private(other, rsa_private))
    with pytest.raises(ValueError, match=f"usable with {algorithm}"):
        pem_key(pem, algorithm)


def test_hmac_algorithms_do_not_take_pem_and_unknown_algorithms_are_refused(rsa_private):
    with pytest.raises(ValueError, match="takes a secret"):
        pem_key(public_pem(rsa_private), "HS256")
    for name in ("none", "ES256K", "RS1", ""):
        with pytest.raises(ValueError, match="unsupported token algorithm"):
            pem_key(public_pem(rsa_private), name)
    with pytest.raises(ValueError, match="unsupported token algorithm"):
        make_jws(["none"])


def test_small_rsa_keys_are_refused():
    small = rsa.generate_private_key(public_exponent=65537, key_size=1024)
    with pytest.raises(ValueError, match="1024 bits"):
        pem_key(public_pem(small), "RS256")


def test_garbage_is_not_a_pem_key():
    with pytest.raises(ValueError, match="not a PEM key"):
        pem_key("-----BEGIN PUBLIC KEY-----\nnope\n-----END PUBLIC KEY-----\n", "ES256")


def test_load_pem_file(tmp_path, rsa_private):
    path = tmp_path / "key.pem"
    path.write_bytes(private_pem(rsa_private))
    key = load_pem_file(path, "RS256", kid="main")
    assert (key.kid, key.algorithm, key.signing is not None) == ("main", "RS256", True)


def test_thumbprint_is_rfc7638():
    # RFC 7638 §3.1's example key and its thumbprint.
    n = ("0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6tSoc_B"
         "JECPebWKRXjBZCiFV4n3oknjhMstn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-65YGjQR0_F"
         "DW2QvzqY368QQMicAtaSqzs8KJZgnYb9c7d0zgdAZHzu6qMQvRL5hajrn1n91CbOpbISD08qNLyrdkt-bFTWhAI4"
         "vMQFh6WeZu0fM4lFd2NcRwr3XPksINHaQ-G_xBniIqbw0Ls1jF44-csFCur-kEgU8awapJzKnqDKgw")
    from jwt.algorithms import RSAAlgorithm
    public = RSAAlgorithm.from_jwk({"kty": "RSA", "n": n, "e": "AQAB"})
    assert thumbprint(public, "RS256") == "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs"


def test_repr_never_shows_key_material():
    key = hmac_key(SECRET)
    assert SECRET not in repr(key) and SECRET not in repr(KeyRing([key]))
    assert repr(key).startswith("Key(kid=")
    assert isinstance(key, Key) and key.symmetric


def test_an_ec_private_key_signs_with_its_curve():
    private = ec.generate_private_key(ec.SECP384R1())
    assert pem_key(private_pem(private), "ES384").signing is not None
