"""The two endpoints: ``/admin/metrics`` (JSON stats) and ``/metrics`` (Prometheus)."""

from __future__ import annotations

import hmac
from typing import TYPE_CHECKING

from pyframe.plugin import JSONResponse, RequestContext, Response, Route, Unauthorized

if TYPE_CHECKING:
    from .plugin import MetricsPlugin

__all__ = ["metrics_routes"]


def _guard(token: str | None):
    """A check for ``Authorization: Bearer <token>``, or None when no token is set."""
    if token is None:
        return None
    expected = token.encode()

    def check(context: RequestContext) -> None:
        scheme, _, given = context.headers.get("Authorization", "").partition(" ")
        if scheme.lower() != "bearer" or not hmac.compare_digest(
                given.strip().encode("utf-8", "replace"), expected):
            raise Unauthorized(detail="this endpoint needs a bearer token",
                               headers={"WWW-Authenticate": 'Bearer realm="metrics"'})

    return check


def metrics_routes(plugin: MetricsPlugin) -> list[Route]:
    config = plugin.config
    routes = []
    if config.admin_enabled:
        check_admin = _guard(config.admin_token)

        async def admin_metrics(context: RequestContext) -> Response:
            if check_admin is not None:
                check_admin(context)
            return JSONResponse(await plugin.get_stats_async())

        routes.append(Route(config.admin_path, ["GET"], admin_metrics, name="metrics_admin"))
    if config.prometheus_enabled:
        check_scrape = _guard(config.prometheus_token)

        async def prometheus_metrics(context: RequestContext) -> Response:
            if check_scrape is not None:
                check_scrape(context)
            instruments = plugin.instruments
            body, content_type = await context.app.run_sync(
                instruments.exposition, context.headers.get("Accept", ""))
            return Response(body, content_type=content_type)

        routes.append(Route(config.prometheus_path, ["GET"], prometheus_metrics,
                            name="metrics_prometheus"))
    return routes
