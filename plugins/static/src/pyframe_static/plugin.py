"""The static plugin's hook implementations."""

from pyframe import hookimpl


class StaticPlugin:
    plugin_id = "static"

    @hookimpl
    def pyframe_configure_plugin(self, app, config):
        self.config = config
