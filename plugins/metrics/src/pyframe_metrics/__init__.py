"""Server metrics for pyframe: JSON stats and Prometheus."""

from .config import MetricsConfig
from .plugin import MetricsPlugin
from .server_metrics import ServerMetrics

__all__ = ["ServerMetrics", "MetricsPlugin", "MetricsConfig"]
