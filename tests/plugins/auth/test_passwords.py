"""Password hashing on argon2-cffi, with rehash-on-verify. Cheap parameters keep it fast."""

import pytest
from argon2 import PasswordHasher

from pyframe_auth import Passwords, hash_password, verify_and_update, verify_password

CHEAP = PasswordHasher(time_cost=1, memory_cost=8, parallelism=1)
CHEAPER_V2 = PasswordHasher(time_cost=2, memory_cost=8, parallelism=1)


@pytest.fixture
def passwords():
    return Passwords(CHEAP)


def test_hash_and_verify(passwords):
    hashed = passwords.hash("correct horse")
    assert hashed.startswith("$argon2id$") and "correct horse" not in hashed
    assert passwords.verify("correct horse", hashed)
    assert not passwords.verify("correct horsf", hashed)
    assert passwords.hash("correct horse") != hashed  # salted


def test_module_functions_with_a_chosen_hasher(passwords):
    hashed = hash_password("pw", passwords=passwords)
    assert verify_password("pw", hashed, passwords=passwords)
    assert verify_and_update("pw", hashed, passwords=passwords) == (True, None)


def test_rehash_when_parameters_change(passwords):
    old = passwords.hash("pw")
    upgraded = Passwords(CHEAPER_V2)
    ok, new = upgraded.verify_and_update("pw", old)
    assert ok and new is not None and new != old and "t=2" in new
    assert upgraded.verify_and_update("pw", new) == (True, None)
    assert upgraded.verify_and_update("wrong", old) == (False, None)


def test_corrupt_or_missing_hashes_are_false_not_errors(passwords):
    for hashed in ("", "not a hash", "$argon2id$v=19$m=8,t=1,p=1$bad", "$2b$12$abc", "é"):
        assert not passwords.verify("pw", hashed)
        assert passwords.verify_and_update("pw", hashed) == (False, None)
    assert not passwords.verify("pw", None)  # no such user: one verification spent anyway
    assert passwords.needs_rehash("garbage")


def test_the_default_hasher_is_argon2id_with_rfc9106_parameters():
    hashed = hash_password("pw")
    assert hashed.startswith("$argon2id$v=19$m=65536,t=3,p=4$")
    assert verify_password("pw", hashed)
