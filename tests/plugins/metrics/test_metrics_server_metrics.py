"""ServerMetrics: the API reference's class, with exactly its keys and arithmetic."""

from __future__ import annotations

import pytest

from pyframe_metrics import ServerMetrics

KEYS = ["uptime_seconds", "request_count", "error_count", "error_rate", "avg_response_time",
        "requests_per_second"]


def test_exactly_the_reference_keys_and_zeroes_when_empty():
    stats = ServerMetrics().get_stats()
    assert list(stats) == KEYS
    assert stats["request_count"] == stats["error_count"] == 0
    assert stats["error_rate"] == stats["avg_response_time"] == 0


def test_record_request_counts_errors_from_400_up():
    metrics = ServerMetrics()
    metrics.start_time -= 10  # ten seconds of uptime
    for seconds, status in ((0.1, 200), (0.2, 302), (0.3, 399), (0.4, 400), (1.0, 503)):
        metrics.record_request(seconds, status)
    stats = metrics.get_stats()
    assert stats["request_count"] == 5
    assert stats["error_count"] == 2
    assert stats["error_rate"] == pytest.approx(0.4)
    assert stats["avg_response_time"] == pytest.approx(0.4)
    assert stats["uptime_seconds"] == pytest.approx(10, abs=1)
    assert stats["requests_per_second"] == pytest.approx(0.5, rel=0.1)


def test_the_reference_attributes_are_there():
    metrics = ServerMetrics()
    metrics.record_request(0.5, 200)
    assert (metrics.request_count, metrics.total_response_time, metrics.error_count) == (1, 0.5, 0)
    assert metrics.start_time > 0


def test_it_is_exported_as_a_seed_name():
    from importlib_metadata import entry_points

    (ep,) = [ep for ep in entry_points(group="pyframe.exports") if ep.name == "ServerMetrics"]
    assert ep.load() is ServerMetrics
