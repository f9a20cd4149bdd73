"""An app under gunicorn with aiohttp's worker class, through ``gunicorn_app``."""

from __future__ import annotations

import re
import signal
import sys

import aiohttp
import pytest

from .support import ServerProcess, wait_until, write_module

pytest.importorskip("gunicorn")

APP_SOURCE = """
from pyframe import PyFrameApp
from pyframe.serving import gunicorn_app

app = PyFrameApp()


@app.get("/")
async def index(context):
    return {"served_by": "gunicorn"}


gunicorn = gunicorn_app(app)
"""


async def test_gunicorn_serves_the_app_with_its_limits(tmp_path):
    write_module(tmp_path, "gapp", APP_SOURCE)
    (tmp_path / "pyframe.toml").write_text("[server]\nmax_field_size = 256\n"
                                           '[logging]\nformat = "json"\n')
    server = await ServerProcess.command(
        tmp_path, sys.executable, "-m", "gunicorn", "gapp:gunicorn",
        "--worker-class", "aiohttp.GunicornWebWorker", "--workers", "2",
        "--bind", "127.0.0.1:0", "--graceful-timeout", "5")
    try:
        def listening():
            for line in server.raw:
                found = re.search(r"Listening at: (http://127\.0\.0\.1:\d+)", line)
                if found:
                    return found.group(1)
            return None

        url = await wait_until(listening, what="gunicorn listening")
        await server.wait_for("app_started", count=2)
        async with aiohttp.ClientSession() as session:
            async with session.get(url + "/") as resp:
                assert await resp.json() == {"served_by": "gunicorn"}
            async with session.get(url + "/", headers={"X-Big": "b" * 300}) as resp:
                assert resp.status == 431  # pyframe's connection limits, not aiohttp's page
                assert await resp.json() == {"error": "Request Header Fields Too Large",
                                             "detail": "a header is longer than 256 bytes"}
        access = await server.wait_for("request_finished", count=2)
        assert {e["status"] for e in access} == {200, 431}
        server.proc.send_signal(signal.SIGTERM)
        assert await server.exit_code() == 0
    finally:
        await server.close()
