"""The metrics plugin's hook implementations."""

from pyframe import hookimpl


class MetricsPlugin:
    plugin_id = "metrics"

    @hookimpl
    def pyframe_configure_plugin(self, app, config):
        self.config = config
