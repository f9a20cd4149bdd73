"""The auth plugin's hook implementations: ``[plugins.auth]`` or an ``AuthMiddleware`` in
``app.middleware`` becomes the middleware; start-up opens the session store and the JWKS."""

from __future__ import annotations

from typing import Any

from pyframe.plugin import ConfigError, hookimpl

from .clock import Clock
from .config import AuthConfig
from .middleware import AuthMiddleware
from .users import UserLoader

__all__ = ["AuthPlugin"]


class AuthPlugin:
    """One per app. ``AuthPlugin(clock=..., user_loader=...)`` when registering it by hand
    (``app.plugins.register(AuthPlugin(), "auth", **settings)``); ``@plugin.user_loader``
    registers a loader on it too."""

    plugin_id = "auth"

    def __init__(self, *, clock: Clock | None = None,
                 user_loader: UserLoader | None = None) -> None:
        self.clock = clock
        self._user_loader = user_loader
        self.middleware: AuthMiddleware | None = None
        self._contributes = False

    def user_loader(self, fn: UserLoader) -> UserLoader:
        """Decorator: ``fn(context, identity)`` loads the user (see ``pyframe_auth.users``)."""
        self._user_loader = fn
        return fn

    @hookimpl
    def pyframe_get_config_schema(self) -> type[AuthConfig]:
        return AuthConfig

    @hookimpl
    def pyframe_configure_plugin(self, app: Any, config: AuthConfig, source: str) -> None:
        given = [mw for mw in app.middleware if isinstance(mw, AuthMiddleware)]
        if len(given) > 1:
            raise ConfigError(f"app.middleware holds {len(given)} AuthMiddleware objects; "
                              f"one does every route (exclude_paths and auth=False leave "
                              f"routes out)")
        if given:
            middleware = given[0]
            if config != AuthConfig():
                raise ConfigError(f"{source}: plugins.auth: the app appends an AuthMiddleware "
                                  f"with its own settings; give the settings in one place "
                                  f"(the [plugins.auth] section or the AuthMiddleware "
                                  f"arguments)")
            if middleware.user_loader is None:
                middleware.user_loader = self._user_loader
            if middleware.clock is None and self.clock is not None:
                middleware.clock = self.clock
            self._contributes = False
            middleware.configure(app, source="AuthMiddleware", prefix="")
        else:
            middleware = AuthMiddleware.from_config(config, user_loader=self._user_loader,
                                                    clock=self.clock)
            self._contributes = True
            middleware.configure(app, source=source, prefix="plugins.auth.")
        self.middleware = middleware

    @hookimpl
    def pyframe_add_middleware(self, app: Any) -> list[AuthMiddleware]:
        # An AuthMiddleware the app appended is in the chain already.
        return [self.middleware] if self._contributes and self.middleware is not None else []

    @hookimpl
    async def pyframe_start_app(self, app: Any) -> None:
        assert self.middleware is not None
        await self.middleware.start(app)

    @hookimpl
    async def pyframe_stop_app(self, app: Any) -> None:
        if self.middleware is not None:
            await self.middleware.stop()
