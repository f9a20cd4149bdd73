"""One worker process for the multiprocess test: serves an app with the metrics plugin on a
free port, prints the port, and stops cleanly when its stdin closes.

Usage: python metrics_worker.py [config.toml]
"""

from __future__ import annotations

import asyncio
import sys

from pyframe import PyFrameApp
from pyframe.logging import configure_logging
from pyframe.serving import AppServer


async def main(config: str | None) -> None:
    configure_logging("warning", stream=sys.stderr)
    app = PyFrameApp(config=config)
    app.plugins.enable("metrics")

    @app.get("/hit")
    async def hit(context):
        return "hit"

    release = asyncio.Event()

    @app.get("/hold")
    async def hold(context):  # in flight until /release
        await asyncio.wait_for(release.wait(), 30)
        return "held"

    @app.get("/release")
    async def release_held(context):
        release.set()
        return "released"

    server = AppServer(app, "127.0.0.1", 0)
    await server.start()
    print(server.port, flush=True)
    await asyncio.get_running_loop().run_in_executor(None, sys.stdin.read)
    await server.stop(timeout=5)


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1] if len(sys.argv) > 1 else None))
