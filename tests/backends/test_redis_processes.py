"""Two real processes on one Redis see each other's publishes and counters."""

from __future__ import annotations

import asyncio
import json
import sys
from pathlib import Path

import pytest

from .support import delete_prefix, unique_prefix

WORKER = Path(__file__).with_name("backend_worker.py")
pytestmark = pytest.mark.timeout(60)


class Worker:
    def __init__(self, proc: asyncio.subprocess.Process) -> None:
        self.proc = proc

    @classmethod
    async def start(cls, url: str) -> Worker:
        proc = await asyncio.create_subprocess_exec(
            sys.executable, str(WORKER), url, stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE)
        worker = cls(proc)
        assert await worker.read() == {"ready": True}
        return worker

    async def read(self) -> dict:
        line = await asyncio.wait_for(self.proc.stdout.readline(), 20)
        assert line, f"the worker exited (code {self.proc.returncode})"
        return json.loads(line)

    async def ask(self, **command) -> dict:
        self.proc.stdin.write(json.dumps(command).encode() + b"\n")
        await self.proc.stdin.drain()
        return await self.read()

    async def stop(self) -> int:
        if self.proc.returncode is None:
            self.proc.stdin.close()
            try:
                await asyncio.wait_for(self.proc.wait(), 15)
            except TimeoutError:
                self.proc.kill()
                await self.proc.wait()
        return self.proc.returncode


async def test_two_processes_share_the_bus_and_the_counters(redis_url):
    prefix = unique_prefix()
    url = f"{redis_url}?prefix={prefix}"
    workers: list[Worker] = []
    try:
        workers = list(await asyncio.gather(Worker.start(url), Worker.start(url)))
        a, b = workers
        assert await a.ask(publish="from a") == {"published": "from a"}
        assert (await b.ask(received=1))["messages"] == ["from a"]
        assert await b.ask(publish="from b") == {"published": "from b"}
        await a.ask(publish="end")
        for worker in workers:
            # Each message exactly once: the process's own directly, the other's via Redis.
            assert (await worker.ask(received=3))["messages"] == ["from a", "from b", "end"]
        await asyncio.gather(a.ask(incr=20), b.ask(incr=30))
        assert await a.ask(get="hits") == {"value": 50}
        assert await b.ask(get="hits") == {"value": 50}
    finally:
        codes = [await worker.stop() for worker in workers]
        await delete_prefix(redis_url, prefix)
    assert codes == [0, 0]
