"""The cors plugin's hook implementations."""

from pyframe import hookimpl


class CorsPlugin:
    plugin_id = "cors"

    @hookimpl
    def pyframe_configure_plugin(self, app, config):
        self.config = config
