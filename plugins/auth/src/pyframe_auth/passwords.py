"""Password hashing on argon2-cffi (Argon2id, RFC 9106 parameters), with rehash-on-verify.

Nothing here is home-made: argon2-cffi hashes, salts and compares; this module only decides
what a failed or outdated verification means for the caller.
"""

from __future__ import annotations

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

__all__ = ["Passwords", "hash_password", "verify_and_update", "verify_password"]


class Passwords:
    """Hashes and checks passwords with one argon2 ``PasswordHasher``.

    Argon2 is slow on purpose (tens of milliseconds, tens of MiB): call these from a sync
    handler, which pyframe runs in its thread pool, never directly on the event loop.
    """

    def __init__(self, hasher: PasswordHasher | None = None) -> None:
        self.hasher = hasher or PasswordHasher()
        self._dummy: str | None = None

    def hash(self, password: str | bytes) -> str:
        return self.hasher.hash(password)

    def _dummy_hash(self) -> str:
        if self._dummy is None:
            self._dummy = self.hasher.hash("pyframe-auth: a password no one has")
        return self._dummy

    def verify(self, password: str | bytes, hashed: str | None) -> bool:
        """True when ``password`` matches ``hashed``. ``hashed=None`` (no such user) still
        spends one verification, so a login's timing does not say whether the user exists. A
        corrupt hash is False, never an exception."""
        if hashed is None:
            try:
                self.hasher.verify(self._dummy_hash(), password)
            except VerificationError:
                pass
            return False
        try:
            return self.hasher.verify(hashed, password)
        except (VerificationError, InvalidHashError, ValueError):
            return False

    def needs_rehash(self, hashed: str) -> bool:
        try:
            return self.hasher.check_needs_rehash(hashed)
        except (InvalidHashError, ValueError):
            return True

    def verify_and_update(self, password: str | bytes,
                          hashed: str | None) -> tuple[bool, str | None]:
        """``(ok, new_hash)``: ``new_hash`` is a fresh hash to store when the password matched
        but ``hashed`` was made with other parameters (the only moment the password is known)."""
        if not self.verify(password, hashed):
            return False, None
        assert hashed is not None  # verify() is False for None
        if self.needs_rehash(hashed):
            return True, self.hash(password)
        return True, None


_default = Passwords()


def hash_password(password: str | bytes, *, passwords: Passwords | None = None) -> str:
    """An Argon2id hash of ``password`` (salt and parameters included), for storing."""
    return (passwords or _default).hash(password)


def verify_password(password: str | bytes, hashed: str | None, *,
                    passwords: Passwords | None = None) -> bool:
    """Whether ``password`` matches a stored hash (None when the user does not exist)."""
    return (passwords or _default).verify(password, hashed)


def verify_and_update(password: str | bytes, hashed: str | None, *,
                      passwords: Passwords | None = None) -> tuple[bool, str | None]:
    """``verify_password``, plus a new hash to store when the parameters have changed."""
    return (passwords or _default).verify_and_update(password, hashed)
