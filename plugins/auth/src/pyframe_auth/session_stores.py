"""Where ``context.session`` lives between requests: in a signed cookie, or as a server-side
record on a shared backend's key-value store with only a random id in the cookie.

Both load a session before the handler and, after it, save what changed and set the cookie.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

import msgspec

from pyframe.plugin import (
    BackendClosed,
    BackendUnavailable,
    Response,
    ServiceUnavailable,
    UpgradedResponse,
    get_logger,
    open_backend,
)

from .cache import BoundedCache
from .cookie_header import read_cookie
from .cookies import CookieSettings
from .session import Session, check_session_data
from .session_cookie import InvalidSessionCookie, SessionCookieCodec
from .session_records import (
    Expiry,
    InvalidSessionRecord,
    SessionLifetime,
    SessionRecord,
    is_session_id,
    new_session_id,
    storage_key,
)

if TYPE_CHECKING:
    from pyframe.plugin import KeyValueStore, RequestContext

__all__ = ["AUTH_KEY", "CookieSessions", "RequestSession", "ServerSessions", "session_identity",
           "should_save"]

log = get_logger("pyframe.auth", plugin="auth")
_decode_data = msgspec.json.Decoder(dict[str, Any]).decode
_encode_data = msgspec.json.Encoder().encode
# Where login() keeps who is logged in: {"id": <str | int>, ...claims}.
AUTH_KEY = "_auth"
_UNAVAILABLE = (BackendUnavailable, BackendClosed)


class RequestSession(Session):
    """``context.session``: a Session plus what the store needs to save it again.

    ``refused`` is why the request's cookie was not taken (a tampered, expired or unknown
    session), ``unavailable`` that the store could not be read, ``identity`` the logged-in
    user as loaded (``{"id": ..., ...}``), read without marking the session accessed.
    """

    # Class defaults, as for Session: a request's session sets only what it has.
    session_id: str | None = None
    record: SessionRecord | None = None
    refused: str | None = None
    unavailable = False
    identity: dict[str, Any] | None = None
    stale_id: str | None = None  # an expired record's id, deleted when saving
    cookie_value: str | None = None  # the signed cookie it came from, a key for caches
    _raw: bytes | None = None

    def __init__(self, data: dict[str, Any] | None = None, *, new: bool = True,
                 created: int | None = None,
                 validator: Callable[[Mapping[str, Any]], None] | None = None,
                 raw: bytes | None = None, identity: dict[str, Any] | None = None) -> None:
        # Session.__init__'s work, without its copy: ``data`` was decoded for this request and
        # belongs to it alone. With ``raw`` (the data as JSON) the dict is made only if the
        # handler looks at the session.
        if raw is not None:
            self._raw = raw
            self._data = None  # type: ignore[assignment]
            self.identity = identity
        else:
            self._data = data if data is not None else {}
            if data:
                self.identity = session_identity(data)
        if not new:
            self.new = False
        if created is not None:
            self.created = created
        if validator is not None:
            self._validator = validator

    def _touch(self) -> dict[str, Any]:
        if self._data is None:
            self._data = _decode_data(self._raw)  # type: ignore[arg-type]
        return Session._touch(self)

    def __repr__(self) -> str:  # keys only (values may be personal data), and no side effect
        data = self._data
        if data is None:  # not decoded yet: decode a copy, leaving the session untouched
            data = _decode_data(self._raw)  # type: ignore[arg-type]
        return f"<Session keys={sorted(data)!r} modified={self.modified}>"


def session_identity(data: Mapping[str, Any] | None) -> dict[str, Any] | None:
    """The ``{"id": ...}`` login() stored, when it is one (bools are not ids)."""
    value = data.get(AUTH_KEY) if data else None
    if isinstance(value, dict) and type(value.get("id")) in (str, int):
        return value
    return None


def _cookie(context: RequestContext, name: str) -> str | None:
    # One cookie, found in the header text: cheaper than the mapping of every cookie.
    return read_cookie(context.headers.get("Cookie"), name)


class CookieSessions:
    """The session in the cookie itself, signed (SessionCookieCodec)."""

    kind = "cookie"

    def __init__(self, codec: SessionCookieCodec, *, cache_size: int = 1024) -> None:
        self.codec = codec
        self.name = codec.cookie.cookie_name
        # value -> (created, data as JSON, identity): a cookie seen before costs an expiry
        # check instead of an HMAC. Each request decodes the data afresh (and only if it
        # looks), so no request sees another's changes.
        self._seen: BoundedCache[str, tuple[int, bytes, dict[str, Any] | None]] = \
            BoundedCache(cache_size)

    async def start(self, app: Any) -> None:
        """Nothing to open: the browser keeps the data."""

    def clear_cookie(self, context: RequestContext) -> str:
        """The ``Set-Cookie`` value that removes the session cookie."""
        return self.codec.delete_cookie(tls=context.scheme == "https")

    async def load(self, context: RequestContext) -> RequestSession:
        return self.read(context)

    def read(self, context: RequestContext) -> RequestSession:
        """``load`` without a coroutine: the cookie is all there is to read."""
        value = _cookie(context, self.name)
        codec = self.codec
        if value is None:
            return RequestSession(validator=codec.check_size)
        seen = self._seen.get(value)
        try:
            if seen is not None:
                created, raw, identity = seen
                codec.check_age(created)
                session = RequestSession(
                    new=False, created=created, raw=raw, identity=identity,
                    validator=lambda data: codec.check_size(data, created=created))
                session.cookie_value = value
                return session
            decoded = codec.loads(value)
        except InvalidSessionCookie as exc:
            log.info("auth_session_refused", reason=exc.reason, path=context.path,
                     request_id=context.request_id)
            session = RequestSession(validator=codec.check_size)
            session.refused = exc.reason
            return session
        created = decoded.created
        raw = _encode_data(decoded.data)
        # The identity kept is decoded afresh: the one in decoded.data is this request's own,
        # which its handler may change.
        self._seen.put(value, (created, raw, session_identity(_decode_data(raw))))
        session = RequestSession(decoded.data, new=False, created=created,
                                 validator=lambda data: codec.check_size(data, created=created))
        session.cookie_value = value
        return session

    async def save(self, context: RequestContext, session: RequestSession,
                   response: Response) -> None:
        tls = context.scheme == "https"
        codec = self.codec
        if session.invalidated:
            response.headers.add("Set-Cookie", codec.delete_cookie(tls=tls))
            return
        if session.modified:
            data = session.to_dict()
            if not data:
                if not session.new:  # emptied: the browser may forget it
                    response.headers.add("Set-Cookie", codec.delete_cookie(tls=tls))
                return
            # A new session, and one rotated at login, start their absolute lifetime now.
            created = None if session.new or session.rotate_requested else session.created
            # Too big (a nested change the per-key check could not see) raises here: the
            # app sees the error instead of a cookie the browser drops without a word.
            response.headers.add("Set-Cookie", codec.set_cookie(data, created=created, tls=tls))
        elif session.refused is not None:
            response.headers.add("Set-Cookie", codec.delete_cookie(tls=tls))


class ServerSessions:
    """Session records on the shared backend's key-value store; the cookie holds only an
    opaque random id (``new_session_id``), and ids the store does not know are never adopted.
    """

    kind = "server"

    def __init__(self, url: str, lifetime: SessionLifetime, cookie: CookieSettings) -> None:
        self.url = url
        self.lifetime = lifetime
        self.cookie = cookie
        self.name = cookie.cookie_name
        self.store: KeyValueStore | None = None
        self.where = "(not open)"  # the lease's URL once open: its password masked

    async def start(self, app: Any) -> None:
        lease = await open_backend(app, self.url)  # given back by the app when it stops
        self.store = lease.store
        self.where = lease.url

    def clear_cookie(self, context: RequestContext) -> str:
        """The ``Set-Cookie`` value that removes the session cookie."""
        return self.cookie.delete_cookie(tls=context.scheme == "https")

    def _check(self, data: Mapping[str, Any]) -> None:
        # Validator: a value that cannot be stored fails where the handler sets it.
        check_session_data(data)
        self.lifetime.encode(SessionRecord(data=dict(data), created_at=0.0, last_seen=0.0))

    def _new(self) -> RequestSession:
        return RequestSession(validator=self._check)

    async def load(self, context: RequestContext) -> RequestSession:
        sid = _cookie(context, self.name)
        if sid is None:
            return self._new()
        if not is_session_id(sid):
            return self._refused(context, "malformed")
        assert self.store is not None, "the session store is opened at start-up"
        try:
            raw = await self.store.get(storage_key(sid))
        except _UNAVAILABLE:
            log.warning("auth_session_store_unavailable", backend=self.where,
                        path=context.path, request_id=context.request_id)
            session = self._new()
            session.unavailable = True
            return session
        if raw is None:
            return self._refused(context, "unknown_id")
        lifetime = self.lifetime
        try:
            record = lifetime.decode(raw)
        except InvalidSessionRecord:
            return self._refused(context, "malformed_record")
        expiry = lifetime.expiry(record)
        if expiry is not Expiry.LIVE:
            session = self._refused(context, f"expired_{expiry.value}")
            session.stale_id = sid
            return session
        session = RequestSession(dict(record.data), new=False,
                                 created=int(record.created_at), validator=self._check)
        session.session_id = sid
        session.record = record
        return session

    def _refused(self, context: RequestContext, reason: str) -> RequestSession:
        log.info("auth_session_refused", reason=reason, path=context.path,
                 request_id=context.request_id)
        session = self._new()
        session.refused = reason
        return session

    def _set_cookie(self, sid: str, record: SessionRecord, tls: bool) -> str:
        # The cookie lasts as long as the session could: until its absolute expiry.
        remaining = record.created_at + self.lifetime.absolute_timeout - self.lifetime.clock()
        return self.cookie.set_cookie(sid, max_age=max(1, math.ceil(remaining)), tls=tls)

    async def save(self, context: RequestContext, session: RequestSession,
                   response: Response) -> None:
        if session.unavailable:
            if session.modified:
                # Saving now would replace the user's real session, which the store could not
                # read, with this one: refuse the request instead.
                raise ServiceUnavailable(detail="sessions are temporarily unavailable",
                                         headers={"Retry-After": "1"})
            return
        try:
            await self._save(context, session, response)
        except _UNAVAILABLE:
            log.warning("auth_session_store_unavailable", backend=self.where,
                        path=context.path, request_id=context.request_id)
            raise ServiceUnavailable(detail="sessions are temporarily unavailable",
                                     headers={"Retry-After": "1"}) from None

    async def _save(self, context: RequestContext, session: RequestSession,
                    response: Response) -> None:
        store, lifetime = self.store, self.lifetime
        assert store is not None
        tls = context.scheme == "https"
        old = session.session_id
        if session.stale_id is not None:
            await store.delete(storage_key(session.stale_id))
        if session.invalidated:
            if old is not None:
                await store.delete(storage_key(old))
            response.headers.add("Set-Cookie", self.cookie.delete_cookie(tls=tls))
            return
        if session.modified:
            data = session.to_dict()
            if not data and not session.rotate_requested:
                if old is not None:  # emptied: nothing left to keep
                    await store.delete(storage_key(old))
                    response.headers.add("Set-Cookie", self.cookie.delete_cookie(tls=tls))
                return
            if old is None or session.rotate_requested:
                # A new id at login and for every new session: an id the client chose or
                # knew before is never the one that becomes authenticated.
                if old is not None:
                    await store.delete(storage_key(old))
                sid, record = new_session_id(), lifetime.new(data)
            else:
                assert session.record is not None
                sid, record = old, lifetime.updated(session.record, data)
            await store.set(storage_key(sid), lifetime.encode(record), ttl=lifetime.ttl(record))
            if sid != old:
                response.headers.add("Set-Cookie", self._set_cookie(sid, record, tls))
            return
        if old is not None and session.record is not None and lifetime.needs_touch(session.record):
            # Unchanged but seen: move the idle expiry on, at most once per touch_interval.
            record = lifetime.touched(session.record)
            try:
                await store.set(storage_key(old), lifetime.encode(record),
                                ttl=lifetime.ttl(record))
            except _UNAVAILABLE:
                # Only the idle clock lost a step; the response stands.
                log.warning("auth_session_touch_failed", backend=self.where,
                            request_id=context.request_id)
        elif session.refused is not None:
            response.headers.add("Set-Cookie", self.cookie.delete_cookie(tls=tls))


def should_save(session: RequestSession, response: Response) -> bool:
    """Whether the store has anything to do after the handler (checked before awaiting it).

    A WebSocket session's headers went out long ago, so nothing is saved for it.
    """
    if not (session.session_id is not None or session.refused is not None
            or session.stale_id is not None or session.modified):
        return False  # the usual case, decided without the (slower) isinstance below
    return not isinstance(response, UpgradedResponse)
