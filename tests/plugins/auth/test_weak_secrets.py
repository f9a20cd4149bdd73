"""Weak secret keys: refused outside debug, loudly warned about in debug, never printed."""

import base64
import random

import pytest
from structlog.testing import capture_logs

from pyframe_auth import WeakSecretError, Weakness, check_secret_key, find_weaknesses

from .support import SECRET


@pytest.mark.parametrize("secret, expected", [
    ("", {Weakness.EMPTY}),
    (None, {Weakness.EMPTY}),
    ("your-secret-key", {Weakness.TOO_SHORT, Weakness.EXAMPLE}),  # the reference's example
    ("secret", {Weakness.TOO_SHORT, Weakness.EXAMPLE}),
    ("changeme", {Weakness.TOO_SHORT, Weakness.EXAMPLE}),
    ("password", {Weakness.TOO_SHORT, Weakness.EXAMPLE}),
    ("k3Y-9xQ", {Weakness.TOO_SHORT}),
    ("your-secret-key-change-this-in-production", {Weakness.EXAMPLE}),
    ("my-super-secret-jwt-signing-key-2024!!", {Weakness.EXAMPLE}),
    ("CHANGE_ME_" + "q8Zr2Lw0Xp5Vt7Nb3Mc6Hd1J", {Weakness.EXAMPLE}),
    ("django-insecure-" + "a8f3k2m9q1w7e5r4t6y0u2i3o9p8l7k6", {Weakness.EXAMPLE}),
    ("a" * 64, {Weakness.REPETITIVE}),
    ("abcd" * 16, {Weakness.REPETITIVE}),
    ("0123456789abcdefghijklmnopqrstuvwxyz", {Weakness.REPETITIVE}),
    ("12121212121212121212121212121212", {Weakness.REPETITIVE}),
])
def test_weak_secrets_are_found(secret, expected):
    assert set(find_weaknesses(secret)) == expected


_RNG = random.Random(13)  # seeded: the same "random" keys on every run


def urlsafe_key(rng: random.Random) -> str:
    """What secrets.token_urlsafe(32) makes, from a seeded generator."""
    return base64.urlsafe_b64encode(rng.randbytes(32)).rstrip(b"=").decode()


@pytest.mark.parametrize("secret", [SECRET, urlsafe_key(_RNG), _RNG.randbytes(32).hex(),
                                    _RNG.randbytes(32), "correct horse battery staple zebra mug"])
def test_strong_secrets_pass(secret):
    assert find_weaknesses(secret) == ()


def test_random_secrets_never_trip_the_checks():
    # A false alarm would stop someone's app: none in a thousand random keys of each kind.
    rng = random.Random(7)
    for _ in range(1000):
        assert find_weaknesses(urlsafe_key(rng)) == ()
        assert find_weaknesses(rng.randbytes(32)) == ()
        assert find_weaknesses(rng.randbytes(32).hex()) == ()


def test_the_minimum_follows_the_algorithm():
    key = base64.urlsafe_b64encode(random.Random(5).randbytes(36)).decode()  # 48 characters: enough for HS384, not for HS512
    assert find_weaknesses(key, min_length=48) == ()
    assert find_weaknesses(key, min_length=64) == (Weakness.TOO_SHORT,)


def test_outside_debug_a_weak_secret_stops_start_up():
    with pytest.raises(WeakSecretError) as caught:
        check_secret_key("your-secret-key", debug=False)
    message = str(caught.value)
    assert message.startswith("secret_key is not a usable secret")
    assert "shorter than 32 bytes" in message and "example" in message
    assert "secrets.token_urlsafe" in message
    assert "your-secret-key" not in message
    assert caught.value.weaknesses == (Weakness.TOO_SHORT, Weakness.EXAMPLE)


def test_in_debug_a_weak_secret_is_a_loud_warning_without_the_value():
    with capture_logs() as logs:
        found = check_secret_key("your-secret-key", debug=True, name="plugins.auth.secret_key")
    assert found == (Weakness.TOO_SHORT, Weakness.EXAMPLE)
    assert [entry["log_level"] for entry in logs] == ["warning"]
    assert logs[0]["event"] == "auth_weak_secret_key"
    assert logs[0]["setting"] == "plugins.auth.secret_key"
    assert "your-secret-key" not in repr(logs)


def test_a_good_secret_is_silent():
    with capture_logs() as logs:
        assert check_secret_key(SECRET, debug=True) == ()
        assert check_secret_key(SECRET, debug=False) == ()
    assert logs == []
