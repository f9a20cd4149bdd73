"""Server metrics for pyframe: JSON stats and Prometheus."""
