"""Reading the Authorization header, and what a refusal shows outside."""

import pytest

from pyframe_auth import AuthError, Reason, bearer_token, query_token, www_authenticate
from pyframe_auth.bearer import MAX_TOKEN_LENGTH

TOKEN = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.c2ln"


@pytest.mark.parametrize("header", [f"Bearer {TOKEN}", f"bearer {TOKEN}", f"BEARER  {TOKEN}",
                                    f"Bearer {TOKEN} "])
def test_a_bearer_header_gives_its_token(header):
    assert bearer_token(header) == TOKEN


@pytest.mark.parametrize("header", [None, "", "Basic dXNlcjpwYXNz", "Bearerx abc", "Digest a=b"])
def test_no_bearer_credential_is_none(header):
    assert bearer_token(header) is None


@pytest.mark.parametrize("header", ["Bearer", "Bearer ", "Bearer a b", "Bearer a,b",
                                    "Bearer\tabc", 'Bearer "abc"', "Bearer ===", "Bearer é"])
def test_a_malformed_bearer_header_is_invalid_request(header):
    with pytest.raises(AuthError) as caught:
        bearer_token(header)
    assert caught.value.reason is Reason.MALFORMED_HEADER
    assert caught.value.status == 400
    assert caught.value.error == "invalid_request"


def test_an_oversized_token_is_refused_before_parsing():
    with pytest.raises(AuthError) as caught:
        bearer_token("Bearer " + "a" * (MAX_TOKEN_LENGTH + 1))
    assert caught.value.reason is Reason.TOKEN_TOO_LONG
    assert bearer_token("Bearer " + "a" * MAX_TOKEN_LENGTH) == "a" * MAX_TOKEN_LENGTH


def test_the_query_fallback_takes_the_same_checks():
    assert query_token(TOKEN) == TOKEN
    assert query_token("") is None and query_token(None) is None
    with pytest.raises(AuthError):
        query_token("a b")


@pytest.mark.parametrize("reason", [r for r in Reason if r not in (
    Reason.NO_CREDENTIALS, Reason.MALFORMED_HEADER, Reason.KEYS_UNAVAILABLE,
    Reason.SESSION_STORE_UNAVAILABLE, Reason.INSUFFICIENT_SCOPE)])
def test_every_token_failure_looks_the_same_outside(reason):
    error = AuthError(reason, "exp")
    assert (error.status, error.error) == (401, "invalid_token")
    assert error.public() == {"error": "invalid_token", "detail": "The access token is invalid."}
    assert www_authenticate(error, realm="api") == (
        'Bearer realm="api", error="invalid_token", '
        'error_description="The access token is invalid."')
    assert error.reason is reason  # the difference stays inside, for logs


def test_no_credentials_get_a_challenge_without_an_error_code():
    error = AuthError(Reason.NO_CREDENTIALS)
    assert error.status == 401
    assert www_authenticate(error) == "Bearer"
    assert www_authenticate(error, realm='say "hi"') == 'Bearer realm="say \\"hi\\""'


def test_other_outcomes():
    assert AuthError(Reason.INSUFFICIENT_SCOPE).status == 403
    assert www_authenticate(AuthError(Reason.INSUFFICIENT_SCOPE), scope="admin").startswith(
        'Bearer scope="admin", error="insufficient_scope"')
    assert AuthError(Reason.KEYS_UNAVAILABLE).status == 503
    assert str(AuthError(Reason.MISSING_CLAIM, "exp")) == "missing_claim: exp"
