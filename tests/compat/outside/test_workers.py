"""An outside app served by several worker processes: ``pyframe run app.py:server.app
--workers 2`` imports the module (its unguarded ``server.run()`` then returns at once) and
serves ``server.app`` with the settings of ``server.config``."""

from __future__ import annotations

import asyncio
import signal

import aiohttp

from .support import DEADLINE, pyframe_run

APP = """
    import os
    from pyframe.compat.outside import OutsideHTTP, Response

    server = OutsideHTTP(("127.0.0.1", 0))
    server.config["max_workers"] = 4

    def hello_world(request):
        return Response(200, {}, str(os.getpid()))

    server.set_route("/hello", hello_world)
    server.run()
"""


async def test_two_worker_processes_serve_one_outside_app(tmp_path):
    async with pyframe_run(tmp_path, APP, "--workers", "2", role="supervisor") as (proc, url):
        async with asyncio.timeout(DEADLINE * 2):
            pids = set()
            async with aiohttp.ClientSession() as session:
                while len(pids) < 2:  # the kernel spreads new connections over both workers
                    async with session.get(url + "/hello",
                                           headers={"Connection": "close"}) as resp:
                        assert resp.status == 200
                        pids.add(int(await resp.text()))
            assert proc.pid not in pids  # workers, not the supervisor
            proc.send_signal(signal.SIGTERM)
            assert await proc.wait() == 0
