"""``context.user``: the default user object, and loading the app's own user for an identity
through the app's loader functions and the ``pyframe_load_user`` hook.

Whatever a loader returns, ``context.user.id`` of an authenticated request is a str or an int:
the rate limiter and the reference's examples key by it.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Iterable, Mapping
from types import MappingProxyType
from typing import TYPE_CHECKING, Any

import msgspec

from pyframe.plugin import AppKey

if TYPE_CHECKING:
    from pyframe import PyFrameApp
    from pyframe.plugin import RequestContext

__all__ = ["AuthUser", "USER_LOADERS", "UserLoader", "Users", "roles_of", "scopes_of",
           "user_id", "user_loader"]

# fn(context, identity) -> user | None, or an awaitable of one.
UserLoader = Callable[[Any, Any], Any]
# Loaders an app registered with user_loader(app), before or after the plugin is built.
USER_LOADERS: AppKey[list[UserLoader]] = AppKey("pyframe_auth.user_loaders", list)


def user_loader(app: PyFrameApp) -> Callable[[UserLoader], UserLoader]:
    """Decorator: ``@user_loader(app)`` registers ``fn(context, identity)`` for ``app``.

    ``identity`` is a verified token's claims (a dict, ``identity["sub"]`` the subject) or the
    id that ``login()`` stored in the session. Return the user, or None for one that no longer
    exists. ``async def`` works; a plain function runs on the event loop, so keep it quick.
    """

    def register(fn: UserLoader) -> UserLoader:
        app.state.setdefault(USER_LOADERS, []).append(fn)
        return fn

    return register


def _names(value: Any) -> frozenset[str]:
    # OAuth's "scope" is one space-separated string; role and "scp" claims are usually lists.
    if value is None:
        return frozenset()
    if isinstance(value, str):
        return frozenset(value.split())
    if isinstance(value, Iterable) and not isinstance(value, Mapping):
        return frozenset(v for v in value if isinstance(v, str))
    return frozenset()


class AuthUser:
    """``context.user`` when no loader is set: ``id`` is the token's subject (or the id
    ``login()`` stored), ``claims`` the token's claims (or what ``login()`` stored), read-only.
    ``user["email"]`` and ``user.get("email")`` read a claim. ``via`` is ``"token"`` or
    ``"session"``."""

    __slots__ = ("id", "claims", "via", "_roles_claim")
    is_authenticated = True

    def __init__(self, id: str | int, claims: Mapping[str, Any], via: str,  # noqa: A002
                 roles_claim: str = "roles") -> None:
        # Read-only, so one object can serve every request carrying the same credential; the
        # claims dict is the verified token's own, shown through a read-only view.
        setattr_ = object.__setattr__
        setattr_(self, "id", id)
        setattr_(self, "claims", MappingProxyType(claims if type(claims) is dict
                                                  else dict(claims)))
        setattr_(self, "via", via)
        setattr_(self, "_roles_claim", roles_claim)

    def __setattr__(self, name: str, value: Any) -> None:
        raise AttributeError(f"AuthUser is read-only (it is shared by the requests that carry "
                             f"the same credential); cannot set {name!r}")

    @property
    def roles(self) -> frozenset[str]:
        return _names(self.claims.get(self._roles_claim))

    @property
    def scopes(self) -> frozenset[str]:
        return _names(self.claims.get("scope")) | _names(self.claims.get("scp"))

    def __getitem__(self, name: str) -> Any:
        return self.claims[name]

    def get(self, name: str, default: Any = None) -> Any:
        return self.claims.get(name, default)

    def __repr__(self) -> str:  # the id only: claims may be personal data
        return f"AuthUser(id={self.id!r}, via={self.via!r})"


def roles_of(user: Any) -> frozenset[str]:
    """A user's roles: its ``roles`` attribute (or key), a set, list or space-separated str."""
    value = user.get("roles") if isinstance(user, Mapping) else getattr(user, "roles", None)
    return _names(value)


def scopes_of(user: Any) -> frozenset[str]:
    value = user.get("scopes") if isinstance(user, Mapping) else getattr(user, "scopes", None)
    return _names(value)


def user_id(user: Any) -> Any:
    return user.get("id") if isinstance(user, Mapping) else getattr(user, "id", None)


def _checked(user: Any, where: str) -> Any:
    # An attribute, not a key: handlers and the reference's examples read context.user.id.
    uid = getattr(user, "id", None)
    if type(uid) not in (str, int):
        hint = (" (a dict has keys, not attributes: return an object, e.g. "
                "types.SimpleNamespace(**row))" if isinstance(user, Mapping) else "")
        raise TypeError(f"{where} returned a user whose id is {type(uid).__name__}; "
                        f"context.user.id must be a str or an int (the rate limiter and "
                        f"handlers key by it){hint}")
    return user


_encode = msgspec.json.Encoder().encode
_decode = msgspec.json.Decoder(dict[str, Any]).decode


def _copy_claims(claims: Mapping[str, Any]) -> dict[str, Any]:
    return _decode(_encode(claims))  # claims came from JSON, so JSON copies them exactly


def _close(value: Any) -> None:
    # A loader nobody awaits, because an earlier one answered: closing it keeps Python from
    # warning that a coroutine was never awaited.
    if inspect.iscoroutine(value):
        value.close()


class Users:
    """Turns an identity into ``context.user`` for one app.

    With no loader and no ``pyframe_load_user`` implementation (checked once, at start-up)
    the user is an AuthUser. Otherwise the app's loaders run first, then the hook; the first
    answer that is not None wins, and None from all of them means the user is gone.
    """

    def __init__(self, roles_claim: str = "roles") -> None:
        self.roles_claim = roles_claim
        self.loaders: list[UserLoader] = []
        self.hook: Any = None
        self.app: Any = None

    def start(self, app: Any, loaders: Iterable[UserLoader]) -> None:
        self.app = app
        self.loaders = list(loaders) + list(app.state.get(USER_LOADERS) or ())
        caller = app.plugins.hook.pyframe_load_user
        self.hook = caller if caller.get_hookimpls() else None

    @property
    def custom(self) -> bool:
        return bool(self.loaders) or self.hook is not None

    def default(self, identity: Mapping[str, Any], via: str) -> AuthUser:
        if via == "token":
            return AuthUser(identity["sub"], identity, via, self.roles_claim)
        uid = identity["id"]
        return AuthUser(uid, {**identity, "sub": str(uid)}, via, self.roles_claim)

    async def load(self, context: RequestContext, identity: Mapping[str, Any],
                   via: str) -> Any:
        """The user for ``identity`` (claims for a token, login()'s record for a session)."""
        if not self.custom:
            return self.default(identity, via)
        # Loaders see what the hook spec promises: claims for a token (a deep copy: the
        # verified token's own claims are shared by every request carrying it), the id for a
        # session.
        given = _copy_claims(identity) if via == "token" else identity["id"]
        for fn in self.loaders:
            result = fn(context, given)
            if inspect.isawaitable(result):
                result = await result
            if result is not None:
                return _checked(result, f"the user loader {getattr(fn, '__qualname__', fn)!r}")
        if self.hook is None:
            return None
        answers = iter(self.hook(app=self.app, context=context, identity=given))
        found = None
        try:
            for answer in answers:
                if inspect.isawaitable(answer):
                    answer = await answer
                if answer is not None:
                    found = _checked(answer, "a pyframe_load_user implementation")
                    break
        finally:
            for rest in answers:  # what comes after the winner, or after a failure
                _close(rest)
        return found
