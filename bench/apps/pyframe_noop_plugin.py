"""pyframe with one registered plugin that implements hooks but adds nothing per request.

It must run at ~1.0x of the zero-plugin app: hooks are for wiring, not for traffic.
"""

from pyframe import hookimpl

from _pyframe_common import build_app, serve


class NoopPlugin:
    plugin_id = "noop"

    def __init__(self) -> None:
        self.started = False

    @hookimpl
    def pyframe_configure_plugin(self, app, config):
        self.config = config

    @hookimpl
    def pyframe_add_routes(self, app):
        return []

    @hookimpl
    def pyframe_add_middleware(self, app):
        return []

    @hookimpl
    def pyframe_start_app(self, app):
        self.started = True


if __name__ == "__main__":
    app = build_app()
    app.plugins.register(NoopPlugin(), "noop")
    serve(app, __doc__)
