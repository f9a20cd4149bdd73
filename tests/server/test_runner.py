"""The production runner in child processes: workers, supervision, draining, reload, logs."""

from __future__ import annotations

import asyncio
import os
import shutil
import signal
import sys

import aiohttp
import pytest

from pyframe.runner import run_target

from .support import ServerProcess, client_context, make_certificate, wait_until, write_module

APP_SOURCE = """
import asyncio
import json
import os
import sys

from pyframe import PyFrameApp, StreamingResponse
from pyframe.serving import draining, until_draining

app = PyFrameApp()


@app.get("/")
async def index(context):
    return {"pid": os.getpid(), "version": 1}


@app.get("/slow")
async def slow(context):
    async def body():
        yield b"started\\n"
        await draining(context.app).wait()  # still working when SIGTERM arrives
        await asyncio.sleep(0.2)
        yield b"x" * 100_000 + b"\\nend\\n"

    return StreamingResponse(body(), content_type="text/plain")


@app.get("/events")
async def events(context):
    async def ticks():
        n = 0
        while True:
            yield f"data: {n}\\n\\n"
            n += 1
            await asyncio.sleep(0.05)

    return StreamingResponse(until_draining(context.app, ticks()),
                             content_type="text/event-stream")


@app.on_shutdown
def goodbye(app):
    print(json.dumps({"event": "shutdown_hook_ran", "pid": os.getpid()}), file=sys.stderr,
          flush=True)


if __name__ == "__main__":
    app.run()
"""
CONFIG = '[server]\nport = 0\nshutdown_timeout = 5\n[logging]\nformat = "json"\n'


@pytest.fixture
def project(tmp_path):
    write_module(tmp_path, "workerapp", APP_SOURCE)
    (tmp_path / "pyframe.toml").write_text(CONFIG)
    return tmp_path


async def test_sigterm_drains_every_worker(project):
    server = await ServerProcess.start(project, "workerapp:app", workers=2)
    try:
        await server.wait_for("server_listening", role="supervisor")
        url = await server.url()
        async with aiohttp.ClientSession() as session:
            slow = await session.get(url + "/slow")
            assert await slow.content.readline() == b"started\n"
            events = await session.get(url + "/events")
            first = await events.content.readline()
            server.proc.send_signal(signal.SIGTERM)
            rest = await slow.read()  # raises if the chunked body is cut
            assert rest == b"x" * 100_000 + b"\nend\n"
            assert (first + await events.read()).endswith(b"\n\n")
            slow.release()
            events.release()
        assert await server.exit_code() == 0
        assert len(server.find("shutdown_hook_ran")) == 2
        assert server.find("server_stopped", role="supervisor")[0]["code"] == 0
    finally:
        await server.close()


async def test_killed_worker_is_replaced_while_requests_continue(project):
    # app.run() with workers = 2 in the config: the same runner, the app found by its module.
    (project / "pyframe.toml").write_text(CONFIG.replace("port = 0", "port = 0\nworkers = 2"))
    server = await ServerProcess.command(project, sys.executable, "workerapp.py")
    try:
        await server.wait_for("server_listening", role="supervisor")
        url = await server.url()
        victim = server.find("worker_started")[0]["pid"]
        os.kill(victim, signal.SIGKILL)
        served = 0
        connector = aiohttp.TCPConnector(force_close=True)
        async with aiohttp.ClientSession(connector=connector) as session:
            loop = asyncio.get_running_loop()
            deadline = loop.time() + 20
            while not server.find("worker_replaced") or served < 20:
                assert loop.time() < deadline, "the worker was not replaced"
                async with session.get(url + "/") as resp:  # never refused or reset
                    assert resp.status == 200
                    assert (await resp.json())["pid"] != victim
                served += 1
        (replaced,) = server.find("worker_replaced")
        assert replaced["old_pid"] == victim
        await server.wait_for("server_listening", pid=replaced["pid"])
        assert server.find("worker_died", pid=victim)[0]["code"] == -signal.SIGKILL
        server.proc.send_signal(signal.SIGTERM)
        assert await server.exit_code() == 0
    finally:
        await server.close()


