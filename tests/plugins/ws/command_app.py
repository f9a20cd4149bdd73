"""An app whose WebSocket clients drive a WebSocketManager by commands, for the manager tests and
for ``pyframe run --workers 2`` (it reads its settings from pyframe.toml in the working
directory, and every answer names the worker's pid).

A client sends ``{"op": ..., "id": n, ...}`` and gets ``{"ack": op, "id": n, ...}`` back; what
the manager delivers arrives as it was sent (``{"msg": ...}`` by convention).
"""

import json
import os

from pyframe import MiddlewareOrder, PyFrameApp
from pyframe.websockets import WebSocketManager

app = PyFrameApp()
manager = WebSocketManager("commands")
PID = os.getpid()


async def user_from_query(context, call_next):
    """Stands in for the auth plugin: ``?as=<id>`` becomes ``context.user`` (a claims dict)."""
    name = context.query_params.get("as")
    if name:
        context.user = {"sub": name}
    return await call_next(context)


user_from_query.order = MiddlewareOrder.AUTH
app.middleware.append(user_from_query)


@app.websocket("/ws")
async def commands(websocket):
    await manager.connect(websocket, user_id=websocket.query_params.get("uid"))
    await websocket.send_json({"hello": PID})
    try:
        async for raw in websocket:
            command = json.loads(raw)
            op, reply = command["op"], {}
            if op == "join":
                await manager.join_group(websocket, command["group"])
            elif op == "leave":
                await manager.leave_group(websocket, command["group"])
            elif op == "broadcast":
                await manager.broadcast(command["data"])
            elif op == "group":
                await manager.broadcast_to_group(command["group"], command["data"])
            elif op == "user":
                await manager.send_to_user(command["user"], command["data"])
            elif op == "count":
                reply = {"count": manager.get_connection_count(),
                         "size": manager.get_group_size(command.get("group", "-"))}
            elif op == "disconnect":
                await manager.disconnect(websocket)
            await websocket.send_json({"ack": op, "id": command.get("id"), "pid": PID, **reply})
    finally:
        await manager.disconnect(websocket)


@app.get("/stats")
async def stats(context):
    group = context.query_params.get("group", "-")
    return {"pid": PID, "count": manager.get_connection_count(),
            "size": manager.get_group_size(group),
            "local": len(manager.local_connections())}


@app.post("/announce")
async def announce(context):
    await manager.broadcast(context.json)
    return {"pid": PID}
