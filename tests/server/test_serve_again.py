"""An app served, stopped and served again in one process is not left draining."""

from pyframe import PyFrameApp
from pyframe.plugin import draining
from pyframe.testing import TestClient


async def test_the_draining_event_is_clear_when_the_app_is_served_again():
    app = PyFrameApp()
    app.get("/")(lambda context: "drain" if draining(context.app).is_set() else "serving")
    for _ in range(2):
        async with TestClient(app) as client, client.get("/") as resp:
            assert await resp.text() == "serving"
        assert draining(app).is_set()  # stopping set it
