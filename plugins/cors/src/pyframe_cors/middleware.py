"""CORSMiddleware: answers preflights and labels responses, per the Fetch standard's CORS protocol.

Everything that does not depend on the request is worked out once, in ``__init__``. A refused
preflight's 400 says why in a few words; it names the origin, method or header it refused
only when that is plain text (a token, or ``scheme://host[:port]``), never anything that could
carry markup, and it names one refused header at most.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable, Iterable
from typing import Any

from multidict import CIMultiDict

from pyframe.plugin import (
    BadRequest,
    MiddlewareOrder,
    Response,
    add_vary,
    error_response,
    get_logger,
)

from .config import DEFAULT_METHODS, CorsConfig, build_config

__all__ = ["CORSMiddleware"]

log = get_logger("pyframe.cors", plugin="cors")

ALLOW_ORIGIN = "Access-Control-Allow-Origin"
ALLOW_CREDENTIALS = "Access-Control-Allow-Credentials"
ALLOW_METHODS = "Access-Control-Allow-Methods"
ALLOW_HEADERS = "Access-Control-Allow-Headers"
EXPOSE_HEADERS = "Access-Control-Expose-Headers"
MAX_AGE = "Access-Control-Max-Age"
REQUEST_METHOD = "Access-Control-Request-Method"
REQUEST_HEADERS = "Access-Control-Request-Headers"
# Request headers a browser may send without them being listed (the CORS-safelisted ones).
SAFELISTED_HEADERS = frozenset({"accept", "accept-language", "content-language", "content-type"})
PREFLIGHT_VARY = (REQUEST_METHOD, REQUEST_HEADERS)
_TOKEN = re.compile(r"[!#$%&'*+\-.^_`|~0-9A-Za-z]{1,64}")
_PLAIN_ORIGIN = re.compile(r"https?://[A-Za-z0-9.\-]{1,253}(:[0-9]{1,5})?")


class CORSMiddleware:
    """Cross-origin resource sharing for every route of the app.

    ``CORSMiddleware(allow_origins=['https://app.example'], allow_methods=['GET', 'POST'],
    allow_headers=['Content-Type'], allow_credentials=True)``. Arguments are checked like the
    ``[plugins.cors]`` section: a bad value raises ValueError.
    """

    order = MiddlewareOrder.CORS
    returns_response = True  # lets the core skip its normalising wrapper
    plugin_id = "cors"

    def __init__(
        self,
        allow_origins: Iterable[str] = (),
        allow_methods: Iterable[str] = DEFAULT_METHODS,
        allow_headers: Iterable[str] = (),
        allow_credentials: bool = False,
        allow_origin_regex: str | None = None,
        expose_headers: Iterable[str] = (),
        max_age: int | None = None,
    ) -> None:
        options: dict[str, Any] = {
            "allow_origins": _seq(allow_origins), "allow_methods": _seq(allow_methods),
            "allow_headers": _seq(allow_headers), "allow_credentials": allow_credentials,
            "allow_origin_regex": allow_origin_regex, "expose_headers": _seq(expose_headers),
            "max_age": max_age,
        }
        self._setup(build_config(options))

    @classmethod
    def from_config(cls, config: CorsConfig) -> CORSMiddleware:
        """Build from an already validated config (the plugin's ``[plugins.cors]`` section)."""
        self = cls.__new__(cls)
        self._setup(config)
        return self

    def _setup(self, config: CorsConfig) -> None:
        self.config = config
        self.allow_any_origin = "*" in config.allow_origins
        self.origins = frozenset(_serialised(o) for o in config.allow_origins if o != "*")
        self.origin_regex = (re.compile(config.allow_origin_regex)
                             if config.allow_origin_regex is not None else None)
        self.credentials = config.allow_credentials
        self.any_method = "*" in config.allow_methods
        self.methods = frozenset(m.upper() for m in config.allow_methods)
        self.any_header = "*" in config.allow_headers
        self.headers = frozenset(h.lower() for h in config.allow_headers) | SAFELISTED_HEADERS
        # The answer is the same for every origin only when any origin gets a literal '*'.
        self.wildcard = self.allow_any_origin and not self.credentials
        self.vary_origin = not self.wildcard

        actual: dict[str, str] = {}
        if self.wildcard:
            actual[ALLOW_ORIGIN] = "*"
        if self.credentials:
            actual[ALLOW_CREDENTIALS] = "true"
        if config.expose_headers:
            actual[EXPOSE_HEADERS] = ", ".join(config.expose_headers)
        self.actual_headers = actual

        preflight: dict[str, str] = {}
        if self.wildcard:
            preflight[ALLOW_ORIGIN] = "*"
        if self.credentials:
            preflight[ALLOW_CREDENTIALS] = "true"
        if not self.any_method:
            preflight[ALLOW_METHODS] = ", ".join(dict.fromkeys(m.upper()
                                                               for m in config.allow_methods))
        if config.max_age is not None:
            preflight[MAX_AGE] = str(config.max_age)
        self.preflight_headers = preflight
        self.preflight_vary = (("Origin",) if self.vary_origin else ()) + PREFLIGHT_VARY

        if self.allow_any_origin and self.credentials:
            log.warning("cors_any_origin_with_credentials",
                        detail="every origin is echoed back with credentials allowed: any site "
                               "can make credentialed requests; list the origins instead")

    def is_allowed_origin(self, origin: str) -> bool:
        if self.allow_any_origin or origin in self.origins:
            return True
        return self.origin_regex is not None and self.origin_regex.fullmatch(origin) is not None

    async def __call__(self, context: Any,
                       call_next: Callable[[Any], Awaitable[Response]]) -> Response:
        request_headers = context.headers
        origin = request_headers.get("Origin")
        if origin is None:
            return await call_next(context)
        if context.method == "OPTIONS" and REQUEST_METHOD in request_headers:
            return await self.preflight(context, origin, request_headers)
        try:
            response = await call_next(context)
        except Exception as exc:
            # Rendered here rather than outside so the browser can read the error response.
            response = await error_response(context, exc)
        headers = response.headers
        if self.is_allowed_origin(origin):
            if not self.wildcard:
                headers[ALLOW_ORIGIN] = origin
            if self.actual_headers:
                headers.update(self.actual_headers)
        if self.vary_origin:
            add_vary(headers, "Origin")
        return response

    async def preflight(self, context: Any, origin: str, request_headers: Any) -> Response:
        """Answer a preflight here, whatever the route: browsers never send it to handlers."""
        method = request_headers.get(REQUEST_METHOD, "").strip()
        requested = [h.strip().lower() for h in request_headers.get(REQUEST_HEADERS, "").split(",")
                     if h.strip()]
        problem = None
        if not self.is_allowed_origin(origin):
            problem = f"origin {_shown(origin, _PLAIN_ORIGIN)}is not allowed"
        elif not method:
            problem = f"{REQUEST_METHOD} is empty"
        elif not _TOKEN.fullmatch(method) or (not self.any_method
                                              and method not in self.methods):
            problem = (f"method {_shown(method, _TOKEN)}is not allowed (allowed: "
                       f"{self.preflight_headers.get(ALLOW_METHODS, 'any')})")
        elif not all(_TOKEN.fullmatch(h) for h in requested):
            problem = "a requested header name is not a token"
        elif not self.any_header:
            refused = [h for h in requested if h not in self.headers]
            if refused:
                more = f" and {len(refused) - 1} more" if len(refused) > 1 else ""
                problem = f"header {refused[0]}{more} not allowed"
        if problem is not None:
            log.debug("cors_preflight_refused", path=context.path, reason=problem)
            response = await error_response(
                context, BadRequest(detail=f"CORS preflight refused: {problem}"))
            if self.vary_origin:
                add_vary(response.headers, "Origin")
            return response
        headers = CIMultiDict(self.preflight_headers)
        if not self.wildcard:
            headers[ALLOW_ORIGIN] = origin
        if self.any_method:
            headers[ALLOW_METHODS] = method
        if requested:
            # Echoing the names works with and without credentials, and covers Authorization,
            # which a '*' never does.
            headers[ALLOW_HEADERS] = ", ".join(requested)
        add_vary(headers, *self.preflight_vary)
        return Response(b"", status=204, headers=headers)


def _shown(value: str, plain: re.Pattern[str]) -> str:
    """``'value' `` when it is plain text an error may repeat, else nothing."""
    return f"{value!r} " if plain.fullmatch(value) else ""


def _serialised(origin: str) -> str:
    """An origin as browsers send it: lower-case scheme and host, no default port."""
    origin = origin.lower()
    for scheme, port in (("https://", ":443"), ("http://", ":80")):
        if origin.startswith(scheme) and origin.endswith(port):
            return origin[: -len(port)]
    return origin


def _seq(values: Iterable[str]) -> Any:
    # A lone string is a mistake (iterating it gives characters): let validation name it.
    return values if isinstance(values, str) else tuple(values)
