"""The ratelimit plugin's hook implementations: ``[plugins.ratelimit]`` (or a RateLimitMiddleware
the app appended) becomes limiters wired to their shared backends, with counts for metrics."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from pyframe.plugin import (
    ConfigError,
    MetricSample,
    check_backend_url,
    get_logger,
    hookimpl,
    open_backend,
)

from .config import RateLimitConfig
from .middleware import RateLimitMiddleware

__all__ = ["RateLimitPlugin"]

log = get_logger("pyframe.ratelimit", plugin="ratelimit")


class RateLimitPlugin:
    plugin_id = "ratelimit"

    def __init__(self) -> None:
        self.config = RateLimitConfig()
        self.where = "plugins.ratelimit"
        # Every limiter of the app: the section's own, or the RateLimitMiddleware instances
        # the app appended to app.middleware (then the plugin adds none of its own).
        self.limiters: list[RateLimitMiddleware] = []
        self.own: RateLimitMiddleware | None = None

    # Hooks.
    @hookimpl
    def pyframe_get_config_schema(self) -> type[RateLimitConfig]:
        return RateLimitConfig

    @hookimpl
    def pyframe_configure_plugin(self, app: Any, config: RateLimitConfig, source: str) -> None:
        self.config = config
        self.where = f"{source}: plugins.ratelimit"
        appended = [mw for mw in app.middleware if isinstance(mw, RateLimitMiddleware)]
        enabled_by = app.plugins.info(self.plugin_id).enabled_by
        if appended and enabled_by in ("config", "code"):
            where = source if enabled_by == "config" else "app.plugins.enable('ratelimit')"
            raise ConfigError(
                f"{where} configures the ratelimit plugin and app.middleware has a "
                f"RateLimitMiddleware too: both would limit every request. Configure the "
                f"limiter in one place (the [plugins.ratelimit] section, or the middleware's "
                f"arguments)")
        if appended:
            self.where = source
            self.limiters = appended
            for index, mw in enumerate(appended):
                check_backend_url(mw.config.backend, source=f"app.middleware[{index}]",
                                  key="RateLimitMiddleware(backend=...)")
            return
        check_backend_url(config.backend, source=source, key="plugins.ratelimit.backend")
        self.own = RateLimitMiddleware.from_config(config)
        self.limiters = [self.own]
        self._import_key_functions(config)

    def _import_key_functions(self, config: RateLimitConfig) -> None:
        # Imported now, so a key function that does not import stops the app from starting.
        assert self.own is not None
        limiter = self.own.limiter
        specs = [("key", config.key)] + [(f"routes[{i}].key", route.key)
                                          for i, route in enumerate(config.routes)]
        for name, spec in specs:
            if spec is not None:
                try:
                    limiter.key_func(spec)
                except ValueError as exc:
                    raise ConfigError(f"{self.where}.{name}: {exc}") from None

    @hookimpl
    def pyframe_add_middleware(self, app: Any) -> list[Any]:
        answer: list[Any] = [self.own] if self.own is not None else []
        for mw in self.limiters:
            try:
                mw.limiter.prepare(app.router)
            except ValueError as exc:
                raise ConfigError(f"{self.where}: {exc}") from None
            if mw.limiter.needs_user_phase():
                answer.append(mw.after_auth)
        return answer

    @hookimpl
    async def pyframe_start_app(self, app: Any) -> None:
        for mw in self.limiters:
            lease = await open_backend(app, mw.config.backend)
            mw.limiter.bind(lease)
            log.info("ratelimit_started", backend=lease.url, key=_describe_key(mw),
                     limit=str(mw.config.default_limit()), rules=len(mw.config.routes),
                     on_backend_error=mw.config.on_backend_error,
                     after_auth=mw.limiter.needs_user_phase())

    @hookimpl
    def pyframe_stop_app(self, app: Any) -> None:
        # The app gives the leases back after the stop hooks; the limiters just let go.
        for mw in self.limiters:
            mw.limiter.unbind()

    @hookimpl
    def pyframe_add_metric_sources(self, app: Any) -> list[Callable[[], Iterable[MetricSample]]]:
        return [self.samples]

    # Measurements.
    def samples(self) -> Iterable[MetricSample]:
        """Requests admitted and refused by a decision, and those the backend left undecided
        (then admitted or refused with 503 by ``on_backend_error``), over every limiter."""
        admitted = refused = 0
        undecided = {"allow": 0, "deny": 0}
        for mw in self.limiters:
            counters = mw.limiter.counters
            admitted += counters.admitted
            refused += counters.refused
            undecided[mw.config.on_backend_error] += counters.backend_errors
        yield MetricSample(name="pyframe_ratelimit_admitted_total", value=float(admitted),
                           kind="counter", help="Requests the rate limiter admitted.")
        yield MetricSample(name="pyframe_ratelimit_refused_total", value=float(refused),
                           kind="counter", help="Requests refused with 429 Too Many Requests.")
        for policy, count in undecided.items():
            yield MetricSample(name="pyframe_ratelimit_backend_errors_total",
                               value=float(count), kind="counter", labels={"policy": policy},
                               help="Requests the backend could not decide; the policy "
                                    "admitted (allow) or refused (deny, 503) them.")


def _describe_key(mw: RateLimitMiddleware) -> str:
    spec = mw.limiter.default_spec
    return spec if isinstance(spec, str) else f"function {getattr(spec, '__qualname__', spec)}"
