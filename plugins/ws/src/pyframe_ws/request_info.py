"""What a WebSocket handler knows about the handshake request: the same names as a RequestContext
(path params, query, headers, cookies, the user the auth plugin found), read from it."""

from __future__ import annotations

from typing import Any

__all__ = ["RequestInfo"]


class RequestInfo:
    """A mixin over ``self.context``, the handshake's ``pyframe.plugin.RequestContext``.

    ``websocket.params['room']``, ``websocket.query_params.get('token')``,
    ``websocket.user`` (None when no auth plugin, or an anonymous request), and
    ``websocket.context`` itself for anything else.
    """

    context: Any = None

    def _context(self) -> Any:
        context = self.context
        if context is None:
            raise RuntimeError("this WebSocket was accepted outside a pyframe route: it has no "
                               "request context")
        return context

    @property
    def app(self) -> Any:
        return self._context().app

    @property
    def path(self) -> str:
        return self._context().path  # type: ignore[no-any-return]

    @property
    def full_path(self) -> str:
        return self._context().full_path  # type: ignore[no-any-return]

    @property
    def params(self) -> dict[str, Any]:
        return self._context().params  # type: ignore[no-any-return]

    @property
    def query_params(self) -> Any:
        return self._context().query_params

    @property
    def headers(self) -> Any:
        return self._context().headers

    @property
    def cookies(self) -> Any:
        return self._context().cookies

    @property
    def user(self) -> Any:
        """``context.user``: set by the auth plugin's middleware, which runs before the
        handshake; None without it or for an anonymous request."""
        return self._context().user

    @property
    def remote_addr(self) -> str | None:
        return self._context().remote_addr  # type: ignore[no-any-return]

    def get_header(self, name: str, default: Any = None) -> Any:
        return self._context().headers.get(name, default)

    def get_cookie(self, name: str, default: Any = None) -> Any:
        return self._context().cookies.get(name, default)

    def get_query_param(self, name: str, default: Any = None) -> Any:
        return self._context().query_params.get(name, default)
