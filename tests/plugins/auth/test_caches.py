"""The bounded caches behind the per-request speed: verified tokens and checked session cookies
are remembered, within a bound, without ever changing what is accepted."""

import pytest

from pyframe_auth import AuthError, InvalidSessionCookie, KeyRing, SessionCookieCodec, \
    TokenIssuer, TokenVerifier, hmac_key
from pyframe_auth.cache import BoundedCache
from pyframe_auth.tokens import CachingVerifier

from .support import OLD_SECRET, SECRET


def test_the_cache_never_grows_past_its_bound_and_drops_the_oldest():
    cache = BoundedCache(3)
    for key in "abcd":
        cache.put(key, key.upper())
    assert len(cache) == 3 and cache.get("a") is None and cache.get("d") == "D"
    cache.put("b", "again")  # an existing key is replaced, nothing dropped
    assert len(cache) == 3 and cache.get("b") == "again"
    off = BoundedCache(0)
    off.put("a", 1)
    assert len(off) == 0
    with pytest.raises(ValueError):
        BoundedCache(-1)


class Rotating:
    """A key source whose ring a test replaces, as a JWKS refresh does."""

    def __init__(self, ring):
        self.ring = ring
        self.algorithms = ring.algorithms

    def current(self):
        return self.ring

    def note_unknown_kid(self, kid):
        pass


def test_a_remembered_token_is_checked_for_time_and_for_its_ring(clock):
    ring = KeyRing([hmac_key(SECRET)])
    source = Rotating(ring)
    verifier = CachingVerifier(TokenVerifier(source, clock=clock), size=8)
    token = TokenIssuer(ring, clock=clock).issue("alice", expires_in=60)
    assert verifier.verify(token).subject == "alice" and len(verifier) == 1
    assert verifier.verify(token).subject == "alice"  # a hit
    clock.advance(120)
    with pytest.raises(AuthError, match="expired"):
        verifier.verify(token)
    clock.advance(-120)
    source.ring = KeyRing([hmac_key(OLD_SECRET)])  # the key that signed it is gone
    with pytest.raises(AuthError, match="bad_signature|unknown_kid"):
        verifier.verify(token)


def test_refused_and_oversized_tokens_are_never_remembered(clock):
    ring = KeyRing([hmac_key(SECRET)])
    verifier = CachingVerifier(TokenVerifier(ring, clock=clock), size=8, max_token=100)
    with pytest.raises(AuthError):
        verifier.verify("a.b.c")
    token = TokenIssuer(ring, clock=clock).issue("alice", claims={"pad": "x" * 200})
    verifier.verify(token)
    assert len(verifier) == 0


def test_a_remembered_cookie_still_expires_and_each_load_gets_its_own_data(clock):
    codec = SessionCookieCodec(SECRET, max_age=3600, clock=clock, cache_size=8)
    value = codec.dumps({"cart": [1]})
    first = codec.loads(value)
    first.data["cart"].append(2)  # a handler changing its session in place
    assert codec.loads(value).data == {"cart": [1]}
    clock.advance(3600)
    with pytest.raises(InvalidSessionCookie, match="expired"):
        codec.loads(value)


def test_a_session_from_a_seen_cookie_is_decoded_only_when_read(clock):
    from pyframe_auth.session_stores import CookieSessions

    codec = SessionCookieCodec(SECRET, clock=clock)
    sessions = CookieSessions(codec, cache_size=8)
    value = codec.dumps({"_auth": {"id": 7}, "cart": [1]})

    class Context:
        headers = {"Cookie": f"session={value}"}
        path, request_id = "/", "r1"

    first = sessions.read(Context())
    assert first.identity == {"id": 7} and first["cart"] == [1]
    second = sessions.read(Context())  # from the cache: no HMAC, data not decoded yet
    assert second.identity == {"id": 7} and second.cookie_value == value
    assert "cart" in repr(second) and not second.accessed  # a repr changes nothing
    second["cart"].append(2)
    assert second.modified and sessions.read(Context())["cart"] == [1]  # each its own copy
    clock.advance(codec.max_age)
    assert sessions.read(Context()).refused == "expired"  # a cached cookie still expires


def test_what_the_first_request_changes_does_not_reach_the_cache(clock):
    from pyframe_auth.session_stores import CookieSessions

    codec = SessionCookieCodec(SECRET, clock=clock)
    sessions = CookieSessions(codec, cache_size=8)
    value = codec.dumps({"_auth": {"id": 7, "roles": ["user"]}})

    class Context:
        headers = {"Cookie": f"session={value}"}
        path, request_id = "/", "r1"

    first = sessions.read(Context())  # checked with the HMAC, and remembered
    first["_auth"]["roles"].append("admin")  # this request's own copy
    assert sessions.read(Context()).identity == {"id": 7, "roles": ["user"]}
