"""The signed session cookie: round trips, tampering, rotation, expiry, and the 4 096-byte limit."""

import hashlib
import random

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from itsdangerous import URLSafeSerializer

from pyframe_auth import (CookieSettings, InvalidSessionCookie, SessionCookieCodec,
                          SessionTooLarge, SessionValueError)

from .support import NOW, OLD_SECRET, SECRET, FakeClock

json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**63), 2**63 - 1)
    | st.floats(allow_nan=False, allow_infinity=False) | st.text(max_size=20),
    lambda children: st.lists(children, max_size=4)
    | st.dictionaries(st.text(max_size=8), children, max_size=4),
    max_leaves=12)
sessions = st.dictionaries(st.text(max_size=10), json_values, max_size=6)


@pytest.fixture
def codec(clock):
    return SessionCookieCodec(SECRET, clock=clock)


@settings(max_examples=150, deadline=None, derandomize=True)
@given(data=sessions)
def test_round_trip(data):
    codec = SessionCookieCodec(SECRET, clock=FakeClock())
    decoded = codec.loads(codec.dumps(data))
    assert decoded.data == data
    assert decoded.created == int(NOW)


@settings(max_examples=100, deadline=None, derandomize=True)
@given(data=sessions, position=st.integers(min_value=0), replacement=st.characters(
    codec="ascii", categories=["L", "N"]))
def test_any_changed_character_is_refused(data, position, replacement):
    codec = SessionCookieCodec(SECRET, clock=FakeClock())
    value = codec.dumps(data)
    index = position % len(value)
    tampered = value[:index] + replacement + value[index + 1:]
    if tampered == value:
        return
    try:
        decoded = codec.loads(tampered)
    except InvalidSessionCookie:
        return
    # Only another spelling of the same signature (base64's spare low bits) may pass, and then
    # the payload, which the signature covers character for character, is untouched.
    assert tampered.rsplit(".", 1)[0] == value.rsplit(".", 1)[0]
    assert decoded.data == data


def test_tampered_cookies_are_refused_with_a_reason(codec):
    value = codec.dumps({"user": 1})
    payload, signature = value.rsplit(".", 1)
    forged_payload = SessionCookieCodec("another-secret-of-enough-length-xx").dumps(
        {"user": 2}).rsplit(".", 1)[0]
    for bad in (f"{forged_payload}.{signature}", f"{payload}.{signature[::-1]}", payload, "",
                "x.y", value + "x"):
        with pytest.raises(InvalidSessionCookie) as caught:
            codec.loads(bad)
        assert caught.value.reason == "bad_signature"


def test_rotation_newest_signs_all_verify(clock):
    old = SessionCookieCodec(OLD_SECRET, clock=clock)
    rotated = SessionCookieCodec([SECRET, OLD_SECRET], clock=clock)
    assert rotated.loads(old.dumps({"a": 1})).data == {"a": 1}
    fresh = rotated.dumps({"a": 2})
    assert SessionCookieCodec(SECRET, clock=clock).loads(fresh).data == {"a": 2}
    with pytest.raises(InvalidSessionCookie):
        old.loads(fresh)  # signed with the new key, which the old codec does not know


def test_max_age_is_absolute(clock):
    codec = SessionCookieCodec(SECRET, max_age=3600, clock=clock)
    created = int(clock.now)
    clock.advance(3000)
    resaved = codec.dumps({"a": 1}, created=created)  # saved again, still the same session
    clock.advance(599)
    assert codec.loads(resaved).created == created
    clock.advance(1)
    with pytest.raises(InvalidSessionCookie) as caught:
        codec.loads(resaved)
    assert caught.value.reason == "expired"


def test_a_cookie_from_the_future_is_refused(clock):
    codec = SessionCookieCodec(SECRET, clock=clock)
    value = codec.dumps({}, created=int(clock.now) + 60)
    with pytest.raises(InvalidSessionCookie) as caught:
        codec.loads(value)
    assert caught.value.reason == "from_the_future"
    assert codec.loads(codec.dumps({}, created=int(clock.now) + 5)).data == {}  # clock skew


