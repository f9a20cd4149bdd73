"""AuthMiddleware: loads the session, checks the credential (a bearer token, the session, or
``?token=`` on a handshake), refuses cross-site writes, sets ``context.user``, saves the session.

Everything that does not depend on the request is worked out once, when the plugin is
configured and started.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable
from pathlib import Path
from typing import Any

from pyframe.plugin import (
    AppKey,
    MiddlewareOrder,
    PluginError,
    RequestContext,
    Response,
    add_vary,
    get_logger,
)

from .bearer import bearer_token, query_token
from .cache import BoundedCache
from .clock import Clock
from .config import AuthConfig, build_config
from .csrf import SAFE_METHODS, check_csrf, normalize_origin, request_origin
from .errors import AuthError, Reason
from .failures import AuthenticationFailed, CrossSiteRefused
from .session_stores import CookieSessions, RequestSession, ServerSessions, should_save
from .setup import Parts, build_parts, describe
from .users import UserLoader, Users

__all__ = ["AUTH", "AuthMiddleware"]

log = get_logger("pyframe.auth", plugin="auth")
# The app's configured AuthMiddleware, for login(), logout(), issue_token() and the guards.
AUTH: AppKey[AuthMiddleware] = AppKey("pyframe_auth.middleware")
_NOT_CONFIGURED = ("AuthMiddleware works inside a started app: append it to app.middleware "
                   "(it enables the auth plugin) or enable the plugin with [plugins.auth]")


class AuthMiddleware:
    """Tokens, sessions and users for every route of the app.

    ``AuthMiddleware(secret_key='...', exclude_paths=['/login', '/public'])``, appended to
    ``app.middleware``, enables the auth plugin with these settings; every other
    ``[plugins.auth]`` key is a keyword argument too (README.md). ``user_loader`` is
    ``fn(context, identity)``; ``clock`` replaces ``time.time`` (tests). A malformed argument
    raises ValueError at once; a weak secret stops the app from starting outside debug.
    """

    order = MiddlewareOrder.AUTH
    returns_response = True  # it returns what the chain returns: a Response
    plugin_id = "auth"
    enables_plugin = True  # appended to app.middleware, it switches the plugin on

    def __init__(self, secret_key: str | Iterable[str] | None = None,
                 exclude_paths: Iterable[str] = (), *, user_loader: UserLoader | None = None,
                 clock: Clock | None = None, **options: Any) -> None:
        given = {"secret_key": _seq(secret_key) if secret_key is not None else None,
                 "exclude_paths": _seq(exclude_paths),
                 **{key: _seq(value) if isinstance(value, (list, set, frozenset)) else value
                    for key, value in options.items()}}
        self._setup(build_config(given), user_loader, clock)
        self.explicit = True  # made by the app, not by the plugin from its config section

    @classmethod
    def from_config(cls, config: AuthConfig, *, user_loader: UserLoader | None = None,
                    clock: Clock | None = None) -> AuthMiddleware:
        """Build from an already validated ``[plugins.auth]`` section."""
        self = cls.__new__(cls)
        self._setup(config, user_loader, clock)
        self.explicit = False
        return self

    def _setup(self, config: AuthConfig, user_loader: UserLoader | None,
               clock: Clock | None) -> None:
        self.config = config
        self.clock = clock
        self.user_loader = user_loader
        self.parts: Parts | None = None
        self.sessions: CookieSessions | ServerSessions | None = None
        self.users = Users(config.roles_claim)
        self.app: Any = None
        self._ready = False

    def __repr__(self) -> str:
        return f"<AuthMiddleware {self.parts!r}>"

    # -- wiring (the plugin calls these) -------------------------------------------------------
    def configure(self, app: Any, *, source: str, prefix: str) -> None:
        """Build the parts (no network I/O): a weak secret, a missing key file or a bad backend
        URL raises ConfigError now."""
        config = self.config
        base = _config_dir(app.config_source)
        parts = build_parts(config, source=source, prefix=prefix, debug=app.debug,
                            clock=self.clock, base_dir=base)
        self.parts = parts
        if parts.codec is not None:
            self.sessions = CookieSessions(parts.codec, cache_size=config.credential_cache_size)
        elif parts.lifetime is not None and parts.session_url is not None:
            self.sessions = ServerSessions(parts.session_url, parts.lifetime,
                                           config.session_cookie)
        else:
            self.sessions = None
        self._verifier = parts.verifier
        if isinstance(self.sessions, CookieSessions):
            self._cookie_marker = f"{self.sessions.name}="
            self._check_size = parts.codec.check_size  # type: ignore[union-attr]
        # Ready AuthUsers (read-only, so shareable) by Authorization header and by signed
        # cookie: a credential seen before costs two dict lookups. Bounded like the
        # verifier's own cache; the oldest entry goes first.
        size = config.credential_cache_size
        self._known_tokens: BoundedCache[str, tuple[str, Any, Any]] = BoundedCache(size)
        self._session_users: BoundedCache[str, Any] = BoundedCache(size)
        self._cookie_sessions = self.sessions if isinstance(self.sessions, CookieSessions) \
            else None
        self.trusted_origins = frozenset(normalize_origin(o) for o in
                                         config.csrf_trusted_origins)
        self.csrf = config.csrf and self.sessions is not None
        self._query_token = config.query_token
        self._require = config.require_auth
        self._open_paths = parts.matcher if parts.matcher.entries else None
        self.app = app
        app.state[AUTH] = self

    async def start(self, app: Any) -> None:
        """Open the session store, fetch the JWKS (waiting up to ``jwks_startup_timeout``),
        and look once for user loaders."""
        parts = self.parts
        if parts is None:
            raise PluginError(_NOT_CONFIGURED)
        if self.sessions is not None:
            await self.sessions.start(app)
        client = parts.jwks_client
        if client is not None:
            await client.start()
            if not await client.wait_ready(self.config.jwks_startup_timeout):
                # Start anyway: tokens get 503 until the URL answers, the rest of the app works.
                log.warning("auth_jwks_not_ready", state=client.state.status,
                            error=client.state.last_error,
                            waited=self.config.jwks_startup_timeout)
        self.users.start(app, [self.user_loader] if self.user_loader is not None else [])
        self._ready = True
        log.info("auth_started", **describe(parts), user_loader=self.users.custom)

    async def stop(self) -> None:
        self._ready = False
        if self.parts is not None and self.parts.jwks_client is not None:
            await self.parts.jwks_client.aclose()

    # -- per request --------------------------------------------------------------------------
    def verify(self, token: str) -> dict[str, Any]:
        """The claims of a valid bearer token; AuthError otherwise."""
        assert self.parts is not None and self.parts.verifier is not None
        return self.parts.verifier.verify(token).claims

    def _credential(self, context: RequestContext
                    ) -> tuple[dict[str, Any] | None, Any, AuthError | None]:
        """``(claims, user, failure)`` for the request's token; all None without one.

        ``user`` is the ready AuthUser when there is no user loader. Its own frame, gone
        before the handler runs: a traceback logged with locals while the handler works can
        never show the token.
        """
        header = context.headers.get("Authorization")
        if header is not None:
            # The common case: the client's token, verified on an earlier request, still
            # valid (the verifier's cache says so: same keys, inside its time window).
            known = self._known_tokens.get(header)
            if known is not None and self._verifier.cached(known[0]) is known[1]:
                return known[1].claims, known[2], None
        elif not (self._query_token and context.query_string and _is_handshake(context)):
            return None, None, None
        try:
            token = bearer_token(header) if header is not None else None
            if token is None:
                if not self._query_token or not _is_handshake(context):
                    return None, None, None
                token = query_token(context.query_params.get(self.config.query_token_param))
                if token is None:
                    return None, None, None
            verified = self._verifier.verify(token)
        except AuthError as exc:
            return None, None, exc
        except Exception as exc:
            # A fault in a library under the verifier: logged without its traceback, whose
            # frames hold the token; the request is refused like any bad token.
            log.error("auth_token_check_crashed", error=type(exc).__name__,
                      request_id=context.request_id)
            return None, None, AuthError(Reason.MALFORMED_TOKEN, "verifier fault")
        if self.users.custom:
            return verified.claims, None, None
        user = self.users.default(verified.claims, "token")
        if header is not None:
            self._known_tokens.put(header, (token, verified, user))
        return verified.claims, user, None

    def _session_user(self, session: RequestSession) -> Any:
        """The AuthUser of a signed-cookie session, made once per cookie value."""
        key = session.cookie_value
        user = self._session_users.get(key) if key is not None else None
        if user is None:
            user = self.users.default(session.identity, "session")  # type: ignore[arg-type]
            if key is not None:
                self._session_users.put(key, user)
        return user

    def _refuse(self, context: RequestContext, error: AuthError,
                session: RequestSession | None = None) -> AuthenticationFailed:
        level = log.debug if error.reason is Reason.NO_CREDENTIALS else log.info
        level("auth_refused", reason=error.reason.value, status=error.status,
              method=context.method, path=context.path, request_id=context.request_id)
        failed = AuthenticationFailed(error, realm=self.config.realm)
        if session is not None and session.refused is not None and self.sessions is not None:
            # The cookie that was refused is worth nothing: the browser may forget it now.
            failed.headers["Set-Cookie"] = self.sessions.clear_cookie(context)
        return failed

    def _check_csrf(self, context: RequestContext) -> None:
        headers = context.headers
        decision = check_csrf(
            method=context.method, origin=headers.get("Origin"),
            sec_fetch_site=headers.get("Sec-Fetch-Site"),
            own_origin=request_origin(context.scheme, context.host or ""),
            trusted_origins=self.trusted_origins,
            allow_without_headers=self.config.csrf_allow_without_headers)
        if not decision.allowed:
            log.info("auth_csrf_refused", reason=decision.reason, method=context.method,
                     path=context.path, request_id=context.request_id)
            raise CrossSiteRefused()

    async def __call__(self, context: RequestContext,
                       call_next: Callable[[RequestContext], Awaitable[Response]]) -> Response:
        if not self._ready:
            raise RuntimeError(_NOT_CONFIGURED)
        # The requests without a credential and without a session cookie take the shortest
        # path through here: every call left out of it is time saved on each of them. (The
        # headers are not kept in a local: this frame lives while the handler runs, and a
        # traceback logged with locals would show them.)
        sessions = self.sessions
        session: RequestSession | None = None
        if sessions is not None:
            cookie_sessions = self._cookie_sessions
            if cookie_sessions is None:
                session = await sessions.load(context)
            elif self._cookie_marker in (context.headers.get("Cookie") or ""):
                session = cookie_sessions.read(context)
            else:
                session = RequestSession(validator=self._check_size)
            context.session = session
        if "Authorization" in context.headers or (
                self._query_token and context.query_string and _is_handshake(context)):
            claims, user, failure = self._credential(context)
        else:
            claims = user = failure = None
        identity: Any = claims
        via = "token"
        if claims is None and failure is None and session is not None \
                and session.identity is not None:
            identity, via = session.identity, "session"
        # Only a valid bearer token proves the request did not ride on the browser's cookie.
        if self.csrf and claims is None and context.method not in SAFE_METHODS:
            self._check_csrf(context)
        route = context.route
        if route is not None and route.options and route.options.get("auth") is not None:
            protected = bool(route.options["auth"])  # auth=False opts out; auth=True asks
        else:
            protected = self._require and (self._open_paths is None
                                           or not self._open_paths.matches(context.raw_path))
        if failure is not None and protected:
            raise self._refuse(context, failure, session)
        if identity is not None:
            if user is None:
                users = self.users
                if users.custom:
                    user = await users.load(context, identity, via)
                elif via == "session":
                    user = self._session_user(session)  # type: ignore[arg-type]
                else:
                    user = users.default(identity, via)
            if user is None and protected:
                reason = Reason.UNKNOWN_USER if via == "token" else Reason.NO_CREDENTIALS
                raise self._refuse(context, AuthError(reason), session)
        elif protected:
            if session is not None and session.unavailable:
                raise self._refuse(context, AuthError(Reason.SESSION_STORE_UNAVAILABLE))
            raise self._refuse(context, AuthError(Reason.NO_CREDENTIALS), session)
        if user is not None or context.user is not None:
            # (None is the class's default: an anonymous request need not store it again.)
            context.user = user
        response = await call_next(context)
        if session is not None:
            # Session._forced and _snapshot are what ``modified`` and ``accessed`` read: an
            # untouched session, the usual case, is recognised without calling either.
            touched = session._forced or session._snapshot is not None
            if (touched or session.session_id is not None or session.refused is not None
                    or session.stale_id is not None) and should_save(session, response):
                await sessions.save(context, session, response)  # type: ignore[union-attr]
            if touched or (via == "session" and identity is not None):
                # The answer depends on the cookie: shared caches must keep them apart.
                add_vary(response.headers, "Cookie")
        return response


def _is_handshake(context: RequestContext) -> bool:
    """A WebSocket or EventSource handshake: browsers cannot set headers on those, so the
    token may come as ``?token=`` there (and only there: URLs end up in histories and logs)."""
    if context.method != "GET":
        return False
    headers = context.headers
    return (headers.get("Upgrade", "").lower() == "websocket"
            or "text/event-stream" in headers.get("Accept", ""))


def _config_dir(source: str | None) -> Path | None:
    """The folder of the config file (``pyproject.toml [tool.pyframe]`` names one too):
    relative key file paths in it are read from there."""
    if not source:
        return None
    path = Path(source.split(" [", 1)[0])
    return path.parent if path.is_file() else None


def _seq(values: Any) -> Any:
    # A lone string is a mistake for a list (iterating it gives characters), except where a
    # string is allowed (secret_key): validation names it either way.
    if isinstance(values, str) or values is None:
        return values
    return tuple(values)
