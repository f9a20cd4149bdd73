"""What a login or logout handler calls: ``login(context, user)`` (a new session id, no
fixation), ``logout(context)`` (the session deleted), and ``issue_token`` for bearer tokens."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from pyframe.plugin import RequestContext

from .middleware import AUTH, AuthMiddleware
from .session_stores import AUTH_KEY, RequestSession
from .users import user_id

__all__ = ["issue_token", "login", "logout"]


def _auth(app: Any) -> AuthMiddleware:
    auth = app.state.get(AUTH)
    if auth is None:
        raise RuntimeError("the auth plugin is not configured for this app: append an "
                           "AuthMiddleware to app.middleware or add a [plugins.auth] section")
    return auth


def _session(context: RequestContext) -> RequestSession:
    session = context.session if _auth(context.app).sessions is not None else None
    if not isinstance(session, RequestSession):
        raise RuntimeError("login() and logout() work on the auth plugin's sessions, which "
                           "are off (sessions = false)")
    return session


def _checked_id(user: Any) -> str | int:
    uid = user if isinstance(user, (str, int)) and not isinstance(user, bool) else user_id(user)
    if type(uid) not in (str, int) or uid == "":
        raise TypeError(f"login() takes a user id (a str or an int) or a user with an `id`; "
                        f"got an id of type {type(uid).__name__}")
    return uid


def login(context: RequestContext, user: Any, **claims: Any) -> None:
    """Log ``user`` in for the rest of this browser session.

    ``user`` is an id (str or int) or an object with an ``id``. ``claims`` (JSON values, such
    as ``roles=["admin"]``) are stored with the id and read back as ``context.user.claims``
    when there is no user loader. The session gets a new id (server-side) and a new start
    (both kinds), so an id planted or seen before the login is worth nothing after it.
    """
    uid = _checked_id(user)
    session = _session(context)
    session.invalidated = False  # a logout earlier in this request: the login replaces it
    session.rotate()
    session[AUTH_KEY] = {**claims, "id": uid}
    if isinstance(user, (str, int)):
        context.user = _auth(context.app).users.default({**claims, "id": uid}, "session")
    else:
        context.user = user


def logout(context: RequestContext) -> None:
    """End the session: its data is gone, the server-side record deleted, the cookie cleared.

    A bearer token cannot be taken back this way: it stays valid until it expires.
    """
    _session(context).invalidate()
    context.user = None


def issue_token(where: Any, subject: str | int | Any, *,
                expires_in: float | timedelta | None = None,
                claims: dict[str, Any] | None = None) -> str:
    """A signed bearer token for ``subject`` (an id, or a user with an ``id``).

    ``where`` is the app or a request context. The token is signed with the newest
    ``secret_key`` (or the private key in ``public_keys``) and lives ``token_ttl`` seconds
    unless ``expires_in`` says otherwise; ``claims`` adds claims (``{"roles": ["admin"]}``).
    """
    app = getattr(where, "app", where)
    auth = _auth(app)
    issuer = auth.parts.issuer if auth.parts is not None else None
    if issuer is None:
        raise RuntimeError("this app's auth plugin verifies tokens with public keys only; "
                           "tokens are issued where the private key is (or give a PEM "
                           "private key in public_keys)")
    return issuer.issue(_checked_id(subject), expires_in=expires_in, claims=claims)
