"""The metrics plugin's settings: the ``[plugins.metrics]`` section.

Both endpoints are on by default and open: protect them with a token (or the auth plugin, or
the network) where the route names and traffic figures should not be public.
"""

from __future__ import annotations

from typing import Annotated

import msgspec
from msgspec import Meta

from pyframe.plugin import PluginConfig

__all__ = ["MetricsConfig", "DEFAULT_BUCKETS"]

# prometheus-client's default latency buckets, in seconds.
DEFAULT_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1.0, 2.5, 5.0, 7.5, 10.0]
UrlPath = Annotated[str, Meta(pattern=r"^/[^<>?#]*$")]
Token = Annotated[str, Meta(min_length=1)]
Bucket = Annotated[float, Meta(gt=0)]


class MetricsConfig(PluginConfig):
    # GET <admin_path>: the ServerMetrics stats as JSON.
    admin_enabled: bool = True
    admin_path: UrlPath = "/admin/metrics"
    # When set, <admin_path> needs "Authorization: Bearer <admin_token>".
    admin_token: Token | None = None
    # GET <prometheus_path>: Prometheus text (or OpenMetrics when the scraper asks for it).
    prometheus_enabled: bool = True
    prometheus_path: UrlPath = "/metrics"
    prometheus_token: Token | None = None
    # Prefix of every metric name: pyframe_http_requests_total, ...
    namespace: Annotated[str, Meta(pattern=r"^[a-zA-Z_][a-zA-Z0-9_]*$")] = "pyframe"
    # Upper bounds of the latency histogram, in seconds, increasing.
    buckets: Annotated[list[Bucket], Meta(min_length=1, max_length=64)] = msgspec.field(
        default_factory=lambda: list(DEFAULT_BUCKETS))
    # Several worker processes: a directory they share (as PROMETHEUS_MULTIPROC_DIR).
    multiprocess_dir: Annotated[str, Meta(min_length=1)] | None = None
