"""The compression plugin's hook implementations."""

from pyframe import hookimpl


class CompressionPlugin:
    plugin_id = "compression"

    @hookimpl
    def pyframe_configure_plugin(self, app, config):
        self.config = config
