"""The signed session cookie: a dict in, a tamper-evident cookie value out, and back.

Signed with itsdangerous (HMAC-SHA256, keys rotating: the newest signs, all verify), encoded
with msgspec JSON. The cookie is signed, not encrypted: the browser can read what is in it.
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Mapping, Sequence
from typing import Any, NamedTuple

import msgspec
from itsdangerous import BadData, BadPayload, URLSafeSerializer

from .cache import BoundedCache
from .clock import Clock, system_clock
from .cookies import MAX_COOKIE_BYTES, CookieSettings, CookieTooLarge
from .session import Session, check_session_data

__all__ = ["DecodedSession", "InvalidSessionCookie", "SessionCookieCodec", "SessionTooLarge"]

# The same error under the name an app catches it by.
SessionTooLarge = CookieTooLarge
_VERSION = 1
# A few seconds of clock difference between the machines behind one load balancer is normal;
# a cookie "created" further in the future than that was not made by us.
_SKEW = 5.0


class _Payload(msgspec.Struct, array_like=True, frozen=True):
    version: int
    created: int
    data: dict[str, Any]


class _Serializer:
    """The serializer itsdangerous calls: msgspec JSON into a typed payload."""

    def __init__(self) -> None:
        self._encoder = msgspec.json.Encoder()
        self._decoder = msgspec.json.Decoder(_Payload)

    def dumps(self, obj: Any) -> bytes:
        return self._encoder.encode(obj)

    def loads(self, data: bytes) -> Any:
        return self._decoder.decode(data)


class InvalidSessionCookie(ValueError):
    """A cookie that is not a live session of ours. ``reason`` (``bad_signature``,
    ``malformed``, ``expired``, ``from_the_future``, ``too_long``) is for logs."""

    def __init__(self, reason: str) -> None:
        super().__init__(f"session cookie refused: {reason}")
        self.reason = reason


class DecodedSession(NamedTuple):
    data: dict[str, Any]
    created: int


def _key_list(secret_keys: str | bytes | Sequence[str | bytes]) -> list[bytes]:
    keys = [secret_keys] if isinstance(secret_keys, (str, bytes)) else list(secret_keys)
    raw = [k.encode() if isinstance(k, str) else bytes(k) for k in keys]
    if not raw or not all(raw):
        raise ValueError("the session needs at least one non-empty secret key")
    # itsdangerous signs with its last key; ours are listed newest first.
    return raw[::-1]


class SessionCookieCodec:
    """Encodes a session into a signed cookie and decodes it back.

    ``secret_keys``: one key, or a list newest first (the first signs, all verify). ``max_age``
    is absolute: seconds from the session's creation, however often it is saved since.
    ``salt`` keeps these signatures apart from anything else signed with the same keys.
    ``cache_size`` remembers that many cookie values whose signature checked out, so a browser
    sending the same cookie again costs a JSON decode instead of an HMAC (expiry is checked
    on every load all the same).
    """

    def __init__(self, secret_keys: str | bytes | Sequence[str | bytes], *,
                 max_age: int = 14 * 24 * 3600, cookie: CookieSettings | None = None,
                 salt: str = "pyframe_auth.session", limit: int = MAX_COOKIE_BYTES,
                 clock: Clock = system_clock, cache_size: int = 0) -> None:
        if max_age <= 0:
            raise ValueError("max_age is a positive number of seconds")
        self.max_age = int(max_age)
        self.cookie = cookie or CookieSettings()
        self.limit = limit
        self.clock = clock
        # value -> (created, the data as JSON): decoded afresh on each hit, since a session
        # is mutable and each request must get its own copy.
        self._checked: BoundedCache[str, tuple[int, bytes]] = BoundedCache(cache_size)
        self._data_encoder = msgspec.json.Encoder()
        self._data_decoder = msgspec.json.Decoder(dict[str, Any])
        self._serializer = URLSafeSerializer(
            _key_list(secret_keys), salt=salt, serializer=_Serializer(),
            signer_kwargs={"key_derivation": "hmac", "digest_method": hashlib.sha256})

    # -- value <-> data -----------------------------------------------------------------------
    def dumps(self, data: Mapping[str, Any], *, created: int | None = None) -> str:
        """The signed cookie value for ``data`` (plain JSON types only)."""
        check_session_data(data)
        when = int(self.clock()) if created is None else int(created)
        signed = self._serializer.dumps(_Payload(_VERSION, when, dict(data)))
        return signed.decode() if isinstance(signed, bytes) else signed

    def loads(self, value: str) -> DecodedSession:
        """The data in a cookie value; InvalidSessionCookie when it is not a live session."""
        if len(value) > self.limit:
            raise InvalidSessionCookie("too_long")  # refused before any HMAC work
        hit = self._checked.get(value)
        if hit is not None:
            self.check_age(hit[0])
            return DecodedSession(self._data_decoder.decode(hit[1]), hit[0])
        try:
            payload = self._serializer.loads(value)
        except BadPayload:
            # A good signature over bytes that do not decode: our own format changed.
            raise InvalidSessionCookie("malformed") from None
        except BadData:
            raise InvalidSessionCookie("bad_signature") from None
        if payload.version != _VERSION:
            raise InvalidSessionCookie("malformed")
        self.check_age(payload.created)
        if self._checked.size:
            self._checked.put(value, (payload.created, self._data_encoder.encode(payload.data)))
        return DecodedSession(payload.data, payload.created)

    def check_age(self, created: int) -> None:
        """InvalidSessionCookie unless a session created at ``created`` is still live."""
        now = self.clock()
        if now - created >= self.max_age:
            raise InvalidSessionCookie("expired")
        if created > now + _SKEW:
            raise InvalidSessionCookie("from_the_future")

    # -- whole cookies ------------------------------------------------------------------------
    def remaining(self, created: int) -> int:
        """Seconds the session has left: the cookie's Max-Age."""
        return max(1, math.ceil(created + self.max_age - self.clock()))

    def set_cookie(self, data: Mapping[str, Any], *, created: int | None = None,
                   tls: bool) -> str:
        """The whole ``Set-Cookie`` value; SessionTooLarge when it is over the limit."""
        when = int(self.clock()) if created is None else int(created)
        value = self.dumps(data, created=when)
        return self.cookie.set_cookie(value, max_age=self.remaining(when), tls=tls,
                                      limit=self.limit)

    def delete_cookie(self, *, tls: bool) -> str:
        return self.cookie.delete_cookie(tls=tls)

    def check_size(self, data: Mapping[str, Any], *, created: int | None = None) -> None:
        """Raise SessionTooLarge (or SessionValueError) if ``data`` could not be saved; the
        session's validator, so the handler's own ``session[key] = value`` line fails."""
        self.set_cookie(data, created=created, tls=True)  # Secure adds bytes: the worst case

    def session(self, value: str | None) -> tuple[Session, str | None]:
        """The Session for a request's cookie value, and the reason it was refused, if it was
        (an absent, tampered or expired cookie gives a new, empty session)."""
        if value:
            try:
                decoded = self.loads(value)
            except InvalidSessionCookie as exc:
                return self._new_session(None), exc.reason
            return self._new_session(decoded), None
        return self._new_session(None), None

    def _new_session(self, decoded: DecodedSession | None) -> Session:
        if decoded is None:
            return Session(new=True, validator=lambda data: self.check_size(data))
        created = decoded.created
        return Session(decoded.data, new=False, created=created,
                       validator=lambda data: self.check_size(data, created=created))
