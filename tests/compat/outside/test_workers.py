"""An outside app served by several worker processes: ``pyframe run app.py:server.app
--workers 2`` imports the module (its unguarded ``server.run()`` then returns at once) and
serves ``server.app`` with the settings of ``server.config``."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import sys
import textwrap

import aiohttp

from .support import DEADLINE

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
    (tmp_path / "app.py").write_text(textwrap.dedent(APP))
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYFRAME_")}
    env["PYFRAME_LOGGING__FORMAT"] = "json"
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "pyframe", "run", "app.py:server.app", "--workers", "2",
        cwd=tmp_path, env=env, stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.PIPE)
    try:
        async with asyncio.timeout(DEADLINE * 2):
            url = await supervisor_url(proc)
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
    finally:
        if proc.returncode is None:
            proc.kill()
            await proc.wait()


async def supervisor_url(proc) -> str:
    while True:
        line = await proc.stderr.readline()
        if not line:
            raise AssertionError("pyframe run exited before listening")
        try:
            event = json.loads(line)
        except ValueError:
            continue
        if event.get("event") == "server_listening" and event.get("role") == "supervisor":
            asyncio.ensure_future(proc.stderr.read())  # keep the pipe from filling
            return event["url"]
