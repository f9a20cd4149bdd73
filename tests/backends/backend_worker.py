"""One process of the two-process test: opens a backend by URL through the registry (entry
points and all), subscribes to ``chat``, and answers one JSON command per stdin line.

    python backend_worker.py URL

Commands: {"publish": text}, {"incr": n} (n increments of "hits"), {"get": key},
{"received": n} (waits, at most 10 s, for n messages). Closes when stdin closes.
"""

from __future__ import annotations

import asyncio
import json
import sys

from pyframe.backends import BackendRegistry
from pyframe.logging import configure_logging


async def main(url: str) -> None:
    configure_logging("warning", stream=sys.stderr)
    registry = BackendRegistry()
    backend = await registry.open(url)
    sub = backend.broker.subscribe("chat")
    received: list[str] = []
    arrived = asyncio.Event()

    async def collect() -> None:
        async for data in sub:
            received.append(data.decode())
            arrived.set()

    collector = asyncio.create_task(collect())
    ready = await sub.ready(10)
    print(json.dumps({"ready": ready}), flush=True)
    loop = asyncio.get_running_loop()
    reader = asyncio.StreamReader()
    await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), sys.stdin)
    while line := await reader.readline():
        command = json.loads(line)
        if "publish" in command:
            await backend.broker.publish("chat", command["publish"].encode())
            answer = {"published": command["publish"]}
        elif "incr" in command:
            value = 0
            for _ in range(command["incr"]):
                value = await backend.store.incr("hits")
            answer = {"value": value}
        elif "get" in command:
            raw = await backend.store.get(command["get"])
            answer = {"value": None if raw is None else int(raw)}
        else:
            async with asyncio.timeout(10):
                while len(received) < command["received"]:
                    arrived.clear()
                    await arrived.wait()
            answer = {"messages": list(received)}
        print(json.dumps(answer), flush=True)
    sub.close()
    await collector
    await registry.close()


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1]))
