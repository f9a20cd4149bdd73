"""The limiter behind the middleware: each route's plan worked out once, then per request one
backend call, the decision turned into RateLimit fields or a 429, and the backend-down policy.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable, Iterable
from typing import Any

from pyframe.plugin import (
    BackendError,
    BackendLease,
    KeyValueStore,
    Response,
    ServiceUnavailable,
    TooManyRequests,
    error_response,
    get_logger,
)

from .config import RateLimitConfig
from .gcra import Decision
from .headers import POLICY_HEADER, PROBLEM_JSON, RATELIMIT_HEADER, Answer
from .keys import AddressKey, KeyFunc, build_key_func, loggable, parse_key_spec
from .limits import Limit
from .ops import GCRA, GCRA_OP
from .proxies import TrustedProxies
from .rules import RuleSet

__all__ = ["Plan", "Counters", "Limiter"]

log = get_logger("pyframe.ratelimit", plugin="ratelimit")

CallNext = Callable[[Any], Awaitable[Response]]
# Routes are the app's, so plans are few; past this many something is wrong (a router that
# makes a route per request), and the cache starts again rather than grow.
MAX_PLANS = 10_000
# Storage keys of recent (plan, client) pairs kept worked out; past this many, forgotten.
MAX_CACHED_KEYS = 8192
# While the backend stays down, one log line per this many seconds (with a count), not one
# per request.
LOG_EVERY = 10.0
_MISSING: Any = object()


class Plan:
    """What the limiter does for one (route, method): worked out on first use, then reused."""

    __slots__ = ("limits", "scope", "client_key", "storage_keys", "args", "answer", "headers",
                 "after_auth", "source")

    def __init__(self, limits: tuple[Limit, ...], scope: str, client_key: KeyFunc,
                 storage_keys: Callable[[str], list[str]], args: list[bytes], answer: Answer,
                 headers: bool, after_auth: bool, source: str) -> None:
        self.limits = limits
        self.scope = scope
        self.client_key = client_key
        self.storage_keys = storage_keys
        self.args = args
        self.answer = answer
        self.headers = headers
        self.after_auth = after_auth
        self.source = source

    def __repr__(self) -> str:
        return (f"<Plan {self.scope} {', '.join(str(limit) for limit in self.limits)} "
                f"({self.source})>")


class Counters:
    """What the metrics plugin reports: requests a decision admitted or refused, and requests
    the backend could not decide (then the ``on_backend_error`` policy answered)."""

    __slots__ = ("admitted", "refused", "backend_errors")

    def __init__(self) -> None:
        self.admitted = 0
        self.refused = 0
        self.backend_errors = 0


class Limiter:
    """One limiter: its config, its rules, the store it spends from (bound at start-up).

    ``key_function`` (code only) replaces the configured key for the default limit and for
    rules without a key of their own. ``clock`` (monotonic seconds) paces the log while the
    backend is down; decisions take their time from the store.
    """

    def __init__(self, config: RateLimitConfig, *,
                 key_function: Callable[[Any], Any] | None = None,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.config = config
        self.strategy = GCRA
        self.op = GCRA_OP
        self.clock = clock
        self.address = AddressKey(TrustedProxies(config.trusted_proxies),
                                  config.forwarded_header, config.ipv6_prefix)
        self.rules = RuleSet([config.default_limit()], config.rules())
        self.default_spec: Any = key_function if key_function is not None else config.key
        self._key_funcs: dict[Any, KeyFunc] = {}
        self._plans: dict[Any, Plan | None] = {}
        self._keys: dict[tuple[Plan, str], list[str]] = {}
        self.counters = Counters()
        self.lease: BackendLease | None = None
        self.store: KeyValueStore | None = None
        self._failing = False
        self._failed = 0
        self._failed_since = 0.0
        self._logged_at = 0.0
        self._logged_failed = 0

    # Start-up.
    def key_func(self, spec: Any) -> KeyFunc:
        """The key function for a spec, built (and a ``function:`` imported) once."""
        found = self._key_funcs.get(spec)
        if found is None:
            found = self._key_funcs[spec] = build_key_func(spec, self.address)
        return found

    def prepare(self, routes: Iterable[Any]) -> None:
        """Work out every route's plan now, so a bad key function fails the start-up and not
        the first request."""
        self.key_func(self.default_spec)
        self.plan_for(None, "GET")
        for route in routes:
            if route.kind != "http":
                methods: tuple[str, ...] = ("GET",)  # an upgrade is a GET
            else:
                methods = route.methods + (("HEAD",) if "GET" in route.methods else ())
            for method in methods:
                try:
                    self.plan_for(route, method)
                except ValueError as exc:  # a decorator's key function that does not import
                    raise ValueError(f"route {route.path}: {exc}") from None

    def needs_user_phase(self) -> bool:
        """Whether some plan keys by user, so a second middleware must run after auth."""
        return any(plan is not None and plan.after_auth for plan in self._plans.values())

    def bind(self, lease: BackendLease) -> None:
        self.lease = lease
        self.store = lease.store

    def unbind(self) -> None:
        self.lease = None
        self.store = None

    # Plans.
    def plan(self, context: Any) -> Plan | None:
        """The plan for this request's route and method (None: nothing to check)."""
        route = context.route
        cache_key = (route, context.method) if route is not None else None
        plan = self._plans.get(cache_key, _MISSING)
        if plan is _MISSING:
            plan = self.plan_for(route, context.method)
        return plan

    def plan_for(self, route: Any, method: str) -> Plan | None:
        cache_key = (route, method) if route is not None else None
        if cache_key in self._plans:
            return self._plans[cache_key]
        if len(self._plans) >= MAX_PLANS:
            self._plans.clear()
            self._keys.clear()
        pattern = route.path if route is not None else None
        handler = route.handler if route is not None else None
        resolved = self.rules.resolve(pattern, method, handler)
        plan = None
        if resolved.limits:
            spec = resolved.key if resolved.key is not None else self.default_spec
            kind = parse_key_spec(spec)[0] if isinstance(spec, str) else "function"
            if resolved.headers is not None:
                headers = resolved.headers
            elif route is not None and route.plugin is not None:
                headers = self.config.internal_headers
            else:
                headers = self.config.headers
            if route is not None and route.kind != "http":
                headers = False  # a WebSocket's answer is the upgrade, not a document
            plan = Plan(
                resolved.limits, resolved.scope, self.key_func(spec),
                self.strategy.keys_for(self.config.key_prefix, resolved.scope, resolved.limits),
                [arg.encode() for arg in self.strategy.arguments(resolved.limits)],
                Answer(resolved.limits), headers, kind == "user", resolved.source)
        self._plans[cache_key] = plan
        return plan

    # Requests.
    async def run(self, plan: Plan, context: Any, call_next: CallNext) -> Response:
        """Decide this request with one backend call; admit it (and label the answer), or
        refuse it with a 429 that cost the handler nothing."""
        store = self.store
        if store is None:
            raise RuntimeError("the ratelimit plugin has not started: its backend is not open")
        client = plan.client_key(context)
        keys = self._keys.get((plan, client))
        if keys is None:
            keys = self._storage_keys(plan, client)
        try:
            reply = await store.run(self.op, keys, plan.args)
        except BackendError as exc:
            return await self._undecided(exc, context, call_next)
        if self._failing:
            self._recovered()
        strategy = self.strategy
        if strategy.admits(reply):
            self.counters.admitted += 1
            response = await call_next(context)
            if plan.headers:
                answer = plan.answer
                headers = response.headers
                headers[RATELIMIT_HEADER] = answer.ratelimit_of(reply, strategy.states_at)
                if answer.send_policy:
                    headers[POLICY_HEADER] = answer.policy
            return response
        self.counters.refused += 1
        return await self._refuse(plan, strategy.decode(reply), client, context)

    def _storage_keys(self, plan: Plan, client: str) -> list[str]:
        # A digest per client key and limit, worked out once per (plan, client) while the
        # cache holds; full, it starts again (clients come and go, the bound stays).
        keys = plan.storage_keys(client)
        if len(self._keys) >= MAX_CACHED_KEYS:
            self._keys.clear()
        self._keys[(plan, client)] = keys
        return keys

    async def _refuse(self, plan: Plan, decision: Decision, client: str,
                      context: Any) -> Response:
        headers, body = plan.answer.refused(decision)
        log.debug("ratelimit_refused", key=loggable(client), path=context.path,
                  retry_after=headers["Retry-After"], source=plan.source)
        if 429 in context.app.error_handlers:
            # The app renders its own 429s; the fields still go with it.
            limited = [limit.name for limit in plan.answer.violated(decision)]
            return await error_response(context, TooManyRequests(
                detail=f"rate limit exceeded ({', '.join(limited)})", headers=headers))
        response = Response(body, status=429, headers=headers, content_type=PROBLEM_JSON)
        response.headers["X-Content-Type-Options"] = "nosniff"
        return response

    async def _undecided(self, exc: BackendError, context: Any,
                         call_next: CallNext) -> Response:
        self.counters.backend_errors += 1
        self._failed += 1
        self._log_failure(exc)
        if self.config.on_backend_error == "deny":
            raise ServiceUnavailable(detail="the rate limiter cannot reach its backend; retry "
                                            "shortly", headers={"Retry-After": "1"})
        return await call_next(context)

    def _log_failure(self, exc: BackendError) -> None:
        now = self.clock()
        if not self._failing:
            self._failing = True
            self._failed_since = self._logged_at = now
            self._logged_failed = self._failed
            log.warning("ratelimit_backend_unavailable", error=str(exc), backend=self._url(),
                        policy=self.config.on_backend_error)
        elif now - self._logged_at >= LOG_EVERY:
            log.warning("ratelimit_backend_still_unavailable", error=str(exc),
                        backend=self._url(), policy=self.config.on_backend_error,
                        undecided=self._failed - self._logged_failed,
                        seconds=round(now - self._failed_since, 1))
            self._logged_at = now
            self._logged_failed = self._failed

    def _recovered(self) -> None:
        log.info("ratelimit_backend_recovered", backend=self._url(), undecided=self._failed,
                 seconds=round(self.clock() - self._failed_since, 1))
        self._failing = False
        self._failed = 0

    def _url(self) -> str | None:
        lease = self.lease
        return None if lease is None or lease.closed else lease.url
