"""HTTP errors as exceptions (a status, a detail and headers, rendered in one place), the
start-up errors, and the one wording of "install this extra" that every error uses."""

from __future__ import annotations

from collections.abc import Mapping

from .status import get_description

__all__ = [
    "HTTPError",
    "BadRequest",
    "Unauthorized",
    "Forbidden",
    "NotFound",
    "MethodNotAllowed",
    "PayloadTooLarge",
    "UnsupportedMediaType",
    "UnprocessableContent",
    "TooManyRequests",
    "ServiceUnavailable",
    "ConfigError",
    "PluginError",
    "install_hint",
]


class HTTPError(Exception):
    """An error that becomes an HTTP response with ``status``, ``detail`` and ``headers``.

    Raise it from a handler or middleware; the core renders it as JSON
    ``{"error": <reason phrase>, "detail": <detail>}`` unless an error handler registered with
    :meth:`PyFrameApp.set_errorhandler` answers for that status.
    """

    status: int = 500

    def __init__(
        self,
        status: int | None = None,
        detail: str | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        if status is not None:
            self.status = status
        if not 400 <= self.status <= 599:
            raise ValueError(f"HTTPError status must be 4xx or 5xx, got {self.status}")
        self.detail = detail
        self.headers = dict(headers) if headers else {}
        super().__init__(self.status, detail)

    @property
    def reason(self) -> str:
        return get_description(self.status)

    def __str__(self) -> str:
        return f"{self.status} {self.reason}" + (f": {self.detail}" if self.detail else "")


class BadRequest(HTTPError):
    status = 400


class Unauthorized(HTTPError):
    status = 401


class Forbidden(HTTPError):
    status = 403


class NotFound(HTTPError):
    status = 404


class MethodNotAllowed(HTTPError):
    status = 405

    def __init__(self, allowed: list[str], detail: str | None = None) -> None:
        self.allowed = allowed
        super().__init__(detail=detail, headers={"Allow": ", ".join(allowed)})


class PayloadTooLarge(HTTPError):
    status = 413


class UnsupportedMediaType(HTTPError):
    status = 415


class UnprocessableContent(HTTPError):
    status = 422


class TooManyRequests(HTTPError):
    status = 429


class ServiceUnavailable(HTTPError):
    status = 503


class ConfigError(Exception):
    """Bad configuration: the message names the file, the key path and what was expected."""


class PluginError(Exception):
    """A plugin could not be loaded or wired: the message names the plugin and what to do."""


def install_hint(extra: str) -> str:
    """What to run for a missing extra, in the one wording every message uses.

    pyframe is installed from a local wheelhouse (the README's "Installing"), never from the
    public index, where the name ``pyframe`` belongs to another project.
    """
    return (f"install the extra: pip install --no-index --find-links <wheelhouse> "
            f"'pyframe[{extra}]' (see the README's \"Installing\")")
