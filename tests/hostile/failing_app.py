"""An app with a plugin that fails while the app starts (``pyframe run failing_app:app``).

The error message does not name the plugin: saying which plugin failed is the server's job.
"""

from __future__ import annotations

from pyframe import PyFrameApp, hookimpl


class UnreachableBackend:
    @hookimpl
    def pyframe_start_app(self, app):
        raise ConnectionRefusedError("backend at 127.0.0.1:1 refused the connection")


app = PyFrameApp()
app.plugins.register(UnreachableBackend(), "unreachable")


@app.get("/")
async def index(context):
    return "ok"
