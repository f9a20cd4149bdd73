"""Decorators for handlers: ``login_required``, ``roles_required(...)``, ``scopes_required(...)``.

Put them below the route decorator, so the route gets the guarded function::

    @app.get("/admin")
    @roles_required("admin")
    async def admin(context): ...
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable
from typing import Any, TypeVar

from pyframe.plugin import RequestContext

from .errors import AuthError, Reason
from .failures import AccessDenied, AuthenticationFailed
from .middleware import AUTH
from .users import AuthUser, roles_of, scopes_of

__all__ = ["login_required", "roles_required", "scopes_required"]

F = TypeVar("F", bound=Callable[..., Any])


def _realm(context: RequestContext) -> str | None:
    auth = context.app.state.get(AUTH)
    return auth.config.realm if auth is not None else None


def _user(context: RequestContext) -> Any:
    user = context.user
    if user is None:
        raise AuthenticationFailed.missing(_realm(context))
    return user


def _guard(handler: F, check: Callable[[RequestContext], None]) -> F:
    # A sync handler stays sync (the core runs it in its thread pool), an async one async.
    if inspect.iscoroutinefunction(handler):
        @functools.wraps(handler)
        async def guarded_async(context: RequestContext, *args: Any, **kwargs: Any) -> Any:
            check(context)
            return await handler(context, *args, **kwargs)

        return guarded_async  # type: ignore[return-value]

    @functools.wraps(handler)
    def guarded(context: RequestContext, *args: Any, **kwargs: Any) -> Any:
        check(context)
        return handler(context, *args, **kwargs)

    return guarded  # type: ignore[return-value]


def login_required(handler: F) -> F:
    """401 (``WWW-Authenticate: Bearer``) unless the request is authenticated. For routes
    that ``exclude_paths`` or ``auth=False`` leave open, or apps with ``require_auth = false``."""
    return _guard(handler, _user)


def _roles(user: Any) -> frozenset[str]:
    return user.roles if isinstance(user, AuthUser) else roles_of(user)


def _scopes(user: Any) -> frozenset[str]:
    return user.scopes if isinstance(user, AuthUser) else scopes_of(user)


def roles_required(*roles: str, any_of: bool = False) -> Callable[[F], F]:
    """401 without a user; 403 unless the user has every one of ``roles`` (or at least one,
    with ``any_of=True``). Roles come from ``user.roles``, or the ``roles_claim`` claim."""
    wanted = frozenset(_names("roles_required", roles))

    def check(context: RequestContext) -> None:
        have = _roles(_user(context))
        if not (have & wanted if any_of else wanted <= have):
            raise AccessDenied()

    return lambda handler: _guard(handler, check)


def scopes_required(*scopes: str) -> Callable[[F], F]:
    """401 without a user; 403 ``insufficient_scope`` (RFC 6750 §3.1, the needed scopes in
    ``WWW-Authenticate``) unless the token grants every one of ``scopes`` (its ``scope``
    string or ``scp`` list, or ``user.scopes``)."""
    wanted = frozenset(_names("scopes_required", scopes))
    needed = " ".join(sorted(wanted))

    def check(context: RequestContext) -> None:
        if not wanted <= _scopes(_user(context)):
            raise AuthenticationFailed(AuthError(Reason.INSUFFICIENT_SCOPE),
                                       realm=_realm(context), scope=needed)

    return lambda handler: _guard(handler, check)


def _names(what: str, names: tuple[str, ...]) -> tuple[str, ...]:
    if not names or not all(isinstance(n, str) and n and " " not in n for n in names):
        raise ValueError(f"{what}() takes one or more names without spaces, e.g. "
                         f"{what}('admin')")
    return names
