"""The ws plugin's measurements for the metrics plugin (``pyframe_add_metric_sources``): open
connections and messages in, out and dropped in this process, closes by reason, refused
handshakes, relay traffic, and each manager's counts over every process."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from pyframe.plugin import MetricSample

from .registry import runtime_of

__all__ = ["ws_samples"]


def _counter(name: str, value: float, help: str, **labels: str) -> MetricSample:  # noqa: A002
    return MetricSample(name=name, value=float(value), kind="counter", help=help, labels=labels)


def ws_samples(app: Any) -> Iterator[MetricSample]:
    """Called on each scrape; reads plain integers, so it is cheap."""
    runtime = runtime_of(app)
    if runtime is None:
        return
    counters = runtime.counters
    yield MetricSample(name="pyframe_ws_connections", value=float(len(runtime.connections)),
                       help="Open WebSocket connections in this process.")
    yield _counter("pyframe_ws_connections_opened_total", counters.opened,
                   "WebSocket connections accepted by this process.")
    yield _counter("pyframe_ws_messages_in_total", counters.messages_in,
                   "WebSocket messages received from clients.")
    yield _counter("pyframe_ws_messages_out_total", counters.messages_out,
                   "WebSocket messages written to clients.")
    yield _counter("pyframe_ws_messages_dropped_total", counters.dropped,
                   "WebSocket messages queued for a client that closed or fell behind.")
    for reason, count in sorted(counters.closes.items()):
        yield _counter("pyframe_ws_closes_total", count, "WebSocket connections closed, by "
                       "reason.", reason=reason)
    for reason, count in sorted(runtime.refused.items()):
        yield _counter("pyframe_ws_refused_total", count, "WebSocket handshakes refused, by "
                       "reason.", reason=reason)
    for what, count in sorted(runtime.relay_totals().items()):
        yield _counter(f"pyframe_ws_relay_{what}_total", count,
                       f"Messages between processes: {what.replace('_', ' ')}.")
    for name, hub in sorted(runtime.hubs.items()):
        if not hub.closed:
            yield MetricSample(name="pyframe_ws_manager_connections",
                               value=float(hub.connection_count()), labels={"namespace": name},
                               help="A WebSocketManager's connections over every process.")
