"""The Prometheus side: one registry per app, its metrics, the scrape and cross-process stats.

Imported only when the plugin starts, so that a ``multiprocess_dir`` option can switch
prometheus-client to multiprocess mode (it reads ``PROMETHEUS_MULTIPROC_DIR`` when first
imported) before anything creates a metric.
"""

from __future__ import annotations

import re
import time
from bisect import bisect_left
from collections.abc import Callable
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, values
from prometheus_client.core import CounterMetricFamily, HistogramMetricFamily
from prometheus_client.exposition import choose_encoder
from prometheus_client.utils import floatToGoString
from prometheus_client.multiprocess import MultiProcessCollector, mark_process_dead

from pyframe.plugin import HTTP_METHODS

from .server_metrics import ServerMetrics, compute_stats

__all__ = ["Instruments", "OTHER_METHOD", "multiprocess_ready"]

REQUESTS_HELP = "HTTP requests answered, by method, route pattern and status."
DURATION_HELP = "Time to produce a response, by method and route pattern."

# Method labels: HTTP's own methods, any other token counted as OTHER.
_METHODS = frozenset(HTTP_METHODS)
OTHER_METHOD = "OTHER"
_KIND = re.compile(r"^[a-z][a-z0-9_]{0,31}$")
KNOWN_KINDS = ("websocket", "sse")


def multiprocess_ready() -> bool:
    """Whether prometheus-client writes metric values to per-process files."""
    return bool(getattr(values.ValueClass, "_multiprocess", False))


class Instruments:
    """The plugin's metrics. ``record`` is the per-request path: one dict lookup for that
    (method, route, status), then its tallies (or, across processes, its label children)."""

    def __init__(self, namespace: str, buckets: list[float],
                 multiprocess_dir: str | None) -> None:
        self.namespace = namespace
        self.multiprocess_dir = multiprocess_dir
        self.registry = CollectorRegistry(auto_describe=True)
        self._extra: list[Any] = []
        registry = self.registry
        self.multiprocess = multiprocess_dir is not None
        self._bounds = tuple(sorted(b for b in buckets if b != float("inf")))
        self.server_metrics: ServerMetrics
        if self.multiprocess:
            # Across processes every value goes to this process's file as it changes.
            self.requests = Counter(
                "http_requests", REQUESTS_HELP, ["method", "route", "status"],
                namespace=namespace, registry=registry)
            self.duration = Histogram(
                "http_request_duration_seconds", DURATION_HELP, ["method", "route"],
                namespace=namespace, buckets=buckets, registry=registry)
            self.server_metrics = ServerMetrics()
        else:
            # In one process, plain tallies read when scraped: prometheus-client's counter
            # and histogram take a lock on every update, which was most of this plugin's
            # per-request cost. One list per (method, route, status): a count per latency
            # bucket, one for +Inf, and the sum last. The request counter, the histogram and
            # the ServerMetrics totals are all sums of these, taken when read.
            self._series: dict[tuple[str, str, int], list[float]] = {}
            registry.register(_TallyCollector(self))
            self.server_metrics = _TalliedServerMetrics(self)
        self.in_flight = Gauge(
            "http_requests_in_flight", "Requests being handled now.", namespace=namespace,
            registry=registry, multiprocess_mode="livesum")
        self.connections = Gauge(
            "open_connections", "Open long-lived connections (WebSocket, SSE) by kind.",
            ["kind"], namespace=namespace, registry=registry, multiprocess_mode="livesum")
        self.start_time = Gauge(
            "start_time_seconds", "When the server started, in Unix time (the earliest worker).",
            namespace=namespace, registry=registry, multiprocess_mode="min")
        self.start_time.set(time.time())
        # The core counts requests in flight; see watch_in_flight.
        self._in_flight_count: Callable[[], int] = lambda: 0
        self._children: dict[tuple[str, str, int], tuple[Callable[..., Any],
                                                          Callable[..., Any]]] = {}
        self._connections: dict[str, Any] = {}
        for kind in KNOWN_KINDS:
            self.connection_gauge(kind)

    def watch_in_flight(self, count: Callable[[], int]) -> None:
        """Report ``count()`` (the core's requests in flight) as the in-flight gauge.

        In one process it is read when scraped. Across processes each worker's value lives in
        its file: written after each request (so an idle worker reads 0), before this worker
        collects, and by ``refresh_in_flight`` (the plugin calls it every second, for a worker
        with requests under way and none finishing).
        """
        self._in_flight_count = count
        if not self.multiprocess:
            self.in_flight.set_function(count)

    def refresh_in_flight(self) -> None:
        self.in_flight.set(self._in_flight_count())

    def record(self, method: str, route: str, status: int, elapsed: float) -> None:
        if method not in _METHODS:
            method = OTHER_METHOD  # any token is a method to HTTP; keep the label set small
        key = (method, route, status)
        if self.multiprocess:
            children = self._children.get(key)
            if children is None:
                children = self._make_children(key)
            children[0]()
            children[1](elapsed)
            self.server_metrics.record_request(elapsed, status)
            self.in_flight.set(self._in_flight_count())
            return
        slots = self._series.get(key)
        if slots is None:
            slots = self._series[key] = [0] * (len(self._bounds) + 2)
        slots[bisect_left(self._bounds, elapsed)] += 1
        slots[-1] += elapsed

    def totals(self) -> tuple[int, int, float]:
        """This process's requests, errors (status 400 and up) and seconds, from the tallies."""
        requests = errors = 0
        seconds = 0.0
        for (_, _, status), slots in list(self._series.items()):
            count = sum(slots[:-1])
            requests += count
            if status >= 400:
                errors += count
            seconds += slots[-1]
        return requests, errors, seconds

    def _make_children(self, key: tuple[str, str, int]) -> tuple[Callable[..., Any],
                                                                   Callable[..., Any]]:
        method, route, status = key
        children = (self.requests.labels(method, route, str(status)).inc,
                    self.duration.labels(method, route).observe)
        self._children[key] = children
        return children

    def connection_gauge(self, kind: str) -> Any:
        gauge = self._connections.get(kind)
        if gauge is None:
            if not isinstance(kind, str) or not _KIND.match(kind):
                raise ValueError(f"a connection kind is a short lowercase name like "
                                 f"'websocket' or 'sse', got {kind!r}")
            gauge = self._connections[kind] = self.connections.labels(kind)
        return gauge

    def add_collector(self, collector: Any) -> None:
        """Report ``collector``'s families too (in multiprocess mode, this process's view)."""
        self.registry.register(collector)
        self._extra.append(collector)

    # Reading. Blocking in multiprocess mode (it reads every worker's files): run in a thread.
    def _collecting_registry(self) -> Any:
        if self.multiprocess_dir is None:
            return self.registry
        self.refresh_in_flight()
        registry = CollectorRegistry()
        MultiProcessCollector(registry, path=self.multiprocess_dir)
        for collector in self._extra:
            registry.register(collector)
        return registry

    def exposition(self, accept: str) -> tuple[bytes, str]:
        """The scrape body and its Content-Type for this Accept header."""
        encode, content_type = choose_encoder(accept)
        return encode(self._collecting_registry()), content_type

    def aggregated_stats(self) -> dict[str, Any]:
        """``ServerMetrics.get_stats()`` over every process writing to the multiprocess dir."""
        ns = self.namespace
        requests = errors = total_time = 0.0
        start = time.time()
        for family in self._collecting_registry().collect():
            if family.name == f"{ns}_http_requests":
                for sample in family.samples:
                    if sample.name.endswith("_total"):
                        requests += sample.value
                        if int(sample.labels["status"]) >= 400:
                            errors += sample.value
            elif family.name == f"{ns}_http_request_duration_seconds":
                total_time += sum(s.value for s in family.samples if s.name.endswith("_sum"))
            elif family.name == f"{ns}_start_time_seconds":
                start = min([start] + [s.value for s in family.samples])
        return compute_stats(requests, errors, total_time, start, time.time())

    def process_stopped(self, pid: int) -> None:
        """Drop this process's share of the live gauges (in flight, open connections)."""
        if self.multiprocess_dir is not None:
            mark_process_dead(pid, self.multiprocess_dir)


