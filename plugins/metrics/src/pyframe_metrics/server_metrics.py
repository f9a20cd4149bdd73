"""``ServerMetrics``: the API reference's request counter, kept by the metrics plugin.

``record_request(response_time, status_code)`` and ``get_stats()`` behave as in the reference:
a status of 400 or more counts as an error, times are in seconds.
"""

from __future__ import annotations

import time
from typing import Any

__all__ = ["ServerMetrics", "compute_stats"]


def compute_stats(request_count: float, error_count: float, total_response_time: float,
                  start_time: float, now: float) -> dict[str, Any]:
    """The ``get_stats()`` dict from totals; shared by one process and many."""
    uptime = now - start_time
    return {
        "uptime_seconds": uptime,
        "request_count": int(request_count),
        "error_count": int(error_count),
        "error_rate": error_count / request_count if request_count > 0 else 0,
        "avg_response_time": total_response_time / request_count if request_count > 0 else 0,
        "requests_per_second": request_count / uptime if uptime > 0 else 0,
    }


class ServerMetrics:
    """Request count, error count and response times of this process since it was created."""

    __slots__ = ("request_count", "total_response_time", "error_count", "start_time")

    def __init__(self) -> None:
        self.request_count = 0
        self.total_response_time = 0.0
        self.error_count = 0
        self.start_time = time.time()

    def record_request(self, response_time: float, status_code: int) -> None:
        """Count one answered request; ``response_time`` in seconds."""
        self.request_count += 1
        self.total_response_time += response_time
        if status_code >= 400:
            self.error_count += 1

    def get_stats(self) -> dict[str, Any]:
        """``uptime_seconds, request_count, error_count, error_rate, avg_response_time,
        requests_per_second``."""
        return compute_stats(self.request_count, self.error_count, self.total_response_time,
                             self.start_time, time.time())
