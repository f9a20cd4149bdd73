"""What plugins report about themselves: measurements the metrics plugin exposes."""

from __future__ import annotations

from typing import Literal

import msgspec

__all__ = ["MetricSample"]


class MetricSample(msgspec.Struct, frozen=True, kw_only=True):
    """One measurement: ``pyframe_ws_connections{namespace="chat"} 12``.

    ``name`` is a Prometheus metric name (``pyframe_<plugin>_<what>``, counters ending in
    ``_total``); samples of one name share ``kind`` and ``help`` and differ in ``labels``.
    """

    name: str
    value: float
    kind: Literal["gauge", "counter"] = "gauge"
    help: str = ""
    labels: dict[str, str] = msgspec.field(default_factory=dict)