class _TallyCollector:
    """The single-process request counter and latency histogram, built from plain tallies
    each time the registry is scraped."""

    def __init__(self, instruments: Instruments) -> None:
        self.instruments = instruments
        prefix = f"{instruments.namespace}_" if instruments.namespace else ""
        self.requests_name = f"{prefix}http_requests"
        self.duration_name = f"{prefix}http_request_duration_seconds"

    def collect(self) -> Any:
        instruments = self.instruments
        bounds = instruments._bounds
        requests = CounterMetricFamily(self.requests_name, REQUESTS_HELP,
                                       labels=["method", "route", "status"])
        # The histogram is by (method, route): the series of each status summed.
        merged: dict[tuple[str, str], list[float]] = {}
        for (method, route, status), slots in list(instruments._series.items()):
            slots = list(slots)
            requests.add_metric([method, route, str(status)], sum(slots[:-1]))
            into = merged.get((method, route))
            if into is None:
                merged[(method, route)] = slots
            else:
                for i, value in enumerate(slots):
                    into[i] += value
        yield requests
        duration = HistogramMetricFamily(self.duration_name, DURATION_HELP,
                                         labels=["method", "route"])
        for (method, route), slots in merged.items():
            cumulative, buckets = 0, []
            for bound, count in zip(bounds, slots):
                cumulative += count
                buckets.append((floatToGoString(bound), cumulative))
            cumulative += slots[len(bounds)]
            buckets.append(("+Inf", cumulative))
            duration.add_metric([method, route], buckets, sum_value=slots[-1])
        yield duration


class _TalliedServerMetrics(ServerMetrics):
    """The plugin's ServerMetrics in one process: its totals are read from the tallies the
    observer keeps, so a request is counted once, not twice. ``record_request`` still
    works, for code that counts something of its own into it."""

    __slots__ = ("_instruments", "_own")

    def __init__(self, instruments: Instruments) -> None:
        self._instruments = instruments
        self._own = ServerMetrics()
        self.start_time = self._own.start_time

    @property  # type: ignore[override]
    def request_count(self) -> int:
        return self._instruments.totals()[0] + self._own.request_count

    @property  # type: ignore[override]
    def error_count(self) -> int:
        return self._instruments.totals()[1] + self._own.error_count

    @property  # type: ignore[override]
    def total_response_time(self) -> float:
        return self._instruments.totals()[2] + self._own.total_response_time

    def record_request(self, response_time: float, status_code: int) -> None:
        self._own.record_request(response_time, status_code)

    def get_stats(self) -> dict[str, Any]:
        requests, errors, seconds = self._instruments.totals()
        own = self._own
        return compute_stats(requests + own.request_count, errors + own.error_count,
                             seconds + own.total_response_time, self.start_time, time.time())
