"""One instance of the chat behind a load balancer: examples/chat's app, plus what a deployment
of several instances shows off — an SSE feed, a broadcast to every tab, a rate-limited API —
with every piece of shared state in Redis.

`run.py` starts two of these behind nginx. One by hand, from this folder:

    PYFRAME_PLUGINS__WS__BACKEND=redis://127.0.0.1:6379/0 \\
    PYFRAME_PLUGINS__SSE__BACKEND=redis://127.0.0.1:6379/0 \\
    PYFRAME_PLUGINS__RATELIMIT__BACKEND=redis://127.0.0.1:6379/0 \\
    CHAT_INSTANCE=a uv run --locked --all-packages pyframe run app:app --port 8001
"""

from __future__ import annotations

import importlib.util
import os
import sys
from pathlib import Path
from types import ModuleType
from typing import Annotated

import msgspec

from pyframe import ConfigError, PyFrameApp
from pyframe.sse import SSEManager

__all__ = ["app", "chat", "feed", "INSTANCE"]

HERE = Path(__file__).parent
CHAT_APP = HERE.parent / "chat" / "app.py"
# The plugins whose state must be shared between instances; memory:// would split it silently.
SHARED = ("ws", "sse", "ratelimit")
SHARED_SCHEMES = ("redis://", "rediss://", "unix://")


def _load_chat() -> ModuleType:
    # The chat is a folder of files, not a package: load it by path under a name of its own,
    # so it cannot collide with this module (both are app.py).
    spec = importlib.util.spec_from_file_location("pyframe_example_chat", CHAT_APP)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


chat = _load_chat()
app = chat.app
app.reset(config=str(HERE / "pyframe.toml"))  # this folder's settings, not the chat's
INSTANCE = chat.INSTANCE
feed = SSEManager("feed")
FEED_CHANNEL = "everyone"


class Text(msgspec.Struct, forbid_unknown_fields=True):
    text: Annotated[str, msgspec.Meta(min_length=1, max_length=2000)]


@app.on_startup
def require_shared_backends(app: PyFrameApp) -> None:
    """Refuse to serve as one of several instances with state only this process sees."""
    plugins = app.config.plugins
    wrong = [name for name in SHARED
             if not str((plugins.get(name) or {}).get("backend") or "").startswith(SHARED_SCHEMES)]
    if wrong:
        names = ", ".join(f"PYFRAME_PLUGINS__{name.upper()}__BACKEND" for name in wrong)
        raise ConfigError(f"{app.config_source}: this example shares its state through Redis: "
                          f"set {names} to a redis://, rediss:// or unix:// URL")


@app.get("/instance")
async def instance(context):
    """Who answered, its counts, and what it was told about the client (what the rate limiter
    reads: the peer, and the X-Forwarded-For nginx wrote)."""
    return {"instance": INSTANCE, "pid": os.getpid(),
            "online": chat.chat.get_connection_count(),  # WebSockets, over every instance
            "streams": feed.subscriber_count(FEED_CHANNEL),  # event streams, this one only
            "peer": context.remote_addr,
            "forwarded_for": context.get_header("X-Forwarded-For")}


@app.get("/events")
async def events(context):
    async def stream():
        # No id on this one, so a reconnecting client keeps its Last-Event-ID; `retry` asks
        # EventSource to come back after one second.
        yield {"event": "hello", "data": {"instance": INSTANCE}, "retry": 1000}
        async for event in feed.subscribe(FEED_CHANNEL):
            yield event

    return {"status": 200, "headers": {"Content-Type": "text/event-stream"}, "body": stream()}


@app.post("/notify")
async def notify(context):
    """An event for every open event stream, on every instance, kept for replay."""
    note = context.json_as(Text)
    event_id = await feed.send_event(FEED_CHANNEL, {
        "event": "notification", "data": {"text": note.text, "instance": INSTANCE}})
    return {"status": 201, "body": {"id": event_id, "instance": INSTANCE}}


@app.post("/announce")
async def announce(context):
    """A message for every chat tab, whatever its room, on every instance."""
    note = context.json_as(Text)
    await chat.chat.broadcast({"type": "announcement", "text": note.text, "instance": INSTANCE})
    return {"status": 202, "body": {"instance": INSTANCE}}


@app.get("/api/ping")
async def ping(context):
    """Cheap, and limited per client (pyframe.toml): the limit holds across every instance."""
    return {"pong": True, "instance": INSTANCE}


if __name__ == "__main__":
    app.run()