async def test_one_process_json_logs(project):
    server = await ServerProcess.start(project, "workerapp:app")
    try:
        url = await server.url()
        async with aiohttp.ClientSession() as session:
            async with session.get(url + "/?q=1", headers={"X-Request-ID": "abc-123"}) as resp:
                assert resp.status == 200
        (access,) = await server.wait_for("request_finished")
        assert {k: access[k] for k in ("request_id", "method", "path", "status", "remote")} == {
            "request_id": "abc-123", "method": "GET", "path": "/", "status": 200,
            "remote": "127.0.0.1"}
        assert access["bytes"] > 0 and access["duration_ms"] > 0 and access["level"] == "info"
        (started,) = server.find("app_started")
        assert started["plugins"] == [] and started["middleware"] == []
        (listening,) = server.find("server_listening")
        assert listening["loop"] == "uvloop" and listening["pid"] == server.proc.pid
        server.proc.send_signal(signal.SIGTERM)
        assert await server.exit_code() == 0
        assert server.find("shutdown_hook_ran")
    finally:
        await server.close()


async def test_reload_swaps_in_new_code_without_refusing(project):
    server = await ServerProcess.start(project, "workerapp:app", workers=1, reload=True)
    source = project / "workerapp.py"
    try:
        # --reload serves one process that swaps in new code, as the dev server does.
        await server.wait_for("server_listening", server="dev")
        url = await server.url()
        versions: list[int] = []
        failures: list[BaseException] = []
        stop = asyncio.Event()

        async def poll() -> None:
            connector = aiohttp.TCPConnector(force_close=True)
            async with aiohttp.ClientSession(connector=connector) as session:
                while not stop.is_set():
                    try:
                        async with session.get(url + "/") as resp:
                            versions.append((await resp.json())["version"])
                    except aiohttp.ClientError as exc:
                        failures.append(exc)

        poller = asyncio.ensure_future(poll())
        try:
            await wait_until(lambda: versions, what="a first answer")
            source.write_text(APP_SOURCE.replace('"version": 1', '"version": 2'))
            await wait_until(lambda: versions[-1] == 2, what="the new workers")
            source.write_text(APP_SOURCE.replace('"version": 1', '"version": 3 +'))
            await server.wait_for("reload_failed")
            n = len(versions)
            await wait_until(lambda: len(versions) > n + 5, what="more answers")
            assert versions[-1] == 2  # the running workers keep serving
        finally:
            stop.set()
            await poller
        assert failures == []
        server.proc.send_signal(signal.SIGTERM)
        assert await server.exit_code() == 0
    finally:
        await server.close()


@pytest.mark.skipif(shutil.which("openssl") is None, reason="needs the openssl CLI")
async def test_cli_serves_https_with_workers(project):
    cert, key = make_certificate(project)
    server = await ServerProcess.command(project, sys.executable, "-m", "pyframe", "run",
                                         "workerapp:app", "--workers", "2", "--cert", cert,
                                         "--key", key)
    try:
        await server.wait_for("server_listening", role="supervisor")
        url = await server.url()
        assert url.startswith("https://127.0.0.1:")
        async with aiohttp.ClientSession() as session, session.get(
                url + "/", ssl=client_context(cert)) as resp:
            assert (await resp.json())["version"] == 1
        server.proc.send_signal(signal.SIGTERM)
        assert await server.exit_code() == 0
    finally:
        await server.close()


async def test_workers_that_cannot_start_stop_the_supervisor(project):
    source = project / "workerapp.py"
    source.write_text(APP_SOURCE + "\n@app.on_startup\ndef fail(app):\n"
                                   "    raise RuntimeError('no db')\n")
    server = await ServerProcess.start(project, "workerapp:app", workers=2)
    try:
        assert await server.exit_code() == 1
        assert server.find("workers_failed_to_start")
        assert any("RuntimeError: no db" in line for line in server.raw)
    finally:
        await server.close()


def test_bad_targets_are_reported(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    write_module(tmp_path, "notanapp", "app = 42\n")
    assert run_target("no_such_module_here:app") == 2
    assert "cannot import 'no_such_module_here'" in capsys.readouterr().err
    assert run_target("notanapp:missing") == 2
    assert "has no attribute 'missing'" in capsys.readouterr().err
    assert run_target("notanapp:app") == 2
    assert "is a int, not a PyFrameApp" in capsys.readouterr().err
    sys.modules.pop("notanapp", None)
