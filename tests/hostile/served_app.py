"""The app the battery serves in child processes (``pyframe run served_app:app``).

Copied next to a test's ``pyframe.toml``; it uses only pyframe's top-level names. Handlers
that mark a moment the test waits for print one JSON line to stderr, like the server's logs.
"""

from __future__ import annotations

import asyncio
import json
import os
import sys

from pyframe import PyFrameApp, StreamingResponse

app = PyFrameApp()

BIG = b"b" * 60_000  # under the direct writer's 64 KiB fast path
HUGE = b"h" * 5_000_000


def mark(event: str, **fields: object) -> None:
    print(json.dumps({"event": event, "pid": os.getpid(), **fields}), file=sys.stderr,
          flush=True)


@app.get("/")
async def index(context):
    return "ok"


@app.get("/pid")
async def pid(context):
    return {"pid": os.getpid()}


@app.get("/tiny")
async def tiny(context):
    return "tiny!"


@app.get("/big")
async def big(context):
    return BIG


@app.get("/huge")
async def huge(context):
    return HUGE


@app.post("/echo")
async def echo(context):
    return {"size": len(context.raw_body)}


@app.get("/slow")
async def slow(context):
    mark("slow_started")
    await asyncio.sleep(1.5)  # the slow request itself: still running when SIGTERM comes
    return "slow done"


@app.get("/forever")
async def forever(context):
    async def ticks():
        mark("forever_started")
        while True:  # ignores the drain on purpose: the server has to end it
            yield b"tick\n"
            await asyncio.sleep(0.05)

    return StreamingResponse(ticks(), content_type="text/plain")


@app.get("/firehose")
async def firehose(context):
    async def chunks():
        mark("firehose_started")
        while True:  # as fast as the client takes it, which for some clients is never
            yield BIG
            await asyncio.sleep(0)

    return StreamingResponse(chunks(), content_type="application/octet-stream")
