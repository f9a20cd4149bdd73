"""A chat with rooms and a live head count: one WebSocket per browser tab, rooms as groups.

Run it (from anywhere): `uv run --locked --all-packages python examples/chat/app.py`, then open
http://127.0.0.1:8000/ in two tabs. Several instances share rooms and counts through Redis:

    PYFRAME_PLUGINS__WS__BACKEND=redis://127.0.0.1:6379/0 pyframe run app:app --port 8001

(from this folder; pyframe.toml next to this file holds the other settings).
"""

from __future__ import annotations

import asyncio
import json
import os
import re
from datetime import datetime, timezone
from pathlib import Path

from pyframe import HTMLResponse, PyFrameApp
from pyframe.websockets import WebSocketManager

HERE = Path(__file__).parent
app = PyFrameApp(config=str(HERE / "pyframe.toml"))
chat = WebSocketManager("chat")
PAGE = (HERE / "index.html").read_text(encoding="utf-8")  # read once, at import
INSTANCE = os.environ.get("CHAT_INSTANCE", f"pid-{os.getpid()}")
ROOM = re.compile(r"^[a-z0-9-]{1,32}$")
PRESENCE_EVERY = 1.0  # seconds: how often each tab hears the counts of every instance

# This instance's connections and the room each is in.
rooms: dict = {}


def clean_name(raw: str | None) -> str:
    name = " ".join((raw or "").split())[:40]
    return name or "anonymous"


def presence(room: str) -> dict:
    return {"type": "presence", "online": chat.get_connection_count(), "room": room,
            "in_room": chat.get_group_size(room), "instance": INSTANCE}


def tell_everyone_here() -> None:
    """Queue the current counts for every tab on this instance (never waits on a tab)."""
    for websocket, room in list(rooms.items()):
        websocket.send_encoded(chat.encode(presence(room)))


@app.get("/")
async def index(context):
    return HTMLResponse(PAGE)


@app.websocket("/ws/chat")
async def chat_socket(websocket):
    name = clean_name(websocket.query_params.get("name"))
    await chat.connect(websocket)
    room = None
    try:
        await websocket.send_json({"type": "hello", "name": name, "instance": INSTANCE})
        async for raw in websocket:
            try:
                message = websocket_json(raw)
            except ValueError:
                continue  # not ours: ignore it
            kind = message.get("type")
            if kind == "join" and ROOM.match(str(message.get("room", ""))):
                if room is not None:
                    await chat.leave_group(websocket, room)
                room = message["room"]
                await chat.join_group(websocket, room)
                rooms[websocket] = room
                await websocket.send_json({"type": "joined", "room": room})
                tell_everyone_here()
            elif kind == "say" and room is not None and isinstance(message.get("text"), str):
                await chat.broadcast_to_group(room, {
                    "type": "message", "room": room, "user": name,
                    "text": message["text"][:2000], "instance": INSTANCE,
                    "timestamp": datetime.now(timezone.utc).isoformat()})
    finally:
        rooms.pop(websocket, None)
        await chat.disconnect(websocket)
        tell_everyone_here()


def websocket_json(raw: str | bytes) -> dict:
    value = json.loads(raw)
    if not isinstance(value, dict):
        raise ValueError("expected an object")
    return value


async def _presence_ticker() -> None:
    # Counts of the other instances change without this one hearing of it: push them on.
    while True:
        await asyncio.sleep(PRESENCE_EVERY)
        tell_everyone_here()


_ticker: list[asyncio.Task] = []


@app.on_startup
def start_ticker(app):
    _ticker.append(asyncio.get_running_loop().create_task(_presence_ticker()))


@app.on_shutdown
async def stop_ticker(app):
    while _ticker:
        task = _ticker.pop()
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)


if __name__ == "__main__":
    app.run()
