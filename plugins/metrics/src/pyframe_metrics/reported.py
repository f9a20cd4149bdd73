"""What other plugins and the shared backends report (``pyframe_add_metric_sources``), as
Prometheus metric families built at scrape time."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily

from pyframe.plugin import MetricSample, get_logger

__all__ = ["ReportedCollector", "backend_samples"]

log = get_logger("pyframe", plugin="metrics")
Source = Callable[[], Iterable[MetricSample]]


def backend_samples(app: Any) -> Iterable[MetricSample]:
    """The health of every shared backend the app has open."""
    for health in app.backends.health():
        labels = {"url": health.url}
        yield MetricSample(name="pyframe_backend_up", value=1.0 if health.up else 0.0,
                           help="Whether the shared backend is reachable (1) or not (0).",
                           labels=labels)
        yield MetricSample(name="pyframe_backend_reconnects_total",
                           value=float(health.reconnects), kind="counter",
                           help="Times the shared backend was reconnected after a loss.",
                           labels=labels)
        yield MetricSample(name="pyframe_backend_dropped_total", value=float(health.dropped),
                           kind="counter", labels=labels,
                           help="Messages dropped from full subscription queues.")


class ReportedCollector:
    """A prometheus-client collector over the sources, called on each scrape. A source that
    raises is logged and left out of that scrape; the others still report."""

    def __init__(self, sources: list[Source]) -> None:
        self.sources = sources

    def describe(self) -> list[Any]:
        # Registering would otherwise collect once, calling every source before it is ready.
        return []

    def collect(self) -> Iterable[Any]:
        families: dict[str, Any] = {}
        for source in self.sources:
            try:
                samples = list(source())
            except Exception:
                log.exception("metric_source_failed", source=getattr(source, "__qualname__",
                                                                     repr(source)))
                continue
            for sample in samples:
                family = families.get(sample.name)
                if family is None:
                    kind = CounterMetricFamily if sample.kind == "counter" else GaugeMetricFamily
                    name = sample.name.removesuffix("_total") if sample.kind == "counter" \
                        else sample.name
                    family = families[sample.name] = kind(name, sample.help or sample.name,
                                                          labels=sorted(sample.labels))
                family.add_metric([sample.labels[k] for k in sorted(sample.labels)],
                                  sample.value)
        return list(families.values())
