"""Notifications pushed to the browser with Server-Sent Events: the page listens through
EventSource, anything that POSTs to /notify reaches every open page, and a page that lost its
connection is replayed what it missed.

Run it from the repository root: `uv run --all-packages python examples/notifications/app.py`,
then open http://127.0.0.1:8001/ in two windows and send from either.
"""

from __future__ import annotations

from datetime import datetime, timezone
from pathlib import Path

import msgspec

from pyframe import HTMLResponse, PyFrameApp
from pyframe.sse import SSEManager

HERE = Path(__file__).parent
app = PyFrameApp(config=str(HERE / "pyframe.toml"))
notifications = SSEManager("notifications")
PAGE = (HERE / "index.html").read_text(encoding="utf-8")


class Notification(msgspec.Struct, forbid_unknown_fields=True):
    text: str


@app.get("/")
async def index(context):
    return HTMLResponse(PAGE)


@app.get("/events")
async def events(context):
    async def stream():
        # Sent first on every (re)connection; `retry` tells EventSource to come back after 1 s.
        yield {"event": "connected", "data": {"at": now()}, "retry": 1000}
        async for event in notifications.subscribe("everyone"):
            yield event

    return {"status": 200, "headers": {"Content-Type": "text/event-stream"}, "body": stream()}


@app.post("/notify")
async def notify(context):
    note = context.json_as(Notification)
    event_id = await notifications.send_event(
        "everyone", {"event": "notification", "data": {"text": note.text, "at": now()}})
    return {"status": 201, "body": {"id": event_id}}


def now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


if __name__ == "__main__":
    app.run()
