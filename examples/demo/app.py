"""pyframe's demo: routes, typed JSON, middleware, streaming, files, and plugins from config.

Run it from the repository root: `uv run --all-packages python examples/demo/app.py`, then open
http://127.0.0.1:8000/.
"""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import msgspec

from pyframe import HTMLResponse, NotFound, PyFrameApp, StreamingResponse

HERE = Path(__file__).parent
app = PyFrameApp(config=str(HERE / "pyframe.toml"))
app.add_static_path("/static/", str(HERE / "static"))

NOTES: dict[int, dict] = {1: {"id": 1, "text": "pyframe is running"}}


class NewNote(msgspec.Struct, forbid_unknown_fields=True):
    text: str


@app.get("/")
async def index(context):
    return HTMLResponse((HERE / "index.html").read_text(encoding="utf-8"))


@app.get("/api/notes")
async def list_notes(context):
    return list(NOTES.values())


@app.get("/api/notes/<int:note_id>")
async def get_note(context):
    note = NOTES.get(context.params["note_id"])
    if note is None:
        raise NotFound(detail=f"no note {context.params['note_id']}")
    return note


@app.post("/api/notes")
async def add_note(context):
    new = context.json_as(NewNote)
    note = {"id": max(NOTES, default=0) + 1, "text": new.text}
    NOTES[note["id"]] = note
    return {"status": 201, "body": note}


@app.get("/api/clock")
async def clock(context):
    async def ticks():
        for _ in range(5):
            yield f"{time.strftime('%H:%M:%S')}\n"
            await asyncio.sleep(1)
    return StreamingResponse(ticks(), content_type="text/plain; charset=utf-8")


async def timing(context, call_next):
    start = time.perf_counter()
    response = await call_next(context)
    response["headers"]["Server-Timing"] = f"app;dur={(time.perf_counter() - start) * 1000:.2f}"
    return response


app.middleware.append(timing)

if __name__ == "__main__":
    app.run()
