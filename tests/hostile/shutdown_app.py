"""The app the all-at-once shutdown test serves: a slow route, a WebSocket and an SSE stream
(``pyframe run shutdown_app:app``, with the ws and sse plugins on)."""

from __future__ import annotations

import asyncio
import json
import os
import sys

from pyframe import PyFrameApp
from pyframe.sse import SSEManager
from pyframe.websockets import WebSocketManager

app = PyFrameApp()
sockets = WebSocketManager()
events = SSEManager()


def mark(event: str, **fields: object) -> None:
    print(json.dumps({"event": event, "pid": os.getpid(), **fields}), file=sys.stderr,
          flush=True)


@app.get("/")
async def index(context):
    return "ok"


@app.get("/slow")
async def slow(context):
    mark("slow_started")
    await asyncio.sleep(1.5)
    return "slow done"


@app.websocket("/ws")
async def chat(websocket):
    await sockets.connect(websocket)
    mark("ws_connected")
    try:
        async for _ in websocket:
            pass
    finally:
        await sockets.disconnect(websocket)


@app.get("/events")
async def stream(context):
    async def feed():
        yield {"event": "hello", "data": "hi"}
        mark("stream_open")
        async for event in events.subscribe("news"):
            yield event

    return {"status": 200, "headers": {"Content-Type": "text/event-stream"}, "body": feed()}