def test_a_good_signature_over_a_foreign_format_is_malformed(clock):
    other = URLSafeSerializer([SECRET.encode()], salt="pyframe_auth.session",
                              signer_kwargs={"key_derivation": "hmac",
                                             "digest_method": hashlib.sha256})
    with pytest.raises(InvalidSessionCookie) as caught:
        SessionCookieCodec(SECRET, clock=clock).loads(other.dumps({"not": "ours"}))
    assert caught.value.reason == "malformed"


def test_the_salt_separates_uses(clock):
    value = SessionCookieCodec(SECRET, salt="other", clock=clock).dumps({"a": 1})
    with pytest.raises(InvalidSessionCookie):
        SessionCookieCodec(SECRET, clock=clock).loads(value)


def test_the_whole_set_cookie_is_measured(codec):
    header = codec.set_cookie({"cart": [1, 2]}, tls=True)
    assert header.startswith("session=") and "; Max-Age=1209600; Path=/; Secure; HttpOnly; " \
                                                "SameSite=Lax" in header
    assert "Secure" not in codec.set_cookie({}, tls=False)
    # The limit applies to the whole header text, byte for byte.
    data = {"name": "Zoë", "cart": list(range(50))}
    size = len(codec.set_cookie(data, tls=True).encode())
    exact = SessionCookieCodec(SECRET, clock=codec.clock, limit=size)
    assert len(exact.set_cookie(data, tls=True).encode()) == size
    with pytest.raises(SessionTooLarge) as caught:
        SessionCookieCodec(SECRET, clock=codec.clock, limit=size - 1).set_cookie(data, tls=True)
    assert (caught.value.size, caught.value.limit) == (size, size - 1)
    assert "Zo" not in str(caught.value)  # the error carries sizes, not the session


def test_the_default_limit_is_4096_bytes(codec):
    noise = random.Random(7).randbytes(3000).hex()  # does not compress below the limit
    with pytest.raises(SessionTooLarge) as caught:
        codec.set_cookie({"x": noise}, tls=False)
    assert caught.value.limit == 4096 and caught.value.size > 4096
    assert len(codec.set_cookie({"x": noise[:2000]}, tls=True).encode()) <= 4096


def test_an_oversized_session_fails_where_the_handler_sets_it(codec):
    session, refused = codec.session(None)
    assert refused is None and session.new
    session["small"] = "ok"
    with pytest.raises(SessionTooLarge):
        session["big"] = random.Random(3).randbytes(3000).hex()
    assert dict(session) == {"small": "ok"}  # the refused write was undone
    session["small"] = "still fine"
    assert session["small"] == "still fine"


def test_values_that_would_not_round_trip_are_refused(codec):
    for bad in ({"t": (1, 2)}, {"s": {1}}, {"f": float("nan")}, {1: "x"}, {"n": 2**64},
                {"b": b"x"}):
        with pytest.raises(SessionValueError):
            codec.dumps(bad)


def test_a_request_cookie_becomes_a_session(codec, clock):
    value = codec.dumps({"user": 5})
    session, refused = codec.session(value)
    assert (refused, session.new, session.created, dict(session)) == (None, False, int(NOW),
                                                                      {"user": 5})
    session, refused = codec.session(value[:-2])
    assert refused == "bad_signature" and dict(session) == {} and session.new
    session, refused = codec.session("x" * 5000)
    assert refused == "too_long"


def test_cookie_settings_reach_the_header(clock):
    codec = SessionCookieCodec(SECRET, max_age=600, clock=clock,
                               cookie=CookieSettings(name="sid", host_prefix=True,
                                                     same_site="Strict"))
    header = codec.set_cookie({}, tls=False)
    assert header.startswith("__Host-sid=")
    assert header.endswith("; Max-Age=600; Path=/; Secure; HttpOnly; SameSite=Strict")
    assert codec.delete_cookie(tls=True) == (
        "__Host-sid=; Max-Age=0; Expires=Thu, 01 Jan 1970 00:00:00 GMT; Path=/; Secure; "
        "HttpOnly; SameSite=Strict")


def test_keys_are_required():
    for keys in ("", [], [SECRET, ""]):
        with pytest.raises(ValueError, match="non-empty secret key"):
            SessionCookieCodec(keys)
    with pytest.raises(ValueError, match="positive"):
        SessionCookieCodec(SECRET, max_age=0)
